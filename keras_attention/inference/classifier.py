"""A zoo model name and weights resolved to a classifier and its card."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

from keras_attention.inference.errors import InferenceError, one_line


def card_value(card: dict, key: str):
    """`card[key]`, else the card's `preprocessing[key]` (None if absent)."""
    if key in card:
        return card[key]
    return (card.get("preprocessing") or {}).get(key)


def _cache_problem(error: OSError) -> str | None:
    """A clearer message when `error` comes from a KERAS_ATTENTION_CACHE
    that is not a usable directory (a file, or a path under one)."""
    from keras_attention.zoo.download import CACHE_ENV_VAR

    cache = os.environ.get(CACHE_ENV_VAR, "").strip()
    filename = getattr(error, "filename", None)
    if not cache or filename is None:
        return None
    cache_path = Path(cache).expanduser()
    filename = Path(str(filename))
    if filename != cache_path and cache_path not in filename.parents:
        return None
    return (
        f"{CACHE_ENV_VAR}={cache} is not a usable cache directory: "
        f"{one_line(error)}"
    )


def load_classifier(
    name: str,
    weights="default",
    command: str = "predict",
    note: Callable[[str], object] | None = None,
):
    """`(model, card)`: zoo model `name` with `weights` (as for `zoo.load`;
    the string "none" means random initialisation) and the model card of
    those weights ({} when there is none).

    Args:
        name: A zoo model name.
        weights: As for `keras_attention.zoo.load`, or "none".
        command: What needs the classifier (named in the error for a
            head-less preset).
        note: Called with a note when the model runs with random weights
            (none published or none given); default: `warnings.warn`.

    Raises:
        InferenceError: the weights cannot be read (missing, truncated or
            corrupt file, failed download, unusable cache directory), a
            config file of the preset cannot be deserialized, or the
            preset has no classification head; the message names the
            weights.
    """
    from keras_attention import zoo

    label = weights
    if isinstance(weights, str) and weights.lower() == "none":
        weights = None
    where = f"the weights {label!r} of {name!r}"
    try:
        # Where the weights come from is decided once, with their card.
        source, card = zoo.resolve_weights(name, weights)
        model = zoo.load(name, weights=source)
    except OSError as error:  # h5py, downloads, the cache directory
        message = _cache_problem(error)
        if message is None:
            message = one_line(error)
            if str(label) not in message:
                message = f"Could not load {where}: {message}"
        raise InferenceError(message) from error
    except (TypeError, KeyError, AttributeError) as error:
        # Keras raises these for a config (task.json, config.json, ...)
        # that cannot be deserialized.
        raise InferenceError(
            f"Could not build {where}: its task.json or config.json cannot "
            f"be deserialized ({type(error).__name__}: {one_line(error)})"
        ) from error
    if not hasattr(model, "num_classes"):
        raise InferenceError(
            f"The weights {label!r} hold a backbone without a "
            f"classification head; `{command}` needs a classifier preset."
        )
    if weights is None or (weights == "default" and not card):
        message = (
            f"Note: {name} runs with random weights (none published "
            "or none given); its predictions mean nothing."
        )
        if note is None:
            warnings.warn(message, stacklevel=2)
        else:
            note(message)
    return model, card
