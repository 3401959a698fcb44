"""Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391) for
Keras 3 models on every backend.

The model is split at the feature layer into a *feature function* (inputs ->
feature map) and a *head function* (feature map -> logits); the gradient of
the class score with respect to the feature map is taken with the active
backend's own autodiff (`tf.GradientTape`, `jax.grad`, `torch.autograd`).
Nested functional models (a keras-hub task wrapping its backbone) are split
recursively, so a layer deep inside the backbone can be chosen by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_attention.viz.graph import (
    output_in,
    prefix,
    sub_model,
    suffix,
    walk,
)

# Layers treated as an audio front end: the heatmap of an audio model lives
# on their (frames, mels) grid.
_FRONT_END_CLASSES = ("LogMelSpectrogram",)
_FRONT_END_NAMES = ("log_mel", "logmel")


def _rank(tensor) -> int:
    return len(tensor.shape)


def _keras_hub_preprocess(model, inputs):
    """Applies a keras-hub task's image converter (or preprocessor)."""
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        return inputs
    converter = getattr(preprocessor, "image_converter", None)
    if converter is None:
        converter = getattr(preprocessor, "audio_converter", None)
    if converter is None:
        return inputs
    return np.asarray(ops.convert_to_numpy(converter(inputs)), "float32")


def _check_input_shape(model, inputs) -> None:
    expected = tuple(model.inputs[0].shape)
    received = tuple(inputs.shape)
    ok = len(expected) == len(received) and all(
        e is None or e == r
        for e, r in zip(expected[1:], received[1:], strict=True)
    )
    if not ok:
        raise ValueError(
            f"Model {model.name!r} expects inputs of shape {expected} "
            f"(batch first). Received: shape={received}"
        )


def prepare_inputs(model, inputs, preprocess: bool = True) -> np.ndarray:
    """Converts `inputs` to float32 numpy, applies the keras-hub
    preprocessor when asked, and checks the shape against the model."""
    x = np.asarray(ops.convert_to_numpy(inputs))
    if x.dtype == object:
        raise ValueError(f"Expected a numeric array. Received: {x.dtype}")
    if preprocess:
        x = _keras_hub_preprocess(model, x)
    x = np.asarray(x, "float32")
    _check_input_shape(model, x)
    return x


# --------------------------------------------------------------------------
# Splitting the model.
# --------------------------------------------------------------------------


def _spatial_candidates(model) -> list[tuple[tuple, keras.layers.Layer]]:
    """Every layer (nested ones included) with a rank-4 output."""
    found = []
    for chain, layer in walk(model):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        try:
            out = output_in(chain[-1], layer)
        except (AttributeError, IndexError, ValueError):
            continue
        if _rank(out) == 4:
            found.append((chain, layer))
    return found


def _find_layer(model, name: str):
    for chain, layer in walk(model):
        if layer.name == name:
            return chain, layer
    candidates = [layer.name for _, layer in _spatial_candidates(model)]
    shown = ", ".join(candidates[-30:])
    more = f" (last 30 of {len(candidates)})" if len(candidates) > 30 else ""
    raise ValueError(
        f"No layer named {name!r} in model {model.name!r}. Layers with a "
        f"spatial (rank-4) output{more}: {shown}"
    )


def _default_feature_layer(model):
    """The last rank-4 layer of the top-level graph (for a keras-hub task:
    the backbone itself, whose output is the last feature map)."""
    top = [
        (chain, layer)
        for chain, layer in _spatial_candidates(model)
        if len(chain) == 1
    ]
    if top:
        return top[-1]
    nested = _spatial_candidates(model)
    if nested:
        return nested[-1]
    raise ValueError(
        f"Grad-CAM needs a layer with a spatial (rank-4) output, e.g. a "
        f"convolution; model {model.name!r} has none."
    )


def split_model(model, layer: str | None = None):
    """Returns `(feature_fn, head_fn, layer)`: inputs -> feature map and
    feature map -> model output, split at `layer` (a name) or at the last
    spatial feature layer."""
    if layer is None:
        chain, target = _default_feature_layer(model)
    else:
        chain, target = _find_layer(model, layer)
        if _rank(output_in(chain[-1], target)) != 4:
            raise ValueError(
                f"Layer {layer!r} has output shape "
                f"{tuple(output_in(chain[-1], target).shape)}; Grad-CAM "
                f"needs a spatial (rank-4) feature map."
            )
    container = chain[-1]
    feature_tensor = output_in(container, target)
    pre = prefix(chain)
    inner_feature = sub_model(container.inputs, [feature_tensor])
    try:
        inner_head = sub_model([feature_tensor], container.outputs)
    except ValueError as error:
        raise ValueError(
            f"Cannot split model at layer {target.name!r}: some path from "
            f"the inputs to the outputs bypasses it (e.g. a residual "
            f"shortcut). Choose a block output instead. Keras said: {error}"
        ) from error
    post = suffix(chain)

    def feature_fn(x):
        return inner_feature(pre(x))

    def head_fn(f):
        return post(inner_head(f))

    return feature_fn, head_fn, target


def _spatial_size(shape, data_format: str) -> tuple[int, int]:
    spatial = shape[2:4] if data_format == "channels_first" else shape[1:3]
    return int(spatial[0]), int(spatial[1])


def choose_feature_layer(
    model, inputs, min_size: int = 4, preprocess: bool = True
) -> tuple[str, tuple[int, int]]:
    """The layer Grad-CAM should use on `inputs`, and its feature map's
    spatial size: the default (last spatial) layer when its map is at least
    `min_size` x `min_size`, else the deepest layer that is and that the
    model can be split at (e.g. a residual block's output). A small input
    (a 32x32 image in an ImageNet ResNet) leaves a 1x1 map at the end,
    whose Grad-CAM is a constant.

    Returns the chosen layer's name (pass it as `grad_cam(layer=...)`) and
    `(height, width)`; the default layer when no layer is large enough.
    """
    x = prepare_inputs(model, inputs, preprocess)[:1]
    candidates = _spatial_candidates(model)
    if not candidates:
        _default_feature_layer(model)  # raises the "no spatial layer" error
    groups: dict[int, tuple] = {}
    for chain, layer in candidates:
        groups.setdefault(id(chain[-1]), (chain, []))[1].append(layer)
    sizes = {}
    for chain, layers in groups.values():
        container = chain[-1]
        tensors = [output_in(container, layer) for layer in layers]
        outs = sub_model(container.inputs, tensors)(prefix(chain)(x))
        outs = outs if isinstance(outs, list | tuple) else [outs]
        for layer, out in zip(layers, outs, strict=True):
            fmt = _data_format(layer, container)
            sizes[id(layer)] = _spatial_size(tuple(out.shape), fmt)
    default = _default_feature_layer(model)[1]
    if min(sizes[id(default)]) >= min_size:
        return default.name, sizes[id(default)]
    for _, layer in reversed(candidates):
        if min(sizes[id(layer)]) < min_size:
            continue
        try:
            split_model(model, layer.name)
        except ValueError:  # bypassed by a shortcut
            continue
        return layer.name, sizes[id(layer)]
    return default.name, sizes[id(default)]


def _front_end(model):
    """`(chain, layer)` of an audio front end (log-mel), or None."""
    for chain, layer in walk(model):
        if type(layer).__name__ in _FRONT_END_CLASSES or any(
            key in layer.name.lower() for key in _FRONT_END_NAMES
        ):
            return chain, layer
    return None


def front_end_output(model, x) -> np.ndarray | None:
    """The audio front end's output (e.g. the log-mel spectrogram) for the
    (preprocessed) inputs `x`, or None if the model has no front end."""
    found = _front_end(model)
    if found is None:
        return None
    chain, layer = found
    tap = sub_model(chain[-1].inputs, [output_in(chain[-1], layer)])
    return np.asarray(ops.convert_to_numpy(tap(prefix(chain)(x))))


def _front_end_resolution(model, x) -> tuple[int, int] | None:
    found = _front_end(model)
    if found is None:
        return None
    chain, layer = found
    tensor = output_in(chain[-1], layer)
    shape = tuple(tensor.shape)
    if any(s is None for s in shape[1:3]):
        tap = sub_model(chain[-1].inputs, [tensor])
        shape = tuple(tap(prefix(chain)(x[:1])).shape)
    return int(shape[1]), int(shape[2])


# --------------------------------------------------------------------------
# Gradients, one function per backend.
# --------------------------------------------------------------------------


def _score(logits, class_index):
    """Sum over the batch of logits[i, class_index[i]]."""
    one_hot = ops.one_hot(class_index, logits.shape[-1], dtype=logits.dtype)
    return ops.sum(logits * one_hot)


def _gradients(head_fn, features, class_index) -> np.ndarray:
    """d(class score)/d(features) with the backend's own autodiff."""
    backend = keras.backend.backend()
    idx = np.asarray(class_index, "int32")
    if backend == "tensorflow":
        import tensorflow as tf

        f = tf.convert_to_tensor(features)
        with tf.GradientTape() as tape:
            tape.watch(f)
            score = _score(_logits(head_fn(f)), idx)
        grads = tape.gradient(score, f)
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        def score_fn(f):
            return _score(_logits(head_fn(f)), idx)

        grads = jax.grad(score_fn)(jnp.asarray(features))
    elif backend == "torch":
        import torch

        # On the backend's device, as a leaf that records gradients.
        f = ops.convert_to_tensor(features).detach().requires_grad_(True)
        with torch.enable_grad():
            score = _score(_logits(head_fn(f)), idx)
            (grads,) = torch.autograd.grad(score, f)
    else:
        raise ValueError(
            f"grad_cam supports the tensorflow, jax and torch backends. "
            f"Received: backend={backend!r}"
        )
    return np.asarray(ops.convert_to_numpy(grads), "float32")


def _logits(outputs):
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, list | tuple):
        outputs = outputs[0]
    return outputs


def _class_indices(class_index, predicted: np.ndarray, num_classes: int):
    batch = predicted.shape[0]
    if class_index is None:
        return predicted.astype("int32")
    if np.ndim(class_index) == 0:
        indices = np.full((batch,), int(class_index))
    else:
        indices = np.asarray(list(class_index)).astype("int64")
        if indices.shape != (batch,):
            raise ValueError(
                f"Expected `class_index` to be an int or one index per "
                f"example ({batch}). Received: {list(class_index)}"
            )
    bad = [int(i) for i in indices if not 0 <= i < num_classes]
    if bad:
        raise ValueError(
            f"`class_index` {bad[0]} is out of range: the model has "
            f"{num_classes} classes (valid: 0 to {num_classes - 1})."
        )
    return indices.astype("int32")


def _resize(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (batch, h, w) maps to (batch, *size)."""
    if tuple(maps.shape[1:]) == tuple(size):
        return maps
    resized = ops.image.resize(
        maps[..., None],
        size,
        interpolation="bilinear",
        data_format="channels_last",
    )
    return np.asarray(ops.convert_to_numpy(resized), "float32")[..., 0]


def _normalise(maps: np.ndarray) -> np.ndarray:
    maps = np.maximum(maps, 0.0)
    peak = maps.reshape(maps.shape[0], -1).max(axis=1)
    peak = np.where(peak > 0, peak, 1.0).reshape(-1, 1, 1)
    return np.clip(maps / peak, 0.0, 1.0).astype("float32")


def _data_format(layer, container) -> str:
    for obj in (layer, container):
        fmt = getattr(obj, "data_format", None)
        if fmt in ("channels_first", "channels_last"):
            return fmt
    return keras.config.image_data_format()


def grad_cam(
    model: keras.Model,
    inputs,
    class_index: int | Sequence[int] | None = None,
    layer: str | None = None,
    preprocess: bool = True,
) -> np.ndarray:
    """Grad-CAM heatmaps of `model` for `inputs`.

    Args:
        model: A Keras model (functional, possibly nesting a backbone, or a
            keras-hub classifier) whose first output holds class scores.
        inputs: A batch of images `(batch, H, W, C)`, or of waveforms
            `(batch, samples)` for an audio model with a log-mel front end.
        class_index: None for each example's predicted class, an int for
            the same class everywhere, or one index per example.
        layer: Name of the feature layer (searched in nested models too);
            None picks the last layer with a spatial (rank-4) output (for
            keras-hub classifiers, the backbone's output).
        preprocess: Apply the model's keras-hub preprocessor (its image
            converter) to raw inputs first, as `predict` does.

    Returns:
        Float32 heatmaps in [0, 1]: `(batch, H, W)` at the input's spatial
        resolution for images; `(batch, frames, mels)` on the log-mel grid
        for audio models.

    Raises:
        ValueError: no spatial layer, unknown layer name (the spatial layers
            are listed), class index out of range, or wrong input shape.

    Examples:
        >>> heatmaps = grad_cam(model, images)  # doctest: +SKIP
    """
    raw = np.asarray(ops.convert_to_numpy(inputs))
    x = prepare_inputs(model, raw, preprocess)
    feature_fn, head_fn, target = split_model(model, layer)
    features = np.asarray(ops.convert_to_numpy(feature_fn(x)), "float32")
    logits = np.asarray(
        ops.convert_to_numpy(_logits(head_fn(features))), "float32"
    )
    indices = _class_indices(
        class_index, logits.argmax(axis=-1), logits.shape[-1]
    )
    grads = _gradients(head_fn, features, indices)
    if _data_format(target, None) == "channels_first":
        features = np.moveaxis(features, 1, -1)
        grads = np.moveaxis(grads, 1, -1)
    weights = grads.mean(axis=(1, 2), keepdims=True)
    cams = (weights * features).sum(axis=-1)
    if raw.ndim == 4:
        fmt = _data_format(getattr(model, "backbone", None), None)
        size = raw.shape[2:4] if fmt == "channels_first" else raw.shape[1:3]
    else:
        size = _front_end_resolution(model, x) or cams.shape[1:]
    cams = np.maximum(cams, 0.0)
    return _normalise(_resize(cams, tuple(int(s) for s in size)))
