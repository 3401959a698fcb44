"""Tests for keras_attention.zoo.download (fetching, verification, cache).

Everything is served by the loopback HTTP server of `helpers.http` (the
`server` fixture); nothing leaves 127.0.0.1 and every test points the
cache at its own tmp_path.
"""

import hashlib
import json
import socket
import threading
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers.http import reset, serve, stall, status, trickle, truncate
from helpers.zoo import files_in

from keras_attention.zoo import cache as zoo_cache
from keras_attention.zoo import download, transport
from keras_attention.zoo.download import (
    WeightsDownloadError,
    WeightsIntegrityError,
    cache_dir,
    fetch,
    fetch_preset,
    sha256sum,
)

# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every test gets its own cache; nothing touches the real home."""
    root = tmp_path / "cache"
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(root))
    return root


def _model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A real tiny `.weights.h5`: (bytes, sha256, list of arrays)."""
    model = _model()
    model.layers[0].set_weights(
        [
            np.arange(8, dtype="float32").reshape(4, 2) / 10,
            np.array([0.5, -0.5], dtype="float32"),
        ]
    )
    path = tmp_path_factory.mktemp("weights") / "tiny.weights.h5"
    model.save_weights(path)
    data = path.read_bytes()
    arrays = [np.asarray(w) for w in model.get_weights()]
    return data, hashlib.sha256(data).hexdigest(), arrays


def assert_clean(root):
    found = files_in(root)
    assert found == [], f"cache should hold nothing, found {found}"


def assert_loads(path, arrays):
    model = _model()
    model.load_weights(path)
    for got, want in zip(model.get_weights(), arrays, strict=True):
        np.testing.assert_allclose(np.asarray(got), want)


# ------------------------------------------------------------ cache_dir


def test_cache_dir_env_override(cache):
    assert not cache.exists()
    assert cache_dir() == cache
    assert cache.is_dir()


def test_cache_dir_default_is_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_ATTENTION_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".cache" / "keras_attention"
    assert cache_dir() == expected
    assert expected.is_dir()


def test_sha256sum_matches_hashlib(tmp_path):
    path = tmp_path / "blob.bin"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)
    assert sha256sum(path) == hashlib.sha256(data).hexdigest()


# --------------------------------------------------------- happy path


def test_fetch_downloads_verifies_and_caches(server, cache, weights):
    data, sha, arrays = weights
    server.routes["/w/tiny.weights.h5"] = serve(data)
    url = server.url("/w/tiny.weights.h5")

    path = fetch(url, sha)
    assert path.parent == cache / "weights"
    assert path.name == f"tiny.{sha[:12]}.weights.h5"
    assert sha256sum(path) == sha
    assert_loads(path, arrays)
    assert server.hits["/w/tiny.weights.h5"] == 1
    assert files_in(cache) == [Path("weights") / path.name]

    # Second fetch is served from the (re-verified) cache.
    assert fetch(url, sha.upper()) == path
    assert fetch(url, "sha256:" + sha) == path
    assert server.hits["/w/tiny.weights.h5"] == 1


def test_fetch_without_sha_tags_by_url(server, cache, weights):
    data, sha, arrays = weights
    other = _model()
    other_path = cache.parent / "other.weights.h5"
    other.save_weights(other_path)
    server.routes["/a/tiny.weights.h5"] = serve(data)
    server.routes["/b/tiny.weights.h5"] = serve(other_path.read_bytes())

    first = fetch(server.url("/a/tiny.weights.h5"))
    second = fetch(server.url("/b/tiny.weights.h5"))
    assert first != second
    assert first.name.endswith(".weights.h5")
    assert sha256sum(first) == sha
    assert sha256sum(second) == sha256sum(other_path)
    assert_loads(first, arrays)
    assert fetch(server.url("/a/tiny.weights.h5")) == first
    assert server.hits["/a/tiny.weights.h5"] == 1


def test_same_name_different_sha_do_not_collide(server, tmp_path, weights):
    data, sha, _ = weights
    _model().save_weights(tmp_path / "other.weights.h5")
    other = (tmp_path / "other.weights.h5").read_bytes()
    other_sha = hashlib.sha256(other).hexdigest()
    server.routes["/x/tiny.weights.h5"] = serve(data)
    server.routes["/y/tiny.weights.h5"] = serve(other)
    first = fetch(server.url("/x/tiny.weights.h5"), sha)
    second = fetch(server.url("/y/tiny.weights.h5"), other_sha)
    assert first != second
    assert sha256sum(first) == sha
    assert sha256sum(second) == other_sha


def test_progress_reports_to_stderr(server, weights, capsys):
    data, sha, _ = weights
    server.routes["/p/tiny.weights.h5"] = serve(data)
    fetch(server.url("/p/tiny.weights.h5"), sha, progress=True)
    err = capsys.readouterr().err
    assert "Downloading tiny." in err
    assert "100%" in err


def test_concurrent_fetches_agree(server, cache, weights):
    data, sha, arrays = weights
    server.routes["/c/tiny.weights.h5"] = trickle(data, pieces=5, pause=0.02)
    url = server.url("/c/tiny.weights.h5")
    results, errors = [], []

    def worker():
        try:
            results.append(fetch(url, sha))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 4
    assert sha256sum(results[0]) == sha
    assert_loads(results[0], arrays)
    assert files_in(cache) == [Path("weights") / results[0].name]


# ------------------------------------------------------------ failures


def test_wrong_sha256_names_both_hashes(server, cache, weights):
    data, sha, _ = weights
    wrong = "0" * 64
    server.routes["/w/tiny.weights.h5"] = serve(data)
    url = server.url("/w/tiny.weights.h5")
    with pytest.raises(WeightsIntegrityError) as info:
        fetch(url, wrong)
    message = str(info.value)
    assert wrong in message and sha in message
    assert url in message
    assert info.value.expected == wrong and info.value.received == sha
    assert_clean(cache)


def test_truncated_download_is_rejected(server, cache, weights):
    data, sha, _ = weights
    server.routes["/t/tiny.weights.h5"] = truncate(data, len(data) // 2)
    url = server.url("/t/tiny.weights.h5")
    with pytest.raises(WeightsIntegrityError) as info:
        fetch(url, sha)
    message = str(info.value)
    assert f"expected {len(data)} bytes, got {len(data) // 2}" in message
    assert url in message
    assert_clean(cache)


def test_truncated_download_without_sha_is_rejected(server, cache, weights):
    data, _, _ = weights
    server.routes["/t/tiny.weights.h5"] = truncate(data, len(data) - 10)
    with pytest.raises(WeightsIntegrityError, match="Truncated"):
        fetch(server.url("/t/tiny.weights.h5"))
    assert_clean(cache)


def test_slow_partial_then_disconnect(server, cache, weights):
    data, sha, _ = weights
    server.routes["/s/tiny.weights.h5"] = trickle(data, keep=len(data) // 3)
    with pytest.raises(WeightsIntegrityError, match="bytes"):
        fetch(server.url("/s/tiny.weights.h5"), sha)
    assert_clean(cache)


def test_connection_reset_mid_body(server, cache, weights):
    data, sha, _ = weights
    server.routes["/r/tiny.weights.h5"] = reset(data, len(data) // 2)
    url = server.url("/r/tiny.weights.h5")
    # Depending on timing the client sees the RST or an early EOF.
    with pytest.raises((WeightsDownloadError, WeightsIntegrityError)) as info:
        fetch(url, sha)
    assert url in str(info.value)
    assert_clean(cache)


def test_stalled_download_times_out(server, cache, weights):
    data, sha, _ = weights
    server.routes["/z/tiny.weights.h5"] = stall(data, 100)
    url = server.url("/z/tiny.weights.h5")
    with pytest.raises(WeightsDownloadError, match="timed out") as info:
        fetch(url, sha, timeout=0.3)
    assert url in str(info.value)
    assert_clean(cache)


@pytest.mark.parametrize(
    "content_type", ["text/html", "text/html; charset=utf-8"]
)
def test_html_content_type_is_rejected(server, cache, content_type):
    body = b"<p>Please sign in</p>"
    server.routes["/h/tiny.weights.h5"] = serve(body, content_type)
    url = server.url("/h/tiny.weights.h5")
    with pytest.raises(WeightsIntegrityError, match="HTML page") as info:
        fetch(url)
    assert url in str(info.value)
    assert_clean(cache)


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><body>Not found</body></html>",
        b"\n  <HTML><head><title>Login</title></head></html>",
    ],
)
def test_html_body_is_rejected(server, cache, weights, body):
    _, sha, _ = weights
    server.routes["/h/tiny.weights.h5"] = serve(body)
    with pytest.raises(WeightsIntegrityError, match="HTML page"):
        fetch(server.url("/h/tiny.weights.h5"), sha)
    assert_clean(cache)


def test_wrong_format_is_rejected(server, cache):
    body = json.dumps({"not": "weights"}).encode()
    server.routes["/f/tiny.weights.h5"] = serve(body)
    with pytest.raises(WeightsIntegrityError, match="HDF5") as info:
        fetch(server.url("/f/tiny.weights.h5"))
    assert 'b\'{"not": ' in str(info.value)
    assert_clean(cache)


def test_hdf5_signature_but_unreadable_is_rejected(server, cache):
    body = download.HDF5_SIGNATURE + b"\x00" * 200
    server.routes["/f/tiny.weights.h5"] = serve(body)
    with pytest.raises(WeightsIntegrityError, match="h5py"):
        fetch(server.url("/f/tiny.weights.h5"))
    assert_clean(cache)


def test_expected_format_overrides_suffix(server, cache, weights):
    data, _, _ = weights
    server.routes["/f/blob"] = serve(data)
    server.routes["/f/config"] = serve(b'{"a": 1}')
    # An HDF5 file is not JSON ...
    with pytest.raises(WeightsIntegrityError, match="JSON"):
        fetch(server.url("/f/blob"), expected_format="json")
    assert_clean(cache)
    # ... and a name without a suffix can still be checked.
    assert fetch(server.url("/f/blob"), expected_format="h5").exists()
    path = fetch(server.url("/f/config"), expected_format="json")
    assert json.loads(path.read_text()) == {"a": 1}
    with pytest.raises(WeightsIntegrityError, match="zip"):
        fetch(server.url("/f/config"), expected_format="keras", filename="c")


def test_empty_body_is_rejected(server, cache):
    server.routes["/e/tiny.weights.h5"] = serve(b"")
    with pytest.raises(WeightsIntegrityError, match="empty"):
        fetch(server.url("/e/tiny.weights.h5"))
    assert_clean(cache)


@pytest.mark.parametrize("code", [404, 500])
def test_http_error_status(server, cache, code):
    server.routes["/missing/tiny.weights.h5"] = status(code)
    url = server.url("/missing/tiny.weights.h5")
    with pytest.raises(WeightsDownloadError) as info:
        fetch(url, "a" * 64)
    assert info.value.status == code
    assert info.value.url == url
    assert url in str(info.value) and str(code) in str(info.value)
    assert isinstance(info.value, OSError)
    assert_clean(cache)


def test_connection_refused(cache):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/tiny.weights.h5"
    with pytest.raises(WeightsDownloadError) as info:
        fetch(url, timeout=5)
    assert url in str(info.value)
    assert info.value.status is None
    assert_clean(cache)


def test_keyboard_interrupt_leaves_nothing(server, cache, weights, monkeypatch):
    data, sha, _ = weights
    server.routes["/k/tiny.weights.h5"] = serve(data)
    seen = {}

    def interrupted(response, out, digest, **kwargs):
        out.write(response.read(len(data) // 2))
        out.flush()
        seen["files"] = files_in(cache)
        raise KeyboardInterrupt

    monkeypatch.setattr(transport, "_stream_to_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fetch(server.url("/k/tiny.weights.h5"), sha)
    # The partial file existed during the download, under a temporary name.
    assert len(seen["files"]) == 1
    assert ".partial-" in seen["files"][0].name
    assert_clean(cache)


# ------------------------------------------------------- tampered cache


def test_tampered_cache_is_detected_and_redownloaded(server, weights):
    data, sha, arrays = weights
    server.routes["/w/tiny.weights.h5"] = serve(data)
    url = server.url("/w/tiny.weights.h5")
    path = fetch(url, sha)
    with open(path, "r+b") as f:
        f.seek(len(data) // 2)
        f.write(b"\xff" * 16)
    assert sha256sum(path) != sha

    with pytest.warns(UserWarning, match="failed verification"):
        again = fetch(url, sha)
    assert again == path
    assert sha256sum(again) == sha
    assert_loads(again, arrays)
    assert server.hits["/w/tiny.weights.h5"] == 2


def test_tampered_cache_and_failed_redownload_raises(server, cache, weights):
    data, sha, _ = weights
    server.routes["/w/tiny.weights.h5"] = serve(data)
    url = server.url("/w/tiny.weights.h5")
    path = fetch(url, sha)
    path.write_bytes(b"garbage")
    server.routes["/w/tiny.weights.h5"] = status(500)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(WeightsDownloadError, match="500"):
            fetch(url, sha)
    assert not path.exists()
    assert_clean(cache)


def test_corrupt_cache_without_sha_is_redownloaded(server, weights):
    data, sha, _ = weights
    server.routes["/w/tiny.weights.h5"] = serve(data)
    url = server.url("/w/tiny.weights.h5")
    path = fetch(url)
    path.write_bytes(data[: len(data) // 2])  # a truncated copy
    with pytest.warns(UserWarning, match="failed verification"):
        assert fetch(url) == path
    assert sha256sum(path) == sha
    assert server.hits["/w/tiny.weights.h5"] == 2


# --------------------------------------------------------- local files


def test_local_path_and_file_url(tmp_path, cache, weights):
    data, sha, arrays = weights
    local = tmp_path / "local.weights.h5"
    local.write_bytes(data)
    assert fetch(str(local), sha) == local
    assert fetch(local) == local
    assert fetch(local.as_uri(), sha) == local
    assert_loads(fetch(local.as_uri()), arrays)
    # Local files are verified in place, never copied into the cache.
    assert_clean(cache)


def test_local_file_with_wrong_sha_is_kept(tmp_path, weights):
    data, sha, _ = weights
    local = tmp_path / "local.weights.h5"
    local.write_bytes(data)
    with pytest.raises(WeightsIntegrityError, match=sha) as info:
        fetch(local, "f" * 64)
    assert str(local) in str(info.value)
    assert local.read_bytes() == data


def test_local_html_file_is_rejected(tmp_path):
    local = tmp_path / "page.weights.h5"
    local.write_bytes(b"<!doctype html><title>x</title>")
    with pytest.raises(WeightsIntegrityError, match="HTML page"):
        fetch(local)


def test_missing_local_path(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    with pytest.raises(FileNotFoundError) as info:
        fetch(str(missing))
    assert str(missing) in str(info.value)
    with pytest.raises(FileNotFoundError) as info:
        fetch(missing.as_uri())
    assert str(missing) in str(info.value)


def test_invalid_arguments(server):
    url = server.url("/w/tiny.weights.h5")
    with pytest.raises(ValueError, match="64 hexadecimal"):
        fetch(url, "abc")
    with pytest.raises(ValueError, match="file://"):
        fetch("ftp://example.invalid/tiny.weights.h5")
    with pytest.raises(ValueError, match="filename"):
        fetch(url, filename="../escape.weights.h5")
    with pytest.raises(ValueError, match="cache_subdir"):
        fetch(url, cache_subdir="../outside")
    with pytest.raises(ValueError, match="expected_format"):
        fetch(url, expected_format="pickle")
    with pytest.raises(ValueError, match="filename"):
        fetch(server.url("/dir/"))
    assert server.hits == {}


def test_cache_name_keeps_compound_suffix():
    assert zoo_cache._cache_name("m.weights.h5", "abc") == "m.abc.weights.h5"
    assert zoo_cache._cache_name("m.keras", "abc") == "m.abc.keras"
    assert zoo_cache._cache_name("config", "abc") == "config.abc"


# ------------------------------------------------------------- presets


def _serve_preset(server, weights, base="/presets/tiny/", extra=()):
    data, _, _ = weights
    config = json.dumps({"class_name": "Tiny", "config": {}}).encode()
    metadata = json.dumps({"keras_version": keras.__version__}).encode()
    files = {"config.json": config, "model.weights.h5": data}
    files["metadata.json"] = metadata
    for name in extra:
        files[name] = b"{}"
    for name, body in files.items():
        server.routes[base + name] = serve(body)
    hashes = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}
    return server.url(base), hashes


def _preset_entries(cache):
    root = cache / "presets"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_fetch_preset_downloads_complete_directory(server, cache, weights):
    url, hashes = _serve_preset(server, weights)
    pins = {"model.weights.h5": hashes["model.weights.h5"]}
    path = fetch_preset(url, sha256s=pins)
    assert path.parent == cache / "presets"
    assert path.name.startswith("tiny.")
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    for name, sha in hashes.items():
        assert sha256sum(path / name) == sha
    assert_loads(path / "model.weights.h5", weights[2])
    assert _preset_entries(cache) == [path.name]
    # Optional files were asked for once (404), required ones once.
    hits = dict(server.hits)
    assert hits["/presets/tiny/config.json"] == 1
    assert hits["/presets/tiny/task.json"] == 1

    # Cached: no new requests.
    assert fetch_preset(url, sha256s=pins) == path
    assert fetch_preset(url.rstrip("/"), sha256s=pins) == path
    assert dict(server.hits) == hits


def test_fetch_preset_missing_required_file_leaves_nothing(
    server, cache, weights
):
    url, _ = _serve_preset(server, weights)
    del server.routes["/presets/tiny/model.weights.h5"]
    with pytest.raises(WeightsDownloadError, match="404") as info:
        fetch_preset(url)
    assert "model.weights.h5" in str(info.value)
    assert any("aborted" in note for note in info.value.__notes__)
    assert _preset_entries(cache) == []
    assert_clean(cache)


def test_fetch_preset_wrong_hash_leaves_nothing(server, cache, weights):
    url, hashes = _serve_preset(server, weights)
    pins = dict(hashes, **{"config.json": "1" * 64})
    with pytest.raises(WeightsIntegrityError, match="1" * 64):
        fetch_preset(url, sha256s=pins)
    assert _preset_entries(cache) == []


def test_fetch_preset_pinned_optional_file_is_required(server, cache, weights):
    url, _ = _serve_preset(server, weights)
    with pytest.raises(WeightsDownloadError, match="task.json"):
        fetch_preset(url, sha256s={"task.json": "2" * 64})
    assert _preset_entries(cache) == []


def test_fetch_preset_server_error_on_optional_file_aborts(
    server, cache, weights
):
    url, _ = _serve_preset(server, weights)
    server.routes["/presets/tiny/preprocessor.json"] = status(500)
    with pytest.raises(WeightsDownloadError, match="500"):
        fetch_preset(url)
    assert _preset_entries(cache) == []


def test_fetch_preset_interrupted_leaves_nothing(
    server, cache, weights, monkeypatch
):
    url, _ = _serve_preset(server, weights)
    real = transport._stream_to_file
    calls = []

    def flaky(response, out, digest, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(response, out, digest, **kwargs)

    monkeypatch.setattr(transport, "_stream_to_file", flaky)
    with pytest.raises(KeyboardInterrupt):
        fetch_preset(url)
    assert _preset_entries(cache) == []


def test_fetch_preset_custom_files_and_tampering(server, cache, weights):
    url, hashes = _serve_preset(server, weights, extra=("labels.json",))
    files = ("config.json", "model.weights.h5", "labels.json")
    path = fetch_preset(url, files=files, sha256s=hashes)
    assert sorted(p.name for p in path.iterdir()) == sorted(hashes)
    (path / "labels.json").write_text('{"tampered": true}')
    with pytest.warns(UserWarning, match="labels.json"):
        again = fetch_preset(url, files=files, sha256s=hashes)
    assert again == path
    assert sha256sum(path / "labels.json") == hashes["labels.json"]
    assert _preset_entries(cache) == [path.name]


def test_fetch_preset_local_directory(tmp_path, cache, weights):
    data, sha, _ = weights
    local = tmp_path / "local_preset"
    local.mkdir()
    (local / "config.json").write_text("{}")
    (local / "model.weights.h5").write_bytes(data)
    pins = {"model.weights.h5": sha}
    assert fetch_preset(str(local), sha256s=pins) == local
    assert fetch_preset(local.as_uri(), sha256s=pins) == local
    assert_clean(cache)
    (local / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json"):
        fetch_preset(local)
    with pytest.raises(FileNotFoundError, match="missing_preset"):
        fetch_preset(tmp_path / "missing_preset")


def test_fetch_preset_manifest_pins_every_listed_file(server, cache, weights):
    url, hashes = _serve_preset(server, weights)
    listed = {name: {"sha256": sha} for name, sha in hashes.items()}
    listed["model.weights.h5"]["size"] = len(weights[0])
    card = json.dumps({"files": listed}).encode()
    server.routes["/presets/tiny/model_card.json"] = serve(card)
    path = fetch_preset(url, manifest="model_card.json")
    assert (path / "model_card.json").read_bytes() == card
    assert _preset_entries(cache) == [path.name]
    # A cached file that no longer matches the card is fetched again.
    (path / "metadata.json").write_text('{"tampered": true}')
    with pytest.warns(UserWarning, match="metadata.json"):
        assert fetch_preset(url, manifest="model_card.json") == path
    assert sha256sum(path / "metadata.json") == hashes["metadata.json"]
    # A served file that does not match the card leaves nothing behind.
    server.routes["/presets/tiny/metadata.json"] = serve(b'{"other": 1}')
    with pytest.raises(WeightsIntegrityError, match="metadata.json"):
        fetch_preset(url, "other_subdir", manifest="model_card.json")
    assert not any((cache / "other_subdir").iterdir())
