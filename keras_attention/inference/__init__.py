"""Inference with zoo classifiers, as library code: what `keras-attention
predict` and `explain` (and `keras_attention.viz.explain`) run.

- `check_input`: an input file checked against the model's task (image or
  audio, by its extension);
- `load_classifier`: a zoo model name and weights resolved to a classifier
  and the model card of its weights;
- `load_input`: the model-ready batch of one file (`read_image`,
  `image_batch`; `audio_batch`, `audio_windows`);
- `probabilities`, `top_classes`, `class_labels`: the model's outputs as
  class probabilities (a softmax of logits, or the head's own activation)
  and the top-k classes; `frame_classes`: the top-k of each window of an
  audio clip (sound event detection), and `is_multi_label` for tagging
  (sigmoid) heads.

Errors about inputs, models and weights are `InferenceError` (a
ValueError) or OSError, with a message that names the file.

>>> from keras_attention import inference
>>> model, card = inference.load_classifier("cbam_resnet18")  # doctest: +SKIP
>>> path, kind = inference.check_input("shirt.png", "cbam_resnet18")
... # doctest: +SKIP
>>> batch = inference.load_input(path, kind, model, card, "cbam_resnet18")
... # doctest: +SKIP
>>> _, top = inference.top_classes(model, model.predict(batch), k=3)
... # doctest: +SKIP
"""

from keras_attention.inference.audio import (
    audio_batch,
    audio_sample_rate,
    audio_windows,
    window_length,
)
from keras_attention.inference.classifier import (
    card_value,
    load_classifier,
)
from keras_attention.inference.errors import InferenceError, one_line
from keras_attention.inference.images import (
    IMAGE_ERRORS,
    IMAGE_EXTENSIONS,
    fixed_spatial_size,
    image_batch,
    image_channels,
    read_image,
)
from keras_attention.inference.inputs import (
    InputFile,
    check_input,
    input_kind,
    load_input,
)
from keras_attention.inference.results import (
    check_top_k,
    class_labels,
    frame_classes,
    head_activation,
    is_multi_label,
    probabilities,
    top_classes,
)

__all__ = [
    "IMAGE_ERRORS",
    "IMAGE_EXTENSIONS",
    "InferenceError",
    "InputFile",
    "audio_batch",
    "audio_sample_rate",
    "audio_windows",
    "card_value",
    "check_input",
    "check_top_k",
    "class_labels",
    "fixed_spatial_size",
    "frame_classes",
    "head_activation",
    "image_batch",
    "image_channels",
    "input_kind",
    "is_multi_label",
    "load_classifier",
    "load_input",
    "one_line",
    "probabilities",
    "read_image",
    "top_classes",
    "window_length",
]
