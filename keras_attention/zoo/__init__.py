"""The model zoo: `load`, `list_models`, `info`.

Where the published presets and the catalog are found: see
`keras_attention.zoo.registry` (and `.locations`). The names below load on
first use, so the data-only modules (`locations`, `cards`, the download
layer) import without Keras: the command line's `list` uses them.

>>> import keras_attention
>>> model = keras_attention.zoo.load("cbam_resnet18")  # doctest: +SKIP
"""

import importlib
import importlib.util

from keras_attention.zoo import errors
from keras_attention.zoo.cards import MODEL_CARD_FILE, ModelCard
from keras_attention.zoo.errors import *  # noqa: F403 (all the zoo's errors)

# Public name -> the module of the zoo that defines it.
_LAZY = {
    "available_feature_keys": "api",
    "info": "api",
    "load": "api",
    "ModelSpec": "registry",
    "get_spec": "registry",
    "list_models": "registry",
    "published_weights": "registry",
    "register_model": "registry",
    "zoo_dir": "registry",
    "resolve_weights": "weights",
}

__all__ = [
    *errors.__all__,
    "MODEL_CARD_FILE",
    "ModelCard",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"keras_attention.zoo.{_LAZY[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    if importlib.util.find_spec(f"keras_attention.zoo.{name}") is not None:
        return importlib.import_module(f"keras_attention.zoo.{name}")
    raise AttributeError(
        f"module 'keras_attention.zoo' has no attribute {name!r}"
    )


def __dir__():
    return sorted({*globals(), *_LAZY})
