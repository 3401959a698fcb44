"""Tests for keras_attention.audio.io (decoding, resampling, errors)."""

import pickle

import numpy as np
import pytest
import soundfile as sf  # the audio extra, which make setup installs

from keras_attention.audio import (
    AudioDecodeError,
    info,
    load_audio,
    resample,
)
from keras_attention.audio import io as audio_io


def _tone(freq, sr, seconds, amp=0.5):
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x, sr):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spectrum) * sr / len(x)


def test_load_wav_basic(tmp_path):
    x = _tone(440, 16000, 0.25)
    path = tmp_path / "a.wav"
    sf.write(path, x, 16000, subtype="PCM_16")
    y = load_audio(path)
    assert y.dtype == np.float32 and y.shape == (4000,)
    np.testing.assert_allclose(y, x, atol=1 / 32768 + 1e-6)
    assert load_audio(str(path), dtype="float64").dtype == np.float64
    meta = info(path)
    assert (meta.sample_rate, meta.channels, meta.frames) == (16000, 1, 4000)
    assert meta.duration == pytest.approx(0.25)


@pytest.mark.parametrize(
    "method",
    [
        "scipy",
        "soxr",  # in the audio extra
    ],
)
def test_resample_keeps_pitch_and_length(tmp_path, method, monkeypatch):
    if method == "scipy":  # force the scipy path even when soxr exists
        monkeypatch.setattr(audio_io, "_soxr", lambda: None)
    else:
        assert audio_io._soxr() is not None, "soxr is in the audio extra"
    x = _tone(440, 8000, 0.5)
    path = tmp_path / "tone8k.wav"
    sf.write(path, x, 8000)
    y = load_audio(path, sample_rate=16000)
    assert y.shape == (8000,) and y.dtype == np.float32
    assert _peak_hz(y, 16000) == pytest.approx(440, abs=2)
    # amplitude kept (away from the edges)
    assert np.abs(y[1000:-1000]).max() == pytest.approx(0.5, abs=0.02)
    # a ratio that does not divide: 44.1 kHz -> 32 kHz, ceil length
    z = resample(_tone(1000, 44100, 0.1), 44100, 32000, method=method)
    assert z.shape == (3200,)
    assert _peak_hz(z, 32000) == pytest.approx(1000, abs=10)


def test_resample_2d_and_identity():
    x = np.stack([_tone(300, 8000, 0.1), _tone(600, 8000, 0.1)], axis=1)
    y = resample(x, 8000, 4000, method="scipy")
    assert y.shape == (400, 2)
    same = resample(x, 8000, 8000)
    np.testing.assert_array_equal(same, x)
    assert same is not x
    assert resample(x.astype(np.float64), 8000, 12000).dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(orig_sr=0, target_sr=8000), "orig_sr=0"),
        (dict(orig_sr=8000, target_sr=1.5), "target_sr=1.5"),
        (dict(orig_sr=8000, target_sr=4000, method="fft"), "method='fft'"),
    ],
)
def test_resample_bad_args(kwargs, needle):
    with pytest.raises(ValueError, match="resample") as err:
        resample(np.zeros(100, np.float32), **kwargs)
    assert needle in str(err.value)


def test_stereo_mixes_to_mono(tmp_path):
    left = _tone(440, 16000, 0.2)
    right = -0.5 * left
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    mono = load_audio(path)
    assert mono.shape == (3200,)
    np.testing.assert_allclose(mono, 0.25 * left, atol=1e-6)
    both = load_audio(path, mono=False)
    assert both.shape == (3200, 2)
    np.testing.assert_allclose(both[:, 1], right, atol=1e-6)


@pytest.mark.parametrize(
    "name, fmt, subtype, atol",
    [
        ("a.flac", "FLAC", "PCM_16", 1e-4),
        ("a.ogg", "OGG", "VORBIS", None),
        ("a.mp3", "MP3", "MPEG_LAYER_III", None),
    ],
)
def test_flac_ogg_mp3_decode(tmp_path, name, fmt, subtype, atol):
    # The soundfile wheels bundle libsndfile >= 1.1, which reads and
    # writes all three.
    assert fmt in sf.available_formats(), sf.__libsndfile_version__
    x = _tone(660, 16000, 0.4, amp=0.4)
    path = tmp_path / name
    sf.write(path, x, 16000, format=fmt, subtype=subtype)
    y = load_audio(path)
    assert y.dtype == np.float32
    assert _peak_hz(y, 16000) == pytest.approx(660, abs=5)
    if atol is not None:  # lossless
        assert y.shape == x.shape
        np.testing.assert_allclose(y, x, atol=atol)
    else:  # lossy codecs may add encoder delay / padding
        assert abs(y.shape[0] - x.shape[0]) <= 2048


def _write_bad(tmp_path, kind):
    path = tmp_path / f"{kind}.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        rng = np.random.default_rng(0)
        path.write_bytes(b"RIFF" + rng.bytes(200))
    elif kind == "text":
        path.write_text("this is not audio\n" * 20)
    elif kind == "zero_length":
        sf.write(path, np.zeros((0,), np.float32), 16000)
    elif kind == "nan":
        x = _tone(440, 16000, 0.05)
        x[10] = np.nan
        sf.write(path, x, 16000, subtype="FLOAT")
    elif kind == "inf":
        x = _tone(440, 16000, 0.05)
        x[3] = np.inf
        sf.write(path, x, 16000, subtype="DOUBLE")
    return path


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("empty", "empty"),
        ("corrupt", "not a readable audio file"),
        ("text", "not a readable audio file"),
        ("zero_length", "no samples"),
        ("nan", "NaN or infinite"),
        ("inf", "NaN or infinite"),
    ],
)
def test_bad_files_raise_decode_error(tmp_path, kind, reason):
    path = _write_bad(tmp_path, kind)
    with pytest.raises(AudioDecodeError, match=reason) as err:
        load_audio(path)
    assert str(path) in str(err.value)
    assert err.value.path == str(path)
    assert isinstance(err.value, ValueError)
    # survives pickling (PyDataset worker processes)
    clone = pickle.loads(pickle.dumps(err.value))
    assert clone.path == str(path) and clone.reason == err.value.reason


def test_missing_file_and_bad_args(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioDecodeError, match="directory"):
        load_audio(tmp_path)
    path = tmp_path / "a.wav"
    sf.write(path, _tone(440, 8000, 0.1), 8000)
    with pytest.raises(ValueError, match="backend='ffmpeg'"):
        load_audio(path, backend="ffmpeg")
    with pytest.raises(ValueError, match="dtype='int16'"):
        load_audio(path, dtype="int16")
    with pytest.raises(ValueError, match="sample_rate=0"):
        load_audio(path, sample_rate=0)


def test_tensorflow_io_is_not_a_backend(tmp_path):
    """tensorflow-io's kernels do not load on current TensorFlow: soundfile
    is the one decoder."""
    path = tmp_path / "a.wav"
    sf.write(path, _tone(440, 8000, 0.1), 8000)
    with pytest.raises(ValueError, match="backend='tfio'"):
        load_audio(path, backend="tfio")
    assert load_audio(path, backend="auto").shape == (800,)
