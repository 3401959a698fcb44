"""`ModelSpec`: what the registry knows about a model, as data.

The model families (`keras_attention.models.resnet`, `.audio`) declare
their registered models as a module-level `MODEL_SPECS` tuple;
`keras_attention.zoo.registry` collects them. This module imports nothing
of the zoo, so the builders' modules can use it without an import circle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

TASKS = ("image", "audio")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a model before any weights.

    Attributes:
        name: Registry name, e.g. "cbam_resnet18".
        task: "image" or "audio".
        family: Model family, e.g. "resnet", "panns_cnn".
        attention: None, "se", "cbam", "eca" or "bam".
        builder: Callable returning a new model; takes keyword arguments
            such as `num_classes` and `input_shape`.
        input_shape: Default input shape of one example (no batch axis).
        description: One line for tables.
        paper: Link to the paper of the architecture/attention.
        input_kind: "image" (pixel arrays) or "waveform" (mono audio).
        architecture: What a preset's `config.json` must hold to fit this
            model: `{"class_name": backbone class, "label": e.g.
            "image ResNet-18", "config": {entries of the stage layout}}`;
            None skips the check (only the attention is compared).
    """

    name: str
    task: str
    family: str
    attention: str | None
    builder: Callable
    input_shape: tuple
    description: str
    paper: str
    input_kind: str = "image"
    architecture: dict | None = None

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(
                f"Expected `task` in {TASKS}. Received: task={self.task!r}"
            )


def stage_layout(class_name: str, label: str, **config) -> dict:
    """A `ModelSpec.architecture`: the backbone class, a label for error
    messages and the config entries of the stage layout."""
    return {"class_name": class_name, "label": label, "config": config}
