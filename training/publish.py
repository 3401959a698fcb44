"""Model cards, file hashes and compact (float16) weight files.

The model card (`model_card.json`) is our own schema; see
`training/README.md`. Numbers in its `metrics` section are written only by
`training/evaluate.py`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np

from keras_attention import atomic
from keras_attention.zoo.cards import CARD_SCHEMA as CARD_SCHEMA
from keras_attention.zoo.cards import MODEL_CARD_FILE as MODEL_CARD
from keras_attention.zoo.cards import read_card_json
from keras_attention.zoo.download import sha256sum as sha256_of

REPO_ROOT = Path(__file__).resolve().parents[1]
WEIGHT_SUFFIX = ".weights.h5"
MAX_FILE_BYTES = 25 * 1024 * 1024


def file_table(preset_dir) -> dict:
    """`{filename: {"size": bytes, "sha256": hex}}` of every file of a
    preset directory except the model card itself."""
    preset_dir = Path(preset_dir)
    return {
        p.name: {"size": p.stat().st_size, "sha256": sha256_of(p)}
        for p in sorted(preset_dir.iterdir())
        if p.is_file() and p.name != MODEL_CARD
    }


def git_commit() -> dict:
    """The repository's commit and whether the work tree had changes."""

    def run(*args):
        try:
            return subprocess.run(
                ["git", *args],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "dirty": bool(status) if status is not None else None,
    }


def read_card(preset_dir) -> dict:
    path = Path(preset_dir) / MODEL_CARD
    if not path.is_file():
        raise FileNotFoundError(f"No {MODEL_CARD} in {preset_dir}")
    return read_card_json(path)


def write_json(path, data: dict) -> None:
    """Writes `data` as indented JSON, atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_card(preset_dir, card: dict) -> None:
    write_json(Path(preset_dir) / MODEL_CARD, card)


def relative_to_repo(path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def weight_dtypes(path) -> dict:
    """Counts of dataset dtypes in an `.h5` file, e.g. `{"float16": 120}`."""
    counts: dict[str, int] = {}

    def visit(_, obj):
        if isinstance(obj, h5py.Dataset):
            key = str(obj.dtype)
            counts[key] = counts.get(key, 0) + 1

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return counts


def _copy_attrs(src, dst) -> None:
    for key, value in src.attrs.items():
        dst.attrs[key] = value


def convert_weights_file(src, dst, dtype: str = "float16") -> None:
    """Copies a Keras `.weights.h5` file, storing its float32 layer
    variables as `dtype`. Optimizer entries and non-float32 data (e.g.
    integer counters) are copied unchanged. Keras casts the stored values
    to each variable's own dtype when it loads them (`variable.assign`), so
    the model still computes in float32.

    A fresh file is written (h5py does not reclaim deleted space).
    """
    target = np.dtype(dtype)

    def copy(src_group, dst_group, prefix):
        _copy_attrs(src_group, dst_group)
        for name, obj in src_group.items():
            path = f"{prefix}/{name}" if prefix else name
            if isinstance(obj, h5py.Group):
                copy(obj, dst_group.create_group(name), path)
                continue
            data = obj[()]
            if (
                obj.dtype == np.float32
                and not path.startswith("optimizer")
                and np.ndim(data) > 0
            ):
                data = np.asarray(data).astype(target)
            dataset = dst_group.create_dataset(name, data=data)
            _copy_attrs(obj, dataset)

    # A failed copy removes its temporary file and leaves `dst` as it was.
    with (
        atomic.atomic_path(dst) as tmp,
        h5py.File(src, "r") as fin,
        h5py.File(tmp, "w") as fout,
    ):
        copy(fin, fout, "")


def copy_preset(src_dir, dst_dir, weights_dtype: str = "float32") -> None:
    """Copies a keras-hub preset directory (not its model card), writing
    its `*.weights.h5` files with `weights_dtype`. The copy is staged
    beside `dst_dir` and replaces it (old files and all) only once
    complete; a failure leaves `dst_dir` as it was and no staging folder."""
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    dst_dir.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_dir(dst_dir) as staging:
        for path in sorted(src_dir.iterdir()):
            if not path.is_file() or path.name == MODEL_CARD:
                continue
            target = staging / path.name
            if path.name.endswith(WEIGHT_SUFFIX) and weights_dtype != "float32":
                convert_weights_file(path, target, weights_dtype)
            else:
                shutil.copy2(path, target)


def check_file_sizes(preset_dir, limit: int = MAX_FILE_BYTES) -> list[str]:
    """Names of files over `limit` bytes."""
    return [
        f"{p.name} ({p.stat().st_size} bytes)"
        for p in sorted(Path(preset_dir).iterdir())
        if p.is_file() and p.stat().st_size > limit
    ]
