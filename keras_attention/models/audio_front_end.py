"""The waveform front end of the audio backbones.

Zero-padding of short clips (`WaveformPad`), a float32 `LogMelSpectrogram`,
a batch norm over the mel bins (PANNs' `bn0`) and an optional
`SpecAugment`, with PANNs' settings per sample rate. `FrontEnd` holds the
resolved settings once, for both backbones.
"""

from __future__ import annotations

import dataclasses
import math

import keras
from keras import ops

from keras_attention.layers.log_mel import LogMelSpectrogram
from keras_attention.layers.spec_augment import SpecAugment
from keras_attention.models.blocks import batch_norm

# PANNs' SpecAugment: 2 time stripes < 64 frames, 2 frequency stripes < 8.
PANNS_SPEC_AUGMENT = {
    "time_masks": 2,
    "time_mask_width": 64,
    "freq_masks": 2,
    "freq_mask_width": 8,
}
# PANNs front ends per sample rate: (n_fft, hop_length, fmax).
PANNS_FRONT_ENDS = {
    8000: (256, 80, 4000.0),
    16000: (512, 160, 8000.0),
    32000: (1024, 320, 14000.0),
}


def front_end_defaults(sample_rate: int) -> dict:
    """PANNs-style `n_fft`, `hop_length` and `fmax` for `sample_rate`.

    The PANNs settings for 8, 16 and 32 kHz; other rates get a 10 ms hop,
    a power-of-two FFT of about 32 ms and `fmax = min(14000, sr / 2)`.
    """
    if sample_rate in PANNS_FRONT_ENDS:
        n_fft, hop, fmax = PANNS_FRONT_ENDS[sample_rate]
    else:
        hop = max(1, round(sample_rate / 100))
        n_fft = 2 ** max(4, round(math.log2(sample_rate * 0.032)))
        fmax = min(14000.0, sample_rate / 2.0)
    return {"n_fft": n_fft, "hop_length": hop, "fmax": fmax}


@keras.saving.register_keras_serializable(package="keras_attention")
class WaveformPad(keras.layers.Layer):
    """Zero-pads waveforms `(batch, samples)` at the end to `min_samples`.

    Clips that are long enough pass through unchanged. Works for static and
    dynamic (`None`) lengths with `keras.ops` only. Always float32.

    Args:
        min_samples: Length after padding of any shorter clip.
    """

    def __init__(self, min_samples: int, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        if not isinstance(min_samples, int) or min_samples < 1:
            raise ValueError(
                "WaveformPad: Expected `min_samples` >= 1 (an int). "
                f"Received: min_samples={min_samples!r}"
            )
        self.min_samples = min_samples

    def compute_output_shape(self, input_shape):
        length = input_shape[-1]
        if length is not None:
            length = max(length, self.min_samples)
        return (*input_shape[:-1], length)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        need = self.min_samples
        length = x.shape[-1]
        if length is not None:
            if length >= need:
                return x
            return ops.pad(x, [[0, 0], [0, need - length]])
        zeros = ops.zeros((ops.shape(x)[0], need), dtype=x.dtype)
        padded = ops.concatenate([x, zeros], axis=1)
        return padded[:, : ops.maximum(ops.shape(x)[1], need)]

    def get_config(self):
        config = super().get_config()
        config.pop("dtype", None)
        config["min_samples"] = self.min_samples
        return config


def _check_waveform_shape(cls_name, shape):
    shape = tuple(shape)
    if len(shape) != 1 or not (
        shape[0] is None or (isinstance(shape[0], int) and shape[0] > 0)
    ):
        raise ValueError(
            f"{cls_name}: Expected `waveform_shape` of one mono clip, "
            "`(samples,)` or `(None,)`. Received: "
            f"waveform_shape={shape}"
        )
    return shape


def _spec_augment_config(spec_augment):
    if spec_augment is None or spec_augment is False:
        return None
    if spec_augment is True:
        return dict(PANNS_SPEC_AUGMENT)
    if isinstance(spec_augment, dict):
        return {**PANNS_SPEC_AUGMENT, **spec_augment}
    raise ValueError(
        "Expected `spec_augment` None, False, True (PANNs settings) or a "
        f"dict of SpecAugment arguments. Received: {spec_augment!r}"
    )


@dataclasses.dataclass(frozen=True)
class FrontEnd:
    """The waveform front end of the audio backbones, resolved and checked.

    `FrontEnd.resolve(...)` takes the backbones' front-end arguments (None
    for `n_fft`, `hop_length` and `fmax` picks PANNs' values for the
    sample rate, see `front_end_defaults`) and returns the frozen settings
    the backbone builds from and writes back into its config.
    """

    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    fmin: float
    fmax: float
    mel_scale: str
    spec_augment: dict | None
    waveform_shape: tuple

    @classmethod
    def resolve(
        cls,
        owner: str,
        sample_rate: int,
        n_fft: int | None = None,
        hop_length: int | None = None,
        n_mels: int = 64,
        fmin: float = 50.0,
        fmax: float | None = None,
        mel_scale: str = "slaney",
        spec_augment=None,
        waveform_shape=(None,),
    ) -> FrontEnd:
        """`owner` (the backbone's class name) prefixes the errors."""
        defaults = front_end_defaults(sample_rate)
        return cls(
            sample_rate=sample_rate,
            n_fft=defaults["n_fft"] if n_fft is None else n_fft,
            hop_length=(
                defaults["hop_length"] if hop_length is None else hop_length
            ),
            n_mels=n_mels,
            fmin=fmin,
            fmax=defaults["fmax"] if fmax is None else fmax,
            mel_scale=mel_scale,
            spec_augment=_spec_augment_config(spec_augment),
            waveform_shape=_check_waveform_shape(owner, waveform_shape),
        )

    def config(self) -> dict:
        """The backbone-config entries (the published presets' keys)."""
        config = dataclasses.asdict(self)
        config["waveform_shape"] = list(self.waveform_shape)
        return config

    def log_mel(self) -> LogMelSpectrogram:
        return LogMelSpectrogram(
            sample_rate=self.sample_rate,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            n_mels=self.n_mels,
            fmin=self.fmin,
            fmax=self.fmax,
            mel_scale=self.mel_scale,
            name="log_mel",
        )

    def min_samples(self, log_mel, min_frames: int) -> int:
        """Enough samples for the STFT and for `min_frames` frames (with
        center=True, frames = 1 + samples // hop)."""
        return max(log_mel.min_samples, (min_frames - 1) * self.hop_length)

    def apply(self, waveforms, log_mel, min_samples, dtype):
        """Padding and log-mel in float32; the layers after them follow
        the backbone's `dtype` policy."""
        x = WaveformPad(min_samples, name="pad_short")(waveforms)
        x = log_mel(x)
        # (batch, frames, mels) -> (batch, frames, mels, 1).
        x = keras.layers.Reshape(
            (-1, self.n_mels, 1), dtype=dtype, name="add_channel"
        )(x)
        # PANNs' bn0: one normalisation per mel bin.
        x = batch_norm(2, "mel_bn", dtype=dtype)(x)
        if self.spec_augment is not None:
            x = SpecAugment(
                **self.spec_augment, dtype=dtype, name="spec_augment"
            )(x)
        return x


class AudioFrontEndMixin:
    """Front-end attributes and config shared by the audio backbones."""

    def _set_front_end(self, front_end: FrontEnd, min_samples: int):
        self.front_end = front_end
        for key, value in dataclasses.asdict(front_end).items():
            setattr(self, key, value)
        self.waveform_shape = front_end.waveform_shape
        self._min_samples = min_samples

    @property
    def min_samples(self) -> int:
        """Shortest clip the network needs; shorter ones are zero-padded
        at the end to this length inside the model."""
        return self._min_samples

    @property
    def min_seconds(self) -> float:
        """`min_samples` in seconds."""
        return self._min_samples / self.sample_rate

    def _front_end_config(self):
        return self.front_end.config()


def _pop_image_shape(kwargs, waveform_shape):
    # keras-hub's `from_preset(..., image_shape=...)` forwards `image_shape`
    # to the backbone; for these models it means the waveform shape.
    image_shape = kwargs.pop("image_shape", None)
    return waveform_shape if image_shape is None else tuple(image_shape)
