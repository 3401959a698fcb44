"""Matplotlib figures of Grad-CAM heatmaps and attention maps.

Every function returns a `matplotlib.figure.Figure` that can be saved with
`fig.savefig("x.png")` or `fig.savefig("x.svg")`. When no display is
available and no backend has been chosen, the non-interactive Agg backend
is selected; an interactive user's backend is left alone.
"""

from __future__ import annotations

import os
import sys

import numpy as np


def _pyplot():
    import matplotlib

    headless = not (
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or sys.platform in ("darwin", "win32")
    )
    chosen = "matplotlib.pyplot" in sys.modules or os.environ.get("MPLBACKEND")
    if headless and not chosen:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _new_figure(nrows=1, ncols=1, size=(4.0, 4.0), **kwargs):
    from matplotlib.figure import Figure

    # A bare Figure (not pyplot.figure) is not tracked by pyplot, so figures
    # made in a loop do not pile up; it still saves to PNG/SVG and displays
    # in notebooks.
    _pyplot()
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def _as_image(image) -> tuple[np.ndarray, str | None]:
    """An (H, W) or (H, W, 3) float image in [0, 1] and its colormap."""
    img = np.asarray(image, dtype="float32")
    if (
        img.ndim == 3
        and img.shape[0] in (1, 3)
        and img.shape[-1]
        not in (
            1,
            3,
        )
    ):
        img = np.moveaxis(img, 0, -1)  # channels first
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] != 3):
        raise ValueError(
            f"Expected an image of shape (H, W), (H, W, 1) or (H, W, 3). "
            f"Received: shape={np.shape(image)}"
        )
    low, high = float(img.min()), float(img.max())
    img = (img - low) / (high - low) if high > low else np.zeros_like(img)
    return img, ("gray" if img.ndim == 2 else None)


def plot_gradcam(image, heatmap, title: str | None = None, alpha: float = 0.5):
    """The image with the Grad-CAM `heatmap` (H, W) overlaid (jet colormap).

    Grayscale images (`(H, W)` or `(H, W, 1)`) are shown in gray under the
    heatmap; a heatmap of another size is stretched over the image.
    """
    img, cmap = _as_image(image)
    heat = np.asarray(heatmap, dtype="float32")
    if heat.ndim != 2:
        raise ValueError(
            f"Expected a heatmap of shape (H, W). Received: shape={heat.shape}"
        )
    fig, axes = _new_figure(1, 2, size=(3.2, 3.4))
    height, width = img.shape[:2]
    extent = (0, width, height, 0)
    axes[0, 0].imshow(img, cmap=cmap, extent=extent)
    axes[0, 0].set_title("input")
    axes[0, 1].imshow(img, cmap=cmap, extent=extent)
    im = axes[0, 1].imshow(
        heat, cmap="jet", alpha=alpha, vmin=0, vmax=1, extent=extent
    )
    axes[0, 1].set_title("Grad-CAM")
    for ax in axes[0]:
        ax.axis("off")
    fig.colorbar(im, ax=axes[0, 1], fraction=0.046, pad=0.04)
    if title:
        fig.suptitle(title)
    return fig


def mel_band_centres(
    n_mels: int, fmin: float, fmax: float, mel_scale: str = "slaney"
) -> np.ndarray:
    """Centre frequencies (Hz) of `n_mels` mel bands between fmin and fmax."""
    from keras_attention.layers.log_mel import hz_to_mel, mel_to_hz

    mels = np.linspace(
        hz_to_mel(fmin, mel_scale), hz_to_mel(fmax, mel_scale), n_mels + 2
    )
    return np.asarray(mel_to_hz(mels, mel_scale))[1:-1]


def plot_spectrogram_attention(
    log_mel,
    heatmap_or_mask,
    sample_rate: int,
    hop_length: int,
    fmin: float,
    fmax: float,
    title: str | None = None,
):
    """A log-mel spectrogram `(frames, mels)` beside the same spectrogram
    overlaid with a Grad-CAM heatmap or attention mask.

    Time is in seconds (`frame * hop_length / sample_rate`); the frequency
    axis is labelled with the mel bands' centre frequencies in Hz.
    """
    spec = np.asarray(log_mel, dtype="float32")
    if spec.ndim == 3 and spec.shape[-1] == 1:
        spec = spec[..., 0]
    heat = np.asarray(heatmap_or_mask, dtype="float32")
    if heat.ndim == 3 and heat.shape[-1] == 1:
        heat = heat[..., 0]
    if spec.ndim != 2 or heat.ndim != 2:
        raise ValueError(
            f"Expected a log-mel spectrogram and a map of shape (frames, "
            f"mels). Received: shapes {spec.shape} and {heat.shape}"
        )
    frames, n_mels = spec.shape
    duration = frames * hop_length / sample_rate
    centres = mel_band_centres(n_mels, fmin, fmax)
    fig, axes = _new_figure(1, 2, size=(5.0, 3.6))
    extent = (0.0, duration, 0.0, float(n_mels))
    for ax in axes[0]:
        ax.imshow(
            spec.T,
            origin="lower",
            aspect="auto",
            cmap="magma",
            extent=extent,
        )
        ticks = np.unique(np.linspace(0, n_mels - 1, min(n_mels, 6)).round())
        ax.set_yticks(ticks + 0.5)
        ax.set_yticklabels([f"{centres[int(t)]:.0f}" for t in ticks])
        ax.set_xlabel("time (s)")
        ax.set_ylabel("frequency (Hz)")
    axes[0, 0].set_title("log-mel")
    im = axes[0, 1].imshow(
        heat.T,
        origin="lower",
        aspect="auto",
        cmap="jet",
        alpha=0.5,
        vmin=0,
        vmax=1,
        extent=extent,
    )
    axes[0, 1].set_title("attention")
    fig.colorbar(im, ax=axes[0, 1], fraction=0.046, pad=0.04)
    if title:
        fig.suptitle(title)
    return fig


def _grid(n: int, max_cols: int) -> tuple[int, int]:
    cols = max(1, min(n, max_cols))
    return (n + cols - 1) // cols, cols


def plot_spatial_masks(maps: dict, image=None, max_cols: int = 4):
    """A grid of the per-block spatial masks of one example.

    Args:
        maps: `attention_maps(...)` output; entries without a "spatial" map
            are skipped. Batched maps show their first example.
        image: Optional image shown first and under every mask.
        max_cols: Most panels per row.
    """
    masks = {}
    for name, entry in maps.items():
        if "spatial" in entry:
            mask = np.asarray(entry["spatial"], dtype="float32")
            masks[name] = mask[0] if mask.ndim == 3 else mask
    if not masks:
        raise ValueError("No spatial masks in `maps` (channel-only layers?)")
    img, cmap = (None, None) if image is None else _as_image(image)
    n = len(masks) + (img is not None)
    rows, cols = _grid(n, max_cols)
    fig, axes = _new_figure(rows, cols, size=(2.6, 2.6))
    panels = list(axes.flat)
    if img is not None:
        panels[0].imshow(img, cmap=cmap)
        panels[0].set_title("input", fontsize=8)
        panels = panels[1:]
    for ax, (name, mask) in zip(panels, masks.items(), strict=False):
        if img is not None:
            h, w = img.shape[:2]
            ax.imshow(img, cmap=cmap, extent=(0, w, h, 0))
            ax.imshow(
                mask, cmap="jet", alpha=0.5, vmin=0, vmax=1, extent=(0, w, h, 0)
            )
        else:
            ax.imshow(mask, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(f"{name}\n{mask.shape[0]}x{mask.shape[1]}", fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    return fig


def plot_channel_weights(maps: dict, layers=None):
    """Channel weights per layer: one panel per layer, the batch mean as
    bars with the per-example range shaded.

    Args:
        maps: `attention_maps(...)` output; entries without a "channel"
            map are skipped.
        layers: Optional list of layer names to show (in that order).
    """
    names = list(layers) if layers is not None else list(maps)
    unknown = [n for n in names if n not in maps]
    if unknown:
        raise ValueError(f"Unknown layers {unknown}. Available: {list(maps)}")
    weights = {
        n: np.asarray(maps[n]["channel"], dtype="float32").reshape(
            -1, np.shape(maps[n]["channel"])[-1]
        )
        for n in names
        if "channel" in maps[n]
    }
    if not weights:
        raise ValueError("No channel weights in `maps` (spatial-only?)")
    fig, axes = _new_figure(len(weights), 1, size=(6.0, 1.6))
    for ax, (name, w) in zip(axes[:, 0], weights.items(), strict=True):
        idx = np.arange(w.shape[1])
        ax.bar(idx, w.mean(axis=0), width=1.0, color="tab:blue")
        if w.shape[0] > 1:
            ax.fill_between(
                idx,
                w.min(axis=0),
                w.max(axis=0),
                color="tab:orange",
                alpha=0.3,
                step="mid",
            )
        ax.set_ylim(0, 1)
        ax.set_xlim(-0.5, w.shape[1] - 0.5)
        ax.set_ylabel("weight")
        ax.set_title(name, fontsize=8)
    axes[-1, 0].set_xlabel("channel")
    fig.tight_layout()
    return fig
