"""Feature extraction: a zoo model's named intermediate outputs.

`feature_extractor(model)` returns a `keras.Model` with the same input
whose output is a dict of named feature maps, as keras-hub's
`pyramid_outputs` and kimm's `feature_extractor=True`:

- image ResNets: `stem_s2` (after the stem's ReLU) and `stage1_s4` ...
  `stage4_s32` (each stage's output, after BAM where it has one); the
  suffix is the stride from the input (`stem_type="small"`: `stem_s1`,
  `stage1_s1` ... `stage4_s8`);
- audio ResNets: the same keys, over the log-mel spectrogram (time,
  mels), so strides count spectrogram frames and mel bins;
- PANNs CNNs: `block1_s2` ... (each conv block's pooled output, frames x
  mels x channels: frame-wise features for sound event detection);
- audio classifiers also give `embedding`, the clip embedding of the head
  (PANNs' 512- or 2048-d `fc1`).

The feature maps are in the backbone's data format; a `channels_first`
ResNet built on a TensorFlow CPU without NCHW convolutions (see
`keras_attention.layers._layout`) runs channels-last inside, and its
features are channels-last too.
"""

from __future__ import annotations

import keras

from keras_attention.models.audio_backbone import (
    AudioCNNBackbone,
    AudioResNetBackbone,
)
from keras_attention.models.resnet_backbone import AttentionResNetBackbone

EMBEDDING = "embedding"


def _resnet_layers(backbone) -> dict[str, str]:
    """Feature key -> layer name of an `AttentionResNetBackbone`."""
    names = [layer.name for layer in backbone.layers]
    stride = 1 if backbone.stem_type == "small" else 2
    found = {f"stem_s{stride}": "stem_relu"}
    if backbone.stem_type != "small":
        stride *= 2
    for s in range(1, len(backbone.stackwise_num_blocks) + 1):
        if s > 1:
            stride *= 2
        ends = [n for n in names if n.startswith(f"stage{s}_block")]
        ends = [n for n in ends if n.endswith("_out")]
        bam = f"stage{s}_bam"
        found[f"stage{s}_s{stride}"] = bam if bam in names else ends[-1]
    return found


def _cnn_layers(backbone) -> dict[str, str]:
    """Feature key -> layer name of an `AudioCNNBackbone`."""
    found, stride = {}, 1
    for i, pool in enumerate(backbone.stackwise_pool_sizes, start=1):
        stride *= int(pool)
        found[f"block{i}_s{stride}"] = f"block{i}_pool"
    return found


def _feature_graph(model):
    """`(inner, layers, feed)`: the functional model holding the feature
    layers, their names by key, and the tensor of the outer graph that
    feeds `inner` (None: `inner` is the backbone itself)."""
    backbone = getattr(model, "backbone", model)
    if isinstance(backbone, AttentionResNetBackbone):
        return backbone, _resnet_layers(backbone), None
    if isinstance(backbone, AudioCNNBackbone):
        return backbone, _cnn_layers(backbone), None
    if isinstance(backbone, AudioResNetBackbone):
        inner = backbone.get_layer("resnet")
        index = backbone.layers.index(inner)
        feed = backbone.layers[index - 1].output
        return inner, _resnet_layers(inner), feed
    raise ValueError(
        "Expected a zoo model (an attention ResNet or audio backbone, or "
        f"a classifier over one). Received: {type(model).__name__}"
    )


def available_feature_keys(model) -> list[str]:
    """The feature keys `feature_extractor` offers for `model`."""
    _, layers, _ = _feature_graph(model)
    keys = list(layers)
    if _has_embedding(model):
        keys.append(EMBEDDING)
    return keys


def _has_embedding(model) -> bool:
    names = {layer.name for layer in getattr(model, "layers", [])}
    return hasattr(model, "backbone") and EMBEDDING in names


def feature_extractor(model, feature_keys=None, name=None) -> keras.Model:
    """A model from `model`'s input to a dict of its named features.

    Args:
        model: A zoo classifier or backbone.
        feature_keys: The keys to return, in order; None for all of
            `available_feature_keys(model)`.
        name: The new model's name (default `<model>_features`).

    Raises:
        ValueError: a key the model does not offer (listing those it
            does), or no key at all.
    """
    available = available_feature_keys(model)
    keys = list(available if feature_keys is None else feature_keys)
    unknown = [k for k in keys if k not in available]
    if unknown or not keys:
        raise ValueError(
            f"Expected `feature_keys` among {available}. "
            f"Received: {feature_keys!r}"
        )
    inner, layers, feed = _feature_graph(model)
    inner_keys = [k for k in keys if k != EMBEDDING]
    outputs = {}
    if inner_keys:
        maps = {k: inner.get_layer(layers[k]).output for k in inner_keys}
        if feed is not None:
            maps = keras.Model(inner.input, maps, name=f"{inner.name}_maps")(
                feed
            )
        outputs.update(maps)
    if EMBEDDING in keys:
        outputs[EMBEDDING] = model.get_layer(EMBEDDING).output
    inputs = model.input
    return keras.Model(
        inputs,
        {k: outputs[k] for k in keys},
        name=name or f"{model.name}_features",
    )
