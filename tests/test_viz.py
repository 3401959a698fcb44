"""Tests of keras_attention.viz: Grad-CAM, attention maps, plots, explain.

The semantic test trains a tiny CBAM network (a few seconds) to detect a
bright square in noise, then checks that Grad-CAM and CBAM's spatial mask
point at the square.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_attention import viz, zoo
from keras_attention.layers import CBAM, LogMelSpectrogram

SIZE = 24  # image side
SQUARE = 6  # side of the bright square
# A peak counts as a hit when it lies in the square grown by this many
# pixels on each side: bilinear upsampling and the 3x3 receptive fields blur
# the edge of the maps by about one pixel.
MARGIN = 1
MIN_HIT_RATE = 0.8


def _square_images(n: int, seed: int):
    """Noise images; half hold a bright SQUARE x SQUARE square. Returns
    images (n, SIZE, SIZE, 1), labels and the squares' top-left corners."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0.0, 0.3, (n, SIZE, SIZE, 1)).astype("float32")
    labels = np.arange(n) % 2
    corners = rng.integers(0, SIZE - SQUARE + 1, (n, 2))
    for i in np.flatnonzero(labels):
        r, c = corners[i]
        images[i, r : r + SQUARE, c : c + SQUARE, 0] += 1.5
    return images, labels.astype("int32"), corners


def _peak_hits(maps: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Whether the argmax of each (H, W) map lies in its square (+MARGIN)."""
    hits = []
    for m, (r, c) in zip(maps, corners, strict=True):
        pr, pc = np.unravel_index(np.argmax(m), m.shape)
        hits.append(
            r - MARGIN <= pr < r + SQUARE + MARGIN
            and c - MARGIN <= pc < c + SQUARE + MARGIN
        )
    return np.asarray(hits)


def _square_model():
    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = CBAM(reduction=4, kernel_size=3, name="cbam")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, name="logits")(x)
    return keras.Model(inputs, outputs, name="square_detector")


@pytest.fixture(scope="module")
def square_detector():
    """A tiny CBAM CNN trained (seconds) to detect the square."""
    keras.utils.set_random_seed(0)
    model = _square_model()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    x, y, _ = _square_images(384, seed=1)
    model.fit(x, y, batch_size=32, epochs=6, verbose=0, shuffle=True)
    x_test, y_test, corners = _square_images(64, seed=2)
    accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
    positives = y_test == 1
    return model, x_test[positives], corners[positives], accuracy


def test_gradcam_and_cbam_mask_find_the_square(square_detector):
    model, images, corners, accuracy = square_detector
    assert accuracy >= 0.9, f"the detector did not learn: {accuracy=}"
    weights = [w.copy() for w in model.get_weights()]
    before = keras.ops.convert_to_numpy(model(images, training=False))

    heatmaps = viz.grad_cam(model, images, class_index=1)
    assert heatmaps.shape == images.shape[:3]
    assert heatmaps.min() >= 0.0 and heatmaps.max() <= 1.0
    gradcam_rate = _peak_hits(heatmaps, corners).mean()

    maps = viz.attention_maps(model, images)
    assert list(maps) == ["cbam"]
    # The spatial mask has the feature map's resolution, which is the
    # input's here (no striding), so its pixels are input pixels.
    mask = maps["cbam"]["spatial"]
    assert mask.shape == images.shape[:3]
    mask_rate = _peak_hits(mask, corners).mean()
    print(f"hit rates: grad_cam={gradcam_rate:.2f} cbam_mask={mask_rate:.2f}")
    assert gradcam_rate >= MIN_HIT_RATE, gradcam_rate
    assert mask_rate >= MIN_HIT_RATE, mask_rate

    # Neither call changed the model.
    after = keras.ops.convert_to_numpy(model(images, training=False))
    np.testing.assert_array_equal(before, after)
    for a, b in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


_OTHER_BACKEND_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    import keras_attention  # registers the layers
    from keras_attention import viz

    model_path, data_path, out_path = sys.argv[1:4]
    model = keras.saving.load_model(model_path)
    x = np.load(data_path)
    np.save(out_path, viz.grad_cam(model, x, class_index=[1, 0, 1]))
    print(keras.backend.backend())
    """
)


def test_gradcam_agrees_across_backends(square_detector, tmp_path):
    model, images, _, _ = square_detector
    x = images[:3]
    model_path = tmp_path / "model.keras"
    data_path = tmp_path / "x.npy"
    model.save(model_path)
    np.save(data_path, x)
    expected = viz.grad_cam(model, x, class_index=[1, 0, 1])
    here = keras.backend.backend()
    others = [b for b in ("tensorflow", "jax", "torch") if b != here]
    procs = {}
    for other in others:  # one subprocess per other backend, in parallel
        env = dict(os.environ, KERAS_BACKEND=other)
        out_path = tmp_path / f"{other}.npy"
        procs[other] = (
            out_path,
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _OTHER_BACKEND_SCRIPT,
                    str(model_path),
                    str(data_path),
                    str(out_path),
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    for other, (out_path, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-3000:]
        assert stdout.strip().splitlines()[-1] == other
        np.testing.assert_allclose(
            np.load(out_path), expected, atol=1e-4, err_msg=other
        )


def _audio_model(samples: int = 256):
    inputs = keras.Input((samples,), name="waveform")
    x = LogMelSpectrogram(
        sample_rate=8000,
        n_fft=64,
        hop_length=16,
        n_mels=8,
        fmin=0.0,
        fmax=4000.0,
        name="log_mel",
    )(inputs)
    x = keras.layers.Reshape((-1, 8, 1))(x)
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)
    x = CBAM(reduction=2, kernel_size=3, name="cbam")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3)(x)
    return keras.Model(inputs, outputs, name="tiny_audio")


def test_gradcam_audio_model_uses_log_mel_grid(tmp_path):
    model = _audio_model()
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 256))
    heatmaps = viz.grad_cam(model, x.astype("float32"))
    frames = model.get_layer("log_mel").num_frames(256)
    assert heatmaps.shape == (2, frames, 8)
    assert heatmaps.min() >= 0.0 and heatmaps.max() <= 1.0
    maps = viz.attention_maps(model, x)
    assert maps["cbam"]["spatial"].shape == (2, (frames + 1) // 2, 4)
    log_mel = keras.ops.convert_to_numpy(
        model.get_layer("log_mel")(x.astype("float32"))
    )
    fig = viz.plot_spectrogram_attention(
        log_mel[0], heatmaps[0], 8000, 16, 0.0, 4000.0, title="audio"
    )
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels and all(float(t) > 0 for t in labels)
    assert fig.axes[0].get_xlim()[1] == pytest.approx(frames * 16 / 8000)
    _check_saves(fig, tmp_path / "audio")


@pytest.fixture(scope="module")
def zoo_models():
    return {
        name: zoo.load(
            name, weights=None, num_classes=3, input_shape=(32, 32, 3)
        )
        for name in ("cbam_resnet18", "bam_resnet18", "se_resnet18")
    }


@pytest.mark.parametrize(
    "name, count, keys",
    [
        ("cbam_resnet18", 8, {"channel", "spatial"}),
        ("bam_resnet18", 3, {"channel", "spatial"}),
        ("se_resnet18", 8, {"channel"}),
    ],
)
def test_attention_maps_of_zoo_models(zoo_models, name, count, keys):
    model = zoo_models[name]
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3))
    before = np.asarray(keras.ops.convert_to_numpy(model(x / 255.0)))
    maps = viz.attention_maps(model, x)
    assert len(maps) == count
    for layer_name, entry in maps.items():
        assert set(entry) == keys, layer_name
        layer = model.backbone.get_layer(layer_name)
        shape = tuple(layer.input.shape)
        if "channel" in entry:
            assert entry["channel"].shape == (2, shape[-1])
        if "spatial" in entry:
            assert entry["spatial"].shape == (2, *shape[1:3])
        for value in entry.values():
            assert 0.0 <= value.min() and value.max() <= 1.0
    after = np.asarray(keras.ops.convert_to_numpy(model(x / 255.0)))
    np.testing.assert_array_equal(before, after)


def test_gradcam_on_zoo_classifier(zoo_models):
    model = zoo_models["cbam_resnet18"]
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3))
    heatmaps = viz.grad_cam(model, x)
    assert heatmaps.shape == (2, 32, 32)
    assert heatmaps.min() >= 0.0 and heatmaps.max() <= 1.0
    # A layer deep inside the nested backbone, named explicitly.
    inner = viz.grad_cam(
        model, x, class_index=[0, 2], layer="stage2_block1_out"
    )
    assert inner.shape == (2, 32, 32)
    assert inner.min() >= 0.0
    # Normalised per example: peak 1, or all 0 when ReLU removes every
    # (negative) value, which random weights can give.
    for peak in inner.max(axis=(1, 2)):
        assert peak == pytest.approx(1.0) or peak == 0.0
    # Grayscale images go through the preprocessor (1 -> 3 channels).
    gray = viz.grad_cam(model, x[..., :1], layer="stage2_block1_out")
    assert gray.shape == (2, 32, 32)


def test_bad_inputs(square_detector):
    model = square_detector[0]
    x = square_detector[1][:2]
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="spatial"):
        viz.grad_cam(dense, np.zeros((1, 4), "float32"))
    with pytest.raises(ValueError, match="2 classes"):
        viz.grad_cam(model, x, class_index=5)
    with pytest.raises(ValueError, match=r"\(None, 24, 24, 1\).*16, 16, 1"):
        viz.grad_cam(model, np.zeros((1, 16, 16, 1), "float32"))
    with pytest.raises(ValueError, match=r"\(None, 24, 24, 1\)"):
        viz.attention_maps(model, np.zeros((1, 16, 16, 1), "float32"))
    with pytest.raises(ValueError, match="No layer named 'nope'.*cbam"):
        viz.grad_cam(model, x, layer="nope")


def _check_saves(fig, stem: Path):
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    fig.savefig(png)
    fig.savefig(svg)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert "<svg" in text and text.rstrip().endswith("</svg>")


def test_plots_save_to_png_and_svg(square_detector, tmp_path):
    model, images, _, _ = square_detector
    heatmaps = viz.grad_cam(model, images[:2])
    maps = viz.attention_maps(model, images[:2])
    _check_saves(
        viz.plot_gradcam(images[0], heatmaps[0], "gray"), tmp_path / "g"
    )
    rgb = np.repeat(images[0], 3, axis=-1)
    _check_saves(viz.plot_gradcam(rgb, heatmaps[0]), tmp_path / "rgb")
    _check_saves(viz.plot_spatial_masks(maps, image=images[0]), tmp_path / "s")
    _check_saves(viz.plot_channel_weights(maps), tmp_path / "c")
    with pytest.raises(ValueError, match="Unknown layers"):
        viz.plot_channel_weights(maps, layers=["missing"])


def test_explain_writes_titled_png(zoo_models, tmp_path):
    from PIL import Image

    from keras_attention.viz.explain import explain

    preset = tmp_path / "preset"
    model = zoo_models["cbam_resnet18"]
    model.save_to_preset(str(preset))
    image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), "uint8")
    Image.fromarray(image).save(tmp_path / "input.png")
    out = explain(
        tmp_path / "input.png", "cbam_resnet18", tmp_path / "out", str(preset)
    )
    assert out.suffix == ".png" and out.stat().st_size > 0
    title = Image.open(out).info["Title"]
    probs = keras.ops.convert_to_numpy(
        keras.ops.softmax(
            model.predict(image[None].astype("float32"), verbose=0)
        )
    )[0]
    top = f"class {int(np.argmax(probs))} {probs.max():.1%}"
    assert title.startswith("cbam_resnet18: " + top), (title, json.dumps(top))
