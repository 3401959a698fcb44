"""Input files: checked against the model's task, loaded as a batch."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from keras_attention.inference.audio import audio_batch
from keras_attention.inference.errors import InferenceError
from keras_attention.inference.images import IMAGE_EXTENSIONS, image_batch


class InputFile(NamedTuple):
    """A checked input file: its path and kind ("image" or "audio")."""

    path: Path
    kind: str


def input_kind(path) -> str | None:
    """ "image" or "audio" by the file's extension; None for neither."""
    from keras_attention.audio.io import AUDIO_EXTENSIONS

    suffix = Path(path).suffix.lower()
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    return None


def check_input(file, model_name: str) -> InputFile:
    """`(path, kind)` of an input file for zoo model `model_name`: the file
    must exist and be an image or audio file (by its extension, see
    `IMAGE_EXTENSIONS` and `keras_attention.audio.AUDIO_EXTENSIONS`) that
    fits the model's task ("image" or "audio").

    Raises:
        InferenceError: the file is missing, a directory, of neither kind
            or of the other task's kind (the message names it).
        ValueError: `model_name` is not a zoo model.
    """
    from keras_attention.audio.io import AUDIO_EXTENSIONS
    from keras_attention.zoo import registry

    spec = registry.get_spec(model_name)
    path = Path(file)
    if path.is_dir():
        raise InferenceError(
            f"{file} is a directory, not an image or audio file."
        )
    if not path.is_file():
        raise InferenceError(f"No such file: {file}")
    kind = input_kind(path)
    if kind is None:
        raise InferenceError(
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
        raise InferenceError(
            f"{file} is an {kind} file but {model_name!r} is an "
            f"{spec.task} model.{hint}"
        )
    return InputFile(path, kind)


def load_input(
    path,
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
        return image_batch(path, model, card, max_size)
    return audio_batch(path, model, card, name, window_seconds)
