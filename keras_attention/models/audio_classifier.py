"""Audio classifier tasks with the PANNs head.

keras-hub 0.32 has no generic `AudioClassifier` task, so `AudioClassifier`
here is the base (a `keras_hub.models.Task`): call
`AudioClassifier.from_preset(path)` to load any of our audio presets; it
finds the subclass that matches the preset's backbone.
"""

from __future__ import annotations

import keras
import keras_hub
from keras import ops

from keras_attention.models.audio_backbone import (
    AudioCNNBackbone,
    AudioResNetBackbone,
)
from keras_attention.models.heads import restore_head_config


@keras.saving.register_keras_serializable(package="keras_attention")
class PANNsPooling(keras.layers.Layer):
    """PANNs' global pooling of a `(batch, frames, mels, channels)` map.

    Mean over the mel axis, then max + mean over time: `(batch, channels)`.
    The reductions run in float32; the output has the layer's compute dtype.
    """

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def call(self, inputs):
        x = ops.mean(ops.cast(inputs, "float32"), axis=2)
        x = ops.max(x, axis=1) + ops.mean(x, axis=1)
        return ops.cast(x, self.compute_dtype)


@keras.saving.register_keras_serializable(package="keras_attention")
class AudioClassifier(keras_hub.models.Task):
    """Waveform classifier: an audio backbone and the PANNs head.

    backbone feature map -> mean over mels, max + mean over time
    (`pooler`) -> dropout -> dense `embedding` (width of the last block,
    ReLU; PANNs' fc1) -> dropout -> dense `predictions` (logits by
    default). The log-mel front end is inside the backbone, so there is no
    preprocessor: the model eats raw float waveforms `(batch, samples)` at
    the backbone's `sample_rate`.

    It compiles itself with Adam(1e-4) and a sparse categorical
    cross-entropy (binary cross-entropy for `activation="sigmoid"`, the
    multi-label AudioSet setting).

    Args:
        backbone: An `AudioCNNBackbone` or `AudioResNetBackbone`.
        num_classes: Number of output classes.
        preprocessor: Must be None (kept for keras-hub compatibility).
        activation: Head activation; None gives logits.
        dropout: Dropout before and after the embedding (PANNs: 0.5).
        embedding_dim: Width of the embedding layer; None means the
            backbone's output channels (PANNs).
        class_names: Optional list of `num_classes` label names.
        sample_rate: Optional; checked against the backbone's.
        clip_seconds: Clip length the model was trained on (metadata for
            inference code; any length runs).
    """

    backbone_cls = None
    preprocessor_cls = None

    def __init__(
        self,
        backbone,
        num_classes: int = 527,
        preprocessor=None,
        activation=None,
        dropout: float = 0.5,
        embedding_dim: int | None = None,
        class_names=None,
        sample_rate: int | None = None,
        clip_seconds: float | None = None,
        head_dtype=None,
        **kwargs,
    ):
        name = type(self).__name__
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f"{name}: Expected `num_classes` >= 1. "
                f"Received: num_classes={num_classes!r}"
            )
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(
                f"{name}: Expected {num_classes} `class_names`. "
                f"Received {len(class_names)}: {class_names}"
            )
        if sample_rate is not None and sample_rate != backbone.sample_rate:
            raise ValueError(
                f"{name}: `sample_rate` ({sample_rate}) differs from the "
                f"backbone's ({backbone.sample_rate})."
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"{name}: Expected 0 <= `dropout` < 1. "
                f"Received: dropout={dropout!r}"
            )
        head_dtype = head_dtype or backbone.dtype_policy
        width = embedding_dim or backbone.output.shape[-1]

        # === Layers ===
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.pooler = PANNsPooling(dtype=head_dtype, name="pooler")
        self.pooled_dropout = keras.layers.Dropout(
            dropout, dtype=head_dtype, name="pooled_dropout"
        )
        self.embedding = keras.layers.Dense(
            width, activation="relu", dtype=head_dtype, name="embedding"
        )
        self.output_dropout = keras.layers.Dropout(
            dropout, dtype=head_dtype, name="output_dropout"
        )
        self.output_dense = keras.layers.Dense(
            num_classes,
            activation=activation,
            dtype=head_dtype,
            name="predictions",
        )

        # === Functional model ===
        inputs = self.backbone.input
        x = self.backbone(inputs)
        x = self.pooler(x)
        x = self.pooled_dropout(x)
        x = self.embedding(x)
        x = self.output_dropout(x)
        outputs = self.output_dense(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.activation = activation
        self.dropout = float(dropout)
        self.embedding_dim = embedding_dim
        self.class_names = list(class_names) if class_names else None
        self.sample_rate = backbone.sample_rate
        self.clip_seconds = clip_seconds

    @property
    def min_samples(self) -> int:
        """Shortest clip the network needs (shorter ones are padded)."""
        return self.backbone.min_samples

    # keras-hub's Task sends the data of fit/evaluate/predict through a
    # tf.data or grain pipeline for its preprocessor, which rejects a
    # `keras.utils.PyDataset` such as the `keras_attention.audio` loaders.
    # These tasks have no preprocessor (the front end is in the backbone),
    # so Keras' own methods, which take every input type, do the same job.
    fit = keras.Model.fit
    evaluate = keras.Model.evaluate
    predict = keras.Model.predict

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "activation": keras.activations.serialize(
                    keras.activations.get(self.activation)
                )
                if self.activation is not None
                and not isinstance(self.activation, str)
                else self.activation,
                "dropout": self.dropout,
                "embedding_dim": self.embedding_dim,
                "class_names": self.class_names,
                "sample_rate": self.sample_rate,
                "clip_seconds": self.clip_seconds,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return super().from_config(restore_head_config(config))

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        *,
        metrics="auto",
        **kwargs,
    ):
        """Compiles with Adam(1e-4) and a loss fitting `activation`.

        `"auto"` loss: binary cross-entropy for a sigmoid head (multi-label,
        targets `(batch, num_classes)`), else sparse categorical
        cross-entropy (integer targets), from logits unless the head has a
        softmax. `"auto"` metrics: accuracy to match.
        """
        activation = keras.activations.get(getattr(self, "activation", None))
        multi_label = activation == keras.activations.sigmoid
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-4)
        if loss == "auto":
            if multi_label:
                loss = keras.losses.BinaryCrossentropy(from_logits=False)
            else:
                from_logits = activation != keras.activations.softmax
                loss = keras.losses.SparseCategoricalCrossentropy(from_logits)
        if metrics == "auto":
            metrics = (
                [keras.metrics.BinaryAccuracy()]
                if multi_label
                else [keras.metrics.SparseCategoricalAccuracy()]
            )
        super().compile(
            optimizer=optimizer, loss=loss, metrics=metrics, **kwargs
        )


@keras.saving.register_keras_serializable(package="keras_attention")
class AudioCNNClassifier(AudioClassifier):
    """`AudioClassifier` over an `AudioCNNBackbone` (PANNs CNN6/10/14).

    Examples:
        >>> backbone = AudioCNNBackbone([8, 16], waveform_shape=(None,))
        >>> model = AudioCNNClassifier(backbone, num_classes=3)
        >>> model.output_shape
        (None, 3)
    """

    backbone_cls = AudioCNNBackbone


@keras.saving.register_keras_serializable(package="keras_attention")
class AudioResNetClassifier(AudioClassifier):
    """`AudioClassifier` over an `AudioResNetBackbone`."""

    backbone_cls = AudioResNetBackbone
