"""Visualisation: Grad-CAM, attention maps and their plots.

>>> from keras_attention import viz
>>> heatmaps = viz.grad_cam(model, images)  # doctest: +SKIP
>>> maps = viz.attention_maps(model, images)  # doctest: +SKIP
>>> viz.plot_spatial_masks(maps, image=images[0]).savefig("masks.png")
... # doctest: +SKIP
"""

from keras_attention.viz.attention_maps import (
    ATTENTION_CLASSES,
    attention_maps,
    find_attention_layers,
)
from keras_attention.viz.gradcam import grad_cam
from keras_attention.viz.plotting import (
    mel_band_centres,
    plot_channel_weights,
    plot_gradcam,
    plot_gradcam_grid,
    plot_spatial_masks,
    plot_spectrogram_attention,
)

__all__ = [
    "ATTENTION_CLASSES",
    "attention_maps",
    "find_attention_layers",
    "grad_cam",
    "mel_band_centres",
    "plot_channel_weights",
    "plot_gradcam",
    "plot_gradcam_grid",
    "plot_spatial_masks",
    "plot_spectrogram_attention",
]
