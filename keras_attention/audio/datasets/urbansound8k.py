"""UrbanSound8K (urban sounds, 10 official folds)."""

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
