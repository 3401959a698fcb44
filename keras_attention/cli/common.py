"""What the commands share: the program name, exit statuses, printing."""

from __future__ import annotations

import sys

from keras_attention.inference import one_line

PROG = "keras-attention"
EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_USAGE = 2

WEIGHTS_HELP = (
    "published weights name, preset directory, .weights.h5 file, URL, or "
    "'none' for random weights (default: the model's default weights)"
)


def report_error(command: str, error) -> None:
    """Prints `error` as one line on stderr."""
    print(f"{PROG} {command}: error: {one_line(error)}", file=sys.stderr)


def print_note(message: str) -> None:
    """Prints a note (e.g. that a model runs with random weights) on
    stderr."""
    print(message, file=sys.stderr)


def print_top(path, top) -> None:
    """Prints `inference.top_classes`'s list under the input's name."""
    print(f"{path}:")
    for rank, (_, label, prob) in enumerate(top, start=1):
        print(f"  {rank}. {label}  {prob:.4f}")
