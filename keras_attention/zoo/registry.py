"""The model registry: names, specs and published weights.

A model is registered with a `ModelSpec` (`keras_attention.models.specs`:
its name, task, family, attention, stage layout, builder and defaults).
The model families declare theirs as data, a `MODEL_SPECS` tuple in their
builders' module (`keras_attention.models.resnet`, `.audio`); the registry
collects them on first use. Nothing is parsed out of model names, and the
models import nothing of the zoo (the registry imports them, never the
reverse). `register_model` adds a model of your own.

Published weights are keras-hub preset folders `<zoo>/<model>/<weights>/`
holding `config.json`, `model.weights.h5`, `task.json`,
`preprocessor.json`, `metadata.json` and our `model_card.json`
(`keras_attention.zoo.cards.ModelCard`: dataset, metrics, license,
sha256s, provenance). The zoo folder is found without reading the
package's layout (`keras_attention.zoo.locations`):

1. `$KERAS_ATTENTION_ZOO`, when set;
2. else the `zoo/` folder of the source checkout of an editable install
   (`pip install -e .`), as pip records it in `direct_url.json`;
3. else none (an installed wheel): the presets listed in the package's
   index (`keras_attention/zoo/data/presets.json`) are published, and
   `zoo.load` downloads them from `locations.preset_url` (the entry's
   `"url"`), checking every file against the index.

Parameter and MAC counts come from the catalog that ships in the package
(`keras_attention/zoo/data/catalog.json`; `$KERAS_ATTENTION_ZOO/
catalog.json` when that is set), which `keras-attention catalog --write`
computes from the builders.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib

from keras_attention.models.specs import TASKS, ModelSpec
from keras_attention.zoo.cards import MODEL_CARD_FILE, ModelCard
from keras_attention.zoo.locations import (
    CATALOG_FILE,
    catalog_path,
    preset_url,
    read_catalog,
    read_presets,
    zoo_dir,
)

__all__ = [
    "CATALOG_FILE",
    "MODEL_CARD_FILE",
    "TASKS",
    "ModelSpec",
    "catalog_entry",
    "catalog_path",
    "default_weights",
    "get_spec",
    "list_models",
    "published_weights",
    "read_catalog",
    "register_model",
    "zoo_dir",
]

# The modules whose `MODEL_SPECS` are the zoo's model families.
FAMILY_MODULES = (
    "keras_attention.models.resnet",
    "keras_attention.models.audio",
)

_REGISTRY: dict[str, ModelSpec] = {}
_FAMILIES_LOADED = False


def _add(spec: ModelSpec) -> ModelSpec:
    if not isinstance(spec, ModelSpec):
        raise TypeError(
            f"Expected a ModelSpec. Received: {spec!r} of type "
            f"{type(spec).__name__}"
        )
    if spec.name in _REGISTRY:
        raise ValueError(f"A model named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def _ensure_registered() -> None:
    """Registers the `MODEL_SPECS` of `FAMILY_MODULES` (once)."""
    global _FAMILIES_LOADED
    if _FAMILIES_LOADED:
        return
    _FAMILIES_LOADED = True
    for module in FAMILY_MODULES:
        for spec in importlib.import_module(module).MODEL_SPECS:
            _add(spec)


def register_model(spec: ModelSpec) -> ModelSpec:
    """Adds `spec` to the registry (names are unique)."""
    _ensure_registered()
    return _add(spec)


def get_spec(name: str) -> ModelSpec:
    """Returns the `ModelSpec` of `name`, or raises `ValueError` suggesting
    the closest registered names."""
    _ensure_registered()
    if name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(str(name), list(_REGISTRY), n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(
        f"Unknown model {name!r}.{hint} See keras_attention.zoo."
        f"list_models() for all {len(_REGISTRY)} models."
    )


def _remote_weights(name: str) -> dict[str, dict]:
    """The entries of the package's index for `name`: each card with
    `"url"` (None when downloads are off) and `"files"` pinned by the
    index."""
    entries = {}
    for weights, preset in read_presets().get(name, {}).items():
        card = ModelCard.from_json(preset["card"]).to_json()
        card["url"] = preset_url(name, weights)
        card["files"] = preset["files"]
        entries[weights] = card
    return entries


def published_weights(name: str) -> dict[str, dict]:
    """The published weights entries of model `name`: weights name to its
    model card (`ModelCard.to_json()`), default entry first. With a zoo
    folder (see `zoo_dir()`) each has `"path"`, its local folder; without
    one they come from the package's index and have `"url"` instead."""
    root = zoo_dir()
    if root is None:
        entries = _remote_weights(name)
    elif not (root / name).is_dir():
        return {}
    else:
        entries = {}
        for card_path in sorted((root / name).glob(f"*/{MODEL_CARD_FILE}")):
            card = ModelCard.read(card_path).to_json()
            card["path"] = str(card_path.parent)
            entries[card_path.parent.name] = card
    return dict(
        sorted(entries.items(), key=lambda kv: not kv[1].get("default"))
    )


def default_weights(name: str) -> str | None:
    entries = published_weights(name)
    return next(iter(entries), None)


def catalog_entry(name: str) -> dict:
    """Parameter and MAC counts of `name` from the catalog."""
    return read_catalog().get(name, {})


def list_models(
    pattern: str | None = None,
    pretrained: bool | None = None,
    task: str | None = None,
) -> list[str]:
    """Names of the registered models.

    Args:
        pattern: Shell-style pattern, e.g. "cbam_*" or "*resnet50*".
        pretrained: True for models with published weights only, False for
            those without, None for all.
        task: "image" or "audio" to filter by task.

    Returns:
        Sorted model names.

    Examples:
        >>> list_models("cbam_resnet*", task="image")
        ['cbam_resnet101', 'cbam_resnet18', 'cbam_resnet34', 'cbam_resnet50']
    """
    _ensure_registered()
    if task is not None and task not in TASKS:
        raise ValueError(f"Expected `task` in {TASKS}. Received: task={task!r}")
    names = []
    for name, spec in _REGISTRY.items():
        if pattern and not fnmatch.fnmatch(name, pattern):
            continue
        if task and spec.task != task:
            continue
        if pretrained is not None and bool(published_weights(name)) != (
            pretrained
        ):
            continue
        names.append(name)
    return sorted(names)
