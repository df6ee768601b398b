"""A small NLU library: intent (and slot) models behind one interface, the datasets to train them on,
calibration with a fallback threshold, and a benchmark that compares them. See nlu/registry.py."""
