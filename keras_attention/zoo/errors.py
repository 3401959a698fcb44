"""The errors of the zoo, in one place.

`PresetError` and `UnknownArgumentError` are raised by `zoo.load`; the
download errors (`WeightsIntegrityError`, `WeightsDownloadError`,
`CacheError`) by `keras_attention.zoo.download`, re-exported here;
`ModelCardError` by `keras_attention.zoo.cards`.
"""

from __future__ import annotations

from keras_attention.zoo.cards import ModelCardError
from keras_attention.zoo.download import (
    CacheError,
    WeightsDownloadError,
    WeightsIntegrityError,
)

__all__ = [
    "CacheError",
    "ModelCardError",
    "PresetError",
    "UnknownArgumentError",
    "WeightsDownloadError",
    "WeightsUnavailableError",
    "WeightsIntegrityError",
]


class PresetError(ValueError):
    """A preset folder cannot be loaded as asked.

    Raised when the preset is another architecture than the requested
    model, has no classifier head where one is needed, or holds a
    `task.json` / `config.json` that Keras cannot (or, in safe mode, will
    not) deserialize.

    Attributes:
        path: the preset folder, or the file of it that failed.
    """

    def __init__(self, message: str, *, path) -> None:
        super().__init__(message)
        self.path = str(path)


class UnknownArgumentError(TypeError, ValueError):
    """`load` got a keyword argument the model's builder does not take."""


class WeightsUnavailableError(WeightsDownloadError):
    """Published weights that cannot be had: this installation has no zoo
    folder, and the download is off or failed. The message says how to
    get them (network, `keras-attention download`, a mirror, a zoo
    folder) and that `weights=None` gives a random model."""
