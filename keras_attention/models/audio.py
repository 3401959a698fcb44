"""Builders for the audio models: PANNs CNN6/10/14 and spectrogram ResNets,
each plain or with SE, CBAM, ECA or BAM attention.

Every builder returns a waveform-input model: an `AudioCNNClassifier` /
`AudioResNetClassifier` (`include_top=True`) or the backbone. The log-mel
front end is part of the model.
"""

from __future__ import annotations

import keras

from keras_attention.layers.factory import ATTENTION_INFO, MODEL_ATTENTIONS
from keras_attention.models.audio_backbone import (
    AudioCNNBackbone,
    AudioResNetBackbone,
)
from keras_attention.models.audio_classifier import (
    AudioCNNClassifier,
    AudioResNetClassifier,
    PANNsPooling,
)
from keras_attention.models.resnet import (
    RESNET_DEPTHS,
    RESNET_FILTERS,
    builder_signature,
    check_num_classes,
    resnet_layout,
)
from keras_attention.models.specs import ModelSpec, stage_layout

AUDIO_ATTENTIONS = MODEL_ATTENTIONS
# (block_type, filters, pool sizes) of the PANNs CNNs.
PANNS_CNNS = {
    6: ("single5x5", [64, 128, 256, 512], [2, 2, 2, 2]),
    10: ("double3x3", [64, 128, 256, 512], [2, 2, 2, 2]),
    14: ("double3x3", [64, 128, 256, 512, 1024, 2048], [2, 2, 2, 2, 2, 1]),
}
AUDIO_RESNET_DEPTHS = (18, 34, 50)
DEFAULT_SAMPLE_RATE = 16000
DEFAULT_CLIP_SECONDS = 4.0
DEFAULT_NUM_CLASSES = 527  # AudioSet, as PANNs.


def _waveform_shape(input_shape):
    if input_shape is None:
        return (None,)
    input_shape = tuple(input_shape)
    if len(input_shape) != 1:
        raise ValueError(
            "Expected `input_shape` of one mono waveform, `(samples,)` or "
            f"`(None,)`. Received: input_shape={input_shape}"
        )
    return input_shape


def add_audio_head(
    backbone,
    *,
    include_top: bool = True,
    pooling: str | None = None,
    num_classes: int = DEFAULT_NUM_CLASSES,
    classifier_activation=None,
    dropout: float = 0.5,
    class_names=None,
    clip_seconds: float | None = DEFAULT_CLIP_SECONDS,
    dtype=None,
    head_dtype=None,
    name: str | None = None,
) -> keras.Model:
    """What the audio builders put on their backbone: the PANNs-head
    classifier (`include_top=True`; `AudioCNNClassifier` or
    `AudioResNetClassifier` after the backbone's type), or the backbone
    itself / with a global pooling.

    Also used by `zoo.load` to put a new head on pretrained backbones.
    Arguments as for `build_panns_cnn`.
    """
    if not include_top:
        if pooling is None:
            return backbone
        if pooling not in ("panns", "avg", "max"):
            raise ValueError(
                "Expected `pooling` None, 'panns', 'avg' or 'max'. "
                f"Received: pooling={pooling!r}"
            )
        layer = {
            "panns": lambda: PANNsPooling(name="pooler"),
            "avg": lambda: keras.layers.GlobalAveragePooling2D(name="pooler"),
            "max": lambda: keras.layers.GlobalMaxPooling2D(name="pooler"),
        }[pooling]()
        return keras.Model(backbone.input, layer(backbone.output), name=name)
    num_classes = check_num_classes(num_classes)
    classifier_cls = (
        AudioResNetClassifier
        if isinstance(backbone, AudioResNetBackbone)
        else AudioCNNClassifier
    )
    return classifier_cls(
        backbone=backbone,
        num_classes=num_classes,
        activation=classifier_activation,
        dropout=dropout,
        class_names=class_names,
        clip_seconds=clip_seconds,
        dtype=dtype,
        head_dtype=head_dtype,
        name=name,
    )


def _build_audio_model(
    backbone_cls,
    attention,
    *,
    include_top: bool,
    input_shape,
    pooling,
    num_classes,
    classifier_activation,
    dropout,
    class_names,
    clip_seconds,
    dtype,
    head_dtype,
    name,
    **backbone_kwargs,
) -> keras.Model:
    """The body both audio builders share: checks, the backbone (with its
    front-end keyword arguments, see `FrontEnd.resolve`), then the head."""
    if attention not in AUDIO_ATTENTIONS:
        raise ValueError(
            f"Expected `attention` in {AUDIO_ATTENTIONS}. "
            f"Received: attention={attention!r}"
        )
    if include_top:
        num_classes = check_num_classes(num_classes)
    backbone = backbone_cls(
        attention=attention,
        waveform_shape=_waveform_shape(input_shape),
        dtype=dtype,
        name=f"{name}_backbone" if name and include_top else name,
        **backbone_kwargs,
    )
    return add_audio_head(
        backbone,
        include_top=include_top,
        pooling=pooling,
        num_classes=num_classes,
        classifier_activation=classifier_activation,
        dropout=dropout,
        class_names=class_names,
        clip_seconds=clip_seconds,
        dtype=dtype,
        head_dtype=head_dtype,
        name=name,
    )


def _check_depth(depth, depths, what: str) -> None:
    if depth not in depths:
        raise ValueError(
            f"Expected {what} depth in {sorted(depths)}. "
            f"Received: depth={depth!r}"
        )


def _builder_options(arguments: dict, *local_names: str) -> dict:
    """A builder's own arguments (its `locals()` less the names it set
    itself), for `_build_audio_model`."""
    return {k: v for k, v in arguments.items() if k not in local_names}


def build_panns_cnn(
    depth: int,
    attention: str | None = None,
    *,
    include_top: bool = True,
    input_shape=None,
    pooling: str | None = None,
    num_classes: int = DEFAULT_NUM_CLASSES,
    classifier_activation=None,
    dropout: float = 0.5,
    block_dropout: float = 0.2,
    class_names=None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    clip_seconds: float | None = DEFAULT_CLIP_SECONDS,
    n_fft: int | None = None,
    hop_length: int | None = None,
    n_mels: int = 64,
    fmin: float = 50.0,
    fmax: float | None = None,
    mel_scale: str = "slaney",
    spec_augment=True,
    attention_config: dict | None = None,
    dtype=None,
    head_dtype=None,
    name: str | None = None,
) -> keras.Model:
    """Builds PANNs CNN6, CNN10 or CNN14 on raw waveforms.

    Args:
        depth: 6, 10 or 14.
        attention: None, "se", "cbam", "eca" or "bam".
        include_top: Return the classifier (True) or the backbone.
        input_shape: `(samples,)`, or None / `(None,)` for clips of any
            length (clips shorter than the model's `min_samples` are
            zero-padded inside the model).
        pooling: With `include_top=False`: None (feature map), "panns"
            (mean over mels, max + mean over time), "avg" or "max".
        num_classes: Classes of the head (527: AudioSet).
        classifier_activation: Head activation; None gives logits, use
            "sigmoid" for multi-label tagging.
        dropout: Dropout around the embedding layer (PANNs: 0.5).
        block_dropout: Dropout after every conv block (PANNs: 0.2).
        class_names: Optional label names of the head.
        sample_rate: Sample rate of the input (16 kHz by default; 32 kHz is
            the PANNs AudioSet setting).
        clip_seconds: Clip length the model is meant for (metadata).
        n_fft, hop_length, fmax: Front-end overrides; None picks PANNs'
            values for the sample rate.
        n_mels, fmin, mel_scale: Front-end settings.
        spec_augment: True (PANNs' SpecAugment in training), False/None, or
            a dict of `SpecAugment` arguments.
        attention_config: Extra attention-layer arguments.
        dtype: dtype policy, e.g. `"mixed_bfloat16"` (the log-mel front end
            stays float32).
        head_dtype: dtype policy of the head; defaults to `dtype`.
            `"float32"` keeps the logits in float32 under mixed precision.
        name: Model name.
    """
    _check_depth(depth, PANNS_CNNS, "a PANNs CNN")
    block_type, filters, pools = PANNS_CNNS[depth]
    options = _builder_options(
        locals(), "depth", "block_type", "filters", "pools"
    )
    return _build_audio_model(
        AudioCNNBackbone,
        stackwise_num_filters=filters,
        block_type=block_type,
        stackwise_pool_sizes=pools,
        **options,
    )


def build_audio_resnet(
    depth: int,
    attention: str | None = None,
    *,
    include_top: bool = True,
    input_shape=None,
    pooling: str | None = None,
    num_classes: int = DEFAULT_NUM_CLASSES,
    classifier_activation=None,
    dropout: float = 0.5,
    class_names=None,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    clip_seconds: float | None = DEFAULT_CLIP_SECONDS,
    n_fft: int | None = None,
    hop_length: int | None = None,
    n_mels: int = 64,
    fmin: float = 50.0,
    fmax: float | None = None,
    mel_scale: str = "slaney",
    spec_augment=True,
    attention_config: dict | None = None,
    stem_type: str = "imagenet",
    dtype=None,
    head_dtype=None,
    name: str | None = None,
) -> keras.Model:
    """Builds an attention ResNet-18/34/50 on log-mel spectrograms.

    The image ResNet (`AttentionResNetBackbone`, one input channel) behind
    the same waveform front end as the PANNs CNNs, with the PANNs head.
    Arguments as for `build_panns_cnn`, plus `stem_type` ("imagenet" or
    "small").
    """
    _check_depth(depth, AUDIO_RESNET_DEPTHS, "an audio ResNet")
    block_type, blocks = RESNET_DEPTHS[depth]
    options = _builder_options(locals(), "depth", "block_type", "blocks")
    return _build_audio_model(
        AudioResNetBackbone,
        stackwise_num_blocks=blocks,
        stackwise_num_filters=RESNET_FILTERS,
        block_type=block_type,
        **options,
    )


def _make_builder(kind: str, depth: int, attention: str | None):
    prefix = f"{attention}_" if attention else ""
    if kind == "cnn":
        model_name = f"{prefix}cnn{depth}"
        build = build_panns_cnn
        title = f"PANNs CNN{depth}"
    else:
        model_name = f"{prefix}resnet{depth}_audio"
        build = build_audio_resnet
        title = f"ResNet-{depth} on log-mel spectrograms"

    def builder(**kwargs) -> keras.Model:
        kwargs.setdefault("name", model_name)
        return build(depth, attention, **kwargs)

    builder.__name__ = model_name
    builder.__qualname__ = model_name
    # The keyword arguments it takes, for `inspect.signature` (`zoo.load`
    # checks overrides against them).
    builder.__signature__ = builder_signature(build)
    builder.__doc__ = (
        f"{title}, {ATTENTION_INFO[attention].label}, on raw waveforms."
        "\n\n"
        f"Takes the keyword arguments of `{build.__name__}` (num_classes, "
        "input_shape, include_top, sample_rate, ...)."
    )
    return model_name, builder


PANNS_PAPER = "https://arxiv.org/abs/1912.10211"
AUDIO_INPUT_SHAPE = (64000,)  # 4 s at 16 kHz.


def _audio_spec(kind: str, depth: int, attention: str | None) -> ModelSpec:
    name, builder = _make_builder(kind, depth, attention)
    if kind == "cnn":
        family, title = "panns_cnn", f"PANNs CNN{depth}"
        block_type, filters, pools = PANNS_CNNS[depth]
        architecture = stage_layout(
            "AudioCNNBackbone",
            f"audio CNN{depth}",
            block_type=block_type,
            stackwise_num_filters=filters,
            stackwise_pool_sizes=pools,
        )
    else:
        family, title = "resnet_audio", f"ResNet-{depth} on log-mel"
        architecture = resnet_layout("AudioResNetBackbone", "audio", depth)
    info = ATTENTION_INFO[attention]
    return ModelSpec(
        name=name,
        task="audio",
        family=family,
        attention=attention,
        builder=builder,
        input_shape=AUDIO_INPUT_SHAPE,
        description=f"{title}, {info.label}, 16 kHz waveform",
        # One link (the docs render it as <link>): the PANNs paper for the
        # plain models, the attention paper else.
        paper=info.paper if attention else PANNS_PAPER,
        input_kind="waveform",
        architecture=architecture,
    )


# The registered audio models, as data (`keras_attention.zoo` lists them).
PANNS_SPECS = tuple(
    _audio_spec("cnn", depth, attention)
    for attention in AUDIO_ATTENTIONS
    for depth in PANNS_CNNS
)
AUDIO_RESNET_SPECS = tuple(
    _audio_spec("resnet", depth, attention)
    for attention in AUDIO_ATTENTIONS
    for depth in AUDIO_RESNET_DEPTHS
)
MODEL_SPECS = PANNS_SPECS + AUDIO_RESNET_SPECS
PANNS_BUILDERS = {spec.name: spec.builder for spec in PANNS_SPECS}
AUDIO_RESNET_BUILDERS = {spec.name: spec.builder for spec in AUDIO_RESNET_SPECS}
AUDIO_BUILDERS = {**PANNS_BUILDERS, **AUDIO_RESNET_BUILDERS}
globals().update(AUDIO_BUILDERS)
