"""Every registered model, and the ResNet family against published figures.

The forward test is parametrized over `zoo.list_models()`, so a newly
registered model is tested without a new test. The figures come from
/work/shared/REFERENCE.md (timm's results table and the papers).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_attention import zoo
from keras_attention.layers import BAM, _layout
from keras_attention.models import build_resnet
from keras_attention.zoo import catalog

SEED = 0


def _run(model, x):
    """Eager inference forward pass (bypasses a task's preprocessor).

    Eager rather than `predict`: on JAX, compiling a whole ResNet-101 with
    XLA takes far longer than dispatching its ops one by one, whose
    compiled kernels are shared by all the models of a test process.
    """
    return keras.ops.convert_to_numpy(model(x, training=False))


def _trainable(model) -> int:
    return sum(math.prod(w.shape) for w in model.trainable_weights)


def _tiny_input_shape(spec) -> tuple:
    if spec.task == "audio":
        # An eighth of the default clip (0.5 s at 16 kHz).
        return (spec.input_shape[0] // 8,)
    return (32, 32, 3)


@functools.cache
def _imagenet_model(name: str):
    """`name` at 224x224x3 with 1000 classes, built once per process."""
    return zoo.load(name, weights=None, input_shape=(224, 224, 3))


# ---------------------------------------------------------------- forward


@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_builds_and_runs(name):
    spec = zoo.get_spec(name)
    shape = _tiny_input_shape(spec)
    model = zoo.load(name, weights=None, num_classes=3, input_shape=shape)
    y = _run(model, _tiny_batch(spec, shape))
    assert y.shape == (2, 3)
    assert np.all(np.isfinite(y))


def _tiny_batch(spec, shape):
    rng = np.random.default_rng(SEED)
    if spec.task == "audio":
        return rng.uniform(-0.5, 0.5, (2, *shape)).astype("float32")
    return rng.uniform(0, 255, (2, *shape)).astype("float32")


def _policies(model) -> dict:
    return {
        layer.name: layer.dtype_policy.name
        for layer in model._flatten_layers(include_self=False)
    }


# Layers that compute in float32 under any policy: inputs, the image
# preprocessor and the audio front end before the first normalisation.
FLOAT32_ALWAYS = {"images", "waveforms", "pad_short", "log_mel"}
HEAD = {
    "pooler",
    "pooled_dropout",
    "embedding",
    "output_dropout",
    "predictions",
}


@pytest.mark.parametrize(
    "name", ["cbam_resnet18", "bam_resnet18", "eca_cnn6", "se_resnet18_audio"]
)
def test_dtype_policy_reaches_every_layer(name, tmp_path):
    """`dtype="mixed_bfloat16"` puts every backbone layer (attention
    modules and their inner layers included) under mixed precision, and
    `head_dtype="float32"` keeps the head and the logits in float32; the
    policies survive a `.keras` round trip and the model trains."""
    spec = zoo.get_spec(name)
    shape = _tiny_input_shape(spec)
    model = zoo.load(
        name,
        weights=None,
        num_classes=3,
        input_shape=shape,
        dtype="mixed_bfloat16",
        head_dtype="float32",
    )
    policies = _policies(model)
    float32 = {n for n, p in policies.items() if p == "float32"}
    unexpected = {
        n
        for n in float32 - FLOAT32_ALWAYS - HEAD
        if not re.search(r"^resizing|_preprocessor|_converter", n)
    }
    assert not unexpected
    assert HEAD & set(policies) <= float32
    mixed = {n for n, p in policies.items() if p == "mixed_bfloat16"}
    assert len(mixed) > 20
    assert any(n.endswith(("_attention", "_bam")) for n in mixed)
    x = _tiny_batch(spec, shape)
    y = model(x, training=False)
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    loss = model.train_on_batch(x, np.array([0, 2]))
    assert np.all(np.isfinite(loss))
    assert {w.dtype for w in model.weights} == {"float32"}
    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    backbone_policies = _policies(reloaded.backbone)
    assert set(backbone_policies.values()) - {"float32"} == {"mixed_bfloat16"}
    assert {
        n for n, p in backbone_policies.items() if p == "float32"
    } <= FLOAT32_ALWAYS


def test_default_dtype_policy_is_float32_everywhere():
    model = zoo.load("cbam_resnet18", weights=None, input_shape=(32, 32, 3))
    assert set(_policies(model).values()) == {"float32"}


# ------------------------------------------------------ published figures

# Trainable parameters at 224x224x3 with 1000 classes. Exact where the
# reference gives the exact count (torchvision / timm), else within 0.5%.
EXACT_PARAMS = {
    "resnet18": 11_689_512,
    "se_resnet18": 11_778_592,
    "resnet50": 25_557_032,
    "se_resnet50": 28_088_024,
}
APPROX_PARAMS = {
    "resnet34": 21.80e6,
    "se_resnet34": 21.96e6,
    "resnet101": 44.55e6,
    "se_resnet101": 49.33e6,
}


@pytest.mark.parametrize("name", sorted(EXACT_PARAMS))
def test_params_equal_published(name):
    model = _imagenet_model(name)
    assert model.output_shape == (None, 1000)
    assert _trainable(model) == EXACT_PARAMS[name]


@pytest.mark.parametrize("name", sorted(APPROX_PARAMS))
def test_params_close_to_published(name):
    count = _trainable(_imagenet_model(name))
    assert count == pytest.approx(APPROX_PARAMS[name], rel=0.005)


def test_cbam_adds_only_the_spatial_gate_over_se():
    cbam = _imagenet_model("cbam_resnet18")
    se = _imagenet_model("se_resnet18")
    blocks = sum(cbam.backbone.stackwise_num_blocks)
    # 7x7 conv over [max, mean] (no bias) and the gate's BN gamma + beta.
    assert _trainable(cbam) - _trainable(se) == blocks * (7 * 7 * 2 + 2)


def test_eca_adds_only_its_kernels_over_resnet():
    eca = build_resnet(
        50, "eca", eca_kernel_sizes="3557", input_shape=(224, 224, 3)
    )
    # The ECANet README: 80 extra parameters on ResNet-50.
    assert _trainable(eca) - _trainable(_imagenet_model("resnet50")) == 80


def test_bam_sits_at_three_stage_bottlenecks():
    model = zoo.load(
        "bam_resnet18", weights=None, num_classes=3, input_shape=(32, 32, 3)
    )
    bams = [
        layer.name for layer in model.backbone.layers if isinstance(layer, BAM)
    ]
    assert bams == ["stage1_bam", "stage2_bam", "stage3_bam"]
    names = [layer.name for layer in model.backbone.layers]
    assert not any(n.endswith("_attention") for n in names)


def test_macs_match_the_papers():
    # The papers' "FLOPs" are multiply-accumulates: 4.1 G and 1.8 G.
    resnet50 = zoo.info("resnet50")["macs"]
    resnet18 = zoo.info("resnet18")["macs"]
    assert resnet50 == pytest.approx(4.1e9, rel=0.02)
    assert resnet18 == pytest.approx(1.8e9, rel=0.02)
    # And the catalog agrees with a fresh count.
    from keras_attention.flops import count_macs

    assert count_macs(_imagenet_model("resnet50"), (224, 224, 3)) == resnet50


# ----------------------------------------------------------- architecture

RESNET18_CONVS = [
    "stem_conv",
    "stage1_block1_conv1",
    "stage1_block1_conv2",
    "stage1_block2_conv1",
    "stage1_block2_conv2",
    "stage2_block1_conv1",
    "stage2_block1_conv2",
    "stage2_block1_shortcut_conv",
    "stage2_block2_conv1",
    "stage2_block2_conv2",
    "stage3_block1_conv1",
    "stage3_block1_conv2",
    "stage3_block1_shortcut_conv",
    "stage3_block2_conv1",
    "stage3_block2_conv2",
    "stage4_block1_conv1",
    "stage4_block1_conv2",
    "stage4_block1_shortcut_conv",
    "stage4_block2_conv1",
    "stage4_block2_conv2",
]


def test_layer_names_are_stable():
    # Presets are matched by these names, and `.weights.h5` files by the
    # order of the layers: changing either breaks published weights.
    cbam = zoo.load(
        "cbam_resnet18", weights=None, num_classes=3, input_shape=(32, 32, 3)
    )
    convs = [
        layer.name
        for layer in cbam.backbone.layers
        if isinstance(layer, keras.layers.Conv2D)
    ]
    assert convs == RESNET18_CONVS
    names = {layer.name for layer in cbam.backbone.layers}
    for expected in (
        "stem_bn",
        "stem_pool",
        "stage2_block1_attention",
        "stage4_block2_attention",
        "stage4_block2_out",
    ):
        assert expected in names
    assert cbam.get_layer("predictions").units == 3


def test_bottleneck_stride_on_the_3x3_conv():
    """ResNet v1.5: the first block of stages 2-4 strides in conv2."""
    backbone = _imagenet_model("resnet50").backbone
    for stage in (2, 3, 4):
        prefix = f"stage{stage}_block1"
        assert backbone.get_layer(f"{prefix}_conv1").strides == (1, 1)
        assert backbone.get_layer(f"{prefix}_conv2").strides == (2, 2)
        assert backbone.get_layer(f"{prefix}_shortcut_conv").strides == (2, 2)
        later = f"stage{stage}_block2_conv2"
        assert backbone.get_layer(later).strides == (1, 1)
    assert backbone.get_layer("stage1_block1_conv2").strides == (1, 1)
    assert backbone.output_shape == (None, 7, 7, 2048)


def test_smallest_input_and_error_below_it():
    model = zoo.load(
        "resnet18", weights=None, num_classes=3, input_shape=(32, 32, 3)
    )
    assert model.backbone.output_shape == (None, 1, 1, 512)
    for shape in [(31, 31, 3), (64, 31, 3)]:
        with pytest.raises(ValueError, match="at least 32x32"):
            zoo.load("resnet18", weights=None, input_shape=shape)


def test_one_channel_input():
    model = zoo.load(
        "se_resnet18", weights=None, num_classes=3, input_shape=(32, 32, 1)
    )
    assert model.get_layer("predictions").units == 3
    assert model.backbone.get_layer("stem_conv").kernel.shape == (7, 7, 1, 64)
    x = np.random.default_rng(SEED).uniform(0, 255, (2, 32, 32, 1))
    y = _run(model, x.astype("float32"))
    assert y.shape == (2, 3)
    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("attention", ["cbam", "bam"])
def test_channels_first_matches_channels_last(attention, nchw_conv):
    kwargs = dict(include_top=False, attention_config={"reduction": 4})
    last = build_resnet(18, attention, input_shape=(64, 64, 3), **kwargs)
    first = build_resnet(
        18,
        attention,
        input_shape=(3, 64, 64),
        data_format="channels_first",
        **kwargs,
    )
    assert first.output_shape == (None, 512, 2, 2)
    assert first.data_format == "channels_first"
    # Natively channels-first where the device runs NCHW convolutions;
    # channels-last between two transposes where it does not (forced by
    # `nchw_conv="channels_last"` on every machine).
    inner = _layout.conv_data_format("channels_first")
    if nchw_conv == "channels_last":
        assert inner == "channels_last"
    for layer in first.layers:
        if hasattr(layer, "data_format"):
            assert layer.data_format == inner, layer.name
    assert (inner == "channels_last") == (
        "to_channels_last" in [layer.name for layer in first.layers]
    )
    # Kernels have the same layout in both formats.
    rng = np.random.default_rng(SEED)
    weights = [
        rng.normal(0, 0.05, w.shape)
        if "variance" not in w.path
        else rng.uniform(0.5, 1.5, w.shape)
        for w in last.weights
    ]
    last.set_weights(weights)
    first.set_weights(weights)
    x = rng.normal(size=(1, 64, 64, 3)).astype("float32")
    expected = _run(last, x)
    actual = _run(first, np.transpose(x, (0, 3, 1, 2)))
    np.testing.assert_allclose(
        np.transpose(actual, (0, 2, 3, 1)), expected, rtol=1e-4, atol=1e-4
    )


_NO_ONEDNN_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from keras_attention.layers import _layout
    from keras_attention.models import build_resnet

    print("native", _layout.channels_first_conv_supported())
    model = build_resnet(
        18, "cbam", num_classes=3, input_shape=(3, 32, 32),
        data_format="channels_first",
    )
    x = np.random.default_rng(0).normal(size=(4, 3, 32, 32))
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x.astype("float32"), np.array([0, 1, 2, 0]), verbose=0)
    print("predict", model.predict(x.astype("float32"), verbose=0).shape)
    """
)


def test_channels_first_on_a_cpu_without_onednn(backend):
    """TensorFlow without oneDNN (`TF_ENABLE_ONEDNN_OPTS=0`, as on CPUs
    it does not enable oneDNN for) has no NCHW convolution on the CPU. A
    fresh process finds that with its probe, and a channels-first CBAM
    ResNet still trains and predicts. JAX and torch run NCHW natively."""
    env = {
        **os.environ,
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "CUDA_VISIBLE_DEVICES": "",
        "KERAS_BACKEND": backend,
    }
    env.pop("KERAS_ATTENTION_NCHW_CONV", None)
    result = subprocess.run(
        [sys.executable, "-c", _NO_ONEDNN_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"native {backend != 'tensorflow'}" in result.stdout
    assert "predict (4, 3)" in result.stdout


@pytest.mark.parametrize(
    "pooling, expected",
    [(None, (None, 2, 2, 512)), ("avg", (None, 512)), ("max", (None, 512))],
)
def test_include_top_false(pooling, expected):
    model = build_resnet(
        18, "eca", include_top=False, pooling=pooling, input_shape=(64, 64, 3)
    )
    assert model.output_shape == expected
    x = np.random.default_rng(SEED).normal(size=(1, 64, 64, 3))
    y = _run(model, x.astype("float32"))
    assert y.shape == (1, *expected[1:])


# ---------------------------------------------------------------- catalog


def test_catalog_lists_every_registered_model():
    stored = catalog.read_catalog()
    missing = sorted(set(zoo.list_models()) - set(stored))
    stale = sorted(set(stored) - set(zoo.list_models()))
    assert not missing, f"run `keras-attention catalog --write`: {missing}"
    assert not stale, f"run `keras-attention catalog --write`: {stale}"
    for name, entry in stored.items():
        assert set(entry) == set(catalog.FIELDS), name
        assert entry["input_shape"] == list(zoo.get_spec(name).input_shape)


def test_catalog_is_up_to_date_for_a_sample():
    assert catalog.check_catalog(["resnet18", "cbam_resnet18"]) == []


def test_check_catalog_reports_a_mismatch(tmp_path, monkeypatch):
    stored = catalog.read_catalog()
    # Comparison logic only: the "computed" entry is the stored one.
    monkeypatch.setattr(catalog, "compute_entry", lambda name: stored[name])
    path = tmp_path / "catalog.json"
    catalog._write_json_atomic(
        path, {"resnet18": {**stored["resnet18"], "macs": 1}}
    )
    mismatches = catalog.check_catalog(["resnet18", "se_resnet18"], path=path)
    assert [(m["name"], m["field"], m["catalog"]) for m in mismatches] == [
        ("resnet18", "macs", 1),
        ("se_resnet18", "missing", None),
    ]


def test_write_catalog_merges_and_sorts(tmp_path, monkeypatch):
    def fake_entry(name):
        return {
            "params": len(name),
            "trainable_params": 1,
            "macs": 2,
            "input_shape": [1],
        }

    monkeypatch.setattr(catalog, "compute_entry", fake_entry)
    path = tmp_path / "zoo" / "catalog.json"
    catalog.write_catalog(path, names=["se_resnet18"])
    catalog.write_catalog(path, names=["resnet18"])
    text = path.read_text()
    assert list(catalog.read_catalog(path)) == ["resnet18", "se_resnet18"]
    assert (
        text
        == json.dumps(catalog.read_catalog(path), indent=2, sort_keys=True)
        + "\n"
    )
    assert [p.name for p in path.parent.iterdir()] == ["catalog.json"]


@pytest.mark.parametrize("kind", ["image", "audio"])
def test_predict_on_batch_is_traced_once(kind):
    """Every layer is built once the model is: an unbuilt (stateless)
    preprocessing layer made Keras' JAX `predict_on_batch` run an eager
    forward pass on each call before the jitted one. The backbone's
    `call` runs once per trace; torch has no trace and runs it per call."""
    if kind == "image":
        model = zoo.load("cbam_resnet18", weights=None, num_classes=3)
        x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3))
    else:
        model = zoo.load("cnn6", weights=None, num_classes=3)
        x = np.random.default_rng(0).normal(size=(2, 16000))
    unbuilt = [
        layer.name for layer in model._flatten_layers() if not layer.built
    ]
    assert unbuilt == []
    calls = []
    backbone_call = model.backbone.call

    def counted(*args, **kwargs):
        calls.append(1)
        return backbone_call(*args, **kwargs)

    model.backbone.call = counted
    for _ in range(3):
        model.predict_on_batch(x.astype("float32"))
    assert len(calls) == (3 if keras.backend.backend() == "torch" else 1)
