"""Waveform-input audio backbones: PANNs CNN6/10/14 and spectrogram ResNets.

Both backbones take mono waveforms `(batch, samples)` and hold the whole
front end inside the model: zero-padding of short clips, a float32
`LogMelSpectrogram`, a batch norm over the mel bins (PANNs' `bn0`) and an
optional `SpecAugment` (active in training only). The feature map that
follows is laid out `(batch, frames, mels, channels)`.

References:
    Kong et al., "PANNs: Large-Scale Pretrained Audio Neural Networks for
    Audio Pattern Recognition", IEEE/ACM TASLP 2020.
    https://arxiv.org/abs/1912.10211
"""

from __future__ import annotations

import math

import keras
import keras_hub

from keras_attention.layers.conv import Conv2D
from keras_attention.layers.factory import ATTENTION_LAYERS, get_attention
from keras_attention.models.audio_front_end import (  # noqa: F401 (API)
    PANNS_FRONT_ENDS,
    PANNS_SPEC_AUGMENT,
    AudioFrontEndMixin,
    FrontEnd,
    WaveformPad,
    _pop_image_shape,
    front_end_defaults,
)
from keras_attention.models.blocks import (
    STAGE_ATTENTION,
    batch_norm,
    block_attention,
)
from keras_attention.models.resnet_backbone import AttentionResNetBackbone

AUDIO_BLOCK_TYPES = ("double3x3", "single5x5")


@keras.saving.register_keras_serializable(package="keras_attention")
class AudioCNNBackbone(AudioFrontEndMixin, keras_hub.models.Backbone):
    """PANNs CNN6/10/14 backbone on raw waveforms, with optional attention.

    waveform `(batch, samples)` -> zero-pad to `min_samples` ->
    `LogMelSpectrogram` (float32) -> `(batch, frames, mels, 1)` -> batch
    norm over the mel bins (`mel_bn`) -> `SpecAugment` (training only, if
    set) -> conv blocks -> feature map `(batch, frames', mels', filters)`.

    Blocks: `"double3x3"` (CNN10/14) is (3x3 conv, BN, ReLU) x 2, then
    average pooling and dropout; `"single5x5"` (CNN6) is one 5x5 conv, BN,
    ReLU, average pooling and dropout. Convs have no bias and Glorot
    (Xavier) uniform weights, as in PANNs. SE, CBAM and ECA go after each
    block's last BN-ReLU, before pooling (`block{i}_attention`); BAM goes
    between blocks, after pooling (`block{i}_bam`, all blocks but the
    last).

    Short clips: a clip shorter than `min_samples` is zero-padded inside
    the model. `min_samples` is the larger of the STFT's minimum and what
    gives `prod(stackwise_pool_sizes)` frames, so that every pooling keeps
    at least one frame: e.g. CNN14 (pools 2^5) at 16 kHz / hop 160 needs
    `31 * 160 = 4960` samples (0.31 s), CNN6/10 (2^4) `15 * 160 = 2400`
    (0.15 s).

    Args:
        stackwise_num_filters: Filters per block, e.g. `[64, 128, 256, 512]`.
        block_type: `"double3x3"` or `"single5x5"`.
        stackwise_pool_sizes: Average-pool size per block (ints); PANNs
            CNN14 uses `[2, 2, 2, 2, 2, 1]`. Defaults to 2 everywhere.
        block_dropout: Dropout after every block (PANNs: 0.2).
        attention: None, `"se"`, `"cbam"`, `"eca"` or `"bam"`.
        attention_config: Extra attention-layer arguments, e.g.
            `{"reduction": 8}`; `"per_stage"` may hold one dict per block.
        sample_rate: Sample rate of the input waveforms in Hz.
        n_fft, hop_length, fmax: STFT size, hop and top mel edge; None
            picks PANNs' settings for the sample rate (16 kHz: 512, 160,
            8000; 32 kHz: 1024, 320, 14000).
        n_mels: Mel bins (64).
        fmin: Lowest mel edge in Hz (50).
        mel_scale: `"slaney"` (librosa's default, PANNs) or `"htk"`.
        spec_augment: None/False, True (PANNs: 2 time stripes < 64 frames,
            2 frequency stripes < 8 bins) or a dict of `SpecAugment`
            arguments.
        waveform_shape: `(samples,)` or `(None,)` for any length.
        dtype: dtype policy; the log-mel front end stays float32.

    Examples:
        >>> backbone = AudioCNNBackbone(
        ...     stackwise_num_filters=[8, 16], attention="cbam",
        ...     waveform_shape=(16000,))
        >>> backbone.output_shape
        (None, 25, 16, 16)
    """

    def __init__(
        self,
        stackwise_num_filters=(64, 128, 256, 512),
        block_type: str = "double3x3",
        stackwise_pool_sizes=None,
        block_dropout: float = 0.2,
        attention: str | None = None,
        attention_config: dict | None = None,
        sample_rate: int = 16000,
        n_fft: int | None = None,
        hop_length: int | None = None,
        n_mels: int = 64,
        fmin: float = 50.0,
        fmax: float | None = None,
        mel_scale: str = "slaney",
        spec_augment=None,
        waveform_shape=(None,),
        dtype=None,
        **kwargs,
    ):
        name = type(self).__name__
        waveform_shape = _pop_image_shape(kwargs, waveform_shape)
        if block_type not in AUDIO_BLOCK_TYPES:
            raise ValueError(
                f"{name}: Expected `block_type` in {AUDIO_BLOCK_TYPES}. "
                f"Received: block_type={block_type!r}"
            )
        if attention is not None and attention not in ATTENTION_LAYERS:
            get_attention(attention)  # Raises, listing the valid names.
        filters = [int(f) for f in stackwise_num_filters]
        if not filters:
            raise ValueError(
                f"{name}: Expected at least one block in "
                "`stackwise_num_filters`. Received: "
                f"stackwise_num_filters={stackwise_num_filters!r}"
            )
        if stackwise_pool_sizes is None:
            pools = [2] * len(filters)
        else:
            pools = [int(p) for p in stackwise_pool_sizes]
        if len(pools) != len(filters) or any(p < 1 for p in pools):
            raise ValueError(
                f"{name}: Expected one pool size >= 1 per block. Received: "
                f"stackwise_pool_sizes={stackwise_pool_sizes!r} for "
                f"{len(filters)} blocks"
            )
        if not 0.0 <= block_dropout < 1.0:
            raise ValueError(
                f"{name}: Expected 0 <= `block_dropout` < 1. Received: "
                f"block_dropout={block_dropout!r}"
            )
        total_pool = math.prod(pools)
        if n_mels < total_pool:
            raise ValueError(
                f"{name}: Expected `n_mels` >= {total_pool} (the product of "
                f"the pool sizes). Received: n_mels={n_mels}"
            )

        # === Functional model ===
        front_end = FrontEnd.resolve(
            name,
            sample_rate,
            n_fft=n_fft,
            hop_length=hop_length,
            n_mels=n_mels,
            fmin=fmin,
            fmax=fmax,
            mel_scale=mel_scale,
            spec_augment=spec_augment,
            waveform_shape=waveform_shape,
        )
        log_mel = front_end.log_mel()
        min_samples = front_end.min_samples(log_mel, min_frames=total_pool)
        waveforms = keras.layers.Input(
            shape=front_end.waveform_shape, name="waveforms"
        )
        x = front_end.apply(waveforms, log_mel, min_samples, dtype)
        stage_attention = attention in STAGE_ATTENTION
        kernel = 3 if block_type == "double3x3" else 5
        num_convs = 2 if block_type == "double3x3" else 1
        for i, (width, pool) in enumerate(zip(filters, pools, strict=True)):
            prefix = f"block{i + 1}"
            for c in range(num_convs):
                x = Conv2D(
                    width,
                    kernel,
                    padding="same",
                    use_bias=False,
                    data_format="channels_last",
                    dtype=dtype,
                    name=f"{prefix}_conv{c + 1}",
                )(x)
                x = batch_norm(-1, f"{prefix}_bn{c + 1}", dtype=dtype)(x)
                x = keras.layers.ReLU(
                    name=f"{prefix}_relu{c + 1}", dtype=dtype
                )(x)
            if attention is not None and not stage_attention:
                x = block_attention(
                    attention,
                    attention_config,
                    i,
                    f"{prefix}_attention",
                    "channels_last",
                    dtype,
                )(x)
            if pool > 1:
                x = keras.layers.AveragePooling2D(
                    pool,
                    data_format="channels_last",
                    dtype=dtype,
                    name=f"{prefix}_pool",
                )(x)
            if block_dropout:
                x = keras.layers.Dropout(
                    block_dropout, dtype=dtype, name=f"{prefix}_dropout"
                )(x)
            if stage_attention and i < len(filters) - 1:
                x = block_attention(
                    attention,
                    attention_config,
                    i,
                    f"{prefix}_bam",
                    "channels_last",
                    dtype,
                )(x)

        super().__init__(inputs=waveforms, outputs=x, dtype=dtype, **kwargs)

        # === Config ===
        self._set_front_end(front_end, min_samples)
        self.stackwise_num_filters = filters
        self.block_type = block_type
        self.stackwise_pool_sizes = pools
        self.block_dropout = float(block_dropout)
        self.attention = attention
        self.attention_config = attention_config

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "stackwise_num_filters": self.stackwise_num_filters,
                "block_type": self.block_type,
                "stackwise_pool_sizes": self.stackwise_pool_sizes,
                "block_dropout": self.block_dropout,
                "attention": self.attention,
                "attention_config": self.attention_config,
                **self._front_end_config(),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_attention")
class AudioResNetBackbone(AudioFrontEndMixin, keras_hub.models.Backbone):
    """An attention ResNet on log-mel spectrograms of raw waveforms.

    The same front end as `AudioCNNBackbone` (`pad_short`, `log_mel`,
    `mel_bn`, optional `spec_augment`), then an `AttentionResNetBackbone`
    with `image_shape=(None, n_mels, 1)`, nested as the layer `resnet`
    (its layers keep their image names: `stem_conv`,
    `stage1_block1_attention`, ...). Output: `(batch, frames / 32,
    n_mels / 32, channels)`. The ResNet pads ("same"), so any clip of at
    least the STFT's minimum runs; shorter ones are zero-padded.

    Args:
        stackwise_num_blocks: Residual blocks per stage (ResNet-18:
            `[2, 2, 2, 2]`).
        stackwise_num_filters: Filters per stage.
        block_type: `"basic"` or `"bottleneck"`.
        attention: None, `"se"`, `"cbam"`, `"eca"` or `"bam"`.
        attention_config: Extra attention-layer arguments.
        stem_type: `"imagenet"` (7x7/2 conv + 3x3/2 max pool) or
            `"small"`. These six as for `AttentionResNetBackbone`.
        sample_rate: Sample rate of the input waveforms in Hz.
        n_fft: STFT size; None picks PANNs' for the sample rate.
        hop_length: STFT hop; None picks PANNs' for the sample rate.
        n_mels: Mel bins (64).
        fmin: Lowest mel edge in Hz (50).
        fmax: Top mel edge in Hz; None picks PANNs' for the sample rate.
        mel_scale: `"slaney"` or `"htk"`.
        spec_augment: None/False, True (PANNs' settings) or a dict of
            `SpecAugment` arguments.
        waveform_shape: `(samples,)` or `(None,)` for any length. The
            front-end arguments are as for `AudioCNNBackbone`.
        dtype: dtype policy; the log-mel front end stays float32.
    """

    def __init__(
        self,
        stackwise_num_blocks=(2, 2, 2, 2),
        stackwise_num_filters=(64, 128, 256, 512),
        block_type: str = "basic",
        attention: str | None = None,
        attention_config: dict | None = None,
        stem_type: str = "imagenet",
        sample_rate: int = 16000,
        n_fft: int | None = None,
        hop_length: int | None = None,
        n_mels: int = 64,
        fmin: float = 50.0,
        fmax: float | None = None,
        mel_scale: str = "slaney",
        spec_augment=None,
        waveform_shape=(None,),
        dtype=None,
        **kwargs,
    ):
        waveform_shape = _pop_image_shape(kwargs, waveform_shape)
        front_end = FrontEnd.resolve(
            type(self).__name__,
            sample_rate,
            n_fft=n_fft,
            hop_length=hop_length,
            n_mels=n_mels,
            fmin=fmin,
            fmax=fmax,
            mel_scale=mel_scale,
            spec_augment=spec_augment,
            waveform_shape=waveform_shape,
        )
        log_mel = front_end.log_mel()
        min_samples = front_end.min_samples(log_mel, min_frames=1)
        resnet = AttentionResNetBackbone(
            stackwise_num_blocks=list(stackwise_num_blocks),
            stackwise_num_filters=list(stackwise_num_filters),
            block_type=block_type,
            attention=attention,
            attention_config=attention_config,
            stem_type=stem_type,
            image_shape=(None, front_end.n_mels, 1),
            data_format="channels_last",
            dtype=dtype,
            name="resnet",
        )
        waveforms = keras.layers.Input(
            shape=front_end.waveform_shape, name="waveforms"
        )
        x = front_end.apply(waveforms, log_mel, min_samples, dtype)
        x = resnet(x)
        super().__init__(inputs=waveforms, outputs=x, dtype=dtype, **kwargs)

        self._set_front_end(front_end, min_samples)
        self.stackwise_num_blocks = list(stackwise_num_blocks)
        self.stackwise_num_filters = list(stackwise_num_filters)
        self.block_type = block_type
        self.attention = attention
        # The ResNet may add defaults (CBAM's zero-init gate): keep ours.
        self.attention_config = attention_config
        self.stem_type = stem_type

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "stackwise_num_blocks": self.stackwise_num_blocks,
                "stackwise_num_filters": self.stackwise_num_filters,
                "block_type": self.block_type,
                "attention": self.attention,
                "attention_config": self.attention_config,
                "stem_type": self.stem_type,
                **self._front_end_config(),
            }
        )
        return config
