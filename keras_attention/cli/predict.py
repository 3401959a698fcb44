"""`keras-attention predict` and `explain`: a zoo classifier on image or
audio files (`keras_attention.inference`, `keras_attention.viz.explain`)."""

from __future__ import annotations

import math

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
    seconds = args.window_seconds
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        report_error(
            "predict",
            f"Expected --window-seconds > 0. Received: {seconds}",
        )
        return EXIT_USAGE
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
            batch = inference.load_input(
                path,
                kind,
                model,
                card,
                args.model,
                window_seconds=_window(args, model),
            )
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
        if args.frames and kind == "audio":
            _print_frames(model, card, batch, outputs, args.top_k)
    return EXIT_USAGE if failed else EXIT_OK


def _window(args, model) -> float | None:
    """Seconds per window of a clip: `--window-seconds`, else with
    `--frames` the model's own clip length; None: the whole clip."""
    if args.window_seconds is not None:
        return args.window_seconds
    return getattr(model, "clip_seconds", None) if args.frames else None


def _print_frames(model, card, batch, outputs, top_k: int) -> None:
    """The top-k of each window of a clip, with its start and end."""
    from keras_attention import inference

    seconds = batch.shape[1] / inference.audio_sample_rate(model, card)
    print(f"  frames ({seconds:.2f} s windows):")
    for start, end, top in inference.frame_classes(
        model, outputs, top_k, seconds
    ):
        tags = ", ".join(f"{label} {score:.4f}" for _, label, score in top)
        print(f"    {start:.2f}-{end:.2f} s: {tags}")


def add_predict(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="classify image or audio files",
        description=(
            "Load a zoo model and print the top-k classes of each file "
            "(tags, each scored on its own, for a multi-label model such "
            "as a converted PANNs CNN). "
            "Images (PNG, JPEG, ...) go through the model's preprocessor; "
            "audio files (.wav, .flac, .ogg, .mp3) need an audio model."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", required=True, help="model name")
    p.add_argument("--weights", default="default", help=WEIGHTS_HELP)
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument(
        "--frames",
        action="store_true",
        help=(
            "audio: also print the top-k of every window of the clip "
            "(frame-wise scores, for sound event detection)"
        ),
    )
    p.add_argument(
        "--window-seconds",
        type=float,
        default=None,
        metavar="S",
        help=(
            "audio: cut clips into windows of S seconds (default: the "
            "model's input length when fixed; with --frames the model's "
            "clip length; else the whole clip)"
        ),
    )
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
