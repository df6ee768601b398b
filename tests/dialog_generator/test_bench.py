"""`assistant bench dialog`'s generator part, run against the fake chat server (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assistant.bench import dialog as bench

from .conftest import FakeChatServer, generator_settings


def test_generator_part_reports_every_metric(chat_server: FakeChatServer) -> None:
    settings = generator_settings(backend="openai-compatible", url=chat_server.url)
    options = bench.DialogBenchOptions(runs=1, cold_start=False, prompts=("Hi!", "Tell me a joke."))
    rows = bench.run_parts(settings, options)
    metrics = {row.metric: row for row in rows}
    assert {"time to first token", "tokens/s (decode, median)", "resident memory added by the model"} <= set(
        metrics
    )
    first = metrics["time to first token"]
    assert first.value is not None and first.value > 0 and first.target == "≤ 200"
    speed = metrics["tokens/s (decode, median)"]
    assert (
        speed.value is not None and speed.value > 0 and isinstance(speed.ok, bool)
    )  # judged against its target
    follow_up = metrics["time to first token, follow-up turn"].value
    assert follow_up is not None and follow_up > 0
    assert len(chat_server.requests) == 5  # warm-up, two prompts, a two-turn conversation
    assert chat_server.requests[-1]["body"]["messages"][-2] == {
        "role": "assistant",
        "content": "Hello there!",
    }
    assert options.samples and all(s["reply"] == "Hello there!" for s in next(iter(options.samples.values())))


def test_cli_writes_the_json_report(chat_server: FakeChatServer, tmp_path: Path) -> None:
    from assistant.cli import app

    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app,
        ["--set", f"generator.url={chat_server.url}", "bench", "dialog", "--backend", "openai-compatible",
         "--runs", "1", "--no-cold-start", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["generator"]["backend"] == "openai-compatible"
    assert any(row["metric"] == "time to first token" for row in report["rows"])


def test_cli_fails_cleanly_when_the_generator_cannot_load(tmp_path: Path) -> None:
    from assistant.cli import app

    result = CliRunner().invoke(
        app, ["bench", "dialog", "--backend", "hf", "--out", str(tmp_path / "x.json")]
    )
    assert result.exit_code == 1
    assert "needs a model" in result.output and "Traceback" not in result.output


def test_skill_part_times_real_skill_turns() -> None:
    """Text in -> text out through the real pipeline; every timed turn was answered by a skill."""
    rows = bench.skill_part(generator_settings(), bench.DialogBenchOptions(runs=1))
    median, p95 = rows
    assert median.value is not None and 0 < median.value <= p95.value and median.target == "≤ 20"
    assert f"{len(bench.SKILL_REQUESTS)} turns answered by skills" in median.note, median.note
