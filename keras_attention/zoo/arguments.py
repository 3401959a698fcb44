"""Keyword checks of `zoo.load`: which builder arguments a model takes,
and which of them `load` can honour with pretrained weights."""

from __future__ import annotations

import inspect
from pathlib import Path

from keras_attention.zoo.errors import UnknownArgumentError

# Builder arguments `load` honours with pretrained weights: they go to the
# task (head) config, or to the backbone config (training-time settings
# that hold no weights).
TASK_OPTIONS = {
    "classifier_activation": "activation",
    "dropout": "dropout",
    "class_names": "class_names",
    "clip_seconds": "clip_seconds",
    "head_dtype": "head_dtype",
    "name": "name",
    "preprocessor": "preprocessor",
}
BACKBONE_OPTIONS = ("block_dropout", "spec_augment")


def check_overrides(spec, overrides: dict) -> None:
    """Raises `UnknownArgumentError` for keyword arguments that the
    model's builder does not take."""
    try:
        params = inspect.signature(spec.builder).parameters
    except (TypeError, ValueError):  # a builder without a signature
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    accepted = sorted(
        n
        for n, p in params.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        and n not in ("num_classes", "input_shape")
    )
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise UnknownArgumentError(
            f"load({spec.name!r}) got unknown keyword argument(s): "
            f"{', '.join(unknown)}. It takes weights, num_classes, "
            f"input_shape, sha256 and: {', '.join(accepted)}."
        )


def split_overrides(spec, path: Path, inner: dict, overrides: dict):
    """`(task options, backbone options)` for loading the preset at `path`
    (backbone config `inner`), or a `ValueError` for options that change
    the architecture the weights were trained for."""
    task, backbone = {}, {}
    refused = []
    for key, value in overrides.items():
        if key in TASK_OPTIONS:
            task[TASK_OPTIONS[key]] = value
        elif key in BACKBONE_OPTIONS or key == "dtype":
            backbone[key] = value
        elif key in inner and inner[key] == value:
            continue  # what the preset has anyway
        else:
            refused.append(key)
    if refused:
        raise ValueError(
            f"Cannot honour {', '.join(sorted(refused))} with the weights "
            f"of {path}: they change the architecture or front end the "
            "weights were trained with. Pass weights=None for a new model "
            "with these settings, or leave them out. With weights, load "
            "takes num_classes, input_shape, sha256 and: "
            f"{', '.join(options_with_weights(spec))}."
        )
    return task, backbone


def options_with_weights(spec) -> list[str]:
    known = {*TASK_OPTIONS, *BACKBONE_OPTIONS, "dtype"}
    known |= {"include_top", "pooling"}
    try:
        params = inspect.signature(spec.builder).parameters
    except (TypeError, ValueError):
        return sorted(known)
    return sorted(known & set(params))
