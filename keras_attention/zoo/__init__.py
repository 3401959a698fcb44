"""The model zoo: `load`, `list_models`, `info`.

>>> import keras_attention
>>> model = keras_attention.zoo.load("cbam_resnet18")  # doctest: +SKIP
"""

from keras_attention.zoo.api import info, load
from keras_attention.zoo.registry import (
    ModelSpec,
    get_spec,
    list_models,
    published_weights,
    register_model,
    zoo_dir,
)

__all__ = [
    "ModelSpec",
    "get_spec",
    "info",
    "list_models",
    "load",
    "published_weights",
    "register_model",
    "zoo_dir",
]
