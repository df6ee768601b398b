"""`assistant bench ...`: each benchmark prints a table and writes JSON. Commands are added per area."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.bench.abuse import ATTACKS
from assistant.bench.e2e import DEFAULT_VARIANTS as E2E_DEFAULT_VARIANTS
from assistant.bench.e2e import VARIANTS as E2E_VARIANTS

app = typer.Typer(no_args_is_help=True)


def _write_report(report: dict, out: Path) -> None:
    import json

    from assistant.console import err_console

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    err_console.print(f"Wrote {out}")


@app.command("asr")
def bench_asr(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_asr.json"),
    data: Annotated[
        Path | None, typer.Option(help="Speech data folder (default ../shared/data/speech).")
    ] = None,
    fsdd_limit: Annotated[int, typer.Option(help="Spoken-digit clips to score (0 = all 120).")] = 60,
    repeats: Annotated[int, typer.Option(help="Latency runs per clip (median taken).")] = 3,
    tune: Annotated[
        bool, typer.Option(help="Also run the decoding variants (beam, timestamps, no VAD).")
    ] = True,
    base: Annotated[bool, typer.Option(help="Also run the offline Whisper base model.")] = True,
    slots: Annotated[
        bool, typer.Option(help="Score slot-word recall on the real spoken commands (picovoice_dev).")
    ] = True,
    slots_only: Annotated[
        bool, typer.Option(help="Only the spoken-command slot recall (skip read-speech WER and latency).")
    ] = False,
    slot_limit: Annotated[int, typer.Option(help="Spoken commands to score (0 = all 200).")] = 0,
) -> None:
    """Recognition: WER (Whisper-normalised and plain) on real recordings; latency and RTF, short and long;
    slot-word recall and decode time on real spoken commands."""
    import importlib.util

    from rich.table import Table

    from assistant.bench import asr as bench
    from assistant.bench import slots as slot_set
    from assistant.bench.wer import whisper_normalizer
    from assistant.cli_state import settings_from
    from assistant.console import console, err_console, fail, progress_bar, status

    settings = settings_from(ctx)
    folder = data or bench.data_dir()
    if not folder.is_dir():
        fail(f"No speech data at {folder}; pass --data or set ASSISTANT_SPEECH_DATA.")
    slot_folder = folder / slot_set.FOLDER
    slot_clips: list = []
    if slots or slots_only:
        if slot_folder.is_dir():
            with status("Loading the spoken commands…"):
                try:
                    slot_clips = slot_set.load_slot_clips(slot_folder, slot_limit or None)
                except slot_set.SlotDataError as exc:
                    fail(str(exc))
        elif slots_only:
            fail(f"No spoken-command set at {slot_folder}; --slots-only needs it (see --data).")
        else:
            err_console.print(f"[yellow]No spoken-command set at {slot_folder}: slot recall skipped.[/]")
    clips: dict = {}
    latency: dict = {}
    if not slots_only:
        with status("Loading clips and synthesising the command clips…"):
            clips = bench.load_clips(folder, fsdd_limit or None)
            latency = bench.latency_clips(clips, bench.synth_commands(settings))
    normalizer_name, normalizer = whisper_normalizer()
    variants = bench.default_variants(importlib.util.find_spec("whisper") is not None, tune, base)
    report: dict = {
        "machine": bench.machine_info(),
        "normalizer": normalizer_name,
        "data": str(folder),
        "slot_set": {"folder": str(slot_folder), "clips": len(slot_clips), "source": slot_set.ATTRIBUTION}
        if slot_clips
        else None,
        "runs": [],
    }
    with progress_bar() as progress:
        units = bench.work_units(variants, clips, latency, len(slot_clips))
        task = progress.add_task("ASR benchmark", total=units)
        for variant in variants:
            progress.update(task, description=variant.label)
            try:
                run = bench.bench_variant(
                    settings, variant, clips, latency, repeats, normalizer, lambda: progress.advance(task),
                    slot_clips,
                )  # fmt: skip
            except Exception as exc:  # one backend failing (e.g. not installed) must not sink the report
                run = {"variant": variant.label, "error": str(exc)}
            report["runs"].append(run)
    report["machine"]["load_average_end"] = [round(x, 2) for x in __import__("os").getloadavg()]

    table = Table(
        title=f"ASR benchmark ({report['machine']['cpus_usable']} CPUs, WER normaliser: {normalizer_name})"
    )
    columns = ("variant", "LJSpeech WER", "JFK WER", "digits WER", "cmd slot recall", "slot words",
               "cmd p50 ms", "short 1-3 s ms", "2 s cmd ms", "long ms (RTF)", "load s")  # fmt: skip
    rows = {id(run): bench.table_row(run) for run in report["runs"] if "error" not in run}
    shown = [
        i for i, _ in enumerate(columns) if not rows or i == 0 or any(r[i] != "-" for r in rows.values())
    ]
    for i in shown:  # a column no run measured (e.g. WER under --slots-only) is left out
        table.add_column(columns[i], justify="left" if i == 0 else "right")
    for run in report["runs"]:
        if "error" in run:
            table.add_row(run["variant"], f"[red]{run['error']}[/]", *[""] * (len(shown) - 2))
            continue
        table.add_row(*[rows[id(run)][i] for i in shown])
    console.print(table)
    console.print("WER cells: Whisper-normalised / plain lower-case no-punctuation.")
    if slot_clips:
        console.print(
            "cmd slot recall: slot values heard word for word in real spoken commands (picovoice_dev, "
            "SOURCE.md's normalisation); slot words: single slot words heard; cmd p50: decode ms per clip. "
            f"Data: {slot_set.ATTRIBUTION}"
        )
    _write_report(report, out)


@app.command("tts")
def bench_tts(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_tts.json"),
    backends: Annotated[str, typer.Option(help="Comma-separated synthesis backends.")] = "piper,espeak,coqui",
    repeats: Annotated[int, typer.Option(help="Runs per text (median taken).")] = 5,
    round_trip: Annotated[bool, typer.Option(help="Smoke test: transcribe the synthesised audio.")] = True,
) -> None:
    """Synthesis: time to first audio (one sentence, three sentences), total time and RTF per backend."""
    from rich.table import Table

    from assistant.bench import tts as bench
    from assistant.bench.asr import machine_info
    from assistant.cli_state import settings_from
    from assistant.console import console, status
    from assistant.speech.tts import synthesizers

    report: dict = {"machine": machine_info(), "runs": []}
    for name in [b.strip() for b in backends.split(",") if b.strip()]:
        settings = settings_from(ctx, {"tts": {"backend": name, "deterministic": True}})
        run: dict = {"backend": name}
        try:
            with status(f"Benchmarking {name}…"):
                import time

                start = time.perf_counter()
                synth = synthesizers.create(name, settings.tts, settings.resolved_device())
                run["load_s"] = round(time.perf_counter() - start, 2)
                run.update(bench.bench_backend(synth, repeats))
                if round_trip:
                    run["round_trip"] = bench.round_trip(synth, settings)
        except Exception as exc:  # not installed / no binary: reported, not fatal
            run["error"] = str(exc)
        report["runs"].append(run)

    table = Table(title=f"TTS benchmark ({report['machine']['cpus_usable']} CPUs)")
    for column in ("backend", "1st audio, 1 sentence ms", "1st audio, 3 sentences ms", "3 sentences total ms",
                   "RTF", "load s", "round-trip smoke WER"):  # fmt: skip
        table.add_column(column, justify="left" if column == "backend" else "right")
    for run in report["runs"]:
        if "error" in run:
            table.add_row(run["backend"], f"[red]{run['error'][:90]}[/]", *[""] * 5)
            continue
        one, three = run["one_sentence"], run["three_sentences"]
        smoke = f"{run['round_trip']['smoke_wer']:.1%}" if "round_trip" in run else "-"
        table.add_row(run["backend"], f"{one['first_audio_ms_median']:.0f}", f"{three['first_audio_ms_median']:.0f}",
                      f"{three['total_ms_median']:.0f}", f"{three['rtf']:.3f}", f"{run['load_s']:.1f}", smoke)  # fmt: skip
    console.print(table)
    _write_report(report, out)


@app.command("dialog")
def bench_dialog(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_dialog.json"),
    backend: Annotated[str | None, typer.Option(help="Generator backend (default: configured).")] = None,
    dtype: Annotated[
        list[str] | None,
        typer.Option(help="Generator dtype; repeat to compare, e.g. --dtype int8 --dtype float32."),
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Passes over the prompts (medians are taken).")] = 2,
    max_new_tokens: Annotated[int, typer.Option(min=2, help="Reply length cap while timing.")] = 64,
    cold_start: Annotated[bool, typer.Option(help="Also time a fresh process to the first token.")] = True,
) -> None:
    """Dialog: generator time to first token, tokens/s, memory and cold start (targets from issue 5)."""
    from assistant.bench import dialog as bench
    from assistant.cli_state import settings_from
    from assistant.console import fail, status

    settings = settings_from(ctx, {"generator": {"backend": backend}})
    options = bench.DialogBenchOptions(
        dtypes=tuple(dtype or ()), runs=runs, max_new_tokens=max_new_tokens, cold_start=cold_start
    )
    with status("Benchmarking the dialog stages…"):
        rows = bench.run_parts(settings, options)
    errors = [f"{row.part}: {row.note}" for row in rows if row.metric == "error"]
    if rows and len(errors) == len(rows):
        fail("; ".join(errors))
    bench.print_table(rows)
    _write_report(bench.report(settings, options, rows), out)
    if errors:  # the parts that ran are reported; the run still says it was not complete
        fail("; ".join(errors))


@app.command("e2e")
def bench_e2e(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_e2e.json"),
    variants: Annotated[
        str,
        typer.Option(help=f"Comma-separated configurations: {', '.join(E2E_VARIANTS)}."),
    ] = ",".join(E2E_DEFAULT_VARIANTS),
    repeats: Annotated[int, typer.Option(min=1, help="Passes over the spoken requests.")] = 2,
) -> None:
    """Voice to voice: spoken requests through VAD end-pointing, ASR, NLU, skill or generator and TTS."""
    import os

    from rich.table import Table

    from assistant.bench import e2e as bench
    from assistant.bench.asr import machine_info
    from assistant.bench.spoken import REQUESTS, BenchError, synthesise_requests
    from assistant.cli_state import settings_from
    from assistant.console import console, fail, progress_bar, status

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = settings_from(ctx)
    names = [n.strip() for n in variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in bench.VARIANTS]
    if unknown or not names:
        fail(
            f"Unknown variant(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(bench.VARIANTS)}."
        )
    try:
        with status("Synthesising the spoken requests (once, cached)…"):
            audio = synthesise_requests(settings.cache_dir)
    except (BenchError, OSError) as exc:
        fail(str(exc))
    requests = [r for r in REQUESTS if r.id in audio] + list(bench.PAUSED_REQUESTS)
    report: dict = {"machine": machine_info(), "requests": [vars(r) for r in requests], "runs": []}
    report["machine"]["versions"] = bench.versions()
    with progress_bar() as progress:
        task = progress.add_task("e2e", total=len(names) * repeats * len(requests))
        for name in names:
            progress.update(task, description=name)
            try:
                run = bench.bench_variant(
                    settings, bench.VARIANTS[name], audio, repeats, lambda: progress.advance(task)
                )
            except Exception as exc:  # one configuration failing (not installed, not prepared) is reported
                run = {"variant": name, "error": f"{type(exc).__name__}: {exc}"}
            report["runs"].append(run)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["peak_rss_process_mib"] = bench.peak_rss_process_mib()

    table = Table(title=f"Voice-to-voice benchmark ({report['machine']['cpus_usable']} CPUs, load "
                        f"{report['machine']['load_average'][0]:.1f})")  # fmt: skip
    for column in bench.TABLE_COLUMNS:
        table.add_column(column, justify="left" if column == "variant" else "right")
    for run in report["runs"]:
        table.add_row(*bench.table_row(run))
    console.print(table)
    console.print(
        "v2v = last voiced sample to first reply audio sample, including the end-of-speech wait (eos). "
        "RSS is the whole process, so later rows include models loaded by earlier ones."
    )
    _write_report(report, out)


@app.command("load")
def bench_load(
    ctx: typer.Context,
    users: Annotated[list[int], typer.Option(min=1, help="Simulated users; repeat for a sweep.")] = [10],  # noqa: B006
    seconds: Annotated[float, typer.Option(min=1, max=3600, help="How long each run drives traffic.")] = 30.0,
    url: Annotated[
        str | None,
        typer.Option(
            help="A running app on this machine (default: start one on a free port); its turns are checked "
            "in the configured database, so use the server's settings."
        ),
    ] = None,
    open_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of open questions (generator) among the turns.")
    ] = 0.0,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_load.json"),
    workers: Annotated[
        int | None,
        typer.Option(
            min=0, max=16, help="Web processes of the app it starts (default: web.workers; 0 = one per core)."
        ),
    ] = None,
) -> None:
    """Concurrent typed turns against the web app: throughput, p50/p95, errors, and no acknowledged turn lost."""
    import contextlib
    import os

    from rich.table import Table

    from assistant.bench import load as bench
    from assistant.bench.asr import machine_info
    from assistant.bench.webclient import WebClientError
    from assistant.cli_state import settings_from
    from assistant.config import web_processes
    from assistant.console import console, fail, status

    settings = settings_from(ctx, {"web": {"workers": workers}})
    report: dict = {
        "machine": machine_info(),
        "runs": [],
        "workers": None if url else web_processes(settings),
    }
    try:
        with contextlib.ExitStack() as stack:
            if url is None:
                server = bench.LocalServer(settings)
                stack.callback(server.cleanup)
                with status("Starting the web app on 127.0.0.1…"):
                    stack.enter_context(server)
                base, db_settings = server.url, server.server_settings()
            else:
                base, db_settings = bench.check_loopback(url), settings
            for n in users:
                with status(f"{n} users for {seconds:g} s…"):
                    results, elapsed = bench.drive(base, n, seconds, open_share)
                run = bench.summarise(results, elapsed, n)
                run["database"] = bench.verify_stored(db_settings, results)
                report["runs"].append(run)
    except (bench.LoadError, WebClientError) as exc:
        fail(str(exc))
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]

    procs = f", {report['workers']} web processes" if report["workers"] else ""
    table = Table(
        title=f"Web app load ({report['machine']['cpus_usable']} CPUs{procs}, {seconds:g} s per run)"
    )
    for column in (
        "users",
        "turns ok",
        "errors",
        "turns/s",
        "p50 ms",
        "p95 ms",
        "max ms",
        "lost",
        "integrity",
    ):
        table.add_column(column, justify="right")
    for run in report["runs"]:
        db = run["database"]
        table.add_row(
            str(run["users"]), str(run["ok"]), str(run["errors"]), f"{run['throughput_turns_per_s']:.2f}",
            *(f"{run[k]:.0f}" if run[k] is not None else "-" for k in ("latency_p50_ms", "latency_p95_ms",
                                                                       "latency_max_ms")),
            f"{db['missing']}/{db['acknowledged']}", str(db["integrity"]),
        )  # fmt: skip
    console.print(table)
    for run in report["runs"]:
        for kind, count in run["error_kinds"].items():
            console.print(f"[yellow]{run['users']} users, {count}×:[/] {kind}")
    _write_report(report, out)


@app.command("abuse")
def bench_abuse(
    ctx: typer.Context,
    users: Annotated[int, typer.Option(min=1, help="Normal users typing turns meanwhile.")] = 4,
    seconds: Annotated[float, typer.Option(min=5, max=600, help="How long each run lasts.")] = 20.0,
    attack: Annotated[
        list[str] | None, typer.Option(help="Attacks to run (default all): " + ", ".join(ATTACKS))
    ] = None,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_abuse.json"),
) -> None:
    """Issue-18 attacks on a served web app while normal users talk: their p95 and the server's peak RSS."""
    import contextlib
    import os
    import tempfile

    from rich.table import Table

    from assistant.bench import abuse
    from assistant.bench import load as bench
    from assistant.bench.asr import machine_info
    from assistant.bench.webclient import WebClientError
    from assistant.cli_state import settings_from
    from assistant.console import console, fail, status

    settings = settings_from(ctx)
    names = attack or list(abuse.ATTACKS)
    unknown = [n for n in names if n not in abuse.ATTACKS]
    if unknown:
        fail(f"Unknown attack(s) {', '.join(unknown)}; pick from {', '.join(abuse.ATTACKS)}.")
    report: dict = {"machine": machine_info(), "users": users, "seconds": seconds, "runs": []}
    try:
        with contextlib.ExitStack() as stack:
            server = bench.LocalServer(settings)
            stack.callback(server.cleanup)
            with status("Starting the web app on 127.0.0.1…"):
                stack.enter_context(server)
            assert server.process is not None
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-abuse-")))
            target = abuse.Target(server.url, server.process.pid, scratch, settings.cache_dir)
            with status(f"Quiet: {users} users for {seconds:g} s…"):
                quiet = abuse.measure(target, users, seconds, None)
            report["runs"].append({"attack": "none (quiet)", **quiet})
            for name in names:
                with status(f"Preparing {name}…"):
                    run_attack = abuse.run_attack(name, target, seconds, settings)
                with status(f"{name}: {users} users for {seconds:g} s beside it…"):
                    run = abuse.measure(target, users, seconds, run_attack)
                report["runs"].append({"attack": name, **run})
    except (bench.LoadError, WebClientError) as exc:
        fail(str(exc))
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    quiet_p95 = report["runs"][0]["latency_p95_ms"] or 0.0
    table = Table(
        title=f"Abuse ({report['machine']['cpus_usable']} CPUs, {users} users, {seconds:g} s per run)"
    )
    for column in (
        "attack",
        "turns ok",
        "errors",
        "p50 ms",
        "p95 ms",
        "p95 / quiet",
        "peak RSS MB",
        "attacker got",
    ):
        table.add_column(column, justify="left" if column in ("attack", "attacker got") else "right")
    for run in report["runs"]:
        p95 = run["latency_p95_ms"]
        run["p95_vs_quiet"] = round(p95 / quiet_p95, 2) if p95 and quiet_p95 else None
        got = ", ".join(f"{n}× {k}" for k, n in run["attack_outcomes"].items()) or "-"
        table.add_row(
            run["attack"], str(run["ok"]), str(run["errors"]),
            *(f"{run[k]:.0f}" if run[k] is not None else "-" for k in ("latency_p50_ms", "latency_p95_ms")),
            f"{run['p95_vs_quiet']:.2f}" if run["p95_vs_quiet"] else "-", f"{run['peak_rss_mb']:.0f}", got,
        )  # fmt: skip
    console.print(table)
    console.print("Targets (issue 18): p95 within 2× of quiet, peak RSS under 1536 MB during every attack.")
    _write_report(report, out)


@app.command("natural")
def bench_natural(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_natural.json"),
    model: Annotated[
        str | None, typer.Option(help="NLU model: a product name or a saved folder (default: nlu.model).")
    ] = None,
    cases: Annotated[
        Path | None, typer.Option(help="Request set (default tests/natural/requests.jsonl).")
    ] = None,
    rules_only: Annotated[
        bool, typer.Option(help="No NLU model: only the skills' own rules can act (a lower bound).")
    ] = False,
) -> None:
    """Natural requests: each held-out request through NLU and the dialog manager, checked by its outcome
    (the alarm, timer, reminder, event, list or number it produced); accuracy per category and failures."""
    from assistant.bench import natural as bench
    from assistant.cli_state import settings_from
    from assistant.console import fail, progress_bar, status
    from assistant.nlu_models import load_intent_model

    settings = settings_from(ctx)
    try:
        requests = bench.load_cases(cases or bench.DEFAULT_CASES)
    except (OSError, ValueError, KeyError) as exc:
        fail(f"Cannot read the request set: {exc}")
    name = "none (rules only)" if rules_only else (model or settings.nlu.model)
    nlu_model = None
    if not rules_only:
        try:
            with status(f"Loading the {name} NLU model…"):
                nlu_model = load_intent_model(name, settings)
        except Exception as exc:  # not prepared / not shipped: say how, no traceback
            fail(f"Cannot load the NLU model {name!r}: {exc}")
    with progress_bar() as progress:
        task = progress.add_task("natural requests", total=len(requests))
        outcomes = bench.evaluate(settings, nlu_model, requests, lambda: progress.advance(task))
    bench.print_report(outcomes)
    _write_report(bench.report(settings, name, outcomes), out)


@app.command("routing")
def bench_routing(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_routing.json"),
    model: Annotated[
        str | None, typer.Option(help="NLU model: a product name or a saved folder (default: nlu.model).")
    ] = None,
    show: Annotated[int, typer.Option(help="Misses to list per set.")] = 20,
) -> None:
    """Open questions through NLU and the dialog manager: the share that reaches the generator (our held-out
    set and CLINC150's oos test), with the misses and the skill that took them."""
    from assistant.bench import routing as bench
    from assistant.cli_state import settings_from
    from assistant.console import fail, status

    settings = settings_from(ctx)
    name = model or settings.nlu.model
    try:
        with status(f"Routing the open-question sets with {name}…"):
            results, kept = bench.route_sets(settings, bench.default_sets(settings), name, kept=True)
    except Exception as exc:  # a model that is not there, a missing set: say so, no traceback
        fail(f"Cannot route with the NLU model {name!r}: {exc}")
        return
    bench.print_report(name, results, kept, show)
    _write_report(bench.report(name, results, kept), out)


@app.command("wake")
def bench_wake(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_wake.json"),
    data: Annotated[
        Path | None, typer.Option(help="Speech data folder (default ../shared/data/speech).")
    ] = None,
    minutes: Annotated[
        float,
        typer.Option(min=1, max=600, help="Real speech without the word for false wakes (60 = the hour)."),
    ] = 15.0,
    models: Annotated[
        str, typer.Option(help="Comma-separated shipped models.")
    ] = "alexa,hey_jarvis,hey_mycroft,okay_nabu",
    natural_takes: Annotated[
        int, typer.Option(min=0, max=10, help="Piper takes with its natural noise per rate and phrase.")
    ] = 2,
    espeak: Annotated[bool, typer.Option(help="Also the espeak-ng voices, where it is installed.")] = True,
) -> None:
    """Wake word: detection by voice and noise level, false wakes per hour of real speech, idle CPU."""
    import os

    from assistant.bench import wake as bench
    from assistant.bench.asr import data_dir, machine_info
    from assistant.console import err_console, fail
    from assistant.offline import ModelNotAvailableError

    names = tuple(n.strip() for n in models.split(",") if n.strip())
    unknown = [n for n in names if n not in bench.MODELS]
    if unknown or not names:
        fail(f"Unknown model(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(bench.MODELS)}.")
    folder = data or data_dir()
    options = bench.Options(models=names, minutes=minutes, natural_takes=natural_takes, espeak=espeak)
    report: dict = {"machine": machine_info()}
    try:
        report.update(bench.run(folder, options, lambda step: err_console.print(f"[dim]{step}[/]")))
    except (bench.WakeBenchError, ModelNotAvailableError) as exc:
        fail(str(exc))
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    bench.print_report(report)
    _write_report(report, out)


@app.command("recall")
def bench_recall(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path("reports/bench_recall.json"),
    conversations: Annotated[int, typer.Option(min=1, max=22, help="Scripted long conversations.")] = 20,
    filler_turns: Annotated[
        int, typer.Option(min=0, max=400, help="Turns of small talk after the detail.")
    ] = 40,
) -> None:
    """Questions about details said 40+ turns back in an earlier conversation, asked after a restart, with
    the generator's recall of earlier turns on and off: detail in the prompt, in the reply, first-token ms."""
    from assistant.bench import recall as bench
    from assistant.cli_state import settings_from
    from assistant.console import fail, status

    settings = settings_from(ctx)
    try:
        with status(f"Asking {conversations} scripted questions with and without recall…"):
            runs = bench.run(settings, conversations, filler_turns)
    except Exception as exc:  # a generator or encoder that cannot load: say so, no traceback
        fail(f"The recall benchmark could not run: {str(exc)[:300]}")
        return
    bench.print_report(runs)
    _write_report(bench.report(settings, runs), out)
