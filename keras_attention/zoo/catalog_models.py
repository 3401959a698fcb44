"""Registers every model family of the zoo."""

from __future__ import annotations

from keras_attention.models.resnet import (
    ATTENTIONS,
    IMAGE_BUILDERS,
    RESNET_DEPTHS,
)
from keras_attention.zoo.registry import ModelSpec, register_model

ATTENTION_PAPERS = {
    None: "https://arxiv.org/abs/1512.03385",
    "se": "https://arxiv.org/abs/1709.01507",
    "cbam": "https://arxiv.org/abs/1807.06521",
    "eca": "https://arxiv.org/abs/1910.03151",
    "bam": "https://arxiv.org/abs/1807.06514",
}
ATTENTION_LABELS = {
    None: "no attention",
    "se": "Squeeze-and-Excitation",
    "cbam": "CBAM",
    "eca": "ECA",
    "bam": "BAM",
}


def _register_image_models() -> None:
    for name, builder in IMAGE_BUILDERS.items():
        attention = next(
            (a for a in ATTENTIONS if a and name.startswith(f"{a}_")), None
        )
        depth = name.rsplit("resnet", 1)[1]
        register_model(
            ModelSpec(
                name=name,
                task="image",
                family="resnet",
                attention=attention,
                builder=builder,
                input_shape=(224, 224, 3),
                description=(
                    f"ResNet-{depth} v1.5, {ATTENTION_LABELS[attention]}"
                ),
                paper=ATTENTION_PAPERS[attention],
                architecture=_resnet_layout(
                    "AttentionResNetBackbone", "image", int(depth)
                ),
            )
        )


def _resnet_layout(class_name: str, kind: str, depth: int) -> dict:
    block_type, blocks = RESNET_DEPTHS[depth]
    return {
        "class_name": class_name,
        "label": f"{kind} ResNet-{depth}",
        "config": {"block_type": block_type, "stackwise_num_blocks": blocks},
    }


_register_image_models()


PANNS_PAPER = "https://arxiv.org/abs/1912.10211"
AUDIO_INPUT_SHAPE = (64000,)  # 4 s at 16 kHz.


def _register_audio_models() -> None:
    from keras_attention.models.audio import (
        AUDIO_ATTENTIONS,
        AUDIO_RESNET_BUILDERS,
        PANNS_BUILDERS,
        PANNS_CNNS,
    )

    for family, builders in (
        ("panns_cnn", PANNS_BUILDERS),
        ("resnet_audio", AUDIO_RESNET_BUILDERS),
    ):
        for name, builder in builders.items():
            attention = next(
                (a for a in AUDIO_ATTENTIONS if a and name.startswith(f"{a}_")),
                None,
            )
            base = name.removeprefix(f"{attention}_") if attention else name
            if family == "panns_cnn":
                depth = int(base.removeprefix("cnn"))
                title = f"PANNs CNN{depth}"
                block_type, filters, pools = PANNS_CNNS[depth]
                architecture = {
                    "class_name": "AudioCNNBackbone",
                    "label": f"audio CNN{depth}",
                    "config": {
                        "block_type": block_type,
                        "stackwise_num_filters": filters,
                        "stackwise_pool_sizes": pools,
                    },
                }
            else:
                depth = base.removeprefix("resnet").removesuffix("_audio")
                title = f"ResNet-{depth} on log-mel"
                architecture = _resnet_layout(
                    "AudioResNetBackbone", "audio", int(depth)
                )
            # `paper` holds one link (the docs render it as <link>): the
            # PANNs paper for the plain models, the attention paper else.
            paper = ATTENTION_PAPERS[attention] if attention else PANNS_PAPER
            register_model(
                ModelSpec(
                    name=name,
                    task="audio",
                    family=family,
                    attention=attention,
                    builder=builder,
                    input_shape=AUDIO_INPUT_SHAPE,
                    description=(
                        f"{title}, {ATTENTION_LABELS[attention]}, "
                        "16 kHz waveform"
                    ),
                    paper=paper,
                    input_kind="waveform",
                    architecture=architecture,
                )
            )


_register_audio_models()
