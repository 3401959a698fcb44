"""Convolutional Block Attention Module (Woo et al., 2018,
https://arxiv.org/abs/1807.06521)."""

from __future__ import annotations

import keras

from keras_attention.layers import _utils
from keras_attention.layers.channel_attention import (
    POOL_TYPES,
    ChannelAttention,
)
from keras_attention.layers.spatial_attention import SpatialAttention


@keras.saving.register_keras_serializable(package="keras_attention")
class CBAM(keras.layers.Layer):
    """Convolutional Block Attention Module: channel gate, then spatial gate.

    The input is first scaled per channel by a `ChannelAttention` gate (a
    shared MLP over the average- and max-pooled descriptors), then per
    position by a `SpatialAttention` gate (a 7x7 conv over the channel-wise
    max and mean). The scale applied at each position and channel is the
    channel weight times the spatial mask. The paper found this sequential,
    channel-first order better than spatial-first or parallel gates.

    In a ResNet, CBAM goes on each residual branch after the last batch
    norm and before the addition.

    Reference:
        Woo, Park, Lee, Kweon. "CBAM: Convolutional Block Attention Module".
        ECCV 2018. https://arxiv.org/abs/1807.06521

    Args:
        reduction: Reduction ratio of the channel gate's MLP. Defaults to 16.
        kernel_size: Odd kernel size of the spatial gate. Defaults to 7.
        use_channel: Whether to apply the channel gate. Defaults to True.
        use_spatial: Whether to apply the spatial gate. Defaults to True.
        pool_types: Descriptors of the channel gate. Defaults to
            ("avg", "max").
        min_channels: Smallest hidden width of the MLP. Defaults to 1.
        spatial_batch_norm: Batch norm in the spatial gate. Defaults to True.
        zero_init_batch_norm: Initialise the spatial batch-norm scale to 0 as
            the official ResNets do. Defaults to False.
        data_format: "channels_last" or "channels_first"; `None` uses
            `keras.config.image_data_format()`.

    Input shape:
        Rank 3 `(batch, steps, channels)` or rank 4
        `(batch, height, width, channels)` (channels first if so set).

    Output shape:
        Same as the input.

    Examples:
        >>> x = keras.random.normal((2, 8, 8, 32))
        >>> tuple(CBAM(reduction=8)(x).shape)
        (2, 8, 8, 32)
    """

    def __init__(
        self,
        reduction: int = 16,
        kernel_size: int = 7,
        use_channel: bool = True,
        use_spatial: bool = True,
        pool_types=("avg", "max"),
        min_channels: int = 1,
        spatial_batch_norm: bool = True,
        zero_init_batch_norm: bool = False,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        if not (use_channel or use_spatial):
            raise ValueError(
                f"{name}: Expected at least one of `use_channel` and "
                f"`use_spatial` to be True. Received: use_channel="
                f"{use_channel}, use_spatial={use_spatial}"
            )
        self.reduction = _utils.check_positive_int(name, "reduction", reduction)
        self.kernel_size = _utils.check_odd_kernel(
            name, "kernel_size", kernel_size
        )
        self.use_channel = use_channel
        self.use_spatial = use_spatial
        self.pool_types = (
            (pool_types,) if isinstance(pool_types, str) else tuple(pool_types)
        )
        bad = [p for p in self.pool_types if p not in POOL_TYPES]
        if not self.pool_types or bad:
            raise ValueError(
                f"{name}: Expected `pool_types` to be a non-empty sequence of "
                f"{POOL_TYPES}. Received: pool_types={pool_types!r}"
            )
        self.min_channels = _utils.check_positive_int(
            name, "min_channels", min_channels
        )
        self.spatial_batch_norm = spatial_batch_norm
        self.zero_init_batch_norm = zero_init_batch_norm
        self.data_format = _utils.standardize_data_format(name, data_format)
        self.channel_gate = None
        self.spatial_gate = None
        if use_channel:
            self.channel_gate = ChannelAttention(
                reduction=reduction,
                pool_types=self.pool_types,
                min_channels=min_channels,
                data_format=self.data_format,
                dtype=self.dtype_policy,
                name="channel_gate",
            )
        if use_spatial:
            self.spatial_gate = SpatialAttention(
                kernel_size=kernel_size,
                use_batch_norm=spatial_batch_norm,
                zero_init_batch_norm=zero_init_batch_norm,
                data_format=self.data_format,
                dtype=self.dtype_policy,
                name="spatial_gate",
            )

    def build(self, input_shape):
        _utils.check_input_rank(type(self).__name__, input_shape, (3, 4))
        if self.channel_gate is not None:
            self.channel_gate.build(input_shape)
        if self.spatial_gate is not None:
            self.spatial_gate.build(input_shape)

    def call(self, inputs, training=None):
        x = inputs
        if self.channel_gate is not None:
            x = self.channel_gate(x)
        if self.spatial_gate is not None:
            x = self.spatial_gate(x, training=training)
        return x

    def compute_attention(self, inputs) -> dict:
        """Returns the channel weights `(batch, channels)` under "channel" and
        the spatial mask `(batch, *spatial)` under "spatial" (computed on the
        channel-refined input, as in the forward pass)."""
        _utils.ensure_built(self, inputs)
        maps = {}
        x = inputs
        if self.channel_gate is not None:
            maps.update(self.channel_gate.compute_attention(x))
            x = self.channel_gate(x)
        if self.spatial_gate is not None:
            maps.update(self.spatial_gate.compute_attention(x))
        return maps

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "reduction": self.reduction,
                "kernel_size": self.kernel_size,
                "use_channel": self.use_channel,
                "use_spatial": self.use_spatial,
                "pool_types": list(self.pool_types),
                "min_channels": self.min_channels,
                "spatial_batch_norm": self.spatial_batch_norm,
                "zero_init_batch_norm": self.zero_init_batch_norm,
                "data_format": self.data_format,
            }
        )
        return config
