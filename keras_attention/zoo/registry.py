"""The model registry: names, builders and model cards.

A model is registered with a `ModelSpec` (its builder and defaults).
Published weights live as keras-hub preset folders under the top-level
`zoo/` directory: `zoo/<model>/<weights>/` holding `config.json`,
`model.weights.h5`, `task.json`, `preprocessor.json`, `metadata.json` and
our `model_card.json` (dataset, metrics, license, sha256, provenance).
Parameter and MAC counts come from `zoo/catalog.json`, which
`keras-attention catalog --write` computes from the builders.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path

TASKS = ("image", "audio")
MODEL_CARD_FILE = "model_card.json"
CATALOG_FILE = "catalog.json"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a model before any weights.

    Attributes:
        name: Registry name, e.g. "cbam_resnet18".
        task: "image" or "audio".
        family: Model family, e.g. "resnet", "panns_cnn".
        attention: None, "se", "cbam", "eca" or "bam".
        builder: Callable returning a new model; takes keyword arguments
            such as `num_classes` and `input_shape`.
        input_shape: Default input shape of one example (no batch axis).
        description: One line for tables.
        paper: Link to the paper of the architecture/attention.
        input_kind: "image" (pixel arrays) or "waveform" (mono audio).
        architecture: What a preset's `config.json` must hold to fit this
            model: `{"class_name": backbone class, "label": e.g.
            "image ResNet-18", "config": {entries of the stage layout}}`;
            None skips the check (only the attention is compared).
    """

    name: str
    task: str
    family: str
    attention: str | None
    builder: Callable
    input_shape: tuple
    description: str
    paper: str
    input_kind: str = "image"
    architecture: dict | None = None


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Adds `spec` to the registry (names are unique)."""
    if spec.task not in TASKS:
        raise ValueError(
            f"Expected `task` in {TASKS}. Received: task={spec.task!r}"
        )
    if spec.name in _REGISTRY:
        raise ValueError(f"A model named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def _ensure_registered() -> None:
    # Model families register themselves on import.
    import keras_attention.zoo.catalog_models  # noqa: F401


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


def zoo_dir() -> Path:
    """The folder of published presets: `$KERAS_ATTENTION_ZOO`, or the
    repository's `zoo/` folder."""
    env = os.environ.get("KERAS_ATTENTION_ZOO")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "zoo"


def published_weights(name: str) -> dict[str, dict]:
    """The published weights entries of model `name`: weights name to its
    model card (with `"path"` added), default entry first."""
    root = zoo_dir() / name
    entries = {}
    if root.is_dir():
        for card_path in sorted(root.glob(f"*/{MODEL_CARD_FILE}")):
            try:
                card = json.loads(card_path.read_text())
            except (OSError, UnicodeDecodeError, ValueError) as error:
                raise ValueError(
                    f"Cannot read the model card {card_path}: {error}"
                ) from error
            if not isinstance(card, dict):
                raise ValueError(
                    f"Expected a JSON object in the model card {card_path}."
                )
            card["path"] = str(card_path.parent)
            entries[card_path.parent.name] = card
    return dict(
        sorted(entries.items(), key=lambda kv: not kv[1].get("default"))
    )


def default_weights(name: str) -> str | None:
    entries = published_weights(name)
    return next(iter(entries), None)


@functools.lru_cache(maxsize=4)
def _read_catalog(path: str, mtime_ns: int) -> dict:
    return json.loads(Path(path).read_text())


def _catalog() -> dict:
    # Cached per file and modification time, so a rewritten catalog or
    # another `$KERAS_ATTENTION_ZOO` is seen at once.
    path = zoo_dir() / CATALOG_FILE
    if not path.exists():
        return {}
    return _read_catalog(str(path), path.stat().st_mtime_ns)


def catalog_entry(name: str) -> dict:
    """Parameter and MAC counts of `name` from `zoo/catalog.json`."""
    return _catalog().get(name, {})


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
