"""`assistant nlu claims` (issue 16): the article "Transformer vs LSTM: A Helpful Illustrated Guide" makes
claims about speed, long-range dependencies, memory, data efficiency and latency; this package measures each
on this machine, with the LSTM and the from-scratch Transformer at matched parameter counts, and writes a
report whose verdicts follow from the numbers by rules written in code (nlu.claims.stats).

One module per claim (speed, long_range, memory, data_efficiency, latency), the shared pieces (settings,
nets, runs, long_inputs, stats) and the report (report.py); `runner.run_claims` runs them in order.
"""
