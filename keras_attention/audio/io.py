"""Audio decoding (soundfile) and polyphase resampling.

`load_audio` decodes wav, flac, ogg/vorbis, opus and (with libsndfile >=
1.1) mp3 through `soundfile`, mixes down to mono and resamples with a
polyphase filter (`soxr` when it is installed, otherwise
`scipy.signal.resample_poly`). Every decoding problem raises
`AudioDecodeError`, whose message names the file and what was wrong.

(tensorflow-io is not an option: its kernels do not load on current
TensorFlow.)
"""

from __future__ import annotations

import errno
import math
import os
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioDecodeError",
    "AudioInfo",
    "info",
    "load_audio",
    "resample",
]

# File name endings that the loaders pick up in a folder.
AUDIO_EXTENSIONS = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".aif",
    ".aiff",
    ".au",
)

_BACKENDS = ("auto", "soundfile")
_RESAMPLE_METHODS = ("auto", "soxr", "scipy")
_DTYPES = ("float32", "float64")


class AudioDecodeError(ValueError):
    """An audio file could not be decoded into usable samples.

    Attributes:
        path: the file.
        reason: what was wrong with it.
    """

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"Cannot decode audio file '{self.path}': {reason}")

    def __reduce__(self):
        # keep the two-argument constructor picklable (worker processes)
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class AudioInfo:
    """Header information of an audio file (see `info`)."""

    path: str
    sample_rate: int
    channels: int
    frames: int
    duration: float
    format: str
    subtype: str


def _soundfile():
    try:
        import soundfile
    except ImportError as err:  # pragma: no cover - depends on the env
        raise ImportError(
            "keras_attention.audio needs `soundfile` and `scipy`: "
            f"pip install 'keras-attention-zoo[audio]' ({err})"
        ) from None
    return soundfile


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "Audio file not found", path)
    if os.path.isdir(path):
        raise AudioDecodeError(path, "it is a directory, not a file")
    if os.path.getsize(path) == 0:
        raise AudioDecodeError(path, "the file is empty (0 bytes)")


def info(path: str | os.PathLike) -> AudioInfo:
    """Reads the header of an audio file without decoding the samples.

    Raises:
        FileNotFoundError: the file does not exist.
        AudioDecodeError: the file is empty or not a readable audio file.
    """
    path = os.fspath(path)
    _check_file(path)
    sf = _soundfile()
    try:
        meta = sf.info(path)
    except Exception as err:
        raise AudioDecodeError(
            path, f"not a readable audio file, or corrupt ({err})"
        ) from err
    return AudioInfo(
        path=path,
        sample_rate=int(meta.samplerate),
        channels=int(meta.channels),
        frames=int(meta.frames),
        duration=float(meta.frames) / float(meta.samplerate),
        format=str(meta.format),
        subtype=str(meta.subtype),
    )


def _soxr():
    try:
        import soxr
    except ImportError:
        return None
    return soxr


def resample(
    waveform: np.ndarray,
    orig_sr: int,
    target_sr: int,
    *,
    method: str = "auto",
) -> np.ndarray:
    """Resamples along the first axis with a polyphase filter.

    Args:
        waveform: `(samples,)` or `(samples, channels)` array.
        orig_sr: its sample rate in Hz.
        target_sr: the wanted sample rate in Hz.
        method: `"soxr"` (high-quality soxr resampler), `"scipy"`
            (`scipy.signal.resample_poly` with the rates' ratio reduced by
            their gcd, Kaiser window) or `"auto"` (soxr if installed).

    Returns:
        Float array with `ceil(samples * target_sr / orig_sr)` samples on the
        first axis, in the input's float dtype (float32 for integer input).
    """
    for arg, value in (("orig_sr", orig_sr), ("target_sr", target_sr)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(
                f"resample: Expected `{arg}` to be a positive int. "
                f"Received: {arg}={value!r}"
            )
        if value <= 0:
            raise ValueError(
                f"resample: Expected `{arg}` > 0. Received: {arg}={value!r}"
            )
    if method not in _RESAMPLE_METHODS:
        raise ValueError(
            f"resample: Expected `method` to be one of "
            f"{list(_RESAMPLE_METHODS)}. Received: method={method!r}"
        )
    x = np.asarray(waveform)
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    x = x.astype(dtype, copy=False)
    if x.ndim not in (1, 2):
        raise ValueError(
            "resample: Expected a (samples,) or (samples, channels) array. "
            f"Received: shape={x.shape}"
        )
    orig_sr, target_sr = int(orig_sr), int(target_sr)
    if orig_sr == target_sr:
        return x.copy()
    g = math.gcd(orig_sr, target_sr)
    up, down = target_sr // g, orig_sr // g
    length = -(-x.shape[0] * up // down)  # ceil
    soxr = _soxr() if method in ("auto", "soxr") else None
    if method == "soxr" and soxr is None:
        raise ImportError("resample: method='soxr' needs `pip install soxr`.")
    if soxr is not None:
        y = soxr.resample(np.ascontiguousarray(x), orig_sr, target_sr)
        y = np.asarray(y, dtype=dtype)
        if y.shape[0] < length:  # soxr rounds; keep one length convention
            pad = [(0, length - y.shape[0])] + [(0, 0)] * (y.ndim - 1)
            y = np.pad(y, pad)
        return y[:length]
    from scipy.signal import resample_poly

    y = resample_poly(x, up, down, axis=0)
    return np.asarray(y[:length], dtype=dtype)


def _read_soundfile(path: str, dtype: str) -> tuple[np.ndarray, int]:
    sf = _soundfile()
    try:
        data, sr = sf.read(path, dtype=dtype, always_2d=True)
    except Exception as err:
        raise AudioDecodeError(
            path, f"not a readable audio file, or corrupt ({err})"
        ) from err
    return data, int(sr)


def load_audio(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    mono: bool = True,
    dtype: str = "float32",
    backend: str = "auto",
) -> np.ndarray:
    """Decodes an audio file into a float array in [-1, 1].

    Args:
        path: the file (wav, flac, ogg, opus, mp3 where libsndfile supports
            it, aiff, ...).
        sample_rate: resample to this rate in Hz; `None` keeps the file's
            rate (read it with `info(path).sample_rate`).
        mono: if `True`, average the channels into one.
        dtype: `"float32"` or `"float64"`.
        backend: `"soundfile"` or `"auto"` (= soundfile).

    Returns:
        `(samples,)` when `mono`, else `(samples, channels)`.

    Raises:
        FileNotFoundError: the file does not exist.
        AudioDecodeError: the file is empty, not audio or corrupt, holds no
            samples, or holds NaN or infinite samples.
    """
    if backend not in _BACKENDS:
        raise ValueError(
            f"load_audio: Expected `backend` to be one of {list(_BACKENDS)}. "
            f"Received: backend={backend!r}"
        )
    if dtype not in _DTYPES:
        raise ValueError(
            f"load_audio: Expected `dtype` to be one of {list(_DTYPES)}. "
            f"Received: dtype={dtype!r}"
        )
    if sample_rate is not None and (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, int | np.integer)
        or sample_rate <= 0
    ):
        raise ValueError(
            "load_audio: Expected `sample_rate` to be a positive int or "
            f"None. Received: sample_rate={sample_rate!r}"
        )
    path = os.fspath(path)
    _check_file(path)
    data, sr = _read_soundfile(path, dtype)
    if data.shape[0] == 0:
        raise AudioDecodeError(path, "it contains no samples (zero length)")
    finite = np.isfinite(data)
    if not finite.all():
        raise AudioDecodeError(
            path,
            f"it contains {int(data.size - finite.sum())} NaN or infinite "
            "sample values",
        )
    if mono:
        data = data.mean(axis=1, dtype=dtype)
    if sample_rate is not None and sr != sample_rate:
        data = resample(data, sr, int(sample_rate))
    return np.ascontiguousarray(data, dtype=dtype)
