"""Squeeze-and-Excitation (Hu et al., 2018, https://arxiv.org/abs/1709.01507)."""

from __future__ import annotations

import keras

from keras_attention.layers import _utils
from keras_attention.layers._channel_gate import BottleneckChannelGate


@keras.saving.register_keras_serializable(package="keras_attention")
class SqueezeExcite(BottleneckChannelGate):
    """Squeeze-and-Excitation channel attention.

    Global average pooling squeezes each channel to one number; a two-layer
    bottleneck MLP (`C -> C/reduction -> C`) and a sigmoid turn those into one
    weight per channel, and the input is scaled by them. Every position of a
    channel is scaled by the same factor.

    The hidden width is `channels / reduction`, rounded to a multiple of
    `divisor` and never below `min_channels`, so that small channel counts
    still work (timm rounds to a multiple of 8; the original SE-ResNets use
    the exact ratio, which is the default here).

    Reference:
        Hu, Shen, Albanie, Sun, Wu. "Squeeze-and-Excitation Networks".
        CVPR 2018. https://arxiv.org/abs/1709.01507

    Args:
        reduction: Channel reduction ratio of the bottleneck. Defaults to 16.
        min_channels: Smallest hidden width. Defaults to 1.
        divisor: Round the hidden width to a multiple of this. Defaults to 1.
        use_bias: Whether the two dense layers have biases. Defaults to True.
        activation: Activation between the two dense layers ("relu").
        gate_activation: Activation producing the weights ("sigmoid").
        data_format: "channels_last" or "channels_first"; `None` uses
            `keras.config.image_data_format()`.

    Input shape:
        `(batch, ..., channels)` for "channels_last" or
        `(batch, channels, ...)` for "channels_first": a 1-D sequence
        (rank 3), a 2-D map (rank 4) or a volume (rank 5).

    Output shape:
        Same as the input.

    Examples:
        >>> x = keras.random.normal((2, 8, 8, 32))
        >>> tuple(SqueezeExcite(reduction=8)(x).shape)
        (2, 8, 8, 32)
    """

    def _descriptors(self, inputs, axes) -> list:
        return [_utils.mean_over(inputs, axes, self.compute_dtype)]
