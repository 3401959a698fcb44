"""Export a zoo model as a SavedModel, TFLite or ONNX file, checked
against Keras.

`export(model_or_name, path, format)` writes the artefact under a
temporary name beside `path`, loads it back, runs it on a small random
batch and compares its outputs with `model.predict`. Only when they agree
within `TOLERANCE` (relative to the output scale) does the artefact move
to `path`; otherwise it is deleted and `ExportError` names the difference.
A format that cannot work on the running backend for the model's kind
(see `SUPPORT`) is refused before anything is written.

What the artefact takes as input is the Keras model's own graph, as
`predict` runs it:

- audio models: the raw float waveform `(batch, samples)`; the log-mel
  front end is inside the graph;
- image classifiers: *preprocessed* images. keras-hub tasks apply their
  preprocessor (resize, to RGB, `(x / 255 - mean) / std`) in `predict`,
  outside the graph, so apply `model.preprocessor` to [0, 255] images
  first. The parity check feeds the artefact `model.preprocessor(images)`
  and compares with `model.predict(images)`.

Dimensions the model leaves open (`None`) stay open, except on JAX,
where they are fixed to the checked batch's shape (32 pixels a side,
16000 samples): build the model with the `input_shape` you will serve.

`SUPPORT` is measured, not promised: tests/test_export.py exports every
entry marked supported on its backend and checks that every other entry
is refused with nothing left at the path; the export guide's table is
rendered from it by docs/hooks/catalog.py.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from pathlib import Path

import keras
import numpy as np

from keras_attention import atomic

__all__ = [
    "BACKENDS",
    "FORMATS",
    "KINDS",
    "SUPPORT",
    "TOLERANCE",
    "ExportError",
    "ExportResult",
    "export",
    "support_reason",
]

BACKENDS = ("tensorflow", "jax", "torch")
FORMATS = ("saved_model", "tflite", "onnx")
KINDS = ("image", "audio")
SUFFIXES = {"saved_model": "", "tflite": ".tflite", "onnx": ".onnx"}
TOLERANCE = 1e-4
# The modules each format writes and reads its artefact with.
NEEDS = {
    "saved_model": ("tensorflow",),
    "tflite": ("tensorflow",),
    "onnx": ("tensorflow", "tf2onnx", "onnx", "onnxruntime"),
}
BATCH = 2

_STFT = (
    "tf2onnx cannot convert the log-mel front end's STFT (RFFT followed "
    "by Real/Imag) and would write an invalid graph"
)
_JAX_TFLITE = (
    "the TFLite converter cannot lower the StableHLO that jax2tf emits "
    "(dynamic gather, transpose)"
)
_JAX_ONNX = (
    "Keras needs the jax2onnx package, which is not a dependency of this "
    "project (it brings flax, optax and orbax)"
)
_TORCH_SAVED_MODEL = (
    "Keras converts torch models to a SavedModel only through torch_xla, "
    "which is not a dependency of this project"
)
_TORCH_ONNX = (
    "torch.onnx cannot trace the keras-hub functional models (it fails "
    "inside Conv2D and BatchNormalization), as it does for keras-hub's "
    "own ResNetBackbone"
)
_TORCH_TFLITE = (
    "Keras needs the litert-torch package and a fixed input shape; it "
    "is not a dependency of this project"
)

# (backend, format, kind) -> None where the export works, else why not.
SUPPORT: dict[tuple[str, str, str], str | None] = {
    ("tensorflow", "saved_model", "image"): None,
    ("tensorflow", "saved_model", "audio"): None,
    ("tensorflow", "tflite", "image"): None,
    ("tensorflow", "tflite", "audio"): None,
    ("tensorflow", "onnx", "image"): None,
    ("tensorflow", "onnx", "audio"): _STFT,
    ("jax", "saved_model", "image"): None,
    ("jax", "saved_model", "audio"): None,
    ("jax", "tflite", "image"): _JAX_TFLITE,
    ("jax", "tflite", "audio"): _JAX_TFLITE,
    ("jax", "onnx", "image"): _JAX_ONNX,
    ("jax", "onnx", "audio"): _JAX_ONNX,
    ("torch", "saved_model", "image"): _TORCH_SAVED_MODEL,
    ("torch", "saved_model", "audio"): _TORCH_SAVED_MODEL,
    ("torch", "tflite", "image"): _TORCH_TFLITE,
    ("torch", "tflite", "audio"): _TORCH_TFLITE,
    ("torch", "onnx", "image"): _TORCH_ONNX,
    ("torch", "onnx", "audio"): _TORCH_ONNX,
}


class ExportError(ValueError):
    """An export that cannot work here, or whose artefact disagrees with
    Keras."""


@dataclasses.dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    backend: str
    kind: str
    max_difference: float
    output_scale: float
    input_shape: tuple


def _working(kind: str) -> str:
    found = [
        f"{fmt} on {backend}"
        for (backend, fmt, k), reason in SUPPORT.items()
        if k == kind and reason is None
    ]
    return ", ".join(found) or "none"


def support_reason(backend: str, format: str, kind: str) -> str | None:
    """None if `format` export works for a `kind` model on `backend`, else
    one sentence saying why not and what works instead."""
    reason = SUPPORT[(backend, format, kind)]
    if reason is None:
        return None
    return (
        f"{format} export of an {kind} model does not work on the "
        f"{backend} backend: {reason}. What works for {kind} models: "
        f"{_working(kind)} (set KERAS_BACKEND)."
    )


def _kind(model) -> str:
    from keras_attention.models import AudioCNNClassifier

    return "audio" if isinstance(model, AudioCNNClassifier) else "image"


def _check_arguments(format: str, path: Path) -> None:
    if format not in FORMATS:
        raise ExportError(
            f"Unknown export format {format!r}: expected one of "
            f"{', '.join(FORMATS)}."
        )
    suffix = SUFFIXES[format]
    if suffix and path.suffix != suffix:
        raise ExportError(
            f"A {format} export is one file ending in {suffix!r}. "
            f"Received: {path}"
        )
    if not path.parent.is_dir():
        raise ExportError(f"The folder of {path} does not exist.")
    missing = [m for m in NEEDS[format] if importlib.util.find_spec(m) is None]
    if missing:
        raise ExportError(
            f"{format} export needs {', '.join(missing)}: "
            f"pip install {' '.join(missing)}"
        )


def _refuse_unsupported(format: str, kind: str) -> None:
    reason = support_reason(keras.backend.backend(), format, kind)
    if reason is not None:
        raise ExportError(reason)


def _sample(model, kind: str):
    """A small random batch: what `predict` takes, and what the artefact
    takes (the preprocessed batch for image classifiers)."""
    rng = np.random.default_rng(0)
    if kind == "audio":
        shape = tuple(16000 if d is None else d for d in model.input_shape[1:])
        raw = rng.uniform(-1.0, 1.0, (BATCH, *shape)).astype("float32")
        return raw, raw
    shape = tuple(32 if d is None else d for d in model.input_shape[1:])
    raw = rng.uniform(0.0, 255.0, (BATCH, *shape)).astype("float32")
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        return raw, raw
    graph_input = keras.ops.convert_to_numpy(preprocessor(raw))
    return raw, np.asarray(graph_input, dtype="float32")


def _run_saved_model(path: Path, x):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return loaded.serve(x).numpy()


def _run_tflite(path: Path, x):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    (inp,), (out,) = (
        interpreter.get_input_details(),
        interpreter.get_output_details(),
    )
    interpreter.resize_tensor_input(inp["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(out["index"])


def _run_onnx(path: Path, x):
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: x})[0]


_KERAS_FORMAT = {
    "saved_model": "tf_saved_model",
    "tflite": "litert",
    "onnx": "onnx",
}
_RUNNERS = {
    "saved_model": _run_saved_model,
    "tflite": _run_tflite,
    "onnx": _run_onnx,
}


def _input_signature(model, graph_input):
    """JAX exports shapes symbolically and cannot decide the front end's
    comparisons on a variable length: fix every dimension but the batch
    to the checked batch's (a variable-length model then exports for that
    length)."""
    if keras.backend.backend() != "jax":
        return None
    if None not in model.input_shape[1:]:
        return None
    shape = (None, *graph_input.shape[1:])
    return [keras.InputSpec(shape=shape, dtype="float32")]


def _write_and_check(model, tmp: Path, format: str, graph_input, expected):
    model.export(
        str(tmp),
        format=_KERAS_FORMAT[format],
        verbose=False,
        input_signature=_input_signature(model, graph_input),
    )
    actual = np.asarray(_RUNNERS[format](tmp, graph_input))
    scale = max(1.0, float(np.max(np.abs(expected))))
    if actual.shape != expected.shape:
        raise ExportError(
            f"The {format} artefact returns shape {actual.shape}; "
            f"model.predict returns {expected.shape}. Nothing was written."
        )
    difference = float(np.max(np.abs(actual - expected)))
    if not difference <= TOLERANCE * scale:
        raise ExportError(
            f"The {format} artefact differs from model.predict by "
            f"{difference:.3g} (allowed {TOLERANCE * scale:.3g}). Nothing "
            "was written."
        )
    return difference, scale


def export(
    model_or_name,
    path: str | os.PathLike,
    format: str = "saved_model",
    weights="default",
) -> ExportResult:
    """Exports a zoo model and checks the artefact against Keras.

    Args:
        model_or_name: A `keras.Model` from the zoo, or a registered model
            name (loaded with `zoo.load(name, weights=weights)`).
        path: Where the artefact goes: a folder for `saved_model`, a
            `.tflite` or `.onnx` file. An existing one is replaced only by
            an artefact that passed the check.
        format: `"saved_model"`, `"tflite"` or `"onnx"`.
        weights: For a model name: the weights to load (see `zoo.load`).

    Returns:
        An `ExportResult`: the path, format, backend, model kind and the
        largest absolute difference from `model.predict` on a random batch.

    Raises:
        ExportError: an unknown format, a path of the wrong kind, a format
            that cannot work on this backend for this model (before
            anything is written), or an artefact that disagrees with Keras
            (deleted).
    """
    path = Path(path)
    _check_arguments(format, path)
    if isinstance(model_or_name, str):
        from keras_attention.zoo import registry

        task = registry.get_spec(model_or_name).task
        _refuse_unsupported(format, "audio" if task == "audio" else "image")
        from keras_attention import zoo

        model = zoo.load(model_or_name, weights=weights)
    else:
        model = model_or_name
    kind = _kind(model)
    _refuse_unsupported(format, kind)
    raw, graph_input = _sample(model, kind)
    expected = np.asarray(model.predict(raw, verbose=0))
    if format == "saved_model":
        writer = atomic.atomic_dir(path)
    else:
        writer = atomic.atomic_path(path)
    with writer as tmp:
        difference, scale = _write_and_check(
            model, tmp, format, graph_input, expected
        )
    return ExportResult(
        path=path,
        format=format,
        backend=keras.backend.backend(),
        kind=kind,
        max_difference=difference,
        output_scale=scale,
        input_shape=graph_input.shape,
    )
