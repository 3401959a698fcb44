"""`load` and `info`: the zoo's front door."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keras
import keras_hub

from keras_attention.zoo import download
from keras_attention.zoo.registry import (
    catalog_entry,
    default_weights,
    get_spec,
    published_weights,
)

logger = logging.getLogger(__name__)

_URL_SCHEMES = ("https://", "http://", "file://")


def info(name: str) -> dict:
    """The model card of `name`.

    Returns a dict with the model's `name`, `task`, `family`, `attention`,
    `description`, `paper`, `input_shape`, parameter and MAC counts
    (`params`, `trainable_params`, `macs`; MACs of conv and dense layers,
    the papers' "FLOPs"), and `weights`: one entry per published weights
    file with its dataset, metrics, license, files (size, sha256),
    preprocessing and provenance.

    Example:

    >>> info("cbam_resnet18")["attention"]
    'cbam'
    """
    spec = get_spec(name)
    card = {
        "name": spec.name,
        "task": spec.task,
        "family": spec.family,
        "attention": spec.attention,
        "description": spec.description,
        "paper": spec.paper,
        "input_kind": spec.input_kind,
        "input_shape": list(spec.input_shape),
    }
    card.update(catalog_entry(name))
    card["default_weights"] = default_weights(name)
    card["weights"] = published_weights(name)
    return card


def _from_preset(path: str, num_classes, input_shape, overrides, card):
    kwargs = dict(overrides)
    head = card.get("num_classes") if card else None
    if num_classes is not None and num_classes != head:
        # A new head: keras-hub then loads the backbone weights only.
        kwargs["num_classes"] = num_classes
        kwargs.setdefault("class_names", None)
    if input_shape is not None:
        kwargs["image_shape"] = tuple(input_shape)
    base = (
        keras_hub.models.AudioClassifier
        if card and card.get("task") == "audio"
        else keras_hub.models.ImageClassifier
    )
    try:
        return base.from_preset(path, **kwargs)
    except ValueError:
        # Not a task preset (e.g. a backbone-only one): return the backbone.
        if num_classes is None and not kwargs:
            return keras_hub.models.Backbone.from_preset(path)
        raise


def _load_weights_file(model: keras.Model, path: Path, name: str) -> None:
    try:
        model.load_weights(str(path))
    except Exception as error:  # Keras raises several types here.
        raise ValueError(
            f"The weights file {path} does not fit model {name!r} "
            f"(another architecture, head size or input channels?). "
            f"Keras said: {error}"
        ) from error


def load(
    name: str,
    weights="default",
    num_classes: int | None = None,
    input_shape=None,
    sha256: str | None = None,
    **overrides,
) -> keras.Model:
    """Returns a ready `keras.Model` from the zoo, compiled and fit-able.

    Args:
        name: A registered model name (see `list_models()`).
        weights: Where the weights come from:
            - `"default"`: the model's default published weights, or random
              initialisation (with a log message) if it has none;
            - `None`: random initialisation;
            - the name of a published weights entry (see `info(name)`);
            - a local keras-hub preset directory;
            - a local `.weights.h5` file for this architecture;
            - an `https://`, `http://` or `file://` URL of a `.weights.h5`
              file or of a preset directory. Downloads are cached (see
              `keras_attention.zoo.download.cache_dir`), checked against
              `sha256` when given, and written atomically.
        num_classes: Size of the head. If it differs from the weights' head,
            the backbone weights load and a fresh head is built (the
            fine-tuning path).
        input_shape: Input shape of one example (e.g. `(64, 64, 1)`).
        sha256: Expected sha256 of a downloaded weights file.
        **overrides: Other builder arguments (e.g. `dropout`,
            `classifier_activation`, `dtype`).

    Raises:
        ValueError: unknown model or weights name (listing the valid ones),
            or weights that do not fit the architecture.

    Example:

    >>> model = load("resnet18", weights=None, num_classes=10,
    ...              input_shape=(32, 32, 3))
    >>> model.output_shape
    (None, 10)
    """
    spec = get_spec(name)
    entries = published_weights(name)
    if weights == "default":
        weights = default_weights(name)
        if weights is None:
            logger.info(
                "%s has no published weights; returning a randomly "
                "initialised model (pass weights=None to say so).",
                name,
            )
    if weights is None:
        kwargs = dict(overrides)
        if num_classes is not None:
            kwargs["num_classes"] = num_classes
        if input_shape is not None:
            kwargs["input_shape"] = tuple(input_shape)
        return spec.builder(**kwargs)
    weights = str(weights)
    if weights in entries:
        card = entries[weights]
        return _from_preset(
            card["path"], num_classes, input_shape, overrides, card
        )
    if weights.startswith(_URL_SCHEMES):
        if weights.endswith(".weights.h5"):
            path = download.fetch(weights, sha256=sha256)
        else:
            path = download.fetch_preset(weights)
    else:
        path = Path(weights).expanduser()
        if not path.exists():
            available = ", ".join(entries) or "none published"
            raise ValueError(
                f"Unknown weights {weights!r} for {name!r}: neither a "
                f"published entry (available: {available}), nor an existing "
                f"path, nor an https://, http:// or file:// URL."
            )
        if sha256 is not None and path.is_file():
            path = download.fetch(str(path), sha256=sha256)
    path = Path(path)
    if path.is_dir():
        card_path = path / "model_card.json"
        card = json.loads(card_path.read_text()) if card_path.exists() else {}
        return _from_preset(
            str(path), num_classes, input_shape, overrides, card
        )
    if not str(path).endswith(".weights.h5"):
        raise ValueError(
            f"Expected a `.weights.h5` file or a preset directory for "
            f"{name!r}. Received: {path}"
        )
    kwargs = dict(overrides)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    if input_shape is not None:
        kwargs["input_shape"] = tuple(input_shape)
    model = spec.builder(**kwargs)
    _load_weights_file(model, path, name)
    return model
