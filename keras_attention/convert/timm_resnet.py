"""torchvision and timm ResNets (and timm's SE/ECA ResNets, and its
`legacy_seresnet*`, the original SENet weights) to the zoo's ResNets.

Key layouts:
    torchvision / timm `resnet*`, `seresnet*`: `conv1`, `bn1`,
    `layer{1-4}.{i}.conv{1,2,3}`, `.bn{1,2,3}`, `.downsample.{0,1}`,
    `.se.fc1/fc2` (SE, 1x1 convs with biases) or `.se.conv` (ECA), `fc`.
    timm `legacy_seresnet*`: `layer0.conv1`, `layer0.bn1`, blocks as above
    with `.se_module.fc1/fc2`, `last_linear`.

What the checkpoint needs is read from its keys and shapes: the depth
from the number of blocks per stage, bottleneck blocks from `conv3`, the
SE width rounding from `fc1`'s shape, ECA's kernel sizes from `conv`'s,
the number of classes from the classifier. The converted model always has
torch's symmetric padding; legacy checkpoints also get the SENet stem, v1
strides (R50/101) and the ReLU before SE (R18/34).
"""

from __future__ import annotations

import re

import numpy as np

from keras_attention.convert.errors import ConversionError
from keras_attention.layers._utils import reduced_width
from keras_attention.models.resnet import IMAGE_BUILDERS

FAMILY = "timm_resnet"

_BLOCK = re.compile(r"^layer([1-4])\.(\d+)\.")
# Block depths of ResNet-18/34/50/101 (bottleneck or not).
DEPTHS = {
    (False, (2, 2, 2, 2)): 18,
    (False, (3, 4, 6, 3)): 34,
    (True, (3, 4, 6, 3)): 50,
    (True, (3, 4, 23, 3)): 101,
}
_IGNORED_SUFFIX = ".num_batches_tracked"
_SE_REDUCTION = 16


def resnet_layout(state) -> dict | None:
    """The naming scheme of `state`, or None when it is not a ResNet."""
    if "layer0.conv1.weight" in state and "layer1.0.conv1.weight" in state:
        return {"legacy": True, "stem": "layer0.", "head": "last_linear"}
    if "conv1.weight" in state and "layer1.0.conv1.weight" in state:
        return {"legacy": False, "stem": "", "head": "fc"}
    return None


def blocks_per_stage(state) -> tuple[int, ...]:
    counts = [set() for _ in range(4)]
    for key in state:
        match = _BLOCK.match(key)
        if match:
            counts[int(match.group(1)) - 1].add(int(match.group(2)))
    return tuple(len(c) for c in counts)


def _attention(state, layout) -> str | None:
    se = "se_module" if layout["legacy"] else "se"
    if f"layer1.0.{se}.fc1.weight" in state:
        return "se"
    if not layout["legacy"] and "layer1.0.se.conv.weight" in state:
        return "eca"
    return None


def detect(state) -> str | None:
    """The zoo model name of a torchvision/timm ResNet state dict, or None
    when it is not one (another family, or a depth the zoo lacks)."""
    layout = resnet_layout(state)
    if layout is None:
        return None
    bottleneck = "layer1.0.conv3.weight" in state
    depth = DEPTHS.get((bottleneck, blocks_per_stage(state)))
    if depth is None:
        return None
    attention = _attention(state, layout)
    if layout["legacy"] and attention != "se":
        return None
    prefix = f"{attention}_" if attention else ""
    return f"{prefix}resnet{depth}"


def _se_options(state, se) -> dict:
    """`se_divisor` and the SE bias that the `fc1` shapes imply."""
    widths = [
        (value.shape[1], value.shape[0])
        for key, value in state.items()
        if key.endswith(f".{se}.fc1.weight")
    ]
    options = {}
    for divisor in (1, 8):
        if all(
            hidden == reduced_width(c, _SE_REDUCTION, divisor, 1)
            for c, hidden in widths
        ):
            options["se_divisor"] = None if divisor == 1 else divisor
            break
    else:
        raise ConversionError(
            "The SE widths of the checkpoint are neither C/16 nor C/16 "
            f"rounded to a multiple of 8: (C, hidden) = {sorted(set(widths))}"
        )
    if f"layer1.0.{se}.fc1.bias" not in state:
        options["attention_config"] = {"use_bias": False}
    return options


def _eca_options(state) -> dict:
    sizes = []
    for stage in range(1, 5):
        weight = state.get(f"layer{stage}.0.se.conv.weight")
        if weight is None or weight.ndim != 3:
            raise ConversionError(
                f"Expected an ECA kernel layer{stage}.0.se.conv.weight of "
                "shape (1, 1, k).",
                missing=[f"layer{stage}.0.se.conv.weight"],
            )
        sizes.append(str(weight.shape[-1]))
    return {"eca_kernel_sizes": "".join(sizes)}


def architecture_options(state) -> dict:
    """The builder arguments the checkpoint's architecture needs."""
    layout = resnet_layout(state)
    bottleneck = "layer1.0.conv3.weight" in state
    options = {"padding": "torch"}
    attention = _attention(state, layout)
    if attention == "se":
        se = "se_module" if layout["legacy"] else "se"
        options.update(_se_options(state, se))
    elif attention == "eca":
        options.update(_eca_options(state))
    if layout["legacy"]:
        options["stem_type"] = "senet"
        if bottleneck:
            options["stride_on"] = "1x1"
        else:
            options["relu_before_attention"] = True
    return options


def conv_kernel(w):
    return np.transpose(w, (2, 3, 1, 0))  # OIHW -> HWIO


def dense_kernel(w):
    return np.transpose(w.reshape(w.shape[0], -1))  # (out, in[,1,1])


def conv1d_kernel(w):
    return np.transpose(w, (2, 1, 0))  # (out, in, k) -> (k, in, out)


def unchanged(w):
    return w


def batch_norm_vars(layer, prefix) -> dict:
    return {
        f"{prefix}.weight": (layer.gamma, unchanged),
        f"{prefix}.bias": (layer.beta, unchanged),
        f"{prefix}.running_mean": (layer.moving_mean, unchanged),
        f"{prefix}.running_var": (layer.moving_variance, unchanged),
    }


def _attention_vars(layer, prefix, attention) -> dict:
    if attention == "eca":
        return {f"{prefix}.conv.weight": (layer.conv.kernel, conv1d_kernel)}
    out = {
        f"{prefix}.fc1.weight": (layer.reduce.kernel, dense_kernel),
        f"{prefix}.fc2.weight": (layer.expand.kernel, dense_kernel),
    }
    if layer.use_bias:
        out[f"{prefix}.fc1.bias"] = (layer.reduce.bias, unchanged)
        out[f"{prefix}.fc2.bias"] = (layer.expand.bias, unchanged)
    return out


def _timm_attention(backbone, ours, theirs, layout) -> dict:
    attention = backbone.attention
    if attention is None:
        return {}
    se = "se_module" if layout["legacy"] else "se"
    return _attention_vars(
        backbone.get_layer(f"{ours}_attention"), f"{theirs}.{se}", attention
    )


def _block_vars(backbone, ours, theirs) -> dict:
    """The convolutions and batch norms of block `ours` (e.g.
    `stage1_block1`), named as torchvision's block `theirs` (`layer1.0`)."""
    out = {}
    for k in (1, 2, 3):
        try:
            conv = backbone.get_layer(f"{ours}_conv{k}")
        except ValueError:
            continue
        out[f"{theirs}.conv{k}.weight"] = (conv.kernel, conv_kernel)
        out.update(
            batch_norm_vars(
                backbone.get_layer(f"{ours}_bn{k}"), f"{theirs}.bn{k}"
            )
        )
    try:
        conv = backbone.get_layer(f"{ours}_shortcut_conv")
    except ValueError:
        conv = None
    if conv is not None:
        out[f"{theirs}.downsample.0.weight"] = (conv.kernel, conv_kernel)
        out.update(
            batch_norm_vars(
                backbone.get_layer(f"{ours}_shortcut_bn"),
                f"{theirs}.downsample.1",
            )
        )
    return out


def variable_map(model, state, attention_vars=_timm_attention) -> dict:
    """`{checkpoint key: (our variable, transform)}` for `model` (a
    classifier or a backbone) built for the checkpoint `state`.

    `attention_vars(backbone, ours, theirs, layout)` maps the attention of
    block `ours` (e.g. `stage1_block1`) to the keys under `theirs`
    (`layer1.0`); the default is timm's `se` / `se_module` naming."""
    layout = resnet_layout(state)
    backbone = getattr(model, "backbone", model)
    stem = layout["stem"]
    out = {
        f"{stem}conv1.weight": (
            backbone.get_layer("stem_conv").kernel,
            conv_kernel,
        )
    }
    out.update(batch_norm_vars(backbone.get_layer("stem_bn"), f"{stem}bn1"))
    for s, blocks in enumerate(backbone.stackwise_num_blocks):
        for b in range(blocks):
            ours, theirs = f"stage{s + 1}_block{b + 1}", f"layer{s + 1}.{b}"
            out.update(_block_vars(backbone, ours, theirs))
            out.update(attention_vars(backbone, ours, theirs, layout))
    head = getattr(model, "output_dense", None)
    if head is not None:
        out[f"{layout['head']}.weight"] = (head.kernel, dense_kernel)
        out[f"{layout['head']}.bias"] = (head.bias, unchanged)
    return out


def assign(model, state, *, skip_prefixes=(), mapping=variable_map) -> None:
    """Assigns every tensor of `state` to its variable of `model`, by name.

    Raises `ConversionError` listing the missing, unexpected and
    mis-shaped keys; nothing is assigned then. Keys starting with one of
    `skip_prefixes` (a head left out) are neither needed nor assigned.
    `mapping(model, state)` gives the targets (see `variable_map`)."""

    def skipped(key):
        return any(key.startswith(prefix) for prefix in skip_prefixes)

    targets = {
        key: target
        for key, target in mapping(model, state).items()
        if not skipped(key)
    }
    given = {
        key
        for key in state
        if not key.endswith(_IGNORED_SUFFIX) and not skipped(key)
    }
    missing = sorted(set(targets) - given)
    unexpected = sorted(given - set(targets))
    values, mismatched = {}, []
    for key in sorted(set(targets) & given):
        variable, transform = targets[key]
        value = transform(np.asarray(state[key]))
        if tuple(value.shape) != tuple(variable.shape):
            mismatched.append((key, state[key].shape, variable.shape))
        values[key] = value
    if missing or unexpected or mismatched:
        raise ConversionError(
            f"The checkpoint does not fit {model.name!r}",
            missing=missing,
            unexpected=unexpected,
            mismatched=mismatched,
        )
    for key, value in values.items():
        variable = targets[key][0]
        variable.assign(value.astype(variable.dtype))


def checked_options(options: dict, kwargs: dict) -> dict:
    """`kwargs` with the checkpoint's `options`; a kwarg that contradicts
    one raises `ValueError` naming both values."""
    for key, value in options.items():
        if key in kwargs and kwargs[key] != value:
            raise ValueError(
                f"The checkpoint needs {key}={value!r}. "
                f"Received: {key}={kwargs[key]!r}"
            )
    return {**kwargs, **options}


def build(state, model_name: str, **kwargs):
    """Our `model_name` with the checkpoint's weights (see the module
    docstring). `kwargs` go to the builder: `num_classes` other than the
    checkpoint's, or `include_top=False`, leaves its classifier out."""
    found = detect(state)
    if found is None:
        raise ConversionError(
            "Not a torchvision/timm ResNet-18/34/50/101 checkpoint: expected "
            "keys conv1.weight (or layer0.conv1.weight) and layer1-4 blocks."
        )
    if found != model_name:
        raise ConversionError(
            f"The checkpoint holds a {found}, not a {model_name}."
        )
    options = architecture_options(state)
    return build_converted(state, model_name, options, kwargs)


def build_converted(
    state, model_name: str, options: dict, kwargs: dict, mapping=variable_map
):
    """`IMAGE_BUILDERS[model_name]` with the checkpoint's `options` and the
    caller's `kwargs`, its tensors assigned by `mapping`. The classifier
    (`fc` or `last_linear`) is left out with `include_top=False` or another
    `num_classes`."""
    layout = resnet_layout(state)
    options = checked_options(options, kwargs)
    head = state.get(f"{layout['head']}.weight")
    skip = ()
    if head is None or not options.get("include_top", True):
        skip = (f"{layout['head']}.",)
    options.setdefault(
        "num_classes", head.shape[0] if head is not None else 1000
    )
    if head is not None and options["num_classes"] != head.shape[0]:
        skip = (f"{layout['head']}.",)
    model = IMAGE_BUILDERS[model_name](**options)
    assign(model, state, skip_prefixes=skip, mapping=mapping)
    return model
