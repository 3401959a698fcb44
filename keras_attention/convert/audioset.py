"""AudioSet's 527 class names, in the output order of PANNs' checkpoints.

The package ships them (`data/audioset_labels.json`, with its source and
license); `read_labels_csv` reads another copy of AudioSet's
`class_labels_indices.csv` (`index,mid,display_name`).
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

AUDIOSET_NUM_CLASSES = 527
LABELS_FILE = Path(__file__).parent / "data" / "audioset_labels.json"
CSV_HEADER = ["index", "mid", "display_name"]


@functools.cache
def _packaged() -> dict:
    with open(LABELS_FILE, encoding="utf-8") as f:
        return json.load(f)


def audioset_labels() -> list[str]:
    """The 527 display names, index order (e.g. 0: "Speech")."""
    return list(_packaged()["display_names"])


def audioset_mids() -> list[str]:
    """The 527 ontology ids, index order (e.g. 0: "/m/09x0r")."""
    return list(_packaged()["mids"])


def read_labels_csv(path) -> list[str]:
    """The display names of a `class_labels_indices.csv`, index order.

    Raises:
        ValueError: naming the file and the first line that is not
            `index,mid,display_name` with indices 0, 1, 2, ... in order.
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0]] != CSV_HEADER:
        got = ",".join(rows[0]) if rows else "an empty file"
        raise ValueError(
            f"{path}: Expected AudioSet's class_labels_indices.csv, whose "
            f"first line is {','.join(CSV_HEADER)!r}. Received: {got!r}"
        )
    names = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 3 or row[0].strip() != str(len(names)):
            raise ValueError(
                f"{path}, line {line}: Expected 'index,mid,display_name' "
                f"with index {len(names)}. Received: {','.join(row)!r}"
            )
        names.append(row[2])
    if not names:
        raise ValueError(f"{path}: Expected at least one class; it has none.")
    return names
