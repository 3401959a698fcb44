"""Explanation figures (what `keras-attention explain` writes): the top
predictions of a zoo model for one image or audio clip, and a figure of
why.

For an image: the input, its Grad-CAM overlay for the explained class and
the spatial masks of the CBAM/BAM blocks (when the model has them). For an
audio clip: its log-mel spectrogram, the Grad-CAM heatmap on the
time-frequency grid and the attention masks, with time in seconds and
frequency in Hz. The figure's title lists the top predictions.

Inputs are checked and loaded as `keras-attention predict` does (see
`keras_attention.inference`): images are resized to the weights' input size,
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

from collections.abc import Callable
from pathlib import Path

import numpy as np

from keras_attention import inference
from keras_attention.atomic import atomic_path

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
        raise inference.InferenceError(
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
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            fig.savefig(
                tmp,
                format=out.suffix[1:].lower(),
                dpi=dpi,
                bbox_inches="tight",
                metadata=metadata,
            )
    except OSError as error:
        raise inference.InferenceError(
            f"Could not write {out}: {error}"
        ) from error
    return out


def _display_image(path: Path, channels: int = 3) -> np.ndarray:
    """The input image, scaled down to at most MAX_DISPLAY_SIZE pixels a
    side (the heatmap is stretched over it, which undoes the resize to the
    model's input size)."""
    return inference.read_image(path, channels, max_size=MAX_DISPLAY_SIZE)


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
        input_path: An image file, or an audio file for an audio model;
            or the `inference.InputFile` that `inference.check_input`
            returned for it (the file is then not checked again).
        name: The model's zoo name (for its task, input shape and title).
        card: The weights' model card (input size, sample rate, class
            names), e.g. from `keras_attention.inference.load_classifier`.
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

    inference.check_top_k(top_k)
    card = card or {}
    if isinstance(input_path, inference.InputFile):
        path, kind = input_path
    else:
        path, kind = inference.check_input(input_path, name)
    batch = inference.load_input(
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
        rate = inference.audio_sample_rate(model, card)
        window = batch.shape[-1]
        per_step = max(1, int(EXPLAIN_SECONDS * rate) // window)
    outputs = model.predict(batch, batch_size=per_step, verbose=0)
    if isinstance(outputs, list | tuple):
        outputs = outputs[0]
    labels = inference.class_labels(
        model, np.shape(outputs)[-1], card, "class {}"
    )
    _, top = inference.top_classes(model, outputs, top_k, labels)
    target = top[0][0] if class_index is None else int(class_index)
    count = len(batch)
    span = slice(0, count)
    if count > per_step and 0 <= target < np.shape(outputs)[-1]:
        scores = inference.probabilities(model, outputs)[:, target]
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
        image = _display_image(path, inference.image_channels(model))
        fig = plot_gradcam(image, heatmaps[0], title, masks=maps, label=label)
    else:
        fig = _audio_figure(
            model, explained, heatmaps, maps, title, name, label, start
        )
    return fig, title, top


def explain_to_file(
    input_path,
    model_name: str,
    out,
    weights="default",
    class_index: int | None = None,
    top_k: int = 3,
    layer: str | None = None,
    note: Callable[[str], object] | None = None,
) -> tuple[Path, list]:
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
        note: Called with a note when the model runs with random weights
            (default: `warnings.warn`; see
            `keras_attention.inference.load_classifier`).

    Returns:
        `(path, top)`: the path of the written figure, whose title (also
        in the file's metadata) lists the top predictions, and those
        predictions as `(index, label, probability)`.

    Raises:
        ValueError: missing or unsuitable input, unknown model, a figure
            path that is not .png/.svg/.pdf, or a class index out of range.
        OSError: unreadable weights, a failed download.
    """
    inference.check_top_k(top_k)
    out = output_path(out, input_path, model_name)
    # Fails on a missing or unsuitable input before loading the model.
    checked = inference.check_input(input_path, model_name)
    model, card = inference.load_classifier(
        model_name, weights, "explain", note=note
    )
    fig, title, top = explain_figure(
        model, checked, model_name, card, class_index, top_k, layer
    )
    return save_figure(fig, out, title), top


def explain(input_path, model_name: str, out, weights="default", **options):
    """Writes an explanation figure of `model_name` on one input file and
    returns its path: `explain_to_file(...)[0]` (see there for the
    arguments, and the keyword options `class_index`, `top_k`, `layer`
    and `note`).

    >>> explain("shirt.png", "cbam_resnet18", "figures/")  # doctest: +SKIP
    PosixPath('figures/shirt_cbam_resnet18_gradcam.png')
    """
    return explain_to_file(input_path, model_name, out, weights, **options)[0]
