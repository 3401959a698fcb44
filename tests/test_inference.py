"""`keras_attention.inference`: the library code under `keras-attention
predict` and `explain` (the commands themselves are in test_cli.py and
test_hostile_cli.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import soundfile

from keras_attention import inference


def _head(activation=None, **kwargs):
    return SimpleNamespace(activation=activation, **kwargs)


def test_top_classes_order_and_average():
    outputs = np.log([[0.1, 0.6, 0.3], [0.3, 0.4, 0.3]])
    probs, top = inference.top_classes(_head(), outputs, 2, ["a", "b", "c"])
    np.testing.assert_allclose(probs, [0.2, 0.5, 0.3])  # over the batch
    assert [(i, label) for i, label, _ in top] == [(1, "b"), (2, "c")]
    assert top[0][2] == pytest.approx(0.5)
    # Ties keep the class order; k beyond the classes gives them all.
    _, top = inference.top_classes(_head("softmax"), [[0.25, 0.5, 0.25]], 9)
    assert [(i, label) for i, label, _ in top] == [(1, "1"), (0, "0"), (2, "2")]


def test_probabilities_by_head_activation():
    import keras

    logits = np.array([[2.0, 0.0, -1.0]])
    softmax = np.exp(logits) / np.exp(logits).sum()
    for activation in (None, "linear", keras.activations.linear):
        probs = inference.probabilities(_head(activation), logits)
        np.testing.assert_allclose(probs, softmax)
    scores = np.array([[0.9, 0.2, 0.7]])  # a sigmoid head's, as they are
    for activation in ("sigmoid", keras.activations.sigmoid, "softmax"):
        np.testing.assert_array_equal(
            inference.probabilities(_head(activation), scores), scores
        )
    assert inference.head_activation(_head(keras.activations.sigmoid)) == (
        "sigmoid"
    )


def test_class_labels():
    model = _head(class_names=["x", "y"])
    assert inference.class_labels(model, 2) == ["x", "y"]
    assert inference.class_labels(_head(), 2, {"class_names": ["p", "q"]}) == [
        "p",
        "q",
    ]
    assert inference.class_labels(model, 3, None, "class {}") == [
        "class 0",
        "class 1",
        "class 2",
    ]
    with pytest.raises(inference.InferenceError, match="--top-k >= 1"):
        inference.check_top_k(0)


def test_audio_windows_of_a_long_clip():
    windows = inference.audio_windows(np.ones(25), 10)
    assert windows.shape == (3, 10) and windows.dtype == "float32"
    np.testing.assert_array_equal(windows.ravel()[25:], 0)  # padded
    assert inference.audio_windows(np.ones(25), None).shape == (1, 25)
    # A fixed-length waveform model: windows of its input length.
    fixed = SimpleNamespace(backbone=SimpleNamespace(input_shape=(None, 16000)))
    assert inference.window_length(fixed, "cnn6", 16000, 96000) == 16000
    # A model that takes any length: the whole clip, or windows of
    # `window_seconds` when the clip is longer (as explain cuts it).
    free = SimpleNamespace(backbone=SimpleNamespace(input_shape=(None, None)))
    assert inference.window_length(free, "cnn6", 8000, 48000) is None
    length = inference.window_length(free, "cnn6", 8000, 48000, 0.5)
    assert length == 4000
    assert inference.audio_windows(np.ones(48000), length).shape == (12, 4000)
    assert inference.window_length(free, "cnn6", 8000, 4000, 0.5) is None


def test_check_input_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(inference.InferenceError, match="No such file: .*nope"):
        inference.check_input(missing, "resnet18")
    with pytest.raises(inference.InferenceError, match="is a directory"):
        inference.check_input(tmp_path, "resnet18")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(inference.InferenceError, match=r"notes\.txt is an"):
        inference.check_input(text, "resnet18")
    clip = tmp_path / "clip.aif"
    soundfile.write(clip, np.zeros(100), 8000, format="AIFF")
    with pytest.raises(inference.InferenceError, match=r"clip\.aif is an aud"):
        inference.check_input(clip, "resnet18")
    assert inference.check_input(clip, "cnn6") == (clip, "audio")
    assert isinstance(inference.InferenceError("x"), ValueError)
    with pytest.raises(ValueError, match="Unknown model"):
        inference.check_input(clip, "cnn66")


def test_read_image_error_names_the_file(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(inference.InferenceError, match="broken.png"):
        inference.read_image(broken)


def test_one_list_of_audio_extensions():
    from keras_attention.audio import AUDIO_EXTENSIONS

    for suffix in AUDIO_EXTENSIONS:
        assert inference.input_kind(f"clip{suffix.upper()}") == "audio"
    assert inference.input_kind("a.png") == "image"
    assert inference.input_kind("a.txt") is None


def test_viz_does_not_import_the_cli():
    import subprocess
    import sys

    code = (
        "import sys, keras_attention.viz.explain, keras_attention.inference; "
        "print(sorted(m for m in sys.modules if m.startswith("
        "'keras_attention.cli')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_explain_checks_its_input_once(tmp_path, monkeypatch):
    from PIL import Image

    from keras_attention.viz.explain import explain_to_file

    calls = []
    real = inference.check_input

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(inference, "check_input", spy)
    rng = np.random.default_rng(0)
    png = tmp_path / "in.png"
    Image.fromarray(rng.integers(0, 256, (28, 28), np.uint8)).save(png)
    notes = []
    path, top = explain_to_file(
        png, "resnet18", tmp_path / "out", "none", top_k=2, note=notes.append
    )
    assert path == tmp_path / "out" / "in_resnet18_gradcam.png"
    assert path.is_file() and len(top) == 2
    assert len(calls) == 1, calls
    assert len(notes) == 1 and "random weights" in notes[0]
