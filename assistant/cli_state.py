"""What the root CLI callback hands to every command: settings overrides from global flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import typer

from assistant.config import ConfigError, Settings, load_settings


@dataclass
class CLIState:
    overrides: dict[str, Any] = field(default_factory=dict)


def parse_set_option(pairs: list[str]) -> dict[str, Any]:
    """`--set asr.backend=whisper --set port=8000` -> nested dict. Values stay strings; pydantic coerces."""
    nested: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"--set expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        node = nested
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif value is not None:
            out[key] = value
    return out


def settings_from(ctx: typer.Context | None, extra: dict[str, Any] | None = None) -> Settings:
    """Settings for a command: global flags, then the command's own flags (highest)."""
    from assistant.console import fail

    state = ctx.find_root().obj if ctx is not None else None
    overrides = merge(state.overrides if isinstance(state, CLIState) else {}, extra or {})
    try:
        return load_settings(overrides)
    except ConfigError as exc:
        fail(str(exc))
        raise  # unreachable; fail exits


def login_name() -> str:
    """Who runs the terminal commands: their login name, which is also their user in the memory."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "me"
