"""Audio I/O and dataset loaders (needs the `audio` extra: soundfile, scipy).

- `load_audio`, `resample`, `info`, `AudioDecodeError`: decoding with
  soundfile and polyphase resampling.
- `ESC50`, `UrbanSound8K`, `SpeechCommands`, `AudioFolder`: datasets as
  `keras.utils.PyDataset`s yielding `(waveforms, labels)` batches, with
  `.to_tf_dataset()`; `esc50_cross_validation`,
  `urbansound8k_cross_validation` and `cross_validation_folds` for the
  official folds.
"""

from keras_attention.audio.datasets import (
    ESC50,
    AudioClipDataset,
    AudioFolder,
    FoldSplit,
    SpeechCommands,
    UrbanSound8K,
    cross_validation_folds,
    esc50_cross_validation,
    urbansound8k_cross_validation,
)
from keras_attention.audio.io import (
    AUDIO_EXTENSIONS,
    AudioDecodeError,
    AudioInfo,
    info,
    load_audio,
    resample,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "ESC50",
    "AudioClipDataset",
    "AudioDecodeError",
    "AudioFolder",
    "AudioInfo",
    "FoldSplit",
    "SpeechCommands",
    "UrbanSound8K",
    "cross_validation_folds",
    "esc50_cross_validation",
    "info",
    "load_audio",
    "resample",
    "urbansound8k_cross_validation",
]
