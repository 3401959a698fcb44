"""The preset-fit check: is a preset the architecture of the requested
model (family, task, stage layout, attention)?

`zoo.load` runs it before Keras builds anything from a preset's
`config.json`: `from_preset` would otherwise build whatever the preset
holds under the requested name. The layouts come from the registry
(`ModelSpec.architecture`).
"""

from __future__ import annotations

from pathlib import Path

from keras_attention.zoo.errors import PresetError
from keras_attention.zoo.registry import get_spec, list_models

# Families of the backbones a preset's config.json can name.
_FAMILY_LABELS = {
    "AttentionResNetBackbone": "image ResNet",
    "AudioCNNBackbone": "audio CNN",
    "AudioResNetBackbone": "audio ResNet",
}
_TASKS_OF_BACKBONES = {
    "AttentionResNetBackbone": "image",
    "AudioCNNBackbone": "audio",
    "AudioResNetBackbone": "audio",
}


def _backbone_class(config: dict) -> str:
    registered = config.get("registered_name") or ""
    return registered.rpartition(">")[2] or str(config.get("class_name"))


def _matches(layout: dict | None, class_name: str, config: dict) -> bool:
    return (
        layout is not None
        and layout["class_name"] == class_name
        and all(config.get(k) == v for k, v in layout["config"].items())
    )


def _describe_preset(class_name: str, config: dict) -> tuple[str, str]:
    """`(model name, label)` of a preset's backbone, e.g.
    `("cnn10", "audio CNN10")`, found among the registered models."""
    attention = config.get("attention")
    fits = [
        spec
        for spec in map(get_spec, list_models())
        if _matches(spec.architecture, class_name, config)
    ]
    for spec in fits:
        if spec.attention == attention:
            return spec.name, spec.architecture["label"]
    if fits:
        return "an unregistered model", fits[0].architecture["label"]
    label = _FAMILY_LABELS.get(class_name, class_name)
    layout = {
        k: config[k]
        for k in (
            "block_type",
            "stackwise_num_blocks",
            "stackwise_num_filters",
            "stackwise_pool_sizes",
        )
        if k in config
    }
    return "an unregistered model", f"{label} {layout}"


def check_preset_fits(path: Path, spec, config: dict, card: dict) -> None:
    """Raises `PresetError` unless the backbone of the preset at `path`
    (its parsed `config.json`) is the architecture of `spec`: family,
    task, stage layout and attention. `from_preset` would otherwise build
    whatever the preset holds under the requested name."""
    class_name = _backbone_class(config)
    inner = config.get("config") or {}
    layout = spec.architecture
    differ = []
    if layout is not None:
        if layout["class_name"] != class_name:
            differ.append("family")
        task = card.get("task") or _TASKS_OF_BACKBONES.get(class_name)
        if task is not None and task != spec.task:
            differ.append("task")
        if not _matches(layout, class_name, inner):
            differ.append("depth")
    attention = inner.get("attention")
    if "attention" in inner and attention != spec.attention:
        differ.append("attention")
    if not differ:
        return
    preset_name, preset_label = _describe_preset(class_name, inner)
    if not preset_name.startswith("an "):
        preset_name = f"a {preset_name}"
    wanted = layout["label"] if layout else spec.family
    what = (
        ", ".join(differ[:-1]) + " and " + differ[-1]
        if len(differ) > 1
        else differ[0]
    )
    raise PresetError(
        f"The preset {path} is {preset_name} ({preset_label}, attention="
        f"{attention!r}); requested {spec.name} ({wanted}, attention="
        f"{spec.attention!r}): {what} differ"
        f"{'s' if len(differ) == 1 else ''}. Load it under its own model "
        "name (see keras_attention.zoo.list_models()).",
        path=path,
    )
