"""`keras-attention predict` and `explain`: a zoo classifier on image or
audio files (`keras_attention.inference`, `keras_attention.viz.explain`)."""

from __future__ import annotations

from keras_attention.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    WEIGHTS_HELP,
    print_note,
    print_top,
    report_error,
)


def _predict(args) -> int:
    from keras_attention import inference
    from keras_attention.zoo import registry

    registry.get_spec(args.model)
    inference.check_top_k(args.top_k)
    # A bad file is reported on its own line; the others still run.
    failed = 0
    inputs = []
    for file in args.files:
        try:
            inputs.append(inference.check_input(file, args.model))
        except inference.InferenceError as error:
            report_error("predict", error)
            failed += 1
    if not inputs:
        return EXIT_USAGE
    model, card = inference.load_classifier(
        args.model, args.weights, "predict", note=print_note
    )
    for path, kind in inputs:
        try:
            batch = inference.load_input(path, kind, model, card, args.model)
            outputs = model.predict(batch, verbose=0)
        except (ValueError, OSError) as error:
            message = inference.one_line(error)
            if str(path) not in message:
                message = f"{path}: {message}"
            report_error("predict", message)
            failed += 1
            continue
        _, top = inference.top_classes(model, outputs, args.top_k)
        print_top(path, top)
    return EXIT_USAGE if failed else EXIT_OK


def add_predict(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="classify image or audio files",
        description=(
            "Load a zoo model and print the top-k classes of each file. "
            "Images (PNG, JPEG, ...) go through the model's preprocessor; "
            "audio files (.wav, .flac, .ogg, .mp3) need an audio model."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", required=True, help="model name")
    p.add_argument("--weights", default="default", help=WEIGHTS_HELP)
    p.add_argument("--top-k", type=int, default=5)
    p.set_defaults(handler=_predict)


def _explain(args) -> int:
    # Grad-CAM and the figures need the `viz` extra only when this runs.
    from keras_attention.viz.explain import explain_to_file

    path, top = explain_to_file(
        args.input,
        args.model,
        args.out,
        args.weights,
        args.class_index,
        args.top_k,
        args.layer,
        note=print_note,
    )
    print_top(args.input, top)
    print(f"Wrote {path}")
    return EXIT_OK


def add_explain(subparsers) -> None:
    p = subparsers.add_parser(
        "explain",
        help="Grad-CAM and attention-mask figure of a zoo model",
        description=(
            "Run a zoo model on one image or audio clip, print its top "
            "predictions and write a figure: the image's Grad-CAM overlay "
            "and CBAM/BAM spatial masks, or the clip's log-mel spectrogram "
            "with the Grad-CAM heatmap and the masks (seconds, Hz)."
        ),
    )
    p.add_argument("input", metavar="FILE", help="image or audio file")
    p.add_argument("--model", required=True, help="zoo model name")
    p.add_argument(
        "--out",
        default=".",
        metavar="FIG",
        help=(
            "figure to write (.png, .svg or .pdf), or a directory "
            "(default: <input>_<model>_gradcam.png here)"
        ),
    )
    p.add_argument("--weights", default="default", help=WEIGHTS_HELP)
    p.add_argument(
        "--class-index",
        type=int,
        default=None,
        help="class to explain (default: the top prediction)",
    )
    p.add_argument(
        "--top-k", type=int, default=3, help="predictions in the title"
    )
    p.add_argument(
        "--layer",
        default=None,
        help=(
            "Grad-CAM feature layer (default: the deepest with a feature "
            "map of at least 4x4)"
        ),
    )
    p.set_defaults(handler=_explain)
