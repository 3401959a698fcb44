"""Audio data for the training recipe: splits, batches, mixup.

Datasets (`DATASETS`):

- ``instruments``: the NSynth-style instrument-family dataset built by
  `python -m training.build_instrument_dataset` (splits `train`, `valid`,
  `test_instrument`, `test_soundfont`, see
  `docs/guides/instrument-dataset.md`). Every clip starts at the note's
  onset; the recipe keeps the first
  `clip_seconds` of each (read once, then cached as `.npy` in the
  library's cache folder, see `dataset_cache_dir`) and holds them in
  memory.
- ``esc50`` and ``urbansound8k``: the official folds; `fold` is the test
  fold, the others train. There is no further validation split in these
  protocols: the held-out fold is also the validation data, and the last
  epoch is kept (no model selection on it).
- ``speech_commands``: the official training / validation / testing lists.
- ``folder``: a folder of class folders (`keras_attention.audio.AudioFolder`),
  with a seeded 10% validation split that doubles as the test set.

The last four decode through `keras_attention.audio` (soundfile, real
resampling, a decoded-waveform cache) and crop or pad to `clip_seconds`.

Nothing is written into the dataset folder (it may be read-only): caches
go to `dataset_cache_dir(root)`, under `keras_attention.zoo.download.
cache_dir()` (`KERAS_ATTENTION_CACHE`). A file that cannot be decoded, or
holds NaN or infinite samples, stops loading with a `BadFilesError` naming
it; with `skip_bad_files` such files are left out and one warning lists
them.
"""

from __future__ import annotations

import csv
import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from keras_attention import atomic
from training import image_data

DATASETS = ("instruments", "esc50", "urbansound8k", "speech_commands", "folder")
# (sample rate, clip seconds) when the command line gives none.
DEFAULT_AUDIO = {
    "instruments": (16000, 1.0),
    "esc50": (32000, 5.0),
    "urbansound8k": (32000, 4.0),
    "speech_commands": (16000, 1.0),
    "folder": (16000, 1.0),
}
NUM_FOLDS = {"esc50": 5, "urbansound8k": 10}
INSTRUMENT_SPLITS = ("train", "valid", "test_instrument", "test_soundfont")
BUILD_COMMAND = (
    "python -m training.build_instrument_dataset "
    "(needs the Debian packages fluidsynth, fluid-soundfont-gm, "
    "musescore-general-soundfont, timgm6mb-soundfont and csound-soundfont)"
)


class ClipArrays:
    """Fixed-length waveforms `x` `(n, samples)` and int labels `y` in
    memory."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        if len(x) != len(y):
            raise ValueError(
                f"ClipArrays: {len(x)} waveforms but {len(y)} labels"
            )
        self.x = np.asarray(x, dtype=np.float32)
        self.y = np.asarray(y, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class AudioSplits:
    """Train, validation and test data of one audio dataset."""

    key: str
    name: str
    class_names: list[str]
    sample_rate: int
    clip_seconds: float
    train: object
    val: object
    tests: dict[str, object]
    source: str
    notes: dict[str, str] = field(default_factory=dict)

    def sizes(self) -> dict:
        sizes = {"train": _count(self.train), "val": _count(self.val)}
        sizes.update({name: _count(s) for name, s in self.tests.items()})
        return sizes


def _count(source) -> int:
    if isinstance(source, ClipArrays):
        return len(source)
    return int(source.num_examples)


# --------------------------------------------------------------------------
# The instrument dataset


def default_instruments_dir() -> Path:
    from training import instruments

    return instruments.default_output_dir()


class BadFilesError(ValueError):
    """Dataset files that cannot be used (undecodable, NaN or Inf)."""


def dataset_cache_dir(root) -> Path:
    """The cache folder of the dataset in `root`: a subfolder of the
    library's cache (`KERAS_ATTENTION_CACHE`) keyed by the folder's
    resolved path, never inside the dataset itself."""
    from keras_attention.zoo.download import cache_dir

    real = os.path.realpath(os.path.expanduser(str(root)))
    digest = hashlib.sha256(real.encode()).hexdigest()[:16]
    name = os.path.basename(real) or "root"
    return cache_dir() / "datasets" / f"{name}-{digest}"


def bad_files_message(bad, what: str) -> str:
    listed = "; ".join(f"{path} ({reason})" for path, reason in bad)
    return f"{what}: {len(bad)} bad audio file(s): {listed}"


def report_bad_files(bad, what: str, skip: bool) -> None:
    """Raises `BadFilesError` listing `bad` (`(path, reason)` pairs), or
    with `skip` warns once listing them."""
    if not bad:
        return
    if not skip:
        raise BadFilesError(
            bad_files_message(bad, what)
            + ". Remove or fix them, or pass --skip-bad-files to leave "
            "them out."
        )
    warnings.warn(
        bad_files_message(bad, what) + "; skipped (--skip-bad-files)",
        stacklevel=3,
    )


def _first_samples(path: Path, n: int) -> np.ndarray:
    """The first `n` samples of `path`, mono float32, zero-padded. Raises
    `ValueError` (the reason) for a file soundfile cannot decode or whose
    samples are not all finite."""
    import soundfile

    try:
        audio, _ = soundfile.read(str(path), frames=n, dtype="float32")
    except Exception as error:  # soundfile raises several kinds
        raise ValueError(f"cannot decode: {error}") from None
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if not np.isfinite(audio).all():
        raise ValueError("NaN or infinite samples")
    if len(audio) < n:
        audio = np.pad(audio, (0, n - len(audio)))
    return audio


def _dataset_stamp(root: Path) -> str:
    """Changes when the dataset is rebuilt (its manifest and metadata)."""
    parts = []
    for name in ("COMPLETE", "metadata.csv"):
        try:
            stat = (root / name).stat()
        except OSError:
            continue
        parts.append(f"{name}:{stat.st_mtime_ns}:{stat.st_size}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def _cached_clips(
    root: Path, split: str, rows: list[dict], n: int, skip_bad_files=False
):
    """`(x, kept)`: the first `n` samples (float32) of every usable clip of
    `split` and the indices of their rows. Read from `dataset_cache_dir`
    or read and cached (atomically; only splits without bad files)."""
    cache = dataset_cache_dir(root) / (
        f"{split}_first{n}_{_dataset_stamp(root)}.npy"
    )
    if cache.is_file():
        try:
            x = np.load(cache, allow_pickle=False)
            if x.shape == (len(rows), n) and x.dtype == np.float32:
                return x, list(range(len(rows)))
        except (OSError, ValueError):
            pass  # unreadable or stale: rebuilt below
    clips, kept, bad = [], [], []
    for i, row in enumerate(rows):
        path = root / row["filename"]
        try:
            clips.append(_first_samples(path, n))
        except ValueError as error:
            bad.append((str(path), str(error)))
            continue
        kept.append(i)
    report_bad_files(bad, f"instrument dataset split {split!r}", skip_bad_files)
    x = np.stack(clips) if clips else np.zeros((0, n), np.float32)
    if bad:
        return x, kept
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic.atomic_open(cache, "wb") as f:
            np.save(f, x, allow_pickle=False)
    except OSError as error:
        warnings.warn(
            f"could not write the cache {cache}: {error}", stacklevel=2
        )
    return x, kept


def load_instruments(
    data_dir=None,
    clip_seconds: float = 1.0,
    sample_rate: int = 16000,
    skip_bad_files: bool = False,
) -> AudioSplits:
    """The instrument-family dataset, first `clip_seconds` of every clip
    (bad files: see the module docstring)."""
    from training import instruments

    root = Path(data_dir) if data_dir else default_instruments_dir()
    if not (root / "COMPLETE").is_file():
        raise image_data.DatasetNotFoundError(
            f"No finished instrument dataset in {root}. Build it with: "
            f"{BUILD_COMMAND} (about 4 minutes on 2 cores), or pass "
            "--data-dir."
        )
    if sample_rate != instruments.SAMPLE_RATE:
        raise ValueError(
            f"The instrument dataset is rendered at {instruments.SAMPLE_RATE}"
            f" Hz; got --sample-rate {sample_rate}"
        )
    if clip_seconds > instruments.CLIP_SECONDS:
        raise ValueError(
            f"--clip-seconds must be <= {instruments.CLIP_SECONDS} (the "
            f"dataset's clip length), got {clip_seconds}"
        )
    rows = instruments.read_metadata(root)
    n = int(round(clip_seconds * sample_rate))
    by_split = {
        s: [r for r in rows if r["split"] == s] for s in INSTRUMENT_SPLITS
    }
    arrays = {}
    for split, split_rows in by_split.items():
        x, kept = _cached_clips(root, split, split_rows, n, skip_bad_files)
        y = np.asarray(
            [split_rows[i]["family_id"] for i in kept], dtype=np.int32
        )
        arrays[split] = ClipArrays(x, y)
    manifest = _read_json(root / "COMPLETE")
    config = manifest.get("config", {})
    held_out = ", ".join(config.get("test_soundfonts") or ["?"])
    lineage_note = "and every soundfont sharing its samples"
    return AudioSplits(
        key="instruments",
        name="NSynth-style instrument families (rendered GM soundfonts)",
        class_names=list(instruments.FAMILIES),
        sample_rate=sample_rate,
        clip_seconds=clip_seconds,
        train=arrays["train"],
        val=arrays["valid"],
        tests={
            "test_instrument": arrays["test_instrument"],
            "test_soundfont": arrays["test_soundfont"],
        },
        source=str(root),
        notes={
            "train": "instruments (soundfont x program) of the training "
            "lineage",
            "val": "further held-out instruments of the training lineage",
            "test_instrument": "held-out programs of the training lineage: "
            "unseen instruments, familiar recording sources",
            "test_soundfont": f"every instrument of the held-out soundfont "
            f"lineage ({held_out} {lineage_note}): unseen recordings",
            "clip": f"first {clip_seconds} s of each 4 s note (the clips "
            "start at the note onset)",
        },
    )


def _read_json(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# --------------------------------------------------------------------------
# Datasets in users' own downloads


def load_splits(
    key: str,
    data_dir=None,
    *,
    sample_rate: int | None = None,
    clip_seconds: float | None = None,
    fold: int | None = None,
    batch_size: int = 32,
    seed: int = 0,
    skip_bad_files: bool = False,
) -> AudioSplits:
    """Train / validation / test data of dataset `key` (see `DATASETS`).
    Bad files raise `BadFilesError` naming them, or with `skip_bad_files`
    are left out with one warning listing them."""
    if key not in DATASETS:
        raise ValueError(f"Unknown dataset {key!r}; expected one of {DATASETS}")
    default_rate, default_clip = DEFAULT_AUDIO[key]
    sample_rate = sample_rate or default_rate
    clip_seconds = clip_seconds or default_clip
    if key == "instruments":
        return load_instruments(
            data_dir, clip_seconds, sample_rate, skip_bad_files
        )
    if data_dir is None:
        raise ValueError(f"--dataset {key} needs --data-dir (its folder)")
    common = {
        "sample_rate": sample_rate,
        "clip_seconds": clip_seconds,
        "batch_size": batch_size,
        "seed": seed,
        "cache_dir": dataset_cache_dir(data_dir),
        # Every file is decoded (and cached) once here, so a bad one is
        # found before training, not in the middle of an epoch.
        "strict": False,
    }
    if key in NUM_FOLDS:
        num = NUM_FOLDS[key]
        fold = num if fold is None else fold
        if not 1 <= fold <= num:
            raise ValueError(
                f"--fold must be in 1..{num} for {key}, got {fold}"
            )
    with warnings.catch_warnings():
        # The datasets' own warnings about skipped files: reported once
        # for all of them below.
        warnings.filterwarnings("ignore", message=r".*\(strict=False\)")
        train, val, tests, notes, name = _user_datasets(
            key, data_dir, common, fold, seed
        )
    bad = {}
    for dataset in (train, val, *tests.values()):
        bad.update(dict(dataset.skipped))
    report_bad_files(sorted(bad.items()), name, skip_bad_files)
    return AudioSplits(
        key=key,
        name=name,
        class_names=list(train.class_names),
        sample_rate=sample_rate,
        clip_seconds=clip_seconds,
        train=train,
        val=val,
        tests=tests,
        source=str(data_dir),
        notes=notes,
    )


def _user_datasets(key, data_dir, common, fold, seed):
    """`(train, val, tests, notes, name)` of a dataset in a user's folder
    (`keras_attention.audio` classes built with `common` arguments)."""
    from keras_attention import audio

    if key in NUM_FOLDS:
        num = NUM_FOLDS[key]
        cls = audio.ESC50 if key == "esc50" else audio.UrbanSound8K
        train_folds = [f for f in range(1, num + 1) if f != fold]
        train = cls(data_dir, folds=train_folds, shuffle=True, **common)
        test = cls(data_dir, folds=[fold], shuffle=False, **common)
        val, tests = test, {f"fold{fold}": test}
        notes = {
            "train": f"official folds {train_folds}",
            "val": f"official fold {fold} (the test fold: this protocol "
            "has no separate validation set; the last epoch is kept)",
        }
        name = "ESC-50" if key == "esc50" else "UrbanSound8K"
    elif key == "speech_commands":
        train = audio.SpeechCommands(
            data_dir, "training", shuffle=True, **common
        )
        val = audio.SpeechCommands(data_dir, "validation", **common)
        tests = {"test": audio.SpeechCommands(data_dir, "testing", **common)}
        notes = {"split": "official validation_list.txt / testing_list.txt"}
        name = "Speech Commands"
    else:
        split = {"validation_split": 0.1, "seed": seed}
        common = dict(common, seed=seed)
        train = audio.AudioFolder(
            data_dir,
            subset="training",
            shuffle=True,
            **split,
            **_no_seed(common),
        )
        val = audio.AudioFolder(
            data_dir, subset="validation", **split, **_no_seed(common)
        )
        tests = {"val": val}
        notes = {"split": f"seeded 10% validation split (seed {seed})"}
        name = "audio folder"
    return train, val, tests, notes, name


def _no_seed(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k != "seed"}


# --------------------------------------------------------------------------
# Batches


@dataclass(frozen=True)
class WaveAugment:
    """Waveform augmentation of training batches.

    Args:
        mixup_alpha: mixup (Zhang et al. 2018): each example is blended
            with another of the batch with weight `lam ~ Beta(alpha,
            alpha)`, and so are their one-hot labels. 0 disables it.
        max_shift_seconds: delay each clip by up to this long (zeros in
            front, the end cut off): onsets in users' recordings are not
            sample-exact.
        gain_db: random gain in [-gain_db, +gain_db] dB.
    """

    mixup_alpha: float = 0.2
    max_shift_seconds: float = 0.05
    gain_db: float = 6.0

    def describe(self, sample_rate: int) -> dict:
        return {
            "mixup_alpha": self.mixup_alpha,
            "mixup": "lam ~ Beta(a, a) per example, partner drawn from the "
            "same batch; labels mixed the same way",
            "time_shift_seconds": [0.0, self.max_shift_seconds],
            "gain_db": [-self.gain_db, self.gain_db],
            "spec_augment": "inside the model (SpecAugment layer, training "
            "only)",
        }

    def __call__(self, x: np.ndarray, y: np.ndarray, rng, sample_rate: int):
        x = np.array(x, dtype=np.float32, copy=True)
        n, length = x.shape
        max_shift = int(self.max_shift_seconds * sample_rate)
        if max_shift > 0:
            shifts = rng.integers(0, max_shift + 1, size=n)
            for i, s in enumerate(shifts):
                if s:
                    x[i, s:] = x[i, : length - s].copy()
                    x[i, :s] = 0.0
        if self.gain_db > 0:
            gains = 10.0 ** (rng.uniform(-self.gain_db, self.gain_db, n) / 20)
            x *= gains[:, None].astype(np.float32)
        if self.mixup_alpha > 0 and n > 1:
            lam = rng.beta(self.mixup_alpha, self.mixup_alpha, size=n)
            lam = np.maximum(lam, 1.0 - lam).astype(np.float32)
            partner = rng.permutation(n)
            x = lam[:, None] * x + (1.0 - lam[:, None]) * x[partner]
            y = lam[:, None] * y + (1.0 - lam[:, None]) * y[partner]
        return x, y


class ClipBatches(keras.utils.PyDataset):
    """`(waveforms, one-hot labels)` batches for `fit` and `evaluate`.

    Args:
        source: `ClipArrays` (shuffled here) or a
            `keras_attention.audio.AudioClipDataset` (which batches,
            shuffles and crops itself).
        num_classes: width of the one-hot labels.
        batch_size: for `ClipArrays` sources.
        sample_rate: of the waveforms (for the augmentation).
        augment: a `WaveAugment`, or None (validation, test).
        shuffle, seed, drop_remainder: for `ClipArrays` sources; the order
            and augmentation of batch `i` of epoch `e` depend only on
            `(seed, e, i)`, so a resumed run sees the same batches.
        epoch: the first epoch (for resuming).
    """

    def __init__(
        self,
        source,
        num_classes: int,
        batch_size: int = 32,
        *,
        sample_rate: int,
        augment: WaveAugment | None = None,
        shuffle: bool = False,
        seed: int = 0,
        drop_remainder: bool = False,
        epoch: int = 0,
    ):
        super().__init__()
        self.source = source
        self.num_classes = int(num_classes)
        self.batch_size = int(batch_size)
        self.sample_rate = int(sample_rate)
        self.augment = augment
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_remainder = drop_remainder
        self.epoch = int(epoch)
        self.arrays = isinstance(source, ClipArrays)

    def __len__(self) -> int:
        if not self.arrays:
            return len(self.source)
        n = len(self.source)
        if self.drop_remainder and n >= self.batch_size:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.source)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)

    def __getitem__(self, index: int):
        if self.arrays:
            order = self._order()
            take = order[
                index * self.batch_size : (index + 1) * self.batch_size
            ]
            x, labels = self.source.x[take], self.source.y[take]
        else:
            x, labels = self.source[index]
            x, labels = np.asarray(x), np.asarray(labels)
        y = np.eye(self.num_classes, dtype=np.float32)[labels]
        if self.augment is not None:
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            x, y = self.augment(x, y, rng, self.sample_rate)
        return np.asarray(x, dtype=np.float32), y

    def on_epoch_end(self) -> None:
        self.epoch += 1
        if not self.arrays:
            self.source.on_epoch_end()


def arrays_of(source) -> tuple[np.ndarray, np.ndarray]:
    """All `(waveforms, int labels)` of a source, in order (evaluation)."""
    if isinstance(source, ClipArrays):
        return source.x, source.y
    xs, ys = [], []
    for i in range(len(source)):
        x, y = source[i]
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    return np.concatenate(xs), np.concatenate(ys)


def read_labelled_clips(folder, class_names) -> tuple[list[Path], np.ndarray]:
    """The bundled demo clips (`demo_clips.csv`: filename, family, ...) and
    their labels, as indices into `class_names`."""
    folder = Path(folder)
    with open(folder / "demo_clips.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    files = [folder / r["filename"] for r in rows]
    labels = np.asarray(
        [list(class_names).index(r["family"]) for r in rows], dtype=np.int32
    )
    return files, labels
