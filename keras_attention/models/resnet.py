"""Builders for ResNet-18/34/50/101 with and without attention.

Each builder takes keras.applications-style arguments and returns either an
`AttentionResNetImageClassifier` (`include_top=True`) or the backbone.
"""

from __future__ import annotations

import inspect
import numbers

import keras

from keras_attention.layers.factory import ATTENTION_INFO, MODEL_ATTENTIONS
from keras_attention.models.resnet_backbone import AttentionResNetBackbone
from keras_attention.models.resnet_classifier import (
    AttentionResNetImageClassifier,
    AttentionResNetImageClassifierPreprocessor,
    AttentionResNetImageConverter,
)
from keras_attention.models.specs import ModelSpec, stage_layout

RESNET_DEPTHS = {
    18: ("basic", [2, 2, 2, 2]),
    34: ("basic", [3, 4, 6, 3]),
    50: ("bottleneck", [3, 4, 6, 3]),
    101: ("bottleneck", [3, 4, 23, 3]),
}
RESNET_FILTERS = [64, 128, 256, 512]
ATTENTIONS = MODEL_ATTENTIONS
# Hand-set ECA kernel sizes per stage of the official ECA-Net checkpoints.
OFFICIAL_ECA_KERNELS = {18: "3577", 34: "3357", 50: "3557", 101: "3357"}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MIN_IMAGE_SIZE = 32
# Largest head the builders and `zoo.load` accept: far above any dataset
# in use (ImageNet-21k has 21,841 classes), small enough that the head of
# the widest backbone (2048 features) stays under 1 GB of float32.
MAX_NUM_CLASSES = 100_000


def check_num_classes(num_classes) -> int:
    """Returns `num_classes` as an int, or raises `ValueError` unless it is
    an integer (NumPy integers too, not bool) from 1 to `MAX_NUM_CLASSES`.

    The bound is checked before anything is built: a head of 10**7 classes
    would otherwise allocate tens of GB before failing."""
    if isinstance(num_classes, bool) or not isinstance(
        num_classes, numbers.Integral
    ):
        raise ValueError(
            "Expected `num_classes` to be a positive integer. "
            f"Received: num_classes={num_classes!r} "
            f"(of type {type(num_classes).__name__})"
        )
    if not 1 <= num_classes <= MAX_NUM_CLASSES:
        raise ValueError(
            f"Expected 1 <= `num_classes` <= {MAX_NUM_CLASSES:,} (the "
            "largest head the zoo builds; a wider one would need gigabytes "
            f"of memory). Received: num_classes={num_classes!r}"
        )
    return int(num_classes)


def image_preprocessor(
    num_channels: int = 3,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    image_size=None,
    data_format=None,
) -> AttentionResNetImageClassifierPreprocessor:
    """A preprocessor mapping [0, 255] images to `(x / 255 - mean) / std`,
    adapting grayscale/RGB to `num_channels` and resizing to `image_size`
    (None keeps the input size), for images in `data_format`."""
    mean = list(mean)[:num_channels] if num_channels <= len(mean) else mean
    std = list(std)[:num_channels] if num_channels <= len(std) else std
    converter = AttentionResNetImageConverter(
        num_channels=num_channels,
        image_size=image_size,
        scale=[1.0 / (255.0 * s) for s in std],
        offset=[-m / s for m, s in zip(mean, std, strict=True)],
        data_format=data_format,
    )
    return AttentionResNetImageClassifierPreprocessor(converter)


def _eca_per_stage(kernel_sizes):
    if kernel_sizes is None:
        return None
    sizes = [int(k) for k in kernel_sizes]
    if len(sizes) != 4:
        raise ValueError(
            "Expected 4 ECA kernel sizes (one per stage), e.g. '3577'. "
            f"Received: eca_kernel_sizes={kernel_sizes!r}"
        )
    return [{"kernel_size": k} for k in sizes]


def check_input_shape(input_shape, data_format):
    if input_shape is None:
        return (
            (None, None, 3)
            if data_format != "channels_first"
            else (3, None, None)
        )
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(
            "Expected `input_shape` (height, width, channels). "
            f"Received: input_shape={input_shape}"
        )
    spatial = (
        input_shape[1:] if data_format == "channels_first" else input_shape[:2]
    )
    for size in spatial:
        if size is not None and size < MIN_IMAGE_SIZE:
            raise ValueError(
                f"Expected images of at least {MIN_IMAGE_SIZE}x"
                f"{MIN_IMAGE_SIZE}. Received: input_shape={input_shape}"
            )
    return input_shape


def build_resnet(
    depth: int,
    attention: str | None = None,
    *,
    include_top: bool = True,
    input_shape=None,
    pooling: str | None = None,
    num_classes: int = 1000,
    classifier_activation=None,
    preprocessor=None,
    attention_config: dict | None = None,
    eca_kernel_sizes=None,
    se_divisor: int | None = None,
    stem_type: str = "imagenet",
    padding: str = "same",
    stride_on: str = "3x3",
    relu_before_attention: bool = False,
    dropout: float = 0.0,
    class_names=None,
    data_format: str | None = None,
    dtype=None,
    head_dtype=None,
    name: str | None = None,
) -> keras.Model:
    """Builds a ResNet v1.5 of `depth` 18, 34, 50 or 101 with `attention`.

    Args:
        depth: 18, 34, 50 or 101.
        attention: None, "se", "cbam", "eca" or "bam".
        include_top: Return the classifier (True) or the backbone.
        input_shape: `(height, width, channels)`; any size from 32x32, any
            channel count. Defaults to `(None, None, 3)`.
        pooling: With `include_top=False`: None (feature map), "avg" or
            "max" (a vector). With `include_top=True`: the head's pooling
            ("avg" when None).
        num_classes: Classes of the head.
        classifier_activation: Head activation; None gives logits.
        preprocessor: A preprocessor for the classifier; by default
            ImageNet mean/std normalisation of [0, 255] images.
        attention_config: Extra attention-layer arguments.
        eca_kernel_sizes: Per-stage ECA kernels, e.g. "3577" (the official
            checkpoints'); None adapts them to the channel count.
        se_divisor: With `attention="se"`: round the SE hidden width to a
            multiple of this (timm's `seresnet*`: 8); None keeps C/16.
        stem_type: "imagenet", "small" (3x3/1 stem without pooling) or
            "senet" (the original SENets' ceil-mode stem pool).
        padding: "same" (Keras) or "torch" (symmetric padding of strided
            convs and the stem pool, as torchvision/timm; needed for
            their weights).
        stride_on: "3x3" (v1.5) or "1x1" (v1: the original SENet-50/101).
        relu_before_attention: A ReLU before the attention of each block
            (timm's `legacy_seresnet18/34`).
        dropout: Dropout before the head.
        class_names: Optional label names of the head.
        data_format: "channels_last" or "channels_first".
        dtype: dtype policy, e.g. `"mixed_bfloat16"` for mixed precision
            (variables stay float32).
        head_dtype: dtype policy of the classifier head (pooling, dropout,
            logits); defaults to `dtype`. `"float32"` keeps the logits in
            float32 under mixed precision. Keras-hub does not serialize it:
            a reloaded classifier's head follows the backbone's policy.
        name: Model name.
    """
    if depth not in RESNET_DEPTHS:
        raise ValueError(
            f"Expected a ResNet depth in {sorted(RESNET_DEPTHS)}. "
            f"Received: depth={depth!r}"
        )
    if attention not in ATTENTIONS:
        raise ValueError(
            f"Expected `attention` in {ATTENTIONS}. "
            f"Received: attention={attention!r}"
        )
    if include_top:
        num_classes = check_num_classes(num_classes)
    data_format = data_format or keras.config.image_data_format()
    input_shape = check_input_shape(input_shape, data_format)
    block_type, blocks = RESNET_DEPTHS[depth]
    config = dict(attention_config or {})
    if attention == "eca" and eca_kernel_sizes is not None:
        config["per_stage"] = _eca_per_stage(eca_kernel_sizes)
    if se_divisor is not None:
        if attention != "se":
            raise ValueError(
                "`se_divisor` sets the width of SE attention: it needs "
                f"attention='se'. Received: attention={attention!r}"
            )
        config["divisor"] = se_divisor
    backbone = AttentionResNetBackbone(
        stackwise_num_blocks=blocks,
        stackwise_num_filters=RESNET_FILTERS,
        block_type=block_type,
        attention=attention,
        attention_config=config or None,
        stem_type=stem_type,
        padding=padding,
        stride_on=stride_on,
        relu_before_attention=relu_before_attention,
        image_shape=input_shape,
        data_format=data_format,
        dtype=dtype,
        name=f"{name}_backbone" if name and include_top else name,
    )
    return add_resnet_head(
        backbone,
        include_top=include_top,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        preprocessor=preprocessor,
        dropout=dropout,
        class_names=class_names,
        dtype=dtype,
        head_dtype=head_dtype,
        name=name,
    )


def add_resnet_head(
    backbone: AttentionResNetBackbone,
    *,
    include_top: bool = True,
    pooling: str | None = None,
    num_classes: int = 1000,
    classifier_activation=None,
    preprocessor=None,
    dropout: float = 0.0,
    class_names=None,
    dtype=None,
    head_dtype=None,
    name: str | None = None,
) -> keras.Model:
    """What `build_resnet` puts on its backbone: the classifier
    (`include_top=True`), or the backbone itself / with a global pooling.

    Also used by `zoo.load` to put a new head on pretrained backbones.
    Arguments as for `build_resnet`.
    """
    data_format = backbone.data_format
    if not include_top:
        if pooling is None:
            return backbone
        if pooling not in ("avg", "max"):
            raise ValueError(
                "Expected `pooling` None, 'avg' or 'max'. "
                f"Received: pooling={pooling!r}"
            )
        pool_cls = (
            keras.layers.GlobalAveragePooling2D
            if pooling == "avg"
            else keras.layers.GlobalMaxPooling2D
        )
        outputs = pool_cls(data_format=data_format, name="pooler")(
            backbone.output
        )
        return keras.Model(backbone.input, outputs, name=name)
    num_classes = check_num_classes(num_classes)
    channel_axis = 0 if data_format == "channels_first" else -1
    if preprocessor is None:
        preprocessor = image_preprocessor(
            num_channels=backbone.image_shape[channel_axis],
            data_format=data_format,
        )
    return AttentionResNetImageClassifier(
        backbone=backbone,
        num_classes=num_classes,
        preprocessor=preprocessor,
        pooling=pooling or "avg",
        activation=classifier_activation,
        dropout=dropout,
        class_names=class_names,
        dtype=dtype,
        head_dtype=head_dtype,
        name=name,
    )


def builder_signature(build) -> inspect.Signature:
    """The signature of `build` without its leading `depth` and
    `attention`: what a registered builder such as `resnet18` takes."""
    signature = inspect.signature(build)
    params = [
        p
        for p in signature.parameters.values()
        if p.name not in ("depth", "attention")
    ]
    return signature.replace(parameters=params)


def _make_builder(depth: int, attention: str | None):
    prefix = f"{attention}_" if attention else ""
    model_name = f"{prefix}resnet{depth}"

    def builder(**kwargs) -> keras.Model:
        kwargs.setdefault("name", model_name)
        return build_resnet(depth, attention, **kwargs)

    label = ATTENTION_INFO[attention].label
    builder.__name__ = model_name
    builder.__qualname__ = model_name
    # The keyword arguments it takes, for `inspect.signature` (`zoo.load`
    # checks overrides against them).
    builder.__signature__ = builder_signature(build_resnet)
    builder.__doc__ = (
        f"ResNet-{depth} v1.5, {label}.\n\n"
        "Takes the keyword arguments of `build_resnet` (include_top, "
        "input_shape, pooling, num_classes, classifier_activation, ...)."
    )
    return model_name, builder


def resnet_layout(class_name: str, kind: str, depth: int) -> dict:
    """The `ModelSpec.architecture` of a ResNet-`depth` backbone of
    `class_name` ("image" or "audio" `kind`, for messages)."""
    block_type, blocks = RESNET_DEPTHS[depth]
    return stage_layout(
        class_name,
        f"{kind} ResNet-{depth}",
        block_type=block_type,
        stackwise_num_blocks=blocks,
    )


def _image_spec(depth: int, attention: str | None) -> ModelSpec:
    name, builder = _make_builder(depth, attention)
    info = ATTENTION_INFO[attention]
    return ModelSpec(
        name=name,
        task="image",
        family="resnet",
        attention=attention,
        builder=builder,
        input_shape=(224, 224, 3),
        description=f"ResNet-{depth} v1.5, {info.label}",
        paper=info.paper,
        architecture=resnet_layout("AttentionResNetBackbone", "image", depth),
    )


# The registered image models, as data (`keras_attention.zoo` lists them).
MODEL_SPECS = tuple(
    _image_spec(depth, attention)
    for attention in ATTENTIONS
    for depth in RESNET_DEPTHS
)
IMAGE_BUILDERS = {spec.name: spec.builder for spec in MODEL_SPECS}
globals().update(IMAGE_BUILDERS)
