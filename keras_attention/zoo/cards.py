"""`ModelCard`: the `model_card.json` of a published preset.

The card is our own schema (`keras_attention.model_card/1`, see
`training/README.md`): what the weights are (model, weights name, task,
head), what they were trained and evaluated on (dataset, recipe, metrics),
their license, and the size and sha256 of every file of the preset (which
`zoo.load` checks before Keras reads a file). `training/publish.py` writes
it; the zoo, the docs and the tests read it through `ModelCard.read`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

MODEL_CARD_FILE = "model_card.json"
CARD_SCHEMA = "keras_attention.model_card/1"
# What a published card must hold (`ModelCard.read(path, strict=True)`).
REQUIRED_FIELDS = ("schema", "model", "weights", "task", "files")
# Fields of a known type; a card holding another type is refused.
_TYPES = {
    "schema": str,
    "model": str,
    "weights": str,
    "default": bool,
    "task": str,
    "architecture": dict,
    "num_classes": int,
    "class_names": list,
    "dataset": dict,
    "preprocessing": dict,
    "input_shape": list,
    "recipe": dict,
    "backend": str,
    "keras_version": str,
    "git": dict,
    "epochs": int,
    "license": dict,
    "metrics": dict,
    "storage": dict,
    "files": dict,
    "epochs_run": int,
    "final_epoch": dict,
    "wall_time_seconds": float,
    "summary": dict,
}


class ModelCardError(ValueError):
    """A model card that cannot be read or lacks a required field.

    Attributes:
        path: the card's file (None for a card not read from a file).
    """

    def __init__(self, message: str, *, path=None) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)


class MissingModelCardError(ModelCardError, FileNotFoundError):
    """There is no model card at the path."""


@dataclasses.dataclass
class ModelCard:
    """A model card; fields as in `model_card.json` (all optional but
    `REQUIRED_FIELDS` in a published card). Fields of a newer schema are
    kept in `extra` and written back by `to_json`."""

    schema: str | None = None
    model: str | None = None
    weights: str | None = None
    default: bool | None = None
    task: str | None = None
    architecture: dict | None = None
    num_classes: int | None = None
    class_names: list | None = None
    dataset: dict | None = None
    preprocessing: dict | None = None
    input_shape: list | None = None
    recipe: dict | None = None
    backend: str | None = None
    keras_version: str | None = None
    git: dict | None = None
    epochs: int | None = None
    license: dict | None = None
    metrics: dict | None = None
    storage: dict | None = None
    files: dict | None = None
    epochs_run: int | None = None
    final_epoch: dict | None = None
    wall_time_seconds: float | None = None
    summary: dict | None = None
    extra: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, data, *, path=None, strict: bool = False):
        """The card of the parsed JSON `data`; `ModelCardError` (naming
        `path`) for a non-object, a field of the wrong type, or, with
        `strict`, a missing required field."""
        where = f"the model card {path}" if path is not None else "a card"
        if not isinstance(data, dict):
            raise ModelCardError(
                f"Expected a JSON object in {where}. Received: {data!r:.100}",
                path=path,
            )
        if strict:
            missing = [k for k in REQUIRED_FIELDS if data.get(k) is None]
            if missing:
                raise ModelCardError(
                    f"The model card {path} lacks the required field(s) "
                    f"{', '.join(missing)} (write it with training/"
                    "publish.py).",
                    path=path,
                )
        for key, kind in _TYPES.items():
            value = data.get(key)
            if value is None:
                continue
            ok = isinstance(value, kind) and not (
                kind is int and isinstance(value, bool)
            )
            if kind is float:
                ok = isinstance(value, int | float) and not isinstance(
                    value, bool
                )
            if not ok:
                raise ModelCardError(
                    f"Expected `{key}` of type {kind.__name__} in {where}. "
                    f"Received: {key}={value!r:.100}",
                    path=path,
                )
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        fields = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**fields, extra=extra)

    def to_json(self) -> dict:
        """The card as a JSON object (the fields that are set, then
        `extra`)."""
        data = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "extra" and getattr(self, f.name) is not None
        }
        return {**data, **self.extra}

    @classmethod
    def read(cls, path, *, strict: bool = False) -> ModelCard:
        """The card in the file `path` (or in the folder `path`), or a
        `ModelCardError` naming the file."""
        path = Path(path)
        if path.is_dir():
            path = path / MODEL_CARD_FILE
        return cls.from_json(read_card_json(path), path=path, strict=strict)


def read_card_json(path) -> object:
    """The parsed JSON of the card file `path`, or a `ModelCardError`
    naming it (missing, unreadable, not JSON)."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise MissingModelCardError(
            f"No model card {path} ({MODEL_CARD_FILE} of a preset).",
            path=path,
        ) from error
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ModelCardError(
            f"Cannot read the model card {path}: {error}", path=path
        ) from error
