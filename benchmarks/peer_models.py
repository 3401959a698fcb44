"""The peers' models that `benchmarks.peers` times against ours: timm's
ResNet-50 (native PyTorch), keras.applications' ResNet-50 and keras-hub's
ResNetBackbone (built from its config, no download).

`import_timm` is the one workaround here: importing timm imports
torchvision, whose compiled operators (built against CUDA torch on PyPI)
fail to register their fake kernels under a CPU build of torch
(`RuntimeError: operator torchvision::nms does not exist`). timm's models
need none of them, so `torch.library.register_fake` is made a no-op for
the duration of the import.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def _no_fake_kernels():
    import torch

    original = torch.library.register_fake

    def register_fake(op, func=None, /, *args, **kwargs):
        return func if func is not None else (lambda f: f)

    torch.library.register_fake = register_fake
    try:
        yield
    finally:
        torch.library.register_fake = original


def import_timm():
    """`timm`, imported with torchvision's fake-kernel registration off
    (see the module docstring)."""
    with _no_fake_kernels():
        import timm
    return timm


class TorchModel:
    """A native torch model behind the `predict_on_batch` / `train_on_batch`
    calls that `benchmarks.timing.time_models` makes: NCHW float inputs,
    inference under `torch.inference_mode`, one SGD step with
    cross-entropy for training."""

    def __init__(self, module, train: bool = False):
        import torch

        self.module = module.train(train)
        self.optimizer = (
            torch.optim.SGD(module.parameters(), lr=0.01) if train else None
        )

    def predict_on_batch(self, x):
        import torch

        with torch.inference_mode():
            return self.module(x)

    def train_on_batch(self, x, y):
        import torch

        self.optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(self.module(x), y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def timm_resnet50(num_classes: int, train: bool = False) -> TorchModel:
    timm = import_timm()
    module = timm.create_model(
        "resnet50", pretrained=False, num_classes=num_classes
    )
    return TorchModel(module, train)


def keras_applications_resnet50(input_shape, num_classes: int):
    import keras

    return keras.applications.ResNet50(
        weights=None, input_shape=input_shape, classes=num_classes
    )


def keras_hub_resnet50(input_shape, num_classes: int):
    """keras-hub's ResNetBackbone with ResNet-50's config (v1.5 bottleneck
    blocks 3-4-6-3), plus global average pooling and a dense head."""
    import keras
    import keras_hub

    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_filters=[64, 128, 256, 512],
        stackwise_num_blocks=[3, 4, 6, 3],
        stackwise_num_strides=[1, 2, 2, 2],
        block_type="bottleneck_block",
        use_pre_activation=False,
        image_shape=input_shape,
    )
    pooled = keras.layers.GlobalAveragePooling2D()(backbone.output)
    logits = keras.layers.Dense(num_classes)(pooled)
    return keras.Model(backbone.input, logits, name="keras_hub_resnet50")
