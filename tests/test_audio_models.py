"""Audio models: PANNs CNNs and spectrogram ResNets on raw waveforms."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_attention import zoo
from keras_attention.models import (
    AudioClassifier,
    AudioCNNBackbone,
    AudioCNNClassifier,
    AudioResNetBackbone,
    AudioResNetClassifier,
    build_panns_cnn,
)
from keras_attention.models import audio as audio_models

SR = 16000


def _waves(batch, samples, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.5, 0.5, (batch, samples)).astype("float32")


def _run(model, x):
    """Forward pass in inference mode. On JAX, `predict` compiles the model
    once, much faster than eager op-by-op compilation of `model(x)`."""
    if keras.backend.backend() == "jax":
        return np.asarray(model.predict(x, verbose=0))
    return keras.ops.convert_to_numpy(model(x))


def _tiny_cnn(attention="cbam", classes=3, **kwargs):
    backbone = AudioCNNBackbone(
        stackwise_num_filters=[4, 8, 8, 8],
        attention=attention,
        attention_config={"reduction": 2} if attention else None,
        n_mels=16,
        spec_augment=True,
        **kwargs,
    )
    return AudioCNNClassifier(
        backbone, num_classes=classes, class_names=list("abc")[:classes]
    )


def _tiny_resnet(attention="se", classes=3):
    backbone = AudioResNetBackbone(
        stackwise_num_blocks=[1, 1],
        stackwise_num_filters=[4, 8],
        attention=attention,
        attention_config={"reduction": 2},
        n_mels=16,
    )
    return AudioResNetClassifier(backbone, num_classes=classes)


def test_registry_lists_audio_models():
    names = zoo.list_models(task="audio")
    for depth in (6, 10, 14):
        for prefix in ("", "se_", "cbam_", "eca_", "bam_"):
            assert f"{prefix}cnn{depth}" in names
    assert "cbam_resnet18_audio" in names
    spec = zoo.get_spec("bam_cnn14")
    assert spec.input_kind == "waveform"
    assert spec.family == "panns_cnn"
    assert spec.input_shape == (64000,)


# cbam_cnn10 is covered by test_zoo_load_ready_to_fine_tune.
@pytest.mark.parametrize("name", ["cnn6", "bam_cnn6", "cbam_resnet18_audio"])
def test_builder_forward_short_waveform(name):
    model = getattr(audio_models, name)(num_classes=3, input_shape=(SR,))
    out = _run(model, _waves(2, SR))
    assert out.shape == (2, 3)
    assert np.all(np.isfinite(out))
    assert model.backbone.get_layer("log_mel").sample_rate == SR


def test_layer_names_and_attention_placement():
    # The names of cnn10's backbone, with tiny widths.
    backbone = AudioCNNBackbone([4, 8, 8, 8], attention="cbam", n_mels=16)
    names = [layer.name for layer in backbone.layers]
    for name in ("log_mel", "mel_bn", "block1_conv1", "block1_attention"):
        assert name in names
    # Attention after the block's last ReLU and before its pooling.
    assert names.index("block4_relu2") < names.index("block4_attention")
    assert names.index("block4_attention") < names.index("block4_pool")
    bam = AudioCNNBackbone([4, 8, 8], attention="bam", n_mels=16)
    bam_names = [layer.name for layer in bam.layers]
    assert "block1_bam" in bam_names and "block2_bam" in bam_names
    assert "block3_bam" not in bam_names  # None after the last block.


def test_keras_round_trip_with_front_end(tmp_path):
    model = _tiny_cnn()
    x = _waves(2, 4000)
    expected = _run(model, x)
    path = str(tmp_path / "tiny.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, AudioCNNClassifier)
    assert loaded.class_names == ["a", "b", "c"]
    assert loaded.sample_rate == SR
    np.testing.assert_allclose(_run(loaded, x), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["cnn", "resnet"])
def test_preset_round_trip(tmp_path, kind):
    model = _tiny_cnn() if kind == "cnn" else _tiny_resnet()
    x = _waves(2, 4000)
    expected = _run(model, x)
    model.save_to_preset(str(tmp_path))
    # Our base class finds the subclass that fits the preset's backbone.
    loaded = AudioClassifier.from_preset(str(tmp_path))
    assert type(loaded) is type(model)
    np.testing.assert_allclose(_run(loaded, x), expected, rtol=1e-4, atol=1e-5)
    # A new head keeps the backbone (the fine-tuning path).
    new_head = AudioClassifier.from_preset(
        str(tmp_path), num_classes=5, class_names=None
    )
    assert new_head.output_shape == (None, 5)
    # The zoo's path: `input_shape` arrives as keras-hub's `image_shape`.
    fixed = AudioClassifier.from_preset(str(tmp_path), image_shape=(4000,))
    assert type(fixed) is type(model)
    assert fixed.backbone.waveform_shape == (4000,)
    # The tiny preset is no registered architecture: the zoo refuses it
    # under a registered name (tests/test_hostile_zoo.py has the rest).
    name = "cbam_cnn6" if kind == "cnn" else "se_resnet18_audio"
    with pytest.raises(ValueError, match="differ"):
        zoo.load(name, weights=str(tmp_path), input_shape=(4000,))


def test_zoo_load_ready_to_fine_tune():
    model = zoo.load("cbam_cnn10", weights=None, num_classes=5)
    assert model.output_shape == (None, 5)
    out = _run(model, _waves(2, SR))  # 1 s at 16 kHz.
    assert out.shape == (2, 5) and np.all(np.isfinite(out))
    if keras.backend.backend() == "tensorflow":
        model.jit_compile = False  # An XLA compile costs minutes on CPU.
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    history = model.fit(
        _waves(2, 8000), np.array([0, 4]), batch_size=2, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(
        not np.allclose(a, b) for a, b in zip(before, after, strict=True)
    )


class _Clips(keras.utils.PyDataset):
    """Two batches of two short clips, as the audio loaders yield them."""

    def __len__(self):
        return 2

    def __getitem__(self, index):
        return _waves(2, 4000, seed=index), np.array([0, 2])


def test_fit_evaluate_predict_take_a_pydataset():
    # keras-hub's Task methods reject a keras.utils.PyDataset.
    model = _tiny_cnn()
    if keras.backend.backend() == "tensorflow":
        model.jit_compile = False
    history = model.fit(_Clips(), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert np.all(np.isfinite(model.evaluate(_Clips(), verbose=0)))
    assert model.predict(_Clips(), verbose=0).shape == (4, 3)


def test_short_clip_is_padded():
    model = _tiny_cnn()
    backbone = model.backbone
    # 4 poolings of 2: 16 frames = 1 + 15 hops of 160 samples.
    assert backbone.min_samples == 15 * 160
    assert backbone.min_seconds == pytest.approx(0.15)
    clip = _waves(2, 800)  # 0.05 s at 16 kHz.
    out = np.asarray(model.predict(clip, verbose=0))
    assert out.shape == (2, 3) and np.all(np.isfinite(out))
    padded = np.pad(clip, [[0, 0], [0, backbone.min_samples - 800]])
    np.testing.assert_allclose(
        out, model.predict(padded, verbose=0), rtol=1e-4, atol=1e-5
    )


def test_short_fixed_length_input_is_padded():
    backbone = AudioCNNBackbone([4, 8, 8, 8], waveform_shape=(800,))
    # Padded to 2400 samples = 16 frames, pooled 4 times down to 1.
    assert backbone.get_layer("pad_short").output.shape == (None, 2400)
    assert backbone.output_shape == (None, 1, 4, 8)


def test_min_samples_of_builders():
    cnn14 = AudioCNNBackbone(
        [2] * 6, stackwise_pool_sizes=[2, 2, 2, 2, 2, 1], n_mels=32
    )
    assert cnn14.min_samples == 31 * 160
    resnet = AudioResNetBackbone([1], [4], n_mels=16)
    assert resnet.min_samples == 512 // 2 + 1  # The STFT's minimum.


# PANNs' own code (trainable parameters, 32 kHz, 527 classes): the paper's
# table lists 79.6 M / 4.9 M / 4.5 M; the released code has 80,753,615 for
# CNN14. We match the code exactly (BN moving statistics not counted).
PANNS_TRAINABLE = {6: 4_837_455, 10: 5_219_279, 14: 80_753_615}


@pytest.mark.parametrize(
    "depth",
    [
        6,
        pytest.param(10, marks=pytest.mark.slow),
        pytest.param(14, marks=pytest.mark.slow),
    ],
)
def test_param_counts_match_panns(depth):
    model = build_panns_cnn(depth, sample_rate=32000, num_classes=527)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == PANNS_TRAINABLE[depth]
    if depth == 14:
        assert abs(trainable - 79.6e6) / 79.6e6 < 0.02


def test_thirty_two_khz_front_end():
    backbone = AudioCNNBackbone([4], sample_rate=32000, n_mels=16)
    log_mel = backbone.get_layer("log_mel")
    assert (log_mel.n_fft, log_mel.hop_length, log_mel.fmax) == (
        1024,
        320,
        14000.0,
    )


def test_mixed_precision_front_end_stays_float32():
    keras.config.set_dtype_policy("mixed_float16")
    model = _tiny_cnn()
    backbone = model.backbone
    assert backbone.get_layer("log_mel").output.dtype == "float32"
    assert backbone.get_layer("block1_conv1").compute_dtype == "float16"
    out = _run(model, _waves(2, 4000) * 2.0)
    assert np.all(np.isfinite(out))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="block_type"):
        AudioCNNBackbone([4], block_type="triple")
    with pytest.raises(ValueError, match="waveform_shape"):
        AudioCNNBackbone([4], waveform_shape=(100, 1))
    with pytest.raises(ValueError, match="depth"):
        build_panns_cnn(12)
    with pytest.raises(ValueError, match="sample_rate"):
        AudioCNNClassifier(
            AudioCNNBackbone([4], n_mels=16), num_classes=2, sample_rate=8000
        )


@pytest.mark.parametrize("attention", ["cbam", "bam"])
def test_spectrogram_layout_ignores_the_global_image_format(attention):
    """The log-mel map is always (time, mels, channels): a user who sets
    `channels_first` for their image models still gets working audio
    models, with the same outputs."""
    x = _waves(2, SR // 2)
    keras.utils.set_random_seed(0)
    reference = _tiny_cnn(attention)
    expected = _run(reference, x)
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        keras.utils.set_random_seed(0)
        model = _tiny_cnn(attention)
        model.set_weights(reference.get_weights())
        resnet = _tiny_resnet(attention)
        assert _run(resnet, x).shape == (2, 3)
        out = _run(model, x)
    finally:
        keras.config.set_image_data_format(previous)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
