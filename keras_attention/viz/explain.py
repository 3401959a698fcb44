"""`keras-attention explain`: the top predictions of a zoo model for one
image (or audio clip) and a Grad-CAM figure of the top class."""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus")


def _class_names(model, num_classes: int) -> list[str]:
    names = getattr(model, "class_names", None)
    if names and len(names) == num_classes:
        return [str(n) for n in names]
    return [f"class {i}" for i in range(num_classes)]


def _expected_image_size(model) -> tuple[int | None, int | None]:
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4:
        return None, None
    backbone = getattr(model, "backbone", model)
    if getattr(backbone, "data_format", None) == "channels_first":
        return shape[2], shape[3]
    return shape[1], shape[2]


def _load_image(path: Path, model) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("L" if image.mode in ("L", "I", "1") else "RGB")
        height, width = _expected_image_size(model)
        if height and width and image.size != (width, height):
            image = image.resize((width, height), Image.BILINEAR)
        array = np.asarray(image, dtype="float32")
    if array.ndim == 2:
        array = array[..., None]
    return array


def _top_predictions(probs: np.ndarray, names: list[str], k: int = 3):
    order = np.argsort(probs)[::-1][:k]
    return [(int(i), names[int(i)], float(probs[int(i)])) for i in order]


def _probabilities(logits: np.ndarray) -> np.ndarray:
    logits = np.asarray(logits, dtype="float64")
    if np.all(logits >= 0) and np.isclose(logits.sum(), 1.0, atol=1e-3):
        return logits  # already a softmax
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def explain(
    input_path,
    model_name: str,
    out,
    weights="default",
    class_index: int | None = None,
) -> Path:
    """Writes a Grad-CAM figure of `model_name` on one input file.

    Args:
        input_path: An image (PNG, JPEG, ...) or, for audio models, an
            audio file.
        model_name: A zoo model name (see `keras_attention.zoo.list_models`).
        out: The figure's path (`.png` or `.svg`), or a directory to write
            `<input stem>_<model>_gradcam.png` into.
        weights: As for `keras_attention.zoo.load` (a published weights
            name, a local preset directory, a `.weights.h5` file, a URL...).
        class_index: The class to explain; None explains the top
            prediction.

    Returns:
        The path of the written figure, whose title lists the top
        predictions.
    """
    from keras_attention import zoo
    from keras_attention.viz.gradcam import grad_cam
    from keras_attention.viz.plotting import (
        plot_gradcam,
        plot_spectrogram_attention,
    )

    input_path = Path(input_path)
    if not input_path.is_file():
        raise ValueError(f"No such input file: {input_path}")
    model = zoo.load(model_name, weights=weights)
    is_audio = input_path.suffix.lower() in AUDIO_SUFFIXES
    if is_audio:
        from keras_attention.audio.io import load_audio
        from keras_attention.viz.gradcam import _front_end

        found = _front_end(model)
        front = found[1] if found else None
        rate = getattr(front, "sample_rate", None)
        x = load_audio(input_path, sample_rate=rate)[None, :]
    else:
        x = _load_image(input_path, model)[None]
    logits = model.predict(x, verbose=0)
    logits = logits[0] if isinstance(logits, list | tuple) else logits
    logits = np.asarray(keras.ops.convert_to_numpy(logits))[0]
    names = _class_names(model, logits.shape[-1])
    top = _top_predictions(_probabilities(logits), names)
    target = top[0][0] if class_index is None else int(class_index)
    heatmap = grad_cam(model, x, class_index=target)[0]
    ranked = ", ".join(f"{name} {p:.1%}" for _, name, p in top)
    title = f"{model_name}: {ranked}\nGrad-CAM for {names[target]}"
    if is_audio:
        from keras_attention.viz.gradcam import (
            front_end_output,
            prepare_inputs,
        )

        log_mel = front_end_output(model, prepare_inputs(model, x))
        if log_mel is None:
            raise ValueError(
                f"{model_name} has no log-mel front end to plot against."
            )
        fig = plot_spectrogram_attention(
            log_mel[0],
            heatmap,
            sample_rate=getattr(front, "sample_rate", 1),
            hop_length=getattr(front, "hop_length", 1),
            fmin=getattr(front, "fmin", 0.0) or 0.0,
            fmax=getattr(front, "fmax", None)
            or getattr(front, "sample_rate", 2) / 2,
            title=title,
        )
    else:
        fig = plot_gradcam(x[0], heatmap, title=title)
    out = Path(out)
    if out.is_dir() or not out.suffix:
        out.mkdir(parents=True, exist_ok=True)
        out = out / f"{input_path.stem}_{model_name}_gradcam.png"
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    # The title also goes into the file's metadata, where scripts (and the
    # tests) can read the predictions back.
    metadata = {"Title": title.replace("\n", " | ")}
    fig.savefig(out, dpi=120, bbox_inches="tight", metadata=metadata)
    return out


def add_explain_parser(subparsers) -> argparse.ArgumentParser:
    """Adds the `explain` subcommand to an argparse `subparsers` object;
    the handler is stored as the parser's `func` default."""
    parser = subparsers.add_parser(
        "explain",
        help="Grad-CAM figure and top predictions of a zoo model.",
        description=(
            "Runs a zoo model on one image (or audio clip), prints its top "
            "predictions and writes a Grad-CAM figure."
        ),
    )
    parser.add_argument("input", help="image or audio file")
    parser.add_argument("--model", required=True, help="zoo model name")
    parser.add_argument(
        "--out", default=".", help="output figure (.png/.svg) or directory"
    )
    parser.add_argument(
        "--weights",
        default="default",
        help="published weights name, preset directory, .weights.h5 or URL",
    )
    parser.add_argument(
        "--class-index",
        type=int,
        default=None,
        help="class to explain (default: the top prediction)",
    )
    parser.set_defaults(func=run_explain)
    return parser


def run_explain(args: argparse.Namespace) -> int:
    """Handler of `keras-attention explain`."""
    path = explain(
        args.input,
        args.model,
        args.out,
        weights=args.weights,
        class_index=args.class_index,
    )
    print(path)
    return 0
