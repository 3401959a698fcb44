"""Stand-ins for the training recipes' models, the fake image datasets and
the parsed arguments the recipe tests (and the hostile-input tests) run
the image and audio recipes with."""

from __future__ import annotations

import pickle
from pathlib import Path

import keras
import numpy as np

from keras_attention.models import (
    AttentionResNetBackbone,
    AttentionResNetImageClassifier,
    AudioCNNBackbone,
    AudioCNNClassifier,
    image_preprocessor,
)
from training import common, image_data, train_audio, train_image

# --------------------------------------------------------------------------
# Image recipe


def fake_images(n, rng, size=28, channels=None):
    """Images whose class is readable: a bright bar at a class position."""
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    shape = (n, size, size) if channels is None else (n, size, size, channels)
    images = rng.integers(0, 40, size=shape).astype(np.uint8)
    for i, label in enumerate(labels):
        row = 2 + 2 * label
        images[i, row : row + 2] = 255
    return images, labels.astype(np.uint8)


def write_fake_fashion_mnist(folder: Path, n_train=120, n_test=40, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = fake_images(n_train, rng)
    x_test, y_test = fake_images(n_test, rng)
    image_data.write_idx(folder / "train-images-idx3-ubyte.gz", x_train)
    image_data.write_idx(folder / "train-labels-idx1-ubyte.gz", y_train)
    image_data.write_idx(folder / "t10k-images-idx3-ubyte.gz", x_test)
    image_data.write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_test)
    return (x_train, y_train), (x_test, y_test)


def write_cifar(folder: Path, per_batch=3, protocol=2):
    """A CIFAR-10 python folder as the real one holds it: pickles (protocol
    2) of dicts with bytes keys, a uint8 `data` array and a list of python
    int `labels`."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        batch = {
            b"batch_label": name.encode(),
            b"data": data,
            b"labels": rng.integers(0, 10, size=per_batch).tolist(),
            b"filenames": [f"{name}_{i}.png".encode() for i in range(3)],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=protocol)
    meta = {b"label_names": [f"c{i}".encode() for i in range(10)]}
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=protocol)


def write_pngs(root: Path, classes, per_class, size):
    """`root/<class>/<i>.png`; the red channel encodes the class."""
    from PIL import Image

    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            value = 40 * c + i
            Image.new("RGB", size, (value, 0, 255 - value)).save(
                root / name / f"{i}.png"
            )


def tiny_image_model(
    model_name,
    num_classes,
    image_size,
    class_names=None,
    seed=0,
    dtype_policy="float32",
):
    """Stands in for `train_image.build_model`: the same classifier,
    preprocessor, head and dtype policies, with a backbone of 2 stages of
    1 block."""
    keras.utils.set_random_seed(seed)
    precision = common.precision_overrides(dtype_policy)
    backbone = AttentionResNetBackbone(
        stackwise_num_blocks=[1, 1],
        stackwise_num_filters=[16, 32],
        attention="cbam",
        image_shape=(None, None, 3),
        dtype=precision["dtype"],
    )
    return AttentionResNetImageClassifier(
        backbone,
        num_classes=num_classes,
        preprocessor=image_preprocessor(
            num_channels=3, image_size=(image_size, image_size)
        ),
        class_names=list(class_names) if class_names else None,
        head_dtype=precision["head_dtype"],
    )


def image_args(data_dir, tmp_path, *extra):
    """`train_image`'s resolved arguments for a 1-epoch run on `data_dir`
    writing under `tmp_path`; `.argv` holds the command line."""
    options = ["--val-size", "16", "--train-subset", "32"]
    return _recipe_args(
        train_image, "cbam_resnet18", data_dir, tmp_path, options, extra
    )


# --------------------------------------------------------------------------
# Audio recipe


def tiny_audio_model(args, class_names):
    """Stands in for `train_audio.build_model`: the same classifier head
    and front end on a 2-block CNN with 8 and 16 filters."""
    keras.utils.set_random_seed(args.seed)
    precision = common.precision_overrides(args.dtype_policy)
    backbone = AudioCNNBackbone(
        stackwise_num_filters=[8, 16],
        stackwise_pool_sizes=[2, 2],
        attention="cbam",
        sample_rate=args.sample_rate,
        n_mels=16,
        spec_augment=not args.no_spec_augment,
        dtype=precision["dtype"],
    )
    return AudioCNNClassifier(
        backbone,
        num_classes=len(class_names),
        class_names=list(class_names),
        clip_seconds=args.clip_seconds,
        head_dtype=precision["head_dtype"],
    )


def audio_args(data_dir, tmp_path, *extra, dataset="instruments"):
    """`train_audio`'s resolved arguments for a 1-epoch run on `data_dir`
    writing under `tmp_path`; `.argv` holds the command line."""
    options = ["--dataset", dataset, "--clip-seconds", "0.25"]
    return _recipe_args(
        train_audio, "cbam_cnn10", data_dir, tmp_path, options, extra
    )


# --------------------------------------------------------------------------
# Both recipes


def _recipe_args(recipe, model, data_dir, tmp_path, options, extra):
    """`recipe.resolve` of a 1-epoch run of `model` (batches of 8, quiet)
    with `options` then `extra`; `.argv` holds the command line."""
    argv = [
        "--model",
        model,
        "--data-dir",
        str(data_dir),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        *options,
        "--run-dir",
        str(tmp_path / "run"),
        "--output",
        str(tmp_path / "published"),
        "--verbose",
        "0",
        *extra,
    ]
    args = recipe.resolve(recipe.build_parser().parse_args(argv))
    args.argv = argv
    return args
