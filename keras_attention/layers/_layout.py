"""Channels-first convolutions on devices that cannot run them (not public).

Without oneDNN, TensorFlow has no NCHW convolution kernel on the CPU: a
plain `keras.layers.Conv2D(data_format="channels_first")` fails there with
`UnimplementedError: The Conv2D op currently only supports the NHWC tensor
format on the CPU`. Which CPUs have oneDNN differs from machine to machine
(TensorFlow enables it by CPU features and `TF_ENABLE_ONEDNN_OPTS`), so the
library probes the device once, with a 1x1 NCHW convolution, instead of
guessing from the CPU's name.

Where the probe fails, layers and backbones built `channels_first` keep
their inputs, outputs, weights and configs, and compute their
convolutions in channels-last internally (a transpose on the way in and on
the way out). Convolution kernels have the same shape in both layouts, so
weights saved on one machine load on the other.

`KERAS_ATTENTION_NCHW_CONV` overrides the probe: `auto` (the default),
`native` (always use channels-first kernels) or `channels_last` (always
compute convolutions channels-last; how the tests force the fallback on
every machine).
"""

from __future__ import annotations

import functools
import os

import keras
from keras import ops

ENV_VAR = "KERAS_ATTENTION_NCHW_CONV"
MODES = ("auto", "native", "channels_last")


def _mode() -> str:
    mode = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ValueError(
            f"Expected {ENV_VAR} to be one of {MODES}. "
            f"Received: {ENV_VAR}={mode!r}"
        )
    return mode


@functools.cache
def _probe(backend: str) -> bool:
    """Whether the default device runs an NCHW convolution (once a
    process). Only TensorFlow's CPU kernels lack one."""
    if backend != "tensorflow":
        return True
    import tensorflow as tf

    with tf.init_scope():  # eager, even while a tf.function traces
        try:
            tf.nn.conv2d(
                tf.zeros((1, 1, 2, 2)),
                tf.zeros((1, 1, 1, 1)),
                strides=1,
                padding="VALID",
                data_format="NCHW",
            )
        except (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError):
            return False
    return True


def channels_first_conv_supported() -> bool:
    """True when channels-first convolutions run natively here."""
    mode = _mode()
    if mode != "auto":
        return mode == "native"
    return _probe(keras.backend.backend())


def conv_data_format(data_format: str) -> str:
    """The layout to run convolutions in for a layer of `data_format`."""
    if data_format == "channels_first" and not (
        channels_first_conv_supported()
    ):
        return "channels_last"
    return data_format


def convert(x, source: str, target: str):
    """Transposes a batch `x` from layout `source` to layout `target`."""
    if source == target:
        return x
    rank = len(x.shape)
    if target == "channels_last":
        perm = (0, *range(2, rank), 1)
    else:
        perm = (0, rank - 1, *range(1, rank - 1))
    return ops.transpose(x, perm)


def convert_shape(shape, source: str, target: str) -> tuple:
    """`shape` (batch first) in layout `target` instead of `source`."""
    shape = tuple(shape)
    if source == target:
        return shape
    if target == "channels_last":
        return (shape[0], *shape[2:], shape[1])
    return (shape[0], shape[-1], *shape[1:-1])
