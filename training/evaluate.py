"""Recompute a published preset's test metrics and write them to its card.

    python training/evaluate.py zoo/cbam_resnet18/fashion_mnist

Loads the preset the way users do (`keras_attention.zoo.load(model,
weights=<dir>)`: float16 files on disk into float32 variables), predicts the
full test set on raw [0, 255] images (the preset's own preprocessor resizes,
repeats grayscale to RGB and normalises), and writes into `model_card.json`:

- `metrics`: test accuracy and loss, per-class accuracy, accuracy on the
  bundled sample (`zoo/samples/fashion_mnist_sample.npz`), the command and
  backend that computed them;
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from training import image_data, publish  # noqa: E402

SAMPLE_FILES = {
    "fashion_mnist": publish.REPO_ROOT
    / "zoo"
    / "samples"
    / "fashion_mnist_sample.npz",
}
DEFAULT_TOLERANCE = 0.1
# Published reference points, for the card's summary (REFERENCE.md: the
# benchmark table of the Fashion-MNIST README).
REFERENCE_RESULTS = {
    "fashion_mnist": {"ResNet18 (Fashion-MNIST README benchmark)": 0.949},
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python training/evaluate.py",
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
        "--limit", type=int, default=None, help="first N test images only"
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


def _test_split(card: dict, data_dir, limit):
    key = card.get("dataset", {}).get("key", "fashion_mnist")
    if data_dir is None:
        recorded = card.get("dataset", {}).get("files")
        if recorded:
            path = Path(recorded)
            if not path.is_absolute():
                path = publish.REPO_ROOT / path
            if path.is_dir():
                data_dir = str(path)
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
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return key, x, y, source


def _sample_metrics(model, key: str, batch_size: int) -> dict | None:
    path = SAMPLE_FILES.get(key)
    if path is None or not path.is_file():
        return None
    with np.load(path) as data:
        images, labels = data["images"], data["labels"]
    result = softmax_metrics(predict_logits(model, images, batch_size), labels)
    return {
        "file": publish.relative_to_repo(path),
        "sha256": publish.sha256_of(path),
        "images": int(len(labels)),
        "accuracy": result["accuracy"],
    }


def evaluate_preset(preset_dir, x, y, class_names, batch_size=250) -> dict:
    """Test metrics of the preset in `preset_dir` on `(x, y)`."""
    start = time.perf_counter()
    model = load_preset(preset_dir)
    result = softmax_metrics(predict_logits(model, x, batch_size), y)
    predictions = result.pop("predictions")
    per_class = {}
    for index, name in enumerate(class_names):
        mask = y == index
        if mask.any():
            per_class[name] = float((predictions[mask] == index).mean())
    return {
        "model": model,
        "accuracy": result["accuracy"],
        "loss": result["loss"],
        "per_class_accuracy": per_class,
        "seconds": time.perf_counter() - start,
    }


def _summary(card: dict, key: str) -> dict:
    """A one-line account of the numbers, built from the card itself."""
    metrics = card["metrics"]
    recipe = (card.get("recipe") or {}).get("arguments") or {}
    splits = (card.get("dataset") or {}).get("splits") or {}
    epochs = card.get("epochs_run", card.get("epochs"))
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
    return "KERAS_BACKEND={} python training/evaluate.py {}".format(
        keras.backend.backend(), " ".join(shlex.quote(a) for a in argv)
    )


def evaluate(args, argv=()) -> tuple[dict, bool]:
    """Evaluates `args.preset` (and its float32 reference); returns the
    updated card and whether the stored weights are within tolerance."""
    preset = Path(args.preset)
    card = publish.read_card(preset)
    key, x, y, source = _test_split(card, args.data_dir, args.limit)
    class_names = card.get("class_names") or [
        str(i) for i in range(card["num_classes"])
    ]
    main = evaluate_preset(preset, x, y, class_names, args.batch_size)
    sample = _sample_metrics(main["model"], key, args.batch_size)
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    card["metrics"] = {
        "test_accuracy": main["accuracy"],
        "test_loss": main["loss"],
        "test_images": int(len(y)),
        "test_files": publish.relative_to_repo(source),
        "per_class_accuracy": main["per_class_accuracy"],
        "sample": sample,
        "evaluated_with": _command(argv),
        "backend": keras.backend.backend(),
        "evaluated_at": now,
        "seconds": round(main["seconds"], 1),
    }
    ok = True
    storage = dict(card.get("storage") or {})
    on_disk = {
        name: publish.weight_dtypes(preset / name)
        for name in sorted(os.listdir(preset))
        if name.endswith(publish.WEIGHT_SUFFIX)
    }
    storage["dtypes_on_disk"] = on_disk
    reference = storage.get("float32_reference")
    if reference:
        ref_path = Path(reference["path"])
        if not ref_path.is_absolute():
            ref_path = publish.REPO_ROOT / ref_path
        if ref_path.is_dir():
            ref = evaluate_preset(ref_path, x, y, class_names, args.batch_size)
            reference = dict(reference)
            reference.update(
                {
                    "test_accuracy": ref["accuracy"],
                    "test_loss": ref["loss"],
                    "test_images": int(len(y)),
                    "evaluated_with": _command(argv),
                    "evaluated_at": now,
                }
            )
            storage["float32_reference"] = reference
        if reference.get("test_accuracy") is not None:
            delta = 100.0 * (main["accuracy"] - reference["test_accuracy"])
            tolerance = args.tolerance
            ok = abs(delta) <= tolerance + 1e-9
            storage["accuracy_change_points"] = round(delta, 4)
            storage["tolerance_points"] = tolerance
            storage["within_tolerance"] = ok
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
    except image_data.DatasetNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    metrics = card["metrics"]
    print(
        f"{card['model']} / {card['weights']}: test accuracy "
        f"{100 * metrics['test_accuracy']:.2f}% "
        f"(loss {metrics['test_loss']:.4f}) on {metrics['test_images']} "
        f"images [{metrics['backend']}]"
    )
    if metrics.get("sample"):
        print(
            f"bundled sample: {100 * metrics['sample']['accuracy']:.2f}% "
            f"of {metrics['sample']['images']}"
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
            "(train_image.py --storage float32)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
