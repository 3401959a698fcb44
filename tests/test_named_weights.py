"""Named peer weights (`weights="imagenet"`, `"audioset"`): downloaded
from a loopback server standing in for the Hugging Face hub and Zenodo,
converted, cached as a preset with a model card, offline after that.

The served checkpoints are the peers' own models at random init (timm's
ResNet-18, PANNs' CNN6, `tests/helpers/peers.py` and `panns_peer.py`).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import panns_peer, peers
from helpers.http import serve

from keras_attention import zoo
from keras_attention.cli import main
from keras_attention.zoo import download, peer_weights

TOLERANCE = 1e-4
SHAPE = (64, 64, 3)
RESNET18_ROUTE = "/timm/resnet18.tv_in1k/resolve/main/model.safetensors"
CNN6_ROUTE = "/record/3987831/files/Cnn6_mAP%3D0.343.pth"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def resnet18_peer():
    return peers.peer_model("resnet18", num_classes=1000)


@pytest.fixture(scope="module")
def resnet18_bytes(resnet18_peer, tmp_path_factory):
    path = tmp_path_factory.mktemp("peer") / "model.safetensors"
    peers.save_safetensors(resnet18_peer, path)
    return path.read_bytes()


@pytest.fixture
def hub(server, monkeypatch, resnet18_bytes):
    monkeypatch.setenv("HF_ENDPOINT", server.url())
    server.routes[RESNET18_ROUTE] = serve(resnet18_bytes)
    return server


def _logits(model, images):
    import keras

    return keras.ops.convert_to_numpy(model(images, training=False))


def _images(size=64):
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, size, size, 3)).astype("float32")


def _relative(ours, theirs) -> float:
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def test_imagenet_weights_convert_once_then_load_offline(
    hub, resnet18_peer, cache
):
    images = _images()
    expected = peers.peer_logits(resnet18_peer, images)
    model = zoo.load("resnet18", weights="imagenet", input_shape=SHAPE)
    assert _relative(_logits(model, images), expected) < TOLERANCE
    assert model.class_names[:2] == ["tench", "goldfish"]
    folder = cache / "converted" / "resnet18" / "imagenet"
    card = json.loads((folder / "model_card.json").read_text())
    assert card["converted"]["source"] == "hf://timm/resnet18.tv_in1k"
    assert card["license"]["name"] == "BSD-3-Clause"
    assert card["metrics"] == {"top1": 69.75}
    assert "trust on first use" in card["converted"]["sha256_note"]
    trusted = json.loads((cache / "converted" / "trusted.json").read_text())
    assert list(trusted.values()) == [card["converted"]["checkpoint_sha256"]]
    assert {"config.json", "model.weights.h5"} <= set(card["files"])
    assert not list((cache / "peers").glob("*"))  # the download is gone
    assert sum(hub.hits.values()) == 1

    hub.routes.clear()  # offline from now on
    again = zoo.load("resnet18", weights="imagenet", input_shape=SHAPE)
    assert sum(hub.hits.values()) == 1
    assert _relative(_logits(again, images), expected) < TOLERANCE


def test_tampered_files_fail_their_recorded_sha256s(hub, cache):
    zoo.load("resnet18", weights="imagenet")
    # A cached preset file changed after its conversion.
    folder = cache / "converted" / "resnet18" / "imagenet"
    weights = folder / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(download.WeightsIntegrityError, match="was removed"):
        zoo.load("resnet18", weights="imagenet")
    assert not folder.exists()
    # The source now serves another file than at first use.
    hub.routes[RESNET18_ROUTE] = serve(b"\x00" * 64 + b"tampered")
    with pytest.raises(download.WeightsIntegrityError, match="first use"):
        zoo.load("resnet18", weights="imagenet")
    assert not folder.exists()
    assert not list((cache / "peers").glob("*"))


def test_audioset_weights_from_zenodo(server, monkeypatch, tmp_path):
    monkeypatch.setenv(peer_weights.ZENODO_ENDPOINT_ENV, server.url())
    peer = panns_peer.make_peer("cnn6", 527)
    path = tmp_path / "Cnn6_mAP=0.343.pth"
    panns_peer.save_checkpoint(peer, path)
    server.routes[CNN6_ROUTE] = serve(path.read_bytes())
    model = zoo.load("cnn6", weights="audioset")
    server.routes.clear()
    again = zoo.load("cnn6", weights="audioset")
    audio = (np.random.default_rng(0).standard_normal((1, 32000)) * 0.1).astype(
        "float32"
    )
    expected = panns_peer.peer_outputs(peer, audio)["clipwise_output"]
    for converted in (model, again):
        got = panns_peer.predict(converted, audio)
        assert _relative(np.asarray(got), expected) < TOLERANCE
    card = zoo.info("cnn6")["converted_weights"]["audioset"]
    assert card["converted"] and card["num_classes"] == 527
    assert card["metrics"] == {"mAP": 0.343}


def test_manual_entry_names_where_to_get_the_file():
    with pytest.raises(ValueError, match="attention-module") as error:
        zoo.load("cbam_resnet50", weights="imagenet")
    assert "weights='/path/to" in str(error.value)


def test_info_marks_named_weights_as_converted():
    info = zoo.info("se_resnet50")
    entry = info["converted_weights"]["imagenet"]
    assert entry["converted"] is True
    assert entry["source"] == "hf://timm/legacy_seresnet50.in1k"
    assert entry["preprocessing"]["crop"] == 224
    assert entry["num_classes"] == 1000
    assert zoo.info("cnn14")["converted_weights"].keys() == {
        "audioset",
        "audioset_16k",
    }


def test_registry_entries_are_complete():
    entries = peer_weights.all_named_weights()
    assert len({(e["model"], e["weights"]) for e in entries}) == len(entries)
    for entry in entries:
        zoo.info(entry["model"])  # a registered model
        assert entry["license"]["name"] and entry["metric_source"]
        assert bool(entry["source"]) != bool(entry.get("manual"))
    assert len(peer_weights.labels("imagenet")) == 1000
    assert peer_weights.labels("imagenet")[0] == "tench"
    url = peer_weights.source_url("zenodo://3987831/Cnn14_mAP=0.431.pth")
    assert url.endswith(
        "/record/3987831/files/Cnn14_mAP%3D0.431.pth?download=1"
    )


def test_convert_command_writes_a_preset_and_its_parity(
    resnet18_bytes, tmp_path, capsys
):
    source = tmp_path / "resnet18.safetensors"
    source.write_bytes(resnet18_bytes)
    out = tmp_path / "preset"
    status = main(
        ["convert", str(source), "--model", "resnet18", "--out", str(out)]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "max |Δ|" in printed and "relative" in printed
    assert (out / "model.weights.h5").is_file()
    model = zoo.load("resnet18", weights=str(out))
    assert model.output_shape == (None, 1000)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.safetensors", "--model", "resnet18"], "missing"),
        (["{src}", "--model", "resnet50"], "resnet18"),
        (["{src}", "--model", "nope"], "Unknown model"),
    ],
)
def test_convert_command_bad_input(
    argv, message, resnet18_bytes, tmp_path, capsys
):
    source = tmp_path / "resnet18.safetensors"
    source.write_bytes(resnet18_bytes)
    argv = [a.format(src=source) for a in argv]
    status = main(["convert", *argv, "--out", str(tmp_path / "out")])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "out").exists()
