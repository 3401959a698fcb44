"""Shared pytest fixtures: a fixed seed and clean global Keras state.

The suite runs once per backend (`KERAS_BACKEND=... pytest tests`).
"""

from __future__ import annotations

import os

# The tests check results, not speed: XLA (JAX, and TensorFlow's
# jit-compiled train steps) compiles ~40% faster without its backend
# optimisation passes. A user's own XLA_FLAGS win.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import keras  # noqa: E402
import pytest  # noqa: E402

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


@pytest.fixture(params=["auto", "channels_last"])
def nchw_conv(request, monkeypatch) -> str:
    """Runs a test twice: with the device's own channels-first
    convolutions where it has them (`auto`), and with the fallback that
    computes them channels-last forced on (what a TensorFlow CPU without
    oneDNN gets), so that path is tested on every machine."""
    monkeypatch.setenv("KERAS_ATTENTION_NCHW_CONV", request.param)
    return request.param


@pytest.fixture
def server():
    """The loopback HTTP server (`helpers.http.Server`) for one test."""
    from helpers.http import loopback_server

    with loopback_server() as httpd:
        yield httpd
