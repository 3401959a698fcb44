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
]
# The named builders (resnet18, cbam_resnet50, ...).
__all__ += list(IMAGE_BUILDERS)

# === Audio models ===
from keras_attention.models.audio import (  # noqa: E402
    AUDIO_BUILDERS,
    AUDIO_RESNET_BUILDERS,
    PANNS_BUILDERS,
    build_audio_resnet,
    build_panns_cnn,
)
from keras_attention.models.audio_backbone import (  # noqa: E402
    AudioCNNBackbone,
    AudioResNetBackbone,
    WaveformPad,
)
from keras_attention.models.audio_classifier import (  # noqa: E402
    AudioClassifier,
    AudioCNNClassifier,
    AudioResNetClassifier,
    PANNsPooling,
)

globals().update(AUDIO_BUILDERS)

__all__ += [
    "AUDIO_BUILDERS",
    "AUDIO_RESNET_BUILDERS",
    "AudioCNNBackbone",
    "AudioCNNClassifier",
    "AudioClassifier",
    "AudioResNetBackbone",
    "AudioResNetClassifier",
    "PANNS_BUILDERS",
    "PANNsPooling",
    "WaveformPad",
    "build_audio_resnet",
    "build_panns_cnn",
]
# The named builders (cnn10, cbam_cnn10, resnet18_audio, ...).
__all__ += list(AUDIO_BUILDERS)
