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
