"""The `keras-attention` command line, run in-process through `main`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from keras_attention import __version__, cli, zoo
from keras_attention.zoo import catalog

CLASS_NAMES = ["ant", "bee", "cat"]


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _rows(out: str) -> list[list[str]]:
    """Table rows (after the header and its rule), split on whitespace."""
    return [line.split() for line in out.strip().splitlines()[2:]]


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"keras-attention {__version__}"


def test_console_script():
    script = Path(sys.executable).with_name("keras-attention")
    assert script.exists(), (
        f"{script} is missing: install the package (make setup does, "
        "with pip install -e)"
    )
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout


def test_list(capsys):
    code, out, _ = _run(capsys, "list")
    assert code == 0
    header = out.splitlines()[0].split("  ")
    assert [h.strip() for h in header if h.strip()] == [
        "name",
        "task",
        "params (M)",
        "MACs (G)",
        "weights",
    ]
    rows = {row[0]: row for row in _rows(out)}
    assert sorted(rows) == zoo.list_models()
    assert rows["resnet50"][1:4] == ["image", "25.56", "4.09"]
    assert rows["resnet18"][1:4] == ["image", "11.69", "1.81"]
    # Published weights, then the named weights converted from peers.
    weights = ", ".join([*zoo.published_weights("resnet18"), ""])
    assert " ".join(rows["resnet18"][4:]) == f"{weights}imagenet (converted)"
    assert " ".join(rows["cbam_resnet50"][4:]).endswith(
        "imagenet (converted, by hand)"
    )


def test_list_pattern_and_task(capsys):
    code, out, _ = _run(capsys, "list", "cbam_*", "--task", "image")
    assert code == 0
    assert [row[0] for row in _rows(out)] == zoo.list_models(
        "cbam_*", task="image"
    )
    code, out, _ = _run(capsys, "list", "cbam_*")
    names = [row[0] for row in _rows(out)]
    assert names == zoo.list_models("cbam_*")
    assert all(name.startswith("cbam_") for name in names)
    code, out, _ = _run(capsys, "list", "--task", "audio", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == zoo.list_models(task="audio")
    assert {r["task"] for r in rows} <= {"audio"}


def test_list_pretrained(capsys, tmp_path, monkeypatch):
    entry = tmp_path / "zoo" / "eca_resnet34" / "tiny"
    entry.mkdir(parents=True)
    (entry / "model_card.json").write_text("{}")
    monkeypatch.setenv("KERAS_ATTENTION_ZOO", str(tmp_path / "zoo"))
    code, out, _ = _run(capsys, "list", "--pretrained")
    assert code == 0
    # No catalog in this zoo folder: the counts show as "?".
    assert _rows(out) == [["eca_resnet34", "image", "?", "?", "tiny"]]


def test_info(capsys):
    code, out, _ = _run(capsys, "info", "cbam_resnet18")
    assert code == 0
    assert out.startswith("cbam_resnet18: ResNet-18 v1.5, CBAM")
    assert re.search(r"^  attention +cbam$", out, re.M)
    assert "11,779,392 trainable" in out
    assert "https://arxiv.org/abs/1807.06521" in out
    code, out, _ = _run(capsys, "info", "cbam_resnet18", "--json")
    card = json.loads(out)
    assert card == json.loads(json.dumps(zoo.info("cbam_resnet18")))


def test_unknown_model_exits_2(capsys):
    code, out, err = _run(capsys, "info", "nonexistent")
    assert code == 2
    assert out == ""
    assert "Unknown model 'nonexistent'" in err
    assert "Traceback" not in err
    code, _, err = _run(capsys, "info", "cbam_resnt18")
    assert code == 2
    assert "Did you mean: cbam_resnet18" in err


def test_bad_usage_exits_2(capsys):
    for argv in (["frobnicate"], [], ["catalog"], ["predict", "x.png"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
    capsys.readouterr()


def test_catalog_check_and_write(capsys, tmp_path, monkeypatch):
    stored = catalog.read_catalog()
    # The CLI plumbing only: computing is tested in test_models.py.
    monkeypatch.setattr(catalog, "compute_entry", lambda name: stored[name])
    code, out, _ = _run(capsys, "catalog", "--check", "resnet18")
    assert code == 0
    assert "up to date" in out
    changed = {**stored["resnet18"], "macs": 7}
    monkeypatch.setattr(catalog, "compute_entry", lambda name: changed)
    code, out, err = _run(capsys, "catalog", "--check", "resnet18")
    assert code == 1
    assert "resnet18: macs: catalog 1814073344, computed 7" in out
    assert "catalog --write" in err
    monkeypatch.setenv("KERAS_ATTENTION_ZOO", str(tmp_path))
    code, out, _ = _run(capsys, "catalog", "--write", "resnet18")
    assert code == 0
    assert catalog.read_catalog(tmp_path / "catalog.json") == {
        "resnet18": changed
    }


def test_demo(capsys, tmp_path, monkeypatch):
    from keras_attention import demo

    # Without the bundled sample: one line naming it.
    missing = tmp_path / "samples" / "fashion_mnist_sample.npz"
    monkeypatch.setattr(demo, "sample_path", lambda: missing)
    code, _, err = _run(capsys, "demo")
    assert code == 2
    assert f"The bundled sample {missing} is missing" in err
    assert len(err.strip().splitlines()) == 1
    # The command calls the library's demo with every argument after it.
    monkeypatch.setattr(demo, "main", lambda argv: print("demo ran", argv) or 0)
    code, out, _ = _run(capsys, "demo", "--epochs", "1")
    assert code == 0
    assert out.strip() == "demo ran ['--epochs', '1']"


def test_subcommands_are_registered_in_one_place(capsys, monkeypatch):
    monkeypatch.setattr(cli, "SUBCOMMANDS", dict(cli.SUBCOMMANDS))
    assert {"list", "info", "catalog", "demo", "predict", "explain"} <= set(
        cli.SUBCOMMANDS
    )

    @cli.register_subcommand("hello")
    def _add_hello(subparsers):
        p = subparsers.add_parser("hello")
        p.set_defaults(handler=lambda args: print("hi") or 0)

    assert _run(capsys, "hello")[:2] == (0, "hi\n")


# ---------------------------------------------------------------- predict


@pytest.fixture(scope="module")
def preset(tmp_path_factory) -> Path:
    """A tiny resnet18 preset with 3 named classes and a fixed 32x32
    input (so `predict` resizes images to it)."""
    path = tmp_path_factory.mktemp("cli") / "preset"
    model = zoo.load(
        "resnet18",
        weights=None,
        num_classes=3,
        input_shape=(32, 32, 3),
        class_names=CLASS_NAMES,
    )
    model.save_to_preset(str(path))
    return path


def _png(path: Path, size=(40, 48), mode="RGB") -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    channels = 3 if mode == "RGB" else 1
    array = rng.integers(0, 256, (size[1], size[0], channels), np.uint8)
    Image.fromarray(array.squeeze()).convert(mode).save(path)
    return path


def _top_k(out: str) -> list[tuple[str, float]]:
    lines = [line.split() for line in out.splitlines() if line[:2] == "  "]
    return [(label, float(prob)) for _, label, prob in lines]


def test_predict_image(capsys, tmp_path, preset):
    color = _png(tmp_path / "color.png")
    gray = _png(tmp_path / "gray.png", size=(33, 35), mode="L")
    code, out, err = _run(
        capsys,
        "predict",
        str(color),
        str(gray),
        "--model",
        "resnet18",
        "--weights",
        str(preset),
        "--top-k",
        "3",
    )
    assert code == 0, err
    assert f"{color}:" in out and f"{gray}:" in out
    top = _top_k(out)
    assert len(top) == 6
    for first in (top[:3], top[3:]):
        assert sorted(label for label, _ in first) == CLASS_NAMES
        probs = [p for _, p in first]
        assert probs == sorted(probs, reverse=True)
        assert sum(probs) == pytest.approx(1.0, abs=1e-3)
    code, out, _ = _run(
        capsys,
        "predict",
        str(color),
        "--model",
        "resnet18",
        "--weights",
        str(preset),
        "--top-k",
        "1",
    )
    assert code == 0
    assert len(_top_k(out)) == 1


def test_predict_errors(capsys, tmp_path, preset):
    code, _, err = _run(
        capsys, "predict", str(tmp_path / "nope.png"), "--model", "resnet18"
    )
    assert code == 2
    assert "No such file" in err
    wav = tmp_path / "clip.wav"
    wav.write_bytes(b"")
    code, _, err = _run(capsys, "predict", str(wav), "--model", "resnet18")
    assert code == 2
    assert "is an audio file but 'resnet18' is an image model" in err
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    code, _, err = _run(capsys, "predict", str(text), "--model", "resnet18")
    assert code == 2
    assert "image or audio" in err
    code, _, err = _run(
        capsys, "predict", str(wav), "--model", "resnet81", "--weights", "x"
    )
    assert code == 2
    assert "Did you mean" in err


def test_predict_audio(capsys, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "clip.wav"
    # 0.3 s at 22.05 kHz: resampled to the model's rate, padded as needed.
    soundfile.write(path, rng.uniform(-0.3, 0.3, 6615), 22050)
    code, out, err = _run(
        capsys, "predict", str(path), "--model", "cnn6", "--weights", "none"
    )
    assert code == 0, err
    assert "random weights" in err
    top = _top_k(out)
    assert len(top) == 5
    assert all(label.isdigit() for label, _ in top)


def test_predict_accepts_aiff(capsys, tmp_path):
    """`.aif` and `.aiff` are audio files for `predict` (the one list of
    audio extensions, `keras_attention.audio.AUDIO_EXTENSIONS`), and
    `load_audio` decodes them."""
    from keras_attention.audio import load_audio

    rng = np.random.default_rng(1)
    wave = rng.uniform(-0.3, 0.3, 4000)
    paths = [tmp_path / "clip.aif", tmp_path / "clip.aiff"]
    for path in paths:
        soundfile.write(path, wave, 16000, format="AIFF")
        np.testing.assert_allclose(
            load_audio(path, sample_rate=16000), wave, atol=1e-4
        )
    code, out, err = _run(
        capsys,
        "predict",
        *map(str, paths),
        "--model",
        "cnn6",
        "--weights",
        "none",
        "--top-k",
        "2",
    )
    assert code == 0, err
    assert all(f"{path}:" in out for path in paths)
    assert len(_top_k(out)) == 4


# --------------------------------------------------------------- explain

ROOT = Path(__file__).resolve().parents[1]
FASHION_SAMPLE = (
    ROOT / "keras_attention" / "data" / "samples" / "fashion_mnist_sample.npz"
)


def _spy_on_load(monkeypatch) -> list:
    """Records the models `zoo.load` returns, so that a test can check the
    command's output against the very model it ran."""
    loaded = []
    real_load = zoo.load

    def spy(*args, **kwargs):
        loaded.append(real_load(*args, **kwargs))
        return loaded[-1]

    monkeypatch.setattr(zoo, "load", spy)
    return loaded


def _figure(path: Path) -> tuple[str, tuple[int, int], np.ndarray]:
    """A written PNG's title (from its metadata), size and RGB pixels;
    fails on an invalid PNG."""
    from PIL import Image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
        return image.info["Title"], image.size, pixels


def _softmax(logits) -> np.ndarray:
    logits = np.asarray(logits, "float64")[0]
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def _expected_title(name, probs, labels, k) -> str:
    top = np.argsort(-probs, kind="stable")[:k]
    ranked = ", ".join(f"{labels[i]} {probs[i]:.1%}" for i in top)
    return f"{name}: {ranked} | Grad-CAM for {labels[top[0]]}"


def test_explain_image(capsys, tmp_path, monkeypatch):
    from PIL import Image

    with np.load(FASHION_SAMPLE) as sample:
        labels = [str(n) for n in sample["class_names"]]
        trouser = int(np.flatnonzero(sample["labels"] == 1)[0])
        pixels = sample["images"][trouser, ..., 0]
    png = tmp_path / "trouser.png"
    Image.fromarray(pixels).save(png)
    out = tmp_path / "figures" / "trouser_explained.png"
    loaded = _spy_on_load(monkeypatch)
    code, stdout, err = _run(
        capsys,
        "explain",
        str(png),
        "--model",
        "cbam_resnet18",
        "--out",
        str(out),
        "--top-k",
        "2",
    )
    assert code == 0, err
    title, size, rgb = _figure(out)
    # The prediction, recomputed from the model the command loaded: the
    # 28x28 grayscale image to RGB and 32x32 (the preset's input size).
    x = np.asarray(
        Image.fromarray(pixels).convert("RGB").resize((32, 32), Image.BILINEAR),
        "float32",
    )[None]
    probs = _softmax(loaded[-1].predict(x, verbose=0))
    assert title == _expected_title("cbam_resnet18", probs, labels, 2)
    assert title.startswith("cbam_resnet18: Trouser ")  # a trained model
    assert _top_k(stdout)[0] == ("Trouser", pytest.approx(probs.max(), 1e-3))
    assert f"Wrote {out}" in stdout
    # Several panels side by side, with coloured overlays on the gray
    # input (Grad-CAM and the CBAM masks).
    width, height = size
    assert width > height >= 300
    saturated = (rgb.max(axis=-1).astype(int) - rgb.min(axis=-1)) > 80
    assert saturated.mean() > 0.15
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]


def test_explain_audio(capsys, tmp_path, monkeypatch):
    from keras_attention.audio import load_audio

    # 1 s at 22.05 kHz, resampled to the model's 16 kHz: a 440 Hz tone,
    # then a 2 kHz one.
    t = np.arange(22050) / 22050
    wave = 0.3 * np.sin(2 * np.pi * np.where(t < 0.5, 440, 2000) * t)
    clip = tmp_path / "tones.wav"
    soundfile.write(clip, wave, 22050)
    out = tmp_path / "tones.png"
    loaded = _spy_on_load(monkeypatch)
    argv = ["explain", str(clip), "--model", "cbam_cnn6", "--weights", "none"]
    code, stdout, err = _run(capsys, *argv, "--out", str(out), "--top-k", "2")
    assert code == 0, err
    assert "random weights" in err
    title, (width, height), _ = _figure(out)
    model = loaded[-1]
    waveform = load_audio(clip, sample_rate=model.backbone.sample_rate)
    probs = _softmax(model.predict(waveform[None], verbose=0))
    labels = [f"class {i}" for i in range(len(probs))]
    assert title == _expected_title("cbam_cnn6", probs, labels, 2)
    assert width > height
    # The same clip as SVG, explaining a chosen class: the axes are in
    # seconds and Hz, and each CBAM block's mask has its panel.
    svg = tmp_path / "tones.svg"
    code, _, err = _run(capsys, *argv, "--out", str(svg), "--class-index", "5")
    assert code == 0, err
    text = svg.read_text()
    assert text.rstrip().endswith("</svg>")
    assert "Grad-CAM for class 5</dc:title>" in text
    drawn = set(re.findall(r"<!-- (.*?) -->", text, re.DOTALL))
    assert {"time (s)", "frequency (Hz)", "log-mel spectrogram"} <= drawn
    assert {"1000", "4000"} <= drawn  # frequency ticks in Hz
    assert {f"block{i}_attention" for i in range(1, 5)} <= drawn
    sizes = [d for d in drawn if re.fullmatch(r"\d+x\d+ mask, .*", d)]
    assert len(sizes) == 4, sizes
    # 1 s at 16 kHz with a 160-sample hop: ticks up to 1.0 s, not frames.
    assert {"0.4", "1.0"} <= drawn and "80" not in drawn


def test_explain_errors(capsys, tmp_path, preset, monkeypatch):
    png = _png(tmp_path / "in.png", size=(32, 32))
    wav = tmp_path / "clip.wav"
    wav.write_bytes(b"")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    out = tmp_path / "out"
    weights = ["--weights", str(preset)]
    cases = [
        ([str(tmp_path / "nope.png"), "--model", "resnet18"], "No such file"),
        ([str(png), "--model", "cbam_resnt18"], "Did you mean"),
        ([str(text), "--model", "resnet18"], "image or audio"),
        ([str(wav), "--model", "resnet18"], "is an audio file but"),
        ([str(png), "--model", "resnet18", "--top-k", "0"], "--top-k"),
        ([str(broken), "--model", "resnet18", *weights], "Could not read"),
        (
            [str(png), "--model", "resnet18", *weights, "--class-index", "3"],
            "out of range",
        ),
    ]
    for argv, message in cases:
        target = out / "fig.png"
        code, stdout, err = _run(capsys, "explain", *argv, "--out", str(target))
        assert code == 2, (argv, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "keras-attention explain: error: "
        ), err
        assert message in lines[0], (argv, err)
        assert not out.exists(), argv  # nothing written, not even a folder
    target = tmp_path / "fig.jpg"
    code, _, err = _run(
        capsys, "explain", str(png), "--model", "resnet18", "--out", str(target)
    )
    assert code == 2
    assert "expected a .png, .svg, .pdf file or a directory" in err
    assert not target.exists()

    # A failed write keeps an older figure and leaves no partial file.
    from matplotlib.figure import Figure

    def failing_savefig(self, fname, **kwargs):
        Path(fname).write_bytes(b"\x89PNG partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", failing_savefig)
    out.mkdir()
    target = out / "fig.png"
    target.write_bytes(b"older figure")
    code, _, err = _run(
        capsys,
        "explain",
        str(png),
        "--model",
        "resnet18",
        *weights,
        "--out",
        str(target),
    )
    assert code == 2
    assert f"Could not write {target}" in err and "No space left" in err
    assert target.read_bytes() == b"older figure"
    assert [p.name for p in out.iterdir()] == ["fig.png"]
