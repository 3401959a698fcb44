"""Train a catalog image model and publish it as a keras-hub preset.

    python training/train_image.py --model cbam_resnet18 --epochs 30

One recipe for every image model of the zoo and every backend
(`KERAS_BACKEND=tensorflow|jax|torch`), through `compile`/`fit`:

- data: Fashion-MNIST IDX files (Debian package `dataset-fashion-mnist`,
  the Keras cache, or `--data-dir`), CIFAR-10 (python pickle layout) or a
  folder of class folders; the last `--val-size` training images are the
  validation set;
- augmentation in numpy: random crop with zero padding, horizontal flip,
  random erasing; then the model's own preprocessor (resize to
  `--image-size`, grayscale repeated to RGB, ImageNet mean/std), so
  training sees exactly what `predict` sees;
- AdamW (or SGD with Nesterov momentum) with decoupled weight decay (not on
  batch-norm parameters or biases), linear warmup then cosine decay;
- seeds from `keras.utils.set_random_seed`; data order and augmentation
  seeded per epoch and batch;
- `keras.callbacks.BackupAndRestore` under `<run-dir>/backup`: rerun the
  same command after an interruption and training resumes after the last
  finished epoch; `CSVLogger` (`<run-dir>/log.csv`) and a PNG plot of the
  curves (`<run-dir>/curves.png`);
- at the end: a float32 keras-hub preset in `<run-dir>/preset_float32`
  and the published preset (`--output`, default
  `zoo/<model>/<weights-name>`) with its weights stored as float16, each
  with a `model_card.json`. Test metrics are filled in by
  `python training/evaluate.py <preset dir>`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from training import image_data, publish  # noqa: E402

DEFAULTS = {
    "adamw": {"lr": 2e-3, "weight_decay": 0.05},
    "sgd": {"lr": 0.1, "weight_decay": 5e-4},
}
NO_DECAY = ["gamma", "beta", "bias"]
MEAN_STD = {
    # ImageNet statistics keep the 3-channel stem compatible with RGB
    # fine-tuning; grayscale is repeated to 3 channels first.
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
DATASET_INFO = {
    "fashion_mnist": {
        "name": "Fashion-MNIST",
        "source": "Debian package dataset-fashion-mnist",
        "url": "https://github.com/zalandoresearch/fashion-mnist",
        "license": "MIT",
    },
    "cifar10": {
        "name": "CIFAR-10",
        "source": "https://www.cs.toronto.edu/~kriz/cifar.html",
        "url": "https://www.cs.toronto.edu/~kriz/cifar.html",
        "license": "unspecified (see the dataset's page)",
    },
    "folder": {
        "name": "image folder",
        "source": "user-supplied folder of class folders",
        "url": None,
        "license": "user-supplied",
    },
}
WEIGHTS_LICENSE = "Apache-2.0"


class RecipeError(ValueError):
    """Bad arguments or a run directory that does not fit them."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python training/train_image.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="zoo image model name")
    p.add_argument(
        "--dataset", default="fashion_mnist", choices=image_data.DATASETS
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="dataset folder (default for fashion_mnist: "
        "/usr/share/datasets/fashion-mnist or ~/.keras/datasets/fashion-mnist)",
    )
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", choices=sorted(DEFAULTS), default="adamw")
    p.add_argument("--lr", type=float, default=None, help="peak LR")
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument(
        "--warmup-epochs",
        type=float,
        default=1.0,
        help="linear warmup before the cosine decay (fractions allowed)",
    )
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--crop-padding", type=int, default=4)
    p.add_argument("--no-flip", action="store_true")
    p.add_argument(
        "--erasing", type=float, default=0.5, help="random-erasing prob."
    )
    p.add_argument(
        "--val-size",
        type=int,
        default=None,
        help="validation images: the last N of the training set "
        "(default 5000, or a tenth of a smaller set)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="use only the first N training and test images (trials)",
    )
    p.add_argument(
        "--train-subset",
        type=int,
        default=None,
        help="train on the first N images of the training split only "
        "(validation and test sets stay whole; small budgets)",
    )
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
    return p


def _check_args(args) -> None:
    from keras_attention import zoo

    try:
        spec = zoo.get_spec(args.model)
    except ValueError as error:
        raise RecipeError(str(error)) from None
    if spec.task != "image":
        raise RecipeError(
            f"--model {args.model!r} is a {spec.task} model; this recipe "
            f"trains image models: {', '.join(zoo.list_models(task='image'))}"
        )
    checks = [
        (args.epochs >= 1, f"--epochs must be >= 1, got {args.epochs}"),
        (
            args.batch_size >= 1,
            f"--batch-size must be >= 1, got {args.batch_size}",
        ),
        (
            args.image_size >= 32,
            f"--image-size must be >= 32 (the ResNets' minimum), "
            f"got {args.image_size}",
        ),
        (
            args.crop_padding >= 0,
            f"--crop-padding must be >= 0, got {args.crop_padding}",
        ),
        (
            0.0 <= args.erasing <= 1.0,
            f"--erasing is a probability in [0, 1], got {args.erasing}",
        ),
        (
            args.warmup_epochs >= 0,
            f"--warmup-epochs must be >= 0, got {args.warmup_epochs}",
        ),
        (
            args.lr is None or args.lr > 0,
            f"--lr must be > 0, got {args.lr}",
        ),
        (
            args.weight_decay is None or args.weight_decay >= 0,
            f"--weight-decay must be >= 0, got {args.weight_decay}",
        ),
        (
            args.train_subset is None or args.train_subset >= 1,
            f"--train-subset must be >= 1, got {args.train_subset}",
        ),
        (
            args.steps_per_epoch is None or args.steps_per_epoch >= 1,
            f"--steps-per-epoch must be >= 1, got {args.steps_per_epoch}",
        ),
    ]
    if args.dataset != "fashion_mnist" and args.data_dir is None:
        checks.append(
            (False, f"--dataset {args.dataset} needs --data-dir (its folder)")
        )
    for ok, message in checks:
        if not ok:
            raise RecipeError(message)


def resolve(args) -> argparse.Namespace:
    """Fills in the defaults that depend on other arguments."""
    _check_args(args)
    args = argparse.Namespace(**vars(args))
    if args.lr is None:
        args.lr = DEFAULTS[args.optimizer]["lr"]
    if args.weight_decay is None:
        args.weight_decay = DEFAULTS[args.optimizer]["weight_decay"]
    if args.weights_name is None:
        args.weights_name = args.dataset
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
    return args


# Arguments that change the trained weights (a backup made with other values
# must not be resumed).
RECIPE_KEYS = (
    "model",
    "dataset",
    "epochs",
    "batch_size",
    "optimizer",
    "lr",
    "weight_decay",
    "warmup_epochs",
    "image_size",
    "crop_padding",
    "no_flip",
    "erasing",
    "val_size",
    "seed",
    "limit",
    "train_subset",
    "steps_per_epoch",
)


def recipe_of(args) -> dict:
    return {key: getattr(args, key) for key in RECIPE_KEYS}


def _fingerprint(recipe: dict) -> str:
    text = json.dumps(recipe, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_model(
    model_name: str,
    num_classes: int,
    image_size: int,
    class_names=None,
    seed: int = 0,
) -> keras.Model:
    """A randomly initialised classifier whose preprocessor resizes to
    `image_size`, repeats grayscale to 3 channels and normalises with
    ImageNet mean/std."""
    from keras_attention import zoo
    from keras_attention.models import image_preprocessor

    keras.utils.set_random_seed(seed)
    mean, std = MEAN_STD["imagenet"]
    preprocessor = image_preprocessor(
        num_channels=3,
        mean=mean,
        std=std,
        image_size=(image_size, image_size),
    )
    return zoo.load(
        model_name,
        weights=None,
        num_classes=num_classes,
        input_shape=(None, None, 3),
        preprocessor=preprocessor,
        class_names=list(class_names) if class_names else None,
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


def export_copy(model: keras.Model) -> keras.Model:
    """The trained model without its optimizer state (a task's
    `save_to_preset` would otherwise write the optimizer's moments into
    `task.weights.h5`)."""
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    return clone


def _prepare_run_dir(run_dir: Path, recipe: dict, fresh: bool) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe_path = run_dir / "recipe.json"
    backup = run_dir / "backup"
    fingerprint = _fingerprint(recipe)
    if fresh:
        shutil.rmtree(backup, ignore_errors=True)
        (run_dir / "log.csv").unlink(missing_ok=True)
    elif backup.exists() and recipe_path.exists():
        old = json.loads(recipe_path.read_text())
        if old.get("fingerprint") != fingerprint:
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
    publish.write_json(
        recipe_path, {"fingerprint": fingerprint, "recipe": recipe}
    )


def _resumed_epoch(backup: Path) -> int:
    meta = backup / "training_metadata.json"
    if meta.is_file():
        return int(json.loads(meta.read_text()).get("epoch", 0))
    return 0


def _preprocessing_card(model, args, splits) -> dict:
    converter = model.preprocessor.image_converter
    mean, std = MEAN_STD["imagenet"]
    return {
        "input_size": [args.image_size, args.image_size],
        "resize": (
            f"bilinear resize to {args.image_size}x{args.image_size} "
            "inside the preset's image converter"
        ),
        "channels": 3,
        "grayscale_to_rgb": (
            "grayscale images are repeated to 3 channels by the image converter"
        ),
        "input_range": "[0, 255]",
        "mean": list(mean),
        "std": list(std),
        "formula": "(x / 255 - mean) / std, per channel",
        "applied_by": (
            f"{type(model.preprocessor).__name__} / "
            f"{type(converter).__name__} (preprocessor.json); fit, predict "
            "and evaluate apply it"
        ),
        "source_images": list(splits.image_shape),
    }


def build_card(
    args, model, splits, history_rows, wall_seconds, command: str
) -> dict:
    from keras_attention import zoo

    spec = zoo.get_spec(args.model)
    info = DATASET_INFO[args.dataset]
    sizes = splits.sizes()
    return {
        "schema": publish.CARD_SCHEMA,
        "model": args.model,
        "weights": args.weights_name,
        "default": not args.not_default,
        "task": "image",
        "architecture": {
            "family": spec.family,
            "attention": spec.attention,
            "description": spec.description,
            "stem_type": model.backbone.stem_type,
            "params": int(model.count_params()),
        },
        "num_classes": len(splits.class_names),
        "class_names": list(splits.class_names),
        "dataset": {
            "name": info["name"],
            "key": args.dataset,
            "source": info["source"],
            "url": info["url"],
            "files": relative_or_abs(splits.source),
            "splits": {
                "train": sizes["train"],
                "val": sizes["val"],
                "test": sizes["test"],
            },
            "validation": splits.val_note,
            "license": info["license"],
        },
        "preprocessing": _preprocessing_card(model, args, splits),
        "input_shape": [None, None, 3],
        "recipe": {
            "arguments": recipe_of(args),
            "optimizer": type(model.optimizer).__name__,
            "schedule": (
                f"linear warmup over {args.warmup_epochs} epoch(s) to "
                f"{args.lr}, then cosine decay to 0"
            ),
            "weight_decay_excludes": NO_DECAY,
            "augmentation": _augment(args).describe(),
            "loss": "sparse categorical cross-entropy (from logits)",
            "command": command,
            "script": "training/train_image.py",
        },
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "git": publish.git_commit(),
        "epochs": args.epochs,
        "epochs_run": len(history_rows),
        "final_epoch": history_rows[-1] if history_rows else None,
        "wall_time_seconds": round(wall_seconds, 1),
        "license": {
            "weights": WEIGHTS_LICENSE,
            "dataset": info["license"],
        },
        "metrics": None,
        "storage": None,
        "files": {},
    }


def relative_or_abs(path) -> str:
    return publish.relative_to_repo(path)


def _augment(args) -> image_data.Augment:
    return image_data.Augment(
        crop_padding=args.crop_padding,
        flip=not args.no_flip,
        erasing=args.erasing,
    )


def _read_log(log_csv: Path) -> list[dict]:
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


def train(args, callbacks=None, splits=None) -> dict:
    """Runs the recipe with resolved `args` (see `resolve`).

    Args:
        args: Namespace from `build_parser().parse_args` passed through
            `resolve`.
        callbacks: Extra Keras callbacks (tests use one to interrupt).
        splits: Pre-loaded `ImageSplits` (default: load `args.dataset`).

    Returns:
        A dict with the paths written (`run_dir`, `preset_float32`,
        `published`, `log`, `plot`) and the Keras history.
    """
    start = time.perf_counter()
    command = "KERAS_BACKEND={} python training/train_image.py {}".format(
        keras.backend.backend(),
        " ".join(shlex.quote(a) for a in getattr(args, "argv", [])),
    )
    if splits is None:
        try:
            splits = image_data.load_splits(
                args.dataset,
                data_dir=args.data_dir,
                val_size=args.val_size,
                image_size=(args.image_size, args.image_size),
                limit=args.limit,
                train_subset=args.train_subset,
            )
        except image_data.DatasetNotFoundError:
            raise
        except ValueError as error:
            raise RecipeError(str(error)) from None
    run_dir = Path(args.run_dir)
    recipe = recipe_of(args)
    _prepare_run_dir(run_dir, recipe, args.fresh)
    backup = run_dir / "backup"
    log_csv = run_dir / "log.csv"

    keras.utils.set_random_seed(args.seed)
    model = build_model(
        args.model,
        len(splits.class_names),
        args.image_size,
        splits.class_names,
        seed=args.seed,
    )
    converter = model.preprocessor.image_converter
    train_batches = image_data.ImageBatches(
        splits.x_train,
        splits.y_train,
        args.batch_size,
        transform=converter,
        augment=_augment(args),
        shuffle=True,
        seed=args.seed,
        drop_remainder=True,
        epoch=_resumed_epoch(backup),
    )
    val_batches = image_data.ImageBatches(
        splits.x_val, splits.y_val, max(args.batch_size, 256), converter
    )
    steps = len(train_batches)
    if args.steps_per_epoch:
        steps = min(steps, args.steps_per_epoch)
    model.compile(
        optimizer=make_optimizer(args, steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    all_callbacks = [
        keras.callbacks.BackupAndRestore(
            str(backup), save_freq="epoch", delete_checkpoint=False
        ),
        EpochStats(),
        keras.callbacks.CSVLogger(str(log_csv), append=True),
        *(callbacks or []),
    ]
    # The preprocessor runs inside the batches (numpy, no tf.data); the
    # classifier's own fit would map it again, so call keras.Model.fit.
    history = keras.Model.fit(
        model,
        train_batches,
        validation_data=val_batches,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch and steps,
        shuffle=False,
        callbacks=all_callbacks,
        verbose=args.verbose,
    )
    rows = _read_log(log_csv)
    plot = plot_curves(
        log_csv,
        run_dir / "curves.png",
        title=f"{args.model} on {splits.name} ({keras.backend.backend()})",
    )

    # Sanity check: the validation accuracy of the exported model through
    # the preprocessor's own path (predict on raw images).
    export = export_copy(model)
    preset32 = run_dir / "preset_float32"
    if preset32.exists():
        shutil.rmtree(preset32)
    export.save_to_preset(str(preset32))
    wall = time.perf_counter() - start
    card = build_card(args, model, splits, rows, wall, command)
    card["storage"] = {
        "weights_dtype_on_disk": "float32",
        "variables_dtype": "float32",
    }
    card["files"] = publish.file_table(preset32)
    publish.write_card(preset32, card)
    result = {
        "run_dir": str(run_dir),
        "preset_float32": str(preset32),
        "published": None,
        "log": str(log_csv),
        "plot": str(plot) if plot else None,
        "history": history.history,
    }
    if not args.no_publish:
        out = Path(args.output)
        publish.copy_preset(preset32, out, weights_dtype=args.storage)
        card = dict(card)
        card["storage"] = {
            "weights_dtype_on_disk": args.storage,
            "variables_dtype": "float32",
            "note": (
                "Keras casts the stored values to the float32 variables "
                "when loading"
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
        result["published"] = str(out)
    return result


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args = resolve(args)
    except RecipeError as error:
        parser.error(str(error))
    args.argv = argv
    try:
        result = train(args)
    except (image_data.DatasetNotFoundError, RecipeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"log: {result['log']}")
    print(f"curves: {result['plot']}")
    print(f"float32 preset: {result['preset_float32']}")
    target = result["published"] or result["preset_float32"]
    if result["published"]:
        print(f"published preset: {result['published']}")
    print(
        f"next: python training/evaluate.py {publish.relative_to_repo(target)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
