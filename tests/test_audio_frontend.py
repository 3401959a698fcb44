"""Tests for LogMelSpectrogram and SpecAugment on the current backend."""

import math

import keras
import numpy as np
import pytest

from keras_attention.layers import LogMelSpectrogram, SpecAugment

# --------------------------------------------------------------------------
# Independent NumPy reference, written from the equations (float64). It
# shares no code with the layer.
# --------------------------------------------------------------------------


def _ref_hz_to_mel(f, scale):
    f = np.asarray(f, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    # Slaney: 3 mels per 200 Hz up to 1 kHz (= 15 mels), then 27 mels per
    # factor 6.4.
    with np.errstate(divide="ignore"):
        upper = 15.0 + 27.0 * np.log(f / 1000.0) / np.log(6.4)
    return np.where(f < 1000.0, 3.0 * f / 200.0, upper)


def _ref_mel_to_hz(m, scale):
    m = np.asarray(m, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m < 15.0, 200.0 * m / 3.0, 1000.0 * 6.4 ** ((m - 15) / 27))


def _ref_filterbank(sr, n_fft, n_mels, fmin, fmax, scale, area_norm):
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    mels = np.linspace(
        _ref_hz_to_mel(fmin, scale), _ref_hz_to_mel(fmax, scale), n_mels + 2
    )
    edges = _ref_mel_to_hz(mels, scale)
    bank = np.zeros((len(freqs), n_mels))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        for k, f in enumerate(freqs):
            if lo < f <= mid:
                bank[k, m] = (f - lo) / (mid - lo)
            elif mid < f < hi:
                bank[k, m] = (hi - f) / (hi - mid)
        if area_norm:
            bank[:, m] *= 2.0 / (hi - lo)
    return bank


def reference_log_mel(
    x,
    sr=32000,
    n_fft=1024,
    hop=320,
    win_length=None,
    window="hann",
    center=True,
    n_mels=64,
    fmin=50.0,
    fmax=14000.0,
    scale="slaney",
    area_norm=True,
    power=2.0,
    log="db",
    amin=1e-10,
):
    x = np.asarray(x, dtype=np.float64)
    win_length = win_length or n_fft
    if window == "hann":  # periodic = first N points of an (N+1) window
        win = np.hanning(win_length + 1)[:-1]
    elif window == "hamming":
        win = np.hamming(win_length + 1)[:-1]
    else:
        win = np.ones(win_length)
    left = (n_fft - win_length) // 2
    right = n_fft - win_length - left
    win = np.concatenate([np.zeros(left), win, np.zeros(right)])
    if center:
        half = n_fft // 2
        x = np.pad(x, [(0, 0), (half, half)], mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=1)
    frames = frames[:, ::hop]
    spec = np.abs(np.fft.rfft(frames * win, axis=-1)) ** power
    mel = spec @ _ref_filterbank(
        sr, n_fft, n_mels, fmin, fmax or sr / 2, scale, area_norm
    )
    if log == "db":
        return 10.0 * np.log10(np.maximum(amin, mel))
    if log == "log":
        return np.log(mel + amin)
    return mel


def _test_signal(sr=32000, seconds=0.2, batch=2, seed=0):
    """Sines plus noise at moderate level (peak well below 1)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    rows = []
    for i in range(batch):
        f1, f2 = 440.0 * (i + 1), 2500.0 + 700.0 * i
        rows.append(
            0.3 * np.sin(2 * np.pi * f1 * t)
            + 0.2 * np.sin(2 * np.pi * f2 * t)
            + 0.05 * rng.standard_normal(t.size)
        )
    return np.stack(rows).astype(np.float32)


def _np(x):
    return keras.ops.convert_to_numpy(x)


# Tolerance: 1e-4 dB absolute. The layer computes in float32 and the
# reference in float64. With the moderate test signal (noise floor about
# 50 dB below the peaks, so no mel band sits near float32's resolution
# relative to the frame energy) the relative error of a mel band is ~1e-6,
# i.e. ~5e-6 dB; 1e-4 dB leaves margin for FFT differences between
# backends while still catching any real difference (a wrong window,
# padding mode, filter shape or norm changes values by > 1e-2 dB).
ATOL_DB = 1e-4


def test_matches_panns_reference():
    x = _test_signal()
    layer = LogMelSpectrogram()  # PANNs defaults
    out = _np(layer(x))
    ref = reference_log_mel(x)
    assert out.shape == ref.shape == (2, 21, 64)
    np.testing.assert_allclose(out, ref, rtol=0, atol=ATOL_DB)


@pytest.mark.parametrize(
    "layer_kwargs, ref_kwargs",
    [
        # HTK formula, no area normalisation (torchaudio's default).
        (
            dict(mel_scale="htk", fmin=0.0, fmax=None),
            dict(scale="htk", area_norm=False, fmin=0.0, fmax=None),
        ),
        (
            dict(mel_scale="htk", mel_norm="slaney"),
            dict(scale="htk", area_norm=True),
        ),
        (
            dict(sample_rate=16000, n_fft=512, hop_length=160, fmax=8000.0),
            dict(sr=16000, n_fft=512, hop=160, fmax=8000.0),
        ),
        (
            dict(win_length=800, window="hamming", center=False),
            dict(win_length=800, window="hamming", center=False),
        ),
        (dict(window=None, n_mels=32), dict(window=None, n_mels=32)),
    ],
)
def test_matches_reference_variants(layer_kwargs, ref_kwargs):
    sr = layer_kwargs.get("sample_rate", 32000)
    x = _test_signal(sr=sr)
    out = _np(LogMelSpectrogram(**layer_kwargs)(x))
    ref = reference_log_mel(x, **ref_kwargs)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=0, atol=ATOL_DB)


def test_power_and_log_variants():
    x = _test_signal()
    # natural log of the magnitude mel spectrogram
    out = _np(LogMelSpectrogram(power=1.0, log_scale="log")(x))
    ref = reference_log_mel(x, power=1.0, log="log")
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)
    # linear power mel spectrogram: compare relatively
    out = _np(LogMelSpectrogram(log_scale=None)(x))
    ref = reference_log_mel(x, log=None)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-9)


def test_top_db_is_per_example():
    x = _test_signal()
    x[1] *= 1e-3  # 60 dB quieter
    top_db = 30.0
    out = _np(LogMelSpectrogram(top_db=top_db)(x))
    ref = reference_log_mel(x)
    for i in range(2):
        peak = ref[i].max()
        expected = np.maximum(ref[i], peak - top_db)
        np.testing.assert_allclose(out[i], expected, rtol=0, atol=ATOL_DB)
        assert out[i].min() == pytest.approx(peak - top_db, abs=1e-3)
    # a batch-wide clip would have flattened the quiet example entirely
    assert out[1].max() - out[1].min() > 29.0


def test_eager_output_shape():
    layer = LogMelSpectrogram()
    out = layer(np.zeros((2, 513), "float32"))  # the shortest valid clip
    assert tuple(out.shape) == (2, 2, 64)
    assert layer.compute_output_shape((3, 513)) == (3, 2, 64)
    for samples in (513, 16000, 16321, 32000):
        assert layer.num_frames(samples) == 1 + samples // 320
    # odd n_fft, no centring: frames = 1 + (samples - n_fft) // hop
    odd = LogMelSpectrogram(n_fft=501, hop_length=100, center=False)
    assert odd.min_samples == 501
    assert odd.num_frames(1000) == 1 + (1000 - 501) // 100
    assert odd.compute_output_shape((None, 1000)) == (None, 5, 64)


def test_symbolic_shapes():
    layer = LogMelSpectrogram(n_mels=40)
    fixed = layer(keras.Input((32000,)))
    assert tuple(fixed.shape) == (None, 101, 40)
    assert fixed.dtype == "float32"
    dynamic = layer(keras.Input((None,)))
    assert tuple(dynamic.shape) == (None, None, 40)
    assert layer.compute_output_shape((None, None)) == (None, None, 40)
    assert layer.num_frames(None) is None


def test_variable_length_model():
    inputs = keras.Input((None,))
    model = keras.Model(inputs, LogMelSpectrogram(pad_short=True)(inputs))
    for samples in (100, 3200):
        x = _test_signal(seconds=samples / 32000)
        out = model.predict(x, verbose=0)
        expected = max(samples, 513) // 320 + 1
        assert out.shape == (2, expected, 64)


def test_no_weights_and_config_round_trip():
    layer = LogMelSpectrogram(
        sample_rate=16000,
        n_fft=512,
        hop_length=160,
        win_length=512,
        window="hamming",
        n_mels=40,
        fmin=20.0,
        fmax=7600.0,
        mel_scale="htk",
        mel_norm="slaney",
        power=1.0,
        log_scale="db",
        amin=1e-5,
        top_db=80.0,
        pad_short=True,
        name="front",
    )
    x = _test_signal(sr=16000)
    out = _np(layer(x))
    assert layer.weights == []
    config = layer.get_config()
    for arg in (
        "sample_rate",
        "n_fft",
        "hop_length",
        "win_length",
        "window",
        "center",
        "n_mels",
        "fmin",
        "fmax",
        "mel_scale",
        "mel_norm",
        "power",
        "log_scale",
        "amin",
        "top_db",
        "pad_short",
    ):
        assert config[arg] == getattr(layer, arg)
    clone = LogMelSpectrogram.from_config(config)
    assert clone.get_config() == config
    np.testing.assert_array_equal(_np(clone(x)), out)


def test_keras_save_load(tmp_path):
    inputs = keras.Input((6400,))
    features = LogMelSpectrogram(n_mels=32, top_db=80.0)(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(features))
    model = keras.Model(inputs, outputs)
    x = _test_signal()
    expected = model.predict(x, verbose=0)
    path = tmp_path / "tiny.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.layers[1], LogMelSpectrogram)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), expected)


def test_float32_under_mixed_precision():
    x = _test_signal()
    # a loud clip: |STFT|^2 ~ 1e5, above float16's max of 65504
    x = x * 2.0
    ref = reference_log_mel(x)
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        layer = LogMelSpectrogram()
        assert layer.compute_dtype == "float32"
        explicit = LogMelSpectrogram(dtype="mixed_bfloat16")
        assert explicit.compute_dtype == "float32"
        out = layer(keras.ops.cast(x, "float16"))
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
        out = _np(out)
        assert np.all(np.isfinite(out))
        # the float16 input itself only loses ~3 decimal digits
        np.testing.assert_allclose(out, ref, rtol=0, atol=0.05)
        inputs = keras.Input((6400,))
        feats = LogMelSpectrogram()(inputs)
        dense = keras.layers.Dense(2)(keras.layers.Flatten()(feats))
        assert feats.dtype == "float32"
        assert dense.dtype == "float16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_short_clip_raises_with_minimum():
    layer = LogMelSpectrogram()
    assert layer.min_samples == 513
    with pytest.raises(ValueError, match=r"513 samples \(0\.0160 s\)") as err:
        layer(np.zeros((1, 100), "float32"))
    assert "100 samples" in str(err.value)
    assert "pad_short" in str(err.value)
    with pytest.raises(ValueError, match="min_samples=513"):
        layer(keras.Input((512,)))
    assert LogMelSpectrogram(center=False).min_samples == 1024


def test_pad_short_pads_with_zeros():
    x = _test_signal(seconds=300 / 32000)
    layer = LogMelSpectrogram(pad_short=True)
    out = _np(layer(x))
    assert out.shape == (2, layer.num_frames(300), 64) == (2, 2, 64)
    padded = np.pad(x, [(0, 0), (0, 513 - 300)])
    np.testing.assert_allclose(
        out, reference_log_mel(padded), rtol=0, atol=ATOL_DB
    )
    # long clips are untouched by pad_short
    x = _test_signal()
    np.testing.assert_array_equal(_np(layer(x)), _np(LogMelSpectrogram()(x)))


def test_wrong_rank_raises():
    layer = LogMelSpectrogram()
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        layer(np.zeros((2, 1000, 1), "float32"))
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        layer(keras.Input((1000, 2)))


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(n_fft=0), "n_fft=0"),
        (dict(hop_length=-1), "hop_length=-1"),
        (dict(n_mels=0), "n_mels=0"),
        (dict(sample_rate=0), "sample_rate=0"),
        (dict(win_length=2048), "win_length=2048"),
        (dict(window="kaiser"), "window='kaiser'"),
        (dict(mel_scale="mel"), "mel_scale='mel'"),
        (dict(mel_norm="area"), "mel_norm='area'"),
        (dict(log_scale="log10"), "log_scale='log10'"),
        (dict(fmin=-1.0), "fmin=-1.0"),
        (dict(fmax=20000.0), "fmax=20000.0"),
        (dict(fmin=5000.0, fmax=4000.0), "fmax=4000.0"),
        (dict(power=0.0), "power=0.0"),
        (dict(amin=0.0), "amin=0.0"),
        (dict(top_db=-5.0), "top_db=-5.0"),
        (dict(top_db=80.0, log_scale="log"), "top_db=80.0"),
        (dict(dtype="int32"), "dtype=int32"),
        (dict(dtype="float64"), "dtype=float64"),
    ],
)
def test_log_mel_bad_args(kwargs, needle):
    with pytest.raises(ValueError, match="LogMelSpectrogram") as err:
        LogMelSpectrogram(**kwargs)
    assert needle in str(err.value)


def test_bad_choice_lists_valid_values():
    with pytest.raises(ValueError, match="'slaney', 'htk'"):
        LogMelSpectrogram(mel_scale="foo")
    with pytest.raises(ValueError, match="'hann', 'hamming', None"):
        LogMelSpectrogram(window="foo")
    with pytest.raises(ValueError, match="'db', 'log', None"):
        LogMelSpectrogram(log_scale="foo")


# --------------------------------------------------------------------------
# SpecAugment
# --------------------------------------------------------------------------


def _masked_rows_cols(example):
    """Zero rows (frames) and zero columns (bins) of a 2-D example."""
    zero = example == 0
    return zero.all(axis=1), zero.all(axis=0), zero


def test_spec_augment_identity_at_inference():
    x = np.random.default_rng(0).normal(size=(4, 50, 16)).astype("float32")
    layer = SpecAugment(seed=0)
    np.testing.assert_array_equal(_np(layer(x)), x)
    np.testing.assert_array_equal(_np(layer(x, training=False)), x)
    model = keras.Sequential([keras.Input((50, 16)), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_spec_augment_masks_stripes_in_training():
    x = np.ones((8, 100, 64), "float32")
    layer = SpecAugment(
        time_masks=2,
        time_mask_width=20,
        freq_masks=2,
        freq_mask_width=8,
        seed=3,
    )
    out = _np(layer(x, training=True))
    assert out.shape == x.shape
    assert set(np.unique(out)) <= {0.0, 1.0}
    assert (out == 0).any()
    patterns = set()
    for example in out:
        rows, cols, zero = _masked_rows_cols(example)
        # every masked value lies in a whole masked frame or a whole bin
        np.testing.assert_array_equal(zero, rows[:, None] | cols[None, :])
        # at most 2 stripes of width <= 19 frames / <= 7 bins
        assert rows.sum() <= 2 * 19
        assert cols.sum() <= 2 * 7
        patterns.add((rows.tobytes(), cols.tobytes()))
    assert len(patterns) > 1  # the stripes differ between examples


def test_spec_augment_time_only_and_channel_axis():
    x = np.full((4, 30, 10, 1), 5.0, "float32")
    layer = SpecAugment(
        time_masks=1,
        time_mask_width=30,
        freq_masks=0,
        mask_value=-1.0,
        seed=1,
    )
    out = _np(layer(x, training=True))
    assert out.shape == x.shape
    assert set(np.unique(out)) <= {-1.0, 5.0}
    masked = (out[..., 0] == -1.0).all(axis=2)
    # whole frames only; one contiguous stripe per example
    np.testing.assert_array_equal(
        out[..., 0] == -1.0, masked[:, :, None] * (np.ones((1, 1, 10), bool))
    )
    for row in masked:
        idx = np.flatnonzero(row)
        if idx.size:
            assert idx[-1] - idx[0] + 1 == idx.size
    assert masked.any()


def test_spec_augment_fit_one_step():
    model = keras.Sequential(
        [
            keras.Input((20, 8)),
            SpecAugment(time_mask_width=5, freq_mask_width=3, seed=0),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(True))
    x = np.ones((4, 20, 8), "float32")
    history = model.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    assert math.isfinite(history.history["loss"][0])


def test_spec_augment_config_round_trip():
    layer = SpecAugment(
        time_masks=1,
        time_mask_width=10,
        freq_masks=3,
        freq_mask_width=4,
        mask_value=-80.0,
        seed=7,
        name="aug",
    )
    config = layer.get_config()
    for arg in (
        "time_masks",
        "time_mask_width",
        "freq_masks",
        "freq_mask_width",
        "mask_value",
        "seed",
    ):
        assert config[arg] == getattr(layer, arg)
    clone = SpecAugment.from_config(config)
    assert clone.get_config() == config
    x = np.ones((8, 100, 64), "float32")
    a = _np(SpecAugment.from_config(config)(x, training=True))
    b = _np(SpecAugment.from_config(config)(x, training=True))
    np.testing.assert_array_equal(a, b)  # same seed, same stripes


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(time_masks=-1), "time_masks=-1"),
        (dict(time_mask_width=2.5), "time_mask_width=2.5"),
        (dict(freq_masks="2"), "freq_masks='2'"),
        (dict(freq_mask_width=-3), "freq_mask_width=-3"),
        (dict(mask_value="zero"), "mask_value='zero'"),
        (dict(seed=1.5), "seed=1.5"),
    ],
)
def test_spec_augment_bad_args(kwargs, needle):
    with pytest.raises(ValueError, match="SpecAugment") as err:
        SpecAugment(**kwargs)
    assert needle in str(err.value)


def test_spec_augment_bad_rank():
    with pytest.raises(ValueError, match=r"\(batch, frames, mels\)"):
        SpecAugment()(np.ones((2, 10), "float32"))


def _compiled(call):
    """`call` compiled the backend's way for inputs of unknown length:
    a `tf.function` with a `(None, None)` signature, `jax.jit`, or eager
    PyTorch (which has no graph to build)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec((None, None), tf.float32)
        return tf.function(call, input_signature=[spec])
    if backend == "jax":
        import jax

        return jax.jit(call)
    return call


def test_unknown_length_in_compiled_graph():
    layer = LogMelSpectrogram(pad_short=True)
    fn = _compiled(layer.call)
    for samples in (300, 2000):
        x = _test_signal(seconds=samples / 32000)
        padded = np.pad(x, [(0, 0), (0, max(0, 513 - samples))])
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(fn(x)),
            reference_log_mel(padded),
            rtol=0,
            atol=ATOL_DB,
        )
