"""`keras-attention export`: a zoo model as a SavedModel, TFLite or ONNX
file, checked against Keras (`keras_attention.export`)."""

from __future__ import annotations

from keras_attention.cli.common import EXIT_OK, WEIGHTS_HELP


def _export(args) -> int:
    from keras_attention.export import export

    weights = None if args.weights.lower() == "none" else args.weights
    result = export(args.model, args.out, args.format, weights=weights)
    takes = "preprocessed images" if result.kind == "image" else "waveforms"
    shape = ", ".join(str(d) for d in result.input_shape[1:])
    print(
        f"Wrote {result.path} ({result.format}, {result.backend} backend); "
        f"it takes {takes}; checked on (2, {shape}): largest difference "
        f"from Keras: {result.max_difference:.3g}"
    )
    return EXIT_OK


def add_export(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a zoo model as SavedModel, TFLite or ONNX",
        description=(
            "Export a zoo model, load the artefact back and compare its "
            "outputs with Keras on a random batch; the file is written "
            "only if they agree within 1e-4. Image artefacts take "
            "preprocessed images (apply the model's preprocessor), audio "
            "artefacts the raw waveform. A format that cannot work on the "
            "current backend is refused before anything is written."
        ),
    )
    p.add_argument("model", metavar="NAME", help="zoo model name")
    p.add_argument(
        "--format", required=True, help="saved_model, tflite or onnx"
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="a folder (saved_model) or a .tflite / .onnx file",
    )
    p.add_argument("--weights", default="default", help=WEIGHTS_HELP)
    p.set_defaults(handler=_export)
