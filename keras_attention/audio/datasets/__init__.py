"""Audio classification datasets as `keras.utils.PyDataset`s, one module
per dataset: `base` (`AudioClipDataset`: decoding, cache, bad files),
`folds` (official folds), `esc50`, `urbansound8k`, `speech_commands` and
`folder` (`AudioFolder`).

Every loader yields `(waveforms, labels)` batches of float32 waveforms of
shape `(batch, clip_samples)` and int32 labels; see
`keras_attention.audio.datasets.base` for clip lengths, bad files and the
cache.
"""

from keras_attention.audio.datasets.base import AudioClipDataset
from keras_attention.audio.datasets.esc50 import ESC50, esc50_cross_validation
from keras_attention.audio.datasets.folder import AudioFolder
from keras_attention.audio.datasets.folds import (
    FoldSplit,
    cross_validation_folds,
)
from keras_attention.audio.datasets.speech_commands import SpeechCommands
from keras_attention.audio.datasets.urbansound8k import (
    UrbanSound8K,
    urbansound8k_cross_validation,
)

__all__ = [
    "ESC50",
    "AudioClipDataset",
    "AudioFolder",
    "FoldSplit",
    "SpeechCommands",
    "UrbanSound8K",
    "cross_validation_folds",
    "esc50_cross_validation",
    "urbansound8k_cross_validation",
]
