"""Counting multiply-accumulates (MACs) of a model by running it once.

The count follows the convention of the ResNet, SE, CBAM and ECA papers,
whose "FLOPs" are multiply-accumulates of convolution and dense layers
(ResNet-50 at 224x224: 4.1 G). Element-wise work (batch norm, activations,
the attention scaling) is left out, as there.
"""

from __future__ import annotations

import contextlib
import math

import keras
import numpy as np

_COUNTED = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.DepthwiseConv2D,
    keras.layers.Dense,
)


@contextlib.contextmanager
def _record_calls(records: list):
    original = keras.layers.Layer.__call__

    def recording_call(layer, *args, **kwargs):
        outputs = original(layer, *args, **kwargs)
        if isinstance(layer, _COUNTED):
            records.append((layer, tuple(outputs.shape)))
        return outputs

    keras.layers.Layer.__call__ = recording_call
    try:
        yield records
    finally:
        keras.layers.Layer.__call__ = original


def _layer_macs(layer, output_shape) -> int:
    kernel_shape = tuple(layer.kernel.shape)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        per_output = math.prod(kernel_shape[:-2])
    else:  # conv kernel (*k, in/groups, out); dense kernel (in, out)
        per_output = math.prod(kernel_shape[:-1])
    return int(math.prod(output_shape[1:]) * per_output)


def count_macs(model: keras.Model, input_shape) -> int:
    """Multiply-accumulates of one forward pass for one example.

    Args:
        model: A built Keras model (called directly, so a keras-hub task's
            preprocessor is not included).
        input_shape: Shape of one example without the batch axis, e.g.
            `(224, 224, 3)`, or `(32000,)` for a waveform model.

    Returns:
        The MAC count of the model's convolution and dense layers.
    """
    inputs = np.zeros((1, *input_shape), dtype="float32")
    records: list = []
    with _record_calls(records):
        model(inputs, training=False)
    return sum(_layer_macs(layer, shape) for layer, shape in records)
