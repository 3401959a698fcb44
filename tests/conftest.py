"""Shared pytest fixtures: a fixed seed and clean global Keras state.

The suite runs once per backend (`KERAS_BACKEND=... pytest tests`).
"""

from __future__ import annotations

import keras
import pytest

SEED = 1337


@pytest.fixture(autouse=True)
def _clean_keras_state():
    """Seeds every RNG and restores the global policy and data format."""
    keras.utils.set_random_seed(SEED)
    data_format = keras.config.image_data_format()
    yield
    keras.config.set_dtype_policy("float32")
    keras.config.set_image_data_format(data_format)


@pytest.fixture
def backend() -> str:
    """Name of the Keras backend the suite runs on."""
    return keras.backend.backend()
