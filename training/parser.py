"""The recipes' shared command line: `recipe_parser`, the run arguments
(optimizer, schedule, precision, outputs) and their checks."""

from __future__ import annotations

import argparse

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


def schedule_text(args) -> str:
    return (
        f"linear warmup over {args.warmup_epochs} epoch(s) to {args.lr}, "
        "then cosine decay to 0"
    )


def check_all(checks) -> None:
    """Raises `RecipeError` with the message of the first failed check."""
    for ok, message in checks:
        if not ok:
            raise RecipeError(message)
