"""The intent-model registry (name -> class) and the loader the assistant's dialog layer calls.

`load_intent_model("lstm", cache_dir=...)` returns a product model (nlu.shipped.CATALOG): the shipped
weights in the repository, or, for the fine-tuned MiniLM, the folder `assistant nlu train --product minilm`
wrote into the cache. A folder saved by `assistant nlu train` is loaded as it is. Loading never trains. The
caller keeps the returned model for the life of the process. The functions take plain options (cache
folder, device, data folder); the assistant reads them from its settings (assistant.nlu_models).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from nlu.data import PRODUCT_DATASET
from nlu.models.base import BaseIntentModel, ModelFolderError, read_config
from nlu.plugins import Registry, UnknownBackendError
from nlu.shipped import CATALOG, ShippedModelError, cache_folder, product_folder

if TYPE_CHECKING:
    from nlu.types import IntentModel

models: Registry[BaseIntentModel] = Registry("nlu")


def _classes() -> dict[str, type[BaseIntentModel]]:
    from nlu.models.blend import BlendedIntentModel
    from nlu.models.lstm import LSTMIntentModel
    from nlu.models.minilm import MiniLMIntentModel
    from nlu.models.tfidf import TfidfLogRegModel
    from nlu.models.transformer import TransformerIntentModel

    return {
        cls.name: cls
        for cls in (
            LSTMIntentModel,
            TransformerIntentModel,
            MiniLMIntentModel,
            TfidfLogRegModel,
            BlendedIntentModel,
        )
    }


for _name, _cls in _classes().items():
    models.register(_name)(_cls)


def create(name: str, device: str = "cpu", cache_dir: Path | None = None, **config) -> BaseIntentModel:
    """A new, untrained model by registry name (options override its defaults)."""
    return models.create(name, device=device, cache_dir=cache_dir, **config)


MemberLoader = Callable[[str], "IntentModel"]  # product name -> loaded model (a caller's shared cache)


def load_folder(
    folder: Path, device: str = "cpu", cache_dir: Path | None = None, load_member: MemberLoader | None = None
) -> BaseIntentModel:
    """A model saved with `save()` / `assistant nlu train`, whatever its kind (a blend with its members,
    which are product models: shipped, or trained into `cache_dir`; `load_member` lets a caller that
    already holds them lend its copies instead of loading them again)."""
    meta = read_config(Path(folder))
    try:
        cls = models.get(meta["model"])
    except UnknownBackendError as exc:
        raise ModelFolderError(f"{folder}: {exc}") from None
    model = cls.load(Path(folder), device=device)
    _attach_members(model, device, cache_dir, load_member)
    return model


def _attach_members(
    model: BaseIntentModel, device: str, cache_dir: Path | None, load_member: MemberLoader | None = None
) -> None:
    from nlu.models.blend import BlendedIntentModel

    if isinstance(model, BlendedIntentModel):
        unknown = [n for n in model.member_names if n not in CATALOG or CATALOG[n].model == "blend"]
        if unknown:
            raise ModelFolderError(f"blend members must be product models (not blends): {unknown}")
        if load_member is None:
            folders = [_product_folder(n, Path(cache_dir or ".")) for n in model.member_names]
            model.attach([load_folder(f, device) for f in folders])
        else:
            model.attach([load_member(n) for n in model.member_names])  # type: ignore[misc]


def product_names() -> list[str]:
    """The models the assistant and the NLU lab offer, default first."""
    return list(CATALOG)


def train_product(
    name: str,
    *,
    cache_dir: Path,
    device: str = "cpu",
    data_dir: Path | None = None,
    out: Path | None = None,
) -> tuple[BaseIntentModel, Path]:
    """Train product model `name` on the product dataset (from `data_dir`, else the default folder) with its
    catalog options (the best of its seeds on validation) and save it (to `out`, else the cache for the
    fine-tuned MiniLM). Written to a temporary folder first, so an interrupted run never leaves a
    half-saved model behind."""
    import shutil

    from nlu.data import load_dataset

    entry = CATALOG[name]
    folder = Path(out) if out else cache_folder(name, cache_dir)
    data = load_dataset(PRODUCT_DATASET, data_dir)
    model: BaseIntentModel | None = None
    seeded = "seed" in models.get(entry.model).defaults  # a blend has nothing random to seed
    for seed in range(entry.seeds):
        candidate = create(
            entry.model,
            device=device,
            cache_dir=Path(cache_dir).expanduser(),
            **{**entry.options, **({"seed": seed} if seeded else {})},
        )
        _attach_members(candidate, device, cache_dir)
        candidate.fit(data)
        if model is None or candidate.metrics.get("best_valid", 0) > model.metrics.get("best_valid", 0):
            model = candidate
    assert model is not None
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return model, folder


def _product_folder(name: str, cache_dir: Path) -> Path:
    """The folder of product model `name` (verified when shipped); a missing one is a ModelFolderError."""
    try:
        return product_folder(name, cache_dir)
    except ShippedModelError as exc:
        raise ModelFolderError(str(exc)) from None


def load_intent_model(
    name_or_dir: str,
    *,
    cache_dir: Path,
    device: str = "cpu",
    threshold: float | None = None,
    load_member: MemberLoader | None = None,
) -> IntentModel:
    """A ready model: a product model by name (see product_names) or a folder saved by `nlu train`.

    `threshold`, when given, overrides the threshold tuned on validation data. `load_member`: see load_folder.
    """
    if name_or_dir in CATALOG:
        model = load_folder(_product_folder(name_or_dir, cache_dir), device, cache_dir, load_member)
    elif (path := Path(name_or_dir).expanduser()).is_dir():
        model = load_folder(path, device, cache_dir, load_member)
    else:
        raise UnknownBackendError(
            f"Unknown NLU model {name_or_dir!r}: not a product model ({', '.join(product_names())}) "
            "and not a folder saved by `assistant nlu train`."
        )
    if threshold is not None:
        model.threshold = threshold
    return model


def check_model(name_or_dir: str, cache_dir: Path) -> str:
    """Preparation step: check that model `name_or_dir` is there (shipped ones are verified)."""
    if name_or_dir in CATALOG:
        folder = _product_folder(name_or_dir, cache_dir)
        if CATALOG[name_or_dir].model == "blend":  # a blend needs its members: shipped or trained here
            for member in CATALOG[name_or_dir].options["models"]:
                _product_folder(member, cache_dir)
        kind = "shipped" if CATALOG[name_or_dir].shipped else "trained"
        return f"{name_or_dir}: {kind} weights verified in {folder}"
    path = Path(name_or_dir).expanduser()
    read_config(path)  # a user folder: check it is a saved model, nothing to train
    return f"using the saved model in {path}"
