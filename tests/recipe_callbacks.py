"""Keras callbacks the recipe tests use to interrupt and observe a run."""

from __future__ import annotations

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
