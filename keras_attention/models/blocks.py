"""Building blocks shared by the image and audio backbones.

Batch norms with torchvision's and PANNs' settings, the ResNets' He-normal
convolution, and the attention module of a block or stage built from the
backbone's `attention` and `attention_config`.
"""

from __future__ import annotations

import keras

from keras_attention.layers.conv import Conv2D
from keras_attention.layers.factory import get_attention

# Attention between stages; every other kind sits inside each block.
STAGE_ATTENTION = ("bam",)

# torchvision's and PANNs' batch-norm settings (PyTorch momentum 0.1 =
# Keras 0.9).
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9


def batch_norm(axis, name, zero_init=False, dtype=None):
    """A batch norm over `axis` with the torch settings above."""
    return keras.layers.BatchNormalization(
        axis=axis,
        epsilon=BN_EPSILON,
        momentum=BN_MOMENTUM,
        gamma_initializer="zeros" if zero_init else "ones",
        dtype=dtype,
        name=name,
    )


def conv2d(
    filters,
    kernel_size,
    strides,
    data_format,
    name,
    dtype=None,
    padding="same",
):
    """A bias-free convolution ("same" padding unless told), He-normal
    (fan out) as torchvision initialises its ResNets."""
    return Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        use_bias=False,
        kernel_initializer=keras.initializers.VarianceScaling(
            2.0, mode="fan_out", distribution="untruncated_normal"
        ),
        data_format=data_format,
        dtype=dtype,
        name=name,
    )


def block_attention(
    attention, attention_config, stage_index, name, data_format, dtype=None
):
    """The attention layer of one block or stage, or None.

    `attention_config["per_stage"]`, when given, is a list of per-stage
    overrides; the layer takes the backbone's `data_format`, not the
    global default."""
    if attention is None:
        return None
    config = dict(attention_config or {})
    stage_config = config.pop("per_stage", None)
    if stage_config:
        config.update(stage_config[stage_index] or {})
    config["data_format"] = data_format
    return get_attention(attention, name=name, dtype=dtype, **config)
