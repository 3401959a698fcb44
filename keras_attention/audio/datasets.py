"""Audio classification datasets as `keras.utils.PyDataset`s.

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
time, size, the sample rate and the resampler. Writes go to a temporary
file that is then renamed with `os.replace`, so an interrupted write never
leaves a valid-looking entry; an entry that cannot be read back as a finite
1-D float32 array is ignored and rewritten.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import keras
import numpy as np

from keras_attention.audio.io import (
    AUDIO_EXTENSIONS,
    AudioDecodeError,
    _soxr,
    load_audio,
)

__all__ = [
    "ESC50",
    "AudioClipDataset",
    "AudioFolder",
    "FoldSplit",
    "SpeechCommands",
    "UrbanSound8K",
    "cross_validation_folds",
    "esc50_cross_validation",
    "urbansound8k_cross_validation",
]

_CACHE_VERSION = "1"


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


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
        if not _is_int(sample_rate) or sample_rate <= 0:
            raise ValueError(
                f"{name}: Expected `sample_rate` to be a positive int. "
                f"Received: sample_rate={sample_rate!r}"
            )
        if (
            isinstance(clip_seconds, bool)
            or not isinstance(clip_seconds, int | float)
            or clip_seconds <= 0
        ):
            raise ValueError(
                f"{name}: Expected `clip_seconds` > 0. "
                f"Received: clip_seconds={clip_seconds!r}"
            )
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(
                f"{name}: Expected `batch_size` to be a positive int. "
                f"Received: batch_size={batch_size!r}"
            )
        if seed is not None and not _is_int(seed):
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
        self.seed = seed
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
        directory = os.path.dirname(cache_path)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, array, allow_pickle=False)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, cache_path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

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


def _check_folds(folds, num_folds: int, name: str) -> list[int]:
    valid = list(range(1, num_folds + 1))
    values = [folds] if _is_int(folds) else folds
    try:
        values = list(values)
    except TypeError:
        values = None
    if (
        not values
        or not all(_is_int(f) for f in values)
        or not set(values) <= set(valid)
    ):
        raise ValueError(
            f"{name}: Expected `folds` to be one or more of the official "
            f"folds {valid}. Received: folds={folds!r}"
        )
    return sorted(set(int(f) for f in values))


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


class FoldSplit(NamedTuple):
    """One round of k-fold cross-validation."""

    train_folds: list[int]
    test_fold: int
    train: AudioClipDataset
    test: AudioClipDataset


def cross_validation_folds(num_folds: int) -> Iterator[tuple[list[int], int]]:
    """Yields `(train_folds, test_fold)` for folds numbered from 1.

    >>> list(cross_validation_folds(3))
    [([2, 3], 1), ([1, 3], 2), ([1, 2], 3)]
    """
    if not _is_int(num_folds) or num_folds < 2:
        raise ValueError(
            "cross_validation_folds: Expected `num_folds` >= 2. "
            f"Received: num_folds={num_folds!r}"
        )
    folds = list(range(1, num_folds + 1))
    for test_fold in folds:
        yield [f for f in folds if f != test_fold], test_fold


# ----------------------------------------------------------------------
# ESC-50
# ----------------------------------------------------------------------

_ESC50_LAYOUT = """\
  <root>/meta/esc50.csv   columns filename,fold,target,category,esc10,\
src_file,take
  <root>/audio/<filename> 5 s, 44.1 kHz mono wav clips"""


class _OfficialFolds(AudioClipDataset):
    """A dataset published with official folds (`NUM_FOLDS` of them)."""

    NUM_FOLDS = 0

    def _init_folds(self, files, labels, folds_of, class_names, **kwargs):
        super().__init__(files, labels, class_names, **kwargs)
        fold_by_file = dict(zip(files, folds_of, strict=True))
        self.fold_of = np.asarray(
            [fold_by_file[f] for f in self.files], dtype=np.int32
        )

    @classmethod
    def cross_validation(cls, root, **kwargs) -> Iterator[FoldSplit]:
        """Every official round: train on all folds but one (shuffled,
        random crops), test on that one (in order)."""
        for train_folds, test_fold in cross_validation_folds(cls.NUM_FOLDS):
            yield FoldSplit(
                train_folds,
                test_fold,
                cls(root, folds=train_folds, shuffle=True, **kwargs),
                cls(root, folds=[test_fold], shuffle=False, **kwargs),
            )


class ESC50(_OfficialFolds):
    """ESC-50 environmental sounds: 2000 clips of 5 s, 50 classes, 5 folds.

    Use the official folds (recordings are split so that clips from one
    source file stay in one fold) and report the mean accuracy over the 5
    rounds of `esc50_cross_validation`.

    Reference: Piczak, "ESC: Dataset for Environmental Sound
    Classification", ACM MM 2015.

    Args:
        root: the dataset folder (the `ESC-50-master` checkout)::

              <root>/meta/esc50.csv
              <root>/audio/*.wav

        folds: official folds (1-5) to include; default 1-4 (fold 5
            held out).
        esc10: keep only the ESC-10 subset (10 classes, labels 0-9 in the
            order of their ESC-50 targets).
        sample_rate: resample every file to this rate (Hz); 32 kHz by
            default, the PANNs front end's rate.
        clip_seconds: length of every example in seconds (the clips' 5 s).
        **kwargs: `batch_size`, `shuffle`, `seed`, `random_crop`,
            `cache_dir`, `strict` and the `keras.utils.PyDataset`
            arguments; see `AudioClipDataset`.

    Attributes:
        folds: the folds included; `fold_of`: the fold of every example.
    """

    NUM_FOLDS = 5
    LAYOUT = _ESC50_LAYOUT

    def __init__(
        self,
        root: str | os.PathLike,
        folds: int | Sequence[int] = (1, 2, 3, 4),
        *,
        esc10: bool = False,
        sample_rate: int = 32000,
        clip_seconds: float = 5.0,
        **kwargs,
    ):
        name = type(self).__name__
        self.folds = _check_folds(folds, self.NUM_FOLDS, name)
        self.root = _check_root(root, _ESC50_LAYOUT, name)
        rows = _read_csv(
            os.path.join(self.root, "meta", "esc50.csv"),
            ("filename", "fold", "target", "category", "esc10"),
            _ESC50_LAYOUT,
            name,
        )
        if esc10:
            rows = [r for r in rows if r["esc10"].strip().lower() == "true"]
            targets = sorted({int(r["target"]) for r in rows})
            remap = {t: i for i, t in enumerate(targets)}
            names = _class_names_from_rows(rows, "target", "category")
            class_names = [names[t] for t in targets]
        else:
            remap = None
            class_names = _class_names_from_rows(rows, "target", "category")
        selected = [r for r in rows if int(r["fold"]) in self.folds]
        audio_dir = os.path.join(self.root, "audio")
        files = [os.path.join(audio_dir, r["filename"]) for r in selected]
        labels = [int(r["target"]) for r in selected]
        if remap is not None:
            labels = [remap[t] for t in labels]
        folds_of = [int(r["fold"]) for r in selected]
        self.esc10 = bool(esc10)
        self._init_folds(
            files,
            labels,
            folds_of,
            class_names,
            sample_rate=sample_rate,
            clip_seconds=clip_seconds,
            **kwargs,
        )


def esc50_cross_validation(
    root: str | os.PathLike, **kwargs
) -> Iterator[FoldSplit]:
    """The 5 official ESC-50 rounds: train on 4 folds, test on the fifth.

    Yields `FoldSplit(train_folds, test_fold, train, test)`; `train`
    shuffles (with random crops) and `test` does not. `kwargs` go to
    `ESC50` (not `folds` or `shuffle`).
    """
    return ESC50.cross_validation(root, **kwargs)


# ----------------------------------------------------------------------
# UrbanSound8K
# ----------------------------------------------------------------------

_US8K_LAYOUT = """\
  <root>/metadata/UrbanSound8K.csv   columns slice_file_name,fsID,start,\
end,salience,fold,classID,class
  <root>/audio/fold1 ... fold10/<slice_file_name>"""


class UrbanSound8K(_OfficialFolds):
    """UrbanSound8K: 8732 urban sound slices (<= 4 s), 10 classes, 10 folds.

    Only the 10 official folds are offered, no random split: slices cut
    from the same recording are spread over a random split, so test clips
    have near-copies in training and the score is inflated. Report the
    mean accuracy over the 10 rounds of `urbansound8k_cross_validation`.

    Reference: Salamon, Jacoby and Bello, "A Dataset and Taxonomy for
    Urban Sound Research", ACM MM 2014.

    Args:
        root: the dataset folder::

              <root>/metadata/UrbanSound8K.csv
              <root>/audio/fold1/*.wav ... <root>/audio/fold10/*.wav

        folds: official folds (1-10) to include; default 1-9 (fold 10
            held out).
        sample_rate: resample every file to this rate (Hz; default 32
            kHz). The files come at various rates and channel counts; all
            are mixed down and resampled.
        clip_seconds: length of every example in seconds (the clips are
            at most 4 s).
        **kwargs: `batch_size`, `shuffle`, `seed`, `random_crop`,
            `cache_dir`, `strict` and the `keras.utils.PyDataset`
            arguments; see `AudioClipDataset`.

    Attributes:
        folds: the folds included; `fold_of`: the fold of every example.
    """

    NUM_FOLDS = 10
    LAYOUT = _US8K_LAYOUT

    def __init__(
        self,
        root: str | os.PathLike,
        folds: int | Sequence[int] = tuple(range(1, 10)),
        *,
        sample_rate: int = 32000,
        clip_seconds: float = 4.0,
        **kwargs,
    ):
        name = type(self).__name__
        self.folds = _check_folds(folds, self.NUM_FOLDS, name)
        self.root = _check_root(root, _US8K_LAYOUT, name)
        rows = _read_csv(
            os.path.join(self.root, "metadata", "UrbanSound8K.csv"),
            ("slice_file_name", "fold", "classID", "class"),
            _US8K_LAYOUT,
            name,
        )
        class_names = _class_names_from_rows(rows, "classID", "class")
        selected = [r for r in rows if int(r["fold"]) in self.folds]
        files = [
            os.path.join(
                self.root,
                "audio",
                f"fold{int(r['fold'])}",
                r["slice_file_name"],
            )
            for r in selected
        ]
        labels = [int(r["classID"]) for r in selected]
        folds_of = [int(r["fold"]) for r in selected]
        self._init_folds(
            files,
            labels,
            folds_of,
            class_names,
            sample_rate=sample_rate,
            clip_seconds=clip_seconds,
            **kwargs,
        )


def urbansound8k_cross_validation(
    root: str | os.PathLike, **kwargs
) -> Iterator[FoldSplit]:
    """The 10 official UrbanSound8K rounds (train on 9 folds, test on 1).

    Yields `FoldSplit(train_folds, test_fold, train, test)`; see
    `esc50_cross_validation`.
    """
    return UrbanSound8K.cross_validation(root, **kwargs)


# ----------------------------------------------------------------------
# Speech Commands v2
# ----------------------------------------------------------------------

_SC_LAYOUT = """\
  <root>/<word>/<speaker>_nohash_<n>.wav   one folder per word
  <root>/validation_list.txt               lines like right/abc_nohash_0.wav
  <root>/testing_list.txt
  <root>/_background_noise_/               (ignored)"""

_SUBSETS = ("training", "validation", "testing")


class SpeechCommands(AudioClipDataset):
    """Google Speech Commands (v2 layout): 1 s keyword clips at 16 kHz.

    The splits are the official ones: `validation_list.txt` and
    `testing_list.txt` list the validation and test files, and training is
    every other clip in a word folder. Folders whose name starts with `_`
    (`_background_noise_`) are not classes. Labels index the sorted word
    folders (35 words in v2).

    Reference: Warden, "Speech Commands: A Dataset for Limited-Vocabulary
    Speech Recognition", arXiv 1804.03209.

    Args:
        root: the extracted dataset folder::

              <root>/<word>/*.wav
              <root>/validation_list.txt
              <root>/testing_list.txt

        subset: `"training"`, `"validation"` or `"testing"`.
        sample_rate: resample every file to this rate (Hz; default 16
            kHz, the dataset's rate).
        clip_seconds: length of every example in seconds (the clips' 1 s).
        **kwargs: `batch_size`, `shuffle`, `seed`, `random_crop`,
            `cache_dir`, `strict` and the `keras.utils.PyDataset`
            arguments; see `AudioClipDataset`.
    """

    LAYOUT = _SC_LAYOUT

    def __init__(
        self,
        root: str | os.PathLike,
        subset: str = "training",
        *,
        sample_rate: int = 16000,
        clip_seconds: float = 1.0,
        **kwargs,
    ):
        name = type(self).__name__
        if subset not in _SUBSETS:
            raise ValueError(
                f"{name}: Expected `subset` to be one of {list(_SUBSETS)}. "
                f"Received: subset={subset!r}"
            )
        self.root = _check_root(root, _SC_LAYOUT, name)
        self.subset = subset
        lists = {}
        for split in ("validation", "testing"):
            path = os.path.join(self.root, f"{split}_list.txt")
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"{name}: split list not found: {path}. Expected "
                    f"layout:\n{_SC_LAYOUT}"
                )
            with open(path, encoding="utf-8") as handle:
                lists[split] = [
                    line.strip().replace("\\", "/")
                    for line in handle
                    if line.strip()
                ]
        class_names = sorted(
            entry
            for entry in os.listdir(self.root)
            if os.path.isdir(os.path.join(self.root, entry))
            and not entry.startswith(("_", "."))
        )
        if not class_names:
            raise ValueError(
                f"{name}: no word folders in {self.root}. Expected layout:\n"
                f"{_SC_LAYOUT}"
            )
        label_of = {word: i for i, word in enumerate(class_names)}
        if subset == "training":
            held_out = set(lists["validation"]) | set(lists["testing"])
            relative = []
            for word in class_names:
                for entry in sorted(os.listdir(os.path.join(self.root, word))):
                    if entry.lower().endswith(".wav"):
                        rel = f"{word}/{entry}"
                        if rel not in held_out:
                            relative.append(rel)
        else:
            relative = lists[subset]
        labels = []
        for rel in relative:
            word = rel.split("/", 1)[0]
            if word not in label_of:
                raise ValueError(
                    f"{name}: {subset}_list.txt names {rel!r}, whose folder "
                    f"{word!r} is not a word folder of {self.root}."
                )
            labels.append(label_of[word])
        files = [os.path.join(self.root, *rel.split("/")) for rel in relative]
        super().__init__(
            files,
            labels,
            class_names,
            sample_rate=sample_rate,
            clip_seconds=clip_seconds,
            **kwargs,
        )


# ----------------------------------------------------------------------
# class-per-folder
# ----------------------------------------------------------------------

_FOLDER_LAYOUT = """\
  <root>/<class_a>/*.wav|flac|ogg|...
  <root>/<class_b>/..."""


class AudioFolder(AudioClipDataset):
    """Audio files sorted into one folder per class.

    Like `keras.utils.audio_dataset_from_directory`, but decodes with
    soundfile and resamples with a polyphase filter, so it needs no
    tensorflow-io and takes files of any rate and channel count. Files are
    found recursively below each class folder (extensions in
    `AUDIO_EXTENSIONS`, any case). Symlinked folders are followed once:
    a link back to a folder already walked (a loop such as `dog/loop ->
    ..`) is not entered again, and every file on disk counts once, by its
    real path (the first path found in sorted order, so in the first
    class holding it), so no file lands in both subsets.

    Args:
        root: the folder::

              <root>/<class_a>/*.wav
              <root>/<class_b>/*.flac

        clip_seconds: length of every example in seconds (required).
        sample_rate: resample to this rate (default 16 kHz).
        class_names: the classes (folder names) to use, in label order;
            default all folders, sorted.
        validation_split: fraction in (0, 1) of the files held out for
            validation, or `None`.
        subset: with `validation_split`, `"training"` or `"validation"`.
            The split shuffles the file list with `seed` (which is then
            required), so the two subsets built with the same seed are
            disjoint.
        seed: seed of the split, the shuffling and the random crops.
        **kwargs: `batch_size`, `shuffle`, `random_crop`, `cache_dir`,
            `strict` and the `keras.utils.PyDataset` arguments; see
            `AudioClipDataset`.
    """

    LAYOUT = _FOLDER_LAYOUT

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        clip_seconds: float,
        sample_rate: int = 16000,
        class_names: Sequence[str] | None = None,
        validation_split: float | None = None,
        subset: str | None = None,
        seed: int | None = None,
        **kwargs,
    ):
        name = type(self).__name__
        self.root = _check_root(root, _FOLDER_LAYOUT, name)
        if validation_split is not None:
            if (
                isinstance(validation_split, bool)
                or not isinstance(validation_split, int | float)
                or not 0 < validation_split < 1
            ):
                raise ValueError(
                    f"{name}: Expected `validation_split` in (0, 1). "
                    f"Received: validation_split={validation_split!r}"
                )
            if subset not in ("training", "validation"):
                raise ValueError(
                    f"{name}: with `validation_split`, Expected `subset` to "
                    "be 'training' or 'validation'. "
                    f"Received: subset={subset!r}"
                )
            if seed is None:
                raise ValueError(
                    f"{name}: `validation_split` needs a `seed`, so that the "
                    "training and validation subsets do not overlap. "
                    "Received: seed=None"
                )
        elif subset is not None:
            raise ValueError(
                f"{name}: `subset` needs `validation_split`. "
                f"Received: subset={subset!r}, validation_split=None"
            )
        found = sorted(
            entry
            for entry in os.listdir(self.root)
            if os.path.isdir(os.path.join(self.root, entry))
            and not entry.startswith(".")
        )
        if class_names is None:
            class_names = found
        else:
            class_names = list(class_names)
            unknown = [c for c in class_names if c not in found]
            if unknown:
                raise ValueError(
                    f"{name}: class folders {unknown} not found in "
                    f"{self.root}. Found: {found}"
                )
        if not class_names:
            raise ValueError(
                f"{name}: no class folders in {self.root}. Expected layout:\n"
                f"{_FOLDER_LAYOUT}"
            )
        files, labels = _walk_class_folders(self.root, class_names)
        if not files:
            raise ValueError(
                f"{name}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in "
                f"the class folders of {self.root}. Expected layout:\n"
                f"{_FOLDER_LAYOUT}"
            )
        if validation_split is not None:
            order = np.random.default_rng(seed).permutation(len(files))
            n_val = int(round(validation_split * len(files)))
            if n_val == 0 or n_val == len(files):
                raise ValueError(
                    f"{name}: validation_split={validation_split} of "
                    f"{len(files)} files leaves an empty subset."
                )
            chosen = (
                order[-n_val:] if subset == "validation" else order[:-n_val]
            )
            chosen = np.sort(chosen)
            files = [files[i] for i in chosen]
            labels = [labels[i] for i in chosen]
        self.validation_split = validation_split
        self.subset = subset
        super().__init__(
            files,
            labels,
            class_names,
            sample_rate=sample_rate,
            clip_seconds=clip_seconds,
            seed=seed,
            **kwargs,
        )


def _walk_class_folders(root: str, class_names) -> tuple[list, list]:
    """`(files, labels)` below `root/<class>` for every class. Folders are
    entered once by real path, never one holding `root` (a loop back up)
    or lying in another class's folder; each file is listed once by real
    path."""
    real_root = os.path.realpath(root)
    real_classes = [
        os.path.realpath(os.path.join(root, c)) for c in class_names
    ]

    def inside(path: str, folder: str) -> bool:
        return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)

    files, labels = [], []
    seen_dirs, seen_files = set(), set()
    for label, cls in enumerate(class_names):
        others = [c for i, c in enumerate(real_classes) if i != label]

        def enter(real: str, others=others) -> bool:
            return not (
                real in seen_dirs
                or inside(real_root, real)
                or any(inside(real, other) for other in others)
            )

        for dirpath, dirnames, filenames in os.walk(
            os.path.join(root, cls), followlinks=True
        ):
            seen_dirs.add(os.path.realpath(dirpath))
            dirnames[:] = sorted(
                d
                for d in dirnames
                if enter(os.path.realpath(os.path.join(dirpath, d)))
            )
            for entry in sorted(filenames):
                if not entry.lower().endswith(AUDIO_EXTENSIONS):
                    continue
                path = os.path.join(dirpath, entry)
                real = os.path.realpath(path)
                if real in seen_files:
                    continue
                seen_files.add(real)
                files.append(path)
                labels.append(label)
    return files, labels
