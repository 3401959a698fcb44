"""Train a catalog image model and publish it as a keras-hub preset.

    python -m training.train_image --model cbam_resnet18 --epochs 30

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
- a backup per epoch under `<run-dir>/backup` (`training.backup.Backup`,
  written atomically, the previous one kept): rerun the same command after
  an interruption, even `kill -9`, and training resumes after the last
  finished epoch; `CSVLogger` (`<run-dir>/log.csv`) and a PNG plot of the
  curves (`<run-dir>/curves.png`);
- at the end: a float32 keras-hub preset in `<run-dir>/preset_float32`
  and the published preset (`--output`, default
  `zoo/<model>/<weights-name>`) with its weights stored as float16, each
  with a `model_card.json`. Test metrics are filled in by
  `python -m training.evaluate <preset dir>`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from training import image_data, publish
from training.common import (
    NO_DECAY,
    RecipeError,
    add_run_arguments,
    card_frame,
    check_all,
    check_model_task,
    finish_run,
    fit_run,
    precision_overrides,
    prepare_run_dir,
    print_outputs,
    recipe_command,
    recipe_parser,
    resolve_run_arguments,
    resumed_epoch,
    run_argument_checks,
    run_main,
    schedule_text,
)

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


def build_parser() -> argparse.ArgumentParser:
    p = recipe_parser(
        "training.train_image",
        __doc__,
        task="image",
        datasets=image_data.DATASETS,
        default_dataset="fashion_mnist",
        data_dir_help="dataset folder (default for fashion_mnist: "
        "/usr/share/datasets/fashion-mnist or ~/.keras/datasets/fashion-mnist)",
    )
    add_run_arguments(p, epochs=30, batch_size=128, lr_help="peak LR")
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
        "--skip-bad-files",
        action="store_true",
        help="folder dataset: leave out images that cannot be decoded (one "
        "warning lists them); default: stop with an error naming the file",
    )
    return p


def _check_args(args) -> None:
    check_model_task(args.model, "image")
    checks = run_argument_checks(args) + [
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
            args.train_subset is None or args.train_subset >= 1,
            f"--train-subset must be >= 1, got {args.train_subset}",
        ),
    ]
    if args.dataset != "fashion_mnist" and args.data_dir is None:
        checks.append(
            (False, f"--dataset {args.dataset} needs --data-dir (its folder)")
        )
    check_all(checks)


def resolve(args) -> argparse.Namespace:
    """Fills in the defaults that depend on other arguments."""
    _check_args(args)
    args = argparse.Namespace(**vars(args))
    return resolve_run_arguments(args, args.dataset)


# Arguments that change the trained weights (a backup made with other values
# must not be resumed). Not `--skip-bad-files`: without bad files it changes
# nothing, and with them only a run that skips them gets past loading.
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
    "dtype_policy",
    "seed",
    "limit",
    "train_subset",
    "steps_per_epoch",
)


def recipe_of(args) -> dict:
    return {key: getattr(args, key) for key in RECIPE_KEYS}


def build_model(
    model_name: str,
    num_classes: int,
    image_size: int,
    class_names=None,
    seed: int = 0,
    dtype_policy: str = "float32",
) -> keras.Model:
    """A randomly initialised classifier whose preprocessor resizes to
    `image_size`, repeats grayscale to 3 channels and normalises with
    ImageNet mean/std; its layers compute under `dtype_policy`, its head
    in float32."""
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
        **precision_overrides(dtype_policy),
    )


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


def build_card(args, model, splits, command: str) -> dict:
    from keras_attention import zoo

    spec = zoo.get_spec(args.model)
    info = DATASET_INFO[args.dataset]
    sizes = splits.sizes()
    head, tail = card_frame(
        args,
        "image",
        {
            "family": spec.family,
            "attention": spec.attention,
            "description": spec.description,
            "stem_type": model.backbone.stem_type,
            "params": int(model.count_params()),
        },
        {"weights": WEIGHTS_LICENSE, "dataset": info["license"]},
    )
    return {
        **head,
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
            "schedule": schedule_text(args),
            "weight_decay_excludes": NO_DECAY,
            "augmentation": _augment(args).describe(),
            "loss": "sparse categorical cross-entropy (from logits)",
            "command": command,
            "script": "training/train_image.py",
        },
        **tail,
    }


def relative_or_abs(path) -> str:
    return publish.relative_to_repo(path)


def _augment(args) -> image_data.Augment:
    return image_data.Augment(
        crop_padding=args.crop_padding,
        flip=not args.no_flip,
        erasing=args.erasing,
    )


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
    command = recipe_command("training.train_image", args)
    if splits is None:
        try:
            splits = image_data.load_splits(
                args.dataset,
                data_dir=args.data_dir,
                val_size=args.val_size,
                image_size=(args.image_size, args.image_size),
                limit=args.limit,
                train_subset=args.train_subset,
                skip_bad_files=args.skip_bad_files,
            )
        except image_data.DatasetNotFoundError:
            raise
        except ValueError as error:
            raise RecipeError(str(error)) from None
    run_dir = Path(args.run_dir)
    prepare_run_dir(run_dir, recipe_of(args), args.fresh)

    keras.utils.set_random_seed(args.seed)
    model = build_model(
        args.model,
        len(splits.class_names),
        args.image_size,
        splits.class_names,
        seed=args.seed,
        dtype_policy=args.dtype_policy,
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
        epoch=resumed_epoch(run_dir / "backup"),
    )
    val_batches = image_data.ImageBatches(
        splits.x_val, splits.y_val, max(args.batch_size, 256), converter
    )
    fitted = fit_run(
        args,
        model,
        train_batches,
        val_batches,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metric=keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        callbacks=callbacks,
        title=f"{args.model} on {splits.name} ({keras.backend.backend()})",
    )
    card = build_card(args, model, splits, command)
    return finish_run(args, model, fitted, card, start)


def main(argv=None) -> int:
    def run(args) -> int:
        print_outputs(train(args))
        return 0

    argv = list(sys.argv[1:] if argv is None else argv)
    return run_main(
        build_parser(),
        resolve,
        run,
        argv,
        (image_data.DatasetNotFoundError,),
    )


if __name__ == "__main__":
    sys.exit(main())
