"""Keras callbacks the recipe tests use to interrupt and observe a run."""

from __future__ import annotations

import re

import keras


class Interrupt(keras.callbacks.Callback):
    """Stops training after the first epoch, as a crash would."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt("simulated interruption")


class SeenEpochs(keras.callbacks.Callback):
    """Records the index of every epoch that starts."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


class TrainingPolicies(keras.callbacks.Callback):
    """Records the dtype policy of every layer of the model being fitted
    and the dtype of its output."""

    def on_train_begin(self, logs=None):
        layers = self.model._flatten_layers(include_self=False)
        self.policies = {
            layer.name: layer.dtype_policy.name for layer in layers
        }
        self.output_dtype = str(self.model.output.dtype)


def assert_mixed_training_float32_presets(seen, run_dir, published, load):
    """The backbone computed in bfloat16 and the head in float32 while
    training (`seen`, a `TrainingPolicies`); both exported presets are
    plain float32 models (`load` loads a preset directory)."""
    computing = [
        name
        for name in seen.policies
        if re.search(r"(^|_)conv\d*$|_attention$|backbone$", name)
    ]
    assert len(computing) > 3, seen.policies
    assert {seen.policies[name] for name in computing} == {"mixed_bfloat16"}, {
        n: seen.policies[n]
        for n in computing
        if seen.policies[n] != "mixed_bfloat16"
    }
    assert seen.policies["predictions"] == "float32"
    assert seen.output_dtype.endswith("float32")
    for preset in (published, run_dir / "preset_float32"):
        for name in ("config.json", "task.json"):
            assert "mixed_" not in (preset / name).read_text(), preset / name
        model = load(preset)
        assert {w.dtype for w in model.weights} == {"float32"}
        assert model.backbone.dtype_policy.name == "float32"
