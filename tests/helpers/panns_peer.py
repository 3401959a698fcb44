"""The PANNs peer models for the converter tests: PANNs' own code, as
packaged on PyPI, built at random init.

- CNN14 at 32 kHz: `panns_inference.models.Cnn14` (panns-inference 0.1.1,
  "selected models from" PANNs' audioset_tagging_cnn).
- CNN6, CNN10, the 16 kHz CNN14 (`Cnn14_16k`) and CNN6 with the 8 kHz
  front end of `Cnn14_8k`: panns-inference ships only CNN14, so these
  come from `frechet_audio_distance.models.pann`
  (frechet-audio-distance 0.3.4), which packages PANNs' `models.py`.

Both packages' `__init__` do more than define models (panns-inference
downloads AudioSet's labels at import; frechet-audio-distance imports
CLAP, transformers and encodec), so `peer_module` imports the one module
without running its package's `__init__`. Both use torchlibrosa for the
log-mel front end.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

import numpy as np

# PANNs' front ends: sample rate -> (window, hop, fmin, fmax); 64 mels.
FRONT_ENDS = {
    32000: (1024, 320, 50, 14000),
    16000: (512, 160, 50, 8000),
    8000: (256, 80, 50, 4000),  # Cnn14_8k's settings.
}
# Our model name -> (package, module, class, sample rate).
PEERS = {
    "cnn6": ("frechet_audio_distance", "models.pann", "Cnn6", 32000),
    "cnn10": ("frechet_audio_distance", "models.pann", "Cnn10", 32000),
    "cnn14": ("panns_inference", "models", "Cnn14", 32000),
    "cnn14_16k": ("frechet_audio_distance", "models.pann", "Cnn14_16k", 16000),
    # PANNs' Cnn6 class with the 8 kHz front end (as Cnn14_8k's).
    "cnn6_8k": ("frechet_audio_distance", "models.pann", "Cnn6", 8000),
}


def peer_module(package: str, module: str):
    """`package.module`, imported without executing `package/__init__.py`
    (an empty package module stands in for it)."""
    name = f"{package}.{module}"
    if name in sys.modules:
        return sys.modules[name]
    if package not in sys.modules:
        spec = importlib.util.find_spec(package)
        if spec is None:
            raise ImportError(
                f"The PANNs peer tests need the package {package!r} "
                "(see constraints.txt)."
            )
        stub = types.ModuleType(package)
        stub.__path__ = list(spec.submodule_search_locations)
        sys.modules[package] = stub
    parts = module.split(".")
    for i in range(1, len(parts)):
        sub = f"{package}.{'.'.join(parts[:i])}"
        if sub not in sys.modules:
            spec = importlib.util.find_spec(sub)
            stub = types.ModuleType(sub)
            stub.__path__ = list(spec.submodule_search_locations)
            sys.modules[sub] = stub
    return importlib.import_module(name)


def _randomise(model, torch, generator, sample_rate):
    """Random BN affine parameters and running statistics estimated on
    random audio (else the checks cannot see a BN mapped wrongly), and
    random biases of the two linear layers."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    model.eval()
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # A cumulative average over the batches.
        bn.train()
    with torch.no_grad():
        model(torch.randn(4, sample_rate, generator=generator) * 0.1)
        for bn in bns:
            bn.eval()
            shape = bn.weight.shape
            bn.weight.copy_(torch.rand(shape, generator=generator) + 0.5)
            bn.bias.copy_(torch.randn(shape, generator=generator) * 0.2)
        for fc in (model.fc1, model.fc_audioset):
            fc.bias.copy_(torch.randn(fc.bias.shape, generator=generator) * 0.1)
        # Logits of about unit spread, so the sigmoid scores do not
        # saturate at 0 and 1 (where they would hide differences).
        audio = torch.randn(2, sample_rate, generator=generator) * 0.1
        embedding = model(audio)["embedding"]
        logits = embedding @ model.fc_audioset.weight.T
        model.fc_audioset.weight.mul_(1.0 / (float(logits.std()) + 1e-6))
    return model


def make_peer(kind: str, classes_num: int, seed: int = 0):
    """PANNs' own model `kind` (a key of `PEERS`) at random init, in
    inference mode."""
    import torch

    package, module, cls_name, sample_rate = PEERS[kind]
    cls = getattr(peer_module(package, module), cls_name)
    torch.manual_seed(seed)
    window, hop, fmin, fmax = FRONT_ENDS[sample_rate]
    model = cls(
        sample_rate=sample_rate,
        window_size=window,
        hop_size=hop,
        mel_bins=64,
        fmin=fmin,
        fmax=fmax,
        classes_num=classes_num,
    )
    generator = torch.Generator().manual_seed(seed + 1)
    return _randomise(model, torch, generator, sample_rate)


def save_checkpoint(model, path) -> None:
    """The checkpoint layout PANNs publishes: a `.pth` dict with `model`."""
    import torch

    torch.save({"model": model.state_dict()}, path)


def read_state(path) -> dict[str, np.ndarray]:
    """A PANNs `.pth` as names -> numpy arrays, read as `zoo.load` reads
    it (`torch.load(weights_only=True)`, the `model` entry)."""
    from keras_attention.convert.checkpoint import read_state as read

    return read(path)


def peer_outputs(model, audio: np.ndarray) -> dict[str, np.ndarray]:
    """PANNs' `clipwise_output` (sigmoid scores) and `embedding` (fc1)."""
    import torch

    with torch.no_grad():
        out = model(torch.from_numpy(audio))
    return {k: out[k].numpy() for k in ("clipwise_output", "embedding")}


def predict(model, audio: np.ndarray):
    """`model`'s outputs on `audio` in inference mode, as numpy arrays.

    On JAX, one XLA compilation with backend optimisations: the suite
    turns them off (`conftest.py`, for faster compiles), which makes a
    CNN14 forward pass on CPU about 6x slower (20 s against 5 s).
    """
    import keras

    if keras.backend.backend() != "jax":
        return model.predict(audio, verbose=0)
    import jax

    trainable = [v.value for v in model.trainable_variables]
    fixed = [v.value for v in model.non_trainable_variables]

    def forward(trainable, fixed, x):
        return model.stateless_call(trainable, fixed, x, training=False)[0]

    compiled = (
        jax.jit(forward)
        .lower(trainable, fixed, audio)
        .compile({"xla_backend_optimization_level": 2})
    )
    return jax.tree.map(np.asarray, compiled(trainable, fixed, audio))
