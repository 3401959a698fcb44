"""keras-attention: SE, CBAM, ECA and BAM for Keras 3, and a model zoo.

Subpackages:
    layers: the attention modules and the audio front end.
    models: model families (ResNet, PANNs CNN) built from them.
    zoo: the registry: `zoo.load`, `zoo.list_models`, `zoo.info`.
    audio: audio I/O and dataset loaders (needs the `audio` extra).
    viz: Grad-CAM and attention-map figures (needs the `viz` extra).

`import keras_attention` registers every serializable class of the
library with Keras (`keras_attention.layers`, `keras_attention.models`),
so that `keras.saving.load_model`, `.keras` files and keras-hub's
`from_preset` find them in a fresh process. It does so without importing
Keras itself: when Keras is already imported the classes register at
once, otherwise the moment Keras is first imported (a one-shot import
hook on `keras`). The command line (`keras-attention --help`, `list`)
therefore starts without loading a backend.
"""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

from keras_attention.version import __version__

__all__ = ["__version__", "audio", "layers", "models", "viz", "zoo"]

_LAZY = {"audio", "layers", "models", "viz", "zoo"}
# What registers the library's classes with Keras, and the imports that
# trigger it: the models need keras-hub, so while keras-hub is being
# imported (it imports Keras) registration waits for it to finish.
_REGISTERING = ("keras_attention.layers", "keras_attention.models")
_TRIGGERS = ("keras", "keras_hub")
_state = {"done": False, "busy": False, "executing": set()}


def _register() -> None:
    if _state["done"] or _state["busy"] or _state["executing"]:
        return
    _state["busy"] = True
    try:
        for module in _REGISTERING:
            importlib.import_module(module)
        _state["done"] = True
    finally:
        _state["busy"] = False
    for finder in [f for f in sys.meta_path if isinstance(f, _OnKeras)]:
        sys.meta_path.remove(finder)


class _OnKeras(importlib.abc.MetaPathFinder):
    """Runs `_register()` once `keras` (and `keras_hub`, when that is what
    is being imported) has finished importing."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _TRIGGERS or _state["busy"]:
            return None
        others = [f for f in sys.meta_path if f is not self]
        spec = None
        for finder in others:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module):
            _state["executing"].add(fullname)
            try:
                exec_module(module)
            finally:
                _state["executing"].discard(fullname)
            try:
                _register()
            except Exception as error:  # never break `import keras`
                warnings.warn(
                    f"keras_attention could not register its classes with "
                    f"Keras ({error!r}); import keras_attention.models to "
                    "see why.",
                    stacklevel=2,
                )

        loader.exec_module = exec_then_register
        return spec


if "keras" in sys.modules:
    _register()
elif not any(isinstance(f, _OnKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _OnKeras())


def __getattr__(name: str):
    # Subpackages load on first use so `import keras_attention` stays
    # cheap and optional extras are only needed when used.
    if name in _LAZY:
        module = importlib.import_module(f"keras_attention.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'keras_attention' has no attribute {name!r}")
