"""Tests for the audio training recipe (training/train_audio.py,
training/audio_data.py, the audio side of training/evaluate.py) and the
published audio weights under zoo/.

No real training: a tiny CNN on tiny datasets the tests write themselves
(a fake instrument dataset and a fake ESC-50 folder of short tones).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import soundfile
from helpers.audio import FAMILIES, RATE, tone, write_fake_instruments
from helpers.published import published_entries, registered_entries
from helpers.recipe_callbacks import (
    Interrupt,
    SeenEpochs,
    TrainingPolicies,
    assert_mixed_training_float32_presets,
)
from helpers.registry import stand_in
from helpers.training import audio_args, tiny_audio_model

from keras_attention import zoo
from keras_attention.models import (
    AudioCNNBackbone,
)
from training import (
    audio_data,
    common,
    evaluate,
    publish,
    train_audio,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "keras_attention" / "data" / "samples" / "instruments"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Dataset caches go to this test's folder, not the user's cache."""
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def fake_instruments(tmp_path):
    root = tmp_path / "instruments"
    rows = write_fake_instruments(root)
    return root, rows


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(train_audio, "build_model", tiny_audio_model)
    backbone = AudioCNNBackbone(
        stackwise_num_filters=[8, 16], stackwise_pool_sizes=[2, 2]
    )
    stand_in(monkeypatch, "cbam_cnn10", backbone)


# --------------------------------------------------------------------------
# Data


def test_instrument_splits_keep_the_first_seconds_and_cache_them(
    fake_instruments,
):
    root, rows = fake_instruments
    splits = audio_data.load_instruments(root, clip_seconds=0.25)
    assert splits.class_names == FAMILIES
    assert splits.sizes() == {
        "train": 22,
        "val": 11,
        "test_instrument": 11,
        "test_soundfont": 11,
    }
    first = rows[0]
    wave, rate = soundfile.read(root / first["filename"], dtype="float32")
    assert rate == RATE
    np.testing.assert_array_equal(splits.train.x[0], wave[: RATE // 4])
    assert splits.train.y.tolist() == [r["family_id"] for r in rows[:22]]
    assert "fake_heldout" in splits.notes["test_soundfont"]
    assert not (root / "cache").exists()  # nothing written into the data
    (cache,) = audio_data.dataset_cache_dir(root).glob("train_first4000_*")
    # A cache of the wrong shape (another build) is rebuilt, not trusted.
    np.save(cache, np.zeros((3, 4000), np.float32))
    again = audio_data.load_instruments(root, clip_seconds=0.25)
    np.testing.assert_array_equal(again.train.x, splits.train.x)
    # A clip longer than the stored one is padded with zeros.
    long = audio_data.load_instruments(root, clip_seconds=0.5)
    assert long.train.x.shape == (22, 8000)
    assert not long.train.x[:, 6400:].any()


def test_missing_instrument_dataset_names_the_build_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="build_instrument_dataset"):
        audio_data.load_instruments(tmp_path / "nowhere")


def test_instrument_dataset_refuses_other_rates_and_long_clips(
    fake_instruments,
):
    root, _ = fake_instruments
    with pytest.raises(ValueError, match="16000 Hz"):
        audio_data.load_instruments(root, sample_rate=32000)
    with pytest.raises(ValueError, match="clip-seconds"):
        audio_data.load_instruments(root, clip_seconds=5.0)


def test_augment_mixes_labels_and_delays_onsets():
    rng = np.random.default_rng(0)
    x = np.ones((6, 400), np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    augment = audio_data.WaveAugment(
        mixup_alpha=0.4, max_shift_seconds=0.01, gain_db=0.0
    )
    out_x, out_y = augment(x, y, rng, sample_rate=10000)
    assert out_x.shape == x.shape and out_y.shape == y.shape
    np.testing.assert_allclose(out_y.sum(axis=1), 1.0, rtol=1e-6)
    assert (out_y.max(axis=1) >= 0.5 - 1e-6).all()  # lam >= 0.5
    assert not np.array_equal(out_y, y)  # some labels were mixed
    # Delays put zeros in front: every row starts with 0..100 zeros.
    leading = (out_x == 0).argmin(axis=1)
    assert leading.max() <= 100 and leading.max() > 0
    np.testing.assert_array_equal(x, 1.0)  # the input is not modified
    quiet = audio_data.WaveAugment(mixup_alpha=0, max_shift_seconds=0)
    gx, gy = quiet(x, y, np.random.default_rng(1), sample_rate=10000)
    np.testing.assert_array_equal(gy, y)
    ratio = gx[:, 0]
    assert (ratio >= 10 ** (-6 / 20) - 1e-6).all()
    assert (ratio <= 10 ** (6 / 20) + 1e-6).all()


def test_batches_are_deterministic_per_epoch_and_cover_every_clip():
    x = np.arange(20, dtype=np.float32)[:, None] * np.ones((1, 50), np.float32)
    y = np.arange(20) % 4
    source = audio_data.ClipArrays(x, y)
    kwargs = {"sample_rate": 1000, "shuffle": True, "seed": 3}
    a = audio_data.ClipBatches(source, 4, 8, **kwargs)
    b = audio_data.ClipBatches(source, 4, 8, **kwargs)
    assert len(a) == 3
    seen = np.concatenate([a[i][0][:, 0] for i in range(len(a))])
    assert sorted(seen.tolist()) == list(range(20))
    for i in range(len(a)):
        np.testing.assert_array_equal(a[i][0], b[i][0])
    first = a[0][0].copy()
    a.on_epoch_end()
    assert not np.array_equal(a[0][0], first)  # reshuffled
    resumed = audio_data.ClipBatches(source, 4, 8, epoch=1, **kwargs)
    np.testing.assert_array_equal(resumed[0][0], a[0][0])
    xb, yb = b[0]
    np.testing.assert_array_equal(yb.argmax(axis=1), xb[:, 0].astype(int) % 4)
    dropped = audio_data.ClipBatches(
        source, 4, 8, drop_remainder=True, **kwargs
    )
    assert len(dropped) == 2


# --------------------------------------------------------------------------
# Arguments


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "cbam_resnet18"], "image model"),
        (["--model", "nope_cnn10"], "nope_cnn10"),
        (["--model", "cnn10", "--clip-seconds", "0"], "--clip-seconds"),
        (["--model", "cnn10", "--mixup-alpha", "-1"], "--mixup-alpha"),
        (["--model", "cnn10", "--fold", "2"], "--fold"),
        (["--model", "cnn10", "--dataset", "esc50"], "--data-dir"),
        (["--model", "cnn10", "--epochs", "0"], "--epochs"),
    ],
)
def test_bad_arguments_are_clear_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as error:
        train_audio.main(argv)
    assert error.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_dataset_is_a_clear_cli_error(tmp_path, capsys):
    code = train_audio.main(
        ["--model", "cnn10", "--data-dir", str(tmp_path / "none")]
    )
    assert code == 2
    assert "training.build_instrument_dataset" in capsys.readouterr().err


# --------------------------------------------------------------------------
# End to end


def test_recipe_end_to_end_then_evaluate(fake_instruments, tmp_path, tiny):
    root, _ = fake_instruments
    args = audio_args(root, tmp_path)
    result = train_audio.train(args)
    run, published = tmp_path / "run", tmp_path / "published"
    assert (run / "log.csv").is_file()
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["published"] == str(published)
    card = publish.read_card(published)
    assert card["task"] == "audio" and card["model"] == "cbam_cnn10"
    assert card["class_names"] == FAMILIES
    assert card["preprocessing"]["sample_rate"] == RATE
    assert card["preprocessing"]["clip_seconds"] == 0.25
    assert card["preprocessing"]["front_end"]["n_mels"] == 16
    assert card["dataset"]["splits"]["test_soundfont"] == 11
    assert card["recipe"]["augmentation"]["mixup_alpha"] == 0.2
    assert card["metrics"] is None  # only evaluate.py writes metrics
    assert set(publish.weight_dtypes(published / "model.weights.h5")) == {
        "float16"
    }

    code = evaluate.main([str(published), "--data-dir", str(root)])
    card = publish.read_card(published)
    metrics = card["metrics"]
    assert set(metrics["test_sets"]) == {"test_instrument", "test_soundfont"}
    assert metrics["test_clips"] == 11
    assert (
        metrics["test_accuracy"]
        == (metrics["test_sets"]["test_instrument"]["accuracy"])
    )
    # The card's numbers are what the published model predicts.
    model = evaluate.load_preset(published)
    splits = audio_data.load_instruments(root, clip_seconds=0.25)
    x, y = splits.tests["test_soundfont"].x, splits.tests["test_soundfont"].y
    predicted = np.asarray(model.predict(x, verbose=0)).argmax(axis=1)
    assert metrics["test_sets"]["test_soundfont"]["accuracy"] == pytest.approx(
        float((predicted == y).mean())
    )
    storage = card["storage"]
    assert set(storage["accuracy_change_points_by_set"]) == set(
        metrics["test_sets"]
    )
    assert code == (0 if storage["within_tolerance"] else 1)
    sample = metrics["sample"]
    assert sample["examples"] == len(list(SAMPLE_DIR.glob("*.wav")))
    assert "test_soundfont (11 clips)" in card["summary"]["text"]


def test_recipe_trains_under_mixed_precision_and_exports_float32(
    fake_instruments, tmp_path, tiny
):
    root, _ = fake_instruments
    args = audio_args(root, tmp_path, "--dtype-policy", "mixed_bfloat16")
    seen = TrainingPolicies()
    train_audio.train(args, callbacks=[seen])
    # The front end computes in float32 under any policy.
    assert seen.policies["log_mel"] == "float32"
    published = tmp_path / "published"
    assert_mixed_training_float32_presets(
        seen, tmp_path / "run", published, evaluate.load_preset
    )
    card = publish.read_card(published)
    assert card["recipe"]["arguments"]["dtype_policy"] == "mixed_bfloat16"
    assert evaluate.main([str(published), "--data-dir", str(root)]) in (0, 1)


def test_resume_continues_after_the_last_finished_epoch(
    fake_instruments, tmp_path, tiny
):
    root, _ = fake_instruments
    args = audio_args(root, tmp_path, "--epochs", "2", "--no-publish")
    with pytest.raises(KeyboardInterrupt):
        train_audio.train(args, callbacks=[Interrupt()])
    seen = SeenEpochs()
    train_audio.train(args, callbacks=[seen])
    assert seen.epochs == [1]
    rows = common.read_log(tmp_path / "run" / "log.csv")
    assert [r["epoch"] for r in rows] == [0, 1]
    other = audio_args(root, tmp_path, "--epochs", "2", "--mixup-alpha", "0.5")
    with pytest.raises(common.RecipeError, match="mixup_alpha"):
        train_audio.train(other)


def write_fake_esc50(root: Path, per_fold=2, seconds=0.3):
    rng = np.random.default_rng(1)
    (root / "meta").mkdir(parents=True)
    (root / "audio").mkdir()
    rows = []
    for fold in range(1, 6):
        for i in range(per_fold):
            target = i % 2
            name = f"{fold}-{i}-A-{target}.wav"
            soundfile.write(
                root / "audio" / name, tone(target, seconds, rng), RATE
            )
            rows.append(
                [name, fold, target, f"class{target}", "False", "x", "A"]
            )
    with open(root / "meta" / "esc50.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "filename",
                "fold",
                "target",
                "category",
                "esc10",
                "src_file",
                "take",
            ]
        )
        writer.writerows(rows)


def test_cross_validation_trains_one_model_per_fold(
    tmp_path, tiny, monkeypatch
):
    root = tmp_path / "esc50"
    write_fake_esc50(root)
    # Two folds keep the test short; the loop is the same for five.
    monkeypatch.setitem(audio_data.NUM_FOLDS, "esc50", 2)
    args = audio_args(root, tmp_path, "--sample-rate", "16000", dataset="esc50")
    assert args.fold == 2
    splits = audio_data.load_splits(
        "esc50", root, sample_rate=RATE, clip_seconds=0.25, fold=1
    )
    assert splits.sizes() == {"train": 2, "val": 2, "fold1": 2}
    summary = train_audio.cross_validate(args)
    assert sorted(summary["fold_accuracy"]) == [1, 2]
    values = list(summary["fold_accuracy"].values())
    assert summary["mean_accuracy"] == pytest.approx(np.mean(values))
    for fold in (1, 2):
        assert (tmp_path / "run" / f"fold{fold}" / "preset_float32").is_dir()
    saved = json.loads((tmp_path / "run" / "cross_validation.json").read_text())
    assert saved["fold_accuracy"] == {"1": values[0], "2": values[1]}
    assert not (tmp_path / "published").exists()


# --------------------------------------------------------------------------
# Published audio weights (parametrized over the entries on disk)


PUBLISHED = published_entries("audio")


def test_published_audio_entries_are_all_discovered():
    """Guards the parametrization below against going silently empty."""
    assert PUBLISHED
    assert registered_entries("audio") == PUBLISHED


def test_bundled_demo_clips():
    files, labels = audio_data.read_labelled_clips(SAMPLE_DIR, FAMILIES)
    assert len(files) == 22 and sorted(set(labels.tolist())) == list(range(11))
    total = sum(f.stat().st_size for f in SAMPLE_DIR.iterdir())
    assert total < 400 * 1024
    for path in files:
        info = soundfile.info(str(path))
        assert info.samplerate == RATE and info.channels == 1


@pytest.mark.parametrize(
    "name, weights", PUBLISHED, ids=["/".join(p) for p in PUBLISHED]
)
def test_published_audio_weights(name, weights):
    folder = REPO / "zoo" / name / weights
    card = publish.read_card(folder)
    metrics = card.get("metrics")
    assert metrics, f"run: python -m training.evaluate zoo/{name}/{weights}"
    assert set(metrics["test_sets"]) == {"test_instrument", "test_soundfont"}
    # Cards evaluated before the recipes became modules name the file.
    command = metrics["evaluated_with"]
    assert "training.evaluate" in command or "training/evaluate.py" in command
    for filename, entry in card["files"].items():
        path = folder / filename
        assert path.stat().st_size == entry["size"] <= 25 * 2**20
        assert publish.sha256_of(path) == entry["sha256"], filename
    assert card["storage"]["within_tolerance"] is True
    model = zoo.load(name)  # the default weights, offline
    assert model.class_names == FAMILIES
    assert all(w.dtype == "float32" for w in model.weights)
    files, labels = audio_data.read_labelled_clips(SAMPLE_DIR, FAMILIES)
    from keras_attention.audio import load_audio

    x = np.stack([load_audio(f, sample_rate=RATE) for f in files])
    predicted = np.asarray(model.predict(x, verbose=0)).argmax(axis=1)
    accuracy = float((predicted == labels).mean())
    # The card's sample accuracy is reproduced (to one clip of 22, for
    # another backend's rounding), and it is well above chance (1/11).
    assert accuracy == pytest.approx(metrics["sample"]["accuracy"], abs=0.05)
    assert accuracy >= 2 / len(FAMILIES)


def test_demo_audio_step_reproduces_the_card(tmp_path):
    """The main job's audio step, from the library's demo as
    `keras-attention demo` runs it, in a fresh process in another folder
    (so nothing but the installed package is importable)."""
    import os
    import subprocess

    if not zoo.published_weights("cbam_cnn10"):
        pytest.fail("cbam_cnn10 has no published weights under zoo/")
    code = (
        "from keras_attention.demo import audio_demo; "
        "print('ACCURACY', audio_demo())"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    accuracy = float(out.stdout.split("ACCURACY")[-1])
    card = publish.read_card(REPO / "zoo" / "cbam_cnn10" / "instruments")
    assert accuracy == pytest.approx(
        card["metrics"]["sample"]["accuracy"], abs=0.05
    )
    assert "names the instrument family" in out.stdout


def test_build_model_from_published_weights_under_mixed_precision(tmp_path):
    """The recipe's own builder (not the tiny stand-in): `--init` published
    weights with a new head, under `--dtype-policy mixed_bfloat16`."""
    args = audio_args(
        tmp_path,
        tmp_path,
        "--init",
        "instruments",
        "--dtype-policy",
        "mixed_bfloat16",
    )
    model = train_audio.build_model(args, FAMILIES[:3])
    assert model.output_shape == (None, 3)
    assert model.backbone.get_layer("block1_conv1").compute_dtype == "bfloat16"
    assert model.get_layer("predictions").dtype_policy.name == "float32"
    published = zoo.load("cbam_cnn10")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(
            model.backbone.get_layer("block1_conv1").kernel
        ),
        keras.ops.convert_to_numpy(
            published.backbone.get_layer("block1_conv1").kernel
        ),
    )
