"""Attention layers (SE, CBAM, ECA, BAM) and the audio front end."""

from keras_attention.layers.bam import BAM
from keras_attention.layers.cbam import CBAM
from keras_attention.layers.channel_attention import ChannelAttention
from keras_attention.layers.eca import ECA, adaptive_kernel_size
from keras_attention.layers.factory import ATTENTION_LAYERS, get_attention
from keras_attention.layers.log_mel import LogMelSpectrogram
from keras_attention.layers.spatial_attention import SpatialAttention
from keras_attention.layers.spec_augment import SpecAugment
from keras_attention.layers.squeeze_excite import SqueezeExcite

__all__ = [
    "ATTENTION_LAYERS",
    "BAM",
    "CBAM",
    "ChannelAttention",
    "ECA",
    "LogMelSpectrogram",
    "SpatialAttention",
    "SpecAugment",
    "SqueezeExcite",
    "adaptive_kernel_size",
    "get_attention",
]
