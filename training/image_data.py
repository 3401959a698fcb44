"""Image datasets and augmentation for the training recipes.

Everything here is numpy, so it feeds `fit` on TensorFlow, JAX and PyTorch
alike. Loaders return :class:`ImageSplits`: raw `uint8` images of shape
`(n, height, width, channels)` in [0, 255] and `int32` labels. The model's
own preprocessor (resizing, grayscale to RGB, mean/std) runs on top of them,
so training, `predict` and `evaluate` see the same pipeline.

Sources:

- Fashion-MNIST as IDX files (`train-images-idx3-ubyte[.gz]`, ...), found in
  `/usr/share/datasets/fashion-mnist/` (Debian package
  `dataset-fashion-mnist`), in the Keras datasets cache
  (`~/.keras/datasets/fashion-mnist/`), or in a folder passed by the user.
- CIFAR-10 in its python-pickle layout (`data_batch_1` .. `data_batch_5`,
  `test_batch`, `batches.meta`).
- A folder of class folders (`root/<class>/<image>`), optionally with
  `train/` and `test/` sub-folders.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
import os
import pickle
import struct
from pathlib import Path

import keras
import numpy as np

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_MNIST_DIRS = (
    Path("/usr/share/datasets/fashion-mnist"),
    Path("~/.keras/datasets/fashion-mnist").expanduser(),
)
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_MNIST_HELP = (
    "Install it with `sudo apt-get install dataset-fashion-mnist` (Debian/"
    "Ubuntu: the IDX files land in /usr/share/datasets/fashion-mnist/), or "
    "run `keras.datasets.fashion_mnist.load_data()` once (it downloads them "
    "to ~/.keras/datasets/fashion-mnist/), or pass the folder holding "
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz with "
    "--data-dir."
)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
DATASETS = ("fashion_mnist", "cifar10", "folder")

_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not where we looked; says how to get them."""


@dataclasses.dataclass
class ImageSplits:
    """Train/validation/test images (uint8, NHWC) with int labels.

    Attributes:
        name: Dataset name, e.g. "fashion_mnist".
        source: Where the files came from (a path).
        class_names: One name per label.
        x_train, y_train: Training images and labels (validation removed).
        x_val, y_val: Validation images and labels.
        x_test, y_test: Test images and labels.
        val_note: How the validation split was taken.
    """

    name: str
    source: str
    class_names: list
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    val_note: str = ""

    @property
    def image_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    def sizes(self) -> dict:
        return {
            "train": int(len(self.x_train)),
            "val": int(len(self.x_val)),
            "test": int(len(self.x_test)),
        }


# --------------------------------------------------------------------------
# IDX (MNIST / Fashion-MNIST)


def read_idx(path) -> np.ndarray:
    """Reads an IDX file (optionally gzipped) into a numpy array.

    The format: two zero bytes, a type code, the number of dimensions, then
    one big-endian uint32 per dimension, then the data.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: unknown IDX type code {type_code:#04x}; expected one "
            f"of {[hex(k) for k in _IDX_DTYPES]}"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path}: expected {expected} bytes of data for shape {shape}, "
            f"found {len(data) - header}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path, array: np.ndarray) -> None:
    """Writes `array` (uint8) as an IDX file, gzipped if `path` ends in .gz.

    The inverse of `read_idx`; used to make test fixtures and samples.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def find_fashion_mnist(data_dir=None) -> Path:
    """The folder holding the four Fashion-MNIST IDX files.

    Looks in `data_dir` if given, else in `$FASHION_MNIST_DIR`, the Debian
    package's folder and the Keras datasets cache. Raises
    `DatasetNotFoundError` saying how to get the files.
    """
    if data_dir is not None:
        candidates = [Path(data_dir).expanduser()]
    else:
        candidates = list(FASHION_MNIST_DIRS)
        if os.environ.get("FASHION_MNIST_DIR"):
            candidates.insert(0, Path(os.environ["FASHION_MNIST_DIR"]))
    for folder in candidates:
        if all(_find_idx(folder, s) for s in FASHION_MNIST_FILES.values()):
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise DatasetNotFoundError(
        f"Fashion-MNIST IDX files not found (looked in: {looked}). "
        f"{FASHION_MNIST_HELP}"
    )


def _check_pair(images, labels, what):
    if images.ndim != 3:
        raise ValueError(
            f"{what}: expected IDX images of shape (n, height, width). "
            f"Received shape {images.shape}"
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{what}: {len(images)} images but labels of shape {labels.shape}"
        )


def load_fashion_mnist_arrays(data_dir=None):
    """`(x_train, y_train), (x_test, y_test), folder` with images
    `(n, 28, 28, 1)` uint8 and int32 labels."""
    folder = find_fashion_mnist(data_dir)
    arrays = {
        key: read_idx(_find_idx(folder, stem))
        for key, stem in FASHION_MNIST_FILES.items()
    }
    _check_pair(arrays["train_images"], arrays["train_labels"], "train")
    _check_pair(arrays["test_images"], arrays["test_labels"], "test")
    return (
        (arrays["train_images"][..., None], arrays["train_labels"]),
        (arrays["test_images"][..., None], arrays["test_labels"]),
        folder,
    )


# --------------------------------------------------------------------------
# CIFAR-10 (python pickle layout)


# What the CIFAR-10 batch files may contain besides dicts, lists, strings,
# bytes and numbers: numpy arrays (and, in files pickled by Python 3 with
# protocol 2, bytes spelled as `_codecs.encode(text, "latin1")`). Any other
# global a pickle names (os.system, builtins.eval, ...) is refused before it
# is called.
def _latin1_bytes(text, encoding="latin1"):
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(
            f"refused _codecs.encode with encoding {encoding!r}"
        )
    return text.encode("latin1")


def _cifar_globals() -> dict:
    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_bytes,
    }


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles only plain containers, bytes and numpy arrays (the
    globals of `_cifar_globals`), so a crafted batch file cannot run
    code."""

    def find_class(self, module, name):
        allowed = _cifar_globals().get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name} (a CIFAR-10 batch holds "
                "only a dict of lists, bytes and numpy arrays)"
            )
        return allowed


def _unpickle(path: Path) -> dict:
    """A CIFAR-10 python batch file, read without running code from it.
    Raises `ValueError` naming `path` if it is not one."""
    try:
        with open(path, "rb") as f:
            data = _CifarUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise ValueError(
            f"{path}: not a CIFAR-10 python batch file: {error}"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: not a CIFAR-10 python batch file: holds a "
            f"{type(data).__name__}, expected a dict"
        )
    return data


def _key(d: dict, name: str, path: Path):
    if name in d:
        return d[name]
    if name.encode() in d:
        return d[name.encode()]
    raise ValueError(f"{path}: not a CIFAR-10 python batch file: no {name!r}")


def _cifar_batch(path: Path):
    batch = _unpickle(path)
    try:
        data = np.asarray(_key(batch, "data", path), dtype=np.uint8)
        labels = np.asarray(_key(batch, "labels", path), dtype=np.int32)
    except (TypeError, OverflowError) as error:
        raise ValueError(
            f"{path}: unreadable data or labels ({error})"
        ) from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(
            f"{path}: expected `data` of shape (n, 3072). Received {data.shape}"
        )
    # Rows are 1024 red, 1024 green, 1024 blue values, row-major.
    if labels.shape != (len(data),):
        raise ValueError(
            f"{path}: {len(data)} images but labels of shape {labels.shape}"
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


def load_cifar10_arrays(data_dir):
    """CIFAR-10 from its python-pickle folder (`cifar-10-batches-py`).

    Returns `(x_train, y_train), (x_test, y_test), class_names`.
    """
    folder = Path(data_dir).expanduser()
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"CIFAR-10 (python version) not found in {folder}: missing "
            f"{', '.join(missing)}. Download cifar-10-python.tar.gz from "
            "https://www.cs.toronto.edu/~kriz/cifar.html and pass its "
            "extracted `cifar-10-batches-py` folder with --data-dir."
        )
    train = [_cifar_batch(folder / n) for n in names[:5]]
    x_test, y_test = _cifar_batch(folder / "test_batch")
    class_names = list(CIFAR10_CLASSES)
    if (folder / "batches.meta").is_file():
        meta = _unpickle(folder / "batches.meta")
        class_names = [
            n.decode() if isinstance(n, bytes) else str(n)
            for n in _key(meta, "label_names", folder / "batches.meta")
        ]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), (x_test, y_test), class_names


# --------------------------------------------------------------------------
# A folder of class folders


def _class_folders(root: Path) -> list[str]:
    return sorted(
        p.name for p in root.iterdir() if p.is_dir() and not p.name[0] == "."
    )


def _read_image(path: Path, mode: str, image_size, channels) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert(mode)
        if image.size != (image_size[1], image_size[0]):
            image = image.resize((image_size[1], image_size[0]), Image.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
    return array.reshape(*image_size, channels)


def _read_image_folder(
    root: Path, class_names, image_size, channels, seen=None, skipped=None
):
    """Images of `root/<class>/*` and their labels. Each file on disk is
    read once: a path whose real path (symlinks resolved) is in `seen`
    (shared across calls) is left out. A file Pillow cannot decode raises
    `ValueError` naming it, or, with `skipped` (a list), is appended to it
    as `(path, reason)` and left out."""
    mode = {1: "L", 3: "RGB"}[channels]
    seen = set() if seen is None else seen
    images, labels = [], []
    for label, name in enumerate(class_names):
        folder = root / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            real = os.path.realpath(path)
            if real in seen or not os.path.isfile(real):
                continue
            seen.add(real)
            try:
                images.append(_read_image(path, mode, image_size, channels))
            except Exception as error:  # PIL raises many kinds
                reason = f"{type(error).__name__}: {error}"
                if skipped is None:
                    raise ValueError(
                        f"{path}: cannot read this image ({reason}). Remove "
                        "it, or pass --skip-bad-files to leave bad files out."
                    ) from None
                skipped.append((str(path), reason))
                continue
            labels.append(label)
    if not images:
        raise DatasetNotFoundError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) found in the class "
            f"folders of {root}"
        )
    return np.stack(images), np.asarray(labels, dtype=np.int32)


def _warn_skipped(skipped, what: str) -> None:
    if skipped:
        import warnings

        listed = "; ".join(f"{path} ({reason})" for path, reason in skipped)
        warnings.warn(
            f"{what}: skipped {len(skipped)} bad file(s): {listed}",
            stacklevel=3,
        )


def load_folder_arrays(
    data_dir, image_size=(32, 32), channels=3, seed=0, skip_bad_files=False
):
    """Images from `root/<class>/*.png` (or `root/train/<class>` and
    `root/test/<class>`), read with Pillow and resized to `image_size`.

    Without `train/` and `test/`, a deterministic 10% (seeded shuffle) is
    held out as the test set. Every file on disk counts once (symlinks to
    a file already listed are left out). A file that cannot be decoded
    raises `ValueError` naming it; with `skip_bad_files` it is left out
    and one warning lists every such file.

    Returns `(x_train, y_train), (x_test, y_test), class_names`.
    """
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(f"Image folder {root} does not exist")
    if channels not in (1, 3):
        raise ValueError(f"Expected channels 1 or 3. Received: {channels}")
    image_size = tuple(image_size)
    seen = set()
    skipped = [] if skip_bad_files else None
    read = {"seen": seen, "skipped": skipped}
    if (root / "train").is_dir() and (root / "test").is_dir():
        class_names = _class_folders(root / "train")
        train = _read_image_folder(
            root / "train", class_names, image_size, channels, **read
        )
        test = _read_image_folder(
            root / "test", class_names, image_size, channels, **read
        )
        _warn_skipped(skipped, f"image folder {root}")
        return train, test, class_names
    class_names = _class_folders(root)
    if len(class_names) < 2:
        raise DatasetNotFoundError(
            f"Expected at least 2 class folders in {root} "
            f"(root/<class>/<image>). Found: {class_names}"
        )
    x, y = _read_image_folder(root, class_names, image_size, channels, **read)
    _warn_skipped(skipped, f"image folder {root}")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, len(x) // 10)
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test]), class_names


# --------------------------------------------------------------------------
# Splits


def default_val_size(n_train: int) -> int:
    """5,000, or a tenth of a smaller training set."""
    return min(5000, max(1, n_train // 10))


def load_splits(
    dataset: str = "fashion_mnist",
    data_dir=None,
    val_size: int | None = None,
    image_size=(32, 32),
    channels: int = 3,
    limit: int | None = None,
    train_subset: int | None = None,
    skip_bad_files: bool = False,
) -> ImageSplits:
    """Loads `dataset` and holds out the LAST `val_size` training images
    as the validation set (deterministic; the files are already shuffled).

    Args:
        dataset: "fashion_mnist", "cifar10" or "folder".
        data_dir: Where the files are (required for "cifar10"/"folder").
        val_size: Validation images; default `default_val_size`.
        image_size: Size images of a "folder" dataset are resized to.
        channels: Channels of a "folder" dataset (1 or 3).
        limit: Keep only the first `limit` training and test images (for
            quick trials; the validation split comes from those).
        train_subset: Train on the first `train_subset` images of the
            training split only (after the validation split is taken;
            validation and test sets stay whole). For small budgets.
        skip_bad_files: "folder" only: leave out images that cannot be
            decoded (one warning lists them) instead of raising.
    """
    if dataset not in DATASETS:
        raise ValueError(
            f"Expected `dataset` in {DATASETS}. Received: dataset={dataset!r}"
        )
    if dataset == "fashion_mnist":
        (x_train, y_train), (x_test, y_test), folder = (
            load_fashion_mnist_arrays(data_dir)
        )
        class_names = list(FASHION_MNIST_CLASSES)
        source = str(folder)
    else:
        if data_dir is None:
            raise ValueError(
                f"The {dataset!r} dataset needs --data-dir (its folder)."
            )
        if dataset == "cifar10":
            (x_train, y_train), (x_test, y_test), class_names = (
                load_cifar10_arrays(data_dir)
            )
        else:
            (x_train, y_train), (x_test, y_test), class_names = (
                load_folder_arrays(
                    data_dir,
                    image_size,
                    channels,
                    skip_bad_files=skip_bad_files,
                )
            )
        source = str(Path(data_dir).expanduser())
    if limit is not None:
        if limit < 2:
            raise ValueError(f"Expected `limit` >= 2. Received: {limit}")
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[:limit], y_test[:limit]
    n = len(x_train)
    if val_size is None:
        val_size = default_val_size(n)
    if not 0 < val_size < n:
        raise ValueError(
            f"Expected 0 < val_size < {n} (the training images). "
            f"Received: val_size={val_size}"
        )
    labels = np.concatenate([y_train, y_test])
    if labels.min() < 0 or labels.max() >= len(class_names):
        raise ValueError(
            f"Labels must lie in [0, {len(class_names)}). Found "
            f"[{labels.min()}, {labels.max()}]"
        )
    n_train = n - val_size
    if train_subset is not None:
        if not 0 < train_subset <= n_train:
            raise ValueError(
                f"Expected 0 < train_subset <= {n_train} (the training "
                f"images left after validation). Received: "
                f"train_subset={train_subset}"
            )
        n_train = train_subset
    return ImageSplits(
        name=dataset,
        source=source,
        class_names=list(class_names),
        x_train=x_train[:n_train],
        y_train=y_train[:n_train].astype(np.int32),
        x_val=x_train[n - val_size :],
        y_val=y_train[n - val_size :].astype(np.int32),
        x_test=x_test,
        y_test=y_test.astype(np.int32),
        val_note=f"last {val_size} images of the training files",
    )


# --------------------------------------------------------------------------
# Augmentation (numpy, on raw uint8 batches)


def random_crop(images, padding: int, rng) -> np.ndarray:
    """Zero-pads each side by `padding` and crops back at a random offset."""
    if padding <= 0:
        return images
    n, h, w, _ = images.shape
    padded = np.pad(
        images, ((0, 0), (padding, padding), (padding, padding), (0, 0))
    )
    dy = rng.integers(0, 2 * padding + 1, size=n)
    dx = rng.integers(0, 2 * padding + 1, size=n)
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None]]


def random_flip(images, rng, p: float = 0.5) -> np.ndarray:
    """Mirrors each image left-right with probability `p`."""
    flip = rng.random(len(images)) < p
    out = images.copy()
    out[flip] = out[flip, :, ::-1]
    return out


def random_erasing(
    images,
    rng,
    p: float = 0.5,
    area=(0.02, 0.4),
    aspect=(0.3, 1 / 0.3),
) -> np.ndarray:
    """Random Erasing (Zhong et al., arXiv 1708.04896): with probability
    `p`, one rectangle of `area` fraction and `aspect` ratio per image is
    filled with uniform random values in [0, 255]."""
    n, h, w, c = images.shape
    out = images.copy()
    for i in np.flatnonzero(rng.random(n) < p):
        for _ in range(10):
            target = rng.uniform(*area) * h * w
            ratio = math.exp(
                rng.uniform(math.log(aspect[0]), math.log(aspect[1]))
            )
            eh = int(round(math.sqrt(target * ratio)))
            ew = int(round(math.sqrt(target / ratio)))
            if 0 < eh < h and 0 < ew < w:
                y = rng.integers(0, h - eh + 1)
                x = rng.integers(0, w - ew + 1)
                out[i, y : y + eh, x : x + ew] = rng.integers(
                    0, 256, size=(eh, ew, c), dtype=np.uint8
                )
                break
    return out


@dataclasses.dataclass(frozen=True)
class Augment:
    """Which augmentations run, and how strongly."""

    crop_padding: int = 4
    flip: bool = True
    erasing: float = 0.5

    def __call__(self, images, rng) -> np.ndarray:
        images = random_crop(images, self.crop_padding, rng)
        if self.flip:
            images = random_flip(images, rng)
        if self.erasing > 0:
            images = random_erasing(images, rng, p=self.erasing)
        return images

    def describe(self) -> dict:
        return {
            "random_crop_padding": self.crop_padding,
            "horizontal_flip": self.flip,
            "random_erasing_p": self.erasing,
        }


# --------------------------------------------------------------------------
# Feeding fit


def _to_numpy(x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


class ImageBatches(keras.utils.PyDataset):
    """Batches of `(preprocessed images, labels)` for `fit`/`evaluate`.

    Raw uint8 images are augmented in numpy (if `augment`), then passed
    through `transform` (the model's image converter: resize, grayscale to
    RGB, mean/std), so the model sees exactly what `predict` feeds it.

    With `shuffle`, the order of epoch `e` is a permutation seeded by
    `(seed, e)` and the augmentation of batch `i` by `(seed, e, i)`: the
    same on every run and after a resume (set `epoch` to the resumed one).
    Keras calls `on_epoch_end`, which advances `epoch`.
    """

    def __init__(
        self,
        images,
        labels,
        batch_size: int,
        transform=None,
        augment: Augment | None = None,
        shuffle: bool = False,
        seed: int = 0,
        drop_remainder: bool = False,
        epoch: int = 0,
    ):
        super().__init__(workers=1, use_multiprocessing=False)
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(
                f"Expected batch_size >= 1. Received: {batch_size}"
            )
        self.images = images
        self.labels = np.asarray(labels, dtype=np.int32)
        self.batch_size = batch_size
        self.transform = transform
        self.augment = augment
        self.shuffle = shuffle
        self.seed = seed
        self.drop_remainder = drop_remainder and len(images) >= batch_size
        self.epoch = epoch
        self._order_epoch = None
        self._order = None

    def __len__(self) -> int:
        n = len(self.images) / self.batch_size
        return math.floor(n) if self.drop_remainder else math.ceil(n)

    def _indices(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.images))
        if self._order_epoch != self.epoch:
            rng = np.random.default_rng([self.seed, self.epoch])
            self._order = rng.permutation(len(self.images))
            self._order_epoch = self.epoch
        return self._order

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        take = self._indices()[
            index * self.batch_size : (index + 1) * self.batch_size
        ]
        x = self.images[take]
        if self.augment is not None:
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            x = self.augment(x, rng)
        if self.transform is not None:
            # float32 first: resizing uint8 eagerly would round to integers,
            # while `predict` (tf.data) resizes floats.
            x = _to_numpy(self.transform(x.astype(np.float32)))
        return x.astype(np.float32, copy=False), self.labels[take]

    def on_epoch_end(self) -> None:
        self.epoch += 1
