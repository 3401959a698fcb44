"""Regenerates the documentation figures in `docs/figures/`.

Image part, from the published Fashion-MNIST presets
(`zoo/<model>/fashion_mnist/`) and the bundled sample
`keras_attention/data/samples/fashion_mnist_sample.npz`:
    gradcam_fashion_mnist.png: Grad-CAM of every model on a few test
        images of different classes, with each model's predictions;
    explain_<model>_fashion_mnist.png: `keras-attention explain` figures
        (Grad-CAM and the spatial masks) of the models with spatial
        attention (CBAM, BAM).

Audio part, from the published instrument presets
(`zoo/<model>/instruments/`) and the demo clips in
`keras_attention/data/samples/instruments/`:
    explain_<model>_<clip>.png: the clip's log-mel spectrogram with the
        Grad-CAM heatmap and the spatial masks (time in s, frequency in Hz),
        as `keras-attention explain` draws it; `--num-clips` clips of
        different instrument families.

Missing audio presets or clips are named on stderr and skipped: the image
part still runs and the exit status stays 0 (1 only for an explicit
`--part audio`, or missing image inputs). Every file written is printed.

Usage:
    KERAS_BACKEND=jax python training/make_figures.py [--part image|audio|all]
        [--models cbam_resnet18 ...] [--audio-models cbam_cnn10 ...]
        [--num-images 4] [--num-clips 1] [--out docs/figures]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from training.image_data import FASHION_MNIST_CLASSES  # noqa: E402

SAMPLE = (
    ROOT / "keras_attention" / "data" / "samples" / "fashion_mnist_sample.npz"
)
CLIPS = ROOT / "keras_attention" / "data" / "samples" / "instruments"
DEFAULT_MODELS = ("cbam_resnet18", "bam_resnet18", "se_resnet18")
DEFAULT_AUDIO_MODELS = ("cbam_cnn10", "bam_cnn10", "se_cnn10")
IMAGE_DATASET = "fashion_mnist"
AUDIO_DATASET = "instruments"


def load_sample(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Images `(n, 28, 28, 1)` (0..255) and labels (or None) of the npz."""
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    images = next(
        (arrays[k] for k in ("x", "images", "x_test") if k in arrays), None
    )
    if images is None:
        images = next(a for a in arrays.values() if a.ndim >= 3)
    labels = next(
        (arrays[k] for k in ("y", "labels", "y_test") if k in arrays), None
    )
    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    return images, labels


def distinct_classes(labels: np.ndarray | None, count: int) -> np.ndarray:
    """Indices of the first `count` images of different classes (the first
    `count` images when there are no labels)."""
    if labels is None:
        return np.arange(count)
    _, first = np.unique(labels, return_index=True)
    return np.sort(first)[:count]


def demo_clips(count: int) -> list[Path]:
    """The first `count` demo clips of different instrument families, in
    the order of `demo_clips.csv` (the first files by name without it)."""
    import csv

    from keras_attention.audio.io import AUDIO_EXTENSIONS

    if not CLIPS.is_dir():
        return []
    files = sorted(
        p for p in CLIPS.iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS
    )
    index = CLIPS / "demo_clips.csv"
    if index.is_file():
        by_name = {p.name: p for p in files}
        families, picked = set(), []
        with index.open(newline="") as f:
            for row in csv.DictReader(f):
                path = by_name.get(row.get("filename", ""))
                if path and row.get("family") not in families:
                    families.add(row.get("family"))
                    picked.append(path)
        files = picked or files
    return files[:count]


def _presets(names, dataset: str) -> dict[str, Path]:
    return {name: ROOT / "zoo" / name / dataset for name in names}


def _report(path: Path) -> Path:
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"wrote {shown} ({path.stat().st_size / 1024:.0f} KiB)")
    return path


def _missing(what: str, paths: list, hint: str) -> None:
    print(
        f"make_figures: skipping {what}; missing ({hint}):\n  "
        + "\n  ".join(str(p) for p in paths),
        file=sys.stderr,
    )


def _explain_figures(name: str, loaded, inputs: list[Path], out: Path):
    """`keras-attention explain` figures of one loaded preset (`(model,
    card)`) on `inputs`, as `explain_<model>_<input stem>.png`."""
    from keras_attention.viz.explain import explain_figure, save_figure

    model, card = loaded
    written = []
    for path in inputs:
        fig, title, _ = explain_figure(model, path, name, card)
        target = out / f"explain_{name}_{path.stem}.png"
        written.append(_report(save_figure(fig, target, title)))
    return written


def image_part(args) -> list[Path] | None:
    """The Fashion-MNIST figures; None when inputs are missing."""
    presets = _presets(args.models, IMAGE_DATASET)
    missing = [p for p in presets.values() if not p.is_dir()]
    if not SAMPLE.is_file():
        missing.append(SAMPLE)
    if missing:
        _missing(
            "the image part",
            missing,
            "publish the Fashion-MNIST presets and the sample first",
        )
        return None

    from PIL import Image

    from keras_attention import inference, viz
    from keras_attention.viz.explain import save_figure
    from keras_attention.viz.gradcam import choose_feature_layer

    images, labels = load_sample(SAMPLE)
    chosen = distinct_classes(labels, args.num_images)
    images = images[chosen]
    true = None if labels is None else labels[chosen]
    names = FASHION_MNIST_CLASSES
    written = []
    heatmaps, predictions, spatial = {}, {}, {}
    for name, preset in presets.items():
        model, card = inference.load_classifier(name, str(preset), "explain")
        names = getattr(model, "class_names", None) or names
        layer, size = choose_feature_layer(model, images)
        predicted = np.asarray(model.predict(images, verbose=0)).argmax(-1)
        row = f"{name}\n{layer} ({size[0]}x{size[1]})"
        heatmaps[row] = viz.grad_cam(model, images, layer=layer)
        predictions[row] = [names[int(p)] for p in predicted]
        if true is not None:
            predictions[row] = [
                text + ("" if p == t else " (wrong)")
                for text, p, t in zip(
                    predictions[row], predicted, true, strict=True
                )
            ]
        if any(
            "spatial" in entry
            for entry in viz.attention_maps(model, images[:1]).values()
        ):
            spatial[name] = (model, card)
    title = (
        "Grad-CAM of the predicted class on Fashion-MNIST test images "
        "(top row: true class; above each map: that model's prediction)"
    )
    fig = viz.plot_gradcam_grid(
        images,
        heatmaps,
        column_titles=None if true is None else [names[int(t)] for t in true],
        title=title,
        cell_titles=predictions,
    )
    path = args.out / f"gradcam_{IMAGE_DATASET}.png"
    written.append(_report(save_figure(fig, path, title)))
    with tempfile.TemporaryDirectory() as tmp:
        # The explain figures read an image file, as the command does.
        sample = Path(tmp) / f"{IMAGE_DATASET}.png"
        Image.fromarray(images[0, ..., 0].astype("uint8")).save(sample)
        for name, loaded in spatial.items():
            written += _explain_figures(name, loaded, [sample], args.out)
    return written


def audio_part(args) -> list[Path] | None:
    """The instrument figures; None when no preset or clip is there."""
    from keras_attention import inference
    from keras_attention.audio.io import AUDIO_EXTENSIONS

    presets = _presets(args.audio_models, AUDIO_DATASET)
    clips = demo_clips(args.num_clips)
    missing = [str(p) for p in presets.values() if not p.is_dir()]
    if not clips:
        kinds = ", ".join(AUDIO_EXTENSIONS)
        missing.append(f"{CLIPS}/ (audio clips: {kinds})")
    available = {n: p for n, p in presets.items() if p.is_dir()}
    hint = "publish the instrument presets and the demo clips first"
    if not clips or not available:
        _missing("the audio part", missing, hint)
        return None
    if missing:
        _missing("some audio figures", missing, hint)
    written = []
    for name, preset in available.items():
        loaded = inference.load_classifier(name, str(preset), "explain")
        written += _explain_figures(name, loaded, clips, args.out)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", choices=("image", "audio", "all"), default="all"
    )
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument(
        "--audio-models", nargs="+", default=list(DEFAULT_AUDIO_MODELS)
    )
    parser.add_argument("--num-images", type=int, default=4)
    parser.add_argument(
        "--num-clips", type=int, default=1, help="demo clips per audio model"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    args = parser.parse_args(argv)

    status = 0
    if args.part in ("image", "all") and image_part(args) is None:
        status = 1
    if args.part in ("audio", "all"):
        made = audio_part(args)
        # Audio presets are published later than the image ones: their
        # absence fails only an explicit `--part audio`.
        if made is None and args.part == "audio":
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
