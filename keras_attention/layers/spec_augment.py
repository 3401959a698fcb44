"""SpecAugment time and frequency masking."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_attention.layers import _utils


@keras.saving.register_keras_serializable(package="keras_attention")
class SpecAugment(keras.layers.Layer):
    """Random time and frequency stripe masking of spectrograms.

    During training, replaces `time_masks` stripes of consecutive frames and
    `freq_masks` stripes of consecutive mel bins with `mask_value`. Every
    example gets its own stripes: each stripe has a random width drawn
    uniformly from `[0, width)` (so a stripe may be empty) and a random
    position drawn uniformly among those where it fits. Stripes may overlap.
    At inference (`training` false or unset) the layer is the identity.

    The PANNs recipe uses 2 time stripes of width 64 and 2 frequency stripes
    of width 8 (the defaults) on 64-bin log-mel spectrograms. Put this layer
    after the log-mel front end and its normalisation, so that
    `mask_value=0.0` is the mean.

    Reference:
        Park et al., "SpecAugment: A Simple Data Augmentation Method for
        Automatic Speech Recognition", Interspeech 2019, arXiv 1904.08779.
        Kong et al., "PANNs", arXiv 1912.10211 (the settings used here).

    Args:
        time_masks: number of time stripes per example.
        time_mask_width: stripe widths are drawn from `[0, time_mask_width)`
            frames (clipped to the number of frames).
        freq_masks: number of frequency stripes per example.
        freq_mask_width: stripe widths are drawn from `[0, freq_mask_width)`
            bins (clipped to the number of bins).
        mask_value: value written into the stripes.
        seed: int seed for the random stripes, or `None`.
        **kwargs: standard layer arguments (`name`, `dtype`, ...).

    Input shape:
        `(batch, frames, mels)` or `(batch, frames, mels, channels)`; with a
        channel axis all channels share the stripes.

    Output shape:
        Same as the input.

    Examples:
        >>> import numpy as np
        >>> layer = SpecAugment(time_mask_width=10, freq_mask_width=4, seed=1)
        >>> x = np.ones((2, 100, 64), "float32")
        >>> bool(np.all(np.asarray(layer(x)) == x))  # inference: identity
        True
        >>> y = np.asarray(layer(x, training=True))
        >>> y.shape
        (2, 100, 64)
    """

    def __init__(
        self,
        time_masks: int = 2,
        time_mask_width: int = 64,
        freq_masks: int = 2,
        freq_mask_width: int = 8,
        mask_value: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        for arg, value in (
            ("time_masks", time_masks),
            ("time_mask_width", time_mask_width),
            ("freq_masks", freq_masks),
            ("freq_mask_width", freq_mask_width),
        ):
            if not _utils.is_integer(value) or value < 0:
                raise ValueError(
                    f"{name}: Expected `{arg}` to be a non-negative int. "
                    f"Received: {arg}={value!r}"
                )
        if isinstance(mask_value, bool) or not isinstance(
            mask_value, int | float | np.floating | np.integer
        ):
            raise ValueError(
                f"{name}: Expected `mask_value` to be a number. "
                f"Received: mask_value={mask_value!r}"
            )
        if seed is not None and not _utils.is_integer(seed):
            raise ValueError(
                f"{name}: Expected `seed` to be an int or None. "
                f"Received: seed={seed!r}"
            )
        self.time_masks = int(time_masks)
        self.time_mask_width = int(time_mask_width)
        self.freq_masks = int(freq_masks)
        self.freq_mask_width = int(freq_mask_width)
        self.mask_value = float(mask_value)
        self.seed = None if seed is None else int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ValueError(
                f"{type(self).__name__}: Expected input of shape "
                "(batch, frames, mels) or (batch, frames, mels, channels). "
                f"Received: input shape={tuple(input_shape)}"
            )
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _stripes(self, batch, length, count, max_width):
        """Boolean `(batch, length)`: True inside one of `count` stripes."""
        positions = ops.cast(ops.arange(length), "float32")[None, :]
        length_f = ops.cast(length, "float32")
        mask = None
        for _ in range(count):
            width = ops.floor(
                keras.random.uniform(
                    (batch,), 0.0, float(max_width), seed=self.seed_generator
                )
            )
            width = ops.minimum(width, length_f)
            start = ops.floor(
                keras.random.uniform((batch,), seed=self.seed_generator)
                * (length_f - width + 1.0)
            )
            start = ops.minimum(start, length_f - width)[:, None]
            stripe = ops.logical_and(
                positions >= start, positions < start + width[:, None]
            )
            mask = stripe if mask is None else ops.logical_or(mask, stripe)
        return mask

    def call(self, inputs, training=None):
        if not training:
            return inputs
        shape = ops.shape(inputs)
        batch, frames, mels = shape[0], shape[1], shape[2]
        mask = None
        if self.time_masks and self.time_mask_width:
            time = self._stripes(
                batch, frames, self.time_masks, self.time_mask_width
            )
            mask = time[:, :, None]
        if self.freq_masks and self.freq_mask_width:
            freq = self._stripes(
                batch, mels, self.freq_masks, self.freq_mask_width
            )
            freq = freq[:, None, :]
            mask = freq if mask is None else ops.logical_or(mask, freq)
        if mask is None:
            return inputs
        if len(inputs.shape) == 4:
            mask = mask[..., None]
        fill = ops.cast(self.mask_value, inputs.dtype)
        return ops.where(mask, fill, inputs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "time_masks": self.time_masks,
                "time_mask_width": self.time_mask_width,
                "freq_masks": self.freq_masks,
                "freq_mask_width": self.freq_mask_width,
                "mask_value": self.mask_value,
                "seed": self.seed,
            }
        )
        return config
