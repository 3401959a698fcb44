"""CBAM's channel gate (Woo et al., 2018, https://arxiv.org/abs/1807.06521)."""

from __future__ import annotations

import keras
from keras import ops

from keras_attention.layers._channel_gate import BottleneckChannelGate

POOL_TYPES = ("avg", "max", "lp", "lse")


def _pool(x, pool_type: str, axes, dtype):
    x32 = ops.cast(x, "float32")
    if pool_type == "avg":
        pooled = ops.mean(x32, axis=axes)
    elif pool_type == "max":
        pooled = ops.max(x32, axis=axes)
    elif pool_type == "lp":  # L2 norm over positions
        pooled = ops.sqrt(ops.sum(ops.square(x32), axis=axes))
    else:  # "lse": log-sum-exp over positions
        pooled = ops.logsumexp(x32, axis=axes)
    return ops.cast(pooled, dtype)


@keras.saving.register_keras_serializable(package="keras_attention")
class ChannelAttention(BottleneckChannelGate):
    """Channel attention gate of CBAM.

    Each pooled descriptor of the input (average and max pooling over all
    positions by default) goes through one shared MLP
    (`C -> C/reduction -> C`); the results are summed and passed through a
    sigmoid, giving one weight per channel that scales the input.

    With `pool_types=("avg",)` this is Squeeze-and-Excitation. The official
    CBAM code also offers "lp" (L2 norm) and "lse" (log-sum-exp) pooling.

    Reference:
        Woo, Park, Lee, Kweon. "CBAM: Convolutional Block Attention Module".
        ECCV 2018. https://arxiv.org/abs/1807.06521

    Args:
        reduction: Channel reduction ratio of the shared MLP. Defaults to 16.
        pool_types: Descriptors fed to the MLP, any of "avg", "max", "lp",
            "lse". Defaults to ("avg", "max").
        min_channels: Smallest hidden width. Defaults to 1.
        divisor: Round the hidden width to a multiple of this. Defaults to 1.
        use_bias: Whether the MLP has biases. Defaults to True.
        activation: Activation inside the MLP ("relu").
        gate_activation: Activation producing the weights ("sigmoid").
        data_format: "channels_last" or "channels_first"; `None` uses
            `keras.config.image_data_format()`.

    Input shape:
        Rank 3, 4 or 5: `(batch, ..., channels)` or `(batch, channels, ...)`.

    Output shape:
        Same as the input.

    Examples:
        >>> x = keras.random.normal((2, 8, 8, 32))
        >>> tuple(ChannelAttention(reduction=8)(x).shape)
        (2, 8, 8, 32)
    """

    def __init__(
        self,
        reduction: int = 16,
        pool_types=("avg", "max"),
        min_channels: int = 1,
        divisor: int = 1,
        use_bias: bool = True,
        activation="relu",
        gate_activation="sigmoid",
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(
            reduction=reduction,
            min_channels=min_channels,
            divisor=divisor,
            use_bias=use_bias,
            activation=activation,
            gate_activation=gate_activation,
            data_format=data_format,
            **kwargs,
        )
        if isinstance(pool_types, str):
            pool_types = (pool_types,)
        pool_types = tuple(pool_types)
        bad = [p for p in pool_types if p not in POOL_TYPES]
        if not pool_types or bad:
            raise ValueError(
                f"{type(self).__name__}: Expected `pool_types` to be a "
                f"non-empty sequence of {POOL_TYPES}. "
                f"Received: pool_types={pool_types!r}"
            )
        self.pool_types = pool_types

    def _descriptors(self, inputs, axes) -> list:
        return [
            _pool(inputs, pool_type, axes, self.compute_dtype)
            for pool_type in self.pool_types
        ]

    def get_config(self):
        config = super().get_config()
        config["pool_types"] = list(self.pool_types)
        return config
