"""The official CBAM/BAM (Jongchan/attention-module) and ECA-Net
(BangguWu/ECANet) checkpoints converted by `zoo.load`.

Neither official repository is packaged, so its models cannot run here.
The checkpoints are written from the published key names and shapes
(`tests/helpers/official.py`: random tensors, `.pth.tar` files around a
`module.`-prefixed `state_dict`), and the tests check:

- every official key is consumed and every weight of ours assigned once;
- each converted attention layer against a numpy form of the official
  module (with a wrong variant that must fail: CBAM's [mean, max] order,
  BAM's sum of branches, ECA's flipped kernel);
- whole models against a peer's own code where one exists: timm's ECA
  and CBAM modules compute the official formulas (timm's CBAM stacks
  [mean, max], so its spatial kernel is reordered to the official
  [max, mean]), and timm's ResNets with them are renamed to the official
  layout. No peer exists for BAM.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import pytest
from helpers import official, peers
from helpers.http import serve

from keras_attention import zoo
from keras_attention.convert import ConversionError, timm_resnet
from keras_attention.convert import official as converter

SIZE = 64
TOLERANCE = 1e-4
# (attention, depth, ECA kernel sizes)
MODELS = [("cbam", 18, None), ("bam", 18, None), ("eca", 18, "3577")]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(tmp_path / "cache"))


@functools.cache
def _state(attention, depth=18, kernel_sizes=None):
    return official.official_state(attention, depth, 5, kernel_sizes)


def _checkpoint(tmp_path, attention, depth=18, kernel_sizes=None):
    state = _state(attention, depth, kernel_sizes)
    name = f"{attention}{depth}_model_best.pth.tar"
    return official.save_official(state, tmp_path / name)


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _relative_error(ours, theirs) -> float:
    return float(np.abs(_numpy(ours) - theirs).max() / np.abs(theirs).max())


@pytest.fixture(scope="module")
def converted():
    """`{attention: (state, our converted ResNet-18)}`, built once."""
    out = {}
    for attention, depth, kernels in MODELS:
        state = _state(attention, depth, kernels)
        model = converter.build(
            state, f"{attention}_resnet{depth}", input_shape=(SIZE, SIZE, 3)
        )
        out[attention] = (state, model)
    return out


@pytest.mark.parametrize("attention, depth, kernels", MODELS)
def test_every_key_and_every_weight_is_used_once(
    attention, depth, kernels, converted
):
    state, model = converted[attention]
    assert converter.detect(state) == f"{attention}_resnet{depth}"
    targets = converter.variable_map(model, state)
    given = {k for k in state if not k.endswith(".num_batches_tracked")}
    assert set(targets) == given
    paths = [variable.path for variable, _ in targets.values()]
    assert len(paths) == len(set(paths))
    assert set(paths) == {v.path for v in model.weights}
    for key, (variable, transform) in targets.items():
        np.testing.assert_array_equal(
            _numpy(variable), transform(state[key]), err_msg=key
        )
    assert model.backbone.padding == "torch"
    assert model.num_classes == 5


# (attention, our layer, input shape, official numpy form, its official
# key, the wrong variant that must fail)
LAYER_CASES = [
    (
        "cbam",
        "stage2_block2_attention",
        (2, 8, 8, 128),
        official.cbam,
        "layer2.1.cbam",
        {"order": ("mean", "max")},
    ),
    (
        "bam",
        "stage2_bam",
        (2, 12, 12, 128),
        official.bam,
        "bam2",
        {"fusion": "sum"},
    ),
    (
        "eca",
        "stage3_block1_attention",
        (2, 4, 4, 256),
        official.eca,
        "layer3.0",
        {"flip": True},
    ),
]


@pytest.mark.parametrize(
    "attention, layer, shape, form, key, wrong",
    LAYER_CASES,
    ids=[c[0] for c in LAYER_CASES],
)
def test_attention_layers_are_the_official_modules(
    attention, layer, shape, form, key, wrong, converted
):
    """Our converted layer against the numpy form of the official module;
    the `wrong` variant of the formula must not pass."""
    state, model = converted[attention]
    x = np.random.default_rng(3).standard_normal(shape).astype("float32")
    ours = model.backbone.get_layer(layer)(x, training=False)
    assert _relative_error(ours, form(x, state, key)) < TOLERANCE
    assert _relative_error(ours, form(x, state, key, **wrong)) > (
        100 * TOLERANCE
    )


def _timm_as_official(peer, attention) -> dict:
    """timm's ResNet state with ECA or CBAM in the official layout."""
    out = {}
    for key, value in peers.state_numpy(peer).items():
        if ".se." not in key:
            out[key] = value
            continue
        block, rest = key.split(".se.")
        if attention == "eca":
            out[f"{block}.eca.{rest}"] = value
            continue
        rest = rest.replace("channel.fc1", "ChannelGate.mlp.1")
        rest = rest.replace("channel.fc2", "ChannelGate.mlp.3")
        rest = rest.replace("spatial.conv.conv", "SpatialGate.spatial.conv")
        rest = rest.replace("spatial.conv.bn", "SpatialGate.spatial.bn")
        if "mlp" in rest and value.ndim == 4:
            value = value[:, :, 0, 0]
        if rest == "SpatialGate.spatial.conv.weight":
            value = value[:, ::-1].copy()  # timm's [mean, max] -> [max, mean]
        out[f"{block}.cbam.{rest}"] = value
    return out


def _timm_peer(attention):
    peers.import_timm()
    from timm.layers.cbam import CbamModule

    if attention == "eca":
        return peers.peer_model("resnet18", 5, block_args={"attn_layer": "eca"})
    cbam = functools.partial(CbamModule, mlp_bias=True)
    return peers.peer_model("resnet18", 5, block_args={"attn_layer": cbam})


@pytest.mark.parametrize(
    "attention, where", [("eca", "http"), ("cbam", "file")]
)
def test_whole_models_match_timm_in_the_official_layout(
    attention, where, tmp_path, server
):
    peer = _timm_peer(attention)
    state = _timm_as_official(peer, attention)
    path = official.save_official(state, tmp_path / "model_best.pth.tar")
    source = path
    if where == "http":
        server.routes["/w/model_best.pth.tar"] = serve(
            (tmp_path / "model_best.pth.tar").read_bytes()
        )
        source = server.url("/w/model_best.pth.tar")
    model = zoo.load(
        f"{attention}_resnet18", weights=source, input_shape=(SIZE, SIZE, 3)
    )
    images = np.random.default_rng(0).standard_normal((2, SIZE, SIZE, 3))
    images = images.astype("float32")
    expected = peers.peer_logits(peer, images)
    assert _relative_error(model(images, training=False), expected) < (
        TOLERANCE
    )
    if where == "http":
        assert sum(server.hits.values()) == 1


def test_eca_kernel_sizes_are_read_and_checked(tmp_path):
    path = _checkpoint(tmp_path, "eca", 18, "3577")
    model = zoo.load(
        "eca_resnet18", weights=path, eca_kernel_sizes=[3, 5, 7, 7]
    )
    sizes = [
        model.backbone.get_layer(f"stage{s}_block1_attention").kernel_size_
        for s in range(1, 5)
    ]
    assert sizes == [3, 5, 7, 7]
    with pytest.raises(ValueError, match="eca_kernel_sizes='3577'"):
        zoo.load("eca_resnet18", weights=path, eca_kernel_sizes="3557")
    state = dict(_state("eca", kernel_sizes="3577"))
    state["layer2.1.eca.conv.weight"] = np.zeros((1, 1, 3), "float32")
    with pytest.raises(ConversionError, match="one ECA kernel size in stage 2"):
        converter.build(state, "eca_resnet18")


def test_bam_gets_the_official_product_of_branches(tmp_path):
    path = _checkpoint(tmp_path, "bam")
    model = zoo.load("bam_resnet18", weights=path)
    assert model.backbone.get_layer("stage1_bam").fusion == "product"
    with pytest.raises(ValueError, match="attention_config"):
        zoo.load(
            "bam_resnet18",
            weights=path,
            attention_config={"fusion": "sum"},
        )


def test_missing_extra_and_misshaped_keys_raise():
    state = dict(_state("cbam"))
    del state["layer1.1.cbam.SpatialGate.spatial.bn.running_var"]
    state["layer1.0.cbam.ChannelGate.extra.weight"] = np.zeros(3, "float32")
    state["layer3.0.cbam.ChannelGate.mlp.1.weight"] = np.zeros(
        (8, 256), "float32"
    )
    with pytest.raises(ConversionError) as info:
        converter.build(state, "cbam_resnet18")
    error = info.value
    assert error.missing == ["layer1.1.cbam.SpatialGate.spatial.bn.running_var"]
    assert error.unexpected == ["layer1.0.cbam.ChannelGate.extra.weight"]
    assert [m[0] for m in error.mismatched] == [
        "layer3.0.cbam.ChannelGate.mlp.1.weight"
    ]


def test_another_architecture_raises(tmp_path):
    path = _checkpoint(tmp_path, "cbam")
    with pytest.raises(ConversionError, match="holds a cbam_resnet18"):
        zoo.load("resnet18", weights=path)
    with pytest.raises(ConversionError, match="holds a cbam_resnet18"):
        zoo.load("cbam_resnet50", weights=path)
    eca = _state("eca", kernel_sizes="3577")
    assert converter.detect(eca) == "eca_resnet18"
    assert timm_resnet.detect(eca) == "resnet18"  # hence official first
    with pytest.raises(ConversionError, match="Not an official CBAM/BAM"):
        converter.build({"conv1.weight": np.zeros(1)}, "cbam_resnet18")


def test_depth_50_is_detected():
    state = _state("bam", 50)
    assert converter.detect(state) == "bam_resnet50"
    assert "bam1.channel_att.gate_c.gate_c_fc_0.weight" in state
    assert state["bam1.channel_att.gate_c.gate_c_fc_0.weight"].shape == (
        16,
        256,
    )


def test_keras_round_trip_of_a_converted_model(converted, tmp_path):
    model = converted["cbam"][1]
    x = np.random.default_rng(1).standard_normal((1, SIZE, SIZE, 3))
    model.save(tmp_path / "cbam18.keras")
    again = keras.saving.load_model(tmp_path / "cbam18.keras")
    assert again.backbone.get_config()["padding"] == "torch"
    np.testing.assert_allclose(
        _numpy(again(x, training=False)),
        _numpy(model(x, training=False)),
        rtol=1e-5,
        atol=1e-5,
    )
