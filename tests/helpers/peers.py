"""The peers' own models (timm, torchvision) for the converter tests.

torchvision's PyPI wheel is CUDA-linked: its compiled operators do not
register with CPU torch, and `import torchvision` fails in
`torchvision/_meta_registrations.py`, which registers fake (meta) kernels
for those operators (`torchvision::nms`, ...). Those kernels only serve
`torch.compile` of the detection operators, which no test uses, so
`import_timm` imports torchvision with that one module replaced by an empty
one; every model of timm and `torchvision.models` then builds and runs.
"""

from __future__ import annotations

import functools
import sys
import types

import numpy as np

_META = "torchvision._meta_registrations"


@functools.cache
def import_timm():
    """`timm`, with torchvision imported as the module docstring says."""
    import torch  # noqa: F401 (torch first, as torchvision expects)

    if "torchvision" not in sys.modules:
        sys.modules.setdefault(_META, types.ModuleType(_META))
        import torchvision  # noqa: F401
    import timm

    return timm


def randomize(model, seed: int = 0, image_size: int = 64):
    """`model` in eval mode with every parameter and BN statistic random:
    weights and BN scale/shift drawn from a seeded generator, then running
    statistics estimated on random images (zero-init residual gammas would
    otherwise hide whole branches)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(".bias") or param.ndim == 1:
                param.copy_(0.2 * torch.randn(param.shape, generator=generator))
                if name.endswith(".weight"):  # a BN scale
                    param.add_(1.0)
            else:
                fan_in = param[0].numel()
                param.copy_(
                    torch.randn(param.shape, generator=generator)
                    * (2.0 / fan_in) ** 0.5
                )
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.reset_running_stats()
                module.momentum = None  # a cumulative average
        model.train()
        for _ in range(2):
            model(
                torch.randn(4, 3, image_size, image_size, generator=generator)
            )
    return model.eval()


def peer_model(
    name: str,
    num_classes: int = 7,
    seed: int = 0,
    image_size: int = 64,
    **kwargs,
):
    """timm's `name` (e.g. "resnet18", "legacy_seresnet50") or torchvision's
    (`"torchvision.resnet18"`) at random init, randomised, in eval mode."""
    timm = import_timm()
    if name.startswith("torchvision."):
        import torchvision.models

        build = getattr(torchvision.models, name.split(".", 1)[1])
        model = build(num_classes=num_classes, **kwargs)
    else:
        model = timm.create_model(name, num_classes=num_classes, **kwargs)
    return randomize(model, seed, image_size)


def state_numpy(model) -> dict:
    return {
        key: value.detach().numpy().copy()
        for key, value in model.state_dict().items()
    }


def save_safetensors(model, path) -> None:
    from safetensors.numpy import save_file

    save_file(
        {k: np.ascontiguousarray(v) for k, v in state_numpy(model).items()},
        str(path),
    )


def save_torch(obj, path) -> None:
    import torch

    torch.save(obj, str(path))


def peer_logits(model, images: np.ndarray) -> np.ndarray:
    """`model`'s logits of channels-last `images`."""
    import torch

    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        return model(x).numpy()
