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


def _new_figure(nrows=1, ncols=1, size=(4.0, 4.0), extra=0.0, **kwargs):
    from matplotlib.figure import Figure

    # A bare Figure (not pyplot.figure) is not tracked by pyplot, so figures
    # made in a loop do not pile up; it still saves to PNG/SVG and displays
    # in notebooks. The constrained layout keeps titles, a wrapped
    # suptitle and colour bars from overlapping.
    _pyplot()
    # `extra` inches of height hold a suptitle and a colour bar below.
    fig = Figure(
        figsize=(size[0] * ncols, size[1] * nrows + extra),
        layout="constrained",
    )
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def _panels(count: int, max_cols: int, size, extra: float = 0.0):
    """A figure with `count` panels in rows of at most `max_cols`; the
    unused cells of the last row are hidden."""
    rows, cols = _grid(count, max_cols)
    fig, axes = _new_figure(rows, cols, size=size, extra=extra)
    panels = list(axes.flat)
    for ax in panels[count:]:
        ax.set_visible(False)
    return fig, panels[:count]


def _suptitle(fig, title: str | None, fontsize: float = 11.0) -> None:
    """The figure title, each line wrapped to the figure's width."""
    if not title:
        return
    import textwrap

    chars = max(30, int(fig.get_figwidth() * 72 / (0.6 * fontsize)))
    lines = [
        textwrap.fill(line, chars, break_on_hyphens=False)
        for line in str(title).splitlines()
    ]
    fig.suptitle("\n".join(lines), fontsize=fontsize)


# Height (inches) a figure gets for a suptitle and a colour bar below.
_BOTTOM_BAR_EXTRA = 0.8


def _colorbar(fig, image, axes, label: str, location: str = "right") -> None:
    """A colour bar for all `axes`: on the right, or below them over 60% of
    their width (room for a long label). A thin bar below (small
    `fraction`, large `aspect`) breaks the constrained layout of square
    image panels: titles then overlap the panels above them."""
    if location == "right":
        kwargs = {"fraction": 0.05, "shrink": 0.9, "aspect": 30}
    else:
        kwargs = {"shrink": 0.6, "aspect": 30}
    bar = fig.colorbar(image, ax=axes, location=location, pad=0.02, **kwargs)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)


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


def _as_map(values, what: str = "heatmap") -> np.ndarray:
    heat = np.asarray(values, dtype="float32")
    if heat.ndim == 3 and heat.shape[-1] == 1:
        heat = heat[..., 0]
    if heat.ndim != 2:
        raise ValueError(
            f"Expected a {what} of shape (H, W). Received: shape={heat.shape}"
        )
    return heat


# Grad-CAM heatmaps are normalised to [0, 1]; attention masks are
# stretched over their own range (see `_scaled_mask`). Both are drawn in jet.
_CAM_STYLE = {"cmap": "jet", "vmin": 0.0, "vmax": 1.0}
MIN_MASK_SPAN = 0.1
_MASKS_SCALE = (
    f"masks: min to max (a span of at least {MIN_MASK_SPAN:g}, centred), "
    "the range in each title"
)
_MASKS_LABEL = f"Grad-CAM (0 to peak); {_MASKS_SCALE}"


def _scaled_mask(mask: np.ndarray) -> tuple[np.ndarray, float, float]:
    """`(mask scaled to [0, 1], min, max)`. A trained CBAM's sigmoid masks
    often stay within a few hundredths of 0.5, which a fixed [0, 1] scale
    shows as one flat colour: each mask is stretched from its min to its
    max, over a span of at least MIN_MASK_SPAN (centred on the mask's
    range) so that a practically flat mask stays flat."""
    low, high = float(mask.min()), float(mask.max())
    span = max(high - low, MIN_MASK_SPAN)
    start = (low + high - span) / 2
    return (mask - start) / span, low, high


def _image_overlay(ax, img, cmap, heat=None, alpha=0.5):
    """`img` with `heat` (any size, stretched over it) on top in the jet
    colormap over [0, 1]; returns the overlay's AxesImage (None without
    `heat`)."""
    height, width = img.shape[:2]
    extent = (0, width, height, 0)
    ax.imshow(img, cmap=cmap, extent=extent, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if heat is None:
        return None
    return ax.imshow(
        heat, alpha=alpha, extent=extent, interpolation="nearest", **_CAM_STYLE
    )


def _spatial_masks(maps: dict | None) -> dict[str, np.ndarray]:
    """The (first example's) spatial mask of each entry of
    `attention_maps(...)` output that has one. 1x1 masks (the last stages
    of a network on a small input) hold a single number and are left
    out."""
    masks = {}
    for name, entry in (maps or {}).items():
        if "spatial" in entry:
            mask = np.asarray(entry["spatial"], dtype="float32")
            mask = mask[0] if mask.ndim == 3 else mask
            if mask.size > 1:
                masks[name] = mask
    return masks


def _mask_title(name: str, mask: np.ndarray, low: float, high: float):
    return f"{name}\n{mask.shape[0]}x{mask.shape[1]} mask, {low:.2f}-{high:.2f}"


def plot_gradcam(
    image,
    heatmap,
    title: str | None = None,
    alpha: float = 0.5,
    masks: dict | None = None,
    max_cols: int = 5,
    label: str = "Grad-CAM",
):
    """The image with the Grad-CAM `heatmap` (H, W) overlaid (jet colormap).

    Grayscale images (`(H, W)` or `(H, W, 1)`) are shown in gray under the
    heatmap; a heatmap of another size is stretched over the image.

    Args:
        image: The input image.
        heatmap: The Grad-CAM heatmap in [0, 1].
        title: Figure title (long lines are wrapped).
        alpha: Opacity of the heatmap and masks.
        masks: Optional `attention_maps(...)` output: each spatial mask
            (CBAM, BAM; 1x1 ones left out) gets one more panel over the
            image, stretched from its min to its max (see `MIN_MASK_SPAN`).
        max_cols: Most panels per row.
        label: Title of the heatmap's panel.
    """
    img, cmap = _as_image(image)
    heat = _as_map(heatmap)
    spatial = _spatial_masks(masks)
    fig, panels = _panels(
        2 + len(spatial), max_cols, (2.3, 2.5), _BOTTOM_BAR_EXTRA
    )
    _image_overlay(panels[0], img, cmap)
    panels[0].set_title("input", fontsize=9)
    im = _image_overlay(panels[1], img, cmap, heat, alpha)
    panels[1].set_title(label, fontsize=8)
    for ax, (name, mask) in zip(panels[2:], spatial.items(), strict=True):
        scaled, low, high = _scaled_mask(mask)
        _image_overlay(ax, img, cmap, scaled, alpha)
        ax.set_title(_mask_title(name, mask, low, high), fontsize=7)
    bar_label = _MASKS_LABEL if spatial else "Grad-CAM"
    _colorbar(fig, im, panels, bar_label, location="bottom")
    _suptitle(fig, title)
    return fig


def plot_gradcam_grid(
    images,
    heatmaps,
    column_titles=None,
    title: str | None = None,
    alpha: float = 0.5,
    cell_titles: dict | None = None,
):
    """Grad-CAM heatmaps of several images, and of several models.

    Args:
        images: A batch of N images, shown in the first row.
        heatmaps: `(N, H, W)` heatmaps, or `{row label: (N, H, W)}` (e.g.
            one entry per model): one row of overlays per entry.
        column_titles: Optional N titles of the input row (e.g. labels).
        title: Figure title.
        alpha: Opacity of the heatmaps.
        cell_titles: Optional `{row label: N titles}` of the overlays
            (e.g. each model's predictions).
    """
    rows = heatmaps if isinstance(heatmaps, dict) else {"Grad-CAM": heatmaps}
    images = list(images)
    for label, maps in rows.items():
        if len(maps) != len(images):
            raise ValueError(
                f"Expected {len(images)} heatmaps for {label!r} (one per "
                f"image). Received: {len(maps)}"
            )
    fig, axes = _new_figure(1 + len(rows), len(images), size=(1.9, 1.9))
    im = None
    for col, image in enumerate(images):
        img, cmap = _as_image(image)
        _image_overlay(axes[0, col], img, cmap)
        if column_titles is not None:
            axes[0, col].set_title(str(column_titles[col]), fontsize=8)
        for row, (label, maps) in enumerate(rows.items(), start=1):
            heat = _as_map(maps[col])
            im = _image_overlay(axes[row, col], img, cmap, heat, alpha)
            if cell_titles and label in cell_titles:
                axes[row, col].set_title(cell_titles[label][col], fontsize=7)
    axes[0, 0].set_ylabel("input", fontsize=8)
    for row, label in enumerate(rows, start=1):
        axes[row, 0].set_ylabel(str(label), fontsize=8)
    _colorbar(fig, im, axes[1:, :], "Grad-CAM")
    _suptitle(fig, title)
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


_ROUND_HZ = (50, 100, 200, 500, 1000, 2000, 4000, 8000, 16000, 32000)


def _frequency_ticks(centres: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Y positions (in mel bands, band i spanning [i, i + 1]) and labels
    of round frequencies between the first and last band centres; the
    centres themselves when fewer than three round ones fit."""
    rows = np.arange(len(centres)) + 0.5
    hz = [f for f in _ROUND_HZ if centres[0] <= f <= centres[-1]]
    # From the top down, a tick at least a tenth of the axis below the
    # last one (100 and 200 Hz are close on a mel axis).
    kept, positions = [], []
    for f, y in zip(hz[::-1], np.interp(hz[::-1], centres, rows), strict=True):
        if not positions or positions[-1] - y >= len(centres) / 10:
            kept.append(f)
            positions.append(y)
    if len(kept) < 3:
        picks = np.unique(np.linspace(0, len(centres) - 1, 6).round())
        picks = picks.astype(int)[: len(centres)]
        return rows[picks], [f"{centres[i]:.0f}" for i in picks]
    return np.asarray(positions[::-1]), [str(f) for f in kept[::-1]]


def _spectrogram_panel(ax, spec, extent, centres, cmap="magma"):
    """The log-mel `spec` (frames, mels) with time in seconds on x and the
    frequency in Hz on y (the mel bands' centres give the scale)."""
    ax.imshow(spec.T, origin="lower", aspect="auto", cmap=cmap, extent=extent)
    ticks, labels = _frequency_ticks(centres)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels)
    ax.tick_params(labelsize=7)


def _spectrogram_overlay(ax, values, extent, alpha=0.5):
    """A (frames', mels') map stretched over the spectrogram's grid."""
    return ax.imshow(
        values.T,
        origin="lower",
        aspect="auto",
        alpha=alpha,
        extent=extent,
        interpolation="nearest",
        **_CAM_STYLE,
    )


def plot_spectrogram_attention(
    log_mel,
    heatmap_or_mask,
    sample_rate: int,
    hop_length: int,
    fmin: float,
    fmax: float,
    title: str | None = None,
    masks: dict | None = None,
    mel_scale: str = "slaney",
    label: str = "attention",
    max_cols: int = 3,
    time_offset: float = 0.0,
):
    """A log-mel spectrogram `(frames, mels)` beside the same spectrogram
    overlaid with a Grad-CAM heatmap or attention mask.

    Time is in seconds (`frame * hop_length / sample_rate`); the frequency
    axis is labelled with the mel bands' centre frequencies in Hz.

    Args:
        log_mel: The log-mel spectrogram `(frames, mels)`.
        heatmap_or_mask: A map on the time-frequency grid, of any
            resolution (stretched over the spectrogram).
        sample_rate, hop_length, fmin, fmax, mel_scale: The front end's
            settings, for the axes.
        title: Figure title (long lines are wrapped).
        masks: Optional `attention_maps(...)` output of an audio model:
            each (time, frequency) spatial mask (CBAM, BAM) gets one more
            panel over the spectrogram, stretched from its min to its max
            (see `MIN_MASK_SPAN`).
        label: Title of the `heatmap_or_mask` panel (e.g. "Grad-CAM").
        max_cols: Most panels per row.
        time_offset: The time (s) of the first frame, for a part of a
            longer clip.
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
    centres = mel_band_centres(n_mels, fmin, fmax, mel_scale)
    start = float(time_offset)
    extent = (start, start + duration, 0.0, float(n_mels))
    spatial = _spatial_masks(masks)
    fig, panels = _panels(
        2 + len(spatial), max_cols, (3.6, 2.7), _BOTTOM_BAR_EXTRA
    )
    _spectrogram_panel(panels[0], spec, extent, centres)
    panels[0].set_title("log-mel spectrogram", fontsize=9)
    # A gray spectrogram under the overlays keeps both readable.
    _spectrogram_panel(panels[1], spec, extent, centres, cmap="gray")
    im = _spectrogram_overlay(panels[1], heat, extent)
    panels[1].set_title(label, fontsize=9)
    for ax, (name, mask) in zip(panels[2:], spatial.items(), strict=True):
        scaled, low, high = _scaled_mask(mask)
        _spectrogram_panel(ax, spec, extent, centres, cmap="gray")
        _spectrogram_overlay(ax, scaled, extent)
        ax.set_title(_mask_title(name, mask, low, high), fontsize=7)
    bar_label = _MASKS_LABEL if spatial else label
    _colorbar(fig, im, panels, bar_label, location="bottom")
    cols = _grid(len(panels), max_cols)[1]
    for index, ax in enumerate(panels):
        if index % cols == 0:
            ax.set_ylabel("frequency (Hz)", fontsize=8)
        if index + cols >= len(panels):
            ax.set_xlabel("time (s)", fontsize=8)
    _suptitle(fig, title)
    return fig


def _grid(n: int, max_cols: int) -> tuple[int, int]:
    """`(rows, cols)` for n panels: as few rows as `max_cols` allows, the
    panels spread evenly over them."""
    rows = max(1, -(-n // max(1, max_cols)))
    return rows, max(1, -(-n // rows))


def plot_spatial_masks(maps: dict, image=None, max_cols: int = 4):
    """A grid of the per-block spatial masks of one example, each stretched
    from its min to its max (given in its panel's title; over at least
    MIN_MASK_SPAN).

    Args:
        maps: `attention_maps(...)` output; entries without a "spatial" map
            (and 1x1 masks) are skipped. Batched maps show their first
            example.
        image: Optional image shown first and under every mask.
        max_cols: Most panels per row.
    """
    masks = _spatial_masks(maps)
    if not masks:
        raise ValueError("No spatial masks in `maps` (channel-only layers?)")
    img, cmap = (None, None) if image is None else _as_image(image)
    count = len(masks) + (img is not None)
    fig, panels = _panels(count, max_cols, (2.3, 2.4), _BOTTOM_BAR_EXTRA)
    if img is not None:
        _image_overlay(panels[0], img, cmap)
        panels[0].set_title("input", fontsize=8)
        panels = panels[1:]
    im = None
    for ax, (name, mask) in zip(panels, masks.items(), strict=True):
        scaled, low, high = _scaled_mask(mask)
        if img is not None:
            im = _image_overlay(ax, img, cmap, scaled)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
            im = ax.imshow(scaled, interpolation="nearest", **_CAM_STYLE)
        ax.set_title(_mask_title(name, mask, low, high), fontsize=7)
    _colorbar(fig, im, panels, _MASKS_SCALE.capitalize(), "bottom")
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
    return fig
