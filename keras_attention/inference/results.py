"""Model outputs to class probabilities, labels and the top-k classes."""

from __future__ import annotations

from keras_attention.inference.errors import InferenceError


def head_activation(model) -> str | None:
    """The name of the classification head's activation (e.g. "softmax",
    "sigmoid"); None when the head gives logits."""
    activation = getattr(model, "activation", None)
    if activation is None:
        return None
    if callable(activation):
        activation = getattr(activation, "__name__", str(activation))
    return None if activation == "linear" else str(activation)


def probabilities(model, outputs):
    """Class probabilities `(batch, classes)` (float64) of the model's
    outputs: a softmax of logits, the outputs themselves when the head
    has an activation (softmax, sigmoid...)."""
    import numpy as np

    outputs = np.asarray(outputs, dtype="float64")
    if head_activation(model) is None:  # logits
        shifted = outputs - outputs.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=-1, keepdims=True)
    return outputs


def class_labels(
    model, count: int, card: dict | None = None, fallback: str = "{}"
) -> list[str]:
    """The `count` class names of the model (or of its model card), else
    `fallback.format(i)` for class i."""
    candidates = (
        getattr(model, "class_names", None),
        (card or {}).get("class_names"),
    )
    for names in candidates:
        if names and len(names) == count:
            return [str(n) for n in names]
    return [fallback.format(i) for i in range(count)]


def check_top_k(top_k: int) -> None:
    """Raises InferenceError unless `top_k` >= 1."""
    if top_k < 1:
        raise InferenceError(f"Expected --top-k >= 1. Received: {top_k}")


def is_multi_label(model) -> bool:
    """Whether the head scores each class on its own (a sigmoid: tags, as
    PANNs' AudioSet models) rather than one distribution over them."""
    return head_activation(model) == "sigmoid"


def _best(probs, k: int, labels: list[str]) -> list[tuple]:
    import numpy as np

    top = np.argsort(-probs, kind="stable")[: min(k, probs.shape[-1])]
    return [(int(i), labels[i], float(probs[i])) for i in top]


def top_classes(
    model, outputs, k: int, labels: list[str] | None = None
) -> tuple:
    """`(probs, top)`: the scores of the whole input and its `k` best
    `(index, label, score)`, best first (ties in class order).

    Over a batch (e.g. the windows of an audio clip), class probabilities
    are averaged; a multi-label (sigmoid) head's tags take their highest
    score in any window, as a sound that occurs anywhere in the clip."""
    probs = probabilities(model, outputs)
    probs = probs.max(axis=0) if is_multi_label(model) else probs.mean(axis=0)
    labels = labels or class_labels(model, probs.shape[-1])
    return probs, _best(probs, k, labels)


def frame_classes(
    model,
    outputs,
    k: int,
    seconds_per_frame: float,
    labels: list[str] | None = None,
) -> list[tuple]:
    """Frame-wise scores for sound event detection: one
    `(start_s, end_s, top)` per row of `outputs` (an audio clip's
    consecutive windows, each `seconds_per_frame` long), `top` as in
    `top_classes`."""
    probs = probabilities(model, outputs)
    labels = labels or class_labels(model, probs.shape[-1])
    return [
        (
            i * seconds_per_frame,
            (i + 1) * seconds_per_frame,
            _best(p, k, labels),
        )
        for i, p in enumerate(probs)
    ]
