"""Tests for the audio dataset loaders, on tiny synthetic fixtures."""

import csv
import math
import os

import keras
import numpy as np
import pytest
import soundfile as sf  # the audio extra, which make setup installs
from helpers.audio import SR, write_tone

from keras_attention.audio import (  # noqa: E402
    ESC50,
    AudioDecodeError,
    AudioFolder,
    SpeechCommands,
    UrbanSound8K,
    cross_validation_folds,
    esc50_cross_validation,
)
from keras_attention.audio.datasets import base as audio_datasets  # noqa: E402
from keras_attention.layers import LogMelSpectrogram  # noqa: E402


def _write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


ESC_CATEGORIES = ["dog", "rain", "crying_baby"]


@pytest.fixture
def esc50_root(tmp_path):
    """10 clips: 2 per fold, classes 0-2; target 1 is not in ESC-10."""
    root = tmp_path / "ESC-50"
    rows = []
    for fold in range(1, 6):
        for k in range(2):
            target = (fold + k) % 3
            name = f"{fold}-{100 + k}-A-{target}.wav"
            # the frequency encodes fold and target, to check the content
            write_tone(
                str(root / "audio" / name), 200 * fold + 50 * target, 0.3
            )
            esc10 = "False" if target == 1 else "True"
            rows.append(
                [name, fold, target, ESC_CATEGORIES[target], esc10, 100, "A"]
            )
    _write_csv(
        str(root / "meta" / "esc50.csv"),
        ["filename", "fold", "target", "category", "esc10", "src_file", "take"],
        rows,
    )
    return root


def _fold_from_name(path):
    return int(os.path.basename(path).split("-")[0])


def test_esc50_folds_and_labels(esc50_root):
    ds = ESC50(esc50_root, folds=[1, 2], sample_rate=SR, clip_seconds=0.25)
    assert ds.class_names == ESC_CATEGORIES
    assert ds.num_examples == 4 and len(ds) == 1
    assert {_fold_from_name(f) for f in ds.files} == {1, 2}
    assert set(ds.fold_of.tolist()) == {1, 2}
    for path, label in zip(ds.files, ds.labels, strict=True):
        assert int(os.path.splitext(path)[0].rsplit("-", 1)[1]) == label
    x, y = ds[0]
    assert x.shape == (4, 2000) and x.dtype == np.float32
    assert y.shape == (4,) and y.dtype == np.int32
    np.testing.assert_array_equal(y, ds.labels)
    # fold 3 never appears, in any form of the dataset
    for folds in ([1, 2], 2, (4, 5, 1)):
        files = ESC50(esc50_root, folds=folds, sample_rate=SR).files
        assert all(_fold_from_name(f) != 3 for f in files)


def test_esc50_esc10_subset(esc50_root):
    ds = ESC50(esc50_root, folds=[1, 2, 3, 4, 5], esc10=True, sample_rate=SR)
    assert ds.class_names == ["dog", "crying_baby"]
    assert ds.num_examples == 7  # targets 0 and 2 only
    assert set(ds.labels.tolist()) == {0, 1}


@pytest.mark.parametrize("folds", [[6], [0, 1], [], 2.0, "1", [1.5]])
def test_esc50_bad_folds(esc50_root, folds):
    with pytest.raises(ValueError, match=r"\[1, 2, 3, 4, 5\]") as err:
        ESC50(esc50_root, folds=folds)
    assert f"folds={folds!r}" in str(err.value)


def test_esc50_missing_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="meta/esc50.csv"):
        ESC50(tmp_path / "absent")
    (tmp_path / "ESC-50").mkdir()
    with pytest.raises(FileNotFoundError, match="esc50.csv") as err:
        ESC50(tmp_path / "ESC-50")
    assert "<root>/audio/" in str(err.value)
    _write_csv(str(tmp_path / "ESC-50" / "meta" / "esc50.csv"), ["name"], [])
    with pytest.raises(ValueError, match="lacks the columns"):
        ESC50(tmp_path / "ESC-50")


def test_esc50_cross_validation(esc50_root):
    assert list(cross_validation_folds(5))[2] == ([1, 2, 4, 5], 3)
    splits = list(
        esc50_cross_validation(esc50_root, sample_rate=SR, clip_seconds=0.25)
    )
    assert [s.test_fold for s in splits] == [1, 2, 3, 4, 5]
    for split in splits:
        assert split.test_fold not in split.train_folds
        assert set(split.test.fold_of.tolist()) == {split.test_fold}
        assert split.test_fold not in set(split.train.fold_of.tolist())
        assert split.train.shuffle and not split.test.shuffle
        assert not set(split.train.files) & set(split.test.files)


@pytest.fixture
def us8k_root(tmp_path):
    """One 0.2 s slice per fold; stereo 16 kHz in fold 4 (mixed rates)."""
    root = tmp_path / "UrbanSound8K"
    names = ["air_conditioner", "car_horn", "children_playing"]
    rows = []
    for fold in range(1, 11):
        class_id = fold % 3
        name = f"{1000 + fold}-{class_id}-0-0.wav"
        path = str(root / "audio" / f"fold{fold}" / name)
        if fold == 4:
            write_tone(path, 440, 0.2, sr=16000, channels=2)
        else:
            write_tone(path, 440, 0.2)
        rows.append(
            [name, 1000 + fold, 0.0, 0.2, 1, fold, class_id, names[class_id]]
        )
    _write_csv(
        str(root / "metadata" / "UrbanSound8K.csv"),
        [
            "slice_file_name",
            "fsID",
            "start",
            "end",
            "salience",
            "fold",
            "classID",
            "class",
        ],
        rows,
    )
    return root


def test_urbansound8k_folds(us8k_root):
    ds = UrbanSound8K(us8k_root, folds=[1, 2, 4], sample_rate=SR)
    assert ds.class_names == ["air_conditioner", "car_horn", "children_playing"]
    assert sorted(ds.fold_of.tolist()) == [1, 2, 4]
    for path, fold in zip(ds.files, ds.fold_of, strict=True):
        assert os.path.basename(os.path.dirname(path)) == f"fold{fold}"
        assert fold != 3
    np.testing.assert_array_equal(ds.labels, ds.fold_of % 3)
    x, y = ds[0]
    # default clip 4 s at 8 kHz: 0.2 s of tone, zero-padded at the end
    assert x.shape == (3, 32000) and y.dtype == np.int32
    assert np.abs(x[:, :1500]).max() > 0.4
    assert not x[:, 1700:].any()
    # the 16 kHz stereo file of fold 4 is mixed down and resampled
    assert ds.load(2).shape == (1600,)
    assert len(UrbanSound8K(us8k_root, sample_rate=SR).files) == 9


def test_urbansound8k_bad_input(us8k_root, tmp_path):
    with pytest.raises(ValueError, match=r"\[1, 2, 3, 4, 5, 6, 7, 8, 9, 10\]"):
        UrbanSound8K(us8k_root, folds=[11])
    with pytest.raises(FileNotFoundError, match="UrbanSound8K.csv"):
        UrbanSound8K(tmp_path)
    assert "random" not in dir(UrbanSound8K)  # only the official folds


@pytest.fixture
def speech_root(tmp_path):
    root = tmp_path / "speech_commands_v2"
    for word in ("no", "up", "yes"):
        for k in range(3):
            write_tone(str(root / word / f"spk{k}_nohash_0.wav"), 300, 0.5)
    write_tone(str(root / "_background_noise_" / "white_noise.wav"), 50, 1.2)
    (root / "validation_list.txt").write_text("yes/spk0_nohash_0.wav\n")
    (root / "testing_list.txt").write_text(
        "no/spk1_nohash_0.wav\nup/spk2_nohash_0.wav\n"
    )
    (root / "README.md").write_text("readme")
    return root


def test_speech_commands_splits(speech_root):
    train = SpeechCommands(speech_root, "training", sample_rate=SR)
    val = SpeechCommands(speech_root, "validation", sample_rate=SR)
    test = SpeechCommands(speech_root, "testing", sample_rate=SR)
    assert train.class_names == ["no", "up", "yes"]
    assert (train.num_examples, val.num_examples, test.num_examples) == (
        6,
        1,
        2,
    )
    rel = {os.path.relpath(f, speech_root) for f in train.files}
    assert os.path.join("yes", "spk0_nohash_0.wav") not in rel
    assert not any("_background_noise_" in f for f in train.files)
    np.testing.assert_array_equal(test.labels, [0, 1])
    np.testing.assert_array_equal(val.labels, [2])
    x, y = train[0]
    # 0.5 s clips, padded to the default 1 s
    assert x.shape == (6, SR) and not x[:, SR // 2 + 10 :].any()


def test_speech_commands_bad_input(speech_root, tmp_path):
    with pytest.raises(ValueError, match="subset='train'"):
        SpeechCommands(speech_root, "train")
    os.remove(speech_root / "testing_list.txt")
    with pytest.raises(FileNotFoundError, match="testing_list.txt"):
        SpeechCommands(speech_root)


@pytest.fixture
def folder_root(tmp_path):
    root = tmp_path / "folder"
    for k in range(4):
        write_tone(str(root / "cat" / f"c{k}.wav"), 500, 0.3)
        write_tone(str(root / "dog" / f"d{k}.flac"), 900, 0.3)
    write_tone(str(root / "dog" / "sub" / "deep.OGG"), 900, 0.3)
    (root / "dog" / "notes.txt").write_text("not audio")
    return root


def test_audio_folder(folder_root):
    ds = AudioFolder(folder_root, clip_seconds=0.2, sample_rate=SR)
    assert ds.class_names == ["cat", "dog"]
    assert ds.num_examples == 9
    assert any(f.endswith("deep.OGG") for f in ds.files)
    assert ds.labels.tolist() == [0] * 4 + [1] * 5
    train = AudioFolder(
        folder_root,
        clip_seconds=0.2,
        validation_split=0.34,
        subset="training",
        seed=3,
    )
    val = AudioFolder(
        folder_root,
        clip_seconds=0.2,
        validation_split=0.34,
        subset="validation",
        seed=3,
    )
    assert (train.num_examples, val.num_examples) == (6, 3)
    assert not set(train.files) & set(val.files)
    assert set(train.files) | set(val.files) == set(ds.files)
    only_dog = AudioFolder(folder_root, clip_seconds=0.2, class_names=["dog"])
    assert only_dog.labels.tolist() == [0] * 5


def test_audio_folder_bad_input(folder_root, tmp_path):
    with pytest.raises(ValueError, match="seed=None"):
        AudioFolder(
            folder_root,
            clip_seconds=1.0,
            validation_split=0.2,
            subset="training",
        )
    with pytest.raises(ValueError, match="subset='test'"):
        AudioFolder(
            folder_root, clip_seconds=1.0, validation_split=0.2, subset="test"
        )
    with pytest.raises(ValueError, match="validation_split=1.5"):
        AudioFolder(folder_root, clip_seconds=1.0, validation_split=1.5)
    with pytest.raises(ValueError, match="clip_seconds=0"):
        AudioFolder(folder_root, clip_seconds=0)
    with pytest.raises(FileNotFoundError, match="<class_a>"):
        AudioFolder(tmp_path / "missing", clip_seconds=1.0)
    with pytest.raises(ValueError, match="bird"):
        AudioFolder(folder_root, clip_seconds=1.0, class_names=["bird"])


def test_numpy_ints_are_ints_and_bools_are_not(folder_root):
    """The argument checks of `keras_attention.layers._utils`: NumPy ints
    (e.g. from a config array) are taken as plain ints, bools refused."""
    ds = AudioFolder(
        folder_root,
        clip_seconds=0.2,
        sample_rate=np.int64(8000),
        batch_size=np.int32(4),
        seed=np.int64(3),
    )
    assert (ds.sample_rate, ds.batch_size, ds.seed) == (8000, 4, 3)
    assert type(ds.batch_size) is int and type(ds.seed) is int
    for kwargs in ({"sample_rate": True}, {"batch_size": True}):
        with pytest.raises(ValueError, match="to be an integer >= 1"):
            AudioFolder(folder_root, clip_seconds=0.2, **kwargs)
    with pytest.raises(ValueError, match="seed=True"):
        AudioFolder(folder_root, clip_seconds=0.2, seed=True)
    assert list(cross_validation_folds(np.int64(2))) == [([2], 1), ([1], 2)]
    with pytest.raises(ValueError, match="num_folds=True"):
        list(cross_validation_folds(True))


def test_resampled_clip_length_and_crop(folder_root):
    # 0.3 s at 8 kHz loaded at 16 kHz: 4800 samples, centre crop to 0.2 s
    ds = AudioFolder(
        folder_root, clip_seconds=0.2, sample_rate=16000, batch_size=4
    )
    assert len(ds) == 3
    full = ds.load(0)
    assert full.shape == (4800,)
    x, _ = ds[0]
    assert x.shape == (4, 3200)
    np.testing.assert_array_equal(x[0], full[800:4000])
    spectrum = np.abs(np.fft.rfft(x[0] * np.hanning(3200)))
    assert np.argmax(spectrum) * 16000 / 3200 == pytest.approx(500, abs=5)
    assert ds[2][0].shape == (1, 3200)  # last, partial batch
    with pytest.raises(IndexError):
        ds[3]


def test_shuffle_and_random_crop_are_seeded(folder_root):
    def make():
        return AudioFolder(
            folder_root, clip_seconds=0.1, shuffle=True, seed=7, batch_size=9
        )

    a, b = make(), make()
    assert a.random_crop
    xa, ya = a[0]
    xb, yb = b[0]
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    assert sorted(ya.tolist()) == sorted(a.labels.tolist())
    a.on_epoch_end()
    xa2, ya2 = a[0]
    assert not np.array_equal(xa2, xa)  # new order and/or crops


def _bad_files(directory):
    """Writes bad files into `directory`; returns {name: reason needle}."""
    os.makedirs(directory, exist_ok=True)
    (directory / "empty.wav").write_bytes(b"")
    (directory / "garbage.wav").write_bytes(b"RIFF" + bytes(range(256)) * 2)
    (directory / "text.wav").write_text("hello, not audio\n")
    sf.write(directory / "zero.wav", np.zeros(0, np.float32), SR)
    x = np.full(800, np.nan, np.float32)
    sf.write(directory / "nan.wav", x, SR, subtype="FLOAT")
    return {
        "empty.wav": "empty",
        "garbage.wav": "not a readable audio file",
        "text.wav": "not a readable audio file",
        "zero.wav": "no samples",
        "nan.wav": "NaN",
    }


def test_bad_files_strict_raise(folder_root):
    bad = _bad_files(folder_root / "cat")
    ds = AudioFolder(folder_root, clip_seconds=0.2, batch_size=1)
    assert ds.num_examples == 14 and ds.num_skipped == 0
    seen = set()
    for i, path in enumerate(ds.files):
        name = os.path.basename(path)
        if name in bad:
            with pytest.raises(AudioDecodeError, match=bad[name]) as err:
                ds[i]
            assert path in str(err.value)
            seen.add(name)
    assert seen == set(bad)


def test_bad_files_non_strict_skip(folder_root):
    bad = _bad_files(folder_root / "cat")
    with pytest.warns(UserWarning, match="skipped 5 of 14 files"):
        ds = AudioFolder(
            folder_root, clip_seconds=0.2, strict=False, batch_size=32
        )
    assert ds.num_skipped == 5 and ds.num_examples == 9
    reasons = {os.path.basename(p): r for p, r in ds.skipped}
    assert set(reasons) == set(bad)
    for name, needle in bad.items():
        assert needle in reasons[name]
    assert ds.labels.tolist() == [0] * 4 + [1] * 5  # labels stay aligned
    x, y = ds[0]
    assert x.shape == (9, 3200) and np.isfinite(x).all()


def test_missing_listed_file(esc50_root):
    os.remove(esc50_root / "audio" / "3-100-A-0.wav")
    with pytest.raises(FileNotFoundError, match="3-100-A-0.wav"):
        ESC50(esc50_root, folds=[3])
    with pytest.warns(UserWarning, match="file not found"):
        ds = ESC50(esc50_root, folds=[3], strict=False, sample_rate=SR)
    assert ds.num_skipped == 1 and ds.num_examples == 1


def test_cache(folder_root, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    ds = AudioFolder(
        folder_root, clip_seconds=0.2, cache_dir=cache, sample_rate=16000
    )
    expected = ds[0][0]
    entries = sorted(cache.glob("*.npy"))
    assert len(entries) == 9
    assert not list(cache.glob(".*"))  # no temporary files left

    # a second dataset reads from the cache without decoding
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(audio_datasets, "load_audio", no_decoding)
    again = AudioFolder(
        folder_root, clip_seconds=0.2, cache_dir=cache, sample_rate=16000
    )
    np.testing.assert_array_equal(again[0][0], expected)
    monkeypatch.undo()

    # corrupt and truncated entries are not used, and are rewritten
    entry = again._cache_path(again.files[0])
    with open(entry, "wb") as handle:
        handle.write(b"\x93NUMPY garbage")
    good = open(again._cache_path(again.files[1]), "rb").read()
    with open(again._cache_path(again.files[1]), "wb") as handle:
        handle.write(good[: len(good) // 2])
    # a stray temporary file from an interrupted write is ignored
    (cache / ".leftover.part").write_bytes(good[:10])
    np.testing.assert_array_equal(again[0][0], expected)
    assert again._read_cache(entry) is not None
    assert again._read_cache(again._cache_path(again.files[1])) is not None

    # another sample rate uses other entries
    AudioFolder(
        folder_root, clip_seconds=0.2, cache_dir=cache, sample_rate=8000
    )[0]
    assert len(list(cache.glob("*.npy"))) == 18


def test_fit_one_step_with_pydataset(esc50_root):
    ds = ESC50(
        esc50_root,
        folds=[1, 2, 3],
        sample_rate=SR,
        clip_seconds=0.25,
        batch_size=4,
        shuffle=True,
        seed=0,
    )
    inputs = keras.Input((ds.clip_samples,))
    x = LogMelSpectrogram(
        sample_rate=SR,
        n_fft=256,
        hop_length=128,
        n_mels=16,
        fmin=0.0,
        fmax=None,
    )(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(ds.num_classes)(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        "sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0)
    assert math.isfinite(history.history["loss"][0])


def test_to_tf_dataset_matches_pydataset(esc50_root):
    ds = ESC50(  # to_tf_dataset needs TensorFlow, installed on every backend
        esc50_root,
        folds=[1, 2, 3],
        sample_rate=SR,
        clip_seconds=0.2,
        batch_size=4,
    )
    tf_batches = list(ds.to_tf_dataset().as_numpy_iterator())
    assert len(tf_batches) == len(ds) == 2
    x_tf, y_tf = tf_batches[0]
    x, y = ds[0]
    assert x_tf.dtype == np.float32 and y_tf.dtype == np.int32
    np.testing.assert_array_equal(x_tf, x)
    np.testing.assert_array_equal(y_tf, y)
    # shuffled: the same examples in another order
    shuffled = ESC50(
        esc50_root,
        folds=[1, 2, 3],
        sample_rate=SR,
        clip_seconds=0.2,
        batch_size=4,
        shuffle=True,
        seed=1,
    ).to_tf_dataset()
    labels = np.concatenate([b[1] for b in shuffled.as_numpy_iterator()])
    assert sorted(labels.tolist()) == sorted(ds.labels.tolist())
