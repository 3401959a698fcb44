"""`load` and `info`: the zoo's front door.

The parts live in their own modules: where weights come from
(`keras_attention.zoo.weights.resolve_weights`), the preset-fit check
(`.fit`), the keyword checks (`.arguments`) and the errors (`.errors`);
their public names are importable from here too.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import keras_hub

from keras_attention.models.resnet import check_num_classes
from keras_attention.zoo import download, errors, peer_weights, peers
from keras_attention.zoo.arguments import (
    BACKBONE_OPTIONS,
    TASK_OPTIONS,
    check_overrides,
    options_with_weights,
    split_overrides,
)
from keras_attention.zoo.errors import *  # noqa: F403 (all the zoo's errors)
from keras_attention.zoo.errors import PresetError
from keras_attention.zoo.fit import check_preset_fits
from keras_attention.zoo.registry import (
    catalog_entry,
    default_weights,
    get_spec,
    published_weights,
)
from keras_attention.zoo.weights import (
    keras_load,
    load_weights_file,
    logger,
    resolve_weights,
)

__all__ = [
    *errors.__all__,
    "BACKBONE_OPTIONS",
    "TASK_OPTIONS",
    "check_overrides",
    "check_preset_fits",
    "info",
    "keras_load",
    "available_feature_keys",
    "load",
    "load_weights_file",
    "logger",
    "options_with_weights",
    "resolve_weights",
    "split_overrides",
]


def info(name: str) -> dict:
    """The model card of `name`.

    Returns a dict with the model's `name`, `task`, `family`, `attention`,
    `description`, `paper`, `input_shape`, parameter and MAC counts
    (`params`, `trainable_params`, `macs`; MACs of conv and dense layers,
    the papers' "FLOPs"), and `weights`: one entry per published weights
    file with its dataset, metrics, license, files (size, sha256),
    preprocessing and provenance; and `converted_weights`: the named
    weights converted from peers' public checkpoints
    (`keras_attention.zoo.peer_weights`, e.g. "imagenet"), each with
    `converted: True`, its source, license, published metric and
    preprocessing.

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
    card["converted_weights"] = {
        weights: peer_weights.card_entry(entry)
        for weights, entry in peer_weights.named_weights(name).items()
    }
    return card


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _read_preset_json(path: Path) -> dict:
    """A JSON file of a preset, or a `PresetError` naming it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise PresetError(f"Cannot read {path}: {error}", path=path) from error
    if not isinstance(data, dict):
        raise PresetError(
            f"Expected a JSON object in {path}. Received: {data!r:.100}",
            path=path,
        )
    return data


def _preset_head(path: Path, card) -> int | None:
    """Head size of a preset: from its model card, else its task.json."""
    if card and card.get("num_classes") is not None:
        return card["num_classes"]
    task = _read_json(path / "task.json")
    return (task.get("config") or {}).get("num_classes")


def _image_shape(path: Path, spec, inner: dict, input_shape) -> tuple:
    """`input_shape` checked against what the preset's weights need."""
    input_shape = tuple(input_shape)
    if spec.task != "image":
        return input_shape
    from keras_attention.models.resnet import check_input_shape

    data_format = inner.get("data_format", "channels_last")
    input_shape = check_input_shape(input_shape, data_format)
    axis = 0 if data_format == "channels_first" else -1
    saved = (inner.get("image_shape") or [None, None, None])[axis]
    if saved is not None and input_shape[axis] != saved:
        raise ValueError(
            f"Expected input_shape with {saved} channel(s), as the weights "
            f"of {path} have. Received: input_shape={input_shape}. The "
            f"preprocessor converts 1- and {saved}-channel images itself, "
            f"so pass {saved} channels (e.g. input_shape="
            f"{(*input_shape[: axis % 3], saved, *input_shape[axis % 3 + 1 :])}"
            ")."
        )
    return input_shape


def _deserialize(cls, path: Path, blame: Path, **kwargs):
    """`cls.from_preset(path, load_weights=False, **kwargs)`, with any
    error of Keras or keras-hub as a `PresetError` naming `blame`."""
    try:
        return cls.from_preset(str(path), load_weights=False, **kwargs)
    except download.WeightsIntegrityError:
        raise
    except Exception as error:  # Keras raises many types here.
        raise PresetError(
            f"Cannot build the model described by {blame}: "
            f"{type(error).__name__}: {error}",
            path=blame,
        ) from error


def _with_head(backbone, include_top, pooling, num_classes, task_options):
    """`backbone` as the model's builder would finish it."""
    from keras_attention.models.audio import add_audio_head
    from keras_attention.models.resnet import add_resnet_head
    from keras_attention.models.resnet_backbone import (
        AttentionResNetBackbone,
    )

    options = {
        key: task_options[value]
        for key, value in {**TASK_OPTIONS, "dtype": "dtype"}.items()
        if value in task_options
    }
    if num_classes is not None:
        options["num_classes"] = num_classes
    if isinstance(backbone, AttentionResNetBackbone):
        options.pop("clip_seconds", None)
        return add_resnet_head(
            backbone, include_top=include_top, pooling=pooling, **options
        )
    options.pop("preprocessor", None)
    return add_audio_head(
        backbone, include_top=include_top, pooling=pooling, **options
    )


def _from_preset(spec, path: Path, card, num_classes, input_shape, overrides):
    """The model of `spec` from the verified preset folder `path`."""
    config = _read_preset_json(path / "config.json")
    inner = config.get("config") or {}
    check_preset_fits(path, spec, config, card)
    overrides = dict(overrides)
    include_top = overrides.pop("include_top", True)
    pooling = overrides.pop("pooling", None)
    task_options, backbone_options = split_overrides(
        spec, path, inner, overrides
    )
    if input_shape is not None:
        backbone_options["image_shape"] = _image_shape(
            path, spec, inner, input_shape
        )
    has_task = (path / "task.json").is_file()
    if not include_top or not has_task:
        if include_top and num_classes is None:
            raise PresetError(
                f"The preset {path} has no classifier head (no task.json). "
                f"Pass num_classes= for a new head on its backbone, or "
                "include_top=False for the backbone alone.",
                path=path,
            )
        if not include_top and num_classes is not None:
            raise ValueError(
                "num_classes sets the size of a head: it needs "
                f"include_top=True. Received: num_classes={num_classes}, "
                "include_top=False."
            )
        backbone = _deserialize(
            keras_hub.models.Backbone,
            path,
            path / "config.json",
            **backbone_options,
        )
        load_weights_file(backbone, path / "model.weights.h5", spec.name)
        if "dtype" in backbone_options:
            task_options["dtype"] = backbone_options["dtype"]
        return _with_head(
            backbone, include_top, pooling, num_classes, task_options
        )

    _read_preset_json(path / "task.json")  # names the file if unreadable
    kwargs = dict(task_options)
    head = _preset_head(path, card)
    new_head = num_classes is not None and num_classes != head
    if new_head:
        kwargs["num_classes"] = num_classes
        kwargs.setdefault("class_names", None)
    if pooling is not None:
        if spec.task != "image":
            raise ValueError(
                f"pooling={pooling!r} needs include_top=False for "
                f"{spec.name!r}: its head has its own (PANNs) pooling."
            )
        kwargs["pooling"] = pooling
    extra = {
        k: backbone_options.pop(k)
        for k in BACKBONE_OPTIONS
        if k in backbone_options
    }
    if extra:
        # Settings that keras-hub forwards to the task, not the backbone.
        kwargs["backbone"] = _deserialize(
            keras_hub.models.Backbone,
            path,
            path / "config.json",
            **backbone_options,
            **extra,
        )
    if (card or {}).get("task") == "audio" or spec.task == "audio":
        # keras-hub 0.32 has no generic AudioClassifier: ours is the base
        # of the audio tasks and finds the subclass for the preset.
        from keras_attention.models.audio_classifier import AudioClassifier

        base = AudioClassifier
    else:
        base = keras_hub.models.ImageClassifier
    model = _deserialize(
        base, path, path / "task.json", **kwargs, **backbone_options
    )
    load_weights_file(model.backbone, path / "model.weights.h5", spec.name)
    if not new_head and (path / "task.weights.h5").is_file():
        keras_load(
            model.load_task_weights,
            path / "task.weights.h5",
            f"the head of {type(model).__name__} built from task.json",
        )
    if input_shape is not None:
        _resize_preprocessor(model, backbone_options["image_shape"])
    return model


def _resize_preprocessor(model, image_shape) -> None:
    """Makes the preset's image converter resize to `image_shape`, the
    shape the backbone was built for (it resized to the training size)."""
    converter = getattr(
        getattr(model, "preprocessor", None), "image_converter", None
    )
    if converter is None or converter.image_size is None:
        return
    data_format = getattr(converter, "data_format", "channels_last")
    spatial = (
        image_shape[1:] if data_format == "channels_first" else image_shape[:2]
    )
    if None in spatial:
        return
    converter.image_size = tuple(spatial)


def load(
    name: str,
    weights="default",
    num_classes: int | None = None,
    input_shape=None,
    sha256: str | None = None,
    *,
    classes: int | None = None,
    feature_extractor: bool = False,
    feature_keys=None,
    **overrides,
) -> keras.Model:
    """Returns a ready `keras.Model` from the zoo, compiled and fit-able.

    Every file is checked before Keras reads it: against the sizes and
    sha256s of the preset's `model_card.json` when it has one (all
    published presets do; a file's hash is computed once per process while
    it is unchanged), against `sha256` when given, and for its format (a
    Git LFS pointer or a truncated HDF5 file is named as such).

    Args:
        name: A registered model name (see `list_models()`).
        weights: Where the weights come from:
            - `"default"`: the model's default published weights, or random
              initialisation (with a log message) if it has none; a
              `ValueError` saying what to do when no zoo folder is found
              (`$KERAS_ATTENTION_ZOO`, see `keras_attention.zoo.registry`);
            - `None`: random initialisation;
            - the name of a published weights entry (see `info(name)`);
            - the name of converted peer weights (`info(name)
              ["converted_weights"]`, e.g. "imagenet", "audioset"):
              downloaded, converted and cached on first use, offline
              after that (see `keras_attention.zoo.peer_weights`);
            - a local keras-hub preset directory;
            - a local `.weights.h5` file for this architecture;
            - a torchvision or timm checkpoint (`.safetensors`, `.pth`),
              a URL of one, or `hf://org/repo` (e.g.
              `hf://timm/resnet50.a1_in1k`): converted by name, see
              `keras_attention.zoo.peers`;
            - an `https://`, `http://` or `file://` URL of a `.weights.h5`
              file or of a preset directory. Downloads are cached (see
              `keras_attention.zoo.download.cache_dir`), verified and
              written atomically.
            A preset must be the architecture of `name` (family, depth,
            attention); a preset without a head (no `task.json`) needs
            `num_classes` or `include_top=False`.
        num_classes: Size of the head, an integer from 1 to
            `keras_attention.models.resnet.MAX_NUM_CLASSES` (100,000). If
            it differs from the weights' head, the backbone weights load
            and a fresh head is built (the fine-tuning path).
        input_shape: Input shape of one example (e.g. `(64, 64, 3)`). With
            published image weights, the preprocessor then resizes images
            to this size (instead of the training size).
        sha256: Expected sha256 of the weights file (`model.weights.h5` of
            a preset).
        classes: `keras.applications`' name for `num_classes` (give one
            of them, or both equal).
        feature_extractor: Return a model whose output is a dict of named
            feature maps (see `keras_attention.models.features`) instead
            of the classifier; the weights load first.
        feature_keys: With `feature_extractor`, the keys to return (see
            `available_feature_keys`); None for all.
        **overrides: Other builder arguments (e.g. `dropout`,
            `classifier_activation`, `dtype`); unknown names raise. With
            a preset, the head and training settings (`include_top`,
            `pooling`, `classifier_activation`, `dropout`, `class_names`,
            `head_dtype`, `dtype`, `name`, and for audio `clip_seconds`,
            `block_dropout`, `spec_augment`) are honoured; arguments that
            change the architecture (e.g. `attention_config`,
            `sample_rate`) raise a `ValueError`.

    Raises:
        ValueError: unknown model or weights name (listing the valid ones),
            weights that do not fit the architecture (`PresetError` for a
            preset), a file that fails verification
            (`download.WeightsIntegrityError`: sha256, size, format, LFS
            pointer), or a bad argument.
        TypeError: an unknown keyword argument (`UnknownArgumentError`, a
            `ValueError` too).
        OSError: a download that failed (`download.WeightsDownloadError`)
            or an unusable cache (`download.CacheError`).

    Examples:
        >>> model = load("resnet18", weights=None, num_classes=10,
        ...              input_shape=(32, 32, 3))
        >>> model.output_shape
        (None, 10)
    """
    if classes is not None:
        if num_classes is not None and classes != num_classes:
            raise ValueError(
                "`classes` is another name for `num_classes`: give one, or "
                f"both equal. Received: classes={classes!r}, "
                f"num_classes={num_classes!r}"
            )
        num_classes = classes
    if feature_keys is not None and not feature_extractor:
        raise ValueError(
            "`feature_keys` chooses the outputs of a feature extractor: "
            "pass `feature_extractor=True` with it."
        )
    model = _load(name, weights, num_classes, input_shape, sha256, overrides)
    if not feature_extractor:
        return model
    from keras_attention.models.features import feature_extractor as extract

    return extract(model, feature_keys)


def available_feature_keys(name: str) -> list[str]:
    """The feature keys `load(name, feature_extractor=True)` offers."""
    from keras_attention.models.features import available_feature_keys as keys

    return keys(get_spec(name).builder())


def _load(name, weights, num_classes, input_shape, sha256, overrides):
    """`load` without its aliases and feature extraction."""
    spec = get_spec(name)
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
    check_overrides(spec, overrides)
    path, card = resolve_weights(name, weights, sha256=sha256)
    kwargs = dict(overrides)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    if input_shape is not None:
        kwargs["input_shape"] = tuple(input_shape)
    if path is None:
        return spec.builder(**kwargs)
    if path.is_dir():
        return _from_preset(
            spec, path, card, num_classes, input_shape, overrides
        )
    if peers.is_checkpoint(path):
        return peers.load_checkpoint(name, path, **kwargs)
    if not str(path).endswith(".weights.h5"):
        raise ValueError(
            f"Expected a `.weights.h5` file or a preset directory for "
            f"{name!r}. Received: {path}"
        )
    model = spec.builder(**kwargs)
    load_weights_file(model, path, name)
    return model
