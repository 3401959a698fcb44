"""`load` and `info`: the zoo's front door."""

from __future__ import annotations

import json
import logging
import math
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

    Examples:
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


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _preset_head(path: str, card) -> int | None:
    """Head size of a preset: from its model card, else its task.json."""
    if card and card.get("num_classes") is not None:
        return card["num_classes"]
    task = _read_json(Path(path) / "task.json")
    return (task.get("config") or {}).get("num_classes")


def _check_preset_fits(path: Path, spec) -> None:
    """Raises if the preset's backbone is another attention variant than
    `spec` (`from_preset` would silently build the preset's one)."""
    config = (_read_json(path / "config.json").get("config")) or {}
    if "attention" in config and config["attention"] != spec.attention:
        raise ValueError(
            f"The preset {path} holds a backbone with attention="
            f"{config['attention']!r}, but {spec.name!r} has attention="
            f"{spec.attention!r}. Load it under the matching model name "
            f"(see keras_attention.zoo.list_models())."
        )


def _is_audio_preset(path) -> bool:
    """Whether a local preset's backbone is one of our audio backbones (for
    presets without a model card)."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return False
    name = json.loads(config.read_text()).get("registered_name", "")
    return name in (
        "keras_attention>AudioCNNBackbone",
        "keras_attention>AudioResNetBackbone",
    )


def _from_preset(path: str, num_classes, input_shape, overrides, card):
    kwargs = dict(overrides)
    head = _preset_head(path, card)
    if num_classes is not None and num_classes != head:
        # A new head: keras-hub then loads the backbone weights only.
        kwargs["num_classes"] = num_classes
        kwargs.setdefault("class_names", None)
    if input_shape is not None:
        kwargs["image_shape"] = tuple(input_shape)
    if (card or {}).get("task") == "audio" or _is_audio_preset(path):
        # keras-hub 0.32 has no generic AudioClassifier: ours is the base
        # of the audio tasks and finds the subclass for the preset.
        from keras_attention.models.audio_classifier import AudioClassifier

        base = AudioClassifier
    else:
        base = keras_hub.models.ImageClassifier
    try:
        return base.from_preset(path, **kwargs)
    except ValueError:
        # Not a task preset (e.g. a backbone-only one): return the backbone.
        if num_classes is None and not kwargs:
            return keras_hub.models.Backbone.from_preset(path)
        raise


def _size(shape: tuple) -> int:
    return math.prod(shape)


def _h5_variable_shapes(path: Path) -> list[tuple]:
    """Shapes of the model variables in a Keras `.weights.h5` file (the
    `layers/` group; optimizer state is left out)."""
    import h5py

    shapes = []
    with h5py.File(path, "r") as f:
        if "layers" not in f:
            return shapes
        f["layers"].visititems(
            lambda _, obj: (
                shapes.append(tuple(obj.shape))
                if isinstance(obj, h5py.Dataset)
                else None
            )
        )
    return shapes


def _load_weights_file(model: keras.Model, path: Path, name: str) -> None:
    # Keras matches variables by layer type and order, and ignores
    # variables of the file that the model lacks: e.g. bam_resnet18 weights
    # load into resnet18 without an error. Compare the variables first.
    try:
        in_file = sorted(_h5_variable_shapes(path))
    except OSError as error:
        raise ValueError(
            f"Could not read the weights file {path}: {error}"
        ) from error
    in_model = sorted(tuple(w.shape) for w in model.weights)
    if in_file != in_model:
        raise ValueError(
            f"The weights file {path} does not fit model {name!r}: it holds "
            f"{len(in_file)} variables ({sum(map(_size, in_file)):,} values)"
            f", the model has {len(in_model)} "
            f"({sum(map(_size, in_model)):,} values). It was saved from "
            "another architecture, head size (pass `num_classes`) or input "
            "channel count (pass `input_shape`)."
        )
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

    Examples:
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
        _check_preset_fits(path, spec)
        card = _read_json(path / "model_card.json")
        # A preset without a model card: the task comes from the registry.
        card.setdefault("task", spec.task)
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
