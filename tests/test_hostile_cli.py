"""The `keras-attention` command line on hostile inputs: each bad input
gives exit status 2, ONE line on stderr that names the file, no traceback,
and leaves nothing behind.

Cases:

- a truncated PNG among good ones (`predict` reports it and goes on with
  the others; `explain` writes no figure)
- an input that is a directory, or an empty image file
- a truncated `model.weights.h5` in a preset
- a Git LFS pointer instead of `model.weights.h5`
- weights URLs answering HTTP 404, or refusing the connection (the cache
  keeps nothing)
- `KERAS_ATTENTION_CACHE` naming a file, or a path under a file (the file
  is left as it was)
- a `task.json` whose backbone class cannot be found, or that lacks a
  field Keras needs
- the same errors from a real `keras-attention` process
- 16-bit grayscale and RGB PNGs read as their 8-bit equivalents (to
  1/255), and predict as them
- palette (with transparency), "LA", "RGBA" (composited on white), "1",
  "CMYK", 32-bit "I" and float "F" images; a one-channel model gets luma
- `explain` on a 3000x3000 PNG plots arrays of at most MAX_DISPLAY_SIZE a
  side
- `explain` on a long clip runs Grad-CAM and plots only the best
  EXPLAIN_SECONDS span, and says which in the title
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile
from helpers.http import status
from PIL import Image

from keras_attention import cli, inference
from keras_attention.viz import explain as explain_module

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "zoo" / "resnet18" / "fashion_mnist"
LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    f"oid sha256:{'4d7a2146' * 8}\n"
    "size 22549296\n"
)


def _run(capsys, *argv) -> tuple[int, str, list[str]]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err.strip().splitlines()


def _one_error(code, lines, *words, command="predict") -> str:
    """Checks exit status 2 and exactly one error line holding `words`."""
    assert code == 2, lines
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"keras-attention {command}: error: "), line
    assert "Traceback" not in line
    for word in words:
        assert str(word) in line, (word, line)
    return line


def _files(root: Path) -> list[Path]:
    if not root.exists():
        return []
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def _refused_url() -> str:
    """A loopback URL of a port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/w/tiny.weights.h5"


@pytest.fixture(scope="module")
def _loaded() -> dict:
    return {}


@pytest.fixture
def shared_models(monkeypatch, _loaded):
    """`zoo.load` of published or random weights builds each model once
    for this module (a test then takes seconds, not tens); every other
    load, e.g. of the corrupt presets, runs for real."""
    from keras_attention import zoo

    real_load = zoo.load

    def load(name, weights="default", **kwargs):
        if kwargs or weights not in ("default", None):
            return real_load(name, weights=weights, **kwargs)
        if (name, weights) not in _loaded:
            _loaded[name, weights] = real_load(name, weights=weights)
        return _loaded[name, weights]

    monkeypatch.setattr(zoo, "load", load)


@pytest.fixture
def image(tmp_path) -> Path:
    """A small 8-bit grayscale PNG."""
    rng = np.random.default_rng(0)
    path = tmp_path / "good.png"
    Image.fromarray(rng.integers(0, 256, (28, 28), np.uint8)).save(path)
    return path


@pytest.fixture
def truncated(tmp_path) -> Path:
    """A PNG cut in the middle of its pixel data."""
    rng = np.random.default_rng(1)
    path = tmp_path / "cut.png"
    # The input size of the published weights: no resize forces decoding.
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture
def preset(tmp_path) -> Path:
    """A copy of the published resnet18 preset, for a test to corrupt."""
    path = tmp_path / "preset"
    shutil.copytree(PUBLISHED, path)
    return path


# ------------------------------------------------------------ bad inputs


def test_truncated_png_among_good_ones(capsys, shared_models, image, truncated):
    missing = image.with_name("missing.png")
    code, out, lines = _run(
        capsys, "predict", truncated, image, missing, "--model", "resnet18"
    )
    assert code == 2
    assert "Traceback" not in "\n".join(lines)
    # One line per bad file, each naming it; the good file is classified.
    assert len(lines) == 2, lines
    assert str(missing) in lines[0] and "No such file" in lines[0]
    assert str(truncated) in lines[1] and "Could not read image" in lines[1]
    assert out.startswith(f"{image}:\n  1. ")
    assert str(truncated) not in out


def test_truncated_png_explain_writes_nothing(
    capsys, shared_models, tmp_path, truncated
):
    out = tmp_path / "figures"
    code, stdout, lines = _run(
        capsys, "explain", truncated, "--model", "resnet18", "--out", out
    )
    _one_error(code, lines, truncated, "truncated", command="explain")
    assert stdout == ""
    assert not out.exists()


def test_directory_and_empty_file(capsys, shared_models, tmp_path):
    folder = tmp_path / "photos.png"
    folder.mkdir()
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    code, _, lines = _run(capsys, "predict", folder, "--model", "resnet18")
    _one_error(code, lines, folder, "is a directory")
    code, _, lines = _run(capsys, "predict", empty, "--model", "resnet18")
    _one_error(code, lines, empty, "Could not read image")


# --------------------------------------------------------- bad weights


def test_truncated_weights_file(capsys, preset, image):
    weights = preset / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:100_000])
    code, out, lines = _run(
        capsys, "predict", image, "--model", "resnet18", "--weights", preset
    )
    _one_error(code, lines, preset)
    assert re.search("truncat", lines[0], re.I), lines
    assert out == ""


def test_lfs_pointer_weights_file(capsys, preset, image):
    (preset / "model.weights.h5").write_text(LFS_POINTER)
    code, out, lines = _run(
        capsys, "predict", image, "--model", "resnet18", "--weights", preset
    )
    line = _one_error(code, lines, preset)
    assert re.search("signature|LFS|HDF5", line, re.I), line
    assert out == ""


def test_weights_url_http_404(capsys, server, tmp_path, image, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(cache))
    server.routes["/w/missing.weights.h5"] = status(404)
    url = server.url("/w/missing.weights.h5")
    code, out, lines = _run(
        capsys, "predict", image, "--model", "resnet18", "--weights", url
    )
    _one_error(code, lines, url, "404")
    assert out == ""
    assert _files(cache) == []


def test_weights_url_connection_refused(capsys, tmp_path, image, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(cache))
    url = _refused_url()
    code, _, lines = _run(
        capsys, "predict", image, "--model", "resnet18", "--weights", url
    )
    line = _one_error(code, lines, url)
    assert re.search("refused|connect", line, re.I), line
    assert _files(cache) == []


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_cache_is_not_a_directory(capsys, tmp_path, image, monkeypatch, where):
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    cache = blocker if where == "file" else blocker / "sub"
    monkeypatch.setenv("KERAS_ATTENTION_CACHE", str(cache))
    url = "http://127.0.0.1:9/w/tiny.weights.h5"
    code, _, lines = _run(
        capsys, "predict", image, "--model", "resnet18", "--weights", url
    )
    _one_error(code, lines, cache)
    assert blocker.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "good.png"]


def _edit_task_json(preset: Path, edit) -> None:
    import json

    path = preset / "task.json"
    config = json.loads(path.read_text())
    edit(config["config"]["backbone"])
    path.write_text(json.dumps(config))


@pytest.mark.parametrize("damage", ["unknown_class", "missing_field"])
def test_task_json_cannot_be_deserialized(capsys, preset, image, damage):
    def edit(backbone: dict) -> None:
        if damage == "unknown_class":
            backbone["class_name"] = "NoSuchBackbone"
            backbone["registered_name"] = "keras_attention>NoSuchBackbone"
        else:
            del backbone["registered_name"]

    _edit_task_json(preset, edit)
    code, out, lines = _run(
        capsys, "predict", image, "--model", "resnet18", "--weights", preset
    )
    line = _one_error(code, lines, preset)
    assert re.search("task.json|deserializ", line, re.I), line
    assert out == ""


def _native_log(line: str) -> bool:
    """TensorFlow's and XLA's C++ start-up logging (not ours to judge)."""
    return bool(
        re.match(r"[IWEF]\d{4} ", line)
        or line.startswith("WARNING: All log messages before absl")
        or line.startswith("To enable the following instructions")
    )


def test_errors_from_a_real_process(tmp_path, image):
    # A failed download: it fails before any model is built, which keeps
    # this test fast; the other cases go through the same `main`.
    url = _refused_url()
    result = subprocess.run(
        [sys.executable, "-m", "keras_attention.cli", "predict", image]
        + ["--model", "resnet18", "--weights", url],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KERAS_ATTENTION_CACHE": str(tmp_path / "cache"),
        },
    )
    assert "Traceback" not in result.stderr
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not _native_log(line)
    ]
    _one_error(result.returncode, lines, url)
    assert result.stdout == ""
    assert _files(tmp_path / "cache") == []


# ------------------------------------------------------- image modes


def _write_png16(path: Path, values: np.ndarray) -> Path:
    """A 16-bit grayscale (H, W) or RGB (H, W, 3) PNG, written by hand
    (Pillow writes no 16-bit RGB)."""
    values = np.asarray(values, ">u2")
    height, width = values.shape[:2]
    color = 2 if values.ndim == 3 else 0
    rows = values.reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return (
            struct.pack(">I", len(data))
            + body
            + struct.pack(">I", zlib.crc32(body))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, color, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


def _as_16bit(values8: np.ndarray, seed: int = 0) -> np.ndarray:
    """16-bit values whose 8-bit equivalent is `values8`: v * 257 plus
    noise below half an 8-bit step."""
    noise = np.random.default_rng(seed).integers(-120, 121, values8.shape)
    return np.clip(values8.astype("int64") * 257 + noise, 0, 65535)


@pytest.mark.parametrize("channels", [1, 3])
def test_16bit_png_reads_as_its_8bit_equivalent(tmp_path, channels):
    shape = (30, 20) if channels == 1 else (30, 20, 3)
    values8 = np.random.default_rng(2).integers(0, 256, shape, np.uint8)
    png8 = tmp_path / "eight.png"
    Image.fromarray(values8).save(png8)
    png16 = _write_png16(tmp_path / "sixteen.png", _as_16bit(values8))
    with Image.open(png16) as opened:
        assert opened.mode == ("I;16" if channels == 1 else "RGB")
    for size in (None, (8, 8)):
        for model_channels in (1, 3):
            want = inference.read_image(png8, model_channels, size)
            got = inference.read_image(png16, model_channels, size)
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, atol=1.0)
    # Most pixels are far from white: nothing saturates.
    assert (inference.read_image(png16, 3) == 255).mean() < 0.05


def test_16bit_png_predicts_as_8bit(capsys, shared_models, tmp_path):
    values8 = np.random.default_rng(3).integers(0, 256, (28, 28), np.uint8)
    png8 = tmp_path / "eight.png"
    Image.fromarray(values8).save(png8)
    png16 = _write_png16(tmp_path / "sixteen.png", values8.astype("u2") * 257)
    code, out, lines = _run(
        capsys, "predict", png8, png16, "--model", "resnet18", "--top-k", "10"
    )
    assert code == 0, lines
    first, second = out.split(f"{png16}:\n")
    assert first.replace(f"{png8}:\n", "") == second


def test_palette_with_transparency_on_white(tmp_path):
    palette = [255, 0, 0, 0, 0, 255, 10, 200, 30]  # red, blue, green
    indices = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    image = Image.fromarray(indices, mode="P")
    image.putpalette(palette)
    path = tmp_path / "palette.png"
    image.save(path, transparency=1)  # blue is transparent
    got = inference.read_image(path, 3)
    colors = np.array([[255, 0, 0], [255, 255, 255], [10, 200, 30]])
    np.testing.assert_array_equal(got, colors[indices])
    image.save(path)  # no transparency: the palette's colours
    colors[1] = [0, 0, 255]
    np.testing.assert_array_equal(
        inference.read_image(path, 3), colors[indices]
    )


def _on_white(values, alpha) -> np.ndarray:
    a = alpha.astype("float64")[..., None] / 255
    return values * a + 255 * (1 - a)


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_is_composited_on_white(tmp_path, mode):
    rng = np.random.default_rng(4)
    colour = 1 if mode == "LA" else 3
    values = rng.integers(0, 256, (16, 16, colour), np.uint8)
    alpha = rng.integers(0, 256, (16, 16), np.uint8)
    alpha[0] = 0
    alpha[1] = 255
    array = np.concatenate([values, alpha[..., None]], axis=-1)
    path = tmp_path / f"{mode}.png"
    Image.fromarray(array, mode=mode).save(path)
    got = inference.read_image(path, colour)
    np.testing.assert_allclose(got, _on_white(values, alpha), atol=1.0)
    assert (got[0] == 255).all()  # fully transparent: white
    np.testing.assert_array_equal(got[1], values[1])  # opaque: unchanged


def test_other_modes(tmp_path):
    bits = np.array([[0, 1], [1, 0]], bool)
    Image.fromarray(bits).save(tmp_path / "bits.png")
    got = inference.read_image(tmp_path / "bits.png", 1)
    np.testing.assert_array_equal(got[..., 0], bits * 255.0)

    rgb = np.random.default_rng(5).integers(0, 256, (8, 8, 3), np.uint8)
    cmyk = Image.fromarray(rgb).convert("CMYK")
    cmyk.save(tmp_path / "cmyk.tif")
    want = np.asarray(cmyk.convert("RGB"), "float32")
    np.testing.assert_array_equal(
        inference.read_image(tmp_path / "cmyk.tif"), want
    )

    int32 = np.array([[0, 2**30], [2**31 - 1, -5]], np.int32)
    Image.fromarray(int32, mode="I").save(tmp_path / "int32.tif")
    got = inference.read_image(tmp_path / "int32.tif", 1)[..., 0]
    np.testing.assert_array_equal(got, [[0, 128], [255, 0]])

    floats = np.array([[0.0, 0.5], [1.0, 2.0]], np.float32)
    Image.fromarray(floats, mode="F").save(tmp_path / "float.tif")
    got = inference.read_image(tmp_path / "float.tif", 1)[..., 0]
    np.testing.assert_array_equal(got, [[0, 128], [255, 255]])

    # A one-channel model gets the luma, as Pillow's "L" conversion.
    gray = np.asarray(Image.fromarray(rgb).convert("L"), "float32")
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(
        inference.read_image(tmp_path / "rgb.png", 1)[..., 0], gray
    )


# ---------------------------------------------------------- memory


def _plotted_arrays(fig) -> list[tuple]:
    return [
        np.shape(im.get_array()) for ax in fig.axes for im in ax.get_images()
    ]


def _spy(monkeypatch, module, name) -> list:
    """Records the arguments and results of `module.name`."""
    calls = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append((args, kwargs, result))
        return result

    monkeypatch.setattr(module, name, spy)
    return calls


def test_explain_large_image_is_bounded(
    capsys, shared_models, tmp_path, monkeypatch
):
    from keras_attention.viz import plotting

    y, x = np.mgrid[0:3000, 0:3000]
    big = tmp_path / "big.png"
    Image.fromarray(((x + y) % 256).astype(np.uint8)).save(big)
    plots = _spy(monkeypatch, plotting, "plot_gradcam")
    out = tmp_path / "big_explained.png"
    code, stdout, lines = _run(
        capsys, "explain", big, "--model", "resnet18", "--out", out
    )
    assert code == 0, lines
    assert f"Wrote {out}" in stdout
    (image, *_), _, fig = plots[0]
    limit = explain_module.MAX_DISPLAY_SIZE
    assert max(image.shape[:2]) == limit  # scaled down, aspect kept
    shapes = _plotted_arrays(fig)
    assert shapes and all(max(s[:2]) <= limit for s in shapes), shapes


def test_explain_long_audio_is_bounded(
    capsys, shared_models, tmp_path, monkeypatch
):
    from keras_attention.viz import gradcam, plotting

    monkeypatch.setattr(explain_module, "EXPLAIN_SECONDS", 0.5)
    rate = 8000
    t = np.arange(6 * rate) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) * (t > 4)  # a tone after 4 s
    clip = tmp_path / "long.wav"
    soundfile.write(clip, wave, rate)
    cams = _spy(monkeypatch, gradcam, "grad_cam")
    plots = _spy(monkeypatch, plotting, "plot_spectrogram_attention")
    out = tmp_path / "long.png"
    code, stdout, lines = _run(
        capsys,
        "explain",
        clip,
        "--model",
        "cnn6",
        "--weights",
        "none",
        "--out",
        out,
    )
    assert code == 0, lines
    assert out.is_file()
    # Grad-CAM ran on 0.5 s of the model's 16 kHz audio, not on 6 s.
    (_, explained, *_), _, _ = cams[0]
    assert np.shape(explained) == (1, 8000)
    (log_mel, heat), kwargs, fig = plots[0]
    frames = 0.5 * 16000 / kwargs["hop_length"]
    assert np.shape(log_mel)[0] <= frames + 1, np.shape(log_mel)
    assert all(s[1] <= frames + 1 for s in _plotted_arrays(fig))
    title = kwargs["title"]
    assert re.search(
        r"on \d+\.\d-\d+\.\d s, the highest-scoring 0\.5 s of 6\.0 s "
        r"\(12 windows\)",
        title,
    ), title
    start = float(re.search(r"on (\d+\.\d)-", title).group(1))
    assert kwargs["time_offset"] == pytest.approx(start, abs=0.05)
