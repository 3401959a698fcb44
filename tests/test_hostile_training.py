"""Hostile inputs to the training recipes and dataset loaders (issue 14).

Each test makes its own tiny bad input, expects one clear error (or a
warning when told to skip) and checks that nothing corrupt is left behind:

- `kill -9` while the backup of epoch 2 (of 2) is half written: the rerun
  resumes after epoch 1 (the last complete one) and finishes.
- the newest backup truncated to 0 bytes: the rerun warns, falls back to the
  previous backup and drops the log rows trained after it.
- a 0-byte Keras `latest.weights.h5` with `{"epoch": 1}` (the old layout):
  the rerun warns that it starts again at epoch 0 instead of crashing.
- a crafted CIFAR-10 batch whose pickle calls `os.system`: `ValueError`
  naming the file and the refused global; the command never runs.
- genuine CIFAR-10 batches (protocol 2, bytes keys; and protocol 4) still
  load.
- `--output` / `--run-dir` that is a file, lies under a file, or (output)
  is a folder without a preset: exit 2 before training, naming the argument
  and the path (image and audio recipes).
- a corrupt PNG in an image folder: `ValueError` naming it; the recipe
  exits 2 naming it; `--skip-bad-files` leaves it out with one warning.
- a NaN wav and an undecodable wav in an audio folder: the recipe exits 2
  naming them; `--skip-bad-files` leaves them out with one warning.
- a NaN wav in the instrument dataset: `BadFilesError` naming it.
- a read-only dataset folder: the audio recipe writes nothing under
  `--data-dir` (its caches go to `KERAS_ATTENTION_CACHE`).
- a symlink loop (`dog/loop -> ..`) and a symlinked duplicate in an
  `AudioFolder`: each file on disk once, train/validation disjoint by real
  path.
- symlinked duplicates in an image folder: each image on disk once.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from helpers.audio import write_fake_instruments, write_tone
from helpers.recipe_callbacks import Interrupt, SeenEpochs
from helpers.training import (
    audio_args,
    image_args,
    tiny_audio_model,
    tiny_image_model,
    write_cifar,
    write_fake_fashion_mnist,
    write_pngs,
)

from keras_attention.audio import AudioFolder
from training import (
    audio_data,
    common,
    image_data,
    publish,
    train_audio,
    train_image,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(train_image, "build_model", tiny_image_model)
    monkeypatch.setattr(train_audio, "build_model", tiny_audio_model)


def _tree(root: Path) -> dict:
    """Every path under `root` with its size and modification time."""
    return {
        str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def _leftovers(backup: Path) -> list[str]:
    return [p.name for p in backup.iterdir() if p.name.startswith(".")]


# --------------------------------------------------------------------------
# Backups


# Run with PYTHONPATH=<repo>:<repo>/tests (see the test).
DRIVER = """
import json, sys
from helpers.training import tiny_image_model
from training import train_image
train_image.build_model = tiny_image_model
sys.exit(train_image.main(json.loads(sys.argv[1])))
"""


def test_kill_9_during_backup_write_resumes_from_last_complete_epoch(
    tmp_path, tiny
):
    folder = tmp_path / "fmnist"
    write_fake_fashion_mnist(folder)
    args = image_args(folder, tmp_path, "--epochs", "2", "--no-publish")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    marker = tmp_path / "paused"
    path = os.pathsep.join([str(REPO), str(REPO / "tests")])
    env = dict(os.environ, PYTHONPATH=path, **{common.PAUSE_ENV: f"2:{marker}"})
    proc = subprocess.Popen(
        [sys.executable, str(driver), json.dumps(args.argv)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"training exited early: {proc.stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail("the backup of epoch 2 never started")
            time.sleep(0.1)
        partial = Path(marker.read_text())
        assert partial.is_file()  # half of the epoch-2 backup is on disk
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    backup = tmp_path / "run" / "backup"
    assert common.resumed_epoch(backup) == 1
    assert not (backup / common.backup_name(2)).exists()

    seen = SeenEpochs()
    train_image.train(args, callbacks=[seen])
    assert seen.epochs == [1]  # after the last complete epoch
    rows = common.read_log(tmp_path / "run" / "log.csv")
    assert [r["epoch"] for r in rows] == [0, 1]
    assert sorted(p.name for p in backup.glob("epoch-*")) == [
        common.backup_name(1),
        common.backup_name(2),
    ]
    assert _leftovers(backup) == []  # the partial file is gone
    meta = json.loads((backup / common.BACKUP_METADATA).read_text())
    assert meta["epoch"] == 2


def test_truncated_newest_backup_falls_back_to_the_previous_one(
    fake_fmnist_folder, tmp_path, tiny
):
    args = image_args(
        fake_fmnist_folder, tmp_path, "--epochs", "2", "--no-publish"
    )
    with pytest.raises(KeyboardInterrupt):
        train_image.train(args, callbacks=[Interrupt()])
    backup = tmp_path / "run" / "backup"
    # Epoch 2 was trained and logged, but its backup was cut short.
    newest = backup / common.backup_name(2)
    newest.write_bytes(b"")
    log = tmp_path / "run" / "log.csv"
    header, row = log.read_text().splitlines()
    log.write_text(f"{header}\n{row}\n1{row[1:]}\n")
    seen = SeenEpochs()
    with pytest.warns(RuntimeWarning, match=r"epoch-0002.*cannot be loaded"):
        train_image.train(args, callbacks=[seen])
    assert seen.epochs == [1]  # epoch 2 again, from the epoch-1 backup
    rows = common.read_log(log)
    assert [r["epoch"] for r in rows] == [0, 1]  # the stale row 1 dropped
    assert newest.stat().st_size > 0  # rewritten
    assert _leftovers(backup) == []


def test_zero_byte_keras_backup_restarts_at_epoch_0_with_a_warning(
    fake_fmnist_folder, tmp_path, tiny
):
    args = image_args(
        fake_fmnist_folder, tmp_path, "--epochs", "1", "--no-publish"
    )
    backup = tmp_path / "run" / "backup"
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(b"")
    (backup / "training_metadata.json").write_text('{"epoch": 1}')
    seen = SeenEpochs()
    with pytest.warns(RuntimeWarning, match="starts again at epoch 0"):
        train_image.train(args, callbacks=[seen])
    assert seen.epochs == [0]
    assert not (backup / "latest.weights.h5").exists()
    assert common.resumed_epoch(backup) == 1


@pytest.fixture
def fake_fmnist_folder(tmp_path):
    folder = tmp_path / "fmnist"
    write_fake_fashion_mnist(folder)
    return folder


# --------------------------------------------------------------------------
# CIFAR-10 pickles


class _RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_crafted_cifar_pickle_is_refused_without_running_it(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    marker = tmp_path / "pwned"
    crafted = folder / "data_batch_1"
    with open(crafted, "wb") as f:
        pickle.dump({b"data": _RunsACommand(marker)}, f, protocol=2)
    with pytest.raises(
        ValueError, match=r"data_batch_1.*refused global (posix|nt|os)\.system"
    ):
        image_data.load_cifar10_arrays(folder)
    assert not marker.exists()
    # The file is a real exploit: plain pickle would have run it.
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_RunsACommand(control), protocol=2))
    assert control.exists()


@pytest.mark.parametrize("protocol", [2, 4])
def test_genuine_cifar_batches_still_load(tmp_path, protocol):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder, per_batch=3, protocol=protocol)
    (x_train, y_train), (x_test, _), names = image_data.load_cifar10_arrays(
        folder
    )
    assert x_train.shape == (15, 32, 32, 3) and x_train.dtype == np.uint8
    assert x_test.shape == (3, 32, 32, 3) and y_train.dtype == np.int32
    assert names == [f"c{i}" for i in range(10)]


# --------------------------------------------------------------------------
# Output folders checked before training


def _bad_outputs(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    stranger = tmp_path / "home"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("keep me")
    return [
        ("--output", a_file, "is a file"),
        ("--output", a_file / "sub", f"{a_file} is a file"),
        ("--output", stranger, "holds no preset"),
        ("--run-dir", a_file, "is a file"),
        ("--run-dir", a_file / "run", f"{a_file} is a file"),
    ]


@pytest.mark.parametrize("recipe", ["image", "audio"])
def test_unusable_output_folders_exit_2_before_training(
    tmp_path, capsys, recipe
):
    module = train_image if recipe == "image" else train_audio
    base = ["--model", "cbam_resnet18" if recipe == "image" else "cbam_cnn10"]
    base += ["--data-dir", str(tmp_path / "no-data"), "--epochs", "1"]
    for flag, path, needle in _bad_outputs(tmp_path):
        other = "--run-dir" if flag == "--output" else "--output"
        argv = [*base, flag, str(path), other, str(tmp_path / "elsewhere")]
        with pytest.raises(SystemExit) as exit_:
            module.main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"{flag} {path}" in err and needle in err, err
    assert not (tmp_path / "elsewhere").exists()  # nothing trained/written
    assert (tmp_path / "home" / "notes.txt").read_text() == "keep me"


# --------------------------------------------------------------------------
# Bad dataset files


def _image_folder_with_a_corrupt_png(tmp_path):
    root = tmp_path / "images"
    write_pngs(root, ["cat", "dog"], per_class=6, size=(8, 8))
    bad = root / "dog" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    return root, bad


def test_corrupt_image_is_named_or_skipped_with_a_warning(tmp_path):
    root, bad = _image_folder_with_a_corrupt_png(tmp_path)
    with pytest.raises(ValueError, match=r"broken\.png.*--skip-bad-files"):
        image_data.load_folder_arrays(root)
    with pytest.warns(UserWarning, match=r"skipped 1 bad file.*broken\.png"):
        (x_train, _), (x_test, _), _ = image_data.load_folder_arrays(
            root, skip_bad_files=True
        )
    assert len(x_train) + len(x_test) == 12


def test_corrupt_image_recipe_exit_2_names_the_file(tmp_path, capsys):
    root, bad = _image_folder_with_a_corrupt_png(tmp_path)
    argv = image_args(root, tmp_path, "--dataset", "folder").argv
    assert train_image.main(argv) == 2
    assert str(bad) in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def _audio_folder_with_bad_files(tmp_path):
    root = tmp_path / "sounds"
    for label, freq in enumerate((300, 900)):
        for i in range(6):
            path = str(root / f"c{label}" / f"{i}.wav")
            write_tone(path, freq, seconds=0.25, sr=16000)
    nan = root / "c0" / "nan.wav"
    soundfile.write(nan, np.full(4000, np.nan, "f4"), 16000, subtype="FLOAT")
    garbage = root / "c1" / "garbage.wav"
    garbage.write_bytes(b"RIFF" + bytes(range(256)))
    return root, [nan, garbage]


def test_bad_audio_files_recipe_exit_2_names_them(tmp_path, capsys):
    root, bad = _audio_folder_with_bad_files(tmp_path)
    argv = audio_args(root, tmp_path, dataset="folder").argv
    assert train_audio.main(argv) == 2
    err = capsys.readouterr().err
    assert "--skip-bad-files" in err
    for path in bad:
        assert str(path) in err
    assert not (tmp_path / "run").exists()


def test_skip_bad_audio_files_warns_once_listing_them(tmp_path):
    root, bad = _audio_folder_with_bad_files(tmp_path)
    with pytest.warns(UserWarning, match="2 bad audio file") as caught:
        splits = audio_data.load_splits(
            "folder", root, clip_seconds=0.25, skip_bad_files=True
        )
    listed = [str(w.message) for w in caught if "bad audio" in str(w.message)]
    assert len(listed) == 1
    assert all(str(path) in listed[0] for path in bad)
    assert splits.sizes()["train"] + splits.sizes()["val"] == 12


def test_nan_clip_in_instrument_dataset_is_named(tmp_path):
    root = tmp_path / "instruments"
    rows = write_fake_instruments(root)
    nan = root / rows[3]["filename"]
    soundfile.write(nan, np.full(100, np.nan, "f4"), 16000, subtype="FLOAT")
    with pytest.raises(audio_data.BadFilesError, match=nan.name + ".*NaN"):
        audio_data.load_instruments(root, clip_seconds=0.25)
    splits = audio_data.load_instruments(
        root, clip_seconds=0.25, skip_bad_files=True
    )
    assert splits.sizes()["train"] == 21


def test_read_only_dataset_folder_gets_nothing_written(tmp_path, tiny):
    root = tmp_path / "instruments"
    write_fake_instruments(root)
    folder, _ = _audio_folder_with_bad_files(tmp_path)
    (folder / "c0" / "nan.wav").unlink()
    (folder / "c1" / "garbage.wav").unlink()
    before = {root: _tree(root), folder: _tree(folder)}
    os.chmod(root, 0o555)  # (root ignores it: hence the listing check)
    try:
        train_audio.train(audio_args(root, tmp_path, "--no-publish"))
        audio_data.load_splits("folder", folder, clip_seconds=0.25)
    finally:
        os.chmod(root, 0o755)
    assert {root: _tree(root), folder: _tree(folder)} == before
    assert list((tmp_path / "cache" / "datasets").iterdir())


# --------------------------------------------------------------------------
# Symlinks


def test_audio_folder_symlink_loop_and_duplicate_count_once(tmp_path):
    root = tmp_path / "folder"
    for k in range(4):
        write_tone(str(root / "cat" / f"c{k}.wav"), 500)
        write_tone(str(root / "dog" / f"d{k}.wav"), 900)
    os.symlink("..", root / "dog" / "loop")
    os.symlink(root / "cat" / "c0.wav", root / "dog" / "again.wav")
    on_disk = {os.path.realpath(p) for p in root.rglob("*.wav")}
    assert len(on_disk) == 8
    common_args = {"clip_seconds": 0.2, "validation_split": 0.25, "seed": 1}
    every = AudioFolder(root, clip_seconds=0.2)
    assert every.num_examples == 8
    assert {os.path.realpath(f) for f in every.files} == on_disk
    train = AudioFolder(root, subset="training", **common_args)
    val = AudioFolder(root, subset="validation", **common_args)
    real_train = {os.path.realpath(f) for f in train.files}
    real_val = {os.path.realpath(f) for f in val.files}
    assert len(real_train) == train.num_examples == 6
    assert len(real_val) == val.num_examples == 2
    assert not real_train & real_val
    assert real_train | real_val == on_disk


def test_image_folder_symlinked_duplicates_count_once(tmp_path):
    root = tmp_path / "images"
    write_pngs(root, ["cat", "dog"], per_class=5, size=(8, 8))
    os.symlink(root / "cat" / "0.png", root / "dog" / "copy.png")
    os.symlink("..", root / "dog" / "loop")
    (x_train, _), (x_test, _), names = image_data.load_folder_arrays(root)
    assert names == ["cat", "dog"]
    assert len(x_train) + len(x_test) == 10


# --------------------------------------------------------------------------
# Publishing: failed writes leave nothing behind


def test_failed_weights_conversion_leaves_no_temp_file(tmp_path):
    target = tmp_path / "model.weights.h5"
    target.write_bytes(b"the old weights")
    bad = tmp_path / "src" / "model.weights.h5"
    bad.parent.mkdir()
    bad.write_bytes(b"not an HDF5 file")
    with pytest.raises(OSError):
        publish.convert_weights_file(bad, target, "float16")
    assert target.read_bytes() == b"the old weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model.weights.h5",
        "src",
    ]


def test_failed_preset_copy_keeps_the_old_preset(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "config.json").write_text("{}")
    (src / "model.weights.h5").write_bytes(b"not an HDF5 file")
    dst = tmp_path / "published"
    dst.mkdir()
    (dst / "config.json").write_text('{"old": true}')
    with pytest.raises(OSError):
        publish.copy_preset(src, dst, weights_dtype="float16")
    assert [p.name for p in dst.iterdir()] == ["config.json"]
    assert (dst / "config.json").read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["published", "src"]
    publish.write_json(dst / "model_card.json", {"ok": True})
    assert sorted(p.name for p in dst.iterdir()) == [
        "config.json",
        "model_card.json",
    ]
