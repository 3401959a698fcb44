"""Checkpoints in the layout of the official CBAM/BAM code
(Jongchan/attention-module, MODELS/model_resnet.py, cbam.py, bam.py) and
of the official ECA-Net code (BangguWu/ECANet, models/eca_resnet.py,
eca_module.py), and numpy forms of their attention modules.

Neither repository is packaged, so their models cannot be built here:
the state dicts are written from the published key names and shapes
(random tensors), and the module formulas below are written from
../shared/REFERENCE.md and the official forward passes, in numpy.
"""

from __future__ import annotations

import numpy as np

STAGE_PLANES = (64, 128, 256, 512)
BLOCKS = {
    18: (False, (2, 2, 2, 2)),
    34: (False, (3, 4, 6, 3)),
    50: (True, (3, 4, 6, 3)),
    101: (True, (3, 4, 23, 3)),
}
REDUCTION = 16
BAM_DILATION = 4


class _Writer:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.state = {}

    def weight(self, key, shape, bias=False):
        fan_in = int(np.prod(shape[1:])) or 1
        self.state[f"{key}.weight"] = (
            self.rng.standard_normal(shape) * (1.0 / fan_in) ** 0.5
        ).astype("float32")
        if bias:
            self.state[f"{key}.bias"] = (
                0.2 * self.rng.standard_normal(shape[0])
            ).astype("float32")

    def bn(self, key, n):
        r = self.rng
        self.state[f"{key}.weight"] = (1 + 0.2 * r.standard_normal(n)).astype(
            "float32"
        )
        self.state[f"{key}.bias"] = (0.2 * r.standard_normal(n)).astype(
            "float32"
        )
        self.state[f"{key}.running_mean"] = (0.1 * r.standard_normal(n)).astype(
            "float32"
        )
        self.state[f"{key}.running_var"] = r.uniform(0.5, 1.5, n).astype(
            "float32"
        )
        self.state[f"{key}.num_batches_tracked"] = np.array(90, "int64")


def _cbam(w, key, c):
    hidden = c // REDUCTION
    w.weight(f"{key}.ChannelGate.mlp.1", (hidden, c), bias=True)
    w.weight(f"{key}.ChannelGate.mlp.3", (c, hidden), bias=True)
    w.weight(f"{key}.SpatialGate.spatial.conv", (1, 2, 7, 7))
    w.bn(f"{key}.SpatialGate.spatial.bn", 1)


def _bam(w, key, c):
    hidden = c // REDUCTION
    gate_c, gate_s = f"{key}.channel_att.gate_c", f"{key}.spatial_att.gate_s"
    w.weight(f"{gate_c}.gate_c_fc_0", (hidden, c), bias=True)
    w.bn(f"{gate_c}.gate_c_bn_1", hidden)
    w.weight(f"{gate_c}.gate_c_fc_final", (c, hidden), bias=True)
    w.weight(f"{gate_s}.gate_s_conv_reduce0", (hidden, c, 1, 1), bias=True)
    w.bn(f"{gate_s}.gate_s_bn_reduce0", hidden)
    for i in range(2):
        w.weight(f"{gate_s}.gate_s_conv_di_{i}", (hidden, hidden, 3, 3), True)
        w.bn(f"{gate_s}.gate_s_bn_di_{i}", hidden)
    w.weight(f"{gate_s}.gate_s_conv_final", (1, hidden, 1, 1), bias=True)


def official_state(
    attention: str, depth: int = 18, num_classes: int = 5, kernel_sizes=None
) -> dict:
    """The state dict of the official `attention` ("cbam", "bam", "eca")
    ResNet-`depth`, random tensors under the official names and shapes.
    `kernel_sizes` (ECA): one per stage, e.g. "3577"."""
    w = _Writer(depth)
    bottleneck, blocks = BLOCKS[depth]
    expansion = 4 if bottleneck else 1
    w.weight("conv1", (64, 3, 7, 7))
    w.bn("bn1", 64)
    inplanes = 64
    for s, (planes, count) in enumerate(
        zip(STAGE_PLANES, blocks, strict=True), start=1
    ):
        out = planes * expansion
        for b in range(count):
            key = f"layer{s}.{b}"
            if bottleneck:
                shapes = [
                    (planes, inplanes, 1, 1),
                    (planes, planes, 3, 3),
                    (out, planes, 1, 1),
                ]
            else:
                shapes = [(planes, inplanes, 3, 3), (planes, planes, 3, 3)]
            for k, shape in enumerate(shapes, start=1):
                w.weight(f"{key}.conv{k}", shape)
                w.bn(f"{key}.bn{k}", shape[0])
            if b == 0 and (s > 1 or inplanes != out):
                w.weight(f"{key}.downsample.0", (out, inplanes, 1, 1))
                w.bn(f"{key}.downsample.1", out)
            if attention == "cbam":
                _cbam(w, f"{key}.cbam", out)
            elif attention == "eca":
                w.weight(f"{key}.eca.conv", (1, 1, int(kernel_sizes[s - 1])))
            inplanes = out
        if attention == "bam" and s < 4:
            _bam(w, f"bam{s}", out)
    w.weight("fc", (num_classes, inplanes), bias=True)
    return w.state


def save_official(state: dict, path) -> str:
    """`state` as the official training checkpoints are saved: a
    `.pth.tar` dict whose `state_dict` has `DataParallel`'s `module.`."""
    import torch

    wrapped = {f"module.{k}": torch.from_numpy(v) for k, v in state.items()}
    torch.save({"epoch": 90, "best_prec1": 77.0, "state_dict": wrapped}, path)
    return str(path)


# --- The official modules in numpy (NHWC arrays, tensors by key). ---


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _bn(x, t, key, axis=-1):
    shape = [1] * x.ndim
    shape[axis] = -1
    g, b, m, v = (
        t[f"{key}.{n}"].reshape(shape)
        for n in ("weight", "bias", "running_mean", "running_var")
    )
    return (x - m) / np.sqrt(v + 1e-5) * g + b


def conv2d(x, weight, bias=None, dilation=1):
    """Stride-1 convolution of NHWC `x` with an OIHW `weight`, zero padding
    `dilation * (k - 1) / 2` on every side (the output has x's size)."""
    k = weight.shape[-1]
    pad = dilation * (k - 1) // 2
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    h, w = x.shape[1:3]
    out = np.zeros((*x.shape[:3], weight.shape[0]), "float64")
    for i in range(k):
        for j in range(k):
            patch = xp[:, i * dilation : i * dilation + h]
            patch = patch[:, :, j * dilation : j * dilation + w]
            out += patch @ weight[:, :, i, j].T
    return out if bias is None else out + bias


def cbam(x, t, key, order=("max", "mean")):
    """The official CBAM: channel gate (shared MLP with biases over the
    avg- and max-pooled descriptors), then the spatial gate over the
    channel-wise `order` maps (7x7 conv without bias, BN eps 1e-5)."""

    def mlp(v):
        gate = f"{key}.ChannelGate.mlp"
        hidden = np.maximum(
            v @ t[f"{gate}.1.weight"].T + t[f"{gate}.1.bias"], 0
        )
        return hidden @ t[f"{gate}.3.weight"].T + t[f"{gate}.3.bias"]

    scale = _sigmoid(mlp(x.mean((1, 2))) + mlp(x.max((1, 2))))
    x = x * scale[:, None, None, :]
    maps = {"max": x.max(-1), "mean": x.mean(-1)}
    pooled = np.stack([maps[name] for name in order], -1)
    spatial = f"{key}.SpatialGate.spatial"
    logits = conv2d(pooled, t[f"{spatial}.conv.weight"])
    return x * _sigmoid(_bn(logits, t, f"{spatial}.bn"))


def bam(x, t, key, fusion="product"):
    """The official BAM: `x * (1 + sigmoid(Mc * Ms))` ("sum": the paper's
    `Mc + Ms`)."""
    gate_c, gate_s = f"{key}.channel_att.gate_c", f"{key}.spatial_att.gate_s"
    mc = x.mean((1, 2)) @ t[f"{gate_c}.gate_c_fc_0.weight"].T
    mc = mc + t[f"{gate_c}.gate_c_fc_0.bias"]
    mc = np.maximum(_bn(mc, t, f"{gate_c}.gate_c_bn_1"), 0)
    mc = mc @ t[f"{gate_c}.gate_c_fc_final.weight"].T
    mc = (mc + t[f"{gate_c}.gate_c_fc_final.bias"])[:, None, None, :]

    def conv(y, name, dilation=1):
        return conv2d(
            y,
            t[f"{gate_s}.{name}.weight"],
            t[f"{gate_s}.{name}.bias"],
            dilation,
        )

    ms = conv(x, "gate_s_conv_reduce0")
    ms = np.maximum(_bn(ms, t, f"{gate_s}.gate_s_bn_reduce0"), 0)
    for i in range(2):
        ms = conv(ms, f"gate_s_conv_di_{i}", BAM_DILATION)
        ms = np.maximum(_bn(ms, t, f"{gate_s}.gate_s_bn_di_{i}"), 0)
    ms = conv(ms, "gate_s_conv_final")
    combined = mc * ms if fusion == "product" else mc + ms
    return x * (1 + _sigmoid(combined))


def eca(x, t, key, flip=False):
    """The official ECA: a 1-D cross-correlation (no bias, zero padding
    (k - 1) / 2) over the average-pooled channels, then sigmoid. `flip`
    reverses the kernel (a convolution instead)."""
    kernel = t[f"{key}.eca.conv.weight"][0, 0]
    kernel = kernel[::-1] if flip else kernel
    k = kernel.shape[0]
    pooled = np.pad(x.mean((1, 2)), ((0, 0), ((k - 1) // 2, (k - 1) // 2)))
    c = x.shape[-1]
    logits = sum(kernel[j] * pooled[:, j : j + c] for j in range(k))
    return x * _sigmoid(logits)[:, None, None, :]
