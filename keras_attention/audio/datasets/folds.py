"""Datasets published with official folds (ESC-50, UrbanSound8K): the fold
checks, `FoldSplit`, `cross_validation_folds` and their common base."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from keras_attention.audio.datasets.base import AudioClipDataset
from keras_attention.layers._utils import check_positive_int, is_integer


def _check_folds(folds, num_folds: int, name: str) -> list[int]:
    valid = list(range(1, num_folds + 1))
    values = [folds] if is_integer(folds) else folds
    try:
        values = list(values)
    except TypeError:
        values = None
    if (
        not values
        or not all(is_integer(f) for f in values)
        or not set(values) <= set(valid)
    ):
        raise ValueError(
            f"{name}: Expected `folds` to be one or more of the official "
            f"folds {valid}. Received: folds={folds!r}"
        )
    return sorted(set(int(f) for f in values))


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
    check_positive_int("cross_validation_folds", "num_folds", num_folds, 2)
    folds = list(range(1, num_folds + 1))
    for test_fold in folds:
        yield [f for f in folds if f != test_fold], test_fold


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
