"""The PANNs converter against PANNs' own code (`helpers.panns_peer`).

Each peer model is built at random init (random BN statistics too),
saved as PANNs publishes its checkpoints (`{"model": state_dict}`),
read back as numpy arrays, converted, and its clip-wise scores and
embedding compared with the peer's on 1 s of random audio.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
from helpers import panns_peer
from helpers.http import serve

from keras_attention import zoo
from keras_attention.convert import ConversionError, panns
from keras_attention.convert.audioset import (
    audioset_labels,
    audioset_mids,
    read_labels_csv,
)

RTOL = 1e-4
# Peer -> (our model, classes): small heads for speed, AudioSet's 527 once.
CASES = {
    "cnn6": ("cnn6", 5),
    "cnn10": ("cnn10", 5),
    "cnn14": ("cnn14", 527),
    "cnn14_16k": ("cnn14", 5),
    "cnn6_8k": ("cnn6", 3),
}


@pytest.fixture(scope="module")
def peers(tmp_path_factory):
    """kind -> (peer model, state read back from its `.pth`), built once."""
    root = tmp_path_factory.mktemp("panns")
    made = {}

    def get(kind, path=False):
        if kind not in made:
            model = panns_peer.make_peer(kind, CASES[kind][1])
            checkpoint = root / f"{kind}.pth"
            panns_peer.save_checkpoint(model, checkpoint)
            made[kind] = (model, panns_peer.read_state(checkpoint), checkpoint)
        return made[kind] if path else made[kind][:2]

    return get


def _audio(sample_rate, seed=0):
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((2, sample_rate))).astype("float32")


def _relative(ours, theirs):
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def _ours(model, audio):
    both = keras.Model(
        model.input, [model.output, model.get_layer("embedding").output]
    )
    scores, embedding = panns_peer.predict(both, audio)
    return {"clipwise_output": scores, "embedding": embedding}


@pytest.mark.parametrize("kind", list(CASES))
def test_matches_panns(peers, kind):
    peer, state = peers(kind)
    name, classes = CASES[kind]
    sample_rate = panns_peer.PEERS[kind][3]
    assert panns.detect(state) == name
    model = panns.build(state, name)
    assert model.backbone.sample_rate == sample_rate
    assert model.get_config()["activation"] == "sigmoid"
    audio = _audio(sample_rate)
    theirs = panns_peer.peer_outputs(peer, audio)
    ours = _ours(model, audio)
    for key in ("clipwise_output", "embedding"):
        assert ours[key].shape == theirs[key].shape
        relative = _relative(ours[key], theirs[key])
        # The note's parity table: `pytest -s -k matches_panns`.
        print(f"parity {kind} {keras.backend.backend()} {key} {relative:.1e}")
        assert relative < RTOL, key
    # Scores away from 0 and 1, where a sigmoid would hide differences.
    assert np.ptp(theirs["clipwise_output"]) > 0.1
    expected_names = audioset_labels() if classes == 527 else None
    assert model.class_names == expected_names


def test_keras_round_trip(peers, tmp_path):
    _, state = peers("cnn6")
    model = panns.build(state, "cnn6")
    path = tmp_path / "cnn6.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    audio = _audio(32000, seed=1)
    np.testing.assert_allclose(
        panns_peer.predict(loaded, audio),
        panns_peer.predict(model, audio),
        rtol=1e-6,
        atol=1e-7,
    )
    config = loaded.backbone.get_config()
    assert (config["sample_rate"], config["n_fft"], config["hop_length"]) == (
        32000,
        1024,
        320,
    )
    assert (config["fmin"], config["fmax"]) == (50.0, 14000.0)
    assert loaded.get_config()["activation"] == "sigmoid"


def test_sample_rate_without_mel_filters(peers):
    peer, state = peers("cnn6")
    bare = {k: v for k, v in state.items() if "extractor" not in k}
    with pytest.raises(ConversionError, match="pass `sample_rate`"):
        panns.build(bare, "cnn6")
    model = panns.build(bare, "cnn6", sample_rate=32000)
    audio = _audio(32000)
    theirs = panns_peer.peer_outputs(peer, audio)["clipwise_output"]
    assert _relative(panns_peer.predict(model, audio), theirs) < RTOL
    with pytest.raises(ConversionError, match="sample_rate=16000"):
        panns.build(state, "cnn6", sample_rate=16000)


def test_detect_tells_the_architectures_apart(peers):
    _, state = peers("cnn6")
    resnet = {
        "conv1.weight": np.zeros((64, 3, 7, 7), "float32"),
        "bn1.weight": np.zeros(64, "float32"),
        "fc.weight": np.zeros((1000, 512), "float32"),
    }
    assert panns.detect(resnet) is None
    # CNN6's keys with 3x3 kernels are no PANNs CNN.
    odd = dict(state, **{"conv_block1.conv1.weight": np.zeros((64, 1, 3, 3))})
    assert panns.detect(odd) is None


def _error(state, name="cnn6", **kwargs) -> ConversionError:
    with pytest.raises(ConversionError) as info:
        panns.build(state, name, **kwargs)
    return info.value


def test_bad_checkpoints_name_their_keys(peers):
    _, state = peers("cnn6")
    resnet = {
        "conv1.weight": np.zeros((64, 3, 7, 7), "float32"),
        "layer1.0.conv1.weight": np.zeros((64, 64, 3, 3), "float32"),
        "fc.weight": np.zeros((1000, 512), "float32"),
    }
    error = _error(resnet)
    assert "fc.weight" in error.unexpected and "bn0.weight" in error.missing
    assert "fc.weight" in str(error) and "bn0.weight" in str(error)

    key = "conv_block2.bn1.running_var"
    error = _error({k: v for k, v in state.items() if k != key})
    assert (error.missing, error.unexpected) == ([key], [])
    assert key in str(error)

    error = _error({**state, "att_block.att.weight": np.zeros((5, 512, 1))})
    assert (error.missing, error.unexpected) == ([], ["att_block.att.weight"])

    bad = {**state, "fc1.weight": np.zeros((256, 512), "float32")}
    error = _error(bad)
    assert error.mismatched == [("fc1.weight", (256, 512), (512, 512))]
    assert "fc1.weight (256, 512) (expected (512, 512))" in str(error)

    # A CNN6 checkpoint is not a CNN10 one, and the error says what it is.
    error = _error(state, "cnn10")
    assert "conv_block1.conv2.weight" in error.missing
    assert "PANNs cnn6" in str(error)
    with pytest.raises(ConversionError, match="se_cnn6"):
        panns.build(state, "se_cnn6")


def test_front_end_buffers_are_checked(peers):
    _, state = peers("cnn6")
    mel = state[panns.MEL_FILTERS]
    error = _error({**state, panns.MEL_FILTERS: mel[:, :32]})
    assert error.mismatched and error.mismatched[0][0] == panns.MEL_FILTERS
    with pytest.raises(ConversionError, match="other values"):
        panns.build({**state, panns.MEL_FILTERS: mel * 1.01}, "cnn6")
    key = "spectrogram_extractor.stft.conv_imag.weight"
    with pytest.raises(ConversionError, match="conv_imag"):
        panns.build({**state, key: -state[key]}, "cnn6")
    with pytest.raises(TypeError, match="bogus"):
        panns.build(state, "cnn6", bogus=3)


def test_labels(peers, tmp_path):
    assert len(audioset_labels()) == len(audioset_mids()) == 527
    assert (audioset_labels()[0], audioset_mids()[0]) == ("Speech", "/m/09x0r")
    _, state = peers("cnn6")
    path = tmp_path / "labels.csv"
    rows = [f'{i},/m/{i},"Class {i}, sub"' for i in range(5)]
    path.write_text("index,mid,display_name\n" + "\n".join(rows) + "\n")
    model = panns.build(state, "cnn6", labels=path)
    assert model.class_names == [f"Class {i}, sub" for i in range(5)]
    assert panns.build(state, "cnn6", labels=list("abcde")).class_names == [
        "a",
        "b",
        "c",
        "d",
        "e",
    ]
    with pytest.raises(ConversionError, match="Expected 5 labels"):
        panns.build(state, "cnn6", labels=["a"])
    path.write_text("name,id\nDog,/m/1\n")
    with pytest.raises(ValueError, match="index,mid,display_name"):
        read_labels_csv(path)
    path.write_text('index,mid,display_name\n0,/m/a,"A"\n2,/m/b,"B"\n')
    with pytest.raises(ValueError, match="line 3.*index 1"):
        read_labels_csv(path)


def test_zoo_load_converts_a_served_checkpoint(peers, server):
    """`zoo.load("cnn6", weights=URL)`: fetched once, recognised by its
    keys, converted; a new head keeps the converted backbone."""
    peer, _, checkpoint = peers("cnn6", path=True)
    server.routes["/Cnn6_mAP=0.343.pth"] = serve(checkpoint.read_bytes())
    url = server.url("/Cnn6_mAP=0.343.pth")
    model = zoo.load("cnn6", weights=url)
    audio = _audio(32000, seed=2)
    theirs = panns_peer.peer_outputs(peer, audio)["clipwise_output"]
    ours = panns_peer.predict(model, audio)
    assert _relative(ours, theirs) < RTOL
    assert sum(server.hits.values()) == 1
    tuned = zoo.load("cnn6", weights=url, num_classes=4)
    assert tuned.output_shape == (None, 4)
    assert sum(server.hits.values()) == 1  # From the cache.
    for mine, converted in zip(
        tuned.backbone.weights, model.backbone.weights, strict=True
    ):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(mine),
            keras.ops.convert_to_numpy(converted),
        )
    features = zoo.load("cnn6", weights=url, include_top=False, pooling="panns")
    assert features.output_shape == (None, 512)
    with pytest.raises(ConversionError, match="holds a cnn6"):
        zoo.load("cnn10", weights=url)


def test_cli_tags_a_clip_frame_by_frame(peers, tmp_path, capsys):
    """`predict --frames` with a converted checkpoint: clip-wise tags (the
    highest score of each tag over the windows) and each window's tags,
    all with the checkpoint's sigmoid scores."""
    import soundfile

    from keras_attention import cli

    peer, _, checkpoint = peers("cnn6", path=True)
    audio = _audio(32000, seed=3).reshape(-1)  # 2 s at 32 kHz.
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, audio, 32000, subtype="FLOAT")
    argv = ["predict", str(wav), "--model", "cnn6", "--weights"]
    argv += [str(checkpoint), "--frames", "--window-seconds", "1", "--top-k"]
    code = cli.main([*argv, "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    frames = re.findall(r"(\d+\.\d+)-(\d+\.\d+) s: (.*)", out)
    assert [(a, b) for a, b, _ in frames] == [
        ("0.00", "1.00"),
        ("1.00", "2.00"),
    ]
    theirs = panns_peer.peer_outputs(peer, audio.reshape(2, 32000))
    scores = theirs["clipwise_output"]
    for (_, _, tags), row in zip(frames, scores, strict=True):
        best = np.argsort(-row, kind="stable")[:2]
        printed = re.findall(r"(\d+) (\d\.\d{4})", tags)
        assert [int(i) for i, _ in printed] == list(best)
        np.testing.assert_allclose(
            [float(p) for _, p in printed], row[best], atol=1e-4
        )
    clip = re.findall(r"^\s+\d\. (\d+)\s+(\d\.\d{4})$", out, re.M)
    best = np.argsort(-scores.max(axis=0), kind="stable")[:2]
    assert [int(i) for i, _ in clip] == list(best)
    bad = ["predict", str(wav), "--model", "cnn6", "--window-seconds", "0"]
    assert cli.main(bad) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--window-seconds > 0" in err
