"""Recipe machinery shared by `train_image.py` and `train_audio.py`.

The optimizer (AdamW or SGD with decoupled weight decay, warmup then
cosine decay), the per-epoch stats callback, the CSV log and its PNG plot,
run folders whose backups are only resumed by the same recipe, and the
export of a trained model as a float32 preset plus the published
(float16-on-disk) preset with its model card.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np

from keras_attention import atomic
from training import publish

DEFAULTS = {
    "adamw": {"lr": 2e-3, "weight_decay": 0.05},
    "sgd": {"lr": 0.1, "weight_decay": 5e-4},
}
NO_DECAY = ["gamma", "beta", "bias"]
# `--dtype-policy`: Keras dtype policies the recipes train under. Mixed
# precision computes in bfloat16 / float16 with float32 variables; the
# published presets are float32 models either way.
DTYPE_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


class RecipeError(ValueError):
    """Bad arguments or a run directory that does not fit them."""


def fingerprint(recipe: dict) -> str:
    text = json.dumps(recipe, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_optimizer(args, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    total = max(1, args.epochs * steps_per_epoch)
    warmup = min(total - 1, int(round(args.warmup_epochs * steps_per_epoch)))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=args.lr * 0.01 if warmup else args.lr,
        decay_steps=max(1, total - warmup),
        alpha=0.0,
        warmup_target=args.lr if warmup else None,
        warmup_steps=warmup,
    )
    if args.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(
            learning_rate=schedule, weight_decay=args.weight_decay
        )
    else:
        optimizer = keras.optimizers.SGD(
            learning_rate=schedule,
            momentum=0.9,
            nesterov=True,
            weight_decay=args.weight_decay,
        )
    optimizer.exclude_from_weight_decay(var_names=NO_DECAY)
    return optimizer


class EpochStats(keras.callbacks.Callback):
    """Adds `lr` and `seconds` (wall time of the epoch, validation
    included) to the logs, so `CSVLogger` (placed after it) records them."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs["seconds"] = round(time.perf_counter() - self._start, 2)
        optimizer = self.model.optimizer
        lr = optimizer.learning_rate
        logs["lr"] = float(keras.ops.convert_to_numpy(lr))


def plot_curves(log_csv, out_png, title: str = "") -> Path | None:
    """Plots loss and accuracy (train and validation) per epoch from the
    CSV log into a PNG; returns its path (None if the log is empty)."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    with open(log_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    epochs = [int(r["epoch"]) + 1 for r in rows]

    def column(name):
        return [float(r[name]) if r.get(name) else np.nan for r in rows]

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if key in rows[0]:
            ax_loss.plot(epochs, column(key), marker="o", label=label)
    for key, label in (("accuracy", "train"), ("val_accuracy", "validation")):
        if key in rows[0]:
            ax_acc.plot(epochs, column(key), marker="o", label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


def precision_overrides(dtype_policy: str) -> dict:
    """Builder arguments for `--dtype-policy`: the layers compute under it
    and the head stays float32, so logits and loss are float32."""
    return {"dtype": dtype_policy, "head_dtype": "float32"}


def float32_config(config):
    """`config` (a nested Keras config) with every mixed-precision dtype
    policy replaced by float32; other values are returned as they are."""
    if isinstance(config, list):
        return [float32_config(value) for value in config]
    if not isinstance(config, dict):
        return config
    policy = config.get("config")
    if (
        config.get("class_name") == "DTypePolicy"
        and isinstance(policy, dict)
        and str(policy.get("name", "")).startswith("mixed_")
    ):
        return {**config, "config": {**policy, "name": "float32"}}
    return {key: float32_config(value) for key, value in config.items()}


def export_copy(model: keras.Model) -> keras.Model:
    """The trained model as a float32 model without its optimizer state (a
    task's `save_to_preset` would otherwise write the optimizer's moments
    into `task.weights.h5`). A model trained under mixed precision already
    has float32 variables; its copy also computes in float32."""
    clone = type(model).from_config(float32_config(model.get_config()))
    clone.set_weights(model.get_weights())
    return clone


def prepare_run_dir(run_dir: Path, recipe: dict, fresh: bool) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe_path = run_dir / "recipe.json"
    backup = run_dir / "backup"
    digest = fingerprint(recipe)
    if fresh:
        shutil.rmtree(backup, ignore_errors=True)
        (run_dir / "log.csv").unlink(missing_ok=True)
    elif backup.exists() and recipe_path.exists():
        old = json.loads(recipe_path.read_text())
        if old.get("fingerprint") != digest:
            changed = sorted(
                k for k in recipe if old.get("recipe", {}).get(k) != recipe[k]
            )
            raise RecipeError(
                f"{run_dir} holds a backup of a run with other arguments "
                f"(changed: {', '.join(changed)}). Pass --fresh to discard "
                f"it, or another --run-dir."
            )
    elif not backup.exists():
        (run_dir / "log.csv").unlink(missing_ok=True)
    publish.write_json(recipe_path, {"fingerprint": digest, "recipe": recipe})


def resumed_epoch(backup: Path) -> int:
    """The epoch a rerun resumes at: that of the newest complete backup in
    `backup` (0 without one). `Backup` falls back to an older one, and
    moves the batches' epoch with it, if this one does not load."""
    found = backup_candidates(Path(backup))
    return found[0][0] if found else 0


# --------------------------------------------------------------------------
# Backups that survive `kill -9`

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


def recipe_parser(
    module: str,
    doc: str,
    *,
    task: str,
    datasets,
    default_dataset: str,
    data_dir_help: str,
) -> argparse.ArgumentParser:
    """A recipe's parser with its first arguments: `--model` (a zoo model
    of `task`), `--dataset` and `--data-dir`."""
    p = argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=doc.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help=f"zoo {task} model name")
    p.add_argument("--dataset", default=default_dataset, choices=datasets)
    p.add_argument("--data-dir", default=None, help=data_dir_help)
    return p


def add_run_arguments(p, *, epochs: int, batch_size: int, lr_help: str) -> None:
    """The arguments every recipe shares: optimisation, seeds, run folder,
    publishing and progress output."""
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--optimizer", choices=sorted(DEFAULTS), default="adamw")
    p.add_argument("--lr", type=float, default=None, help=lr_help)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument(
        "--warmup-epochs",
        type=float,
        default=1.0,
        help="linear warmup before the cosine decay (fractions allowed)",
    )
    p.add_argument(
        "--dtype-policy",
        choices=DTYPE_POLICIES,
        default="float32",
        help="train under mixed precision (bfloat16 or float16 compute, "
        "float32 variables and head); the presets are float32 either way",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        help="cap the batches per epoch (timing trials)",
    )
    p.add_argument("--weights-name", default=None, help="default: dataset")
    p.add_argument(
        "--run-dir",
        default=None,
        help="backups, logs, plot, float32 preset "
        "(default runs/<model>/<weights-name>)",
    )
    p.add_argument(
        "--output",
        default=None,
        help="published preset directory (default zoo/<model>/<weights-name>)",
    )
    p.add_argument(
        "--no-publish",
        action="store_true",
        help="write only the float32 preset under --run-dir",
    )
    p.add_argument(
        "--storage",
        choices=("float16", "float32"),
        default="float16",
        help="dtype of the published weight files (variables stay float32)",
    )
    p.add_argument(
        "--not-default",
        action="store_true",
        help="do not mark the published weights as the model's default",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="discard an existing backup in --run-dir and start over",
    )
    p.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="Keras progress output (default: 1 on a terminal, else 2)",
    )


def run_argument_checks(args) -> list[tuple[bool, str]]:
    """`(ok, message)` checks of the shared arguments."""
    return [
        (args.epochs >= 1, f"--epochs must be >= 1, got {args.epochs}"),
        (
            args.batch_size >= 1,
            f"--batch-size must be >= 1, got {args.batch_size}",
        ),
        (
            args.warmup_epochs >= 0,
            f"--warmup-epochs must be >= 0, got {args.warmup_epochs}",
        ),
        (args.lr is None or args.lr > 0, f"--lr must be > 0, got {args.lr}"),
        (
            args.weight_decay is None or args.weight_decay >= 0,
            f"--weight-decay must be >= 0, got {args.weight_decay}",
        ),
        (
            args.steps_per_epoch is None or args.steps_per_epoch >= 1,
            f"--steps-per-epoch must be >= 1, got {args.steps_per_epoch}",
        ),
    ]


def resolve_run_arguments(args, dataset_key: str):
    """Fills in the shared defaults that depend on other arguments and
    checks that the output folders can be written."""
    if args.lr is None:
        args.lr = DEFAULTS[args.optimizer]["lr"]
    if args.weight_decay is None:
        args.weight_decay = DEFAULTS[args.optimizer]["weight_decay"]
    if args.weights_name is None:
        args.weights_name = dataset_key
    if args.run_dir is None:
        args.run_dir = str(
            publish.REPO_ROOT / "runs" / args.model / args.weights_name
        )
    if args.output is None:
        args.output = str(
            publish.REPO_ROOT / "zoo" / args.model / args.weights_name
        )
    if args.verbose is None:
        args.verbose = 1 if sys.stdout.isatty() else 2
    check_output_dirs(args)
    return args


def _writable_dir_problem(path: Path) -> str | None:
    """Why `path` cannot be (or become) a directory we write into, or
    None: it is a file, a parent is a file, or the nearest existing
    folder is not writable."""
    if path.exists() and not path.is_dir():
        return "is a file, not a directory"
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing != path and not existing.is_dir():
        return f"cannot be created: {existing} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"is not writable ({existing} does not allow writing)"
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output_dirs(args) -> None:
    """Raises `RecipeError` naming the argument and the path when
    `--run-dir` or `--output` (unless `--no-publish`) cannot be written,
    or when writing one would delete the other: checked before any
    training (`--output` only where it is written: not with
    `--no-publish` or `--cross-validation`). `--output` is replaced as a
    whole at the end, so it must be a preset folder, an empty one or a new
    one."""
    run_dir = Path(args.run_dir).expanduser().resolve()
    problems = [("--run-dir", run_dir, _writable_dir_problem(run_dir))]
    publishes = not (args.no_publish or getattr(args, "cross_validation", 0))
    if publishes:
        out = Path(args.output).expanduser().resolve()
        problem = _writable_dir_problem(out)
        if problem is None and _inside(run_dir, out):
            problem = f"holds --run-dir {run_dir} (it would be deleted)"
        if problem is None and _inside(out, run_dir / "preset_float32"):
            problem = "lies inside --run-dir's preset_float32"
        if (
            problem is None
            and out.is_dir()
            and any(out.iterdir())
            and not (out / "config.json").is_file()
        ):
            problem = (
                "is a folder that holds no preset; it would be replaced "
                "as a whole (pass an empty or new folder)"
            )
        problems.append(("--output", out, problem))
    for name, path, problem in problems:
        if problem:
            raise RecipeError(f"{name} {path} {problem}")


def schedule_text(args) -> str:
    return (
        f"linear warmup over {args.warmup_epochs} epoch(s) to {args.lr}, "
        "then cosine decay to 0"
    )


def export_presets(args, model, card: dict) -> dict:
    """Saves the trained `model` (without optimizer state) as a float32
    preset in `<run-dir>/preset_float32` and, unless `--no-publish`, the
    published preset in `--output` with its weights stored as
    `--storage`; writes `card` next to each. Returns their paths."""
    export = export_copy(model)
    preset32 = Path(args.run_dir) / "preset_float32"
    if preset32.exists():
        shutil.rmtree(preset32)
    export.save_to_preset(str(preset32))
    card = dict(card)
    card["storage"] = {
        "weights_dtype_on_disk": "float32",
        "variables_dtype": "float32",
    }
    card["files"] = publish.file_table(preset32)
    publish.write_card(preset32, card)
    paths = {"preset_float32": str(preset32), "published": None}
    if args.no_publish:
        return paths
    out = Path(args.output)
    publish.copy_preset(preset32, out, weights_dtype=args.storage)
    card["storage"] = {
        "weights_dtype_on_disk": args.storage,
        "variables_dtype": "float32",
        "note": (
            "Keras casts the stored values to the float32 variables when "
            "loading"
        ),
        "float32_reference": {
            "path": publish.relative_to_repo(preset32),
            "test_accuracy": None,
        },
        "tolerance_points": 0.1,
    }
    card["files"] = publish.file_table(out)
    publish.write_card(out, card)
    too_big = publish.check_file_sizes(out)
    if too_big:
        print(f"WARNING: files over 25 MiB in {out}: {too_big}")
    paths["published"] = str(out)
    return paths


def print_outputs(result: dict) -> None:
    print(f"log: {result['log']}")
    print(f"curves: {result['plot']}")
    print(f"float32 preset: {result['preset_float32']}")
    target = result["published"] or result["preset_float32"]
    if result["published"]:
        print(f"published preset: {result['published']}")
    print(
        f"next: python -m training.evaluate {publish.relative_to_repo(target)}"
    )


def recipe_command(module: str, args) -> str:
    """The command line that reproduces a run (for the model card)."""
    import shlex

    return "KERAS_BACKEND={} python -m {} {}".format(
        keras.backend.backend(),
        module,
        " ".join(shlex.quote(a) for a in getattr(args, "argv", [])),
    )


def check_all(checks) -> None:
    """Raises `RecipeError` with the message of the first failed check."""
    for ok, message in checks:
        if not ok:
            raise RecipeError(message)


def fit_run(
    args, model, train_batches, val_batches, *, loss, metric, callbacks, title
) -> dict:
    """Compiles `model` (the recipe's optimizer, `loss`, `metric` named
    "accuracy") and fits it with backups (resume), per-epoch stats and the
    CSV log in `args.run_dir`; then plots the curves. Returns `history`,
    the log's `rows`, `log` and `plot` paths."""
    run_dir = Path(args.run_dir)
    log_csv = run_dir / "log.csv"
    steps = len(train_batches)
    if args.steps_per_epoch:
        steps = min(steps, args.steps_per_epoch)
    model.compile(
        optimizer=make_optimizer(args, steps), loss=loss, metrics=[metric]
    )
    # The batches are ready-made numpy (augmented, and preprocessed for
    # images); a task's own fit would map its preprocessor again, so call
    # keras.Model.fit.
    history = keras.Model.fit(
        model,
        train_batches,
        validation_data=val_batches,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch and steps,
        shuffle=False,
        callbacks=[
            Backup(
                run_dir / "backup", batches=[train_batches], log_csv=log_csv
            ),
            EpochStats(),
            keras.callbacks.CSVLogger(str(log_csv), append=True),
            *(callbacks or []),
        ],
        verbose=args.verbose,
    )
    plot = plot_curves(log_csv, run_dir / "curves.png", title=title)
    return {
        "history": history,
        "rows": read_log(log_csv),
        "log": str(log_csv),
        "plot": str(plot) if plot else None,
    }


def card_frame(args, task: str, architecture: dict, license_: dict) -> tuple:
    """The parts of a model card both recipes share: `(head, tail)` dicts
    to put around the task's own entries."""
    head = {
        "schema": publish.CARD_SCHEMA,
        "model": args.model,
        "weights": args.weights_name,
        "default": not args.not_default,
        "task": task,
        "architecture": architecture,
    }
    tail = {
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "git": publish.git_commit(),
        "epochs": args.epochs,
        "license": license_,
        "metrics": None,
        "storage": None,
        "files": {},
    }
    return head, tail


def finish_run(args, model, fitted: dict, card: dict, start: float) -> dict:
    """Adds the run's epochs and wall time to `card`, exports the presets
    and returns the recipe's result dict."""
    rows = fitted["rows"]
    card["epochs_run"] = len(rows)
    card["final_epoch"] = rows[-1] if rows else None
    card["wall_time_seconds"] = round(time.perf_counter() - start, 1)
    return {
        "run_dir": str(args.run_dir),
        "log": fitted["log"],
        "plot": fitted["plot"],
        "history": fitted["history"].history,
        **export_presets(args, model, card),
    }


def run_main(parser, resolve, run, argv, errors) -> int:
    """The recipes' `main`: parse, resolve (bad arguments exit 2 with a
    usage message), run; `errors` are reported in one line, exit 2."""
    import sys

    args = parser.parse_args(argv)
    try:
        args = resolve(args)
    except RecipeError as error:
        parser.error(str(error))
    args.argv = argv
    try:
        return run(args)
    except (RecipeError, *errors) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def check_model_task(model_name: str, task: str) -> None:
    """Raises `RecipeError` unless `model_name` is a registered `task`
    model (an unknown name suggests the closest ones)."""
    from keras_attention import zoo

    try:
        spec = zoo.get_spec(model_name)
    except ValueError as error:
        raise RecipeError(str(error)) from None
    if spec.task != task:
        raise RecipeError(
            f"--model {model_name!r} is a {spec.task} model; this recipe "
            f"trains {task} models: {', '.join(zoo.list_models(task=task))}"
        )
