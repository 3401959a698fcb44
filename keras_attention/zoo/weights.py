"""Where `zoo.load`'s weights come from, in one place.

`resolve_weights(name, weights)` turns a `weights` argument (a published
entry, a preset folder, a `.weights.h5` file, a URL, "default" or None)
into a verified local source and its model card; `load_weights_file`
loads a `.weights.h5` file after checking it fits the model.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import keras

from keras_attention.zoo import download, peer_weights, peers
from keras_attention.zoo.cards import MODEL_CARD_FILE, ModelCard
from keras_attention.zoo.errors import WeightsUnavailableError
from keras_attention.zoo.locations import (
    WEIGHTS_URL_ENV_VAR,
    no_weights_hint,
)
from keras_attention.zoo.registry import (
    default_weights,
    get_spec,
    published_weights,
)

# The logger `zoo.load` has always logged to.
logger = logging.getLogger("keras_attention.zoo.api")

URL_SCHEMES = ("https://", "http://", "file://")


def keras_load(load, path: Path, what: str) -> None:
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


def load_weights_file(model: keras.Model, path: Path, name: str) -> None:
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
    keras_load(model.load_weights, path, f"model {name!r}")


def _preset_pins(sha256) -> dict | None:
    # `sha256` of a preset is that of its weights file.
    return {"model.weights.h5": sha256} if sha256 is not None else None


def _local_card(path: Path) -> dict:
    """The model card of the preset folder `path`, or {} without one."""
    if not (path / MODEL_CARD_FILE).is_file():
        return {}
    return ModelCard.read(path / MODEL_CARD_FILE).to_json()


def fetch_published(
    name: str, weights: str, entry: dict, pins: dict | None = None, **kwargs
) -> Path:
    """The verified local folder of a published preset: its `"path"` in a
    zoo folder, or its download (`"url"`) into the cache, every file
    checked against the sha256 and size of the package's index.

    Raises:
        WeightsUnavailableError: downloads are off, or the download
            failed (offline, server error); the message says how to get
            the weights.
    """
    if "path" in entry:
        return Path(
            download.fetch_preset(
                entry["path"], sha256s=pins, manifest=MODEL_CARD_FILE, **kwargs
            )
        )
    url = entry.get("url")
    what = f"The published weights {weights!r} of {name!r}"
    if url is None:
        raise WeightsUnavailableError(
            f"{what} are not in this installation and downloads are off "
            f"({WEIGHTS_URL_ENV_VAR} is empty). " + no_weights_hint(name)
        )
    files = entry["files"]
    try:
        return Path(
            download.fetch_preset(
                url,
                files=tuple(files),
                sha256s={
                    **{f: e["sha256"] for f, e in files.items()},
                    **(pins or {}),
                },
                manifest=MODEL_CARD_FILE,
                name=f"{name}.{weights}",
                **kwargs,
            )
        )
    except download.WeightsDownloadError as error:
        raise WeightsUnavailableError(
            f"{what} could not be downloaded from {url}: "
            f"{str(error).rstrip('.')}. " + no_weights_hint(name),
            url=error.url,
            status=error.status,
        ) from error


def resolve_weights(
    name: str, weights="default", sha256: str | None = None
) -> tuple[Path | None, dict]:
    """Where the weights of model `name` come from: `(source, card)`.

    `source` is a verified local preset folder or `.weights.h5` file
    (downloads are fetched into the cache and checked; local files are
    checked against their model card and `sha256`), or None for a randomly
    initialised model. `card` is the model card of the weights (a dict,
    `{}` when there is none). `zoo.load` and the CLI decide where weights
    come from here.

    Args:
        name: A registered model name.
        weights: As for `zoo.load`: "default", None, a published weights
            name, a preset folder, a `.weights.h5` file, or an
            `https://`, `http://` or `file://` URL of either; or a peer's
            checkpoint (`keras_attention.zoo.peers`): a `.safetensors` or
            `.pth` file, a URL of one, or `hf://org/repo`; or the name of
            converted peer weights (`keras_attention.zoo.peer_weights`,
            e.g. "imagenet"), converted and cached on first use.
        sha256: Expected sha256 of the weights file.

    Raises:
        ValueError: unknown model or weights.
        WeightsUnavailableError: published weights that cannot be had
            (offline, or downloads off): see `fetch_published`.
    """
    get_spec(name)
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
        return None, {}
    weights = str(weights)
    pins = _preset_pins(sha256)
    if weights in entries:
        entry = entries[weights]
        return fetch_published(name, weights, entry, pins), entry
    if weights in peer_weights.named_weights(name):
        return peer_weights.resolve(name, weights)
    if peers.is_checkpoint_source(weights):
        return peers.fetch_checkpoint(weights, sha256), {}
    if weights.startswith(URL_SCHEMES):
        if weights.endswith(".weights.h5"):
            return Path(download.fetch(weights, sha256=sha256)), {}
        path = download.fetch_preset(
            weights,
            files=(
                *download.PRESET_REQUIRED_FILES,
                *download.PRESET_OPTIONAL_FILES,
            ),
            sha256s=pins,
            manifest=MODEL_CARD_FILE,
        )
        return Path(path), _local_card(Path(path))
    path = Path(weights).expanduser()
    if not path.exists():
        available = (
            ", ".join([*entries, *peer_weights.named_weights(name)])
            or "none published"
        )
        raise ValueError(
            f"Unknown weights {weights!r} for {name!r}: neither a "
            f"published entry (available: {available}), nor an existing "
            f"path, nor an https://, http:// or file:// URL."
        )
    if path.is_dir():
        path = Path(
            download.fetch_preset(path, sha256s=pins, manifest=MODEL_CARD_FILE)
        )
        return path, _local_card(path)
    return Path(download.fetch(path, sha256=sha256)), {}
