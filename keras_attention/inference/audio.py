"""Audio files to model-ready waveform windows."""

from __future__ import annotations

from keras_attention.inference.classifier import card_value
from keras_attention.inference.errors import InferenceError


def audio_sample_rate(model, card: dict | None = None) -> int | None:
    """The sample rate (Hz) the model's waveforms have: from the weights'
    card, else from the model, its backbone or its preprocessor (their
    attributes or configs); None when none tells."""
    rate = card_value(card or {}, "sample_rate")
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


def audio_windows(waveform, length: int | None):
    """`(windows, length)`: `waveform` cut into consecutive `length`-sample
    windows, the last one zero-padded; `(1, samples)` (the whole
    waveform) when `length` is None."""
    import numpy as np

    waveform = np.asarray(waveform, dtype="float32")
    if length is None:
        return waveform[None]
    count = max(1, -(-len(waveform) // length))
    padded = np.zeros(count * length, dtype="float32")
    padded[: len(waveform)] = waveform
    return padded.reshape(count, length)


def window_length(
    model, name: str, rate: int, samples: int, window_seconds=None
) -> int | None:
    """The window length (samples) a `samples`-long waveform at `rate` Hz
    is cut into for zoo model `name`: its input length when the model
    takes a fixed-length `(batch, samples)` waveform; else
    `window_seconds` of audio when the waveform is longer than that;
    else None (the whole waveform in one go)."""
    from keras_attention.zoo import registry

    backbone = getattr(model, "backbone", model)
    input_shape = getattr(backbone, "input_shape", None)
    if not isinstance(input_shape, tuple):  # several inputs, or unknown
        input_shape = (None, *registry.get_spec(name).input_shape)
    length = input_shape[1] if len(input_shape) == 2 else None
    if length is None and window_seconds:
        span = max(1, int(window_seconds * rate))
        length = span if samples > span else None
    return length


def audio_batch(path, model, card: dict, name: str, window_seconds=None):
    """The waveform windows `(n, samples)` of one audio file for zoo model
    `name`: decoded, mixed to mono and resampled to the model's sample
    rate, then cut as `window_length` says.

    Raises:
        InferenceError: the sample rate is unknown, the `audio` extra is
            missing, or the file cannot be decoded (the message names
            it).
    """
    rate = audio_sample_rate(model, card)
    if rate is None:
        raise InferenceError(
            f"Cannot tell the sample rate of {name!r}: neither its model "
            "card nor its config has a `sample_rate`."
        )
    try:
        from keras_attention.audio import load_audio
    except ImportError as error:
        raise InferenceError(
            "Reading audio needs the `audio` extra: pip install "
            f"'keras-attention-zoo[audio]' ({error})."
        ) from None
    try:
        waveform = load_audio(path, sample_rate=rate)
    except (OSError, ValueError) as error:
        raise InferenceError(f"Could not read audio {path}: {error}") from error
    length = window_length(model, name, rate, len(waveform), window_seconds)
    return audio_windows(waveform, length)
