"""Image classifier task, converter and preprocessor for attention ResNets."""

from __future__ import annotations

import keras
import keras_hub
from keras import ops

from keras_attention.models.heads import restore_head_config
from keras_attention.models.resnet_backbone import AttentionResNetBackbone


def _is_tf_tensor(x) -> bool:
    return type(x).__module__.startswith("tensorflow")


@keras.saving.register_keras_serializable(package="keras_attention")
class AttentionResNetImageConverter(keras_hub.layers.ImageConverter):
    """keras-hub `ImageConverter` that also adapts the channel count.

    Resizes, then `x * scale + offset` per channel (as keras-hub does).
    With `num_channels=3`, grayscale images (a channel axis of 1) are
    repeated to 3 channels first, so a model trained on RGB fine-tunes on
    grayscale data and vice versa for `num_channels=1` (RGB is averaged).

    Args:
        num_channels: Channels the backbone expects, or None to pass the
            input through unchanged.
        **kwargs: `keras_hub.layers.ImageConverter` arguments
            (`image_size`, `scale`, `offset`, `interpolation`, ...).
    """

    backbone_cls = AttentionResNetBackbone

    def __init__(self, num_channels: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_channels = num_channels
        # Stateless, so built from the start: an unbuilt `Resizing` (there
        # is one even without an `image_size`) makes Keras' JAX
        # `predict_on_batch` run an extra eager forward pass on every call.
        self.resizing.built = True

    def _adapt_channels(self, x):
        if self.num_channels is None:
            return x
        axis = -1 if self.data_format == "channels_last" else -3
        have = x.shape[axis]
        if have == self.num_channels or have is None:
            return x
        # keras-hub runs preprocessing inside tf.data on every backend,
        # where tensors are TensorFlow's whatever the Keras backend.
        if _is_tf_tensor(x):
            import tensorflow as tf

            repeat, mean, cast = tf.repeat, tf.reduce_mean, tf.cast
        else:
            repeat, mean, cast = ops.repeat, ops.mean, ops.cast
        if have == 1:
            return repeat(x, self.num_channels, axis=axis)
        if self.num_channels == 1:
            return mean(cast(x, "float32"), axis=axis, keepdims=True)
        raise ValueError(
            f"{type(self).__name__}: Expected images with 1 or "
            f"{self.num_channels} channels. Received: shape={x.shape}"
        )

    def call(self, inputs):
        if isinstance(inputs, dict):
            return super().call(inputs)
        if not hasattr(inputs, "shape"):
            inputs = ops.convert_to_tensor(inputs)
        return super().call(self._adapt_channels(inputs))

    def get_config(self):
        config = super().get_config()
        config["num_channels"] = self.num_channels
        return config


@keras.saving.register_keras_serializable(package="keras_attention")
class AttentionResNetImageClassifierPreprocessor(
    keras_hub.models.ImageClassifierPreprocessor
):
    """keras-hub preprocessor pairing `AttentionResNetImageConverter` with
    `AttentionResNetImageClassifier`."""

    backbone_cls = AttentionResNetBackbone
    image_converter_cls = AttentionResNetImageConverter

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.built = True  # Stateless: see `AttentionResNetImageConverter`.


@keras.saving.register_keras_serializable(package="keras_attention")
class AttentionResNetImageClassifier(keras_hub.models.ImageClassifier):
    """keras-hub `ImageClassifier` over an `AttentionResNetBackbone`.

    Global pooling, optional dropout and a dense head named `predictions`.
    It compiles itself with keras-hub's defaults and applies its
    preprocessor in `fit`, `predict` and `evaluate`.

    Args:
        backbone: An `AttentionResNetBackbone`.
        num_classes: Number of output classes.
        preprocessor: An `AttentionResNetImageClassifierPreprocessor` or
            None (inputs are then fed to the backbone as they are).
        pooling: "avg" or "max".
        activation: Head activation; None returns logits.
        dropout: Dropout rate before the head.
        class_names: Optional list of `num_classes` label names, kept in the
            config so a saved model still knows its labels.

    Examples:
        >>> backbone = AttentionResNetBackbone([1, 1, 1, 1], [8, 16, 32, 64],
        ...                                    attention="se")
        >>> model = AttentionResNetImageClassifier(backbone, num_classes=3)
        >>> model.output_shape
        (None, 3)
    """

    backbone_cls = AttentionResNetBackbone
    preprocessor_cls = AttentionResNetImageClassifierPreprocessor

    def __init__(self, *args, class_names=None, **kwargs):
        super().__init__(*args, **kwargs)
        if class_names is not None and len(class_names) != self.num_classes:
            raise ValueError(
                f"{type(self).__name__}: Expected {self.num_classes} "
                f"`class_names`. Received {len(class_names)}: {class_names}"
            )
        self.class_names = list(class_names) if class_names else None

    def get_config(self):
        config = super().get_config()
        config["class_names"] = self.class_names
        return config

    @classmethod
    def from_config(cls, config):
        return super().from_config(restore_head_config(config))
