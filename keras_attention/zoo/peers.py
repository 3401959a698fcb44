"""Peers' checkpoints as `zoo.load` weights: recognised, fetched, converted.

`zoo.load("resnet50", weights="resnet50.safetensors")` (or a `.pth` file,
an `https://` URL of one, or `hf://org/repo[/file]`) lands here: the file is
fetched through the zoo's verified cache, read by
`keras_attention.convert.checkpoint.read_state`, matched to a converter
family by its keys, checked to be the architecture asked for, and
converted by name.

`hf://timm/resnet50.a1_in1k` is
`https://huggingface.co/timm/resnet50.a1_in1k/resolve/main/model.safetensors`
(`hf://org/repo/path/file` names another file); the `HF_ENDPOINT`
environment variable, as for `huggingface_hub`, replaces the host.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from keras_attention.convert.checkpoint import (
    SAFETENSORS_SUFFIXES,
    TORCH_SUFFIXES,
    checkpoint_format,
    read_state,
)
from keras_attention.convert.errors import ConversionError

HF_SCHEME = "hf://"
HF_ENDPOINT_ENV = "HF_ENDPOINT"
HF_DEFAULT_FILE = "model.safetensors"
# The converter modules of `keras_attention.convert`, tried in order: the
# official CBAM/BAM/ECA code first, since its checkpoints also carry the
# torchvision ResNet keys that `timm_resnet` recognises.
FAMILIES = (
    "keras_attention.convert.official",
    "keras_attention.convert.timm_resnet",
    "keras_attention.convert.panns",
)


def hf_url(source: str) -> str:
    """The download URL of `hf://org/repo[/file]`."""
    parts = source[len(HF_SCHEME) :].strip("/").split("/")
    if len(parts) < 2 or not all(parts):
        raise ValueError(
            "Expected hf://ORG/REPO or hf://ORG/REPO/FILE, e.g. "
            f"hf://timm/resnet50.a1_in1k. Received: {source!r}"
        )
    filename = "/".join(parts[2:]) or HF_DEFAULT_FILE
    base = os.environ.get(HF_ENDPOINT_ENV) or "https://huggingface.co"
    return f"{base.rstrip('/')}/{parts[0]}/{parts[1]}/resolve/main/{filename}"


def is_checkpoint_source(weights) -> bool:
    """Whether `weights` (a `zoo.load` argument) names a peer checkpoint:
    an `hf://` address, or a file or URL with a checkpoint suffix."""
    text = str(weights)
    if text.startswith(HF_SCHEME):
        return True
    name = text.split("?", 1)[0].lower()
    return name.endswith((*SAFETENSORS_SUFFIXES, *TORCH_SUFFIXES))


def fetch_checkpoint(weights, sha256: str | None = None) -> Path:
    """A verified local copy of the checkpoint `weights` (downloads go
    into the zoo's cache)."""
    from keras_attention.zoo import download

    source = str(weights)
    if source.startswith(HF_SCHEME):
        source = hf_url(source)
    elif "://" not in source:
        source = str(Path(source).expanduser())
    return Path(download.fetch(source, sha256=sha256, cache_subdir="peers"))


def is_checkpoint(path: Path) -> bool:
    """Whether the local file `path` is a safetensors or PyTorch file."""
    return checkpoint_format(path) is not None


def detect(state) -> tuple[object, str]:
    """`(converter module, zoo model name)` of the state dict `state`."""
    for module_name in FAMILIES:
        family = importlib.import_module(module_name)
        found = family.detect(state)
        if found is not None:
            return family, found
    sample = ", ".join(sorted(state)[:6])
    families = ", ".join(m.rsplit(".", 1)[1] for m in FAMILIES)
    raise ConversionError(
        "No converter recognises this checkpoint (families: "
        f"{families}). Its first keys: {sample}"
    )


def load_checkpoint(name: str, path: Path, **kwargs):
    """The zoo model `name` converted from the checkpoint file `path`;
    `kwargs` go to its builder."""
    state = read_state(path)
    family, found = detect(state)
    if found != name:
        raise ConversionError(
            f"The checkpoint {path} holds a {found} ({family.FAMILY}), not "
            f"a {name}: load({found!r}, weights=...) converts it."
        )
    return family.build(state, name, **kwargs)
