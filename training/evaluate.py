"""Recompute a published preset's test metrics and write them to its card.

    python -m training.evaluate zoo/cbam_resnet18/fashion_mnist
    python -m training.evaluate zoo/cbam_cnn10/instruments

Loads the preset the way users do (`keras_attention.zoo.load(model,
weights=<dir>)`: float16 files on disk into float32 variables), predicts the
full test set on raw [0, 255] images (the preset's own preprocessor resizes,
repeats grayscale to RGB and normalises), and writes into `model_card.json`:

- `metrics`: test accuracy and loss, per-class accuracy, accuracy on the
  bundled sample (`keras_attention/data/samples/fashion_mnist_sample.npz`,
  or the demo clips in `keras_attention/data/samples/instruments/`), the
  command and backend that
  computed them. Audio presets are evaluated on every test set of their
  dataset (`test_sets`; the instrument dataset has two: held-out
  instruments and a held-out soundfont lineage) on clips of the card's
  length; `test_accuracy` is the first set's;
- `storage`: the same test accuracy of the float32 reference preset (when
  the card names one that exists) and the difference in points; the exit
  status is 1 if it exceeds the tolerance (0.1 points);
- `files`: every file's size and sha256, recomputed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from training import audio_data, image_data, publish

SAMPLES = publish.REPO_ROOT / "keras_attention" / "data" / "samples"
SAMPLE_FILES = {
    "fashion_mnist": SAMPLES / "fashion_mnist_sample.npz",
    "instruments": SAMPLES / "instruments",
}
DEFAULT_TOLERANCE = 0.1
# Published reference points, for the card's summary (REFERENCE.md: the
# benchmark table of the Fashion-MNIST README).
REFERENCE_RESULTS = {
    "fashion_mnist": {"ResNet18 (Fashion-MNIST README benchmark)": 0.949},
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.evaluate",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("preset", help="preset directory with a model_card.json")
    p.add_argument(
        "--data-dir",
        default=None,
        help="dataset folder (default: the card's, else the usual places)",
    )
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="first N examples of each test set only (trials)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help="largest allowed accuracy change (points) of the stored "
        "weights against the float32 reference",
    )
    p.add_argument(
        "--no-write", action="store_true", help="print, do not update the card"
    )
    return p


def load_preset(preset_dir, model_name: str | None = None) -> keras.Model:
    """The preset loaded through `zoo.load` (as users load it)."""
    from keras_attention import zoo

    if model_name is None:
        model_name = publish.read_card(preset_dir)["model"]
    return zoo.load(model_name, weights=str(Path(preset_dir).resolve()))


def softmax_metrics(logits, labels) -> dict:
    """Accuracy and mean cross-entropy of `logits` (float64 math)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(len(labels)), labels].mean()
    predictions = logits.argmax(axis=1)
    return {
        "accuracy": float((predictions == labels).mean()),
        "loss": float(loss),
        "predictions": predictions,
    }


def predict_logits(model, images, batch_size: int = 250) -> np.ndarray:
    """`model.predict` on raw images: the preset's preprocessor runs."""
    return np.asarray(model.predict(images, batch_size=batch_size, verbose=0))


def _card_data_dir(card: dict, data_dir):
    if data_dir is not None:
        return data_dir
    recorded = card.get("dataset", {}).get("files")
    if recorded:
        path = Path(recorded).expanduser()
        if not path.is_absolute():
            path = publish.REPO_ROOT / path
        if path.is_dir():
            return str(path)
    return None


def _image_test_sets(card: dict, data_dir):
    key = card.get("dataset", {}).get("key", "fashion_mnist")
    if key == "fashion_mnist":
        _, (x, y), folder = image_data.load_fashion_mnist_arrays(data_dir)
        source = str(folder)
    elif key == "cifar10":
        _, (x, y), _ = image_data.load_cifar10_arrays(data_dir)
        source = str(data_dir)
    else:
        size = card["preprocessing"]["source_images"]
        _, (x, y), _ = image_data.load_folder_arrays(
            data_dir, image_size=size[:2], channels=size[2]
        )
        source = str(data_dir)
    return {"test": (x, y)}, source


def _audio_test_sets(card: dict, data_dir):
    dataset = card.get("dataset", {})
    pre = card["preprocessing"]
    splits = audio_data.load_splits(
        dataset["key"],
        data_dir,
        sample_rate=pre["sample_rate"],
        clip_seconds=pre["clip_seconds"],
        fold=dataset.get("fold"),
    )
    sets = {name: audio_data.arrays_of(s) for name, s in splits.tests.items()}
    return sets, splits.source


def test_sets(card: dict, data_dir=None, limit=None):
    """`({name: (x, y)}, source)`: the test data of the card's dataset."""
    data_dir = _card_data_dir(card, data_dir)
    if card.get("task") == "audio":
        sets, source = _audio_test_sets(card, data_dir)
    else:
        sets, source = _image_test_sets(card, data_dir)
    if limit is not None:
        sets = {k: (x[:limit], y[:limit]) for k, (x, y) in sets.items()}
    return sets, source


def _sample_arrays(key: str, card: dict):
    """The bundled sample of dataset `key`: `(inputs, labels, path)`;
    audio clips are decoded as `predict` does (resampled, whole clip)."""
    path = SAMPLE_FILES.get(key)
    if path is None or not path.exists():
        return None
    if path.is_dir():
        from keras_attention.audio import load_audio

        files, labels = audio_data.read_labelled_clips(
            path, card["class_names"]
        )
        rate = card["preprocessing"]["sample_rate"]
        waves = [load_audio(f, sample_rate=rate) for f in files]
        length = max(len(w) for w in waves)
        x = np.stack([np.pad(w, (0, length - len(w))) for w in waves])
        return x, labels, path
    with np.load(path) as data:
        return data["images"], data["labels"], path


def _sample_metrics(model, key: str, card: dict, batch_size: int):
    sample = _sample_arrays(key, card)
    if sample is None:
        return None
    x, labels, path = sample
    result = softmax_metrics(predict_logits(model, x, batch_size), labels)
    entry = {
        "file": publish.relative_to_repo(path),
        "examples": int(len(labels)),
        "accuracy": result["accuracy"],
    }
    if path.is_file():
        entry["sha256"] = publish.sha256_of(path)
        entry["images"] = int(len(labels))
    return entry


def evaluate_preset(preset_dir, sets: dict, class_names, batch_size=250):
    """Metrics of the preset in `preset_dir` on every `(x, y)` of `sets`:
    `{"model": ..., "sets": {name: {accuracy, loss, examples,
    per_class_accuracy}}, "seconds": ...}`."""
    start = time.perf_counter()
    model = load_preset(preset_dir)
    results = {}
    for name, (x, y) in sets.items():
        result = softmax_metrics(predict_logits(model, x, batch_size), y)
        predictions = result.pop("predictions")
        per_class = {}
        for index, label in enumerate(class_names):
            mask = y == index
            if mask.any():
                per_class[label] = float((predictions[mask] == index).mean())
        results[name] = {
            "accuracy": result["accuracy"],
            "loss": result["loss"],
            "examples": int(len(y)),
            "per_class_accuracy": per_class,
        }
    return {
        "model": model,
        "sets": results,
        "seconds": time.perf_counter() - start,
    }


def _summary(card: dict, key: str) -> dict:
    """A one-line account of the numbers, built from the card itself."""
    metrics = card["metrics"]
    recipe = (card.get("recipe") or {}).get("arguments") or {}
    splits = (card.get("dataset") or {}).get("splits") or {}
    epochs = card.get("epochs_run", card.get("epochs"))
    if card.get("task") == "audio":
        tested = "; ".join(
            f"{100 * m['accuracy']:.2f}% on {name} ({m['examples']} clips)"
            for name, m in metrics["test_sets"].items()
        )
        seconds = card["preprocessing"]["clip_seconds"]
        text = (
            f"Test accuracy {tested}, on {seconds} s clips, after {epochs} "
            f"epoch(s) over {splits.get('train')} training clips (batch "
            f"{recipe.get('batch_size')}, {card.get('backend')})."
        )
    else:
        text = (
            f"{100 * metrics['test_accuracy']:.2f}% test accuracy on "
            f"{metrics['test_images']} images after {epochs} epoch(s) over "
            f"{splits.get('train')} training images (batch "
            f"{recipe.get('batch_size')}, {card.get('backend')})."
        )
    references = REFERENCE_RESULTS.get(key, {})
    if references:
        text += " For comparison: " + "; ".join(
            f"{name} {100 * value:.1f}%" for name, value in references.items()
        )
        text += "."
    return {"text": text, "references": references}


def _command(argv) -> str:
    return "KERAS_BACKEND={} python -m training.evaluate {}".format(
        keras.backend.backend(), " ".join(shlex.quote(a) for a in argv)
    )


def _metrics_entry(card: dict, result: dict, source, argv, now) -> dict:
    sets = result["sets"]
    first = next(iter(sets.values()))
    entry = {
        "test_accuracy": first["accuracy"],
        "test_loss": first["loss"],
    }
    if card.get("task") == "audio":
        entry["test_clips"] = first["examples"]
        entry["test_sets"] = sets
    else:
        entry["test_images"] = first["examples"]
    entry.update(
        {
            "test_files": publish.relative_to_repo(source),
            "per_class_accuracy": first["per_class_accuracy"],
            "evaluated_with": _command(argv),
            "backend": keras.backend.backend(),
            "evaluated_at": now,
            "seconds": round(result["seconds"], 1),
        }
    )
    return entry


def _reference_check(storage, main, ref, args) -> bool:
    """Records the float32 reference's accuracy and the largest change of
    the stored weights against it (over every test set)."""
    deltas = {
        name: 100.0 * (main["sets"][name]["accuracy"] - m["accuracy"])
        for name, m in ref["sets"].items()
    }
    worst = max(deltas.values(), key=abs)
    ok = abs(worst) <= args.tolerance + 1e-9
    storage["accuracy_change_points"] = round(worst, 4)
    if len(deltas) > 1:
        storage["accuracy_change_points_by_set"] = {
            k: round(v, 4) for k, v in deltas.items()
        }
    storage["tolerance_points"] = args.tolerance
    storage["within_tolerance"] = ok
    return ok


def evaluate(args, argv=()) -> tuple[dict, bool]:
    """Evaluates `args.preset` (and its float32 reference); returns the
    updated card and whether the stored weights are within tolerance."""
    preset = Path(args.preset)
    card = publish.read_card(preset)
    key = card.get("dataset", {}).get("key", "fashion_mnist")
    sets, source = test_sets(card, args.data_dir, args.limit)
    class_names = card.get("class_names") or [
        str(i) for i in range(card["num_classes"])
    ]
    main = evaluate_preset(preset, sets, class_names, args.batch_size)
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    card["metrics"] = _metrics_entry(card, main, source, argv, now)
    card["metrics"]["sample"] = _sample_metrics(
        main["model"], key, card, args.batch_size
    )
    ok = True
    storage = dict(card.get("storage") or {})
    storage["dtypes_on_disk"] = {
        name: publish.weight_dtypes(preset / name)
        for name in sorted(os.listdir(preset))
        if name.endswith(publish.WEIGHT_SUFFIX)
    }
    reference = storage.get("float32_reference")
    if reference:
        ref_path = Path(reference["path"])
        if not ref_path.is_absolute():
            ref_path = publish.REPO_ROOT / ref_path
        if ref_path.is_dir():
            ref = evaluate_preset(ref_path, sets, class_names, args.batch_size)
            ref_metrics = _metrics_entry(card, ref, source, argv, now)
            reference = dict(reference)
            for k in ("per_class_accuracy", "test_files", "backend", "seconds"):
                ref_metrics.pop(k)
            reference.update(ref_metrics)
            storage["float32_reference"] = reference
            ok = _reference_check(storage, main, ref, args)
    card["storage"] = storage
    card["summary"] = _summary(card, key)
    card["files"] = publish.file_table(preset)
    too_big = publish.check_file_sizes(preset)
    if too_big:
        card["files_over_limit"] = too_big
    else:
        card.pop("files_over_limit", None)
    if not args.no_write:
        publish.write_card(preset, card)
    return card, ok


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not Path(args.preset, publish.MODEL_CARD).is_file():
        parser.error(f"{args.preset} has no {publish.MODEL_CARD}")
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    try:
        card, ok = evaluate(args, argv)
    except (image_data.DatasetNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    metrics = card["metrics"]
    sets = metrics.get("test_sets") or {
        "test": {
            "accuracy": metrics["test_accuracy"],
            "loss": metrics["test_loss"],
            "examples": metrics["test_images"],
        }
    }
    for name, m in sets.items():
        print(
            f"{card['model']} / {card['weights']}: {name} accuracy "
            f"{100 * m['accuracy']:.2f}% (loss {m['loss']:.4f}) on "
            f"{m['examples']} examples [{metrics['backend']}]"
        )
    if metrics.get("sample"):
        print(
            f"bundled sample: {100 * metrics['sample']['accuracy']:.2f}% "
            f"of {metrics['sample']['examples']}"
        )
    storage = card.get("storage", {})
    reference = storage.get("float32_reference") or {}
    if reference.get("test_accuracy") is not None:
        print(
            f"float32 reference: {100 * reference['test_accuracy']:.2f}%; "
            f"stored as {storage.get('weights_dtype_on_disk')}: "
            f"{storage.get('accuracy_change_points'):+.2f} points "
            f"(tolerance {storage.get('tolerance_points')})"
        )
    for name, entry in card["files"].items():
        print(f"  {name}: {entry['size']} bytes sha256 {entry['sha256']}")
    if not ok:
        print(
            "error: the stored weights change the test accuracy by more "
            "than the tolerance; publish them as float32 instead "
            "(--storage float32)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
