"""The layers against independent NumPy references written from the papers'
equations, with the weights copied out of the layer.

SE: Hu et al. 2018 (arXiv 1709.01507); CBAM: Woo et al. 2018 (1807.06521);
ECA: Wang et al. 2020 (1910.03151); BAM: Park et al. 2018 (1807.06514).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.layer_checks import new_layer, random_input, to_numpy

from keras_attention.layers import (
    BAM,
    CBAM,
    ECA,
    ChannelAttention,
    SpatialAttention,
    SqueezeExcite,
    adaptive_kernel_size,
)

SHAPE = (2, 6, 6, 32)
SHAPE_1D = (2, 10, 32)
ATOL = 1e-5


# ------------------------------------------------------ NumPy references


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def relu(z):
    return np.maximum(z, 0.0)


def np_weights(layer) -> list[np.ndarray]:
    return [to_numpy(w).astype("float64") for w in layer.weights]


def dense(layer, v):
    kernel, bias = np_weights(layer)
    return v @ kernel + bias


def batch_norm_inference(layer, z):
    """Keras BatchNormalization in inference mode, over the last axis."""
    gamma, beta, mean, var = np_weights(layer)
    return (z - mean) / np.sqrt(var + layer.epsilon) * gamma + beta


def conv_same(x, kernel, bias=None, dilation=1):
    """Naive stride-1 'same' convolution (cross-correlation, zero padding)
    of a channels-last 1-D `(B, L, Cin)` or 2-D `(B, H, W, Cin)` input."""
    one_d = x.ndim == 3
    if one_d:
        x, kernel = x[:, :, None, :], kernel[:, None]
    batch, height, width, _ = x.shape
    kh, kw, _, cout = kernel.shape
    span_h, span_w = (kh - 1) * dilation + 1, (kw - 1) * dilation + 1
    top, left = (span_h - 1) // 2, (span_w - 1) // 2
    padded = np.pad(
        x,
        ((0, 0), (top, span_h - 1 - top), (left, span_w - 1 - left), (0, 0)),
    )
    out = np.zeros((batch, height, width, cout))
    for b in range(batch):
        for i in range(height):
            for j in range(width):
                for di in range(kh):
                    for dj in range(kw):
                        pixel = padded[b, i + di * dilation, j + dj * dilation]
                        out[b, i, j] += pixel @ kernel[di, dj]
    if bias is not None:
        out += bias
    return out[:, :, 0, :] if one_d else out


def spatial_mean(x):
    return x.mean(axis=tuple(range(1, x.ndim - 1)))


def expand_channel_gate(gate, ndim):
    """(B, C) -> (B, 1, ..., 1, C) for a channels-last input of rank ndim."""
    return gate.reshape(gate.shape[0], *([1] * (ndim - 2)), gate.shape[1])


def se_gate(layer, x):
    """SE: GAP -> W1 x + b1 -> ReLU -> W2 h + b2 -> sigmoid."""
    hidden = relu(dense(layer.reduce, spatial_mean(x)))
    return sigmoid(dense(layer.expand, hidden))


def pooled_descriptor(x, pool_type):
    axes = tuple(range(1, x.ndim - 1))
    if pool_type == "avg":
        return x.mean(axis=axes)
    if pool_type == "max":
        return x.max(axis=axes)
    if pool_type == "lp":
        return np.sqrt((x**2).sum(axis=axes))
    peak = x.max(axis=axes, keepdims=True)  # "lse"
    return np.log(np.exp(x - peak).sum(axis=axes)) + peak.reshape(
        x.shape[0], x.shape[-1]
    )


def channel_gate(layer, x):
    """CBAM channel gate: one shared MLP on each descriptor, summed."""
    logits = 0.0
    for pool_type in layer.pool_types:
        hidden = relu(dense(layer.reduce, pooled_descriptor(x, pool_type)))
        logits = logits + dense(layer.expand, hidden)
    return sigmoid(logits)


def spatial_gate(layer, x):
    """CBAM spatial gate: [max, mean] over channels -> kxk conv (no bias)
    -> BN (inference) -> sigmoid. Returns (B, *spatial)."""
    pooled = np.stack([x.max(axis=-1), x.mean(axis=-1)], axis=-1)
    (kernel,) = np_weights(layer.conv)
    logits = conv_same(pooled, kernel)
    logits = batch_norm_inference(layer.batch_norm, logits)
    return sigmoid(logits)[..., 0]


def eca_gate(layer, x):
    """ECA: GAP -> 1-D correlation across channels, zero 'same' padding, no
    bias -> sigmoid."""
    pooled = spatial_mean(x)
    (kernel,) = np_weights(layer.conv)
    w = kernel[:, 0, 0]
    k = w.shape[0]
    half = (k - 1) // 2
    padded = np.pad(pooled, ((0, 0), (half, k - 1 - half)))
    channels = pooled.shape[1]
    logits = np.zeros_like(pooled)
    for c in range(channels):
        logits[:, c] = padded[:, c : c + k] @ w
    return sigmoid(logits)


def bam_branches(layer, x):
    """BAM's logits: Mc (B, C) and Ms (B, *spatial, 1), BN in inference."""
    mc = dense(layer.channel_reduce, spatial_mean(x))
    mc = relu(batch_norm_inference(layer.channel_batch_norm, mc))
    mc = dense(layer.channel_expand, mc)
    ms = conv_same(x, *np_weights(layer.spatial_reduce))
    ms = relu(batch_norm_inference(layer.spatial_reduce_batch_norm, ms))
    for conv, norm in zip(
        layer.dilated_convs, layer.dilated_batch_norms, strict=True
    ):
        ms = conv_same(ms, *np_weights(conv), dilation=layer.dilation_rate)
        ms = relu(batch_norm_inference(norm, ms))
    ms = conv_same(ms, *np_weights(layer.spatial_project))
    return mc, ms


def assert_close(actual, expected, atol=ATOL):
    np.testing.assert_allclose(to_numpy(actual), expected, atol=atol, rtol=0)


def per_channel_scale(x, y):
    """Returns y / x per (batch, channel), asserting it is the same at every
    position where x is not ~0."""
    ratio = np.where(np.abs(x) > 1e-2, y / np.where(x == 0, 1, x), np.nan)
    axes = tuple(range(1, x.ndim - 1))
    spread = np.nanmax(ratio, axis=axes) - np.nanmin(ratio, axis=axes)
    assert np.nanmax(spread) < 1e-4, "positions of a channel scaled unequally"
    return np.nanmean(ratio, axis=axes)


# --------------------------------------------------------------------- SE


@pytest.mark.parametrize("shape", [SHAPE, SHAPE_1D], ids=["2d", "1d"])
def test_squeeze_excite_matches_reference(shape):
    layer = new_layer(SqueezeExcite, {"reduction": 4}, shape)
    x = random_input(shape).astype("float64")
    gate = se_gate(layer, x)
    y = to_numpy(layer(x.astype("float32")))
    np.testing.assert_allclose(
        y, x * expand_channel_gate(gate, x.ndim), atol=ATOL
    )
    assert_close(layer.compute_attention(x.astype("float32"))["channel"], gate)
    np.testing.assert_allclose(per_channel_scale(x, y), gate, atol=1e-4)


def test_squeeze_excite_widths_and_params():
    layer = SqueezeExcite(reduction=4)
    layer.build((None, 6, 6, 32))
    # Two dense layers with biases: 32*8 + 8 + 8*32 + 32.
    assert layer.hidden_channels == 8
    assert layer.count_params() == 32 * 8 + 8 + 8 * 32 + 32


# -------------------------------------------------------------------- ECA


@pytest.mark.parametrize(
    "channels, k",
    [(64, 3), (128, 5), (256, 5), (512, 5), (1024, 5), (2048, 7)],
)
def test_eca_adaptive_kernel_table(channels, k):
    assert adaptive_kernel_size(channels) == k
    layer = ECA()
    layer.build((None, 2, 2, channels))
    assert layer.kernel_size_ == k
    assert layer.count_params() == k


@pytest.mark.parametrize("kernel_size", [None, 5])
def test_eca_matches_reference(kernel_size):
    layer = new_layer(ECA, {"kernel_size": kernel_size}, SHAPE)
    assert layer.count_params() == layer.kernel_size_
    assert layer.kernel_size_ == (kernel_size or adaptive_kernel_size(32))
    x = random_input(SHAPE).astype("float64")
    gate = eca_gate(layer, x)
    y = to_numpy(layer(x.astype("float32")))
    np.testing.assert_allclose(y, x * expand_channel_gate(gate, 4), atol=ATOL)
    assert_close(layer.compute_attention(x.astype("float32"))["channel"], gate)
    np.testing.assert_allclose(per_channel_scale(x, y), gate, atol=1e-4)


# ------------------------------------------------------- ChannelAttention


@pytest.mark.parametrize(
    "pool_types", [("avg", "max"), ("avg", "max", "lp", "lse"), ("avg",)]
)
def test_channel_attention_matches_reference(pool_types):
    kwargs = {"reduction": 4, "pool_types": pool_types}
    layer = new_layer(ChannelAttention, kwargs, SHAPE)
    x = random_input(SHAPE).astype("float64")
    gate = channel_gate(layer, x)
    y = to_numpy(layer(x.astype("float32")))
    np.testing.assert_allclose(y, x * expand_channel_gate(gate, 4), atol=ATOL)
    assert_close(layer.compute_attention(x.astype("float32"))["channel"], gate)


def test_channel_attention_with_avg_pool_only_is_squeeze_excite():
    se = new_layer(SqueezeExcite, {"reduction": 4}, SHAPE)
    ca = ChannelAttention(reduction=4, pool_types="avg")
    ca.build(SHAPE)
    ca.set_weights(se.get_weights())
    x = random_input(SHAPE)
    np.testing.assert_allclose(to_numpy(ca(x)), to_numpy(se(x)), atol=1e-6)


# ------------------------------------------------------- SpatialAttention


@pytest.mark.parametrize("shape", [SHAPE, SHAPE_1D], ids=["2d", "1d"])
@pytest.mark.parametrize("kernel_size", [3, 7])
def test_spatial_attention_matches_reference(shape, kernel_size):
    layer = new_layer(SpatialAttention, {"kernel_size": kernel_size}, shape)
    assert layer.count_params() == kernel_size ** (len(shape) - 2) * 2 + 4
    x = random_input(shape).astype("float64")
    mask = spatial_gate(layer, x)
    y = to_numpy(layer(x.astype("float32")))
    np.testing.assert_allclose(y, x * mask[..., None], atol=ATOL)
    assert_close(layer.compute_attention(x.astype("float32"))["spatial"], mask)


def test_spatial_attention_zero_init_batch_norm_gives_half():
    layer = SpatialAttention(zero_init_batch_norm=True)
    x = random_input(SHAPE)
    mask = to_numpy(layer.compute_attention(x)["spatial"])
    np.testing.assert_allclose(mask, 0.5, atol=1e-6)


# ------------------------------------------------------------------- CBAM


def test_cbam_scale_is_channel_times_spatial_gate():
    layer = new_layer(CBAM, {"reduction": 4}, SHAPE)
    x = random_input(SHAPE).astype("float64")
    channel = channel_gate(layer.channel_gate, x)
    refined = x * expand_channel_gate(channel, 4)
    spatial = spatial_gate(layer.spatial_gate, refined)
    scale = channel[:, None, None, :] * spatial[..., None]
    y = to_numpy(layer(x.astype("float32")))
    np.testing.assert_allclose(y, x * scale, atol=ATOL)
    mask = np.abs(x) > 1e-2
    np.testing.assert_allclose((y / x)[mask], scale[mask], atol=1e-4)
    maps = layer.compute_attention(x.astype("float32"))
    assert_close(maps["channel"], channel)
    assert_close(maps["spatial"], spatial)


# -------------------------------------------------------------------- BAM


@pytest.mark.parametrize("fusion", ["sum", "product"])
def test_bam_output_between_x_and_2x(fusion):
    layer = new_layer(BAM, {"reduction": 4, "fusion": fusion}, SHAPE)
    x = np.abs(random_input(SHAPE, seed=3))
    y = to_numpy(layer(x))
    assert np.all(y >= x - 1e-6)
    assert np.all(y <= 2 * x + 1e-6)
    # Not a trivial gate: the factor y / x varies inside (1, 2).
    factor = y[x > 1e-2] / x[x > 1e-2]
    assert factor.std() > 1e-3


@pytest.mark.parametrize("fusion", ["sum", "product"])
def test_bam_matches_reference(fusion):
    kwargs = {"reduction": 4, "fusion": fusion}
    layer = new_layer(BAM, kwargs, SHAPE)
    x = random_input(SHAPE).astype("float64")
    mc, ms = bam_branches(layer, x)
    mc = mc[:, None, None, :]
    # Paper: F' = F + F * sigmoid(Mc + Ms); official code: Mc * Ms.
    combined = mc + ms if fusion == "sum" else mc * ms
    expected = x * (1 + sigmoid(combined))
    y = to_numpy(layer(x.astype("float32")))
    np.testing.assert_allclose(y, expected, atol=ATOL)
    maps = layer.compute_attention(x.astype("float32"))
    assert_close(maps["channel"], sigmoid(mc[:, 0, 0, :]))
    assert_close(maps["spatial"], sigmoid(ms[..., 0]))
