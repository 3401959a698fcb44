"""ResNet v1.5 backbones with SE, CBAM, ECA or BAM attention.

References:
    He, Zhang, Ren, Sun. "Deep Residual Learning for Image Recognition".
    CVPR 2016. https://arxiv.org/abs/1512.03385 (v1.5: the stride of a
    bottleneck block sits on its 3x3 conv, as in torchvision).
"""

from __future__ import annotations

import keras
import keras_hub

from keras_attention.layers import _layout, _utils
from keras_attention.layers.factory import ATTENTION_LAYERS, get_attention
from keras_attention.models.blocks import (
    STAGE_ATTENTION,
    batch_norm,
    block_attention,
    conv2d,
)

BLOCK_TYPES = ("basic", "bottleneck")
STEM_TYPES = ("imagenet", "small", "senet")
PADDINGS = ("same", "torch")
STRIDE_PLACES = ("3x3", "1x1")


def strided_conv(
    x, filters, kernel_size, strides, data_format, name, dtype, padding
):
    """`conv2d` with `padding`: "same" (Keras: a stride-2 conv pads only
    bottom and right) or "torch" (a strided conv pads `kernel_size // 2`
    zeros on every side first, then "valid", as PyTorch does)."""
    if padding == "torch" and strides != 1 and kernel_size > 1:
        x = keras.layers.ZeroPadding2D(
            kernel_size // 2,
            data_format=data_format,
            dtype=dtype,
            name=f"{name}_pad",
        )(x)
        conv = conv2d(
            filters, kernel_size, strides, data_format, name, dtype, "valid"
        )
    else:
        conv = conv2d(filters, kernel_size, strides, data_format, name, dtype)
    return conv(x)


def apply_block(
    x,
    filters,
    strides,
    block_type,
    data_format,
    attention=None,
    name="block",
    dtype=None,
    padding="same",
    stride_on="3x3",
    relu_before_attention=False,
):
    """One residual block; `attention` (a layer or None) goes on the
    residual branch after its last batch norm, before the addition.
    `dtype` is the dtype policy of the block's layers; `padding`,
    `stride_on` and `relu_before_attention` are the backbone's options."""
    axis = _utils.channel_axis(data_format, 4)
    expansion = 4 if block_type == "bottleneck" else 1
    out_channels = filters * expansion
    in_channels = x.shape[axis]

    def conv(y, width, kernel_size, stride, suffix):
        y = strided_conv(
            y,
            width,
            kernel_size,
            stride,
            data_format,
            f"{name}_{suffix}",
            dtype,
            padding,
        )
        bn_name = f"{name}_{suffix.replace('conv', 'bn')}"
        return batch_norm(axis, bn_name, dtype=dtype)(y)

    def relu(y, suffix):
        return keras.layers.ReLU(name=f"{name}_{suffix}", dtype=dtype)(y)

    shortcut = x
    if strides != 1 or in_channels != out_channels:
        shortcut = conv(x, out_channels, 1, strides, "shortcut_conv")
    if block_type == "basic":
        x = relu(conv(x, filters, 3, strides, "conv1"), "relu1")
        x = conv(x, filters, 3, 1, "conv2")
        last = "relu2"
    else:
        stride_1x1 = strides if stride_on == "1x1" else 1
        x = relu(conv(x, filters, 1, stride_1x1, "conv1"), "relu1")
        x = conv(x, filters, 3, strides // stride_1x1, "conv2")
        x = relu(x, "relu2")
        x = conv(x, out_channels, 1, 1, "conv3")
        last = "relu3"
    if relu_before_attention:
        x = relu(x, last)
    if attention is not None:
        x = attention(x)
    x = keras.layers.Add(name=f"{name}_add", dtype=dtype)([shortcut, x])
    return keras.layers.ReLU(name=f"{name}_out", dtype=dtype)(x)


def _stem_pool(x, stem_type, padding, data_format, dtype):
    """The stem's 3x3/2 max pool. Its input follows a ReLU (>= 0), so zero
    padding is the same as torch's -inf padding."""
    pads = None
    if stem_type == "senet":
        # ceil_mode without padding = one zero row/column at the end.
        pads = ((0, 1), (0, 1))
    elif padding == "torch":
        pads = 1
    if pads is not None:
        x = keras.layers.ZeroPadding2D(
            pads, data_format=data_format, dtype=dtype, name="stem_pool_pad"
        )(x)
    return keras.layers.MaxPooling2D(
        3,
        2,
        padding="same" if pads is None else "valid",
        data_format=data_format,
        dtype=dtype,
        name="stem_pool",
    )(x)


@keras.saving.register_keras_serializable(package="keras_attention")
class AttentionResNetBackbone(keras_hub.models.Backbone):
    """ResNet v1.5 backbone with an optional attention module.

    A keras-hub `Backbone`: a functional model from images to the last
    feature map, with stable layer names (`stem_conv`, `stage2_block1_conv1`,
    `stage2_block1_attention`, `stage1_bam`, ...), so it saves and loads as a
    keras-hub preset.

    SE, CBAM and ECA go on every residual branch, after the last batch norm
    and before the addition (as in the official code). BAM goes at the
    bottlenecks after stages 1, 2 and 3.

    Args:
        stackwise_num_blocks: Blocks per stage, e.g. `[2, 2, 2, 2]`.
        stackwise_num_filters: Width of each stage, e.g.
            `[64, 128, 256, 512]` (bottleneck blocks output 4x this).
        block_type: "basic" (ResNet-18/34) or "bottleneck" (50/101/152).
        attention: None, "se", "cbam", "eca" or "bam".
        attention_config: Extra constructor arguments for the attention
            layer, e.g. `{"reduction": 8}`. The key `"per_stage"` may hold a
            list of 4 dicts applied per stage (BAM uses the first 3), e.g.
            ECA's hand-set kernels `[{"kernel_size": 3}, ...]`.
        stem_type: "imagenet" (7x7/2 conv + 3x3/2 max pool), "small"
            (3x3/1 conv, no pool; for 32x32-class images) or "senet" (as
            "imagenet", but the pool pads nothing and rounds its output
            size up, torch's `ceil_mode=True` of the original SENets).
        padding: "same" (Keras: strided convs and the stem pool pad only
            bottom and right) or "torch" (they pad symmetrically, as
            torchvision and timm do; needed to match their weights). A
            config without the key is "same", the published presets'.
        stride_on: Where a bottleneck block strides: "3x3" (v1.5, as
            torchvision) or "1x1" (v1, the original SENets).
        relu_before_attention: A ReLU after the last batch norm of each
            residual branch, before the attention (timm's
            `legacy_seresnet18/34`). False by default.
        image_shape: Input shape, `(None, None, 3)` by default. Any number of
            channels, e.g. 1 for spectrograms.
        data_format: "channels_last" or "channels_first".
        dtype: dtype policy of the model.

    Examples:
        >>> backbone = AttentionResNetBackbone(
        ...     stackwise_num_blocks=[1, 1, 1, 1],
        ...     stackwise_num_filters=[8, 16, 32, 64],
        ...     attention="cbam",
        ...     image_shape=(32, 32, 3),
        ... )
        >>> backbone.output_shape
        (None, 1, 1, 64)
    """

    def __init__(
        self,
        stackwise_num_blocks,
        stackwise_num_filters,
        block_type: str = "basic",
        attention: str | None = None,
        attention_config: dict | None = None,
        stem_type: str = "imagenet",
        padding: str = "same",
        stride_on: str = "3x3",
        relu_before_attention: bool = False,
        image_shape=(None, None, 3),
        data_format: str | None = None,
        dtype=None,
        **kwargs,
    ):
        name = type(self).__name__
        if block_type not in BLOCK_TYPES:
            raise ValueError(
                f"{name}: Expected `block_type` in {BLOCK_TYPES}. "
                f"Received: block_type={block_type!r}"
            )
        if stem_type not in STEM_TYPES:
            raise ValueError(
                f"{name}: Expected `stem_type` in {STEM_TYPES}. "
                f"Received: stem_type={stem_type!r}"
            )
        for key, value, allowed in (
            ("padding", padding, PADDINGS),
            ("stride_on", stride_on, STRIDE_PLACES),
        ):
            if value not in allowed:
                raise ValueError(
                    f"{name}: Expected `{key}` in {allowed}. "
                    f"Received: {key}={value!r}"
                )
        if attention is not None and attention not in ATTENTION_LAYERS:
            # Raises the factory's error listing the valid names.
            get_attention(attention)
        if len(stackwise_num_blocks) != len(stackwise_num_filters):
            raise ValueError(
                f"{name}: `stackwise_num_blocks` and `stackwise_num_filters` "
                f"must have the same length. Received: "
                f"{stackwise_num_blocks} and {stackwise_num_filters}"
            )
        data_format = _utils.standardize_data_format(name, data_format)
        # Where the device has no channels-first convolution, a
        # channels-first backbone computes channels-last between two
        # transposes: same inputs, outputs, weights and config.
        layout = _layout.conv_data_format(data_format)
        axis = _utils.channel_axis(layout, 4)
        stage_attention = attention in STAGE_ATTENTION
        if attention == "cbam":
            # The official CBAM ResNets zero-initialise the spatial gate's
            # batch-norm scale, so every gate starts at sigmoid(0) = 0.5.
            attention_config = {
                "zero_init_batch_norm": True,
                **(attention_config or {}),
            }

        # === Functional model ===
        image_input = keras.layers.Input(shape=image_shape, name="images")
        x = image_input
        if layout != data_format:
            x = keras.layers.Permute(
                (2, 3, 1), dtype=dtype, name="to_channels_last"
            )(x)
        if stem_type == "small":
            x = conv2d(64, 3, 1, layout, "stem_conv", dtype)(x)
        else:
            x = strided_conv(x, 64, 7, 2, layout, "stem_conv", dtype, padding)
        x = batch_norm(axis, "stem_bn", dtype=dtype)(x)
        x = keras.layers.ReLU(name="stem_relu", dtype=dtype)(x)
        if stem_type != "small":
            x = _stem_pool(x, stem_type, padding, layout, dtype)
        num_stages = len(stackwise_num_blocks)
        for s, (blocks, filters) in enumerate(
            zip(stackwise_num_blocks, stackwise_num_filters, strict=True)
        ):
            for b in range(blocks):
                block_name = f"stage{s + 1}_block{b + 1}"
                attention_layer = None
                if not stage_attention:
                    attention_layer = block_attention(
                        attention,
                        attention_config,
                        s,
                        f"{block_name}_attention",
                        layout,
                        dtype,
                    )
                x = apply_block(
                    x,
                    filters,
                    strides=1 if (s == 0 or b > 0) else 2,
                    block_type=block_type,
                    data_format=layout,
                    attention=attention_layer,
                    name=block_name,
                    dtype=dtype,
                    padding=padding,
                    stride_on=stride_on,
                    relu_before_attention=relu_before_attention,
                )
            if stage_attention and s < num_stages - 1:
                bam = block_attention(
                    attention,
                    attention_config,
                    s,
                    f"stage{s + 1}_bam",
                    layout,
                    dtype,
                )
                x = bam(x)
        if layout != data_format:
            x = keras.layers.Permute(
                (3, 1, 2), dtype=dtype, name="to_channels_first"
            )(x)

        super().__init__(inputs=image_input, outputs=x, dtype=dtype, **kwargs)

        # === Config ===
        self.stackwise_num_blocks = list(stackwise_num_blocks)
        self.stackwise_num_filters = list(stackwise_num_filters)
        self.block_type = block_type
        self.attention = attention
        self.attention_config = attention_config
        self.stem_type = stem_type
        self.padding = padding
        self.stride_on = stride_on
        self.relu_before_attention = relu_before_attention
        self.image_shape = tuple(image_shape)
        self.data_format = data_format

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "stackwise_num_blocks": self.stackwise_num_blocks,
                "stackwise_num_filters": self.stackwise_num_filters,
                "block_type": self.block_type,
                "attention": self.attention,
                "attention_config": self.attention_config,
                "stem_type": self.stem_type,
                "padding": self.padding,
                "stride_on": self.stride_on,
                "relu_before_attention": self.relu_before_attention,
                "image_shape": list(self.image_shape),
                "data_format": self.data_format,
            }
        )
        return config
