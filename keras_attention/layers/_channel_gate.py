"""Base classes of the channel gates (not public API): SE, CBAM's channel
gate and ECA all scale each channel of their input by one weight computed
from pooled descriptors, and differ only in how they compute it."""

from __future__ import annotations

import keras

from keras_attention.layers import _utils


class ChannelGate(keras.layers.Layer):
    """`inputs * weights`, one weight per channel.

    Subclasses implement `_channel_weights(inputs) -> (batch, channels)`;
    this class adds the call, `compute_attention`, the output shape and the
    `gate_activation` / `data_format` configuration.
    """

    def __init__(self, gate_activation="sigmoid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.gate_activation = keras.activations.get(gate_activation)
        self.data_format = _utils.standardize_data_format(name, data_format)

    def _channel_weights(self, inputs):
        raise NotImplementedError

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
                "gate_activation": keras.activations.serialize(
                    self.gate_activation
                ),
                "data_format": self.data_format,
            }
        )
        return config


class BottleneckChannelGate(ChannelGate):
    """Pooled descriptors through one shared bottleneck MLP
    (`C -> hidden -> C`, named `reduce` and `expand`), summed, then the
    gate activation. Subclasses implement `_descriptors(inputs, axes)`, the
    list of `(batch, channels)` descriptors."""

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
        super().__init__(gate_activation, data_format, **kwargs)
        name = type(self).__name__
        self.reduction = _utils.check_positive_int(name, "reduction", reduction)
        self.min_channels = _utils.check_positive_int(
            name, "min_channels", min_channels
        )
        self.divisor = _utils.check_positive_int(name, "divisor", divisor)
        self.use_bias = use_bias
        self.activation = keras.activations.get(activation)

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

    def _descriptors(self, inputs, axes) -> list:
        raise NotImplementedError

    def _channel_weights(self, inputs):
        axes = _utils.spatial_axes(self.data_format, len(inputs.shape))
        logits = None
        for pooled in self._descriptors(inputs, axes):
            out = self.expand(self.activation(self.reduce(pooled)))
            logits = out if logits is None else logits + out
        return self.gate_activation(logits)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "reduction": self.reduction,
                "min_channels": self.min_channels,
                "divisor": self.divisor,
                "use_bias": self.use_bias,
                "activation": keras.activations.serialize(self.activation),
            }
        )
        return config
