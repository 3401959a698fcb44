"""`keras-attention demo`: pretrained CBAM-ResNet-18, offline, end to end.

1. loads `cbam_resnet18` with its published Fashion-MNIST weights
   (`keras_attention.zoo.load("cbam_resnet18")`, no network);
2. predicts the bundled sample of Fashion-MNIST test images
   (`keras_attention/data/samples/fashion_mnist_sample.npz`) and reports
   its accuracy;
3. fine-tunes a new 5-class head (`zoo.load(..., num_classes=5)`) with
   `model.fit` on part of a 5-class subset of the sample, and reports the
   accuracy on the rest before and after;
4. saves the fine-tuned model as `.keras`, reloads it and checks the
   reloaded predictions equal the original ones;
5. writes a figure: sample images with true and predicted labels;
6. loads the pretrained audio model `cbam_cnn10` (waveform in) and names
   the instrument family of the bundled clips
   (`keras_attention/data/samples/instruments/`, notes of a soundfont held
   out from its training).

Without published weights it says so and falls back to random
initialisation (the numbers are then chance level). The samples ship in
the package (`keras_attention.data`).

Run: `keras-attention demo [--out DIR] [--epochs N] [--seed S]` (`make
demo`), or `python -m keras_attention.demo`.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from pathlib import Path

MODEL = "cbam_resnet18"
FINE_TUNE_CLASSES = 5
AUDIO_MODEL = "cbam_cnn10"
FINE_TUNE_TRAIN_PER_CLASS = 20


def sample_path() -> Path:
    """The bundled Fashion-MNIST sample, in the package
    (`keras_attention.data`)."""
    from keras_attention.data import samples_dir

    return samples_dir() / "fashion_mnist_sample.npz"


def clips_dir() -> Path:
    """The folder of the bundled instrument clips, in the package."""
    from keras_attention.data import samples_dir

    return samples_dir() / "instruments"


def _shown(path: Path) -> Path:
    """`path` relative to the working folder when it is below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="keras-attention demo", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--out",
        default=os.path.join("runs", "demo"),
        help=(
            "folder for the figure and the saved .keras model (default: "
            "runs/demo)"
        ),
    )
    p.add_argument("--epochs", type=int, default=8, help="fine-tuning epochs")
    p.add_argument("--seed", type=int, default=0)
    return p


def load_sample(path=None):
    """Images (uint8, n x 28 x 28 x 1), labels and class names of the
    bundled sample (`sample_path()` by default)."""
    import numpy as np

    path = sample_path() if path is None else path
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"The bundled sample {path} is missing; recreate it with "
            "`python training/make_samples.py` (needs the "
            "dataset-fashion-mnist package)."
        )
    with np.load(path) as data:
        return (
            data["images"],
            data["labels"].astype("int32"),
            [str(c) for c in data["class_names"]],
        )


def accuracy(model, images, labels) -> float:
    import numpy as np

    logits = model.predict(images, batch_size=100, verbose=0)
    return float((np.argmax(logits, axis=-1) == labels).mean())


def split_fine_tune(
    labels, classes=FINE_TUNE_CLASSES, per_class=FINE_TUNE_TRAIN_PER_CLASS
):
    """Indices of the first `per_class` images of each of the first
    `classes` classes (train) and the remaining ones of those classes
    (held out)."""
    import numpy as np

    train, held = [], []
    for label in range(classes):
        where = np.flatnonzero(labels == label)
        train.extend(where[:per_class])
        held.extend(where[per_class:])
    return np.array(sorted(train)), np.array(sorted(held))


def save_figure(
    images, labels, predictions, class_names, path, title=""
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(24, len(images))
    cols = 8
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.9))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i].squeeze(), cmap="gray", vmin=0, vmax=255)
        ok = predictions[i] == labels[i]
        ax.set_title(
            f"{class_names[predictions[i]]}\n(true: {class_names[labels[i]]})",
            fontsize=7,
            color="green" if ok else "red",
        )
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    # A missing sample fails before the models are built.
    images, labels, class_names = load_sample()
    import warnings

    # Keras notes that are expected here: fit on in-memory arrays (no
    # shuffle through tf.data) and reloading a model saved mid-fine-tune.
    for message in (
        "`shuffle=True` was passed",
        "`compile()` was not called as part of model loading",
        "Skipping variable loading for optimizer",
    ):
        warnings.filterwarnings("ignore", message=f".*{re.escape(message)}")
    import keras
    import numpy as np

    from keras_attention import zoo

    keras.utils.set_random_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"backend: {keras.backend.backend()}")
    print(
        f"sample: {len(labels)} Fashion-MNIST test images "
        f"({_shown(sample_path())})"
    )

    # 1. Pretrained model, offline.
    published = zoo.published_weights(MODEL)
    if published:
        weights = next(iter(published))
        card = published[weights]
        model = zoo.load(MODEL)
        card_acc = (card.get("metrics") or {}).get("test_accuracy")
        print(
            f"loaded {MODEL} weights {weights!r} from {card['path']}"
            + (
                f" (card: {100 * card_acc:.2f}% on the full test set)"
                if card_acc is not None
                else ""
            )
        )
    else:
        print(
            f"NOTE: no published weights for {MODEL} under "
            f"{zoo.zoo_dir()} yet; FALLING BACK TO RANDOM INITIALISATION "
            "(accuracies below are chance level). Train them with "
            "`bash training/train_ablation.sh`."
        )
        model = zoo.load(
            MODEL,
            weights=None,
            num_classes=len(class_names),
            class_names=class_names,
        )

    # 2. Accuracy on the bundled sample.
    logits = model.predict(images, batch_size=100, verbose=0)
    predictions = np.argmax(logits, axis=-1)
    sample_acc = float((predictions == labels).mean())
    what = "pretrained" if published else "random-init"
    print(f"{what} accuracy on the sample: {100 * sample_acc:.2f}%")
    figure = save_figure(
        images,
        labels,
        predictions,
        class_names,
        out / "sample_predictions.png",
        title=f"{MODEL}: {100 * sample_acc:.1f}% on {len(labels)} sample "
        "images (green: right, red: wrong)",
    )

    # 3. Fine-tune a new 5-class head.
    train_idx, held_idx = split_fine_tune(labels)
    if published:
        tuned = zoo.load(MODEL, num_classes=FINE_TUNE_CLASSES)
    else:
        tuned = zoo.load(MODEL, weights=None, num_classes=FINE_TUNE_CLASSES)
    tuned.backbone.trainable = False
    tuned.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    x_train, y_train = images[train_idx], labels[train_idx]
    x_held, y_held = images[held_idx], labels[held_idx]
    before = accuracy(tuned, x_held, y_held)
    history = tuned.fit(
        x_train, y_train, batch_size=20, epochs=args.epochs, verbose=0
    )
    after = accuracy(tuned, x_held, y_held)
    print(
        f"fine-tuning a new {FINE_TUNE_CLASSES}-class head on "
        f"{len(train_idx)} images ({args.epochs} epochs, backbone frozen): "
        f"held-out accuracy {100 * before:.2f}% -> {100 * after:.2f}% "
        f"({len(held_idx)} images; final train loss "
        f"{history.history['loss'][-1]:.3f})"
    )

    # 4. Save, reload, compare.
    saved = out / f"{MODEL}_finetuned.keras"
    tuned.save(saved)
    reloaded = keras.saving.load_model(saved)
    a = tuned.predict(x_held, batch_size=100, verbose=0)
    b = reloaded.predict(x_held, batch_size=100, verbose=0)
    same = bool(np.allclose(a, b, atol=1e-5, rtol=1e-5))
    print(
        f"saved {saved} ({saved.stat().st_size / 2**20:.1f} MiB); reloaded "
        f"predictions {'equal' if same else 'DIFFER'} "
        f"(max |diff| {float(np.max(np.abs(a - b))):.2e})"
    )
    print(f"figure: {figure}")
    audio_demo()
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0 if same else 1


def labelled_clips(folder: Path, class_names) -> tuple[list[Path], list]:
    """The clips listed in `folder/demo_clips.csv` (columns `filename`
    and `family`) and their labels, as indices into `class_names`."""
    with open(folder / "demo_clips.csv", newline="") as index:
        rows = [(r["filename"], r["family"]) for r in csv.DictReader(index)]
    order = {str(name): i for i, name in enumerate(class_names)}
    return [folder / f for f, _ in rows], [order[c] for _, c in rows]


def audio_demo() -> float | None:
    """Step 6: the pretrained audio model on the bundled clips; returns
    its accuracy (None without published audio weights)."""
    import numpy as np

    from keras_attention import zoo
    from keras_attention.audio import load_audio

    published = zoo.published_weights(AUDIO_MODEL)
    if not published:
        print(
            f"NOTE: no published weights for {AUDIO_MODEL} yet; skipping "
            "the audio step (RECIPE=audio bash training/train_ablation.sh)."
        )
        return None
    model = zoo.load(AUDIO_MODEL)
    names = model.class_names
    clips = clips_dir()
    files, labels = labelled_clips(clips, names)
    rate = model.backbone.sample_rate
    waves = np.stack([load_audio(f, sample_rate=rate) for f in files])
    predictions = model.predict(waves, verbose=0).argmax(axis=-1)
    acc = float((predictions == np.asarray(labels)).mean())
    print(
        f"{AUDIO_MODEL} (pretrained, waveform in) names the instrument "
        f"family of {100 * acc:.1f}% of {len(files)} bundled clips "
        f"({_shown(clips)}, a held-out soundfont), e.g.:"
    )
    for i in range(0, len(files), 5):
        print(
            f"  {files[i].name}: {names[predictions[i]]} "
            f"(true: {names[labels[i]]})"
        )
    return acc


if __name__ == "__main__":
    sys.exit(main())
