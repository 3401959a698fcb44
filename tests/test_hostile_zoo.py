"""Hostile inputs to `zoo.load` and the cache: one clear error each, and
nothing corrupt left behind (issue 14, "Trust").

Each test builds its bad input itself, mostly from a copy of a published
preset in tmp_path, and checks the one error it must raise, then that the
cache and the copied files are as they were.

- A valid HDF5 file with one batch-norm gamma zeroed fails the sha256 of
  the model card: the error names the file and both hashes.
- A file's hash is computed once while it is unchanged; a rewritten file
  is hashed again and refused.
- `sha256=` is honoured for a local preset folder (its weights file).
- A downloaded preset is checked against its own model card; a tampered
  file leaves no preset directory in the cache.
- A preset of another architecture (ResNet-34 as resnet18, cnn10 as
  resnet18, se_cnn10 as se_resnet18, ResNet-18 as cnn10) is refused,
  naming what differs.
- A `task.json` that Keras safe mode refuses is an error naming the file,
  not a silent bare backbone.
- A `task.json` naming a class that does not exist is an error naming the
  file.
- A backbone-only preset (no `task.json`) without `num_classes` is an
  error saying so; with `num_classes` it gets a new head, and with
  `include_top=False` it is the backbone.
- `input_shape=(64, 64, 3)` with published weights predicts at 64x64; a
  channel count the weights cannot take is refused; an audio preset takes
  a fixed clip length.
- Unknown keyword arguments are refused, naming them and listing the
  accepted ones.
- Arguments that change the architecture are refused with weights; head
  arguments (`include_top`, `pooling`, `classifier_activation`) are
  honoured.
- `num_classes` is checked before anything is built: 10**7, 0, True and
  2.5 are refused, a NumPy integer is taken.
- A Git LFS pointer instead of `model.weights.h5` is named as such.
- A truncated HDF5 file is named, with or without a model card.
- A `KERAS_ATTENTION_CACHE` that is a regular file, or under one, is an
  error naming the variable and the path.
- What the cache writes has the umask's modes (files 0o644 and
  directories 0o755 under umask 022), so a shared cache works.
- A cached file this user cannot read is an error saying so; it is
  neither deleted nor downloaded again.
- A preset whose `config.json` is unreadable is an error naming the file,
  and so is a published entry whose `model_card.json` is.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from helpers.http import serve
from helpers.zoo import files_in

from keras_attention import zoo
from keras_attention.zoo import (
    PresetError,
    UnknownArgumentError,
    download,
    integrity,
)
from keras_attention.zoo.download import (
    CacheError,
    WeightsIntegrityError,
    sha256sum,
)

ZOO = Path(__file__).resolve().parents[1] / "zoo"
IMAGE_PRESET = ZOO / "resnet18" / "fashion_mnist"
LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:" + "ab" * 32 + "\n"
    "size 22549296\n"
)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Every test gets its own cache; most must leave it empty."""
    root = tmp_path / "cache"
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(root))
    return root


@pytest.fixture
def preset(tmp_path) -> Path:
    """A copy of the published resnet18 preset, with its model card."""
    return Path(shutil.copytree(IMAGE_PRESET, tmp_path / "resnet18"))


@pytest.fixture
def bare_preset(preset) -> Path:
    """The copy without its model card: a user's own preset, which only
    the format checks and the architecture check guard."""
    (preset / "model_card.json").unlink()
    return preset


def _listing(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*")}


def _zero_a_gamma(path: Path) -> None:
    """Zeroes the first batch-norm gamma: still a valid HDF5 file."""
    with h5py.File(path, "r+") as f:
        gamma = f["layers/batch_normalization/vars/0"]
        gamma[...] = np.zeros(gamma.shape, gamma.dtype)


def _card_sha(preset: Path, name: str) -> str:
    card = json.loads((preset / "model_card.json").read_text())
    return card["files"][name]["sha256"]


def _images(n=2, shape=(28, 28, 1), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (n, *shape)).astype("float32")


# ---------------------------------------------------------------- sha256


def test_zeroed_gamma_fails_the_model_card_hash(preset, cache):
    weights = preset / "model.weights.h5"
    expected = _card_sha(preset, "model.weights.h5")
    _zero_a_gamma(weights)
    actual = sha256sum(weights)
    before = _listing(preset)
    with pytest.raises(WeightsIntegrityError, match="sha256 mismatch") as e:
        zoo.load("resnet18", weights=str(preset))
    message = str(e.value)
    assert str(weights) in message
    assert expected in message and actual in message
    assert _listing(preset) == before  # the local copy is left as it is
    assert not cache.exists()


def test_hash_is_remembered_until_the_file_changes(preset, monkeypatch):
    calls = []
    real = integrity.sha256sum

    def counting(path):
        calls.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(integrity, "sha256sum", counting)
    pins = {"manifest": "model_card.json"}
    download.fetch_preset(preset, **pins)
    assert "model.weights.h5" in calls
    calls.clear()
    download.fetch_preset(preset, **pins)
    assert calls == []  # unchanged files are not read again
    weights = preset / "model.weights.h5"
    _zero_a_gamma(weights)
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(WeightsIntegrityError, match="model.weights.h5"):
        download.fetch_preset(preset, **pins)
    assert calls == ["model.weights.h5"]


def test_sha256_argument_is_honoured_for_a_local_preset(bare_preset, cache):
    wrong = "0" * 64
    actual = sha256sum(bare_preset / "model.weights.h5")
    with pytest.raises(WeightsIntegrityError, match=wrong) as e:
        zoo.load("resnet18", weights=str(bare_preset), sha256=wrong)
    assert actual in str(e.value)
    assert str(bare_preset / "model.weights.h5") in str(e.value)
    assert not cache.exists()


def test_downloaded_preset_is_checked_against_its_card(preset, server, cache):
    _zero_a_gamma(preset / "model.weights.h5")
    for path in preset.iterdir():
        server.routes[f"/p/resnet18/{path.name}"] = serve(path.read_bytes())
    url = server.url("/p/resnet18/")
    with pytest.raises(WeightsIntegrityError, match="sha256 mismatch") as e:
        zoo.load("resnet18", weights=url)
    assert f"{url}model.weights.h5" in str(e.value)
    assert _card_sha(preset, "model.weights.h5") in str(e.value)
    assert files_in(cache) == []  # no preset directory, no partial file


# ---------------------------------------------------------- architecture


def _as_resnet34(preset: Path) -> Path:
    config = json.loads((preset / "config.json").read_text())
    config["config"]["stackwise_num_blocks"] = [3, 4, 6, 3]
    (preset / "config.json").write_text(json.dumps(config))
    return preset


@pytest.mark.parametrize(
    "requested, weights, message",
    [
        (
            "resnet18",
            "resnet34",
            r"a resnet34 \(image ResNet-34.*depth differs",
        ),
        ("resnet18", "cnn10/instruments", r"a cnn10 \(audio CNN10.*family"),
        (
            "se_resnet18",
            "se_cnn10/instruments",
            r"attention='se'\); requested se_resnet18 \(image ResNet-18",
        ),
        ("cnn10", "resnet18/fashion_mnist", r"requested cnn10 \(audio CNN10"),
    ],
)
def test_preset_of_another_architecture_is_refused(
    requested, weights, message, bare_preset, cache
):
    path = _as_resnet34(bare_preset) if weights == "resnet34" else ZOO / weights
    with pytest.raises(PresetError, match=message) as e:
        zoo.load(requested, weights=str(path))
    assert str(path) in str(e.value)
    if weights != "resnet34":
        assert "family, task and depth differ" in str(e.value)
    assert not cache.exists()


# ---------------------------------------------------------- task.json


def _edit_task(preset: Path, edit) -> Path:
    path = preset / "task.json"
    task = json.loads(path.read_text())
    edit(task)
    path.write_text(json.dumps(task))
    return path


def test_task_json_refused_by_safe_mode_is_an_error(bare_preset, cache):
    lambda_layer = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "evil",
            "function": {
                "class_name": "__lambda__",
                "config": {"code": "AA==", "defaults": None, "closure": None},
            },
        },
        "registered_name": None,
    }
    task = _edit_task(
        bare_preset,
        lambda task: task["config"].update(preprocessor=lambda_layer),
    )
    with pytest.raises(PresetError, match="safe_mode") as e:
        zoo.load("resnet18", weights=str(bare_preset))
    assert str(task) in str(e.value)
    assert not cache.exists()


def test_task_json_of_an_unknown_class_is_an_error(bare_preset, cache):
    def rename(task):
        task["class_name"] = "NoSuchClassifier"
        task["registered_name"] = "keras_attention>NoSuchClassifier"

    task = _edit_task(bare_preset, rename)
    with pytest.raises(PresetError, match="NoSuchClassifier") as e:
        zoo.load("resnet18", weights=str(bare_preset))
    assert f"described by {task}" in str(e.value)
    assert not cache.exists()


def test_backbone_only_preset_needs_a_head(bare_preset, cache):
    (bare_preset / "task.json").unlink()
    (bare_preset / "task.weights.h5").unlink()
    with pytest.raises(PresetError, match="no classifier head") as e:
        zoo.load("resnet18", weights=str(bare_preset))
    assert "num_classes" in str(e.value) and "include_top" in str(e.value)
    assert str(bare_preset) in str(e.value)
    # What a Keras user then does: a new head, or the backbone alone.
    model = zoo.load("resnet18", weights=str(bare_preset), num_classes=4)
    assert model.output_shape == (None, 4)
    backbone = zoo.load("resnet18", weights=str(bare_preset), include_top=False)
    with h5py.File(bare_preset / "model.weights.h5") as f:
        stem = f["layers/conv2d/vars/0"][()].astype("float32")
    for got in (model.backbone, backbone):
        kernel = got.get_layer("stem_conv").kernel
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(kernel), stem)
    assert not cache.exists()


# --------------------------------------------------------- input_shape


def test_input_shape_with_published_weights_predicts():
    model = zoo.load("resnet18", input_shape=(64, 64, 3))
    assert model.preprocessor.image_converter.image_size == (64, 64)
    logits = model.predict(_images(shape=(64, 64, 3)), verbose=0)
    assert logits.shape == (2, 10) and np.isfinite(logits).all()
    with pytest.raises(ValueError, match="3 channel"):
        zoo.load("resnet18", input_shape=(64, 64, 1))
    # Audio presets take a fixed clip length the same way.
    audio = zoo.load("cnn10", input_shape=(8000,))
    assert audio.backbone.waveform_shape == (8000,)
    clips = np.zeros((2, 8000), "float32")
    assert audio.predict(clips, verbose=0).shape == (2, 11)


# --------------------------------------------------- keyword arguments


def test_unknown_keyword_arguments_are_refused(cache):
    with pytest.raises(UnknownArgumentError, match="totally_bogus") as e:
        zoo.load("cbam_resnet18", totally_bogus_kwarg=1)
    assert "include_top" in str(e.value) and "pooling" in str(e.value)
    assert isinstance(e.value, TypeError) and isinstance(e.value, ValueError)
    # keras.applications' `classes` is accepted as `num_classes`
    # (tests/test_features.py); a misspelling of it is not.
    with pytest.raises(UnknownArgumentError, match="clases"):
        zoo.load("resnet18", weights=None, clases=5)
    assert not cache.exists()


def test_architecture_arguments_with_weights_are_refused_head_ones_honoured():
    with pytest.raises(ValueError, match="Cannot honour attention_config"):
        zoo.load("resnet18", attention_config={"reduction": 2})
    with pytest.raises(ValueError, match="Cannot honour sample_rate"):
        zoo.load("cnn10", sample_rate=32000)
    pooled = zoo.load("resnet18", include_top=False, pooling="avg")
    assert pooled.output_shape == (None, 512)
    softmax = zoo.load("resnet18", classifier_activation="softmax")
    probabilities = softmax.predict(_images(), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


# --------------------------------------------------------- num_classes


@pytest.mark.parametrize(
    "value, message",
    [
        (10**7, "100,000.*num_classes=10000000"),
        (0, "num_classes=0"),
        (True, "positive integer.*bool"),
        (2.5, "positive integer.*float"),
    ],
)
def test_num_classes_is_checked_before_building(value, message, cache):
    for weights in (None, "fashion_mnist"):
        with pytest.raises(ValueError, match=message):
            zoo.load("resnet18", weights=weights, num_classes=value)
    assert not cache.exists()


def test_numpy_integer_num_classes_is_taken():
    model = zoo.load("resnet18", num_classes=np.int64(3))
    assert model.output_shape == (None, 3)


# ------------------------------------------------- broken weight files


def test_git_lfs_pointer_is_named(preset, cache):
    (preset / "model.weights.h5").write_text(LFS_POINTER)
    with pytest.raises(WeightsIntegrityError, match="Git LFS pointer") as e:
        zoo.load("resnet18", weights=str(preset))
    assert str(preset / "model.weights.h5") in str(e.value)
    assert "git lfs pull" in str(e.value)
    assert (preset / "model.weights.h5").read_text() == LFS_POINTER
    assert not cache.exists()


def test_truncated_hdf5_is_named(preset, cache):
    weights = preset / "model.weights.h5"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsIntegrityError, match="Size mismatch") as e:
        zoo.load("resnet18", weights=str(preset))
    assert f"{weights}: expected {len(data)} bytes" in str(e.value)
    (preset / "model_card.json").unlink()  # only the format check is left
    with pytest.raises(WeightsIntegrityError, match="HDF5") as e:
        zoo.load("resnet18", weights=str(preset))
    assert str(weights) in str(e.value)
    assert weights.stat().st_size == len(data) // 2
    assert not cache.exists()


def test_unreadable_config_json_is_named(bare_preset, cache):
    (bare_preset / "config.json").write_text('["not", "a config"]')
    with pytest.raises(PresetError, match="config.json") as e:
        zoo.load("resnet18", weights=str(bare_preset))
    assert "JSON object" in str(e.value)
    assert not cache.exists()


def test_unreadable_model_card_is_named(tmp_path, monkeypatch, cache):
    card = tmp_path / "zoo" / "resnet18" / "broken" / "model_card.json"
    card.parent.mkdir(parents=True)
    card.write_text("{not json")
    monkeypatch.setenv("KERAS_ATTENTION_ZOO", str(tmp_path / "zoo"))
    with pytest.raises(ValueError, match="Cannot read the model card") as e:
        zoo.load("resnet18")
    assert str(card) in str(e.value)
    assert card.read_text() == "{not json"
    assert not cache.exists()


# --------------------------------------------------------------- cache


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_cache_variable_naming_a_file_is_an_error(where, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a regular file")
    path = blocker if where == "file" else blocker / "sub" / "cache"
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(path))
    with pytest.raises(CacheError, match="KERAS_ATTENTION_CACHE") as e:
        zoo.load("resnet18", weights="http://127.0.0.1:9/presets/resnet18/")
    assert str(path) in str(e.value)
    assert isinstance(e.value, OSError)
    assert blocker.read_text() == "a regular file"


def _serve_tiny_preset(server, tmp_path) -> str:
    """Serves a two-file preset (a JSON config, a tiny `.weights.h5`)."""
    h5 = tmp_path / "tiny.weights.h5"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save_weights(
        h5
    )
    server.routes["/tiny/config.json"] = serve(b'{"config": {}}')
    server.routes["/tiny/model.weights.h5"] = serve(h5.read_bytes())
    return server.url("/tiny/")


def test_cache_writes_with_the_umask_modes(server, cache, tmp_path):
    url = _serve_tiny_preset(server, tmp_path)
    old = os.umask(0o022)
    try:
        path = download.fetch_preset(url)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o755
    for name in ("config.json", "model.weights.h5"):
        assert (path / name).stat().st_mode & 0o777 == 0o644, name


def test_unreadable_cached_file_is_not_corruption(
    server, cache, tmp_path, monkeypatch
):
    url = _serve_tiny_preset(server, tmp_path)
    path = download.fetch_preset(url)
    weights = path / "model.weights.h5"
    before = _listing(cache)
    hits = dict(server.hits)
    if os.geteuid() == 0:  # root reads a 0o000 file: make the read fail
        real = integrity._open_binary

        def denied(name):
            if Path(name) == weights:
                raise PermissionError(13, "Permission denied", str(name))
            return real(name)

        monkeypatch.setattr(integrity, "_open_binary", denied)
    else:
        os.chmod(weights, 0)
    try:
        with pytest.raises(CacheError, match="permission denied") as e:
            download.fetch_preset(url)
    finally:
        os.chmod(weights, 0o644)
    assert str(weights) in str(e.value)
    assert "KERAS_ATTENTION_CACHE" in str(e.value)
    assert _listing(cache) == before  # neither deleted nor replaced
    assert dict(server.hits) == hits  # nor downloaded again
