"""Bottleneck Attention Module (Park et al., 2018,
https://arxiv.org/abs/1807.06514)."""

from __future__ import annotations

import keras
from keras import ops

from keras_attention.layers import _layout, _utils

FUSIONS = ("sum", "product")


@keras.saving.register_keras_serializable(package="keras_attention")
class BAM(keras.layers.Layer):
    """Bottleneck Attention Module.

    Two branches run in parallel on the input `F`:

    - channel: global average pool, dense `C -> C/r`, batch norm, ReLU,
      dense `C/r -> C`, giving `Mc` of shape (batch, C);
    - spatial: 1x1 conv `C -> C/r`, batch norm, ReLU, then
      `num_dilated_convs` x [3x3 conv with dilation `dilation_rate`, batch
      norm, ReLU], then a 1x1 conv to one channel, giving `Ms`.

    The paper combines them as `F' = F + F * sigmoid(Mc + Ms)`
    (`fusion="sum"`, the default), so the output lies between `F` and `2F`.
    The official code multiplies the branches instead,
    `F * (1 + sigmoid(Mc * Ms))` (`fusion="product"`; attention-module
    issue #52).

    BAM goes at the bottlenecks between network stages (in a ResNet: after
    stages 1, 2 and 3), not inside every block.

    Reference:
        Park, Woo, Lee, Kweon. "BAM: Bottleneck Attention Module".
        BMVC 2018. https://arxiv.org/abs/1807.06514

    Args:
        reduction: Channel reduction ratio of both branches. Defaults to 16.
        dilation_rate: Dilation of the spatial 3x3 convs. Defaults to 4.
        num_dilated_convs: Number of dilated convs. Defaults to 2.
        fusion: "sum" (paper) or "product" (official code). Defaults to "sum".
        min_channels: Smallest hidden width. Defaults to 1.
        batch_norm_epsilon: Defaults to 1e-5.
        batch_norm_momentum: Keras-style momentum. Defaults to 0.9.
        data_format: "channels_last" or "channels_first"; `None` uses
            `keras.config.image_data_format()`.

    Input shape:
        Rank 3 `(batch, steps, channels)` or rank 4
        `(batch, height, width, channels)` (channels first if so set).

    Output shape:
        Same as the input.

    Examples:
        >>> x = keras.random.normal((2, 16, 16, 32))
        >>> tuple(BAM(reduction=8)(x).shape)
        (2, 16, 16, 32)
    """

    def __init__(
        self,
        reduction: int = 16,
        dilation_rate: int = 4,
        num_dilated_convs: int = 2,
        fusion: str = "sum",
        min_channels: int = 1,
        batch_norm_epsilon: float = 1e-5,
        batch_norm_momentum: float = 0.9,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.reduction = _utils.check_positive_int(name, "reduction", reduction)
        self.dilation_rate = _utils.check_positive_int(
            name, "dilation_rate", dilation_rate
        )
        self.num_dilated_convs = _utils.check_positive_int(
            name, "num_dilated_convs", num_dilated_convs, minimum=0
        )
        if fusion not in FUSIONS:
            raise ValueError(
                f"{name}: Expected `fusion` to be one of {FUSIONS} ('sum' is "
                f"the paper's form, 'product' the official code's). "
                f"Received: fusion={fusion!r}"
            )
        self.fusion = fusion
        self.min_channels = _utils.check_positive_int(
            name, "min_channels", min_channels
        )
        self.batch_norm_epsilon = batch_norm_epsilon
        self.batch_norm_momentum = batch_norm_momentum
        self.data_format = _utils.standardize_data_format(name, data_format)

    def _batch_norm(self, axis, name):
        return keras.layers.BatchNormalization(
            axis=axis,
            epsilon=self.batch_norm_epsilon,
            momentum=self.batch_norm_momentum,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        name = type(self).__name__
        _utils.check_input_rank(name, input_shape, (3, 4))
        rank = len(input_shape)
        channels = _utils.num_channels(name, input_shape, self.data_format)
        hidden = _utils.reduced_width(
            channels, self.reduction, 1, self.min_channels
        )
        self.hidden_channels = hidden
        policy = self.dtype_policy
        # Channel branch.
        self.channel_reduce = keras.layers.Dense(
            hidden, dtype=policy, name="channel_reduce"
        )
        self.channel_batch_norm = self._batch_norm(-1, "channel_batch_norm")
        self.channel_expand = keras.layers.Dense(
            channels, dtype=policy, name="channel_expand"
        )
        self.channel_reduce.build((None, channels))
        self.channel_batch_norm.build((None, hidden))
        self.channel_expand.build((None, hidden))
        # Spatial branch, in channels-last where the device has no
        # channels-first convolution (see `_layout`).
        self._spatial_format = _layout.conv_data_format(self.data_format)
        axis = _utils.channel_axis(self._spatial_format, rank)
        input_shape = _layout.convert_shape(
            input_shape, self.data_format, self._spatial_format
        )
        conv_cls = keras.layers.Conv1D if rank == 3 else keras.layers.Conv2D

        def conv(filters, kernel, dilation, name):
            return conv_cls(
                filters,
                kernel,
                padding="same",
                dilation_rate=dilation,
                data_format=self._spatial_format,
                dtype=policy,
                name=name,
            )

        hidden_shape = list(input_shape)
        hidden_shape[axis] = hidden
        hidden_shape = tuple(hidden_shape)
        self.spatial_reduce = conv(hidden, 1, 1, "spatial_reduce")
        self.spatial_reduce.build(tuple(input_shape))
        self.spatial_reduce_batch_norm = self._batch_norm(
            axis, "spatial_reduce_batch_norm"
        )
        self.spatial_reduce_batch_norm.build(hidden_shape)
        self.dilated_convs = []
        self.dilated_batch_norms = []
        for i in range(self.num_dilated_convs):
            layer = conv(hidden, 3, self.dilation_rate, f"spatial_dilated_{i}")
            layer.build(hidden_shape)
            norm = self._batch_norm(axis, f"spatial_dilated_{i}_batch_norm")
            norm.build(hidden_shape)
            self.dilated_convs.append(layer)
            self.dilated_batch_norms.append(norm)
        self.spatial_project = conv(1, 1, 1, "spatial_project")
        self.spatial_project.build(hidden_shape)

    def _branches(self, inputs, training=None):
        """Returns the logits `Mc` (batch, C) and `Ms` (channel axis of 1)."""
        rank = len(inputs.shape)
        axes = _utils.spatial_axes(self.data_format, rank)
        pooled = _utils.mean_over(inputs, axes, self.compute_dtype)
        mc = self.channel_reduce(pooled)
        mc = ops.relu(self.channel_batch_norm(mc, training=training))
        mc = self.channel_expand(mc)
        ms = _layout.convert(inputs, self.data_format, self._spatial_format)
        ms = self.spatial_reduce(ms)
        ms = ops.relu(self.spatial_reduce_batch_norm(ms, training=training))
        for layer, norm in zip(
            self.dilated_convs, self.dilated_batch_norms, strict=True
        ):
            ms = ops.relu(norm(layer(ms), training=training))
        ms = self.spatial_project(ms)
        return mc, _layout.convert(ms, self._spatial_format, self.data_format)

    def call(self, inputs, training=None):
        mc, ms = self._branches(inputs, training=training)
        mc = _utils.as_broadcast(mc, self.data_format, len(inputs.shape))
        combined = mc + ms if self.fusion == "sum" else mc * ms
        return inputs * (1.0 + ops.sigmoid(combined))

    def compute_attention(self, inputs) -> dict:
        """Returns `sigmoid(Mc)` (batch, channels) under "channel" and
        `sigmoid(Ms)` (batch, *spatial) under "spatial"."""
        _utils.ensure_built(self, inputs)
        mc, ms = self._branches(inputs)
        axis = _utils.channel_axis(self.data_format, len(inputs.shape))
        return {
            "channel": ops.sigmoid(mc),
            "spatial": ops.sigmoid(ops.squeeze(ms, axis=axis)),
        }

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "reduction": self.reduction,
                "dilation_rate": self.dilation_rate,
                "num_dilated_convs": self.num_dilated_convs,
                "fusion": self.fusion,
                "min_channels": self.min_channels,
                "batch_norm_epsilon": self.batch_norm_epsilon,
                "batch_norm_momentum": self.batch_norm_momentum,
                "data_format": self.data_format,
            }
        )
        return config
