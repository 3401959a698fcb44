"""Runtime data that ships inside the package: the demo's samples.

`samples/fashion_mnist_sample.npz` (300 Fashion-MNIST test images, written
by `training/make_samples.py`) and `samples/instruments/` (22 clips of a
soundfont held out from training, with `demo_clips.csv`), read with
`importlib.resources` so they are found in a wheel as in a clone.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def samples_dir() -> Path:
    """The folder of the bundled samples."""
    return Path(str(importlib.resources.files(__name__) / "samples"))
