"""The assistant's side of the NLU library: intent models loaded and trained with the options its
Settings hold (cache folder, device, data folder, threshold). nlu.registry takes them as plain
parameters, so the library never imports the assistant."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nlu import registry

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
