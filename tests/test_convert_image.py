"""torchvision/timm ResNet checkpoints converted by `zoo.load`, against
the peers' own models.

Each peer model (timm's or torchvision's code, `tests/helpers/peers.py`)
is built at random init with random BN statistics, saved as safetensors or
a PyTorch pickle, loaded by `zoo.load` from a local file, a loopback URL
or an `hf://` address, and its logits are compared with ours at 64x64.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import peers
from helpers.http import serve

from keras_attention import zoo
from keras_attention.convert import ConversionError
from keras_attention.convert.checkpoint import CheckpointError, read_state
from keras_attention.models import resnet

SIZE = 64
TOLERANCE = 1e-4  # max |ours - peer| / max |peer|
ZOO = Path(__file__).resolve().parents[1] / "zoo"
ECA = {"block_args": {"attn_layer": "eca"}}

# (peer model, its arguments, our model, file format, where it is served)
CASES = [
    ("resnet18", {}, "resnet18", "safetensors", "file"),
    ("torchvision.resnet50", {}, "resnet50", "pth", "http"),
    ("seresnet18", {}, "se_resnet18", "pth.tar", "file"),
    ("legacy_seresnet18", {}, "se_resnet18", "safetensors", "hf"),
    ("legacy_seresnet50", {}, "se_resnet50", "pth", "file"),
    ("resnet18", ECA, "eca_resnet18", "safetensors", "http"),
]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, SIZE, SIZE, 3)).astype("float32")


def _write(model, path: Path, fmt: str) -> Path:
    path = path.with_name(f"{path.name}.{fmt}")
    if fmt == "safetensors":
        peers.save_safetensors(model, path)
    elif fmt == "pth.tar":
        # The official CBAM/ECA layout: a training checkpoint around a
        # DataParallel state dict.
        state = {f"module.{k}": v for k, v in model.state_dict().items()}
        peers.save_torch({"epoch": 90, "state_dict": state}, path)
    else:
        peers.save_torch(model.state_dict(), path)
    return path


def _source(path: Path, where: str, server, monkeypatch) -> str:
    if where == "file":
        return str(path)
    if where == "hf":
        monkeypatch.setenv("HF_ENDPOINT", server.url())
        server.routes["/timm/peer/resolve/main/model.safetensors"] = serve(
            path.read_bytes()
        )
        return "hf://timm/peer"
    server.routes[f"/w/{path.name}"] = serve(path.read_bytes())
    return server.url(f"/w/{path.name}")


def _relative_error(ours, theirs) -> float:
    ours = keras.ops.convert_to_numpy(ours)
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


@pytest.mark.parametrize(
    "peer_name, peer_args, name, fmt, where",
    CASES,
    ids=[f"{c[2]}-{c[0]}-{c[3]}-{c[4]}" for c in CASES],
)
def test_converted_logits_match_the_peer(
    peer_name,
    peer_args,
    name,
    fmt,
    where,
    images,
    tmp_path,
    server,
    monkeypatch,
):
    peer = peers.peer_model(peer_name, num_classes=5, **peer_args)
    path = _write(peer, tmp_path / "peer", fmt)
    source = _source(path, where, server, monkeypatch)
    model = zoo.load(name, weights=source, input_shape=(SIZE, SIZE, 3))
    assert model.num_classes == 5
    assert model.backbone.padding == "torch"
    expected = peers.peer_logits(peer, images)
    assert _relative_error(model(images, training=False), expected) < (
        TOLERANCE
    )
    if where != "file":
        assert sum(server.hits.values()) == 1


@pytest.fixture(scope="module")
def resnet18_state():
    return peers.state_numpy(peers.peer_model("resnet18", num_classes=3))


def test_channels_first_conversion(resnet18_state, images, tmp_path):
    source = _save_state(resnet18_state, tmp_path / "r18.safetensors")
    model = zoo.load(
        "resnet18",
        weights=source,
        data_format="channels_first",
        input_shape=(3, SIZE, SIZE),
    )
    expected = peers.peer_logits(peers.peer_model("resnet18", 3), images)
    ours = model(images.transpose(0, 3, 1, 2), training=False)
    assert _relative_error(ours, expected) < TOLERANCE


def _save_state(state: dict, path: Path) -> str:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, path)
    return str(path)


def test_keras_round_trip_of_a_converted_model(resnet18_state, tmp_path):
    source = _save_state(resnet18_state, tmp_path / "r18.safetensors")
    model = zoo.load("resnet18", weights=source, input_shape=(SIZE, SIZE, 3))
    x = np.random.default_rng(1).standard_normal((1, SIZE, SIZE, 3))
    model.save(tmp_path / "r18.keras")
    again = keras.saving.load_model(tmp_path / "r18.keras")
    assert again.backbone.get_config()["padding"] == "torch"
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(again(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)),
        rtol=1e-5,
        atol=1e-5,
    )


def test_new_head_and_backbone_only(resnet18_state, tmp_path):
    source = _save_state(resnet18_state, tmp_path / "r18.safetensors")
    model = zoo.load("resnet18", weights=source, num_classes=4)
    assert model.output_shape == (None, 4)
    backbone = zoo.load("resnet18", weights=source, include_top=False)
    kernel = resnet18_state["conv1.weight"].transpose(2, 3, 1, 0)
    for m in (model.backbone, backbone):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(m.get_layer("stem_conv").kernel), kernel
        )


def _conversion_error(state, tmp_path, name="resnet18", **kwargs):
    source = _save_state(state, tmp_path / "bad.safetensors")
    with pytest.raises(ConversionError) as info:
        zoo.load(name, weights=source, **kwargs)
    return info.value


def test_another_architecture_raises(resnet18_state, tmp_path):
    error = _conversion_error(resnet18_state, tmp_path, name="resnet34")
    assert "holds a resnet18" in str(error)
    se = peers.state_numpy(peers.peer_model("seresnet18", num_classes=3))
    error = _conversion_error(se, tmp_path)
    assert "holds a se_resnet18" in str(error)


def test_missing_extra_and_misshaped_keys_raise(resnet18_state, tmp_path):
    state = dict(resnet18_state)
    del state["layer2.0.bn1.running_var"]
    state["layer1.0.extra.weight"] = np.zeros(3, "float32")
    state["layer3.1.conv2.weight"] = np.zeros((256, 256, 1, 1), "float32")
    error = _conversion_error(state, tmp_path)
    assert error.missing == ["layer2.0.bn1.running_var"]
    assert error.unexpected == ["layer1.0.extra.weight"]
    assert [m[0] for m in error.mismatched] == ["layer3.1.conv2.weight"]
    for key in ("missing keys", "unexpected keys", "mis-shaped keys"):
        assert key in str(error)


def test_eca_kernels_other_than_the_checkpoints_raise(tmp_path):
    eca = peers.peer_model("resnet18", num_classes=3, **ECA)
    source = _save_state(peers.state_numpy(eca), tmp_path / "eca.safetensors")
    with pytest.raises(ValueError, match="eca_kernel_sizes='3555'"):
        zoo.load("eca_resnet18", weights=source, eca_kernel_sizes="3577")


class _NotATensor:
    pass


def test_unreadable_checkpoints_raise(tmp_path):
    pickled = tmp_path / "object.pth"
    peers.save_torch({"state_dict": {"a": _NotATensor()}}, pickled)
    with pytest.raises(CheckpointError, match="never unpickled"):
        read_state(pickled)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="safetensors"):
        zoo.load("resnet18", weights=str(corrupt))
    not_a_resnet = {"encoder.weight": np.zeros((2, 2), "float32")}
    error = _conversion_error(not_a_resnet, tmp_path)
    assert "No converter recognises" in str(error)


def test_hf_addresses(monkeypatch):
    from keras_attention.zoo.peers import hf_url

    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert hf_url("hf://timm/resnet50.a1_in1k") == (
        "https://huggingface.co/timm/resnet50.a1_in1k/resolve/main/"
        "model.safetensors"
    )
    assert hf_url("hf://org/repo/sub/w.pth").endswith("main/sub/w.pth")
    with pytest.raises(ValueError, match="hf://ORG/REPO"):
        hf_url("hf://timm")


def test_padding_options_are_recorded_and_checked():
    model = resnet.resnet18(
        include_top=False, padding="torch", input_shape=(SIZE, SIZE, 3)
    )
    config = model.get_config()
    assert config["padding"] == "torch"
    pads = [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.ZeroPadding2D)
    ]
    assert pads == [
        "stem_conv_pad",
        "stem_pool_pad",
        "stage2_block1_conv1_pad",
        "stage3_block1_conv1_pad",
        "stage4_block1_conv1_pad",
    ]
    with pytest.raises(ValueError, match="Expected `padding` in"):
        resnet.resnet18(padding="reflect")
    with pytest.raises(ValueError, match="Expected `stride_on` in"):
        resnet.resnet50(stride_on="2x2")
    with pytest.raises(ValueError, match="needs attention='se'"):
        resnet.resnet18(se_divisor=8)


def test_published_presets_keep_the_keras_padding():
    """The published configs have no `padding` key: they load with Keras
    "same" padding and no padding layers, as they were trained."""
    path = ZOO / "resnet18" / "fashion_mnist"
    inner = json.loads((path / "config.json").read_text())["config"]
    assert "padding" not in inner
    model = zoo.load("resnet18", weights=str(path))
    assert model.backbone.padding == "same"
    assert not any(
        isinstance(layer, keras.layers.ZeroPadding2D)
        for layer in model.backbone.layers
    )
