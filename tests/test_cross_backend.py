"""A `.keras` file saved under the current backend loads under the other
two with the same outputs (one model holding all six layers)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers.layer_checks import randomize_weights

from keras_attention.layers import (
    BAM,
    CBAM,
    ECA,
    ChannelAttention,
    SpatialAttention,
    SqueezeExcite,
)

BACKENDS = ("tensorflow", "jax", "torch")
REPO_ROOT = Path(__file__).resolve().parents[1]

LOAD_AND_COMPARE = textwrap.dedent(
    """
    import sys

    import keras
    import numpy as np

    import keras_attention  # registers the layers

    assert keras.backend.backend() == sys.argv[3], keras.backend.backend()
    model = keras.saving.load_model(sys.argv[1])
    data = np.load(sys.argv[2])
    actual = keras.ops.convert_to_numpy(model(data["x"]))
    np.testing.assert_allclose(actual, data["y"], atol=1e-5, rtol=1e-5)
    names = sorted(type(layer).__name__ for layer in model.layers)
    print("OK", names)
    """
)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """Saves the six-layer model, its input and output; returns the paths."""
    keras.utils.set_random_seed(7)
    inputs = keras.Input(shape=(8, 8, 32))
    x = SqueezeExcite(reduction=4)(inputs)
    x = CBAM(reduction=4, kernel_size=3)(x)
    x = ECA()(x)
    x = BAM(reduction=4, dilation_rate=2)(x)
    x = ChannelAttention(reduction=8)(x)
    outputs = SpatialAttention(kernel_size=5)(x)
    model = keras.Model(inputs, outputs)
    randomize_weights(model, seed=11)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 8, 8, 32)).astype("float32")
    y = keras.ops.convert_to_numpy(model(x))
    assert np.all(np.isfinite(y))
    folder = tmp_path_factory.mktemp("cross_backend")
    model_path = folder / "model.keras"
    data_path = folder / "data.npz"
    model.save(model_path)
    np.savez(data_path, x=x, y=y)
    return model_path, data_path


@pytest.mark.parametrize(
    "target", [b for b in BACKENDS if b != keras.backend.backend()]
)
def test_saved_model_loads_under_other_backend(saved_model, target):
    model_path, data_path = saved_model
    env = dict(os.environ)
    env["KERAS_BACKEND"] = target
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            LOAD_AND_COMPARE,
            str(model_path),
            str(data_path),
            target,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"loading under {target} failed:\n{result.stderr[-4000:]}"
    )
    assert "OK" in result.stdout
    for name in ("BAM", "CBAM", "ECA", "SqueezeExcite"):
        assert name in result.stdout
