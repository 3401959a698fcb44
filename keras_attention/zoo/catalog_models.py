"""Registers every model family of the zoo."""

from __future__ import annotations

from keras_attention.models.resnet import ATTENTIONS, IMAGE_BUILDERS
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
            )
        )


_register_image_models()


PANNS_PAPER = "https://arxiv.org/abs/1912.10211"
AUDIO_INPUT_SHAPE = (64000,)  # 4 s at 16 kHz.


def _register_audio_models() -> None:
    from keras_attention.models.audio import (
        AUDIO_ATTENTIONS,
        AUDIO_RESNET_BUILDERS,
        PANNS_BUILDERS,
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
                title = f"PANNs CNN{base.removeprefix('cnn')}"
            else:
                depth = base.removeprefix("resnet").removesuffix("_audio")
                title = f"ResNet-{depth} on log-mel"
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
                )
            )


_register_audio_models()
