"""Behaviour of the attention layers: the generic layer checks, attention
maps, serialisation, argument checks, `get_attention` and docstrings."""

from __future__ import annotations

import doctest
import importlib

import keras
import numpy as np
import pytest
from helpers.layer_checks import (
    CHECKS,
    check_layer,
    new_layer,
    random_input,
    to_numpy,
)

import keras_attention
from keras_attention.layers import (
    BAM,
    CBAM,
    ECA,
    ChannelAttention,
    SpatialAttention,
    SqueezeExcite,
    get_attention,
)

LAYERS = {
    "SqueezeExcite": SqueezeExcite,
    "ChannelAttention": ChannelAttention,
    "SpatialAttention": SpatialAttention,
    "CBAM": CBAM,
    "ECA": ECA,
    "BAM": BAM,
}
# Small but non-trivial constructor arguments (16 channels / 4 = 4 hidden).
KWARGS = {
    "SqueezeExcite": {"reduction": 4},
    # All four pool types, so that every check covers "lp" and "lse" too.
    "ChannelAttention": {
        "reduction": 4,
        "pool_types": ("avg", "max", "lp", "lse"),
    },
    "SpatialAttention": {"kernel_size": 3},
    "CBAM": {"reduction": 4, "kernel_size": 3},
    "ECA": {"kernel_size": 3},
    "BAM": {"reduction": 4, "dilation_rate": 2},
}
# Enough positions (72, 70) that a float16 sum of values of 1e3 over them
# would overflow: the mixed-precision check feeds such inputs.
SHAPES = {"2d": (2, 9, 8, 16), "1d": (2, 70, 16)}
# The keys `compute_attention` documents for each layer.
ATTENTION_KEYS = {
    "SqueezeExcite": {"channel"},
    "ChannelAttention": {"channel"},
    "SpatialAttention": {"spatial"},
    "CBAM": {"channel", "spatial"},
    "ECA": {"channel"},
    "BAM": {"channel", "spatial"},
}
HAS_REDUCTION = ("SqueezeExcite", "ChannelAttention", "CBAM", "BAM")
CASES = [(name, dims) for name in LAYERS for dims in SHAPES]


def _case_id(case):
    return f"{case[0]}-{case[1]}"


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_layer_checks(case, check):
    name, dims = case
    check_layer(LAYERS[name], KWARGS[name], SHAPES[dims], checks=(check,))


# ------------------------------------------- channels-first without NCHW


def _convolutions(layer) -> list:
    return [
        sub
        for sub in layer._flatten_layers(include_self=False)
        if isinstance(sub, keras.layers.Conv1D | keras.layers.Conv2D)
    ]


@pytest.mark.parametrize("name", ["SpatialAttention", "CBAM", "BAM"], ids=str)
@pytest.mark.parametrize("dims", list(SHAPES))
def test_channels_first_without_nchw_convolutions(
    name, dims, monkeypatch, tmp_path
):
    """With channels-first convolutions forced off (a TensorFlow CPU
    without oneDNN), a channels-first layer computes its convolutions
    channels-last, and still matches the channels-last layer exactly,
    weights, attention maps and a `.keras` round trip included."""
    monkeypatch.setenv("KERAS_ATTENTION_NCHW_CONV", "channels_last")
    check_layer(
        LAYERS[name], KWARGS[name], SHAPES[dims], checks=("channels_first",)
    )
    shape = SHAPES[dims]
    first_shape = (shape[0], shape[-1], *shape[1:-1])
    layer = LAYERS[name](**KWARGS[name], data_format="channels_first")
    layer.build(first_shape)
    convs = _convolutions(layer)
    assert convs, "the layer has convolutions"
    assert {conv.data_format for conv in convs} == {"channels_last"}
    assert layer.get_config()["data_format"] == "channels_first"
    inputs = keras.Input(first_shape[1:])
    model = keras.Model(inputs, layer(inputs))
    x = np.transpose(
        random_input(shape), (0, len(shape) - 1, *range(1, len(shape) - 1))
    )
    path = tmp_path / "model.keras"
    model.save(path)
    # The saved model reloads, and runs, with native kernels where the
    # device has them and with the fallback where it does not.
    monkeypatch.setenv("KERAS_ATTENTION_NCHW_CONV", "auto")
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        to_numpy(reloaded(x)), to_numpy(model(x)), rtol=1e-5, atol=1e-5
    )


# ---------------------------------------------------------------- attention


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_compute_attention(case):
    name, dims = case
    shape = SHAPES[dims]
    layer = new_layer(LAYERS[name], KWARGS[name], shape)
    x = random_input(shape)
    before = to_numpy(layer(x))
    weights_before = layer.get_weights()
    maps = layer.compute_attention(x)
    assert set(maps) == ATTENTION_KEYS[name]
    expected_shapes = {
        "channel": (shape[0], shape[-1]),
        "spatial": tuple(shape[:-1]),
    }
    for key, value in maps.items():
        value = to_numpy(value)
        assert value.shape == expected_shapes[key], key
        assert np.all((value >= 0) & (value <= 1)), key
        assert value.std() > 0, f"{key} map is constant"
    # Computing the maps changes neither the output nor any weight
    # (batch-norm moving statistics included).
    np.testing.assert_array_equal(to_numpy(layer(x)), before)
    for a, b in zip(layer.get_weights(), weights_before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", list(LAYERS))
def test_compute_attention_before_first_call(name):
    layer = LAYERS[name](**KWARGS[name])
    x = random_input(SHAPES["2d"])
    maps = layer.compute_attention(x)
    assert set(maps) == ATTENTION_KEYS[name]
    assert tuple(layer(x).shape) == SHAPES["2d"]


@pytest.mark.parametrize(
    "kwargs, keys",
    [
        ({"use_spatial": False}, {"channel"}),
        ({"use_channel": False}, {"spatial"}),
    ],
)
def test_cbam_single_gate(kwargs, keys):
    shape = SHAPES["2d"]
    layer = new_layer(CBAM, {**KWARGS["CBAM"], **kwargs}, shape)
    x = random_input(shape)
    assert set(layer.compute_attention(x)) == keys
    sub = layer.channel_gate if "channel" in keys else layer.spatial_gate
    np.testing.assert_allclose(
        to_numpy(layer(x)), to_numpy(sub(x)), atol=1e-6, rtol=1e-6
    )


# ----------------------------------------------------------- registration


@pytest.mark.parametrize("name", list(LAYERS))
def test_registered_for_serialization(name):
    cls = LAYERS[name]
    key = f"keras_attention>{name}"
    assert keras.saving.get_registered_object(key) is cls
    assert keras.saving.get_registered_name(cls) == key
    original = cls(**KWARGS[name], name="att")
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(original)
    )
    assert type(restored) is cls
    assert restored.get_config() == original.get_config()


# ------------------------------------------------------------ bad arguments


def _bad_construction_cases():
    cases = []
    for name in HAS_REDUCTION:
        for value in (0, -1, 1.5):
            cases.append((name, {"reduction": value}, "reduction", value))
    for name in ("CBAM", "SpatialAttention", "ECA"):
        cases.append((name, {"kernel_size": 4}, "kernel_size", 4))
    for name in LAYERS:
        cases.append(
            (
                name,
                {"data_format": "channels_mid"},
                "data_format",
                "channels_mid",
            )
        )
    cases.append(("BAM", {"fusion": "concat"}, "fusion", "concat"))
    for name in ("ChannelAttention", "CBAM"):
        cases.append(
            (name, {"pool_types": ("avg", "median")}, "pool_types", "median")
        )
    cases.append(
        (
            "CBAM",
            {"use_channel": False, "use_spatial": False},
            "use_channel",
            False,
        )
    )
    return cases


@pytest.mark.parametrize(
    "name, kwargs, arg, value",
    _bad_construction_cases(),
    ids=lambda v: str(v) if not isinstance(v, dict) else "-".join(v),
)
def test_bad_arguments_raise(name, kwargs, arg, value):
    with pytest.raises(ValueError) as info:
        LAYERS[name](**kwargs)
    message = str(info.value)
    assert name in message
    assert f"`{arg}`" in message
    assert repr(value) in message


@pytest.mark.parametrize("rank", [2, 6])
@pytest.mark.parametrize("name", list(LAYERS))
def test_wrong_input_rank_raises(name, rank):
    shape = {2: (2, 8), 6: (2, 3, 2, 2, 2, 8)}[rank]
    layer = LAYERS[name](**KWARGS[name])
    with pytest.raises(ValueError) as info:
        layer(np.zeros(shape, "float32"))
    message = str(info.value)
    assert name in message
    assert "rank" in message
    assert f"input_shape={shape}" in message


# --------------------------------------------------------- small channels


@pytest.mark.parametrize("name", list(LAYERS))
def test_fewer_channels_than_reduction(name):
    kwargs = {"reduction": 16} if name in HAS_REDUCTION else {}
    shape = (*SHAPES["2d"][:-1], 4)
    layer = new_layer(LAYERS[name], kwargs, shape)
    y = to_numpy(layer(random_input(shape)))
    assert y.shape == shape
    assert np.all(np.isfinite(y))
    # 4 / 16 rounds to 0: the hidden width is clamped to min_channels (1).
    if name == "CBAM":
        assert layer.channel_gate.hidden_channels == 1
    elif name in HAS_REDUCTION:
        assert layer.hidden_channels == 1


@pytest.mark.parametrize("name", ["SqueezeExcite", "ChannelAttention", "BAM"])
def test_min_channels_clamps_hidden_width(name):
    layer = LAYERS[name](reduction=16, min_channels=3)
    layer.build((None, 9, 8, 4))
    assert layer.hidden_channels == 3


# ------------------------------------------------------------ get_attention


@pytest.mark.parametrize(
    "spec, cls",
    [
        ("se", SqueezeExcite),
        ("SE", SqueezeExcite),
        ("cbam", CBAM),
        ("eca", ECA),
        ("bam", BAM),
        ("channel", ChannelAttention),
        ("spatial", SpatialAttention),
        (CBAM, CBAM),
    ],
)
def test_get_attention_resolves(spec, cls):
    layer = get_attention(spec)
    assert type(layer) is cls
    assert not layer.built
    assert get_attention(spec) is not layer


@pytest.mark.parametrize("spec", [None, "none", "None"])
def test_get_attention_none(spec):
    assert get_attention(spec) is None


def test_get_attention_kwargs_and_dicts():
    assert get_attention("cbam", reduction=8).reduction == 8
    assert get_attention(SqueezeExcite, reduction=2).reduction == 2
    layer = get_attention({"type": "bam", "reduction": 4, "fusion": "product"})
    assert isinstance(layer, BAM)
    assert (layer.reduction, layer.fusion) == (4, "product")
    # Keyword arguments override the dict's.
    eca = get_attention({"type": "eca", "kernel_size": 5}, kernel_size=7)
    assert isinstance(eca, ECA) and eca.kernel_size == 7
    spec = {"type": "se", "reduction": 4}
    get_attention(spec)
    assert spec == {"type": "se", "reduction": 4}, "spec was mutated"


def test_get_attention_serialized_dict():
    original = CBAM(reduction=4, kernel_size=5, name="att")
    serialized = keras.saving.serialize_keras_object(original)
    layer = get_attention(serialized)
    assert type(layer) is CBAM
    assert layer.get_config() == original.get_config()
    assert get_attention(serialized, reduction=2).reduction == 2


def test_get_attention_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as info:
        get_attention("cbma")
    message = str(info.value)
    for valid in ("se", "cbam", "eca", "bam", "channel", "spatial"):
        assert repr(valid) in message
    assert "'cbma'" in message
    assert "Did you mean 'cbam'" in message


@pytest.mark.parametrize("spec", [{"reduction": 4}, 42])
def test_get_attention_bad_spec(spec):
    with pytest.raises(ValueError, match="get_attention"):
        get_attention(spec)


# ---------------------------------------------------------------- BAM


def test_bam_fusion_product_differs_from_sum():
    shape = SHAPES["2d"]
    summed = new_layer(BAM, KWARGS["BAM"], shape)
    product = BAM(**KWARGS["BAM"], fusion="product")
    product.build(shape)
    product.set_weights(summed.get_weights())
    x = random_input(shape)
    y_sum, y_product = to_numpy(summed(x)), to_numpy(product(x))
    assert np.abs(y_sum - y_product).max() > 1e-3


# -------------------------------------------------------------- doctests

DOC_MODULES = [
    "squeeze_excite",
    "channel_attention",
    "spatial_attention",
    "cbam",
    "eca",
    "bam",
    "factory",
]


@pytest.mark.parametrize("module_name", DOC_MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(f"keras_attention.layers.{module_name}")
    globs = {"keras": keras, "np": np, **vars(keras_attention.layers)}
    tests = doctest.DocTestFinder().find(module, globs=globs)
    examples = sum(len(t.examples) for t in tests)
    assert examples > 0, f"{module_name} has no docstring examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = []
    for test in tests:
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)


def test_check_positive_int_takes_numpy_ints_not_bools():
    from keras_attention.layers._utils import check_positive_int

    value = check_positive_int("CBAM", "reduction", np.int64(8))
    assert value == 8 and type(value) is int
    assert check_positive_int("CBAM", "reduction", 3) == 3
    for bad in (True, False, np.bool_(True), 2.0, "8", 0, np.int32(0)):
        with pytest.raises(ValueError, match="`reduction` to be an integer"):
            check_positive_int("CBAM", "reduction", bad)
