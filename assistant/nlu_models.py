"""The assistant's side of the NLU library: intent models loaded and trained with the options its
Settings hold (cache folder, device, data folder, threshold). nlu.registry takes them as plain
parameters, so the library never imports the assistant.

What a request may name is decided here (`resolve_model_name`): the web app lets a guest type a model name,
and the runtime caches models under the canonical name this returns."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from nlu import registry
from nlu.plugins import UnknownBackendError
from nlu.shipped import CATALOG, cache_folder

if TYPE_CHECKING:
    from assistant.config import Settings
    from nlu.models.base import BaseIntentModel
    from nlu.types import IntentModel


def load_intent_model(
    name_or_dir: str, settings: Settings, load_member: registry.MemberLoader | None = None
) -> IntentModel:
    """A ready model: a product model by name (nlu.registry.product_names) or a folder saved by `nlu train`.

    `settings.nlu.threshold`, when set, overrides the threshold tuned on validation data. A blend's members
    come from `load_member` when given (the runtime's shared models), else they are loaded here.
    """
    return registry.load_intent_model(
        name_or_dir,
        cache_dir=settings.cache_dir,
        device=settings.resolved_device(),
        threshold=settings.nlu.threshold,
        load_member=load_member,
    )


NAME_SHOWN = 80  # characters of a refused name repeated in the message


def nlu_cache_root(settings: Settings) -> Path:
    """The assistant's own NLU folder: product models trained here, `assistant nlu train` and the NLU lab's
    models (their default destinations) all live under it."""
    return real_path(Path(settings.cache_dir).expanduser() / "nlu") or Path(settings.cache_dir) / "nlu"


def resolve_model_name(name: str, settings: Settings, trusted: Iterable[Path] = ()) -> str:
    """The canonical name of the model a request names, which the runtime caches it under: a product name,
    or the real path (symlinks followed) of a saved model folder under `nlu_cache_root`, of the operator's
    configured `nlu.model` folder, or of a folder in `trusted` (real paths the operator allowed).

    Every spelling of one folder ("/x//y", "/x/./y/", a link) is one model, loaded once. Anything else is
    refused with one message that is the same whether the path exists, is a file or a folder, so a guest
    cannot use the picker to probe the server's disk.
    """
    if name in CATALOG:
        return name
    real = real_path(Path(name))
    if real is None:
        raise UnknownBackendError(unknown_model_message(name))
    operator = {*trusted}
    if settings.nlu.model not in CATALOG and (configured := real_path(Path(settings.nlu.model))) is not None:
        operator.add(configured)
    if real in operator:  # the operator's own folder: errors may say what is wrong with it
        return str(real)
    if not real.is_relative_to(nlu_cache_root(settings)) or not (real / "config.json").is_file():
        raise UnknownBackendError(unknown_model_message(name))
    for product, entry in CATALOG.items():  # a trained product model by its folder is that product
        if not entry.shipped and real == real_path(cache_folder(product, settings.cache_dir)):
            return product
    return str(real)


def unknown_model_message(name: str) -> str:
    """The one answer to a name that is not an allowed model: it never says whether such a path exists."""
    shown = name if len(name) <= NAME_SHOWN else name[: NAME_SHOWN - 1] + "…"
    return (
        f"Unknown NLU model {shown!r}: pick one of {', '.join(registry.product_names())} "
        "or a model trained in the NLU lab."
    )


def real_path(path: Path) -> Path | None:
    """`path` with `~`, `.`, `..` and symlinks resolved; None for what no path can be (a NUL byte, an unknown
    user's `~name`, a link loop)."""
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def train_product(name: str, settings: Settings, out: Path | None = None) -> tuple[BaseIntentModel, Path]:
    """Train product model `name` (see nlu.registry.train_product) and save it to `out`, else the cache."""
    return registry.train_product(
        name,
        cache_dir=settings.cache_dir,
        device=settings.resolved_device(),
        data_dir=settings.nlu.data_dir,
        out=out,
    )


def prepare_default_model(settings: Settings) -> str:
    """Preparation step: check that the configured NLU model is there (shipped ones are verified)."""
    return registry.check_model(settings.nlu.model, settings.cache_dir)
