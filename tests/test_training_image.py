"""Tests for the image training recipe (training/*.py) and the published
Fashion-MNIST weights under zoo/.

No real training: tiny models and data these tests write themselves (a fake
Fashion-MNIST IDX set, a fake CIFAR-10 pickle folder, tiny PNGs). The
published-weights tests are parametrized over the entries found on disk.
"""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from helpers.published import published_entries, registered_entries
from helpers.recipe_callbacks import (
    Interrupt,
    SeenEpochs,
    TrainingPolicies,
    assert_mixed_training_float32_presets,
)
from helpers.registry import stand_in
from helpers.training import (
    image_args,
    tiny_image_model,
    write_cifar,
    write_fake_fashion_mnist,
    write_pngs,
)

from keras_attention import zoo
from training import (
    common,
    demo,
    evaluate,
    image_data,
    make_samples,
    publish,
    train_image,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = (
    REPO / "keras_attention" / "data" / "samples" / "fashion_mnist_sample.npz"
)
FLOOR_MARGIN = 0.10  # sample accuracy may sit this far below the card's


# --------------------------------------------------------------------------
# Fixtures: fake datasets


@pytest.fixture
def fake_fmnist(tmp_path):
    folder = tmp_path / "fmnist"
    arrays = write_fake_fashion_mnist(folder)
    return folder, arrays


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(train_image, "build_model", tiny_image_model)
    stand_in(
        monkeypatch, "cbam_resnet18", tiny_image_model("x", 2, 32).backbone
    )


# --------------------------------------------------------------------------
# Data loaders


def test_idx_round_trip_gz_and_raw(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a-idx3-ubyte.gz", "a-idx3-ubyte"):
        image_data.write_idx(tmp_path / name, array)
        np.testing.assert_array_equal(
            image_data.read_idx(tmp_path / name), array
        )
    # Header: 0, 0, type 0x08 (uint8), 3 dims, then big-endian sizes.
    raw = (tmp_path / "a-idx3-ubyte").read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3])
    assert raw[4:16] == b"\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04"


def test_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="magic"):
        image_data.read_idx(tmp_path / "bad")
    image_data.write_idx(tmp_path / "short", np.zeros((4, 2), np.uint8))
    data = (tmp_path / "short").read_bytes()
    (tmp_path / "short").write_bytes(data[:-1])
    with pytest.raises(ValueError, match="expected 8 bytes"):
        image_data.read_idx(tmp_path / "short")


def test_fashion_mnist_loads_from_a_folder(fake_fmnist):
    folder, ((x_train, y_train), (x_test, y_test)) = fake_fmnist
    (xa, ya), (xb, yb), found = image_data.load_fashion_mnist_arrays(folder)
    assert found == folder
    assert xa.shape == (120, 28, 28, 1) and xa.dtype == np.uint8
    np.testing.assert_array_equal(xa[..., 0], x_train)
    np.testing.assert_array_equal(yb, y_test)


def test_fashion_mnist_found_in_the_keras_cache(fake_fmnist, monkeypatch):
    folder, _ = fake_fmnist
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(
        image_data,
        "FASHION_MNIST_DIRS",
        (folder.parent / "not-here", folder),
    )
    assert image_data.find_fashion_mnist() == folder


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("FASHION_MNIST_DIR", raising=False)
    monkeypatch.setattr(
        image_data, "FASHION_MNIST_DIRS", (tmp_path / "nowhere",)
    )
    with pytest.raises(
        image_data.DatasetNotFoundError,
        match="apt-get install dataset-fashion-mnist",
    ):
        image_data.find_fashion_mnist()
    with pytest.raises(image_data.DatasetNotFoundError, match="nowhere"):
        image_data.load_splits("fashion_mnist")


def test_missing_dataset_is_a_clear_cli_error(tmp_path, capsys):
    code = train_image.main(
        ["--model", "resnet18", "--data-dir", str(tmp_path), "--epochs", "1"]
    )
    assert code == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_cifar10_pickle_layout(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    (x_train, y_train), (x_test, y_test), names = (
        image_data.load_cifar10_arrays(folder)
    )
    assert x_train.shape == (15, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert names == [f"c{i}" for i in range(10)]
    with open(folder / "data_batch_1", "rb") as f:
        raw = pickle.load(f, encoding="bytes")[b"data"][0]
    # Rows hold 1024 red, then 1024 green, then 1024 blue values.
    assert x_train[0, 0, 1, 0] == raw[1]
    assert x_train[0, 1, 0, 1] == raw[1024 + 32]
    assert x_train[0, 31, 31, 2] == raw[3071]
    splits = image_data.load_splits("cifar10", folder, val_size=5)
    assert splits.sizes() == {"train": 10, "val": 5, "test": 3}
    (folder / "test_batch").unlink()
    with pytest.raises(image_data.DatasetNotFoundError, match="test_batch"):
        image_data.load_cifar10_arrays(folder)


def test_class_folder_dataset(tmp_path):
    root = tmp_path / "images"
    write_pngs(root, ["cat", "dog", "owl"], per_class=10, size=(20, 12))
    (x_train, y_train), (x_test, y_test), names = image_data.load_folder_arrays(
        root, image_size=(32, 32)
    )
    assert names == ["cat", "dog", "owl"]
    assert len(x_train) == 27 and len(x_test) == 3
    assert x_train.shape[1:] == (32, 32, 3) and x_train.dtype == np.uint8
    # Labels follow the folders: the red channel encodes the class.
    red = x_train[:, 0, 0, 0].astype(int)
    assert np.all((red // 40) == y_train)
    split = tmp_path / "split"
    write_pngs(split / "train", ["a", "b"], 4, (32, 32))
    write_pngs(split / "test", ["a", "b"], 2, (32, 32))
    (x_train, _), (x_test, y_test), names = image_data.load_folder_arrays(
        split, channels=1
    )
    assert names == ["a", "b"] and x_train.shape == (8, 32, 32, 1)
    assert list(y_test) == [0, 0, 1, 1]


def test_class_folder_errors(tmp_path):
    with pytest.raises(image_data.DatasetNotFoundError, match="not exist"):
        image_data.load_folder_arrays(tmp_path / "missing")
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "one").mkdir()
    with pytest.raises(image_data.DatasetNotFoundError, match="at least 2"):
        image_data.load_folder_arrays(tmp_path / "only")


def test_splits_take_the_last_images_for_validation(fake_fmnist):
    folder, ((x_train, y_train), _) = fake_fmnist
    splits = image_data.load_splits(
        "fashion_mnist", folder, val_size=20, train_subset=50
    )
    assert splits.sizes() == {"train": 50, "val": 20, "test": 40}
    np.testing.assert_array_equal(splits.x_val[..., 0], x_train[-20:])
    np.testing.assert_array_equal(splits.x_train[..., 0], x_train[:50])
    assert splits.class_names[0] == "T-shirt/top"
    assert image_data.default_val_size(60000) == 5000
    with pytest.raises(ValueError, match="val_size"):
        image_data.load_splits("fashion_mnist", folder, val_size=120)
    with pytest.raises(ValueError, match="train_subset"):
        image_data.load_splits("fashion_mnist", folder, train_subset=1000)
    with pytest.raises(ValueError, match="dataset"):
        image_data.load_splits("mnist", folder)
    with pytest.raises(ValueError, match="--data-dir"):
        image_data.load_splits("cifar10")


# --------------------------------------------------------------------------
# Augmentation and batches


def test_augmentations():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, size=(16, 8, 8, 1), dtype=np.uint8)
    np.testing.assert_array_equal(
        image_data.random_crop(images, 0, rng), images
    )
    cropped = image_data.random_crop(images, 2, np.random.default_rng(1))
    assert cropped.shape == images.shape
    # A crop shows the image shifted by at most the padding, zeros elsewhere.
    assert (cropped == 0).any()
    flipped = image_data.random_flip(images, np.random.default_rng(2), p=1.0)
    np.testing.assert_array_equal(flipped, images[:, :, ::-1])
    erased = image_data.random_erasing(images, np.random.default_rng(3), p=1)
    assert erased.shape == images.shape
    assert (erased != images).any(axis=(1, 2, 3)).mean() > 0.5
    augment = image_data.Augment()
    a = augment(images, np.random.default_rng(5))
    b = augment(images, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_batches_cover_each_image_once_per_epoch_deterministically():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    labels = np.arange(10)
    batches = image_data.ImageBatches(
        images, labels, 4, shuffle=True, seed=3, drop_remainder=False
    )
    assert len(batches) == 3
    epoch0 = np.concatenate([batches[i][1] for i in range(len(batches))])
    assert sorted(epoch0) == list(range(10))
    again = image_data.ImageBatches(images, labels, 4, shuffle=True, seed=3)
    np.testing.assert_array_equal(
        epoch0, np.concatenate([again[i][1] for i in range(3)])
    )
    batches.on_epoch_end()
    epoch1 = np.concatenate([batches[i][1] for i in range(3)])
    assert sorted(epoch1) == list(range(10))
    assert not np.array_equal(epoch0, epoch1)
    # A resumed run that starts at epoch 1 sees epoch 1's order.
    resumed = image_data.ImageBatches(
        images, labels, 4, shuffle=True, seed=3, epoch=1
    )
    np.testing.assert_array_equal(
        epoch1, np.concatenate([resumed[i][1] for i in range(3)])
    )
    dropped = image_data.ImageBatches(images, labels, 4, drop_remainder=True)
    assert len(dropped) == 2
    with pytest.raises(IndexError):
        dropped[2]


def test_training_batches_equal_what_predict_feeds_the_model():
    model = tiny_image_model("x", 3, 32)
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(6, 28, 28, 1), dtype=np.uint8)
    batches = image_data.ImageBatches(
        raw, np.zeros(6), 6, transform=model.preprocessor.image_converter
    )
    x, _ = batches[0]
    assert x.shape == (6, 32, 32, 3) and x.dtype == np.float32
    # Grayscale repeated to RGB, ImageNet mean/std per channel.
    assert not np.allclose(x[..., 0], x[..., 1])
    direct = keras.ops.convert_to_numpy(model(x, training=False))
    predicted = model.predict(raw, batch_size=6, verbose=0)
    np.testing.assert_allclose(direct, predicted, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------
# Arguments


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "cbam_resnet19"], "Did you mean"),
        (["--model", "resnet18", "--epochs", "0"], "--epochs"),
        (["--model", "resnet18", "--image-size", "16"], "--image-size"),
        (["--model", "resnet18", "--erasing", "1.5"], "--erasing"),
        (["--model", "resnet18", "--lr", "-1"], "--lr"),
        (["--model", "resnet18", "--dataset", "mnist"], "invalid choice"),
        (["--model", "resnet18", "--dataset", "cifar10"], "--data-dir"),
        (["--model", "resnet18", "--dtype-policy", "bfloat16"], "choose from"),
    ],
)
def test_bad_arguments_are_clear_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_image.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_splits_that_do_not_fit_the_data_are_clear_errors(
    fake_fmnist, tmp_path, capsys
):
    folder, _ = fake_fmnist
    argv = ["--model", "resnet18", "--data-dir", str(folder)]
    argv += ["--run-dir", str(tmp_path / "run"), "--val-size", "500"]
    assert train_image.main(argv) == 2
    assert "val_size" in capsys.readouterr().err


def test_audio_models_are_refused():
    audio = zoo.list_models(task="audio")
    assert audio, "the catalog registers audio models"
    parser = train_image.build_parser()
    args = parser.parse_args(["--model", audio[0]])
    with pytest.raises(train_image.RecipeError, match="image models"):
        train_image.resolve(args)


def test_evaluate_refuses_a_folder_without_card(tmp_path, capsys):
    with pytest.raises(SystemExit):
        evaluate.main([str(tmp_path)])
    assert "model_card.json" in capsys.readouterr().err


# --------------------------------------------------------------------------
# The recipe end to end (tiny model, tiny fake data)


def test_recipe_end_to_end_then_evaluate(fake_fmnist, tmp_path, tiny):
    folder, _ = fake_fmnist
    args = image_args(folder, tmp_path)
    result = train_image.train(args)
    run = tmp_path / "run"
    published = tmp_path / "published"
    assert (run / "log.csv").is_file() and (run / "curves.png").is_file()
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["published"] == str(published)
    for name in (
        "config.json",
        "task.json",
        "preprocessor.json",
        "model.weights.h5",
        "task.weights.h5",
        "model_card.json",
    ):
        assert (published / name).is_file(), name
    card = publish.read_card(published)
    assert card["model"] == "cbam_resnet18" and card["default"] is True
    assert card["class_names"] == list(image_data.FASHION_MNIST_CLASSES)
    assert card["dataset"]["splits"] == {"train": 32, "val": 16, "test": 40}
    assert card["dataset"]["source"] == "Debian package dataset-fashion-mnist"
    assert card["metrics"] is None  # only evaluate.py writes metrics
    assert card["recipe"]["arguments"]["epochs"] == 1
    assert "--train-subset 32" in card["recipe"]["command"]
    assert card["license"] == {"weights": "Apache-2.0", "dataset": "MIT"}
    # The published weights are float16 on disk, the reference float32,
    # and no optimizer state was exported.
    assert set(publish.weight_dtypes(published / "model.weights.h5")) == {
        "float16"
    }
    assert "float32" in publish.weight_dtypes(
        run / "preset_float32" / "model.weights.h5"
    )
    with h5py.File(published / "task.weights.h5") as f:
        assert "optimizer/vars/2" not in f

    code = evaluate.main([str(published), "--data-dir", str(folder)])
    card = publish.read_card(published)
    metrics = card["metrics"]
    assert metrics["test_images"] == 40
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert "python -m training.evaluate" in metrics["evaluated_with"]
    assert metrics["backend"] == keras.backend.backend()
    storage = card["storage"]
    assert storage["float32_reference"]["test_accuracy"] is not None
    assert code == (0 if storage["within_tolerance"] else 1)
    for name, entry in card["files"].items():
        assert entry["sha256"] == publish.sha256_of(published / name)
        assert entry["size"] == (published / name).stat().st_size
    # The loaded model computes in float32 from the float16 files, within
    # float16 rounding of the float32 reference.
    model = evaluate.load_preset(published)
    reference = evaluate.load_preset(run / "preset_float32")
    assert all(w.dtype == "float32" for w in model.weights)
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-3)
    assert not np.array_equal(
        model.get_weights()[0], reference.get_weights()[0]
    )


def test_recipe_trains_under_mixed_precision_and_exports_float32(
    fake_fmnist, tmp_path, tiny
):
    folder, _ = fake_fmnist
    args = image_args(folder, tmp_path, "--dtype-policy", "mixed_bfloat16")
    seen = TrainingPolicies()
    train_image.train(args, callbacks=[seen])
    published = tmp_path / "published"
    assert_mixed_training_float32_presets(
        seen, tmp_path / "run", published, evaluate.load_preset
    )
    card = publish.read_card(published)
    assert card["recipe"]["arguments"]["dtype_policy"] == "mixed_bfloat16"
    assert "--dtype-policy mixed_bfloat16" in card["recipe"]["command"]
    assert evaluate.main([str(published), "--data-dir", str(folder)]) in (0, 1)
    assert publish.read_card(published)["metrics"]["test_images"] == 40


def test_float32_config_replaces_only_mixed_policies():
    policy = {"module": "keras", "class_name": "DTypePolicy"}
    mixed = {**policy, "config": {"name": "mixed_float16"}}
    config = {
        "a": [{"dtype": mixed, "units": 3}],
        "b": {"dtype": {**policy, "config": {"name": "float32"}}},
        "name": "mixed_up",
    }
    out = common.float32_config(config)
    assert out["a"][0] == {
        "dtype": {**policy, "config": {"name": "float32"}},
        "units": 3,
    }
    assert out["b"] == config["b"] and out["name"] == "mixed_up"
    assert config["a"][0]["dtype"]["config"]["name"] == "mixed_float16"


def test_resume_continues_after_the_last_finished_epoch(
    fake_fmnist, tmp_path, tiny
):
    folder, _ = fake_fmnist
    args = image_args(folder, tmp_path, "--epochs", "2", "--no-publish")
    with pytest.raises(KeyboardInterrupt):
        train_image.train(args, callbacks=[Interrupt()])
    backup = tmp_path / "run" / "backup"
    assert (backup / "epoch-0001.weights.h5").is_file()
    assert (
        json.loads((backup / "training_metadata.json").read_text())["epoch"]
        == 1
    )
    seen = SeenEpochs()
    train_image.train(args, callbacks=[seen])
    assert seen.epochs == [1]  # epoch 2 only, from the backup
    rows = common.read_log(tmp_path / "run" / "log.csv")
    assert [r["epoch"] for r in rows] == [0, 1]
    # Rerunning a finished run trains nothing and re-exports.
    seen = SeenEpochs()
    train_image.train(args, callbacks=[seen])
    assert seen.epochs == []
    # Other arguments with the same run folder are refused.
    other = image_args(folder, tmp_path, "--epochs", "3", "--no-publish")
    with pytest.raises(train_image.RecipeError, match="epochs"):
        train_image.train(other)


# --------------------------------------------------------------------------
# Fine-tuning from a preset with float16 files


def test_fine_tune_path_loads_backbone_and_a_fresh_head(tmp_path, monkeypatch):
    model = tiny_image_model("x", 10, 32)
    stand_in(monkeypatch, "cbam_resnet18", model.backbone)
    preset = tmp_path / "preset32"
    common.export_copy(model).save_to_preset(str(preset))
    published = tmp_path / "preset16"
    publish.copy_preset(preset, published, weights_dtype="float16")
    tuned = zoo.load("cbam_resnet18", weights=str(published), num_classes=5)
    assert tuned.output_shape == (None, 5)
    kernel = keras.ops.convert_to_numpy(
        tuned.backbone.get_layer("stem_conv").kernel
    )
    assert kernel.dtype == np.float32
    with h5py.File(published / "model.weights.h5") as f:
        stored = [f[k][()] for k in _datasets(f) if f[k].shape == kernel.shape]
    assert stored and stored[0].dtype == np.float16
    np.testing.assert_array_equal(kernel, stored[0].astype(np.float32))
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1), np.uint8)
    tuned.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = tuned.get_layer("predictions").get_weights()[0].copy()
    tuned.fit(x, np.arange(4), epochs=1, batch_size=4, verbose=0)
    after = tuned.get_layer("predictions").get_weights()[0]
    assert not np.allclose(before, after)


def _datasets(group):
    names = []
    group.visititems(
        lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None
    )
    return names


def test_float16_conversion_keeps_structure(tmp_path):
    path = tmp_path / "a.weights.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("layers/dense/vars")
        g.create_dataset("0", data=np.full((3, 2), 0.1, np.float32))
        f.create_dataset("optimizer/vars/0", data=np.float32(2.0))
        f.create_dataset("ints", data=np.arange(3))
        f.attrs["keras_version"] = "3"
    publish.convert_weights_file(path, tmp_path / "b.weights.h5")
    with h5py.File(tmp_path / "b.weights.h5") as f:
        assert f["layers/dense/vars/0"].dtype == np.float16
        assert f["optimizer/vars/0"].dtype == np.float32
        assert f["ints"].dtype == np.arange(3).dtype
        assert f.attrs["keras_version"] == "3"


# --------------------------------------------------------------------------
# The bundled sample and the demo's helpers


def test_bundled_sample():
    assert SAMPLE.is_file(), "run python -m training.make_samples"
    assert SAMPLE.stat().st_size < 300 * 1024
    images, labels, names = demo.load_sample()
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28, 1)
    assert len(images) == len(labels) >= 200
    assert names == list(image_data.FASHION_MNIST_CLASSES)
    assert np.bincount(labels).tolist() == [len(labels) // 10] * 10
    train, held = demo.split_fine_tune(labels)
    assert set(labels[train]) == set(range(5)) == set(labels[held])
    assert not set(train) & set(held)


def test_make_sample_is_deterministic():
    y = np.arange(100) % 10
    x = np.arange(100, dtype=np.uint8).reshape(100, 1, 1, 1)
    a = make_samples.make_sample(x, y, 3)
    b = make_samples.make_sample(x, y, 3)
    np.testing.assert_array_equal(a["indices"], b["indices"])
    assert a["indices"].tolist() == list(range(30))
    np.testing.assert_array_equal(a["images"][:, 0, 0, 0], a["indices"])


# --------------------------------------------------------------------------
# Published weights (parametrized over the entries on disk)


PUBLISHED = published_entries("image")


def test_published_entries_are_all_discovered():
    """Guards the parametrization below against going silently empty."""
    assert PUBLISHED
    assert registered_entries("image") == PUBLISHED


@pytest.mark.parametrize(
    "name, weights", PUBLISHED, ids=["/".join(p) for p in PUBLISHED]
)
def test_published_weights(name, weights):
    folder = REPO / "zoo" / name / weights
    card = publish.read_card(folder)
    assert card["model"] == name and card["weights"] == weights
    metrics = card.get("metrics")
    assert metrics, f"run: python -m training.evaluate zoo/{name}/{weights}"
    assert metrics["test_images"] == 10000
    # Cards evaluated before the recipes became modules name the file.
    command = metrics["evaluated_with"]
    assert "training.evaluate" in command or "training/evaluate.py" in command
    on_disk = sorted(
        p.name for p in folder.iterdir() if p.name != "model_card.json"
    )
    assert sorted(card["files"]) == on_disk
    for filename, entry in card["files"].items():
        path = folder / filename
        assert path.stat().st_size == entry["size"] <= 25 * 2**20
        assert publish.sha256_of(path) == entry["sha256"], filename
    storage = card["storage"]
    assert storage["within_tolerance"] is True
    reference = storage["float32_reference"]["test_accuracy"]
    assert abs(metrics["test_accuracy"] - reference) <= 0.001 + 1e-9
    model = zoo.load(name, weights=weights)
    assert all(w.dtype == "float32" for w in model.weights)
    images, labels, _ = demo.load_sample()
    accuracy = demo.accuracy(model, images, labels)
    floor = metrics["test_accuracy"] - FLOOR_MARGIN
    assert accuracy >= floor, (accuracy, floor)
    if metrics.get("sample"):
        assert abs(accuracy - metrics["sample"]["accuracy"]) <= 0.02


# The fine-tuning path on one published entry (the demo's model if there).
FINE_TUNE = sorted(PUBLISHED, key=lambda p: p[0] != "cbam_resnet18")[:1]


@pytest.mark.parametrize(
    "name, weights", FINE_TUNE, ids=["/".join(p) for p in FINE_TUNE]
)
def test_published_weights_fine_tune(name, weights):
    tuned = zoo.load(name, weights=weights, num_classes=5)
    assert tuned.output_shape == (None, 5)
    kernel = keras.ops.convert_to_numpy(
        tuned.backbone.get_layer("stem_conv").kernel
    )
    folder = REPO / "zoo" / name / weights
    with h5py.File(folder / "model.weights.h5") as f:
        # The stem's 7x7x3x64 kernel is the only variable of its shape.
        stored = [f[k][()] for k in _datasets(f) if f[k].shape == kernel.shape]
    assert len(stored) == 1
    np.testing.assert_array_equal(kernel, stored[0].astype(np.float32))
    images, labels, _ = demo.load_sample()
    keep = labels < 5
    tuned.backbone.trainable = False  # as the demo does: train the head
    tuned.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    head = tuned.get_layer("predictions")
    before = head.get_weights()[0].copy()
    tuned.fit(images[keep][:8], labels[keep][:8], epochs=1, verbose=0)
    assert not np.allclose(before, head.get_weights()[0])
    np.testing.assert_array_equal(
        kernel,
        keras.ops.convert_to_numpy(
            tuned.backbone.get_layer("stem_conv").kernel
        ),
    )


def test_gzip_helper_matches_debian_layout(tmp_path):
    """The fake IDX files are the same gzip layout as the real ones."""
    image_data.write_idx(tmp_path / "x.gz", np.zeros((1, 2, 2), np.uint8))
    with gzip.open(tmp_path / "x.gz") as f:
        assert f.read(4) == bytes([0, 0, 8, 3])


def test_published_weights_load_under_mixed_precision():
    """A published float32 preset loads into a bfloat16 backbone with a
    float32 head and predicts what the float32 model predicts."""
    mixed = zoo.load(
        "cbam_resnet18", dtype="mixed_bfloat16", head_dtype="float32"
    )
    policies = {
        layer.name: layer.dtype_policy.name
        for layer in mixed.backbone._flatten_layers(include_self=False)
    }
    assert set(policies.values()) == {"mixed_bfloat16", "float32"}
    assert [n for n, p in policies.items() if p == "float32"] == ["images"]
    assert mixed.get_layer("predictions").dtype_policy.name == "float32"
    images, _, _ = demo.load_sample()
    images = images[:32]
    reference = zoo.load("cbam_resnet18").predict(images, verbose=0)
    predicted = mixed.predict(images, verbose=0)
    assert predicted.dtype == np.float32
    agree = (predicted.argmax(1) == reference.argmax(1)).mean()
    assert agree >= 0.9, agree
    assert np.abs(predicted - reference).max() < 1.0


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_build_model_uses_the_dtype_policy(policy):
    """The recipe's own builder (not the tiny stand-in)."""
    model = train_image.build_model("eca_resnet18", 10, 32, dtype_policy=policy)
    conv = model.backbone.get_layer("stage1_block1_conv1")
    assert conv.dtype_policy.name == policy
    assert model.get_layer("predictions").dtype_policy.name == "float32"
    assert model.preprocessor.image_converter.image_size == (32, 32)
