"""Efficient Channel Attention (Wang et al., 2020,
https://arxiv.org/abs/1910.03151)."""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_attention.layers import _utils
from keras_attention.layers._channel_gate import ChannelGate


def adaptive_kernel_size(channels: int, gamma: float = 2, b: float = 1) -> int:
    """ECA's adaptive kernel size for `channels`.

    `t = int(|log2(channels) + b| / gamma)`, made odd (`t + 1` when even)
    and at least 3. `ECA` uses it when `kernel_size=None`.

    Args:
        channels: Number of channels `C` of the input.
        gamma: Divisor of the log (2 in the paper).
        b: Offset of the log (1 in the paper).

    Returns:
        The odd kernel size `k >= 3`.

    Examples:
        >>> [adaptive_kernel_size(c) for c in (64, 128, 256, 512, 1024, 2048)]
        [3, 5, 5, 5, 5, 7]
    """
    t = int(abs(math.log2(channels) + b) / gamma)
    k = t if t % 2 else t + 1
    return max(k, 3)


@keras.saving.register_keras_serializable(package="keras_attention")
class ECA(ChannelGate):
    """Efficient Channel Attention.

    Global average pooling gives one descriptor per channel; a 1-D
    convolution of size `k` across neighbouring channels (no bias, no
    dimensionality reduction) and a sigmoid turn it into one weight per
    channel, which scales the input. The layer has exactly `k` weights.

    By default `k` adapts to the channel count `C` (`gamma=2`, `b=1`, as timm
    and keras-cv-attention-models implement it): 64 -> 3, 128..1024 -> 5,
    2048 -> 7. The official ImageNet checkpoints set `k` by hand per stage;
    pass `kernel_size` to reproduce them.

    Reference:
        Wang, Wu, Zhu, Li, Zuo, Hu. "ECA-Net: Efficient Channel Attention for
        Deep Convolutional Neural Networks". CVPR 2020.
        https://arxiv.org/abs/1910.03151

    Args:
        kernel_size: Odd size of the 1-D kernel, or `None` to adapt it to the
            channel count. Defaults to None.
        gamma: Adaptive-size parameter. Defaults to 2.
        b: Adaptive-size parameter. Defaults to 1.
        gate_activation: Activation producing the weights ("sigmoid").
        data_format: "channels_last" or "channels_first"; `None` uses
            `keras.config.image_data_format()`.

    Input shape:
        Rank 3, 4 or 5: `(batch, ..., channels)` or `(batch, channels, ...)`.

    Output shape:
        Same as the input.

    Examples:
        >>> x = keras.random.normal((2, 8, 8, 64))
        >>> layer = ECA()
        >>> tuple(layer(x).shape), layer.kernel_size_
        ((2, 8, 8, 64), 3)
    """

    def __init__(
        self,
        kernel_size: int | None = None,
        gamma: float = 2,
        b: float = 1,
        gate_activation="sigmoid",
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(gate_activation, data_format, **kwargs)
        name = type(self).__name__
        if kernel_size is not None:
            _utils.check_odd_kernel(name, "kernel_size", kernel_size)
        if gamma <= 0:
            raise ValueError(
                f"{name}: Expected `gamma` > 0. Received: gamma={gamma!r}"
            )
        self.kernel_size = kernel_size
        self.gamma = gamma
        self.b = b

    def build(self, input_shape):
        name = type(self).__name__
        _utils.check_input_rank(name, input_shape, (3, 4, 5))
        channels = _utils.num_channels(name, input_shape, self.data_format)
        self.kernel_size_ = self.kernel_size or adaptive_kernel_size(
            channels, self.gamma, self.b
        )
        # The pooled descriptor (batch, C) is treated as a 1-channel
        # sequence of length C, always channels_last inside.
        self.conv = keras.layers.Conv1D(
            1,
            self.kernel_size_,
            padding="same",
            use_bias=False,
            data_format="channels_last",
            dtype=self.dtype_policy,
            name="conv",
        )
        self.conv.build((None, channels, 1))

    def _channel_weights(self, inputs):
        axes = _utils.spatial_axes(self.data_format, len(inputs.shape))
        pooled = _utils.mean_over(inputs, axes, self.compute_dtype)
        logits = self.conv(ops.expand_dims(pooled, -1))
        return self.gate_activation(ops.squeeze(logits, -1))

    def get_config(self):
        config = super().get_config()
        config.update(
            {"kernel_size": self.kernel_size, "gamma": self.gamma, "b": self.b}
        )
        return config
