"""`keras_attention.layers.conv`: the matrix-product path that JAX takes
for convolutions whose kernel is larger than the input gives Keras'
convolution's results, on every backend (the function is plain
`keras.ops`)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from keras_attention.layers.conv import Conv2D, im2col_conv2d, is_tiny


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("strides", [(1, 1), (2, 2), (1, 2)])
@pytest.mark.parametrize("size", [(2, 2), (3, 5), (7, 4)])
def test_im2col_matches_conv(size, strides, padding):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, *size, 5)).astype("float32")
    kernel = rng.normal(size=(3, 3, 5, 4)).astype("float32")
    if padding == "valid" and min(size) < 3:
        x = rng.normal(size=(2, 3, 3, 5)).astype("float32")  # Has an output.
    want = ops.conv(x, kernel, strides=strides, padding=padding)
    got = im2col_conv2d(x, kernel, strides, padding)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(
        ops.convert_to_numpy(got), ops.convert_to_numpy(want), atol=1e-5
    )


def test_is_tiny():
    assert is_tiny((2, 2), (3, 3))
    assert is_tiny((1, 2), (3, 3))
    assert not is_tiny((3, 2), (3, 3))
    assert not is_tiny((50, 2), (3, 3))
    assert not is_tiny((None, 2), (3, 3))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_layer_matches_keras_conv2d_and_reloads(data_format, tmp_path):
    shape = (2, 2, 8) if data_format == "channels_last" else (8, 2, 2)
    inputs = keras.Input(shape)
    ours = Conv2D(6, 3, padding="same", data_format=data_format, name="c")
    model = keras.Model(inputs, ours(inputs))
    plain = keras.layers.Conv2D(6, 3, padding="same", data_format=data_format)
    plain.build((None, *shape))
    plain.set_weights(ours.get_weights())
    x = np.random.default_rng(1).normal(size=(3, *shape)).astype("float32")
    want = ops.convert_to_numpy(plain(x))
    np.testing.assert_allclose(model.predict(x, verbose=0), want, atol=1e-5)
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    assert type(again.get_layer("c")) is Conv2D
    np.testing.assert_allclose(again.predict(x, verbose=0), want, atol=1e-5)
