"""ESC-50 (environmental sounds, 5 official folds)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from keras_attention.audio.datasets.base import (
    _check_root,
    _class_names_from_rows,
    _read_csv,
)
from keras_attention.audio.datasets.folds import (
    FoldSplit,
    _check_folds,
    _OfficialFolds,
)

_ESC50_LAYOUT = """\
  <root>/meta/esc50.csv   columns filename,fold,target,category,esc10,\
src_file,take
  <root>/audio/<filename> 5 s, 44.1 kHz mono wav clips"""


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
