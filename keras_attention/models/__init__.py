"""Model families built from the attention layers."""

from keras_attention.models.resnet import (
    IMAGE_BUILDERS,
    OFFICIAL_ECA_KERNELS,
    build_resnet,
    image_preprocessor,
)
from keras_attention.models.resnet_backbone import AttentionResNetBackbone
from keras_attention.models.resnet_classifier import (
    AttentionResNetImageClassifier,
    AttentionResNetImageClassifierPreprocessor,
    AttentionResNetImageConverter,
)

globals().update(IMAGE_BUILDERS)

__all__ = [
    "AttentionResNetBackbone",
    "AttentionResNetImageClassifier",
    "AttentionResNetImageClassifierPreprocessor",
    "AttentionResNetImageConverter",
    "IMAGE_BUILDERS",
    "OFFICIAL_ECA_KERNELS",
    "build_resnet",
    "image_preprocessor",
    *IMAGE_BUILDERS,
]
