"""The `keras-attention` command line.

    keras-attention --version
    keras-attention list [PATTERN] [--task image|audio] [--pretrained]
    keras-attention info NAME [--json]
    keras-attention catalog --write | --check [NAME ...]
    keras-attention download [NAME ...]
    keras-attention demo [ARGS ...]
    keras-attention predict FILE [FILE ...] --model NAME [--weights W]
                            [--top-k 5]
    keras-attention explain FILE --model NAME [--out FIG.png] [--weights W]
                            [--class-index I] [--top-k 3] [--layer L]
    keras-attention convert SOURCE --model NAME --out DIR

A thin layer over the library: each command parses its arguments, calls
the library (`keras_attention.zoo`, `keras_attention.inference`,
`keras_attention.viz.explain`, `keras_attention.demo`) and prints. One
module per command group holds its parsers and handlers: `catalog` (list,
info, catalog), `download`, `predict` (predict, explain), `demo`.

Subcommands are registered in `SUBCOMMANDS`: a name mapped to a function
that receives the argparse sub-parsers object, adds its parser and sets
`handler=<function(args) -> int>` on it. A new subcommand is one more
builder decorated with `@register_subcommand(name)`.

Errors the user can fix (unknown model, a missing, unreadable or corrupt
input or weights file, a failed download, an unusable cache directory,
weights that do not fit) print one line on stderr, naming the file, and
exit with status 2: any ValueError or OSError. `predict` reports each bad
input file on its own line, goes on with the others and exits with 2 at
the end.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

# TensorFlow's C++ start-up logging is noise on a command line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keras_attention.cli import (  # noqa: E402
    catalog,
    convert,
    demo,
    download,
    export,
    predict,
)
from keras_attention.cli.common import (  # noqa: E402
    EXIT_MISMATCH,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    report_error,
)
from keras_attention.version import __version__  # noqa: E402

__all__ = [
    "EXIT_MISMATCH",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "SUBCOMMANDS",
    "build_parser",
    "main",
    "register_subcommand",
]

SubcommandBuilder = Callable[[argparse._SubParsersAction], None]
SUBCOMMANDS: dict[str, SubcommandBuilder] = {
    "list": catalog.add_list,
    "info": catalog.add_info,
    "catalog": catalog.add_catalog,
    "download": download.add_download,
    "demo": demo.add_demo,
    "predict": predict.add_predict,
    "explain": predict.add_explain,
    "export": export.add_export,
    "convert": convert.add_convert,
}


def register_subcommand(name: str):
    """Decorator adding a subcommand builder to `SUBCOMMANDS`.

    The builder receives the sub-parsers object, must add a parser named
    `name` and set its `handler` default to a function `(args) -> int`.
    """

    def decorator(builder: SubcommandBuilder) -> SubcommandBuilder:
        SUBCOMMANDS[name] = builder
        return builder

    return decorator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "SE, CBAM, ECA and BAM attention for Keras 3, and a model zoo."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"{PROG} {__version__}"
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    for builder in SUBCOMMANDS.values():
        builder(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "passes_unknown_args", False):
        args.extra_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.handler(args) or EXIT_OK)
    except (ValueError, OSError, ImportError) as error:
        # InferenceError, the zoo's WeightsIntegrityError (a ValueError)
        # and WeightsDownloadError (an OSError), h5py's and Pillow's
        # OSErrors, FileNotFoundError, PermissionError, and a missing
        # optional extra (ImportError naming the `pip install`)...
        report_error(args.command, error)
        return EXIT_USAGE
