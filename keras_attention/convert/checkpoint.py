"""Reading the peers' checkpoint files into plain numpy state dicts.

`read_state(path)` reads a local `.safetensors` file (the `safetensors`
package's numpy API; no torch needed) or a PyTorch pickle (`.pth`,
`.pth.tar`, `.pt`, `.bin`: `torch.load(..., weights_only=True)`, which
refuses to unpickle anything but tensors and plain containers; torch is
imported only then). A `state_dict` or `model` entry is unwrapped and the
`module.` prefix of `DataParallel` checkpoints is stripped.

Local files only: downloads belong to `keras_attention.zoo`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SAFETENSORS_SUFFIXES = (".safetensors",)
TORCH_SUFFIXES = (".pth", ".pth.tar", ".pt", ".bin", ".ckpt")
# Entries that hold the weights in training checkpoints.
WRAPPER_KEYS = ("state_dict", "model")
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"


class CheckpointError(ValueError):
    """A file that cannot be read as a checkpoint of tensors."""


def checkpoint_format(path: str | os.PathLike) -> str | None:
    """ "safetensors" or "torch" from the file name, else from the first
    bytes of an existing file; None when it is neither."""
    name = Path(path).name.lower()
    if name.endswith(SAFETENSORS_SUFFIXES):
        return "safetensors"
    if name.endswith(TORCH_SUFFIXES):
        return "torch"
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return None
    if head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC):
        return "torch"
    # safetensors: an 8-byte little-endian header length, then JSON.
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    return None


def _read_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(
            f"Cannot read {path} as a safetensors file: {error}"
        ) from error


def _to_numpy(key: str, value, path: Path) -> np.ndarray:
    import torch

    if not isinstance(value, torch.Tensor):
        raise CheckpointError(
            f"Expected only tensors in the state dict of {path}. "
            f"Received: {key!r} of type {type(value).__name__}"
        )
    value = value.detach().cpu()
    if value.dtype == torch.bfloat16:
        value = value.float()
    return value.numpy()


def _read_torch(path: Path) -> dict:
    try:
        import torch
    except ImportError as error:
        raise CheckpointError(
            f"Reading {path} needs PyTorch (`pip install torch`), which is "
            "not installed; a .safetensors file needs no torch."
        ) from error
    import pickle

    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as error:
        raise CheckpointError(
            f"Cannot read {path} as a PyTorch checkpoint of tensors (it is "
            "corrupt, or holds objects other than tensors, which are never "
            f"unpickled): {str(error).splitlines()[0]}"
        ) from error
    if not isinstance(data, dict):
        raise CheckpointError(
            f"Expected a dict of tensors in {path}. "
            f"Received: {type(data).__name__}"
        )
    for key in WRAPPER_KEYS:
        if isinstance(data.get(key), dict):
            data = data[key]
            break
    return {key: _to_numpy(key, value, path) for key, value in data.items()}


def _strip_prefix(state: dict, prefix: str = "module.") -> dict:
    if state and all(key.startswith(prefix) for key in state):
        return {key[len(prefix) :]: value for key, value in state.items()}
    return state


def read_state(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The tensors of the checkpoint file `path`, by name, as numpy arrays.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a safetensors or PyTorch file, a corrupt one,
            one holding non-tensor objects, or a `.pth` file without torch.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint file at {path}")
    fmt = checkpoint_format(path)
    if fmt == "safetensors":
        state = _read_safetensors(path)
    elif fmt == "torch":
        state = _read_torch(path)
    else:
        raise CheckpointError(
            f"Expected a checkpoint file ({', '.join(SAFETENSORS_SUFFIXES)}"
            f" or {', '.join(TORCH_SUFFIXES)}). Received: {path}"
        )
    if not state:
        raise CheckpointError(f"The checkpoint {path} holds no tensors.")
    return _strip_prefix(state)
