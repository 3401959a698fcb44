"""PANNs CNN6, CNN10 and CNN14 checkpoints (Kong et al.,
qiuqiangkong/audioset_tagging_cnn) to `cnn6`, `cnn10` and `cnn14`.

A PANNs `.pth` holds a `model` dict; its keys (`bn0.*`,
`conv_block{i}.conv{c}.weight`, `conv_block{i}.bn{c}.*`, `fc1.*`,
`fc_audioset.*`) map one to one onto our layers (`mel_bn`,
`block{i}_conv{c}`, `block{i}_bn{c}`, `embedding`, `predictions`).

The front end is not a learned part: `logmel_extractor.melW` (the mel
filters, `(n_fft / 2 + 1, mels)`) and `spectrogram_extractor.stft.conv_
{real,imag}.weight` (the Hann-windowed DFT) are fixed buffers. They are
checked, not assigned: melW's shape gives the window and so the sample
rate (1024: 32 kHz, 512: 16 kHz, 256: 8 kHz, with PANNs' hop and fmax for
that rate), and its values must be the Slaney mel filters from 50 Hz to
fmax that our `LogMelSpectrogram` computes itself; the DFT buffers must be
the Hann DFT of that window. A checkpoint without them needs
`sample_rate`. The converted model ends in a sigmoid, as PANNs'
`clipwise_output` (`classifier_activation="sigmoid"`, in its config).
`*.num_batches_tracked` (a BN training counter) is ignored.

PANNs' decision-level models (`Cnn14_DecisionLevelMax`: the same keys as
`Cnn14`) pool differently, so their keys alone cannot tell them apart:
they convert as the clip-level model.
"""

from __future__ import annotations

import numpy as np

from keras_attention.convert.audioset import (
    AUDIOSET_NUM_CLASSES,
    audioset_labels,
    read_labels_csv,
)
from keras_attention.convert.errors import ConversionError
from keras_attention.layers.log_mel import mel_filterbank
from keras_attention.models.audio import (
    PANNS_CNNS,
    add_audio_head,
    build_panns_cnn,
)
from keras_attention.models.audio_front_end import PANNS_FRONT_ENDS

FAMILY = "panns"
MODELS = tuple(f"cnn{depth}" for depth in PANNS_CNNS)
FMIN = 50.0  # PANNs' lowest mel edge at every sample rate.
CLIP_SECONDS = 10.0  # AudioSet clips, which PANNs trained on.
MEL_FILTERS = "logmel_extractor.melW"
DFT_KEYS = {
    "spectrogram_extractor.stft.conv_real.weight": np.cos,
    "spectrogram_extractor.stft.conv_imag.weight": lambda a: -np.sin(a),
}
FRONT_END_KEYS = (MEL_FILTERS, *DFT_KEYS)
IGNORED_SUFFIX = ".num_batches_tracked"
# Builder arguments a caller may set; the rest follow the checkpoint.
# A head other than the checkpoint's: its backbone with a new head.
HEAD_KWARGS = ("num_classes", "include_top", "pooling")
ALLOWED_KWARGS = (
    "name",
    "input_shape",
    "dtype",
    "head_dtype",
    "clip_seconds",
    "spec_augment",
    "classifier_activation",
)
_BN = {
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
}
_CONV = {"kernel": "weight"}
_DENSE = {"kernel": "weight", "bias": "bias"}


def _layout(depth: int) -> list[tuple[str, str, dict]]:
    """(our layer, checkpoint prefix, our variable -> checkpoint suffix)
    for every layer with weights."""
    block_type, filters, _ = PANNS_CNNS[depth]
    convs = 2 if block_type == "double3x3" else 1
    layers = [("mel_bn", "bn0", _BN)]
    for i in range(1, len(filters) + 1):
        for c in range(1, convs + 1):
            ours, theirs = f"block{i}_", f"conv_block{i}."
            layers.append((f"{ours}conv{c}", f"{theirs}conv{c}", _CONV))
            layers.append((f"{ours}bn{c}", f"{theirs}bn{c}", _BN))
    layers.append(("embedding", "fc1", _DENSE))
    layers.append(("predictions", "fc_audioset", _DENSE))
    return layers


def _expected_keys(depth: int) -> set[str]:
    return {
        f"{prefix}.{suffix}"
        for _, prefix, names in _layout(depth)
        for suffix in names.values()
    }


def detect(state) -> str | None:
    """ "cnn6", "cnn10" or "cnn14" for a PANNs state dict, else None.

    CNN6 has single 5x5 conv blocks (`conv_block{i}.conv1` only); CNN10
    and CNN14 have two 3x3 convs per block, 4 and 6 blocks.
    """
    keys = set(state)
    if not {"bn0.weight", "fc1.weight", "fc_audioset.weight"} <= keys:
        return None
    first = state.get("conv_block1.conv1.weight")
    if first is None or len(np.shape(first)) != 4:
        return None
    blocks = 0
    while f"conv_block{blocks + 1}.conv1.weight" in keys:
        blocks += 1
    double = "conv_block1.conv2.weight" in keys
    kernel = tuple(np.shape(first)[2:])
    for depth, (block_type, filters, _) in PANNS_CNNS.items():
        want = (3, 3) if block_type == "double3x3" else (5, 5)
        if (
            len(filters) == blocks
            and double == (block_type == "double3x3")
            and kernel == want
        ):
            return f"cnn{depth}"
    return None


def _depth(model_name: str) -> int:
    if model_name not in MODELS:
        raise ConversionError(
            f"PANNs checkpoints convert to one of {MODELS} (plain CNNs, no "
            f"attention). Received: model_name={model_name!r}"
        )
    return int(model_name[3:])


def _check_keys(state, model_name: str, depth: int) -> None:
    expected = _expected_keys(depth)
    known = expected | set(FRONT_END_KEYS)
    missing = expected - set(state)
    unexpected = {
        k for k in state if k not in known and not k.endswith(IGNORED_SUFFIX)
    }
    if missing or unexpected:
        found = detect(state)
        hint = f" (its keys are PANNs {found})" if found else ""
        raise ConversionError(
            f"The checkpoint is not a PANNs {model_name}{hint}",
            missing=missing,
            unexpected=unexpected,
        )


def _rate_for_window(n_fft: int) -> int | None:
    for rate, (window, _, _) in PANNS_FRONT_ENDS.items():
        if window == n_fft:
            return rate
    return None


def _front_end(state, sample_rate: int | None) -> dict:
    """The front-end arguments of the builder, from melW's shape (or
    `sample_rate`), with the buffers checked against them."""
    n_mels = int(np.shape(state["bn0.weight"])[0])
    mel = state.get(MEL_FILTERS)
    if mel is not None:
        mel = np.asarray(mel, dtype=np.float64)
        n_fft = 2 * (mel.shape[0] - 1) if mel.ndim == 2 else None
        rate = _rate_for_window(n_fft)
        if rate is None or mel.shape[1] != n_mels:
            windows = {r: w for r, (w, _, _) in PANNS_FRONT_ENDS.items()}
            raise ConversionError(
                f"`{MEL_FILTERS}` should be (window / 2 + 1, mels) for a "
                f"PANNs window {windows} and {n_mels} mels (bn0)",
                mismatched=[(MEL_FILTERS, mel.shape, ("n_fft/2+1", n_mels))],
            )
        if sample_rate is not None and sample_rate != rate:
            raise ConversionError(
                f"The checkpoint's mel filters are for a window of {n_fft} "
                f"samples, PANNs' {rate} Hz front end. Received: "
                f"sample_rate={sample_rate}"
            )
    elif sample_rate is None:
        raise ConversionError(
            f"The checkpoint has no `{MEL_FILTERS}`, which tells the sample "
            "rate: pass `sample_rate` (one of "
            f"{sorted(PANNS_FRONT_ENDS)})."
        )
    elif sample_rate not in PANNS_FRONT_ENDS:
        raise ConversionError(
            f"Expected a PANNs sample rate in {sorted(PANNS_FRONT_ENDS)}. "
            f"Received: sample_rate={sample_rate}"
        )
    else:
        rate = sample_rate
    n_fft, hop, fmax = PANNS_FRONT_ENDS[rate]
    if mel is not None:
        want = mel_filterbank(rate, n_fft, n_mels, FMIN, fmax)
        _check_buffer(MEL_FILTERS, mel, want, f"Slaney mel filters, {rate} Hz")
    for key, part in DFT_KEYS.items():
        if key in state:
            _check_buffer(key, state[key], _dft(n_fft, part), "Hann DFT")
    return {
        "sample_rate": rate,
        "n_fft": n_fft,
        "hop_length": hop,
        "n_mels": n_mels,
        "fmin": FMIN,
        "fmax": fmax,
        "mel_scale": "slaney",
    }


def _dft(n_fft: int, part) -> np.ndarray:
    """torchlibrosa's STFT conv weights: `(n_fft/2 + 1, 1, n_fft)`."""
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)[:, None]
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)
    return (part(2.0 * np.pi * k * n / n_fft) * window)[:, None, :]


def _check_buffer(key, got, want, what: str) -> None:
    got = np.asarray(got, dtype=np.float64)
    if got.shape != want.shape:
        raise ConversionError(
            f"`{key}` is not PANNs' front end ({what})",
            mismatched=[(key, got.shape, want.shape)],
        )
    error = float(np.max(np.abs(got - want)))
    scale = float(np.max(np.abs(want)))
    if error > 1e-4 * scale:
        raise ConversionError(
            f"`{key}` holds other values than PANNs' front end ({what}, "
            f"fmin {FMIN:g} Hz): max difference {error:.3g} (values up to "
            f"{scale:.3g}); our model computes that front end itself and "
            "cannot take other filters."
        )


def _class_names(labels, num_classes: int):
    if labels is None:
        if num_classes == AUDIOSET_NUM_CLASSES:
            return audioset_labels()
        return None
    names = list(labels) if isinstance(labels, list | tuple) else None
    if names is None:
        names = read_labels_csv(labels)
    if len(names) != num_classes:
        raise ConversionError(
            f"Expected {num_classes} labels, one per output of the "
            f"checkpoint (fc_audioset). Received {len(names)}."
        )
    return [str(n) for n in names]


def _torch_to_keras(kind: str, array: np.ndarray) -> np.ndarray:
    if (
        kind == "kernel" and array.ndim == 4
    ):  # (out, in, h, w) -> (h, w, in, out)
        return array.transpose(2, 3, 1, 0)
    if kind == "kernel":  # Linear (out, in) -> Dense (in, out)
        return array.T
    return array


def _assign(model, state, depth: int) -> None:
    backbone = model.backbone
    targets = []
    mismatched = []
    for ours, prefix, names in _layout(depth):
        owner = backbone if ours.startswith(("mel_bn", "block")) else model
        layer = owner.get_layer(ours)
        for attr, suffix in names.items():
            key = f"{prefix}.{suffix}"
            variable = getattr(layer, attr)
            value = _torch_to_keras(attr, np.asarray(state[key]))
            if tuple(value.shape) != tuple(variable.shape):
                want = tuple(variable.shape)
                if attr == "kernel" and len(want) == 4:
                    want = tuple(want[i] for i in (3, 2, 0, 1))
                elif attr == "kernel":
                    want = want[::-1]
                mismatched.append((key, tuple(np.shape(state[key])), want))
            else:
                targets.append((variable, value))
    if mismatched:
        raise ConversionError(
            f"The checkpoint's tensors do not fit {model.name}",
            mismatched=mismatched,
        )
    for variable, value in targets:
        variable.assign(value.astype(variable.dtype))


def build(state, model_name: str, sample_rate: int | None = None, **kwargs):
    """Our `model_name` ("cnn6", "cnn10" or "cnn14") with the weights of
    a PANNs state dict (names -> numpy arrays).

    Args:
        state: The checkpoint's `model` dict as numpy arrays.
        model_name: "cnn6", "cnn10" or "cnn14" (see `detect`).
        sample_rate: Needed only when the checkpoint has no mel filters
            (`logmel_extractor.melW`); checked against them otherwise.
        labels: Optional class names: a list, or the path of a
            `class_labels_indices.csv` (`index,mid,display_name`). By
            default AudioSet's 527 names for a 527-class checkpoint.
        **kwargs: Also `name`, `input_shape`, `dtype`, `head_dtype`,
            `clip_seconds` (10 s), `spec_augment` (PANNs') and
            `classifier_activation` ("sigmoid", PANNs' clip-wise scores;
            None gives logits).

    Returns:
        An `AudioCNNClassifier` (waveform input, PANNs' front end).

    Raises:
        ConversionError: naming the missing, unexpected and mis-shaped
            keys, or the front-end buffer that is not PANNs'.
    """
    labels = kwargs.pop("labels", None)
    head = {k: kwargs.pop(k) for k in HEAD_KWARGS if k in kwargs}
    unknown = sorted(set(kwargs) - set(ALLOWED_KWARGS))
    if unknown:
        raise TypeError(
            f"panns.build: Unexpected arguments {unknown}; it takes "
            f"sample_rate, labels and {list(ALLOWED_KWARGS)} (the rest "
            "follows the checkpoint)."
        )
    depth = _depth(model_name)
    _check_keys(state, model_name, depth)
    num_classes = int(np.shape(state["fc_audioset.weight"])[0])
    options = {
        "name": model_name,
        "clip_seconds": CLIP_SECONDS,
        "classifier_activation": "sigmoid",
        **kwargs,
    }
    model = build_panns_cnn(
        depth,
        num_classes=num_classes,
        class_names=_class_names(labels, num_classes),
        **_front_end(state, sample_rate),
        **options,
    )
    _assign(model, state, depth)
    if _same_head(head, num_classes):
        return model
    # A new head (fine-tuning) or none: the converted backbone under it.
    return add_audio_head(
        model.backbone,
        include_top=head.get("include_top", True),
        pooling=head.get("pooling"),
        num_classes=head.get("num_classes", num_classes),
        classifier_activation=options["classifier_activation"],
        clip_seconds=options["clip_seconds"],
        dtype=options.get("dtype"),
        head_dtype=options.get("head_dtype"),
        name=options["name"],
    )


def _same_head(head: dict, num_classes: int) -> bool:
    """Whether the `include_top`/`num_classes`/`pooling` asked for are the
    checkpoint's own classifier."""
    return (
        head.get("include_top", True)
        and head.get("num_classes", num_classes) == num_classes
    )
