"""Generic checks for a Keras layer, shared by the layer tests.

`check_layer(layer_cls, init_kwargs, input_shape)` runs every check in
`CHECKS`; each check is also a plain function so a test can run one alone.
Only public Keras API is used here.
"""

from __future__ import annotations

import inspect
import os
import tempfile

import keras
import numpy as np
from keras import ops

MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")
# Tolerances of a mixed-precision output against the float32 one.
MIXED_TOLERANCE = {"mixed_float16": 2e-2, "mixed_bfloat16": 1e-1}


def to_numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(ops.cast(x, "float32")))


def random_input(shape, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal(shape)).astype("float32")


def randomize_weights(layer: keras.layers.Layer, seed: int = 0) -> None:
    """Gives every weight (trainable or not) a non-trivial random value.

    Batch-norm variances get positive values; everything else, including
    biases, batch-norm offsets and moving means, a random normal value, so
    that a check cannot pass merely because a weight is zero or one.
    """
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        shape = tuple(weight.shape)
        if "variance" in weight.path:
            value = rng.uniform(0.5, 1.5, shape)
        elif "gamma" in weight.path:
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = 0.3 * rng.standard_normal(shape)
        weight.assign(value.astype(weight.dtype))


def new_layer(layer_cls, init_kwargs, input_shape, seed: int = 0, **extra):
    """Builds a layer for `input_shape` and randomises its weights."""
    layer = layer_cls(**{**init_kwargs, **extra})
    layer.build(tuple(input_shape))
    randomize_weights(layer, seed)
    return layer


def _transpose_to_channels_first(x: np.ndarray) -> np.ndarray:
    rank = x.ndim
    return np.transpose(x, (0, rank - 1, *range(1, rank - 1)))


def _transpose_to_channels_last(x: np.ndarray) -> np.ndarray:
    rank = x.ndim
    return np.transpose(x, (0, *range(2, rank), 1))


def _assert_close(actual, expected, atol, what):
    actual = to_numpy(actual)
    expected = to_numpy(expected)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape} != {expected.shape}"
    )
    np.testing.assert_allclose(
        actual, expected, atol=atol, rtol=atol, err_msg=what
    )


# --------------------------------------------------------------------------
# Individual checks. Each takes (layer_cls, init_kwargs, input_shape, atol).
# --------------------------------------------------------------------------


def check_output_shape(layer_cls, init_kwargs, input_shape, atol=1e-5):
    layer = new_layer(layer_cls, init_kwargs, input_shape)
    x = random_input(input_shape)
    y = layer(x)
    expected = tuple(layer.compute_output_shape(tuple(input_shape)))
    assert tuple(y.shape) == expected, (
        f"{layer_cls.__name__}: output shape {tuple(y.shape)} != "
        f"compute_output_shape {expected}"
    )
    # With an unknown batch size too.
    symbolic = layer.compute_output_shape((None, *input_shape[1:]))
    assert tuple(symbolic) == (None, *expected[1:])
    assert np.all(np.isfinite(to_numpy(y)))


def check_symbolic_vs_eager(layer_cls, init_kwargs, input_shape, atol=1e-5):
    layer = layer_cls(**init_kwargs)
    inputs = keras.Input(shape=tuple(input_shape[1:]))
    outputs = layer(inputs)
    assert tuple(outputs.shape) == (None, *input_shape[1:])
    model = keras.Model(inputs, outputs)
    randomize_weights(layer)
    x = random_input(input_shape)
    eager = layer(x)
    _assert_close(model(x), eager, atol, "functional model vs eager call")
    _assert_close(
        model.predict(x, verbose=0), eager, atol, "model.predict vs eager"
    )


def check_config_round_trip(layer_cls, init_kwargs, input_shape, atol=1e-5):
    layer = new_layer(layer_cls, init_kwargs, input_shape)
    config = layer.get_config()
    # Every constructor argument is stored under its own name.
    params = inspect.signature(layer_cls.__init__).parameters
    missing = [
        p
        for p, v in params.items()
        if p != "self" and v.kind == v.POSITIONAL_OR_KEYWORD and p not in config
    ]
    assert not missing, f"get_config() lacks arguments {missing}"
    for key, value in init_kwargs.items():
        stored = config[key]
        if isinstance(value, tuple):
            stored = tuple(stored)
        assert stored == value, f"config[{key!r}]={stored!r} != {value!r}"
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config
    clone.build(tuple(input_shape))
    clone.set_weights(layer.get_weights())
    x = random_input(input_shape)
    _assert_close(clone(x), layer(x), atol, "from_config clone output")


def check_saving(layer_cls, init_kwargs, input_shape, atol=1e-6):
    inputs = keras.Input(shape=tuple(input_shape[1:]))
    layer = layer_cls(**init_kwargs)
    model = keras.Model(inputs, layer(inputs))
    randomize_weights(layer)
    x = random_input(input_shape)
    expected = model(x)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    loaded_layer = loaded.layers[-1]
    assert type(loaded_layer) is layer_cls
    assert loaded_layer.get_config() == layer.get_config()
    for a, b in zip(
        loaded_layer.get_weights(), layer.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    _assert_close(loaded(x), expected, atol, "reloaded")


def check_fit_step(layer_cls, init_kwargs, input_shape, atol=1e-5):
    inputs = keras.Input(shape=tuple(input_shape[1:]))
    layer = layer_cls(**init_kwargs)
    x = layer(inputs)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    randomize_weights(layer)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [to_numpy(w) for w in layer.trainable_weights]
    assert before, f"{layer_cls.__name__} has no trainable weights"
    x = random_input(input_shape)
    y = np.ones((input_shape[0], 1), "float32")
    history = model.fit(x, y, batch_size=input_shape[0], epochs=1, verbose=0)
    loss = history.history["loss"][-1]
    assert np.isfinite(loss), f"loss={loss}"
    after = [to_numpy(w) for w in layer.trainable_weights]
    changed = [
        not np.allclose(a, b, atol=0, rtol=0)
        for a, b in zip(before, after, strict=True)
    ]
    assert any(changed), "no trainable weight of the layer changed"


def check_mixed_precision(layer_cls, init_kwargs, input_shape, atol=1e-5):
    reference = new_layer(layer_cls, init_kwargs, input_shape)
    x = random_input(input_shape)
    expected = to_numpy(reference(x))
    weights = reference.get_weights()
    # Large magnitudes: with more than 65 positions a float16 sum over the
    # map overflows, so the gates must pool in float32.
    big = np.abs(random_input(input_shape, seed=1, scale=1e3))
    for policy in MIXED_POLICIES:
        try:
            keras.config.set_dtype_policy(policy)
            layer = layer_cls(**init_kwargs)
            layer.build(tuple(input_shape))
            compute_dtype = keras.config.dtype_policy().compute_dtype
            assert layer.compute_dtype == compute_dtype
            for w in layer.weights:
                assert w.dtype == "float32", f"{w.path} is {w.dtype}"
            layer.set_weights(weights)
            y = layer(x)
            assert keras.backend.standardize_dtype(y.dtype) == compute_dtype, (
                f"{policy}: output dtype {y.dtype}"
            )
            tol = MIXED_TOLERANCE[policy]
            np.testing.assert_allclose(
                to_numpy(y), expected, atol=tol, rtol=tol, err_msg=policy
            )
            # Large-magnitude input: gates stay finite and in [0, 1].
            y_big = to_numpy(layer(big))
            assert np.all(np.isfinite(y_big)), f"{policy}: non-finite output"
            if hasattr(layer, "compute_attention"):
                for key, gate in layer.compute_attention(big).items():
                    gate = to_numpy(gate)
                    assert np.all(np.isfinite(gate)), f"{policy}: {key} gate"
                    assert gate.min() >= 0 and gate.max() <= 1, key
        finally:
            keras.config.set_dtype_policy("float32")


def check_channels_first(layer_cls, init_kwargs, input_shape, atol=1e-5):
    kwargs = {k: v for k, v in init_kwargs.items() if k != "data_format"}
    last = new_layer(
        layer_cls, kwargs, input_shape, data_format="channels_last"
    )
    x = random_input(input_shape)
    x_first = _transpose_to_channels_first(x)
    first = layer_cls(**kwargs, data_format="channels_first")
    first.build(x_first.shape)
    first.set_weights(last.get_weights())
    y_first = _transpose_to_channels_last(to_numpy(first(x_first)))
    _assert_close(y_first, last(x), atol, "channels_first vs channels_last")
    if hasattr(last, "compute_attention"):
        maps_last = last.compute_attention(x)
        maps_first = first.compute_attention(x_first)
        assert maps_last.keys() == maps_first.keys()
        for key in maps_last:
            _assert_close(maps_first[key], maps_last[key], atol, key)


CHECKS = {
    "output_shape": check_output_shape,
    "symbolic_vs_eager": check_symbolic_vs_eager,
    "config_round_trip": check_config_round_trip,
    "saving": check_saving,
    "fit_step": check_fit_step,
    "mixed_precision": check_mixed_precision,
    "channels_first": check_channels_first,
}


def check_layer(
    layer_cls,
    init_kwargs: dict,
    input_shape: tuple,
    checks: tuple[str, ...] | None = None,
    atol: float = 1e-5,
) -> None:
    """Runs the named checks (all of `CHECKS` by default) on a layer.

    Args:
        layer_cls: The layer class.
        init_kwargs: Constructor arguments (without `data_format`, which
            the channels-first check sets itself; inputs are channels last).
        input_shape: A channels-last input shape including the batch size.
        checks: Names from `CHECKS` to run, all when `None`.
        atol: Absolute and relative tolerance of the float32 comparisons.
    """
    for name in checks or tuple(CHECKS):
        CHECKS[name](layer_cls, init_kwargs, tuple(input_shape), atol=atol)
