"""`AudioFolder`: audio files sorted into one folder per class."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from keras_attention.audio.datasets.base import AudioClipDataset, _check_root
from keras_attention.audio.io import AUDIO_EXTENSIONS

_FOLDER_LAYOUT = """\
  <root>/<class_a>/*.wav|flac|ogg|...
  <root>/<class_b>/..."""


class AudioFolder(AudioClipDataset):
    """Audio files sorted into one folder per class.

    Like `keras.utils.audio_dataset_from_directory`, but decodes with
    soundfile and resamples with a polyphase filter, so it takes files of
    any rate and channel count. Files are found recursively below each class
    folder (extensions in `AUDIO_EXTENSIONS`, any case). Symlinked folders
    are followed once: a link back to a folder already walked (a loop such
    as `dog/loop -> ..`) is not entered again, and every file on disk counts
    once, by its real path (the first path found in sorted order, so in the
    first class holding it), so no file lands in both subsets.

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
