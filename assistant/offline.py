"""Find the folders of model packages installed from PyPI, without importing them, and the errors for a
model that is not on this machine. `package_dir` and `ModelNotAvailableError` live in the NLU library
(nlu.packages), which must not import the assistant."""

from __future__ import annotations

from pathlib import Path

from nlu.packages import ModelNotAvailableError, package_dir

__all__ = ["ModelNotAvailableError", "find_file", "hub_offline_message", "package_dir"]


def find_file(folder: Path, pattern: str) -> Path:
    """The single file under `folder` matching a glob pattern, searched recursively."""
    matches = sorted(folder.rglob(pattern))
    if not matches:
        raise ModelNotAvailableError(f"No file matching {pattern!r} under {folder}; reinstall the package.")
    return matches[0]


def hub_offline_message(model: str, fix: str) -> str:
    return (
        f"Model {model!r} is not on this machine and cannot be downloaded (no internet). {fix} "
        "Or use the offline default."
    )
