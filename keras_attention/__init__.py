"""keras-attention: SE, CBAM, ECA and BAM for Keras 3, and a model zoo.

Subpackages:
    layers: the attention modules and the audio front end.
    models: model families (ResNet, PANNs CNN) built from them.
    zoo: the registry: `zoo.load`, `zoo.list_models`, `zoo.info`.
    audio: audio I/O and dataset loaders (needs the `audio` extra).
    viz: Grad-CAM and attention-map figures (needs the `viz` extra).
"""

import importlib

from keras_attention import layers
from keras_attention.version import __version__

__all__ = ["__version__", "audio", "layers", "models", "viz", "zoo"]

_LAZY = {"audio", "models", "viz", "zoo"}


def __getattr__(name: str):
    # Heavier subpackages load on first use so `import keras_attention`
    # stays cheap and optional extras are only needed when used.
    if name in _LAZY:
        module = importlib.import_module(f"keras_attention.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'keras_attention' has no attribute {name!r}")
