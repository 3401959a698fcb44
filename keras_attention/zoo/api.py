"""`load` and `info`: the zoo's front door."""

from __future__ import annotations

import inspect
import json
import logging
import math
from pathlib import Path

import keras
import keras_hub

from keras_attention.models.resnet import check_num_classes
from keras_attention.zoo import download
from keras_attention.zoo.registry import (
    MODEL_CARD_FILE,
    catalog_entry,
    default_weights,
    get_spec,
    list_models,
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


class PresetError(ValueError):
    """A preset folder cannot be loaded as asked.

    Raised when the preset is another architecture than the requested
    model, has no classifier head where one is needed, or holds a
    `task.json` / `config.json` that Keras cannot (or, in safe mode, will
    not) deserialize.

    Attributes:
        path: the preset folder, or the file of it that failed.
    """

    def __init__(self, message: str, *, path) -> None:
        super().__init__(message)
        self.path = str(path)


# Families of the backbones a preset's config.json can name.
_FAMILY_LABELS = {
    "AttentionResNetBackbone": "image ResNet",
    "AudioCNNBackbone": "audio CNN",
    "AudioResNetBackbone": "audio ResNet",
}
_TASKS_OF_BACKBONES = {
    "AttentionResNetBackbone": "image",
    "AudioCNNBackbone": "audio",
    "AudioResNetBackbone": "audio",
}
# Builder arguments `load` honours with pretrained weights: they go to the
# task (head) config, or to the backbone config (training-time settings
# that hold no weights).
_TASK_OPTIONS = {
    "classifier_activation": "activation",
    "dropout": "dropout",
    "class_names": "class_names",
    "clip_seconds": "clip_seconds",
    "head_dtype": "head_dtype",
    "name": "name",
    "preprocessor": "preprocessor",
}
_BACKBONE_OPTIONS = ("block_dropout", "spec_augment")


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


def _backbone_class(config: dict) -> str:
    registered = config.get("registered_name") or ""
    return registered.rpartition(">")[2] or str(config.get("class_name"))


def _matches(layout: dict | None, class_name: str, config: dict) -> bool:
    return (
        layout is not None
        and layout["class_name"] == class_name
        and all(config.get(k) == v for k, v in layout["config"].items())
    )


def _describe_preset(class_name: str, config: dict) -> tuple[str, str]:
    """`(model name, label)` of a preset's backbone, e.g.
    `("cnn10", "audio CNN10")`, found among the registered models."""
    attention = config.get("attention")
    fits = [
        spec
        for spec in map(get_spec, list_models())
        if _matches(spec.architecture, class_name, config)
    ]
    for spec in fits:
        if spec.attention == attention:
            return spec.name, spec.architecture["label"]
    if fits:
        return "an unregistered model", fits[0].architecture["label"]
    label = _FAMILY_LABELS.get(class_name, class_name)
    layout = {
        k: config[k]
        for k in (
            "block_type",
            "stackwise_num_blocks",
            "stackwise_num_filters",
            "stackwise_pool_sizes",
        )
        if k in config
    }
    return "an unregistered model", f"{label} {layout}"


def _check_preset_fits(path: Path, spec, config: dict, card: dict) -> None:
    """Raises `PresetError` unless the backbone of the preset at `path`
    (its parsed `config.json`) is the architecture of `spec`: family,
    task, stage layout and attention. `from_preset` would otherwise build
    whatever the preset holds under the requested name."""
    class_name = _backbone_class(config)
    inner = config.get("config") or {}
    layout = spec.architecture
    differ = []
    if layout is not None:
        if layout["class_name"] != class_name:
            differ.append("family")
        task = card.get("task") or _TASKS_OF_BACKBONES.get(class_name)
        if task is not None and task != spec.task:
            differ.append("task")
        if not _matches(layout, class_name, inner):
            differ.append("depth")
    attention = inner.get("attention")
    if "attention" in inner and attention != spec.attention:
        differ.append("attention")
    if not differ:
        return
    preset_name, preset_label = _describe_preset(class_name, inner)
    if not preset_name.startswith("an "):
        preset_name = f"a {preset_name}"
    wanted = layout["label"] if layout else spec.family
    what = (
        ", ".join(differ[:-1]) + " and " + differ[-1]
        if len(differ) > 1
        else differ[0]
    )
    raise PresetError(
        f"The preset {path} is {preset_name} ({preset_label}, attention="
        f"{attention!r}); requested {spec.name} ({wanted}, attention="
        f"{spec.attention!r}): {what} differ"
        f"{'s' if len(differ) == 1 else ''}. Load it under its own model "
        "name (see keras_attention.zoo.list_models()).",
        path=path,
    )


def _check_overrides(spec, overrides: dict) -> None:
    """Raises `UnknownArgumentError` for keyword arguments that the
    model's builder does not take."""
    try:
        params = inspect.signature(spec.builder).parameters
    except (TypeError, ValueError):  # a builder without a signature
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    accepted = sorted(
        n
        for n, p in params.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        and n not in ("num_classes", "input_shape")
    )
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise UnknownArgumentError(
            f"load({spec.name!r}) got unknown keyword argument(s): "
            f"{', '.join(unknown)}. It takes weights, num_classes, "
            f"input_shape, sha256 and: {', '.join(accepted)}."
        )


class UnknownArgumentError(TypeError, ValueError):
    """`load` got a keyword argument the model's builder does not take."""


def _split_overrides(spec, path: Path, inner: dict, overrides: dict):
    """`(task options, backbone options)` for loading the preset at `path`
    (backbone config `inner`), or a `ValueError` for options that change
    the architecture the weights were trained for."""
    task, backbone = {}, {}
    refused = []
    for key, value in overrides.items():
        if key in _TASK_OPTIONS:
            task[_TASK_OPTIONS[key]] = value
        elif key in _BACKBONE_OPTIONS or key == "dtype":
            backbone[key] = value
        elif key in inner and inner[key] == value:
            continue  # what the preset has anyway
        else:
            refused.append(key)
    if refused:
        raise ValueError(
            f"Cannot honour {', '.join(sorted(refused))} with the weights "
            f"of {path}: they change the architecture or front end the "
            "weights were trained with. Pass weights=None for a new model "
            "with these settings, or leave them out. With weights, load "
            "takes num_classes, input_shape, sha256 and: "
            f"{', '.join(_options_with_weights(spec))}."
        )
    return task, backbone


def _options_with_weights(spec) -> list[str]:
    known = {*_TASK_OPTIONS, *_BACKBONE_OPTIONS, "dtype"}
    known |= {"include_top", "pooling"}
    try:
        params = inspect.signature(spec.builder).parameters
    except (TypeError, ValueError):
        return sorted(known)
    return sorted(known & set(params))


def _image_shape(path: Path, spec, inner: dict, input_shape) -> tuple:
    """`input_shape` checked against what the preset's weights need."""
    input_shape = tuple(input_shape)
    if spec.task != "image":
        return input_shape
    from keras_attention.models.resnet import _check_input_shape

    data_format = inner.get("data_format", "channels_last")
    input_shape = _check_input_shape(input_shape, data_format)
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


def _keras_load(load, path: Path, what: str) -> None:
    """`load(path)`, with any error of Keras as a `ValueError` naming the
    file."""
    try:
        load(str(path))
    except Exception as error:  # Keras raises several types here.
        raise ValueError(
            f"The weights file {path} does not fit {what} (another "
            f"architecture, head size or input channels?). Keras said: "
            f"{error}"
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
        for key, value in {**_TASK_OPTIONS, "dtype": "dtype"}.items()
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


def _from_preset(spec, path: Path, num_classes, input_shape, overrides):
    """The model of `spec` from the verified preset folder `path`."""
    config = _read_preset_json(path / "config.json")
    inner = config.get("config") or {}
    card = _read_json(path / MODEL_CARD_FILE)
    _check_preset_fits(path, spec, config, card)
    overrides = dict(overrides)
    include_top = overrides.pop("include_top", True)
    pooling = overrides.pop("pooling", None)
    task_options, backbone_options = _split_overrides(
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
        _load_weights_file(backbone, path / "model.weights.h5", spec.name)
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
        for k in _BACKBONE_OPTIONS
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
    _load_weights_file(model.backbone, path / "model.weights.h5", spec.name)
    if not new_head and (path / "task.weights.h5").is_file():
        _keras_load(
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
    _keras_load(model.load_weights, path, f"model {name!r}")


def _preset_pins(sha256) -> dict | None:
    # `sha256` of a preset is that of its weights file.
    return {"model.weights.h5": sha256} if sha256 is not None else None


def load(
    name: str,
    weights="default",
    num_classes: int | None = None,
    input_shape=None,
    sha256: str | None = None,
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
              initialisation (with a log message) if it has none;
            - `None`: random initialisation;
            - the name of a published weights entry (see `info(name)`);
            - a local keras-hub preset directory;
            - a local `.weights.h5` file for this architecture;
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
    spec = get_spec(name)
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
    _check_overrides(spec, overrides)
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
        path = download.fetch_preset(
            entries[weights]["path"],
            sha256s=_preset_pins(sha256),
            manifest=MODEL_CARD_FILE,
        )
    elif weights.startswith(_URL_SCHEMES):
        if weights.endswith(".weights.h5"):
            path = download.fetch(weights, sha256=sha256)
        else:
            path = download.fetch_preset(
                weights,
                files=(
                    *download.PRESET_REQUIRED_FILES,
                    *download.PRESET_OPTIONAL_FILES,
                ),
                sha256s=_preset_pins(sha256),
                manifest=MODEL_CARD_FILE,
            )
    else:
        path = Path(weights).expanduser()
        if not path.exists():
            available = ", ".join(entries) or "none published"
            raise ValueError(
                f"Unknown weights {weights!r} for {name!r}: neither a "
                f"published entry (available: {available}), nor an existing "
                f"path, nor an https://, http:// or file:// URL."
            )
        if path.is_dir():
            path = download.fetch_preset(
                path, sha256s=_preset_pins(sha256), manifest=MODEL_CARD_FILE
            )
        else:
            path = download.fetch(path, sha256=sha256)
    path = Path(path)
    if path.is_dir():
        return _from_preset(spec, path, num_classes, input_shape, overrides)
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
