"""`keras-attention explain`: the top predictions of a zoo model for one
image or audio clip, and a figure of why.

For an image: the input, its Grad-CAM overlay for the explained class and
the spatial masks of the CBAM/BAM blocks (when the model has them). For an
audio clip: its log-mel spectrogram, the Grad-CAM heatmap on the
time-frequency grid and the attention masks, with time in seconds and
frequency in Hz. The figure's title lists the top predictions.

Inputs are checked and loaded as `keras-attention predict` does (see
`keras_attention.cli`): images are resized to the weights' input size,
audio is decoded and resampled to the model's sample rate.

Memory stays bounded whatever the input's size: the figure shows the image
scaled down to at most `MAX_DISPLAY_SIZE` pixels a side (a model that
takes any size gets it at that size too), and a clip longer than
`EXPLAIN_SECONDS` is predicted window by window (as `predict` does for a
fixed-length model; a model that takes any length gets windows of
`EXPLAIN_SECONDS`), the title's predictions averaged over the windows, and
only the `EXPLAIN_SECONDS` span that scores highest for the explained
class gets Grad-CAM, masks and the spectrogram; the title says which span.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from keras_attention import cli

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
# The longest side (pixels) of the image the figure shows; the figure's
# panels are a few hundred pixels wide.
MAX_DISPLAY_SIZE = 1024
# The longest span of audio (seconds) explained, and held at once.
EXPLAIN_SECONDS = 10.0


def output_path(out, input_path, model_name: str) -> Path:
    """The figure's path: `out` itself (a .png, .svg or .pdf file), or
    `<input stem>_<model>_gradcam.png` in `out` when it is a directory (or
    has no suffix)."""
    out = Path(out)
    if out.is_dir() or not out.suffix:
        return out / f"{Path(input_path).stem}_{model_name}_gradcam.png"
    if out.suffix.lower() not in FIGURE_SUFFIXES:
        raise cli.CLIError(
            f"Cannot write a figure to {out}: expected a "
            f"{', '.join(FIGURE_SUFFIXES)} file or a directory."
        )
    return out


def save_figure(fig, out, title: str | None = None, dpi: int = 110) -> Path:
    """Saves `fig` to `out` atomically: written to a temporary file beside
    it, then renamed, so a failed write leaves no partial figure (and an
    older figure at `out` intact). The title goes into the file's
    metadata, where scripts can read the predictions back."""
    out = Path(out)
    metadata = {"Title": title.replace("\n", " | ")} if title else None
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{out.stem}.", suffix=out.suffix, dir=out.parent
        )
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's files are private
        fig.savefig(
            tmp,
            format=out.suffix[1:].lower(),
            dpi=dpi,
            bbox_inches="tight",
            metadata=metadata,
        )
        os.replace(tmp, out)
    except OSError as error:
        raise cli.CLIError(f"Could not write {out}: {error}") from error
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _display_image(path: Path, channels: int = 3) -> np.ndarray:
    """The input image, scaled down to at most MAX_DISPLAY_SIZE pixels a
    side (the heatmap is stretched over it, which undoes the resize to the
    model's input size)."""
    return cli.read_image(path, channels, max_size=MAX_DISPLAY_SIZE)


def _join_windows(values: np.ndarray) -> np.ndarray:
    """`(windows, frames, ...)` -> `(windows * frames, ...)`: consecutive
    audio windows side by side on the time axis."""
    return np.concatenate(list(values), axis=0)


def _best_span(scores: np.ndarray, count: int) -> slice:
    """The `count` consecutive windows with the highest total score."""
    count = max(1, min(count, len(scores)))
    totals = np.convolve(scores, np.ones(count), mode="valid")
    start = int(np.argmax(totals))
    return slice(start, start + count)


def _audio_figure(model, batch, heatmaps, maps, title, name, label, start):
    from keras_attention.viz.gradcam import (
        _front_end,
        front_end_output,
        prepare_inputs,
    )
    from keras_attention.viz.plotting import plot_spectrogram_attention

    found = _front_end(model)
    if found is None:
        raise ValueError(f"{name} has no log-mel front end to plot against.")
    front = found[1]
    log_mel = front_end_output(model, prepare_inputs(model, batch))
    masks = {
        layer: {"spatial": _join_windows(entry["spatial"])}
        for layer, entry in (maps or {}).items()
        if "spatial" in entry
    }
    return plot_spectrogram_attention(
        _join_windows(log_mel),
        _join_windows(heatmaps),
        sample_rate=front.sample_rate,
        hop_length=front.hop_length,
        fmin=front.fmin,
        fmax=front.fmax or front.sample_rate / 2,
        mel_scale=front.mel_scale,
        title=title,
        masks=masks,
        label=label,
        time_offset=start,
    )


def explain_figure(
    model,
    input_path,
    name: str,
    card: dict | None = None,
    class_index: int | None = None,
    top_k: int = 3,
    layer: str | None = None,
):
    """The explanation figure of a loaded zoo model on one input file.

    Args:
        model: A classifier from `keras_attention.zoo.load(name, ...)`.
        input_path: An image file, or an audio file for an audio model.
        name: The model's zoo name (for its task, input shape and title).
        card: The weights' model card (input size, sample rate, class
            names), e.g. from `keras_attention.cli.load_classifier`.
        class_index: The class to explain; None explains the top
            prediction.
        top_k: How many predictions the title lists.
        layer: The Grad-CAM feature layer; None picks the deepest one
            with a feature map of at least 4x4 (see
            `keras_attention.viz.gradcam.choose_feature_layer`).

    Returns:
        `(figure, title, top)`: the matplotlib figure, its title and the
        top predictions as `(index, label, probability)`.
    """
    from keras_attention.viz.attention_maps import (
        attention_maps,
        find_attention_layers,
    )
    from keras_attention.viz.gradcam import choose_feature_layer, grad_cam
    from keras_attention.viz.plotting import plot_gradcam

    cli.check_top_k(top_k)
    card = card or {}
    path, kind = cli.check_input(input_path, name)
    batch = cli.load_input(
        path,
        kind,
        model,
        card,
        name,
        max_size=MAX_DISPLAY_SIZE,
        window_seconds=EXPLAIN_SECONDS,
    )
    rate = window = per_step = 1
    if kind == "audio":
        # Windows go through the model EXPLAIN_SECONDS at a time.
        rate = cli._audio_sample_rate(model, card)
        window = batch.shape[-1]
        per_step = max(1, int(EXPLAIN_SECONDS * rate) // window)
    outputs = model.predict(batch, batch_size=per_step, verbose=0)
    if isinstance(outputs, list | tuple):
        outputs = outputs[0]
    labels = cli.class_labels(model, np.shape(outputs)[-1], card, "class {}")
    _, top = cli.top_classes(model, outputs, top_k, labels)
    target = top[0][0] if class_index is None else int(class_index)
    count = len(batch)
    span = slice(0, count)
    if count > per_step and 0 <= target < np.shape(outputs)[-1]:
        scores = cli._probabilities(model, outputs)[:, target]
        span = _best_span(scores, per_step)
    explained = batch[span]
    del batch, outputs  # the whole clip is not needed any more
    if layer is None:
        layer, (height, width) = choose_feature_layer(model, explained)
        label = f"Grad-CAM at {layer} ({height}x{width})"
    else:
        label = f"Grad-CAM at {layer}"
    # Checks `class_index` against the number of classes.
    heatmaps = grad_cam(model, explained, class_index=target, layer=layer)
    ranked = ", ".join(f"{label} {prob:.1%}" for _, label, prob in top)
    title = f"{name}: {ranked}\nGrad-CAM for {labels[target]}"
    start = span.start * window / rate
    if len(explained) < count:
        title += (
            f" on {start:.1f}-{span.stop * window / rate:.1f} s, the "
            f"highest-scoring {EXPLAIN_SECONDS:g} s of "
            f"{count * window / rate:.1f} s ({count} windows)"
        )
    maps = (
        attention_maps(model, explained) if find_attention_layers(model) else {}
    )
    if kind == "image":
        image = _display_image(path, cli.image_channels(model))
        fig = plot_gradcam(image, heatmaps[0], title, masks=maps, label=label)
    else:
        fig = _audio_figure(
            model, explained, heatmaps, maps, title, name, label, start
        )
    return fig, title, top


def _explain(input_path, model_name, out, weights, class_index, top_k, layer):
    cli.check_top_k(top_k)
    out = output_path(out, input_path, model_name)
    # Fails on a missing or unsuitable input before loading the model.
    cli.check_input(input_path, model_name)
    model, card = cli.load_classifier(model_name, weights, "explain")
    fig, title, top = explain_figure(
        model, input_path, model_name, card, class_index, top_k, layer
    )
    return save_figure(fig, out, title), top


def explain(
    input_path,
    model_name: str,
    out,
    weights="default",
    class_index: int | None = None,
    top_k: int = 3,
    layer: str | None = None,
) -> Path:
    """Writes an explanation figure of `model_name` on one input file.

    Args:
        input_path: An image (PNG, JPEG, ...) or, for audio models, an
            audio file (WAV, FLAC, OGG, ...).
        model_name: A zoo model name (see `keras_attention.zoo.list_models`).
        out: The figure's path (`.png`, `.svg` or `.pdf`), or a directory to
            write `<input stem>_<model>_gradcam.png` into.
        weights: As for `keras_attention.zoo.load` (a published weights
            name, a local preset directory, a `.weights.h5` file, a URL...);
            None or "none" for random initialisation.
        class_index: The class to explain; None explains the top
            prediction.
        top_k: How many predictions the title lists.
        layer: The Grad-CAM feature layer (default: the deepest with a
            feature map of at least 4x4).

    Returns:
        The path of the written figure, whose title (also in the file's
        metadata) lists the top predictions.

    Raises:
        ValueError: missing or unsuitable input, unknown model, a figure
            path that is not .png/.svg/.pdf, or a class index out of range.
    """
    return _explain(
        input_path, model_name, out, weights, class_index, top_k, layer
    )[0]


def add_explain_parser(subparsers) -> argparse.ArgumentParser:
    """Adds the `explain` subcommand to an argparse `subparsers` object;
    its handler is the parser's `handler` default (see
    `keras_attention.cli`)."""
    parser = subparsers.add_parser(
        "explain",
        help="Grad-CAM and attention-mask figure of a zoo model",
        description=(
            "Run a zoo model on one image or audio clip, print its top "
            "predictions and write a figure: the image's Grad-CAM overlay "
            "and CBAM/BAM spatial masks, or the clip's log-mel spectrogram "
            "with the Grad-CAM heatmap and the masks (seconds, Hz)."
        ),
    )
    parser.add_argument("input", metavar="FILE", help="image or audio file")
    parser.add_argument("--model", required=True, help="zoo model name")
    parser.add_argument(
        "--out",
        default=".",
        metavar="FIG",
        help=(
            "figure to write (.png, .svg or .pdf), or a directory "
            "(default: <input>_<model>_gradcam.png here)"
        ),
    )
    parser.add_argument("--weights", default="default", help=cli.WEIGHTS_HELP)
    parser.add_argument(
        "--class-index",
        type=int,
        default=None,
        help="class to explain (default: the top prediction)",
    )
    parser.add_argument(
        "--top-k", type=int, default=3, help="predictions in the title"
    )
    parser.add_argument(
        "--layer",
        default=None,
        help=(
            "Grad-CAM feature layer (default: the deepest with a feature "
            "map of at least 4x4)"
        ),
    )
    parser.set_defaults(handler=run_explain)
    return parser


def run_explain(args: argparse.Namespace) -> int:
    """Handler of `keras-attention explain`."""
    path, top = _explain(
        args.input,
        args.model,
        args.out,
        args.weights,
        args.class_index,
        args.top_k,
        args.layer,
    )
    cli.print_top(args.input, top)
    print(f"Wrote {path}")
    return cli.EXIT_OK
