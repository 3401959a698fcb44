"""The official CBAM and BAM ResNets (Jongchan/attention-module) and the
official ECA-ResNets (BangguWu/ECANet) to the zoo's ResNets.

Both repositories publish `.pth.tar` training checkpoints around a
`DataParallel` state dict (`checkpoint.read_state` unwraps `state_dict`
and strips `module.`). The ResNet itself is torchvision's naming
(`conv1`, `bn1`, `layer{1-4}.{i}.conv{1,2,3}` / `.bn{1,2,3}`,
`.downsample.{0,1}`, `fc`), with v1.5 strides. The attention keys:

    CBAM, in every block: `layer*.*.cbam.ChannelGate.mlp.{1,3}` (Linear
    with bias; the MLP of the avg- and max-pooled descriptors) and
    `.cbam.SpatialGate.spatial.conv` (7x7, 2 -> 1, no bias, over the
    channel-wise [max, mean]) with `.cbam.SpatialGate.spatial.bn`
    (eps 1e-5, momentum 0.01).
    BAM, after stages 1-3: `bam{1-3}.channel_att.gate_c.gate_c_fc_0`,
    `.gate_c_bn_1`, `.gate_c_fc_final`, and
    `bam{1-3}.spatial_att.gate_s.gate_s_conv_reduce0`, `.gate_s_bn_reduce0`,
    `.gate_s_conv_di_{0,1}` (3x3, dilation 4), `.gate_s_bn_di_{0,1}`,
    `.gate_s_conv_final` (all convs with bias; reduction 16). The official
    forward multiplies the branches: `F * (1 + sigmoid(Mc * Ms))`, our
    BAM's `fusion="product"`.
    ECA, in every block: `layer*.*.eca.conv.weight` of shape (1, 1, k), a
    1-D conv without bias over the average-pooled channels; k is set per
    stage (R18 "3577", R34 "3357", R50 "3557", R101 "3357") and read from
    the checkpoint here, as our `eca_kernel_sizes`.

The official models end in a fixed 7x7 average pool (224x224 inputs);
ours pool globally, which is the same there and also works at other sizes.
"""

from __future__ import annotations

from keras_attention.convert import timm_resnet as tv
from keras_attention.convert.errors import ConversionError

FAMILY = "official"

# The key that marks each attention of the official code.
_MARKERS = {
    "cbam": "layer1.0.cbam.ChannelGate.mlp.1.weight",
    "bam": "bam1.channel_att.gate_c.gate_c_fc_0.weight",
    "eca": "layer1.0.eca.conv.weight",
}
_BAM_STAGES = 3


def _attention(state) -> str | None:
    found = [name for name, key in _MARKERS.items() if key in state]
    return found[0] if len(found) == 1 else None


def detect(state) -> str | None:
    """`cbam_resnet*`, `bam_resnet*` or `eca_resnet*` (18/34/50/101) for an
    official checkpoint's state dict, else None."""
    if tv.resnet_layout(state) != {"legacy": False, "stem": "", "head": "fc"}:
        return None
    attention = _attention(state)
    if attention is None:
        return None
    bottleneck = "layer1.0.conv3.weight" in state
    depth = tv.DEPTHS.get((bottleneck, tv.blocks_per_stage(state)))
    if depth is None:
        return None
    return f"{attention}_resnet{depth}"


def _kernel_sizes(state) -> str:
    """ECA's kernel size per stage, e.g. "3557", from the checkpoint; every
    block of a stage must have the same."""
    sizes = []
    for stage, blocks in enumerate(tv.blocks_per_stage(state), start=1):
        found = set()
        for b in range(blocks):
            key = f"layer{stage}.{b}.eca.conv.weight"
            weight = state.get(key)
            if weight is None or weight.ndim != 3 or weight.shape[:2] != (1, 1):
                raise ConversionError(
                    f"Expected an ECA kernel {key} of shape (1, 1, k). "
                    f"Received: {None if weight is None else weight.shape}",
                    missing=[key] if weight is None else [],
                )
            found.add(int(weight.shape[-1]))
        if len(found) != 1:
            raise ConversionError(
                f"Expected one ECA kernel size in stage {stage} (layer"
                f"{stage}). Received: {sorted(found)}"
            )
        sizes.append(str(found.pop()))
    return "".join(sizes)


def architecture_options(state) -> dict:
    """The builder arguments an official checkpoint needs."""
    options = {"padding": "torch"}
    attention = _attention(state)
    if attention == "bam":
        options["attention_config"] = {"fusion": "product"}
    elif attention == "eca":
        options["eca_kernel_sizes"] = _kernel_sizes(state)
    return options


def _linear(layer, prefix) -> dict:
    return {
        f"{prefix}.weight": (layer.kernel, tv.dense_kernel),
        f"{prefix}.bias": (layer.bias, tv.unchanged),
    }


def _conv(layer, prefix, bias=True) -> dict:
    out = {f"{prefix}.weight": (layer.kernel, tv.conv_kernel)}
    if bias:
        out[f"{prefix}.bias"] = (layer.bias, tv.unchanged)
    return out


def _block_attention(backbone, ours, theirs, layout) -> dict:
    """CBAM's or ECA's tensors in block `theirs` (e.g. `layer1.0`)."""
    del layout
    if backbone.attention == "bam":
        return {}
    layer = backbone.get_layer(f"{ours}_attention")
    if backbone.attention == "eca":
        return {
            f"{theirs}.eca.conv.weight": (layer.conv.kernel, tv.conv1d_kernel)
        }
    gate = f"{theirs}.cbam.ChannelGate.mlp"
    spatial = f"{theirs}.cbam.SpatialGate.spatial"
    return {
        **_linear(layer.channel_gate.reduce, f"{gate}.1"),
        **_linear(layer.channel_gate.expand, f"{gate}.3"),
        **_conv(layer.spatial_gate.conv, f"{spatial}.conv", bias=False),
        **tv.batch_norm_vars(layer.spatial_gate.batch_norm, f"{spatial}.bn"),
    }


def _bam(layer, prefix) -> dict:
    gate_c = f"{prefix}.channel_att.gate_c"
    gate_s = f"{prefix}.spatial_att.gate_s"
    out = {
        **_linear(layer.channel_reduce, f"{gate_c}.gate_c_fc_0"),
        **tv.batch_norm_vars(layer.channel_batch_norm, f"{gate_c}.gate_c_bn_1"),
        **_linear(layer.channel_expand, f"{gate_c}.gate_c_fc_final"),
        **_conv(layer.spatial_reduce, f"{gate_s}.gate_s_conv_reduce0"),
        **tv.batch_norm_vars(
            layer.spatial_reduce_batch_norm, f"{gate_s}.gate_s_bn_reduce0"
        ),
        **_conv(layer.spatial_project, f"{gate_s}.gate_s_conv_final"),
    }
    for i, (conv, norm) in enumerate(
        zip(layer.dilated_convs, layer.dilated_batch_norms, strict=True)
    ):
        out.update(_conv(conv, f"{gate_s}.gate_s_conv_di_{i}"))
        out.update(tv.batch_norm_vars(norm, f"{gate_s}.gate_s_bn_di_{i}"))
    return out


def variable_map(model, state) -> dict:
    """`{checkpoint key: (our variable, transform)}` for `model` (a
    classifier or a backbone) built for the official checkpoint `state`."""
    out = tv.variable_map(model, state, attention_vars=_block_attention)
    backbone = getattr(model, "backbone", model)
    if backbone.attention == "bam":
        for s in range(1, _BAM_STAGES + 1):
            out.update(_bam(backbone.get_layer(f"stage{s}_bam"), f"bam{s}"))
    return out


def _same_kernel_sizes(kwargs: dict) -> dict:
    """`kwargs` with `eca_kernel_sizes` given as a sequence (e.g.
    [3, 5, 5, 7]) written as the checkpoint's string ("3557")."""
    sizes = kwargs.get("eca_kernel_sizes")
    if sizes is None or isinstance(sizes, str):
        return kwargs
    return {**kwargs, "eca_kernel_sizes": "".join(str(int(k)) for k in sizes)}


def build(state, model_name: str, **kwargs):
    """Our `model_name` with the official checkpoint's weights (see the
    module docstring). `kwargs` go to the builder: `num_classes` other
    than the checkpoint's, or `include_top=False`, leaves `fc` out; an
    `eca_kernel_sizes` or `attention_config` other than the checkpoint
    needs raises `ValueError`."""
    found = detect(state)
    if found is None:
        raise ConversionError(
            "Not an official CBAM/BAM (Jongchan/attention-module) or ECA "
            "(BangguWu/ECANet) ResNet-18/34/50/101 checkpoint: expected "
            "conv1.weight, layer1-4 blocks and one of the keys "
            f"{', '.join(_MARKERS.values())}."
        )
    if found != model_name:
        raise ConversionError(
            f"The checkpoint holds a {found}, not a {model_name}."
        )
    options = architecture_options(state)
    return tv.build_converted(
        state,
        model_name,
        options,
        _same_kernel_sizes(kwargs),
        mapping=variable_map,
    )
