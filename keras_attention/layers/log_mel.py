"""Log-mel spectrogram front end (the PANNs recipe by default)."""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np
from keras import ops

from keras_attention.layers import _utils

_WINDOWS = ("hann", "hamming", None)
_MEL_SCALES = ("slaney", "htk")
_MEL_NORMS = ("auto", "slaney", None)
_LOG_SCALES = ("db", "log", None)

# Slaney's mel scale (Auditory Toolbox, librosa's default): linear below
# 1 kHz with 3 mels per 200 Hz, logarithmic above with 27 mels per factor
# 6.4 in frequency.
_SLANEY_HZ_PER_MEL = 200.0 / 3.0
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL
_SLANEY_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(freqs: np.ndarray | float, mel_scale: str = "slaney"):
    """Converts frequencies in Hz to mels (`"slaney"` or `"htk"` formula)."""
    freqs = np.asarray(freqs, dtype=np.float64)
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + freqs / 700.0)
    linear = freqs / _SLANEY_HZ_PER_MEL
    safe = np.maximum(freqs, _SLANEY_BREAK_HZ)
    log = _SLANEY_BREAK_MEL + np.log(safe / _SLANEY_BREAK_HZ) / _SLANEY_LOG_STEP
    return np.where(freqs >= _SLANEY_BREAK_HZ, log, linear)


def mel_to_hz(mels: np.ndarray | float, mel_scale: str = "slaney"):
    """Converts mels back to Hz; the inverse of `hz_to_mel`."""
    mels = np.asarray(mels, dtype=np.float64)
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    linear = mels * _SLANEY_HZ_PER_MEL
    log = _SLANEY_BREAK_HZ * np.exp(
        _SLANEY_LOG_STEP * (mels - _SLANEY_BREAK_MEL)
    )
    return np.where(mels >= _SLANEY_BREAK_MEL, log, linear)


def mel_filterbank(
    sample_rate: int,
    n_fft: int,
    n_mels: int,
    fmin: float,
    fmax: float,
    mel_scale: str = "slaney",
    norm: str | None = "slaney",
) -> np.ndarray:
    """Triangular mel filters, shape `(n_fft // 2 + 1, n_mels)`, float32.

    Filter `m` rises linearly from the `m`-th to the `(m+1)`-th of
    `n_mels + 2` points equally spaced on the mel scale between `fmin` and
    `fmax`, and falls to zero at the `(m+2)`-th. With `norm="slaney"` each
    filter is divided by half its bandwidth in Hz so that it has (about) unit
    area, as librosa does by default.
    """
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    mel_points = np.linspace(
        hz_to_mel(fmin, mel_scale), hz_to_mel(fmax, mel_scale), n_mels + 2
    )
    hz_points = mel_to_hz(mel_points, mel_scale)
    widths = np.diff(hz_points)
    # distance of each FFT bin to each mel point: (n_mels + 2, n_freqs)
    offsets = hz_points[:, None] - fft_freqs[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= (2.0 / (hz_points[2:] - hz_points[:-2]))[:, None]
    return weights.T.astype(np.float32)


def _window_array(window: str | None, length: int) -> np.ndarray:
    """Periodic (DFT-even) window, as librosa, torch and tf.signal use."""
    n = np.arange(length, dtype=np.float64)
    if window == "hann":
        win = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)
    elif window == "hamming":
        win = 0.54 - 0.46 * np.cos(2.0 * np.pi * n / length)
    else:
        win = np.ones(length)
    return win.astype(np.float32)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@keras.saving.register_keras_serializable(package="keras_attention")
class LogMelSpectrogram(keras.layers.Layer):
    """Log-mel spectrogram of a batch of waveforms.

    Turns raw audio into the time-frequency image that audio CNNs (PANNs
    CNN6/10/14) take as input. The defaults reproduce the PANNs front end:
    32 kHz audio, a 1024-point STFT with a periodic Hann window, hop 320,
    `center=True` with reflect padding, a power spectrogram, 64 Slaney-style
    mel filters (librosa's default: Slaney's mel formula and area
    normalisation) from 50 to 14000 Hz, then
    `10 * log10(max(amin, S))` with `amin=1e-10` and no `top_db` clip.

    Unlike `keras.layers.MelSpectrogram`, which uses the HTK mel formula and
    clips `top_db` over the whole batch, this layer offers the Slaney mel
    scale and clips `top_db` separately for every example, so that one
    example's loudness never changes another's features.

    The STFT runs on `keras.ops.stft`, so the layer works inside a model on
    the TensorFlow, JAX and PyTorch backends. The mel filter bank is a
    constant built in NumPy from the configuration: it is neither trainable
    nor stored in the weights.

    The layer always computes in float32, even under a `mixed_float16` or
    `mixed_bfloat16` policy (its dtype policy is forced to `"float32"`):
    `|STFT|^2` of ordinary audio overflows float16 (max 65504). Its input is
    cast to float32 and its output is float32; the following layers cast it
    to their own compute dtype.

    With `center=True` the waveform is reflect-padded by `n_fft // 2` samples
    on each side, which needs more than `n_fft // 2` samples; with
    `center=False` a clip needs at least `n_fft` samples. `min_samples` gives
    that length. A shorter clip raises a `ValueError` (when its length is
    known statically) unless `pad_short=True`, which zero-pads it at the end
    up to `min_samples`.

    Reference:
        Kong et al., "PANNs: Large-Scale Pretrained Audio Neural Networks for
        Audio Pattern Recognition", IEEE/ACM TASLP 2020, arXiv 1912.10211.

    Args:
        sample_rate: sample rate of the input in Hz.
        n_fft: FFT size; gives `n_fft // 2 + 1` frequency bins.
        hop_length: samples between the starts of two frames.
        win_length: window length, at most `n_fft` (the window is centred in
            the FFT frame). `None` means `n_fft`.
        window: `"hann"`, `"hamming"` (both periodic) or `None`
            (rectangular).
        center: if `True`, reflect-pad `n_fft // 2` samples on both sides so
            that frame `t` is centred on sample `t * hop_length` (librosa and
            torch convention).
        n_mels: number of mel bins.
        fmin: lowest filter edge in Hz.
        fmax: highest filter edge in Hz; `None` means `sample_rate / 2`.
        mel_scale: `"slaney"` (Slaney's formula, librosa's default) or
            `"htk"` (`2595 * log10(1 + f / 700)`).
        mel_norm: `"auto"` (Slaney area normalisation for
            `mel_scale="slaney"`, none for `"htk"`), `"slaney"` or `None`.
        power: exponent of the magnitude: 2.0 for power, 1.0 for magnitude.
        log_scale: `"db"` for `10 * log10(max(amin, S))` (reference power
            1.0), `"log"` for `log(S + amin)`, or `None` for the linear mel
            spectrogram.
        amin: floor that avoids `log(0)`.
        top_db: if set (with `log_scale="db"`), clip every example at its own
            maximum minus `top_db` decibels.
        pad_short: if `True`, zero-pad clips shorter than `min_samples`
            instead of raising.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Input shape:
        `(batch, samples)` float waveforms.

    Output shape:
        `(batch, frames, n_mels)` with `frames = num_frames(samples)`, which
        is `1 + samples // hop_length` for `center=True` and even `n_fft`.

    Examples:
        >>> import numpy as np
        >>> layer = LogMelSpectrogram()
        >>> x = np.random.uniform(-0.1, 0.1, (2, 32000)).astype("float32")
        >>> tuple(layer(x).shape)
        (2, 101, 64)
        >>> layer.min_samples
        513
    """

    def __init__(
        self,
        sample_rate: int = 32000,
        n_fft: int = 1024,
        hop_length: int = 320,
        win_length: int | None = None,
        window: str | None = "hann",
        center: bool = True,
        n_mels: int = 64,
        fmin: float = 50.0,
        fmax: float | None = 14000.0,
        mel_scale: str = "slaney",
        mel_norm: str | None = "auto",
        power: float = 2.0,
        log_scale: str | None = "db",
        amin: float = 1e-10,
        top_db: float | None = None,
        pad_short: bool = False,
        **kwargs,
    ):
        name = type(self).__name__
        dtype = kwargs.pop("dtype", None)
        policy = keras.dtype_policies.get(dtype) if dtype is not None else None
        if policy is not None and policy.compute_dtype not in (
            "float32",
            "float16",
            "bfloat16",
        ):
            raise ValueError(
                f"{name}: Expected a float32 or mixed precision `dtype` (the "
                f"layer computes in float32). Received: dtype={dtype}"
            )
        # |STFT|^2 overflows float16: always compute in float32.
        dtype = "float32"
        super().__init__(dtype=dtype, **kwargs)

        for arg, value in (
            ("sample_rate", sample_rate),
            ("n_fft", n_fft),
            ("hop_length", hop_length),
            ("n_mels", n_mels),
        ):
            if not _utils.is_integer(value) or value <= 0:
                raise ValueError(
                    f"{name}: Expected `{arg}` > 0 (an int). "
                    f"Received: {arg}={value!r}"
                )
        if win_length is not None and (
            not _utils.is_integer(win_length) or not 0 < win_length <= n_fft
        ):
            raise ValueError(
                f"{name}: Expected `win_length` in [1, n_fft={n_fft}] or "
                f"None. Received: win_length={win_length!r}"
            )
        if window not in _WINDOWS:
            raise ValueError(
                f"{name}: Expected `window` to be one of {list(_WINDOWS)}. "
                f"Received: window={window!r}"
            )
        if mel_scale not in _MEL_SCALES:
            raise ValueError(
                f"{name}: Expected `mel_scale` to be one of "
                f"{list(_MEL_SCALES)}. Received: mel_scale={mel_scale!r}"
            )
        if mel_norm not in _MEL_NORMS:
            raise ValueError(
                f"{name}: Expected `mel_norm` to be one of "
                f"{list(_MEL_NORMS)}. Received: mel_norm={mel_norm!r}"
            )
        if log_scale not in _LOG_SCALES:
            raise ValueError(
                f"{name}: Expected `log_scale` to be one of "
                f"{list(_LOG_SCALES)}. Received: log_scale={log_scale!r}"
            )
        nyquist = sample_rate / 2.0
        if not _is_number(fmin) or fmin < 0:
            raise ValueError(
                f"{name}: Expected `fmin` >= 0. Received: fmin={fmin!r}"
            )
        if fmax is not None and (
            not _is_number(fmax) or not fmin < fmax <= nyquist
        ):
            raise ValueError(
                f"{name}: Expected fmin < `fmax` <= sample_rate / 2 = "
                f"{nyquist:g}. Received: fmax={fmax!r} (fmin={fmin!r})"
            )
        if fmax is None and not fmin < nyquist:
            raise ValueError(
                f"{name}: Expected `fmin` < sample_rate / 2 = {nyquist:g}. "
                f"Received: fmin={fmin!r}"
            )
        if not _is_number(power) or power <= 0:
            raise ValueError(
                f"{name}: Expected `power` > 0. Received: power={power!r}"
            )
        if not _is_number(amin) or amin <= 0:
            raise ValueError(
                f"{name}: Expected `amin` > 0. Received: amin={amin!r}"
            )
        if top_db is not None:
            if not _is_number(top_db) or top_db < 0:
                raise ValueError(
                    f"{name}: Expected `top_db` >= 0 or None. "
                    f"Received: top_db={top_db!r}"
                )
            if log_scale != "db":
                raise ValueError(
                    f"{name}: `top_db` needs log_scale='db'. "
                    f"Received: top_db={top_db!r}, log_scale={log_scale!r}"
                )

        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.win_length = None if win_length is None else int(win_length)
        self.window = window
        self.center = bool(center)
        self.n_mels = int(n_mels)
        self.fmin = float(fmin)
        self.fmax = None if fmax is None else float(fmax)
        self.mel_scale = mel_scale
        self.mel_norm = mel_norm
        self.power = float(power)
        self.log_scale = log_scale
        self.amin = float(amin)
        self.top_db = None if top_db is None else float(top_db)
        self.pad_short = bool(pad_short)

        norm = mel_norm
        if norm == "auto":
            norm = "slaney" if mel_scale == "slaney" else None
        # Constants, not weights: rebuilt from the config on load.
        self._mel_weights = mel_filterbank(
            self.sample_rate,
            self.n_fft,
            self.n_mels,
            self.fmin,
            self.fmax if self.fmax is not None else nyquist,
            mel_scale=mel_scale,
            norm=norm,
        )
        self._window = _window_array(window, self.win_length or self.n_fft)

    @property
    def min_samples(self) -> int:
        """Shortest input (in samples) the layer can process.

        Reflect padding needs more than `n_fft // 2` samples when `center`;
        without it a clip must hold one whole frame of `n_fft` samples.
        """
        return self.n_fft // 2 + 1 if self.center else self.n_fft

    def num_frames(self, num_samples: int | None) -> int | None:
        """Number of output frames for `num_samples` input samples."""
        if num_samples is None:
            return None
        num_samples = int(num_samples)
        if num_samples < self.min_samples:
            if not self.pad_short:
                raise ValueError(self._too_short_message(num_samples))
            num_samples = self.min_samples
        if self.center:
            num_samples += 2 * (self.n_fft // 2)
        return 1 + (num_samples - self.n_fft) // self.hop_length

    def _too_short_message(self, num_samples: int) -> str:
        sr = self.sample_rate
        need = self.min_samples
        why = (
            f"center=True reflect-pads n_fft // 2 = {self.n_fft // 2} "
            "samples on each side"
            if self.center
            else f"center=False needs one whole frame of n_fft={self.n_fft}"
        )
        return (
            f"{type(self).__name__}: Input is too short: {num_samples} "
            f"samples ({num_samples / sr:.4f} s at sample_rate={sr}). The "
            f"layer needs at least min_samples={need} samples "
            f"({need / sr:.4f} s) because {why}. Zero-pad the clip or create "
            "the layer with `pad_short=True`."
        )

    def _check_shape(self, input_shape) -> None:
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__}: Expected input of shape "
                f"(batch, samples), i.e. rank 2. Received: input shape="
                f"{tuple(input_shape)}. Squeeze a trailing channel axis or "
                "mix down to mono first."
            )

    def build(self, input_shape):
        self._check_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_shape(input_shape)
        return (input_shape[0], self.num_frames(input_shape[1]), self.n_mels)

    def _pad_if_short(self, x):
        length = x.shape[-1]
        need = self.min_samples
        if length is not None:
            if length >= need:
                return x
            if not self.pad_short:
                raise ValueError(self._too_short_message(length))
            return ops.pad(x, [[0, 0], [0, need - length]])
        if not self.pad_short:
            # Unknown length (graph mode): the STFT's own check applies.
            return x
        dynamic_length = ops.shape(x)[1]
        zeros = ops.zeros((ops.shape(x)[0], need), dtype=x.dtype)
        padded = ops.concatenate([x, zeros], axis=1)
        return padded[:, : ops.maximum(dynamic_length, need)]

    def call(self, inputs):
        self._check_shape(inputs.shape)
        x = ops.cast(inputs, self.compute_dtype)
        x = self._pad_if_short(x)
        real, imag = ops.stft(
            x,
            sequence_length=self.win_length or self.n_fft,
            sequence_stride=self.hop_length,
            fft_length=self.n_fft,
            window=self._window,
            center=self.center,
        )
        spec = real * real + imag * imag
        if self.power == 1.0:
            spec = ops.sqrt(spec)
        elif self.power != 2.0:
            spec = ops.power(spec, self.power / 2.0)
        mel = ops.matmul(
            spec, ops.convert_to_tensor(self._mel_weights, self.compute_dtype)
        )
        if self.log_scale == "log":
            return ops.log(mel + self.amin)
        if self.log_scale != "db":
            return mel
        log_mel = (10.0 / math.log(10.0)) * ops.log(ops.maximum(mel, self.amin))
        # ref = 1.0: subtract 10 * log10(max(amin, ref)), 0 unless amin > 1.
        offset = 10.0 * math.log10(max(self.amin, 1.0))
        if offset:
            log_mel = log_mel - offset
        if self.top_db is not None:
            # Per example, not over the whole batch.
            peak = ops.max(log_mel, axis=(1, 2), keepdims=True)
            log_mel = ops.maximum(log_mel, peak - self.top_db)
        return log_mel

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "sample_rate": self.sample_rate,
                "n_fft": self.n_fft,
                "hop_length": self.hop_length,
                "win_length": self.win_length,
                "window": self.window,
                "center": self.center,
                "n_mels": self.n_mels,
                "fmin": self.fmin,
                "fmax": self.fmax,
                "mel_scale": self.mel_scale,
                "mel_norm": self.mel_norm,
                "power": self.power,
                "log_scale": self.log_scale,
                "amin": self.amin,
                "top_db": self.top_db,
                "pad_short": self.pad_short,
            }
        )
        return config
