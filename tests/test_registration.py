"""`import keras_attention` alone registers the library with Keras: saved
models, `keras.saving.load_model` and keras-hub's `from_preset` work in a
fresh process, whichever of Keras, keras-hub and keras_attention comes
first, and `from_preset(dir, num_classes=N)` builds a new head."""

from __future__ import annotations

from helpers.fresh import run_python
from helpers.published import ZOO

from keras_attention import zoo

IMAGE_PRESET = ZOO / "cbam_resnet18" / "fashion_mnist"
AUDIO_PRESET = ZOO / "cbam_cnn10" / "instruments"


def test_saved_model_and_preset_reload_after_import_keras_attention(tmp_path):
    model = zoo.load(
        "resnet18", weights=None, input_shape=(32, 32, 3), num_classes=3
    )
    model.save(tmp_path / "m.keras")
    model.save_to_preset(str(tmp_path / "preset"))
    out = run_python(
        f"""
        import sys
        import keras_attention  # the only import of the library
        assert "keras" not in sys.modules
        import keras, keras_hub, numpy as np
        assert "keras_attention.models" in sys.modules
        m = keras.saving.load_model({str(tmp_path / "m.keras")!r})
        t = keras_hub.models.ImageClassifier.from_preset(
            {str(tmp_path / "preset")!r}
        )
        b = keras_hub.models.Backbone.from_preset({str(tmp_path / "preset")!r})
        x = np.zeros((1, 32, 32, 3), "float32")
        print(type(m).__name__, m.predict(x, verbose=0).shape,
              type(t).__name__, type(b).__name__)
        """,
        tmp_path,
    )
    assert out.stdout.split() == [
        "AttentionResNetImageClassifier",
        "(1,",
        "3)",
        "AttentionResNetImageClassifier",
        "AttentionResNetBackbone",
    ]


def test_from_preset_with_a_new_head_count(tmp_path):
    # keras-hub first: keras_attention registers once keras-hub finishes.
    out = run_python(
        f"""
        import keras_hub
        import keras_attention
        m = keras_hub.models.ImageClassifier.from_preset(
            {str(IMAGE_PRESET)!r}, num_classes=3
        )
        # keras-hub has no generic audio task: the preset's own class.
        a = keras_attention.models.AudioCNNClassifier.from_preset(
            {str(AUDIO_PRESET)!r}, num_classes=4
        )
        named = keras_hub.models.ImageClassifier.from_preset(
            {str(IMAGE_PRESET)!r}, num_classes=2, class_names=["a", "b"]
        )
        print(m.output_shape, m.class_names, a.output_shape, a.class_names,
              named.class_names)
        """,
        tmp_path,
    )
    assert out.stdout.split() == [
        "(None,", "3)", "None", "(None,", "4)", "None", "['a',", "'b']",
    ]  # fmt: skip


def test_a_head_with_mismatched_class_names_still_raises():
    import pytest

    from keras_attention.models import AttentionResNetImageClassifier

    backbone = zoo.load(
        "resnet18", weights=None, input_shape=(32, 32, 3), num_classes=3
    ).backbone
    with pytest.raises(ValueError, match="Expected 3 `class_names`"):
        AttentionResNetImageClassifier(
            backbone=backbone, num_classes=3, class_names=["a"]
        )
