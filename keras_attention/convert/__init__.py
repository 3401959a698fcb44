"""Converters from peers' checkpoints (torchvision, timm, PANNs, the
official CBAM/BAM/ECA code) to the zoo's models.

Every source family is one module here that exposes:

    FAMILY: str
        A short name, e.g. "timm_resnet" or "panns".
    detect(state) -> str | None
        The zoo model name (e.g. "resnet50", "cnn14") that a state dict
        of this family is, or None when the keys are not this family's.
    build(state, model_name, **kwargs) -> keras.Model
        Our model with the options the checkpoint needs, every tensor
        assigned by name; raises `ConversionError` naming the missing,
        unexpected and mis-shaped keys. Never assigns by order.

`state` is a plain mapping of names to numpy arrays (see `checkpoint`).
"""

from keras_attention.convert.errors import ConversionError

__all__ = ["ConversionError"]
