"""Helpers shared by the attention layers (not public API)."""

from __future__ import annotations

import numbers

import keras
from keras import ops

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(layer: str, data_format: str | None) -> str:
    """Returns `data_format`, or Keras' global default when it is `None`."""
    if data_format is None:
        return keras.config.image_data_format()
    if data_format not in DATA_FORMATS:
        raise ValueError(
            f"{layer}: Expected `data_format` to be one of {DATA_FORMATS}. "
            f"Received: data_format={data_format!r}"
        )
    return data_format


def is_integer(value) -> bool:
    """Whether `value` is an integer: a Python or NumPy int
    (`numbers.Integral`), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(layer: str, name: str, value, minimum: int = 1) -> int:
    """`value` as a plain `int` if it is an integer (`int`, `np.int64`, ...;
    not a bool) >= `minimum`; else a `ValueError` naming `layer` and the
    argument `name`."""
    if not is_integer(value) or value < minimum:
        raise ValueError(
            f"{layer}: Expected `{name}` to be an integer >= {minimum}. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_odd_kernel(layer: str, name: str, value) -> int:
    check_positive_int(layer, name, value)
    if value % 2 == 0:
        raise ValueError(
            f"{layer}: Expected `{name}` to be odd, so that 'same' padding "
            f"keeps the map centred. Received: {name}={value!r}"
        )
    return value


def check_input_rank(layer: str, input_shape, ranks: tuple[int, ...]) -> None:
    rank = len(input_shape)
    if rank not in ranks:
        expected = " or ".join(str(r) for r in ranks)
        raise ValueError(
            f"{layer}: Expected an input of rank {expected} (batch, spatial "
            f"dims..., channels), e.g. (batch, height, width, channels) or "
            f"(batch, steps, channels). Received: input_shape={input_shape}"
        )


def ensure_built(layer, inputs) -> None:
    """Builds `layer` for `inputs` if it has not been called yet, so that
    `compute_attention` works on a fresh layer too."""
    if not layer.built:
        layer.build(tuple(inputs.shape))


def channel_axis(data_format: str, rank: int) -> int:
    return -1 if data_format == "channels_last" else 1


def spatial_axes(data_format: str, rank: int) -> list[int]:
    if data_format == "channels_last":
        return list(range(1, rank - 1))
    return list(range(2, rank))


def num_channels(layer: str, input_shape, data_format: str) -> int:
    axis = channel_axis(data_format, len(input_shape))
    channels = input_shape[axis]
    if channels is None:
        raise ValueError(
            f"{layer}: The channel dimension of the input must be known. "
            f"Received: input_shape={input_shape}, data_format={data_format!r}"
        )
    return int(channels)


def reduced_width(channels: int, reduction: int, divisor: int, minimum: int):
    """Hidden width `channels / reduction`, rounded to a multiple of
    `divisor` and clamped to at least `minimum` (so tiny inputs still work)."""
    width = channels / reduction
    if divisor > 1:
        width = int(width + divisor / 2) // divisor * divisor
        # Rounding down must not remove more than 10% of the width.
        if width < 0.9 * channels / reduction:
            width += divisor
    return max(minimum, int(width))


def as_broadcast(gate, data_format: str, rank: int):
    """Reshapes a `(batch, channels)` gate so it broadcasts over the input."""
    if data_format == "channels_last":
        for _ in range(rank - 2):
            gate = ops.expand_dims(gate, 1)
        return gate
    for _ in range(rank - 2):
        gate = ops.expand_dims(gate, -1)
    return gate


def mean_over(x, axes, dtype):
    """Mean in float32 (a float16 sum over a large map can overflow)."""
    return ops.cast(ops.mean(ops.cast(x, "float32"), axis=axes), dtype)


def max_over(x, axes, dtype):
    return ops.cast(ops.max(ops.cast(x, "float32"), axis=axes), dtype)
