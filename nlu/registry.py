"""The intent-model registry (name -> class) and the loader the assistant's dialog layer calls.

`load_intent_model("lstm", settings)` returns the product's default model trained on HWU64: loaded from
`settings.cache_dir / "nlu" / "lstm-hwu64"`, trained there first if missing (set-up does it once through
`assistant models prepare`). Any registry name works the same way; a folder saved by `assistant nlu train`
is loaded as it is. The caller keeps the returned model for the life of the process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from assistant.registry import Registry, UnknownBackendError
from nlu.models.base import BaseIntentModel, ModelFolderError, read_config

if TYPE_CHECKING:
    from assistant.config import Settings
    from nlu.types import IntentModel

models: Registry[BaseIntentModel] = Registry("nlu")
PRODUCT_DATASET = "hwu64"


def _classes() -> dict[str, type[BaseIntentModel]]:
    from nlu.models.lstm import LSTMIntentModel
    from nlu.models.minilm import MiniLMIntentModel
    from nlu.models.tfidf import TfidfLogRegModel
    from nlu.models.transformer import TransformerIntentModel

    return {
        cls.name: cls
        for cls in (LSTMIntentModel, TransformerIntentModel, MiniLMIntentModel, TfidfLogRegModel)
    }


for _name, _cls in _classes().items():
    models.register(_name)(_cls)


def create(name: str, device: str = "cpu", cache_dir: Path | None = None, **config) -> BaseIntentModel:
    """A new, untrained model by registry name (options override its defaults)."""
    return models.create(name, device=device, cache_dir=cache_dir, **config)


def load_folder(folder: Path, device: str = "cpu") -> BaseIntentModel:
    """A model saved with `save()` / `assistant nlu train`, whatever its kind."""
    meta = read_config(Path(folder))
    try:
        cls = models.get(meta["model"])
    except UnknownBackendError as exc:
        raise ModelFolderError(f"{folder}: {exc}") from None
    return cls.load(Path(folder), device=device)


def default_folder(name: str, settings: Settings, dataset: str = PRODUCT_DATASET) -> Path:
    return Path(settings.cache_dir).expanduser() / "nlu" / f"{name}-{dataset}"


def ensure_trained(name: str, settings: Settings, dataset: str = PRODUCT_DATASET) -> tuple[Path, bool]:
    """The cached folder of registry model `name` trained on `dataset`; trains and saves it if missing.

    Returns (folder, trained_now). Training writes to a temporary folder first, so an interrupted run
    never leaves a half-saved model behind.
    """
    import shutil

    from nlu.data import load_dataset

    models.get(name)  # unknown names fail here with the list of known ones
    folder = default_folder(name, settings, dataset)
    if (folder / "config.json").is_file():
        return folder, False
    data = load_dataset(dataset, settings.nlu.data_dir)
    model = create(name, device=settings.resolved_device(), cache_dir=Path(settings.cache_dir).expanduser())
    model.fit(data)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder, True


def load_intent_model(name_or_dir: str, settings: Settings) -> IntentModel:
    """A ready model: a saved folder, or a registry name trained on HWU64 (cached; trained if missing).

    `settings.nlu.threshold`, when set, overrides the threshold tuned on validation data.
    """
    path = Path(name_or_dir).expanduser()
    if name_or_dir not in models and path.is_dir():
        model = load_folder(path, settings.resolved_device())
    elif name_or_dir in models:
        folder, _ = ensure_trained(name_or_dir, settings)
        model = load_folder(folder, settings.resolved_device())
    else:
        raise UnknownBackendError(
            f"Unknown NLU model {name_or_dir!r}: not a registered model ({', '.join(models.names())}) "
            "and not a folder saved by `assistant nlu train`."
        )
    if settings.nlu.threshold is not None:
        model.threshold = settings.nlu.threshold
    return model


def prepare_default_model(settings: Settings) -> str:
    """Preparation step: the configured NLU model (default `lstm`) trained on HWU64 in the cache."""
    name = settings.nlu.model
    if name not in models:
        path = Path(name).expanduser()
        read_config(path)  # a user folder: check it is a saved model, nothing to train
        return f"using the saved model in {path}"
    folder, trained = ensure_trained(name, settings)
    return f"{'trained' if trained else 'already trained'} {name} on {PRODUCT_DATASET} in {folder}"
