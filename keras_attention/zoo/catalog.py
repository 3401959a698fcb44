"""Generating and checking the catalog (`catalog.json`, in the package at
`keras_attention/zoo/data/`): parameter and MAC counts.

The catalog holds, for every registered model, the figures that `info()`
and `keras-attention list` show without building anything:

- `params`: every variable of the model (`count_params()`, including
  batch-norm moving statistics, as Keras counts them);
- `trainable_params`: the trainable weights only (the papers' and
  PyTorch's "parameters": ResNet-50 has 25,557,032);
- `macs`: multiply-accumulates of one forward pass of one example
  (`keras_attention.flops.count_macs`; the papers' "FLOPs");
- `input_shape`: the shape these were computed at;
- `task`: "image" or "audio", so that `keras-attention list` answers
  from the catalog alone, without importing Keras.

All are computed at the spec's default input shape (224x224x3 for the
image models) with the builder's default head (1000 classes for images).
Regenerate with `keras-attention catalog --write`; verify with
`keras-attention catalog --check`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import keras

from keras_attention import atomic
from keras_attention.flops import count_macs
from keras_attention.zoo import registry
from keras_attention.zoo.locations import catalog_path, read_catalog

__all__ = [
    "FIELDS",
    "catalog_path",
    "check_catalog",
    "compute_catalog",
    "compute_entry",
    "read_catalog",
    "write_catalog",
]

FIELDS = ("input_shape", "macs", "params", "task", "trainable_params")


def _count(weights) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def compute_entry(name: str) -> dict:
    """Builds `name` at its default input shape and default head and
    returns its catalog entry.

    Args:
        name: A registered model name.

    Returns:
        `{"params", "trainable_params", "macs", "input_shape", "task"}`.

    Examples:
        >>> compute_entry("resnet18")["trainable_params"]  # doctest: +SKIP
        11689512
    """
    spec = registry.get_spec(name)
    input_shape = tuple(spec.input_shape)
    model = spec.builder(input_shape=input_shape)
    return {
        "params": int(model.count_params()),
        "trainable_params": _count(model.trainable_weights),
        "macs": int(count_macs(model, input_shape)),
        "input_shape": [int(d) for d in input_shape],
        "task": spec.task,
    }


def compute_catalog(names=None, progress=None) -> dict[str, dict]:
    """Catalog entries of `names` (default: every registered model).

    `progress`, if given, is called as `progress(name, entry)` after each
    model.
    """
    names = registry.list_models() if names is None else list(names)
    catalog = {}
    for name in names:
        catalog[name] = compute_entry(name)
        # Frees the model's global state before building the next one.
        keras.backend.clear_session()
        if progress is not None:
            progress(name, catalog[name])
    return catalog


def _write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_catalog(path=None, names=None, progress=None) -> Path:
    """Computes the entries of `names` (default: all registered models)
    and writes the catalog atomically (sorted keys, indent 2).

    With `names`, the other entries already in the file are kept, so a
    newly registered family can be added without rebuilding the rest;
    without `names`, entries of models no longer registered are dropped.

    Returns:
        The path written.
    """
    path = Path(path) if path is not None else catalog_path()
    if names is None:
        catalog = compute_catalog(progress=progress)
    else:
        catalog = read_catalog(path)
        catalog.update(compute_catalog(names, progress=progress))
    _write_json_atomic(path, catalog)
    return path


def check_catalog(names=None, path=None) -> list[dict]:
    """Recomputes `names` (default: all registered models) and compares
    them with the catalog on disk.

    Returns:
        One dict per mismatch, `{"name", "field", "catalog", "computed"}`
        (`field` is `"missing"` for a model without an entry, `"stale"` for
        an entry of an unregistered model when `names` is None). Empty when
        the catalog is up to date.
    """
    stored = read_catalog(path)
    mismatches = []
    if names is None:
        names = registry.list_models()
        for name in sorted(set(stored) - set(names)):
            mismatches.append(
                {
                    "name": name,
                    "field": "stale",
                    "catalog": stored[name],
                    "computed": None,
                }
            )
    for name in names:
        computed = compute_entry(name)
        if name not in stored:
            mismatches.append(
                {
                    "name": name,
                    "field": "missing",
                    "catalog": None,
                    "computed": computed,
                }
            )
            continue
        for field in FIELDS:
            if stored[name].get(field) != computed[field]:
                mismatches.append(
                    {
                        "name": name,
                        "field": field,
                        "catalog": stored[name].get(field),
                        "computed": computed[field],
                    }
                )
    return mismatches
