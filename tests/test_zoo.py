"""The zoo's front door: `list_models`, `info`, `load` and saving.

Weights travel as `.keras` files, keras-hub presets and `.weights.h5`
files, from disk and from the loopback HTTP server of `helpers.http`
(the `server` fixture; nothing leaves 127.0.0.1). Every test that can
download points `KERAS_ATTENTION_CACHE` at its own tmp_path.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import keras_hub
import numpy as np
import pytest
from helpers.http import reset, serve, truncate

from keras_attention import zoo
from keras_attention.models import (
    AttentionResNetBackbone,
    AttentionResNetImageClassifier,
)
from keras_attention.zoo.download import (
    WeightsDownloadError,
    WeightsIntegrityError,
    sha256sum,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "torch")
SHAPE = (32, 32, 3)
CLASS_NAMES = ["ant", "bee", "cat"]
# Different backends sum in different orders.
ATOL = 1e-4


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Every test downloads into its own cache."""
    path = tmp_path / "cache"
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(path))
    return path


def _files(root: Path) -> list[str]:
    if not root.exists():
        return []
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
    )


def _perturb(model: keras.Model, seed: int = 0) -> None:
    """Non-trivial batch-norm statistics and head biases, so a round trip
    cannot pass by reinitialising them; kernels keep their init."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        if "moving_variance" in w.path or "gamma" in w.path:
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif any(k in w.path for k in ("moving_mean", "beta", "bias")):
            w.assign(rng.normal(0, 0.1, shape).astype("float32"))


def _images(n: int = 2, seed: int = 0, shape=SHAPE) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (n, *shape)).astype("float32")


def _predict(model, x) -> np.ndarray:
    """What `model.predict(x)` returns, computed eagerly (cheaper than a
    compiled `predict` for one small batch, on JAX especially)."""
    if getattr(model, "preprocessor", None) is not None:
        x = model.preprocessor(x)
    return keras.ops.convert_to_numpy(model(x, training=False))


def _tiny(name: str = "resnet18", num_classes: int = 3, seed: int = 0):
    model = zoo.load(
        name, weights=None, num_classes=num_classes, input_shape=SHAPE
    )
    _perturb(model, seed)
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny resnet18 (3 named classes) saved as a preset and as a
    `.weights.h5` file, with its predictions on `_images()`."""
    root = tmp_path_factory.mktemp("saved")
    model = zoo.load(
        "resnet18",
        weights=None,
        num_classes=3,
        input_shape=SHAPE,
        class_names=CLASS_NAMES,
    )
    _perturb(model)
    model.save_to_preset(str(root / "preset"))
    model.save_weights(str(root / "resnet18.weights.h5"))
    x = _images()
    np.save(root / "x.npy", x)
    expected = _predict(model, x)
    np.save(root / "expected.npy", expected)
    stem = keras.ops.convert_to_numpy(
        model.backbone.get_layer("stem_conv").kernel
    )
    keras.backend.clear_session()
    return {
        "root": root,
        "preset": root / "preset",
        "weights": root / "resnet18.weights.h5",
        "x": x,
        "expected": expected,
        "stem": stem,
    }


# ------------------------------------------------------------ the registry


def test_list_models_filters(tmp_path, monkeypatch):
    everything = zoo.list_models()
    assert everything == sorted(everything)
    assert len(everything) == len(set(everything)) >= 20
    assert zoo.list_models("cbam_resnet*", task="image") == [
        "cbam_resnet101",
        "cbam_resnet18",
        "cbam_resnet34",
        "cbam_resnet50",
    ]
    images = zoo.list_models(task="image")
    audio = zoo.list_models(task="audio")
    assert len(images) == 20
    assert sorted(images + audio) == everything
    assert all(zoo.get_spec(n).task == "audio" for n in audio)
    assert zoo.list_models("*resnet18", task="image") == [
        "bam_resnet18",
        "cbam_resnet18",
        "eca_resnet18",
        "resnet18",
        "se_resnet18",
    ]
    assert zoo.list_models("no_such_*") == []
    with pytest.raises(ValueError, match="task"):
        zoo.list_models(task="video")

    # `pretrained` reads the published presets under $KERAS_ATTENTION_ZOO.
    entry = tmp_path / "zoo" / "se_resnet18" / "tiny"
    entry.mkdir(parents=True)
    (entry / "model_card.json").write_text(json.dumps({"default": True}))
    monkeypatch.setenv("KERAS_ATTENTION_ZOO", str(tmp_path / "zoo"))
    assert zoo.list_models(pretrained=True) == ["se_resnet18"]
    assert zoo.list_models("se_*", pretrained=True, task="audio") == []
    untrained = zoo.list_models(pretrained=False)
    assert "se_resnet18" not in untrained
    assert len(untrained) == len(everything) - 1


def test_info_is_a_model_card():
    card = zoo.info("cbam_resnet18")
    for key in (
        "name",
        "task",
        "family",
        "attention",
        "description",
        "paper",
        "input_shape",
        "params",
        "trainable_params",
        "macs",
        "default_weights",
        "weights",
    ):
        assert key in card, key
    assert card["family"] == "resnet"
    assert card["attention"] == "cbam"
    assert card["input_shape"] == [224, 224, 3]
    assert card["trainable_params"] == 11_778_592 + 8 * (7 * 7 * 2 + 2)
    assert card["params"] > card["trainable_params"]
    assert card["macs"] == pytest.approx(1.8e9, rel=0.02)
    assert isinstance(card["weights"], dict)
    json.dumps(card)  # serialisable as it is


def test_unknown_model_suggests_close_names():
    with pytest.raises(ValueError, match="Did you mean: cbam_resnet18"):
        zoo.load("cbam_resnt18", weights=None)
    with pytest.raises(ValueError, match="se_resnet50"):
        zoo.info("se_resnet05")


def test_unknown_weights_lists_the_published_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_ATTENTION_ZOO", str(tmp_path / "zoo"))
    # An empty zoo folder: only the converted (named peer) weights.
    with pytest.raises(ValueError, match=r"available: imagenet\)"):
        zoo.load("resnet18", weights="imagenet_v9")
    for weights in ("fashion_mnist", "cifar10"):
        entry = tmp_path / "zoo" / "resnet18" / weights
        entry.mkdir(parents=True)
        (entry / "model_card.json").write_text("{}")
    with pytest.raises(ValueError, match="cifar10, fashion_mnist"):
        zoo.load("resnet18", weights="imagenet_v9")


def test_registry_is_data_and_models_do_not_import_the_zoo():
    # The families declare their specs; the zoo only collects them.
    code = textwrap.dedent(
        """
        import sys
        from keras_attention.models import audio, resnet
        assert not any(m.startswith("keras_attention.zoo") for m in sys.modules)
        from keras_attention.zoo import registry
        specs = resnet.MODEL_SPECS + audio.MODEL_SPECS
        assert [s.name for s in specs] == [
            s.name for s in map(registry.get_spec, [s.name for s in specs])
        ]
        assert sorted(s.name for s in specs) == registry.list_models()
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ)
    spec = zoo.get_spec("se_cnn10")
    assert spec.attention == "se" and spec.family == "panns_cnn"
    assert spec.architecture["config"]["block_type"] == "double3x3"
    assert (
        spec.description
        == "PANNs CNN10, Squeeze-and-Excitation, 16 kHz waveform"
    )


def test_one_attention_table():
    from keras_attention.layers.factory import ATTENTION_INFO

    assert zoo.get_spec("eca_resnet50").paper == ATTENTION_INFO["eca"].paper
    assert zoo.get_spec("bam_resnet18").description == "ResNet-18 v1.5, BAM"
    assert ATTENTION_INFO[None].label == "no attention"


def test_without_a_zoo_folder_the_package_index_lists_the_presets(
    monkeypatch,
):
    from helpers.published import published_cards

    from keras_attention.zoo import locations

    monkeypatch.delenv("KERAS_ATTENTION_ZOO", raising=False)
    monkeypatch.setenv("KERAS_ATTENTION_WEIGHTS_URL", "")
    monkeypatch.setattr(locations, "_editable_checkout", lambda: None)
    assert zoo.zoo_dir() is None
    # An installed wheel lists what zoo/ publishes, from the package.
    assert zoo.list_models(pretrained=True) == sorted(
        {model for model, _ in published_cards()}
    )
    entry = zoo.published_weights("cbam_resnet18")["fashion_mnist"]
    assert entry["url"] is None and "path" not in entry
    assert "model_card.json" in entry["files"]
    # Downloads off: one error saying how to get the weights, never a
    # random model in their place.
    with pytest.raises(zoo.WeightsUnavailableError) as info:
        zoo.load("cbam_resnet18")
    for hint in (
        "keras-attention download cbam_resnet18",
        "KERAS_ATTENTION_WEIGHTS_URL",
        "KERAS_ATTENTION_ZOO",
        "weights=None",
    ):
        assert hint in str(info.value)
    monkeypatch.setenv("KERAS_ATTENTION_WEIGHTS_URL", "https://x.test/z/")
    url = zoo.published_weights("cbam_resnet18")["fashion_mnist"]["url"]
    assert url == "https://x.test/z/cbam_resnet18/fashion_mnist/"
    monkeypatch.delenv("KERAS_ATTENTION_WEIGHTS_URL")
    assert locations.weights_base_url() == locations.WEIGHTS_URL
    # The catalog ships in the package.
    assert zoo.info("resnet18")["trainable_params"] == 11_689_512
    assert zoo.load("resnet18", weights=None, input_shape=(32, 32, 3))


def test_zoo_folder_of_an_editable_install(tmp_path, monkeypatch):
    from keras_attention.zoo import locations

    class Dist:
        def __init__(self, text):
            self.text = text

        def read_text(self, name):
            assert name == "direct_url.json"
            return self.text

    (tmp_path / "zoo").mkdir()
    monkeypatch.delenv("KERAS_ATTENTION_ZOO", raising=False)
    # The real check: the checkout must hold the package running now.
    assert locations._is_this_package(Path(zoo.__file__).parents[2])
    assert not locations._is_this_package(tmp_path)
    monkeypatch.setattr(
        locations, "_is_this_package", lambda checkout: checkout == tmp_path
    )
    record = {"url": tmp_path.as_uri(), "dir_info": {"editable": True}}
    other = {**record, "url": (tmp_path / "other").as_uri()}
    for texts, expected in (
        # Another checkout's editable metadata (e.g. a wheel installed
        # beside it): not this package's zoo.
        ([json.dumps(other)], None),
        ([json.dumps(record)], tmp_path / "zoo"),
        # The checkout's own egg-info (no direct_url.json) comes first on
        # sys.path when the tests run from the checkout: it must not hide
        # the installed dist-info.
        ([None, json.dumps(record)], tmp_path / "zoo"),
        ([json.dumps({**record, "dir_info": {}})], None),  # a regular install
        ([None], None),
        (["not json"], None),
        ([], None),  # not installed
    ):
        monkeypatch.setattr(
            locations.importlib.metadata,
            "distributions",
            lambda name, texts=texts: [Dist(text) for text in texts],
        )
        locations._editable_checkout.cache_clear()
        assert locations.zoo_dir() == expected
    locations._editable_checkout.cache_clear()


def test_model_card_round_trip_and_errors(tmp_path):
    from helpers.published import ZOO

    path = sorted(ZOO.glob(f"*/*/{zoo.MODEL_CARD_FILE}"))[0]
    card = zoo.ModelCard.read(path.parent, strict=True)
    assert card.to_json() == json.loads(path.read_text())
    assert zoo.ModelCard.from_json({"x": 1}).extra == {"x": 1}
    bad = tmp_path / zoo.MODEL_CARD_FILE
    bad.write_text(json.dumps({"model": "resnet18", "num_classes": "ten"}))
    with pytest.raises(zoo.ModelCardError, match="num_classes") as error:
        zoo.ModelCard.read(bad)
    assert str(bad) in str(error.value)
    bad.write_text(json.dumps({"model": "resnet18"}))
    with pytest.raises(zoo.ModelCardError, match="schema, weights, task"):
        zoo.ModelCard.read(bad, strict=True)
    with pytest.raises(FileNotFoundError, match="No model card"):
        zoo.ModelCard.read(tmp_path / "nothing" / zoo.MODEL_CARD_FILE)


def test_resolve_weights(tmp_path, monkeypatch):
    assert zoo.resolve_weights("resnet18", None) == (None, {})
    source, card = zoo.resolve_weights("cbam_resnet18")
    assert source.is_dir() and card["model"] == "cbam_resnet18"
    with pytest.raises(ValueError, match="Unknown weights"):
        zoo.resolve_weights("resnet18", str(tmp_path / "missing"))


def test_zoo_exports_the_errors():
    from keras_attention.zoo import api, download

    assert zoo.WeightsIntegrityError is download.WeightsIntegrityError
    assert zoo.CacheError is download.CacheError
    assert zoo.WeightsDownloadError is download.WeightsDownloadError
    assert zoo.PresetError is api.PresetError
    assert zoo.UnknownArgumentError is api.UnknownArgumentError


# ------------------------------------------------------- saving, loading


@pytest.mark.parametrize("name", ["resnet18", "cbam_resnet18", "bam_resnet18"])
def test_keras_file_round_trip(name, tmp_path):
    model = _tiny(name)
    x = _images()
    expected = _predict(model, x)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is AttentionResNetImageClassifier
    assert loaded.backbone.attention == model.backbone.attention
    np.testing.assert_allclose(_predict(loaded, x), expected, atol=ATOL)


def test_preset_round_trip(saved):
    preset = str(saved["preset"])
    hub = keras_hub.models.ImageClassifier.from_preset(preset)
    assert type(hub) is AttentionResNetImageClassifier
    assert hub.class_names == CLASS_NAMES
    np.testing.assert_allclose(
        _predict(hub, saved["x"]), saved["expected"], atol=ATOL
    )
    ours = zoo.load("resnet18", weights=preset)
    np.testing.assert_allclose(
        _predict(ours, saved["x"]), saved["expected"], atol=ATOL
    )
    # The same head size keeps the trained head.
    same = zoo.load("resnet18", weights=preset, num_classes=3)
    np.testing.assert_allclose(
        _predict(same, saved["x"]), saved["expected"], atol=ATOL
    )


def test_keras_hub_backbone_from_preset(saved):
    backbone = keras_hub.models.Backbone.from_preset(str(saved["preset"]))
    assert isinstance(backbone, AttentionResNetBackbone)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(backbone.get_layer("stem_conv").kernel),
        saved["stem"],
    )


def test_fine_tune_from_preset(saved):
    model = zoo.load("resnet18", weights=str(saved["preset"]), num_classes=5)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(
            model.backbone.get_layer("stem_conv").kernel
        ),
        saved["stem"],
    )
    assert model.output_shape == (None, 5)
    assert model.class_names is None
    history = model.fit(
        saved["x"], np.array([0, 4]), epochs=1, batch_size=2, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])


def test_local_weights_file(saved):
    model = zoo.load(
        "resnet18",
        weights=str(saved["weights"]),
        num_classes=3,
        input_shape=SHAPE,
    )
    np.testing.assert_allclose(
        _predict(model, saved["x"]), saved["expected"], atol=ATOL
    )


def test_weights_of_another_architecture_raise(saved, tmp_path):
    weights = str(saved["weights"])
    # Keras itself raises here: the file lacks the attention layers.
    with pytest.raises(ValueError, match="does not fit model 'cbam_resnet18'"):
        zoo.load(
            "cbam_resnet18", weights=weights, num_classes=3, input_shape=SHAPE
        )
    # A 10-class head into a 3-class model.
    with pytest.raises(ValueError, match="does not fit model 'resnet18'"):
        zoo.load("resnet18", weights=weights, num_classes=10, input_shape=SHAPE)
    # Keras matches layers by type and order and skips the file's extra
    # variables, so BAM weights would load into a plain ResNet silently.
    bam = tmp_path / "bam.weights.h5"
    _tiny("bam_resnet18").save_weights(str(bam))
    with pytest.raises(ValueError, match="holds 186 variables"):
        zoo.load("resnet18", weights=str(bam), num_classes=3, input_shape=SHAPE)
    # A preset is built as saved: under another name it is refused.
    with pytest.raises(ValueError, match="attention=None"):
        zoo.load("cbam_resnet18", weights=str(saved["preset"]))


# ------------------------------------------------------------------ HTTP


def test_weights_over_http(saved, server, cache):
    data = saved["weights"].read_bytes()
    server.routes["/v1/resnet18.weights.h5"] = serve(data)
    sha = sha256sum(saved["weights"])
    model = zoo.load(
        "resnet18",
        weights=server.url("/v1/resnet18.weights.h5"),
        sha256=sha,
        num_classes=3,
        input_shape=SHAPE,
    )
    np.testing.assert_allclose(
        _predict(model, saved["x"]), saved["expected"], atol=ATOL
    )
    assert _files(cache) == [f"weights/resnet18.{sha[:12]}.weights.h5"]


HTML = b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"


@pytest.mark.parametrize(
    "failure, error, message",
    [
        ("sha256", WeightsIntegrityError, "sha256 mismatch"),
        ("truncated", WeightsIntegrityError, "Truncated download"),
        ("html", WeightsIntegrityError, "HTML page"),
        ("html_body", WeightsIntegrityError, "HTML page"),
        ("interrupted", (WeightsDownloadError, WeightsIntegrityError), None),
        ("missing", WeightsDownloadError, "HTTP 404"),
    ],
)
def test_bad_downloads_raise_and_leave_no_file(
    saved, server, cache, failure, error, message
):
    data = saved["weights"].read_bytes()
    sha = sha256sum(saved["weights"])
    route = {
        "sha256": serve(data),
        "truncated": truncate(data, len(data) // 2),
        "html": serve(HTML, "text/html"),
        "html_body": serve(HTML),
        "interrupted": reset(data, len(data) // 3),
    }.get(failure)
    if route is not None:
        server.routes["/resnet18.weights.h5"] = route
    wrong = "0" * 64 if failure == "sha256" else sha
    with pytest.raises(error, match=message) as info:
        zoo.load(
            "resnet18",
            weights=server.url("/resnet18.weights.h5"),
            sha256=wrong,
            num_classes=3,
            input_shape=SHAPE,
        )
    assert "resnet18.weights.h5" in str(info.value)
    # Nothing valid-looking, not even a partial file, stays in the cache.
    assert _files(cache) == []


def test_preset_over_http(saved, server, cache):
    preset = saved["preset"]
    for path in preset.iterdir():
        server.routes[f"/presets/resnet18/{path.name}"] = serve(
            path.read_bytes()
        )
    model = zoo.load("resnet18", weights=server.url("/presets/resnet18/"))
    assert model.class_names == CLASS_NAMES
    np.testing.assert_allclose(
        _predict(model, saved["x"]), saved["expected"], atol=ATOL
    )
    cached = {Path(f).name for f in _files(cache)}
    assert cached == {p.name for p in preset.iterdir()}


def test_preset_over_http_with_a_broken_file(saved, server, cache):
    preset = saved["preset"]
    for path in preset.iterdir():
        data = path.read_bytes()
        if path.name == "model.weights.h5":
            data = data[: len(data) // 2]
        server.routes[f"/p/{path.name}"] = serve(data)
    with pytest.raises(WeightsIntegrityError, match="model.weights.h5"):
        zoo.load("resnet18", weights=server.url("/p/"))
    assert _files(cache) == []


# ---------------------------------------------------------- cross-backend

LOAD_PRESET = textwrap.dedent(
    """
    import sys

    import keras
    import numpy as np

    from keras_attention import zoo

    preset, root, backend = sys.argv[1:]
    assert keras.backend.backend() == backend, keras.backend.backend()
    model = zoo.load("resnet18", weights=preset)
    x = np.load(f"{root}/x.npy")
    np.save(f"{root}/{backend}.npy", np.asarray(model.predict(x, verbose=0)))
    """
)


@functools.cache
def _other_backends() -> tuple:
    return tuple(b for b in BACKENDS if b != keras.backend.backend())


@pytest.mark.parametrize("index", [0, 1])
def test_preset_loads_under_the_other_backends(saved, index):
    other = _other_backends()[index]
    env = {**os.environ, "KERAS_BACKEND": other}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), env.get("PYTHONPATH", "")]
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_PRESET,
            str(saved["preset"]),
            str(saved["root"]),
            other,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    actual = np.load(saved["root"] / f"{other}.npy")
    np.testing.assert_allclose(actual, saved["expected"], rtol=1e-3, atol=ATOL)
