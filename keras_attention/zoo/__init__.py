"""The model zoo: `load`, `list_models`, `info`.

Where the published presets and the catalog are found: see
`keras_attention.zoo.registry` (and `.locations`).

>>> import keras_attention
>>> model = keras_attention.zoo.load("cbam_resnet18")  # doctest: +SKIP
"""

from keras_attention.zoo import errors
from keras_attention.zoo.api import available_feature_keys, info, load
from keras_attention.zoo.cards import MODEL_CARD_FILE, ModelCard
from keras_attention.zoo.errors import *  # noqa: F403 (all the zoo's errors)
from keras_attention.zoo.registry import (
    ModelSpec,
    get_spec,
    list_models,
    published_weights,
    register_model,
    zoo_dir,
)
from keras_attention.zoo.weights import resolve_weights

__all__ = [
    "available_feature_keys",
    *errors.__all__,
    "MODEL_CARD_FILE",
    "ModelCard",
    "ModelSpec",
    "get_spec",
    "info",
    "list_models",
    "load",
    "published_weights",
    "register_model",
    "resolve_weights",
    "zoo_dir",
]
