"""Regenerates the documentation figures in `docs/figures/`.

Grad-CAM overlays of Fashion-MNIST test images and CBAM spatial-mask grids,
from the published Fashion-MNIST presets (`zoo/<model>/fashion_mnist/`) and
the bundled sample `zoo/samples/fashion_mnist_sample.npz`.

Usage:
    KERAS_BACKEND=jax python training/make_figures.py [--models cbam_resnet18]
        [--num-images 4] [--out docs/figures]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.image_data import FASHION_MNIST_CLASSES  # noqa: E402

SAMPLE = ROOT / "zoo" / "samples" / "fashion_mnist_sample.npz"
DEFAULT_MODELS = ("cbam_resnet18", "bam_resnet18", "se_resnet18")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--num-images", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    args = parser.parse_args(argv)

    presets = {
        name: ROOT / "zoo" / name / "fashion_mnist" for name in args.models
    }
    missing = [str(p) for p in presets.values() if not p.is_dir()]
    if not SAMPLE.is_file():
        missing.append(str(SAMPLE))
    if missing:
        print(
            "make_figures: missing inputs (publish the Fashion-MNIST presets "
            "and the sample first):\n  " + "\n  ".join(missing),
            file=sys.stderr,
        )
        return 1

    from keras_attention import viz, zoo

    images, labels = load_sample(SAMPLE)
    images = images[: args.num_images]
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, preset in presets.items():
        model = zoo.load(name, weights=str(preset))
        names = getattr(model, "class_names", None) or FASHION_MNIST_CLASSES
        heatmaps = viz.grad_cam(model, images)
        logits = np.asarray(model.predict(images, verbose=0))
        for i, (image, heatmap) in enumerate(
            zip(images, heatmaps, strict=True)
        ):
            predicted = names[int(logits[i].argmax())]
            title = f"{name}: predicted {predicted}"
            if labels is not None:
                title += f" (true {names[int(labels[i])]})"
            fig = viz.plot_gradcam(image, heatmap, title=title)
            path = args.out / f"gradcam_{name}_fashion_mnist_{i}.png"
            fig.savefig(path, dpi=110, bbox_inches="tight")
            written.append(path)
        maps = viz.attention_maps(model, images[:1])
        if any("spatial" in entry for entry in maps.values()):
            fig = viz.plot_spatial_masks(maps, image=images[0])
            fig.suptitle(f"{name}: spatial attention masks")
            path = args.out / f"spatial_masks_{name}_fashion_mnist.png"
            fig.savefig(path, dpi=110, bbox_inches="tight")
            written.append(path)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
