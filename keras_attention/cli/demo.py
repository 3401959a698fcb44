"""`keras-attention demo`: runs the library's demo, `keras_attention.demo`."""

from __future__ import annotations

from keras_attention.cli.common import EXIT_OK


def _demo(args) -> int:
    from keras_attention import demo

    result = demo.main(list(args.extra_args))
    return result if isinstance(result, int) else EXIT_OK


def add_demo(subparsers) -> None:
    # Every argument after `demo` (--help included) goes to the demo's own
    # parser: see `keras_attention.cli.main`.
    p = subparsers.add_parser(
        "demo",
        help=(
            "pretrained cbam_resnet18 and cbam_cnn10 offline: evaluate, "
            "fine-tune, save and reload, on the samples in the package"
        ),
        add_help=False,
    )
    p.set_defaults(handler=_demo, passes_unknown_args=True)
