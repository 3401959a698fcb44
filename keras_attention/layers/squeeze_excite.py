"""Squeeze-and-Excitation (Hu et al., 2018, https://arxiv.org/abs/1709.01507)."""

from __future__ import annotations

import keras

from keras_attention.layers import _utils


@keras.saving.register_keras_serializable(package="keras_attention")
class SqueezeExcite(keras.layers.Layer):
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

    def __init__(
        self,
        reduction: int = 16,
        min_channels: int = 1,
        divisor: int = 1,
        use_bias: bool = True,
        activation="relu",
        gate_activation="sigmoid",
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.reduction = _utils.check_positive_int(name, "reduction", reduction)
        self.min_channels = _utils.check_positive_int(
            name, "min_channels", min_channels
        )
        self.divisor = _utils.check_positive_int(name, "divisor", divisor)
        self.use_bias = use_bias
        self.activation = keras.activations.get(activation)
        self.gate_activation = keras.activations.get(gate_activation)
        self.data_format = _utils.standardize_data_format(name, data_format)

    def build(self, input_shape):
        name = type(self).__name__
        _utils.check_input_rank(name, input_shape, (3, 4, 5))
        channels = _utils.num_channels(name, input_shape, self.data_format)
        self.hidden_channels = _utils.reduced_width(
            channels, self.reduction, self.divisor, self.min_channels
        )
        self.reduce = keras.layers.Dense(
            self.hidden_channels,
            use_bias=self.use_bias,
            dtype=self.dtype_policy,
            name="reduce",
        )
        self.expand = keras.layers.Dense(
            channels,
            use_bias=self.use_bias,
            dtype=self.dtype_policy,
            name="expand",
        )
        self.reduce.build((None, channels))
        self.expand.build((None, self.hidden_channels))

    def _channel_weights(self, inputs):
        axes = _utils.spatial_axes(self.data_format, len(inputs.shape))
        pooled = _utils.mean_over(inputs, axes, self.compute_dtype)
        hidden = self.activation(self.reduce(pooled))
        return self.gate_activation(self.expand(hidden))

    def call(self, inputs):
        weights = self._channel_weights(inputs)
        rank = len(inputs.shape)
        return inputs * _utils.as_broadcast(weights, self.data_format, rank)

    def compute_attention(self, inputs) -> dict:
        """Returns `{"channel": weights}` of shape (batch, channels)."""
        _utils.ensure_built(self, inputs)
        return {"channel": self._channel_weights(inputs)}

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "reduction": self.reduction,
                "min_channels": self.min_channels,
                "divisor": self.divisor,
                "use_bias": self.use_bias,
                "activation": keras.activations.serialize(self.activation),
                "gate_activation": keras.activations.serialize(
                    self.gate_activation
                ),
                "data_format": self.data_format,
            }
        )
        return config
