"""Feature extraction (`zoo.load(..., feature_extractor=True)`) and the
`keras.applications` names `zoo.load` takes (`classes`)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_attention import zoo

IMAGE_KEYS = ["stem_s2", "stage1_s4", "stage2_s8", "stage3_s16", "stage4_s32"]


@pytest.mark.parametrize("name", ["resnet18", "bam_resnet18"])
def test_image_pyramid(name):
    assert zoo.available_feature_keys(name) == IMAGE_KEYS
    model = zoo.load(
        name, weights=None, input_shape=(64, 64, 3), feature_extractor=True
    )
    x = np.random.default_rng(0).normal(size=(2, 64, 64, 3))
    features = model.predict(x.astype("float32"), verbose=0)
    assert set(features) == set(IMAGE_KEYS)
    for key, width in zip(IMAGE_KEYS, [64, 64, 128, 256, 512], strict=True):
        stride = int(key.rsplit("_s", 1)[1])
        assert features[key].shape == (2, 64 // stride, 64 // stride, width)


def test_features_are_the_classifier_s_own(tmp_path):
    """The last stage of the extractor is what the classifier pools: its
    average times the head's kernel gives the classifier's logits."""
    classifier = zoo.load(
        "cbam_resnet18", weights=None, num_classes=3, input_shape=(32, 32, 3)
    )
    preset = tmp_path / "preset"
    classifier.save_to_preset(str(preset))
    features = zoo.load(
        "cbam_resnet18",
        weights=str(preset),
        feature_extractor=True,
        feature_keys=["stage4_s32"],
    )
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3))
    x = x.astype("float32")
    pre = classifier.preprocessor(x)
    last = features.predict(pre, verbose=0)["stage4_s32"]
    kernel, bias = classifier.get_layer("predictions").get_weights()
    logits = last.mean(axis=(1, 2)) @ kernel + bias
    np.testing.assert_allclose(
        logits, classifier.predict(x, verbose=0), rtol=1e-4, atol=1e-4
    )


def test_audio_features_and_embedding():
    keys = zoo.available_feature_keys("cnn6")
    assert keys == ["block1_s2", "block2_s4", "block3_s8", "block4_s16"] + [
        "embedding"
    ]
    model = zoo.load(
        "cnn6",
        weights=None,
        num_classes=4,
        feature_extractor=True,
        feature_keys=["embedding", "block4_s16"],
    )
    x = np.random.default_rng(2).normal(size=(2, 16000)).astype("float32")
    out = model.predict(x, verbose=0)
    assert set(out) == {"embedding", "block4_s16"}
    assert out["embedding"].shape == (2, 512)
    assert (
        out["block4_s16"].shape[0] == 2 and out["block4_s16"].shape[-1] == 512
    )
    resnet = zoo.load(
        "se_resnet18_audio", weights=None, num_classes=4, feature_extractor=True
    )
    out = resnet.predict(x, verbose=0)
    assert set(out) == {*IMAGE_KEYS, "embedding"}
    assert out["stage4_s32"].shape[-1] == 512
    assert out["stage1_s4"].shape[2] == 64 // 4  # mel bins / stride


def test_classes_is_num_classes():
    model = zoo.load("resnet18", weights=None, classes=7)
    assert model.output_shape == (None, 7)
    with pytest.raises(ValueError, match="another name for `num_classes`"):
        zoo.load("resnet18", weights=None, classes=7, num_classes=8)
    assert zoo.load("resnet18", weights=None, classes=7, num_classes=7)


def test_bad_feature_arguments():
    with pytest.raises(ValueError, match="Expected `feature_keys` among"):
        zoo.load(
            "resnet18",
            weights=None,
            feature_extractor=True,
            feature_keys=["stage9_s512"],
        )
    with pytest.raises(ValueError, match="feature_extractor=True"):
        zoo.load("resnet18", weights=None, feature_keys=["stem_s2"])
    with pytest.raises(TypeError, match="totally_bogus"):
        zoo.load("resnet18", weights=None, totally_bogus=1)
    assert isinstance(
        zoo.load("resnet18", weights=None, feature_extractor=True), keras.Model
    )
