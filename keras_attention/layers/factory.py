"""`get_attention`: resolve an attention spec to a new layer instance; and
`ATTENTION_INFO`, the one table of attention labels and papers."""

from __future__ import annotations

import dataclasses
import difflib

import keras

from keras_attention.layers.bam import BAM
from keras_attention.layers.cbam import CBAM
from keras_attention.layers.channel_attention import ChannelAttention
from keras_attention.layers.eca import ECA
from keras_attention.layers.spatial_attention import SpatialAttention
from keras_attention.layers.squeeze_excite import SqueezeExcite

ATTENTION_LAYERS = {
    "se": SqueezeExcite,
    "cbam": CBAM,
    "eca": ECA,
    "bam": BAM,
    "channel": ChannelAttention,
    "spatial": SpatialAttention,
}


def _unknown(name) -> ValueError:
    valid = sorted(ATTENTION_LAYERS)
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(
        f"get_attention: Unknown attention {name!r}. Expected one of "
        f"{valid}, None, a Layer subclass, or a dict such as "
        f"{{'type': 'cbam', 'reduction': 8}}.{hint}"
    )


def get_attention(spec, **kwargs) -> keras.layers.Layer | None:
    """Builds a new attention layer from a spec.

    Args:
        spec: One of
            - `None` or `"none"`: no attention (returns `None`);
            - a name: `"se"`, `"cbam"`, `"eca"`, `"bam"`, `"channel"`,
              `"spatial"` (case-insensitive);
            - a `keras.layers.Layer` subclass;
            - a partial config: a dict with a `"type"` key naming the
              layer plus constructor arguments, e.g.
              `{"type": "cbam", "reduction": 8}`, or a Keras serialized
              layer (`{"class_name": ..., "config": ...}`).
        **kwargs: Extra constructor arguments; they override the spec's.

    Returns:
        A new, unbuilt layer, or `None`.

    Raises:
        ValueError: for an unknown name, listing the valid names.

    Examples:
        >>> get_attention("cbam", reduction=8).reduction
        8
        >>> get_attention({"type": "eca", "kernel_size": 5}).kernel_size
        5
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        key = spec.lower()
        if key == "none":
            return None
        if key not in ATTENTION_LAYERS:
            raise _unknown(spec)
        return ATTENTION_LAYERS[key](**kwargs)
    if isinstance(spec, type) and issubclass(spec, keras.layers.Layer):
        return spec(**kwargs)
    if isinstance(spec, dict):
        spec = dict(spec)
        if "class_name" in spec:
            config = dict(spec.get("config", {}))
            config.update(kwargs)
            spec["config"] = config
            return keras.saving.deserialize_keras_object(spec)
        if "type" not in spec:
            raise ValueError(
                "get_attention: A dict spec needs a 'type' key naming the "
                f"layer, e.g. {{'type': 'cbam', 'reduction': 8}}. "
                f"Received: {spec!r}"
            )
        kind = spec.pop("type")
        spec.update(kwargs)
        return get_attention(kind, **spec)
    raise ValueError(
        "get_attention: Expected a name, None, a Layer subclass or a dict. "
        f"Received: {spec!r} of type {type(spec).__name__}"
    )


@dataclasses.dataclass(frozen=True)
class AttentionInfo:
    """What the docs, the zoo and the recipes say about an attention.

    Attributes:
        name: The `get_attention` name (None: no attention).
        label: Human name, e.g. "Squeeze-and-Excitation".
        paper: Link to the paper (for None: the ResNet paper).
    """

    name: str | None
    label: str
    paper: str


# The one table of attention names, labels and papers.
ATTENTION_INFO = {
    info.name: info
    for info in (
        AttentionInfo(None, "no attention", "https://arxiv.org/abs/1512.03385"),
        AttentionInfo(
            "se", "Squeeze-and-Excitation", "https://arxiv.org/abs/1709.01507"
        ),
        AttentionInfo("cbam", "CBAM", "https://arxiv.org/abs/1807.06521"),
        AttentionInfo("eca", "ECA", "https://arxiv.org/abs/1910.03151"),
        AttentionInfo("bam", "BAM", "https://arxiv.org/abs/1807.06514"),
    )
}
# The attentions of the model zoo, in the order of its tables.
MODEL_ATTENTIONS = tuple(ATTENTION_INFO)
