"""What the attention modules of a model compute on a batch of inputs."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_attention.layers import (
    BAM,
    CBAM,
    ECA,
    ChannelAttention,
    SpatialAttention,
    SqueezeExcite,
)
from keras_attention.viz.gradcam import prepare_inputs
from keras_attention.viz.graph import inputs_in, prefix, sub_model, walk

ATTENTION_CLASSES = (
    SqueezeExcite,
    ChannelAttention,
    SpatialAttention,
    CBAM,
    ECA,
    BAM,
)


def find_attention_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every attention module of `model`, nested models included, in graph
    order. The gates inside a CBAM are not listed (CBAM reports both)."""
    return [layer for _, layer in _attention_entries(model)]


def _attention_entries(model):
    # Only graph models are walked, so the gates a CBAM owns (attributes,
    # not graph layers) never appear here.
    return [
        (chain, layer)
        for chain, layer in walk(model)
        if isinstance(layer, ATTENTION_CLASSES)
    ]


def attention_maps(
    model: keras.Model, inputs, preprocess: bool = True
) -> dict[str, dict[str, np.ndarray]]:
    """The attention maps every attention module of `model` computes.

    One extractor per graph holding attention modules (the model itself or
    a nested backbone) returns each module's actual input; the module's
    `compute_attention` is then applied to it. The model is neither rebuilt
    nor changed.

    Args:
        model: A Keras model containing SqueezeExcite, ChannelAttention,
            SpatialAttention, CBAM, ECA or BAM layers.
        inputs: A batch of inputs in the model's input format.
        preprocess: Apply the model's keras-hub preprocessor first, as
            `predict` does.

    Returns:
        `{layer_name: {"channel": (batch, channels), "spatial":
        (batch, *spatial)}}` as float32 numpy arrays in [0, 1]; each layer
        reports the keys it computes.

    Raises:
        ValueError: wrong input shape, or no attention module in the model.

    Examples:
        >>> maps = attention_maps(model, images)  # doctest: +SKIP
        >>> maps["stage1_block1_attention"]["spatial"].shape  # doctest: +SKIP
        (2, 32, 32)
    """
    entries = _attention_entries(model)
    if not entries:
        names = ", ".join(c.__name__ for c in ATTENTION_CLASSES)
        raise ValueError(
            f"Model {model.name!r} has no attention layer ({names})."
        )
    x = prepare_inputs(model, inputs, preprocess)
    groups: dict[int, tuple] = {}
    for chain, layer in entries:
        key = id(chain[-1])
        groups.setdefault(key, (chain, []))[1].append(layer)
    result: dict[str, dict[str, np.ndarray]] = {}
    for chain, layers in groups.values():
        container = chain[-1]
        tensors = [inputs_in(container, layer)[0] for layer in layers]
        extractor = sub_model(container.inputs, tensors)
        outs = extractor(prefix(chain)(x))
        if len(layers) == 1:
            outs = [outs]
        for layer, layer_input in zip(layers, outs, strict=True):
            maps = layer.compute_attention(layer_input)
            result[layer.name] = {
                key: np.asarray(ops.convert_to_numpy(value), "float32")
                for key, value in maps.items()
            }
    order = [layer.name for _, layer in entries]
    return {name: result[name] for name in order}
