"""The `keras-attention` command line.

    keras-attention --version
    keras-attention list [PATTERN] [--task image|audio] [--pretrained]
    keras-attention info NAME [--json]
    keras-attention catalog --write | --check [NAME ...]
    keras-attention demo [ARGS ...]
    keras-attention predict FILE [FILE ...] --model NAME [--weights W]
                            [--top-k 5]
    keras-attention explain FILE --model NAME [--out FIG.png] [--weights W]
                            [--class-index I] [--top-k 3] [--layer L]

Subcommands are registered in `SUBCOMMANDS`: a name mapped to a function
that receives the argparse sub-parsers object, adds its parser and sets
`handler=<function(args) -> int>` on it. A new subcommand (e.g. `explain`)
is one more builder decorated with `@register_subcommand(name)`.

Errors the user can fix (unknown model, a missing, unreadable or corrupt
input or weights file, a failed download, an unusable cache directory,
weights that do not fit) print one line on stderr, naming the file, and
exit with status 2: any ValueError or OSError. `predict` reports each bad
input file on its own line, goes on with the others and exits with 2 at
the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from keras_attention.version import __version__

# TensorFlow's C++ start-up logging is noise on a command line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROG = "keras-attention"
EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
# Kept here too so that an audio file is recognised (and a clear error
# given) even when the `audio` extra is not installed.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".opus", ".aiff")

WEIGHTS_HELP = (
    "published weights name, preset directory, .weights.h5 file, URL, or "
    "'none' for random weights (default: the model's default weights)"
)

SubcommandBuilder = Callable[[argparse._SubParsersAction], None]
SUBCOMMANDS: dict[str, SubcommandBuilder] = {}


class CLIError(ValueError):
    """An error reported as one line on stderr with exit status 2 (a
    ValueError, so library callers of the shared helpers catch it as one)."""


def register_subcommand(name: str):
    """Decorator adding a subcommand builder to `SUBCOMMANDS`.

    The builder receives the sub-parsers object, must add a parser named
    `name` and set its `handler` default to a function `(args) -> int`.
    """

    def decorator(builder: SubcommandBuilder) -> SubcommandBuilder:
        SUBCOMMANDS[name] = builder
        return builder

    return decorator


# ------------------------------------------------------------------ list


def _millions(value) -> str:
    return f"{value / 1e6:.2f}" if isinstance(value, int) else "?"


def _giga(value) -> str:
    return f"{value / 1e9:.2f}" if isinstance(value, int) else "?"


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [
        max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))
    ]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True))
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
        )
    return "\n".join(line.rstrip() for line in lines)


def _list(args) -> int:
    from keras_attention.zoo import registry

    names = registry.list_models(
        args.pattern,
        pretrained=True if args.pretrained else None,
        task=args.task,
    )
    rows = []
    for name in names:
        spec = registry.get_spec(name)
        entry = registry.catalog_entry(name)
        weights = ", ".join(registry.published_weights(name)) or "-"
        rows.append(
            [
                name,
                spec.task,
                _millions(entry.get("trainable_params")),
                _giga(entry.get("macs")),
                weights,
            ]
        )
    if args.json:
        keys = ["name", "task", "params_m", "macs_g", "weights"]
        print(json.dumps([dict(zip(keys, r, strict=True)) for r in rows]))
        return EXIT_OK
    if not rows:
        print("No model matches.", file=sys.stderr)
        return EXIT_OK
    print(_table(rows, ["name", "task", "params (M)", "MACs (G)", "weights"]))
    return EXIT_OK


@register_subcommand("list")
def _add_list(subparsers) -> None:
    p = subparsers.add_parser(
        "list",
        help="list the models of the zoo",
        description=(
            "List registered models. 'params (M)' counts trainable "
            "parameters (as the papers do) and 'MACs (G)' multiply-"
            "accumulates of one example at the default input size, both "
            "from zoo/catalog.json."
        ),
    )
    p.add_argument("pattern", nargs="?", help="shell pattern, e.g. 'cbam_*'")
    p.add_argument("--task", choices=("image", "audio"))
    p.add_argument(
        "--pretrained",
        action="store_true",
        help="only models with published weights",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_list)


# ------------------------------------------------------------------ info


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _weights_summary(entry: dict) -> list[tuple[str, str]]:
    """The fields of a published model card worth a line each; the whole
    card is in `info NAME --json`."""
    rows = []
    dataset = entry.get("dataset")
    if isinstance(dataset, dict):
        rows.append(("dataset", dataset.get("name", dataset.get("key", "?"))))
    elif dataset:
        rows.append(("dataset", str(dataset)))
    names = entry.get("class_names")
    if names:
        shown = ", ".join(map(str, names[:6]))
        more = f", ... ({len(names)} in all)" if len(names) > 6 else ""
        rows.append(("classes", f"{len(names)}: {shown}{more}"))
    elif entry.get("num_classes"):
        rows.append(("classes", str(entry["num_classes"])))
    metrics = entry.get("metrics")
    if isinstance(metrics, dict):
        scalars = {
            k: v
            for k, v in metrics.items()
            if isinstance(v, int | float)
            and not isinstance(v, bool)
            and k not in ("seconds",)
        }
        if scalars:
            rows.append(("metrics", _format_value(scalars)))
    size = (entry.get("preprocessing") or {}).get("input_size")
    if size:
        rows.append(("input size", "x".join(map(str, size))))
    if entry.get("license"):
        rows.append(("license", _format_value(entry["license"])))
    if entry.get("epochs") is not None:
        rows.append(("epochs", str(entry["epochs"])))
    files = entry.get("files")
    if isinstance(files, dict):
        total = sum(
            f.get("size", 0) for f in files.values() if isinstance(f, dict)
        )
        rows.append(("files", f"{len(files)} ({total / 1e6:.1f} MB)"))
    if entry.get("path"):
        rows.append(("path", entry["path"]))
    return rows


def _format_card(card: dict) -> str:
    lines = [f"{card['name']}: {card.get('description', '')}"]
    fields = [
        ("task", card.get("task")),
        ("family", card.get("family")),
        ("attention", card.get("attention") or "none"),
        ("paper", card.get("paper")),
        ("input", f"{tuple(card.get('input_shape', ()))}"),
    ]
    if "trainable_params" in card:
        fields.append(
            (
                "params",
                f"{card['trainable_params']:,} trainable "
                f"({card['params']:,} with batch-norm statistics)",
            )
        )
        fields.append(
            (
                "MACs",
                f"{card['macs'] / 1e9:.3f} G at "
                f"{tuple(card.get('input_shape', ()))}",
            )
        )
    else:
        fields.append(("params", "not in zoo/catalog.json yet"))
    fields.append(("default weights", card.get("default_weights") or "none"))
    width = max(len(k) for k, _ in fields)
    lines += [f"  {k.ljust(width)}  {str(v).strip()}" for k, v in fields]
    weights = card.get("weights") or {}
    if not weights:
        lines.append("  weights: none published (random initialisation)")
    for weights_name, entry in weights.items():
        default = " (default)" if entry.get("default") else ""
        lines.append(f"  weights {weights_name!r}{default}:")
        rows = _weights_summary(entry)
        width = max((len(k) for k, _ in rows), default=0)
        lines += [f"    {k.ljust(width)}  {v}" for k, v in rows]
    if weights:
        lines.append(
            f"  (whole model cards: {PROG} info {card['name']} --json)"
        )
    return "\n".join(lines)


def _info(args) -> int:
    from keras_attention import zoo

    card = zoo.info(args.name)
    if args.json:
        print(json.dumps(card, indent=2, sort_keys=True, default=str))
    else:
        print(_format_card(card))
    return EXIT_OK


@register_subcommand("info")
def _add_info(subparsers) -> None:
    p = subparsers.add_parser("info", help="print a model card")
    p.add_argument("name", help="model name, see `keras-attention list`")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_info)


# --------------------------------------------------------------- catalog


def _catalog(args) -> int:
    from keras_attention.zoo import catalog

    def progress(name, entry):
        print(
            f"{name}: {entry['trainable_params']:,} trainable params, "
            f"{entry['macs'] / 1e9:.3f} GMACs",
            file=sys.stderr,
        )

    if args.write:
        path = catalog.write_catalog(
            names=args.names or None, progress=progress
        )
        print(f"Wrote {path}")
        return EXIT_OK
    mismatches = catalog.check_catalog(args.names or None)
    for m in mismatches:
        print(
            f"{m['name']}: {m['field']}: catalog {m['catalog']}, "
            f"computed {m['computed']}"
        )
    if mismatches:
        print(
            f"{len(mismatches)} mismatch(es); run `{PROG} catalog --write`.",
            file=sys.stderr,
        )
        return EXIT_MISMATCH
    print(f"{catalog.catalog_path()} is up to date.")
    return EXIT_OK


@register_subcommand("catalog")
def _add_catalog(subparsers) -> None:
    p = subparsers.add_parser(
        "catalog",
        help="regenerate or verify zoo/catalog.json",
        description=(
            "Compute parameter and MAC counts of the registered models at "
            "their default input shape. --check exits 1 on a mismatch."
        ),
    )
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    p.add_argument("names", nargs="*", help="only these models (default: all)")
    p.set_defaults(handler=_catalog)


# ------------------------------------------------------------------ demo


def demo_path() -> Path:
    import keras_attention

    return Path(keras_attention.__file__).resolve().parents[1] / (
        "training/demo.py"
    )


def _demo(args) -> int:
    path = demo_path()
    if not path.is_file():
        raise CLIError(
            f"The demo script {path} is not there. The demo runs from a "
            "source checkout of keras-attention (git clone, then "
            "`make demo`)."
        )
    spec = importlib.util.spec_from_file_location(
        "keras_attention_training_demo", path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "main"):
        raise CLIError(f"{path} has no main() function.")
    if inspect.signature(module.main).parameters:
        result = module.main(list(args.extra_args))
    else:
        result = module.main()
    return result if isinstance(result, int) else EXIT_OK


@register_subcommand("demo")
def _add_demo(subparsers) -> None:
    # Every argument after `demo` (--help included) goes to the demo's own
    # parser: see `main`.
    p = subparsers.add_parser(
        "demo",
        help="run training/demo.py (from a source checkout)",
        add_help=False,
    )
    p.set_defaults(handler=_demo, passes_unknown_args=True)


# --------------------------------------------------------------- predict


def _weights_card(name: str, weights) -> dict:
    """The model card of the weights used, or {} when there is none."""
    from keras_attention.zoo import registry

    entries = registry.published_weights(name)
    if weights == "default":
        weights = registry.default_weights(name)
    if weights is None:
        return {}
    if weights in entries:
        return entries[weights]
    path = Path(str(weights)).expanduser()
    card_path = path / registry.MODEL_CARD_FILE
    if path.is_dir() and card_path.is_file():
        return json.loads(card_path.read_text())
    return {}


def _card_value(card: dict, key: str):
    if key in card:
        return card[key]
    return (card.get("preprocessing") or {}).get(key)


def _head_activation(model) -> str | None:
    activation = getattr(model, "activation", None)
    if activation is None:
        return None
    if callable(activation):
        activation = getattr(activation, "__name__", str(activation))
    return None if activation == "linear" else str(activation)


def _probabilities(model, outputs):
    import numpy as np

    outputs = np.asarray(outputs, dtype="float64")
    activation = _head_activation(model)
    if activation is None:  # logits
        shifted = outputs - outputs.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)
    return outputs


def _fixed_spatial_size(model) -> tuple[int, int] | None:
    backbone = getattr(model, "backbone", model)
    shape = getattr(backbone, "image_shape", None)
    if shape is None:
        return None
    data_format = getattr(backbone, "data_format", "channels_last")
    spatial = shape[1:] if data_format == "channels_first" else shape[:2]
    if any(s is None for s in spatial):
        return None
    return tuple(int(s) for s in spatial)


# What Pillow raises for a file it cannot decode (besides
# DecompressionBombError): truncated and corrupt files give OSError,
# ValueError, SyntaxError or EOFError depending on the format.
IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError)
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _bit_depth_scale(image):
    """An 8-bit "L" image from a 16-bit ("I;16*"), 32-bit ("I") or float
    ("F") one: values scaled from their bit depth's range to 0..255."""
    import numpy as np
    from PIL import Image

    values = np.asarray(image)
    if image.mode == "F":
        top = 1.0  # floats are taken as 0..1
    elif image.mode.startswith("I;16") or image.format == "PNG":
        top = 65535.0  # PNG's "I" images are 16-bit
    else:
        top = float(2**31 - 1)
    scaled = np.clip(values.astype("float64") * (255.0 / top), 0, 255)
    return Image.fromarray(np.round(scaled).astype("uint8"), mode="L")


def _to_8bit(image):
    """`image` as an 8-bit "L" or "RGB" image. Transparency (an alpha
    channel, a palette's or a key colour's) is composited on white."""
    from PIL import Image

    if image.mode == "F" or image.mode.startswith("I"):
        return _bit_depth_scale(image)
    transparent = image.mode in _ALPHA_MODES or "transparency" in image.info
    if transparent:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        composite = Image.alpha_composite(white, rgba).convert("RGB")
        gray = image.mode in ("LA", "La", "L", "1")
        return composite.convert("L") if gray else composite
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, RGBX...


def read_image(path, channels: int = 3, size=None, max_size=None):
    """An image file as a float32 `(H, W, channels)` array of 0..255 values,
    the one conversion of `predict` and `explain`.

    Any Pillow mode is turned into 8-bit gray or RGB first: 16-bit
    ("I;16", "I;16B"; a PNG's "I"), 32-bit ("I") and float ("F", taken as
    0..1) images are scaled from their bit depth's range to 0..255 (not
    clipped at 255); palette, "1", "CMYK" and other modes are converted;
    transparent pixels ("RGBA", "LA", "PA", a palette's or a key colour's
    transparency) are composited on white. Then the image is converted to
    `channels` (1: luma, 3: RGB).

    Args:
        path: The image file.
        channels: 1 or 3.
        size: `(height, width)` to resize to (bilinear), or None.
        max_size: Without `size`, the longest side is scaled down to at most
            this (keeping the aspect ratio), or None.

    Raises:
        CLIError: the file cannot be decoded (the message names it).
    """
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as opened:
            if max_size and not size:
                opened.draft("RGB", (max_size, max_size))  # JPEG: decode small
            opened.load()  # Pillow decodes lazily: errors surface here.
            image = _to_8bit(opened)
            image = image.convert("L" if channels == 1 else "RGB")
    except (*IMAGE_ERRORS, Image.DecompressionBombError) as error:
        raise CLIError(f"Could not read image {path}: {error}") from error
    if size:
        height, width = (int(s) for s in size)
        if image.size != (width, height):
            image = image.resize((width, height), Image.BILINEAR)
    elif max_size and max(image.size) > max_size:
        image.thumbnail((max_size, max_size), Image.BILINEAR)
    array = np.asarray(image, dtype="float32")
    return array[..., None] if array.ndim == 2 else array


def image_channels(model) -> int:
    """The channel count (1 or 3) the model's images have; 3 when the model
    does not tell."""
    backbone = getattr(model, "backbone", model)
    shape = getattr(backbone, "image_shape", None)
    if not shape:
        return 3
    data_format = getattr(backbone, "data_format", "channels_last")
    count = shape[0] if data_format == "channels_first" else shape[-1]
    return 1 if count == 1 else 3


def _image_batch(path: Path, model, card: dict, max_size=None):
    import numpy as np

    size = _card_value(card, "input_size")
    if size is None:
        size = _fixed_spatial_size(model)
    array = read_image(path, image_channels(model), size, max_size)
    backbone = getattr(model, "backbone", model)
    if getattr(backbone, "data_format", None) == "channels_first":
        array = np.transpose(array, (2, 0, 1))
    return array[None]


def _audio_sample_rate(model, card: dict) -> int | None:
    rate = _card_value(card, "sample_rate")
    if rate:
        return int(rate)
    candidates = [model, getattr(model, "backbone", None)]
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is not None:
        candidates += [
            preprocessor,
            getattr(preprocessor, "audio_converter", None),
        ]
    for obj in candidates:
        if obj is None:
            continue
        for attr in ("sample_rate", "sampling_rate"):
            value = getattr(obj, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        try:
            config = obj.get_config()
        except Exception:  # not every object has a config
            continue
        for attr in ("sample_rate", "sampling_rate"):
            if isinstance(config.get(attr), int):
                return config[attr]
    return None


def _audio_windows(waveform, length: int | None):
    """Splits a waveform into `length`-sample windows (the last one
    zero-padded) for a fixed-length model; one window otherwise."""
    import numpy as np

    if length is None:
        return waveform[None]
    count = max(1, -(-len(waveform) // length))
    padded = np.zeros(count * length, dtype="float32")
    padded[: len(waveform)] = waveform
    return padded.reshape(count, length)


def _audio_batch(path: Path, model, card: dict, name: str, window_seconds=None):
    from keras_attention.zoo import registry

    rate = _audio_sample_rate(model, card)
    if rate is None:
        raise CLIError(
            f"Cannot tell the sample rate of {name!r}: neither its model "
            "card nor its config has a `sample_rate`."
        )
    try:
        from keras_attention.audio import load_audio
    except ImportError as error:
        raise CLIError(
            "Reading audio needs the `audio` extra: pip install "
            f"'keras-attention[audio]' ({error})."
        ) from error
    try:
        waveform = load_audio(path, sample_rate=rate)
    except (OSError, ValueError) as error:
        raise CLIError(f"Could not read audio {path}: {error}") from error
    backbone = getattr(model, "backbone", model)
    input_shape = getattr(backbone, "input_shape", None)
    if not isinstance(input_shape, tuple):  # several inputs, or unknown
        input_shape = (None, *registry.get_spec(name).input_shape)
    # A (batch, samples) waveform input with a fixed length is fed in
    # windows; any other input takes the whole waveform, or windows of
    # `window_seconds` when it is longer.
    length = input_shape[1] if len(input_shape) == 2 else None
    if length is None and window_seconds:
        span = max(1, int(window_seconds * rate))
        length = span if len(waveform) > span else None
    return _audio_windows(waveform.astype("float32"), length)


def class_labels(
    model, count: int, card: dict | None = None, fallback: str = "{}"
) -> list[str]:
    """The `count` class names of the model (or of its model card), else
    `fallback.format(i)` for class i."""
    candidates = (
        getattr(model, "class_names", None),
        (card or {}).get("class_names"),
    )
    for names in candidates:
        if names and len(names) == count:
            return [str(n) for n in names]
    return [fallback.format(i) for i in range(count)]


def check_input(file, model_name: str) -> tuple[Path, str]:
    """`(path, kind)` of an input file for zoo model `model_name`: the file
    must exist and be an image or audio file (by its extension) that fits
    the model's task ("image" or "audio")."""
    from keras_attention.zoo import registry

    spec = registry.get_spec(model_name)
    path = Path(file)
    if path.is_dir():
        raise CLIError(f"{file} is a directory, not an image or audio file.")
    if not path.is_file():
        raise CLIError(f"No such file: {file}")
    suffix = path.suffix.lower()
    if suffix in AUDIO_EXTENSIONS:
        kind = "audio"
    elif suffix in IMAGE_EXTENSIONS:
        kind = "image"
    else:
        raise CLIError(
            f"Cannot tell whether {file} is an image or audio file. "
            f"Expected one of {IMAGE_EXTENSIONS + AUDIO_EXTENSIONS}."
        )
    if kind != spec.task:
        audio = registry.list_models(task="audio")
        hint = (
            f" Audio models: {', '.join(audio)}."
            if audio
            else " No audio model is registered yet."
        )
        if kind == "image":
            hint = " Image models: see `keras-attention list --task image`."
        raise CLIError(
            f"{file} is an {kind} file but {model_name!r} is an "
            f"{spec.task} model.{hint}"
        )
    return path, kind


def _one_line(error, limit: int = 600) -> str:
    """An exception's message on one line (Keras's deserialisation errors
    span several, with whole configs), shortened to `limit` characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cache_problem(error: OSError) -> str | None:
    """A clearer message when `error` comes from a KERAS_ATTENTION_CACHE
    that is not a usable directory (a file, or a path under one)."""
    from keras_attention.zoo.download import CACHE_ENV_VAR

    cache = os.environ.get(CACHE_ENV_VAR, "").strip()
    filename = getattr(error, "filename", None)
    if not cache or filename is None:
        return None
    cache_path = Path(cache).expanduser()
    filename = Path(str(filename))
    if filename != cache_path and cache_path not in filename.parents:
        return None
    return (
        f"{CACHE_ENV_VAR}={cache} is not a usable cache directory: "
        f"{_one_line(error)}"
    )


def load_classifier(name: str, weights="default", command: str = "predict"):
    """`(model, card)`: zoo model `name` with `weights` (as for `zoo.load`;
    the string "none" means random initialisation) and the model card of
    those weights ({} when there is none). Notes random weights on
    stderr.

    Raises:
        CLIError: the weights cannot be read (missing, truncated or
            corrupt file, failed download, unusable cache directory) or a
            config file of the preset cannot be deserialized; the message
            names the weights.
    """
    from keras_attention import zoo

    label = weights
    if isinstance(weights, str) and weights.lower() == "none":
        weights = None
    where = f"the weights {label!r} of {name!r}"
    try:
        model = zoo.load(name, weights=weights)
    except OSError as error:  # h5py, downloads, the cache directory
        message = _cache_problem(error)
        if message is None:
            message = _one_line(error)
            if str(label) not in message:
                message = f"Could not load {where}: {message}"
        raise CLIError(message) from error
    except (TypeError, KeyError, AttributeError) as error:
        # Keras raises these for a config (task.json, config.json, ...)
        # that cannot be deserialized.
        raise CLIError(
            f"Could not build {where}: its task.json or config.json cannot "
            f"be deserialized ({type(error).__name__}: {_one_line(error)})"
        ) from error
    if not hasattr(model, "num_classes"):
        raise CLIError(
            f"The weights {label!r} hold a backbone without a "
            f"classification head; `{command}` needs a classifier preset."
        )
    card = _weights_card(name, weights)
    if weights is None or (weights == "default" and not card):
        print(
            f"Note: {name} runs with random weights (none published "
            "or none given); its predictions mean nothing.",
            file=sys.stderr,
        )
    return model, card


def load_input(
    path: Path,
    kind: str,
    model,
    card: dict,
    name: str,
    max_size=None,
    window_seconds=None,
):
    """The model-ready batch of one input file: `(1, H, W, C)` raw pixels
    (0..255, resized to the weights' input size; see `read_image`) for an
    image; waveform windows `(n, samples)` at the model's sample rate for
    audio (windows of the model's input length when it is fixed).

    `max_size` bounds the longest side of an image for a model that takes
    any size; `window_seconds` cuts a longer clip into windows of that
    length (the last one zero-padded) for a model that takes any length.
    """
    if kind == "image":
        return _image_batch(path, model, card, max_size)
    return _audio_batch(path, model, card, name, window_seconds)


def top_classes(
    model, outputs, k: int, labels: list[str] | None = None
) -> tuple:
    """`(probs, top)`: class probabilities averaged over the batch (e.g.
    audio windows) and the `k` best `(index, label, probability)`."""
    import numpy as np

    probs = _probabilities(model, outputs).mean(axis=0)
    labels = labels or class_labels(model, probs.shape[-1])
    top = np.argsort(-probs, kind="stable")[: min(k, probs.shape[-1])]
    return probs, [(int(i), labels[i], float(probs[i])) for i in top]


def print_top(path, top) -> None:
    """Prints `top_classes`'s list under the input's name."""
    print(f"{path}:")
    for rank, (_, label, prob) in enumerate(top, start=1):
        print(f"  {rank}. {label}  {prob:.4f}")


def check_top_k(top_k: int) -> None:
    """Raises CLIError unless `top_k` >= 1."""
    if top_k < 1:
        raise CLIError(f"Expected --top-k >= 1. Received: {top_k}")


def report_error(command: str, error) -> None:
    """Prints `error` as one line on stderr."""
    print(f"{PROG} {command}: error: {_one_line(error)}", file=sys.stderr)


def _predict(args) -> int:
    from keras_attention.zoo import registry

    registry.get_spec(args.model)
    check_top_k(args.top_k)
    # A bad file is reported on its own line; the others still run.
    failed = 0
    inputs = []
    for file in args.files:
        try:
            inputs.append(check_input(file, args.model))
        except CLIError as error:
            report_error("predict", error)
            failed += 1
    if not inputs:
        return EXIT_USAGE
    model, card = load_classifier(args.model, args.weights, "predict")
    for path, kind in inputs:
        try:
            batch = load_input(path, kind, model, card, args.model)
            outputs = model.predict(batch, verbose=0)
        except (ValueError, OSError) as error:
            message = _one_line(error)
            if str(path) not in message:
                message = f"{path}: {message}"
            report_error("predict", message)
            failed += 1
            continue
        _, top = top_classes(model, outputs, args.top_k)
        print_top(path, top)
    return EXIT_USAGE if failed else EXIT_OK


@register_subcommand("predict")
def _add_predict(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="classify image or audio files",
        description=(
            "Load a zoo model and print the top-k classes of each file. "
            "Images (PNG, JPEG, ...) go through the model's preprocessor; "
            "audio files (.wav, .flac, .ogg, .mp3) need an audio model."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", required=True, help="model name")
    p.add_argument("--weights", default="default", help=WEIGHTS_HELP)
    p.add_argument("--top-k", type=int, default=5)
    p.set_defaults(handler=_predict)


# --------------------------------------------------------------- explain


@register_subcommand("explain")
def _add_explain(subparsers) -> None:
    # keras_attention.viz holds the parser and handler (Grad-CAM and the
    # figures need the `viz` extra only when the command runs).
    from keras_attention.viz.explain import add_explain_parser

    add_explain_parser(subparsers)


# ------------------------------------------------------------------ main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "SE, CBAM, ECA and BAM attention for Keras 3, and a model zoo."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"{PROG} {__version__}"
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    for builder in SUBCOMMANDS.values():
        builder(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "passes_unknown_args", False):
        args.extra_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.handler(args) or EXIT_OK)
    except (ValueError, OSError) as error:
        # CLIError, the zoo's WeightsIntegrityError (a ValueError) and
        # WeightsDownloadError (an OSError), h5py's and Pillow's OSErrors,
        # FileNotFoundError, PermissionError...
        report_error(args.command, error)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
