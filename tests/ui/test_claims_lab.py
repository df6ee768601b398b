"""The NLU lab's "Transformer vs LSTM" section without a browser: which claims report it shows (own, then
shipped, then how to make one), what it shows of it, and the live probe on the real shipped models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from nlu.claims.report import ORDER, PLOTS
from nlu.tokenize import MAX_WORDS
from ui.claims_probe import FILLER_LENGTHS, OOS_DIR, PROBE_MODELS, ProbeInputError, filler, probe, probe_table
from ui.claims_report import ClaimsReportError, claims_view, read_claims_report

CLAIMS = {
    "speed": ("Transformers train faster, thanks to parallel processing.", "refuted"),
    "long_range": (
        "Transformers handle long-range dependencies better; LSTMs struggle to retain distant information.",
        "depends on distance",
    ),
    "memory": ("Transformers need more memory.", "confirmed"),
}


def write_report(folder: Path, date: str, platform: str = "Linux-test", cuda: str | None = None) -> Path:
    """A claims report folder shaped like `assistant nlu claims` writes (nlu/claims/report.py)."""
    from PIL import Image

    folder.mkdir(parents=True)
    claims = {
        key: {
            "claim": claim,
            "setting": "a long paragraph about the setting",
            "checks": [
                {"point": "16 words (cpu)", "holds": False, "detail": f"{key} Transformer 1.0 vs LSTM 0.5"},
                {"point": "64 words (cpu)", "holds": True, "detail": "Transformer 2 | LSTM 3"},
            ],
            "verdict": verdict,
            "reason": "holds at some points",
        }
        for key, (claim, verdict) in CLAIMS.items()
    }
    meta = {
        "settings": {"name": "default", "seeds": [0, 1, 2]},
        "device": "cpu",
        "seconds": {"total": 600.0},
        "machine": {
            "platform": platform,
            "processor": "x86_64",
            "cpus": 2,
            "torch": "2.0",
            "torch_threads": 1,
            "cuda": cuda,
            "date": date,
        },
    }
    (folder / "claims.json").write_text(json.dumps({"meta": meta, "claims": claims}), encoding="utf-8")
    (folder / "claims.md").write_text(
        "# Transformer vs LSTM\n\n| words | BiLSTM |\n|---|---|\n| 16 | 0.1 s |\n\n![1. Training speed](speed.png)\n",
        encoding="utf-8",
    )
    for key in ("memory", "speed"):  # written out of order: the section shows them in the claims' order
        Image.new("RGB", (8, 6), "white").save(folder / PLOTS[key])
    return folder


def test_the_report_shows_one_row_per_claim_with_its_checks_and_verdict(tmp_path: Path) -> None:
    folder = write_report(tmp_path / "reports" / "claims", "2026-12-01 10:00 UTC")
    view = claims_view(tmp_path / "reports", shipped=tmp_path / "none")
    assert view.source == "own" and view.folder == folder
    rows = [line for line in view.markdown.splitlines() if line.startswith("| **")]
    assert len(rows) == len(CLAIMS)
    for row, key in zip(rows, [k for k in ORDER if k in CLAIMS], strict=True):
        claim, verdict = CLAIMS[key]
        assert claim in row and row.endswith(f"| **{verdict}** |")
        assert f"16 words (cpu): {key} Transformer 1.0 vs LSTM 0.5; 64 words (cpu)" in row
    assert "Transformer 2 \\| LSTM 3" in view.markdown  # a | inside a cell does not split the row
    assert "2026-12-01 10:00 UTC" in view.markdown and "Linux-test" in view.markdown
    assert "2 CPUs" in view.markdown and "no GPU" in view.markdown and "setting `default`" in view.markdown
    assert [p.name for p, _ in view.plots] == ["speed.png", "memory.png"]
    assert [caption for _, caption in view.plots] == ["1. Training speed", "3. Memory"]
    assert "| 16 | 0.1 s |" in view.details and "![" not in view.details


def test_own_report_first_then_the_shipped_one_then_how_to_make_one(tmp_path: Path) -> None:
    reports, shipped = tmp_path / "reports", tmp_path / "shipped"
    none = claims_view(reports, shipped=shipped)
    assert none.source == "none" and none.plots == [] and none.folder is None
    assert "assistant nlu claims" in none.markdown and str(reports / "claims") in none.markdown

    write_report(shipped, "2026-11-01 09:00 UTC", platform="Maintainers-box", cuda="NVIDIA H100")
    view = claims_view(reports, shipped=shipped)
    assert view.source == "shipped" and view.folder == shipped
    assert "shipped report" in view.markdown and "2026-11-01 09:00 UTC" in view.markdown
    assert "Maintainers-box" in view.markdown and "GPU NVIDIA H100" in view.markdown
    assert "assistant nlu claims" in view.markdown  # says how to measure on this machine instead

    write_report(reports / "claims", "2026-12-02 08:00 UTC", platform="This-box")
    view = claims_view(reports, shipped=shipped)
    assert view.source == "own" and "This-box" in view.markdown and "Maintainers-box" not in view.markdown
    assert "Your own report" in view.markdown


def test_a_broken_own_report_says_so_and_falls_back(tmp_path: Path) -> None:
    reports, shipped = tmp_path / "reports", tmp_path / "shipped"
    (reports / "claims").mkdir(parents=True)
    (reports / "claims" / "claims.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ClaimsReportError, match="cannot be read"):
        read_claims_report(reports / "claims")
    view = claims_view(reports, shipped=shipped)
    assert view.source == "none" and "cannot be read" in view.markdown
    write_report(shipped, "2026-11-01 09:00 UTC")
    view = claims_view(reports, shipped=shipped)
    assert view.source == "shipped" and "cannot be read" in view.markdown
    (reports / "claims" / "claims.json").write_text('{"claims": {}}', encoding="utf-8")
    with pytest.raises(ClaimsReportError, match="not a claims report"):
        read_claims_report(reports / "claims")


def test_the_lab_finds_the_report_the_cli_writes_by_default(tmp_path: Path) -> None:
    """`assistant nlu claims` writes to reports/nlu/claims; the lab reads <settings.nlu.reports_dir>/claims."""
    import inspect

    from assistant.config import load_settings
    from assistant.nlu_cli import claims

    default_out = inspect.signature(claims).parameters["out"].default
    settings = load_settings({"cache_dir": str(tmp_path)})
    assert Path(settings.nlu.reports_dir) / "claims" == default_out


def test_filler_is_the_first_oos_words_in_order() -> None:
    first = (OOS_DIR / "train" / "seq.in").read_text(encoding="utf-8").split()
    for n in (1, 16, 256):
        assert filler(n).split() == first[:n]
    assert filler(0) == ""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from assistant.config import load_settings
    from assistant.runtime import Runtime

    tmp = tmp_path_factory.mktemp("claims-probe")
    rt = Runtime(load_settings({"data_dir": str(tmp), "cache_dir": str(tmp / "cache")}))
    yield rt
    rt.close()


def test_the_probe_reads_every_filler_length_with_both_shipped_models(runtime) -> None:
    request = "set an alarm for seven tomorrow morning"  # 7 words
    rows = probe(runtime, request, max_chars=1000)
    assert [(r.model, r.filler_words) for r in rows] == [(m, n) for m in PROBE_MODELS for n in FILLER_LENGTHS]
    for r in rows:
        assert r.error is None, r.error
        assert r.request_words == 7
        assert r.words_read == min(r.filler_words + 7, MAX_WORDS)
        assert r.request_read == 7  # first in the message: always read
        assert r.latency_ms > 0 and 0 < r.confidence <= 1 and 0 <= r.bare_p <= 1
        assert r.label and r.bare_label
    bare = {r.model: r for r in rows if r.filler_words == 0}
    assert all(b.label == "alarm_set" == b.bare_label and b.bare_p == b.confidence for b in bare.values())
    table = probe_table(rows)
    assert "trained on single requests" in table and "never saw" in table
    assert sum(line.startswith(("| lstm |", "| transformer |")) for line in table.splitlines()) == len(rows)


def test_the_probe_refuses_bad_input_clearly(runtime) -> None:
    for text in ("", "   ", None, "\x00\x01"):
        with pytest.raises(ProbeInputError, match="Type or say a request"):
            probe(runtime, text, max_chars=100)
    with pytest.raises(ProbeInputError, match="101 characters; the probe takes at most 100"):
        probe(runtime, "a" * 101, max_chars=100)


def test_a_model_that_cannot_load_shows_its_error_beside_the_other(runtime) -> None:
    rows = probe(
        runtime, "what time is it", max_chars=100, models=("lstm", "/no/such/model"), lengths=(0, 16)
    )
    good = [r for r in rows if r.model == "lstm"]
    bad = [r for r in rows if r.model != "lstm"]
    assert len(good) == len(bad) == 2 and all(r.error is None for r in good)
    assert all(r.error and r.label is None for r in bad)
    assert "error:" in probe_table(rows)


def test_the_section_builds_and_its_handlers_answer(tmp_path: Path, runtime) -> None:
    import gradio as gr

    from assistant.config import load_settings
    from ui.claims_lab import ClaimsLab

    settings = load_settings({"cache_dir": str(tmp_path), "nlu": {"reports_dir": str(tmp_path / "reports")}})
    write_report(tmp_path / "reports" / "claims", "2026-12-01 10:00 UTC")
    lab = ClaimsLab(runtime, settings, hear=lambda recording: "what time is it")
    with gr.Blocks():
        lab.build()
        lab.wire()
    summary, images, details = lab.on_report()
    assert "Your own report" in summary and len(images) == 2 and images[0][1] == "1. Training speed"
    assert images[0][0].size == (8, 6)
    text, table, cleared = lab.on_speak("recording.wav")
    assert text == "what time is it" and "| lstm | 256 |" in table and cleared is None
    with pytest.raises(gr.Error):
        lab.on_probe("")
