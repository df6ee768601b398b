"""`assistant chat --once --json`: the turn's events as JSON lines, for scripts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app

pytestmark = pytest.mark.slow


def test_chat_once_json(cli_env) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["chat", "--once", "add bread to my shopping list", "--json", "--user", "cli"]
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    kinds = [e["kind"] for e in events]
    assert kinds[-1] == "done" and "intent" in kinds and "text" in kinds
    intent = next(e for e in events if e["kind"] == "intent")
    assert intent["intent"]["label"] == "lists_createoradd"
    done = events[-1]

    again = runner.invoke(
        app,
        [
            "chat",
            "--once",
            "what's on my shopping list",
            "--json",
            "--user",
            "cli",
            "--conversation",
            str(done["conversation_id"]),
        ],
    )
    reply = "".join(
        json.loads(line)["text"] for line in again.stdout.splitlines() if '"kind": "text"' in line
    )
    assert "bread" in reply


def test_chat_once_bad_input_exit_code(cli_env) -> None:
    result = CliRunner().invoke(app, ["chat", "--once", "   ", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout.splitlines()[-1])["kind"] == "error"
    assert "Traceback" not in result.output
