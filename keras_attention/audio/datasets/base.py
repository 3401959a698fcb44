"""The common base of the audio datasets: `AudioClipDataset` decodes,
resamples, caches, crops or pads and batches the clips its subclasses find.

Every loader yields `(waveforms, labels)` batches: float32 waveforms of shape
`(batch, clip_samples)` at `sample_rate`, and int32 labels of shape
`(batch,)`. `model.fit` accepts them on every backend; `.to_tf_dataset()`
gives the same examples as a `tf.data.Dataset` (needs TensorFlow only).

Clips are brought to `clip_samples = round(clip_seconds * sample_rate)`
samples. Longer clips are cropped: at a random position when `random_crop`
is true (the default when `shuffle=True`, i.e. for training), otherwise
around the centre, so evaluation is deterministic. Shorter clips are
zero-padded at the end.

Official splits only: ESC-50 has 5 fixed folds and UrbanSound8K 10 fixed
folds. Their clips are cut from longer recordings, and slices of the same
recording in the training and test data leak, inflating the score, so no
random split is offered. Report the mean accuracy over the folds (see
`esc50_cross_validation`, `urbansound8k_cross_validation`). Speech Commands
uses its `validation_list.txt` and `testing_list.txt`.

Bad files: with `strict=True` (the default) a file that cannot be decoded
raises `AudioDecodeError` naming it when it is loaded, and a file listed in
the metadata but missing raises `FileNotFoundError` when the dataset is
created. With `strict=False` every file is decoded once when the dataset is
created (so this costs one pass over the data; with `cache_dir` the decoded
arrays are kept and the first epoch reads them from the cache); files that
fail are left out with one `warnings.warn` and listed in `.skipped` as
`(path, reason)` pairs, counted by `.num_skipped`.

Cache: with `cache_dir`, each decoded and resampled waveform is stored as
one `.npy` file whose name hashes the file's absolute path, modification
time, size, the sample rate and the resampler. Entries are written with
`keras_attention.atomic` (a temporary file renamed into place), so an
interrupted write never leaves a valid-looking entry; an entry that cannot
be read back as a finite 1-D float32 array is ignored and rewritten.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import warnings
from collections.abc import Iterable, Sequence

import keras
import numpy as np

from keras_attention import atomic
from keras_attention.audio.io import AudioDecodeError, _soxr, load_audio
from keras_attention.layers._utils import check_positive_int, is_integer

_CACHE_VERSION = "1"


class AudioClipDataset(keras.utils.PyDataset):
    """Fixed-length audio clips with integer labels (the common base).

    Subclasses find the files and labels; this class decodes, resamples,
    caches, crops or pads and batches them.

    Args:
        files: paths of the audio files.
        labels: one int label per file.
        class_names: names of the classes, indexed by label.
        sample_rate: resample every file to this rate (Hz).
        clip_seconds: length of every example in seconds.
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: reshuffle the examples at every epoch.
        seed: seed for the shuffling and the random crops. `None` draws
            one at random.
        random_crop: crop long clips at a random position (`True`) or
            around the centre (`False`). `None` means `shuffle`.
        cache_dir: folder for cached decoded waveforms, or `None`.
        strict: raise on bad files (`True`) or skip them (`False`), see the
            module docstring.
        **kwargs: `workers`, `use_multiprocessing` and `max_queue_size`,
            passed to `keras.utils.PyDataset`.

    Attributes:
        files: the usable audio files, one per example.
        labels: their labels, an int32 array.
        class_names: names of the classes, indexed by label.
        skipped: `(path, reason)` of every file left out (`strict=False`).
        clip_samples: samples per example, `round(clip_seconds *
            sample_rate)`.
    """

    def __init__(
        self,
        files: Sequence[str | os.PathLike],
        labels: Sequence[int],
        class_names: Sequence[str],
        *,
        sample_rate: int,
        clip_seconds: float,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int | None = None,
        random_crop: bool | None = None,
        cache_dir: str | os.PathLike | None = None,
        strict: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = type(self).__name__
        check_positive_int(name, "sample_rate", sample_rate)
        if (
            isinstance(clip_seconds, bool)
            or not isinstance(clip_seconds, int | float)
            or clip_seconds <= 0
        ):
            raise ValueError(
                f"{name}: Expected `clip_seconds` > 0. "
                f"Received: clip_seconds={clip_seconds!r}"
            )
        check_positive_int(name, "batch_size", batch_size)
        if seed is not None and not is_integer(seed):
            raise ValueError(
                f"{name}: Expected `seed` to be an int or None. "
                f"Received: seed={seed!r}"
            )
        if len(files) != len(labels):
            raise ValueError(
                f"{name}: got {len(files)} files but {len(labels)} labels."
            )
        self.sample_rate = int(sample_rate)
        self.clip_seconds = float(clip_seconds)
        self.clip_samples = int(round(self.clip_seconds * self.sample_rate))
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = None if seed is None else int(seed)
        self.random_crop = (
            self.shuffle if random_crop is None else bool(random_crop)
        )
        self.cache_dir = None if cache_dir is None else os.fspath(cache_dir)
        self.strict = bool(strict)
        self.class_names = list(class_names)
        self.skipped: list[tuple[str, str]] = []
        if self.cache_dir is not None:
            os.makedirs(self.cache_dir, exist_ok=True)

        files = [os.fspath(f) for f in files]
        labels = [int(label) for label in labels]
        files, labels = self._drop_bad_files(files, labels)
        if not files:
            skipped = "; ".join(f"{p} ({r})" for p, r in self.skipped[:3])
            more = (
                f"; and {self.num_skipped - 3} more"
                if self.num_skipped > 3
                else ""
            )
            raise ValueError(
                f"{name}: no usable audio files"
                + (
                    f" ({self.num_skipped} skipped: {skipped}{more})"
                    if self.skipped
                    else ""
                )
                + "."
            )
        self.files = files
        self.labels = np.asarray(labels, dtype=np.int32)
        # one base seed for crops and shuffling, so results are repeatable
        # and independent of the order in which workers load examples
        self._base_seed = (
            int(seed)
            if seed is not None
            else int(np.random.default_rng().integers(2**31))
        )
        self._epoch = 0
        self._order = self._make_order()

    # ------------------------------------------------------------------
    # validation and skipping
    # ------------------------------------------------------------------

    @property
    def num_skipped(self) -> int:
        """Number of files left out because they could not be used."""
        return len(self.skipped)

    @property
    def num_examples(self) -> int:
        """Number of examples (files) in the dataset."""
        return len(self.files)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def _drop_bad_files(self, files, labels):
        name = type(self).__name__
        missing = [f for f in files if not os.path.isfile(f)]
        if missing and self.strict:
            shown = ", ".join(missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise FileNotFoundError(
                f"{name}: {len(missing)} audio file(s) listed in the dataset "
                f"are missing: {shown}{more}. Pass strict=False to skip them."
            )
        if self.strict:
            return files, labels
        kept_files, kept_labels = [], []
        self.files = files  # _load_waveform reads self.files
        for index, (path, label) in enumerate(zip(files, labels, strict=True)):
            if not os.path.isfile(path):
                self.skipped.append((path, "file not found"))
                continue
            try:
                self._load_waveform(index)
            except AudioDecodeError as err:
                self.skipped.append((path, err.reason))
                continue
            kept_files.append(path)
            kept_labels.append(label)
        if self.skipped:
            shown = "; ".join(f"{p} ({r})" for p, r in self.skipped[:3])
            more = (
                f"; and {len(self.skipped) - 3} more"
                if len(self.skipped) > 3
                else ""
            )
            warnings.warn(
                f"{name}: skipped {len(self.skipped)} of {len(files)} files "
                f"that cannot be used (strict=False): {shown}{more}. See "
                "`.skipped`.",
                stacklevel=3,
            )
        return kept_files, kept_labels

    # ------------------------------------------------------------------
    # decoding and caching
    # ------------------------------------------------------------------

    def _cache_path(self, path: str) -> str:
        stat = os.stat(path)
        resampler = "soxr" if _soxr() is not None else "scipy"
        key = "|".join(
            [
                _CACHE_VERSION,
                os.path.abspath(path),
                str(stat.st_mtime_ns),
                str(stat.st_size),
                str(self.sample_rate),
                resampler,
            ]
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:40]
        return os.path.join(self.cache_dir, f"{digest}.npy")

    @staticmethod
    def _read_cache(cache_path: str) -> np.ndarray | None:
        try:
            array = np.load(cache_path, allow_pickle=False)
        except Exception:  # missing, truncated or garbage: not used
            return None
        if (
            array.dtype != np.float32
            or array.ndim != 1
            or array.size == 0
            or not np.isfinite(array).all()
        ):
            return None
        return array

    @staticmethod
    def _write_cache(cache_path: str, array: np.ndarray) -> None:
        with atomic.atomic_open(cache_path, "wb") as handle:
            np.save(handle, array, allow_pickle=False)

    def _load_waveform(self, index: int) -> np.ndarray:
        """The whole decoded mono waveform of example `index`."""
        path = self.files[index]
        cache_path = None
        if self.cache_dir is not None:
            cache_path = self._cache_path(path)
            cached = self._read_cache(cache_path)
            if cached is not None:
                return cached
        waveform = load_audio(path, sample_rate=self.sample_rate, mono=True)
        if cache_path is not None:
            try:
                self._write_cache(cache_path, waveform)
            except OSError as err:
                warnings.warn(
                    f"{type(self).__name__}: could not write the cache entry "
                    f"for {path} ({err}).",
                    stacklevel=2,
                )
        return waveform

    def load(self, index: int) -> np.ndarray:
        """Decoded, resampled mono waveform of example `index`, full length."""
        return self._load_waveform(int(index))

    # ------------------------------------------------------------------
    # examples and batches
    # ------------------------------------------------------------------

    def _fit_length(self, waveform: np.ndarray, rng) -> np.ndarray:
        target = self.clip_samples
        length = waveform.shape[0]
        if length > target:
            if rng is not None:
                start = int(rng.integers(0, length - target + 1))
            else:
                start = (length - target) // 2
            return waveform[start : start + target]
        if length < target:
            return np.pad(waveform, (0, target - length))
        return waveform

    def _example(self, index: int, crop_rng) -> tuple[np.ndarray, np.int32]:
        waveform = self._load_waveform(index)
        rng = crop_rng if self.random_crop else None
        clip = self._fit_length(waveform, rng).astype(np.float32, copy=False)
        return clip, self.labels[index]

    def _make_order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(len(self.files))
        rng = np.random.default_rng([self._base_seed, self._epoch])
        return rng.permutation(len(self.files))

    def __len__(self) -> int:
        return math.ceil(len(self.files) / self.batch_size)

    def __getitem__(self, idx: int):
        if not 0 <= idx < len(self):
            raise IndexError(
                f"{type(self).__name__}: batch index {idx} out of range "
                f"[0, {len(self)})."
            )
        indices = self._order[
            idx * self.batch_size : (idx + 1) * self.batch_size
        ]
        waves = np.empty((len(indices), self.clip_samples), np.float32)
        labels = np.empty((len(indices),), np.int32)
        for row, index in enumerate(indices):
            rng = np.random.default_rng(
                [self._base_seed, self._epoch, int(index)]
            )
            waves[row], labels[row] = self._example(int(index), rng)
        return waves, labels

    def on_epoch_end(self) -> None:
        self._epoch += 1
        self._order = self._make_order()

    def to_tf_dataset(self, num_parallel_calls: int | None = None):
        """The same examples as a batched `tf.data.Dataset`.

        Yields `(waveforms, labels)` like the PyDataset. Without shuffling
        and random crops the batches are identical to the PyDataset's;
        otherwise the order and crop positions come from tf.data's own
        seeded random streams (repeatable when `seed` is set) and change at
        every epoch.

        Args:
            num_parallel_calls: parallel decoding calls; default AUTOTUNE.
        """
        import tensorflow as tf

        n = len(self.files)
        order = tf.data.Dataset.range(n)
        if self.shuffle:
            order = order.shuffle(
                n, seed=self._base_seed, reshuffle_each_iteration=True
            )
        crop_seeds = tf.data.Dataset.random(
            seed=self._base_seed, rerandomize_each_iteration=True
        )
        ds = tf.data.Dataset.zip((order, crop_seeds))

        def load(index, crop_seed):
            rng = np.random.default_rng(int(crop_seed) & 0x7FFFFFFFFFFFFFFF)
            return self._example(int(index), rng)

        def py_load(index, crop_seed):
            wave, label = tf.numpy_function(
                load, [index, crop_seed], [tf.float32, tf.int32], stateful=False
            )
            wave.set_shape((self.clip_samples,))
            label.set_shape(())
            return wave, label

        ds = ds.map(
            py_load,
            num_parallel_calls=num_parallel_calls or tf.data.AUTOTUNE,
            deterministic=True,
        )
        return ds.batch(self.batch_size).prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------


def _read_csv(path: str, columns: Iterable[str], layout: str, name: str):
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{name}: metadata file not found: {path}. Expected layout:\n"
            f"{layout}"
        )
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{name}: {path} lacks the columns {missing}. Found: "
                f"{reader.fieldnames}."
            )
        rows = list(reader)
    if not rows:
        raise ValueError(f"{name}: {path} has a header but no rows.")
    return rows


def _check_root(root, layout: str, name: str) -> str:
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"{name}: dataset folder not found: {root}. Expected layout:\n"
            f"{layout}"
        )
    return root


def _class_names_from_rows(rows, id_column, name_column) -> list[str]:
    names: dict[int, str] = {}
    if not rows:
        return []
    for row in rows:
        names[int(row[id_column])] = row[name_column]
    size = max(names) + 1
    return [names.get(i, f"class_{i}") for i in range(size)]
