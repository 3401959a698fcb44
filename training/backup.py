"""Backups that survive `kill -9`: `Backup` writes every epoch's weights
and optimizer state atomically (`keras_attention.atomic`) and resumes
from the newest one that loads; the CSV log is trimmed to match."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

import keras

from keras_attention import atomic


def resumed_epoch(backup: Path) -> int:
    """The epoch a rerun resumes at: that of the newest complete backup in
    `backup` (0 without one). `Backup` falls back to an older one, and
    moves the batches' epoch with it, if this one does not load."""
    found = backup_candidates(Path(backup))
    return found[0][0] if found else 0


BACKUP_PATTERN = re.compile(r"^epoch-(\d+)\.weights\.h5$")
BACKUP_METADATA = "training_metadata.json"

# Temporary backups of runs made before `keras_attention.atomic` wrote them.
PARTIAL_PREFIX = ".partial-"

# Keras' BackupAndRestore layout (runs made before `Backup`): resumed too.
LEGACY_WEIGHTS = ("latest.weights.h5", "latest.weights.h5.bkp")

# Test hook: "EPOCH:MARKER" makes `Backup` stop while it writes the backup
# of EPOCH (finished epochs): the temporary file holds half of its bytes,
# MARKER is created, and the process sleeps (until the test kills it).
PAUSE_ENV = "KERAS_ATTENTION_TEST_PAUSE_BACKUP"


def backup_name(epoch: int) -> str:
    return f"epoch-{epoch:04d}.weights.h5"


def backup_candidates(backup: Path) -> list[tuple[int, Path]]:
    """`(epoch, weights file)` of every complete backup, newest first.

    A file named `epoch-N.weights.h5` is complete by construction (it is
    only renamed to that name after it was written and synced). Keras'
    own `latest.weights.h5` (and its `.bkp`) come after them, with the
    epoch of their metadata."""
    if not backup.is_dir():
        return []
    found = []
    for path in backup.iterdir():
        match = BACKUP_PATTERN.match(path.name)
        if match and path.is_file():
            found.append((int(match.group(1)), path))
    found.sort(key=lambda item: item[0], reverse=True)
    for name, meta in zip(
        LEGACY_WEIGHTS,
        (BACKUP_METADATA, f"{BACKUP_METADATA}.bkp"),
        strict=True,
    ):
        weights, meta = backup / name, backup / meta
        if weights.is_file() and meta.is_file():
            try:
                data = json.loads(meta.read_text())
            except (OSError, ValueError):
                continue
            if "weights" not in data and isinstance(data.get("epoch"), int):
                found.append((int(data["epoch"]), weights))
    return found


def trim_log(log_csv: Path, epoch: int) -> None:
    """Keeps the rows of epochs before `epoch` in the CSV log (atomically);
    no-op without a log or rows to drop."""
    import csv
    import io

    if not log_csv.is_file():
        return
    with open(log_csv, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = list(reader)
    kept = [r for r in rows if int(r.get("epoch") or 0) < epoch]
    if not fields or len(kept) == len(rows):
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(kept)
    atomic.write_text(log_csv, out.getvalue())


def _pause_for_test(tmp: Path, epoch: int) -> None:
    hook = os.environ.get(PAUSE_ENV, "")
    at, _, marker = hook.partition(":")
    if not marker or at != str(epoch):
        return
    size = tmp.stat().st_size
    with open(tmp, "rb+") as f:
        f.truncate(size // 2)
        f.flush()
        os.fsync(f.fileno())
    atomic.write_text(marker, str(tmp))  # never seen half written
    time.sleep(600)


class Backup(keras.callbacks.Callback):
    """Saves the model (weights and optimizer state) after every epoch and
    restores the newest backup that loads when training starts again.

    Unlike `keras.callbacks.BackupAndRestore`, which rewrites
    `latest.weights.h5` in place (a kill during the write leaves a
    truncated file that the rerun cannot load), every backup is written to
    a temporary file in `backup_dir`, synced, and renamed to
    `epoch-N.weights.h5` (N finished epochs); only then is
    `training_metadata.json` replaced and the older backups beyond `keep`
    removed. A kill at any moment leaves the previous complete backup.
    On resume, a backup that fails to load is reported with a warning and
    the next older one is tried; if none loads, training starts at epoch 0
    with a warning saying so.

    Args:
        backup_dir: the folder of the backups.
        batches: datasets with an `epoch` attribute (the training batches)
            set to the restored epoch, so their seeded order follows it.
        keep: complete backups kept (the newest and the one before it).
        log_csv: the run's CSV log: rows of epochs after the restored one
            (trained before a fallback) are removed.
    """

    def __init__(self, backup_dir, batches=(), keep: int = 2, log_csv=None):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.log_csv = None if log_csv is None else Path(log_csv)
        self.batches = list(batches)
        self.keep = max(1, int(keep))
        self.restored_epoch = 0

    def on_train_begin(self, logs=None):
        for prefix in (atomic.TEMP_PREFIX, PARTIAL_PREFIX):
            for stale in self.backup_dir.glob(f"{prefix}*"):
                stale.unlink(missing_ok=True)  # left by a killed run
        candidates = backup_candidates(self.backup_dir)
        if not candidates:
            return
        model = self.model
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        initial = model.get_weights()
        failed = []
        for epoch, path in candidates:
            try:
                model.load_weights(str(path))
            except Exception as error:  # truncated, garbage, other model
                failed.append(f"{path} ({type(error).__name__}: {error})")
                warnings.warn(
                    f"backup {path} cannot be loaded ({error}); trying the "
                    "previous one",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            self._resume_at(epoch)
            if failed:
                print(
                    f"resumed from {path} (epoch {epoch}); unusable: "
                    + "; ".join(failed),
                    file=sys.stderr,
                )
            return
        model.set_weights(initial)
        self._resume_at(0)
        warnings.warn(
            f"no backup in {self.backup_dir} can be loaded: "
            f"{'; '.join(failed)}. Training starts again at epoch 0.",
            RuntimeWarning,
            stacklevel=2,
        )

    def _resume_at(self, epoch: int) -> None:
        self.restored_epoch = epoch
        self.model._initial_epoch = epoch
        for batches in self.batches:
            batches.epoch = epoch
        if self.log_csv is not None:
            trim_log(self.log_csv, epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.save(epoch + 1)

    def save(self, epoch: int) -> Path:
        """Writes the backup of `epoch` finished epochs; returns its path."""
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        final = self.backup_dir / backup_name(epoch)
        # The temporary name keeps `.weights.h5`, as save_weights wants.
        with atomic.atomic_path(final) as tmp:
            self.model.save_weights(str(tmp), overwrite=True)
            _pause_for_test(tmp, epoch)
        kept = [path for _, path in backup_candidates(self.backup_dir)]
        kept = [p for p in kept if BACKUP_PATTERN.match(p.name)][: self.keep]
        atomic.write_text(
            self.backup_dir / BACKUP_METADATA,
            json.dumps(
                {
                    "epoch": epoch,
                    "batch": 0,
                    "weights": final.name,
                    "kept": [p.name for p in kept],
                }
            ),
        )
        for path in self.backup_dir.iterdir():
            old = BACKUP_PATTERN.match(path.name) and path not in kept
            if old or path.name in LEGACY_WEIGHTS:
                path.unlink(missing_ok=True)
        (self.backup_dir / f"{BACKUP_METADATA}.bkp").unlink(missing_ok=True)
        return final


def read_log(log_csv: Path) -> list[dict]:
    import csv

    if not log_csv.exists():
        return []
    with open(log_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        clean = {}
        for key, value in row.items():
            try:
                clean[key] = float(value)
            except (TypeError, ValueError):
                clean[key] = value
        clean["epoch"] = int(clean["epoch"])
        out.append(clean)
    return out
