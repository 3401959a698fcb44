"""What the classifier heads share."""

from __future__ import annotations


def restore_head_config(config: dict) -> dict:
    """A saved classifier config to rebuild from, with `class_names`
    dropped when they no longer match `num_classes`.

    keras-hub's `Task.from_preset(preset, num_classes=N)` overrides
    `num_classes` in the saved config and keeps the rest: the new head
    has no names for its classes yet (pass `class_names=` with it to give
    some). A classifier built directly with names that do not match its
    head still raises."""
    names = config.get("class_names")
    if names is not None and len(names) != config.get("num_classes"):
        config = {**config, "class_names": None}
    return config
