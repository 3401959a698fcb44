"""Optimizer, callbacks and `fit`: AdamW or SGD with decoupled weight
decay, warmup then cosine decay, per-epoch stats, the curves' PNG, mixed
precision and float32 export copies."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from training.backup import (
    Backup,
    read_log,
)
from training.parser import (
    NO_DECAY,
)


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
