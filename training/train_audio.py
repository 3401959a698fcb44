"""Train a catalog audio model and publish it as a keras-hub preset.

    python -m training.train_audio --model cbam_cnn10 --dataset instruments

One recipe for every audio model of the zoo (waveform in: the log-mel front
end is inside the model) and every backend (`KERAS_BACKEND`), through
`compile`/`fit`. It shares the image recipe's machinery
(`training/parser.py`, `fitting.py`, `backup.py`, `runs.py`):

- data (`training/audio_data.py`): the instrument-family dataset built by
  `training/build_instrument_dataset.py` (validation: held-out
  instruments; tests: held-out instruments and a held-out soundfont
  lineage), ESC-50 and UrbanSound8K (official folds, `--fold`, or
  `--cross-validation` for every fold and the mean), Speech Commands
  (official lists) or a folder of class folders;
- augmentation: mixup (`--mixup-alpha`), a random onset delay and gain on
  the waveform, and SpecAugment inside the model (time and frequency
  masks, active in training only);
- AdamW (or SGD) with decoupled weight decay, warmup then cosine decay;
  seeded data order and augmentation;
- a backup per epoch in `<run-dir>/backup` (`training.backup.Backup`,
  written atomically: rerun the same command to resume after the last
  finished epoch, even after `kill -9`), a CSV log and a PNG of the curves;
- bad audio files (undecodable, NaN/Inf samples) stop the run naming them,
  or are left out with one warning (`--skip-bad-files`); caches go to the
  library's cache folder, never into `--data-dir`;
- at the end: a float32 preset in `<run-dir>/preset_float32` and the
  published preset (default `zoo/<model>/<weights-name>`, float16 weight
  files) with a `model_card.json`. Test metrics are filled in by
  `python -m training.evaluate <preset dir>`.

`--init NAME_OR_DIR` starts from published weights (a new head when the
classes differ): the fine-tuning path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

from training import audio_data, image_data, publish
from training.common import (
    NO_DECAY,
    RecipeError,
    add_run_arguments,
    card_frame,
    check_all,
    check_model_task,
    fingerprint,
    finish_run,
    fit_run,
    precision_overrides,
    prepare_run_dir,
    print_outputs,
    recipe_command,
    recipe_parser,
    resolve_run_arguments,
    resumed_epoch,
    run_argument_checks,
    run_main,
    schedule_text,
)

DATASET_INFO = {
    "instruments": {
        "source": "rendered here from Debian's GM soundfonts by "
        "python -m training.build_instrument_dataset",
        "url": None,
        "license": "derived from the soundfonts (FluidR3_GM: MIT; "
        "MuseScore_General: MIT; TimGM6mb: GPL-2; sf_GMbank: LGPL-2.1)",
    },
    "esc50": {
        "source": "https://github.com/karolpiczak/ESC-50",
        "url": "https://github.com/karolpiczak/ESC-50",
        "license": "CC BY-NC 3.0",
    },
    "urbansound8k": {
        "source": "https://urbansounddataset.weebly.com/urbansound8k.html",
        "url": "https://urbansounddataset.weebly.com/urbansound8k.html",
        "license": "CC BY-NC 3.0",
    },
    "speech_commands": {
        "source": "https://www.tensorflow.org/datasets/catalog/speech_commands",
        "url": "https://arxiv.org/abs/1804.03209",
        "license": "CC BY 4.0",
    },
    "folder": {
        "source": "user-supplied folder of class folders",
        "url": None,
        "license": "user-supplied",
    },
}
WEIGHTS_LICENSE = "Apache-2.0"
# PANNs mask up to 64 frames of a 10 s clip (1001 frames): 6.4% of it. The
# same absolute width would blank out a short clip entirely.
PANNS_TIME_MASK = 64 / 1000
# The arguments that change the trained weights. Not
# `--skip-bad-files`: without bad files it changes nothing, and with them only
# a run that skips them gets past loading.
RECIPE_KEYS = (
    "model",
    "dataset",
    "init",
    "epochs",
    "batch_size",
    "optimizer",
    "lr",
    "weight_decay",
    "warmup_epochs",
    "sample_rate",
    "clip_seconds",
    "fold",
    "mixup_alpha",
    "max_shift",
    "gain_db",
    "no_spec_augment",
    "time_mask_seconds",
    "dropout",
    "block_dropout",
    "dtype_policy",
    "seed",
    "steps_per_epoch",
)


def build_parser() -> argparse.ArgumentParser:
    p = recipe_parser(
        "training.train_audio",
        __doc__,
        task="audio",
        datasets=audio_data.DATASETS,
        default_dataset="instruments",
        data_dir_help="dataset folder (instruments: "
        "~/.cache/keras_attention/datasets/instruments by default)",
    )
    p.add_argument(
        "--init",
        default=None,
        help="start from these weights (a zoo weights name or a preset "
        "directory); default: random initialisation",
    )
    add_run_arguments(p, epochs=10, batch_size=32, lr_help="peak LR")
    p.add_argument(
        "--sample-rate",
        type=int,
        default=None,
        help="model and resampling rate (default: the dataset's, "
        "instruments 16000, ESC-50/US8K 32000)",
    )
    p.add_argument(
        "--clip-seconds",
        type=float,
        default=None,
        help="example length (instruments: the first N s of each note)",
    )
    p.add_argument(
        "--fold", type=int, default=None, help="ESC-50/US8K test fold"
    )
    p.add_argument(
        "--cross-validation",
        action="store_true",
        help="ESC-50/US8K: train one model per fold (not published) and "
        "write the mean accuracy to <run-dir>/cross_validation.json",
    )
    p.add_argument("--mixup-alpha", type=float, default=0.2)
    p.add_argument(
        "--max-shift", type=float, default=0.05, help="onset delay (s)"
    )
    p.add_argument("--gain-db", type=float, default=6.0)
    p.add_argument(
        "--no-spec-augment",
        action="store_true",
        help="build the model without its SpecAugment layer",
    )
    p.add_argument(
        "--dropout",
        type=float,
        default=0.5,
        help="dropout around the embedding layer (PANNs: 0.5)",
    )
    p.add_argument(
        "--block-dropout",
        type=float,
        default=0.2,
        help="dropout after every conv block (PANNs CNNs: 0.2)",
    )
    p.add_argument(
        "--skip-bad-files",
        action="store_true",
        help="leave out audio files that cannot be decoded or hold NaN/Inf "
        "samples (one warning lists them); default: stop with an error "
        "naming them",
    )
    p.add_argument(
        "--time-mask-seconds",
        type=float,
        default=None,
        help="widest SpecAugment time mask (2 masks; 2 frequency masks of "
        "up to 8 mel bins). Default: 6.4%% of the clip, PANNs' 64 frames "
        "of a 10 s clip, scaled to --clip-seconds",
    )
    return p


def _check_args(args) -> None:
    check_model_task(args.model, "audio")
    checks = run_argument_checks(args) + [
        (
            args.clip_seconds is None or args.clip_seconds > 0,
            f"--clip-seconds must be > 0, got {args.clip_seconds}",
        ),
        (
            args.sample_rate is None or args.sample_rate >= 8000,
            f"--sample-rate must be >= 8000, got {args.sample_rate}",
        ),
        (
            args.mixup_alpha >= 0,
            f"--mixup-alpha must be >= 0, got {args.mixup_alpha}",
        ),
        (
            args.max_shift >= 0,
            f"--max-shift must be >= 0, got {args.max_shift}",
        ),
        (args.gain_db >= 0, f"--gain-db must be >= 0, got {args.gain_db}"),
        (
            0 <= args.dropout < 1 and 0 <= args.block_dropout < 1,
            f"--dropout and --block-dropout must be in [0, 1), got "
            f"{args.dropout} and {args.block_dropout}",
        ),
        (
            args.time_mask_seconds is None or args.time_mask_seconds >= 0,
            f"--time-mask-seconds must be >= 0, got {args.time_mask_seconds}",
        ),
        (
            args.fold is None or args.dataset in audio_data.NUM_FOLDS,
            f"--fold applies to {sorted(audio_data.NUM_FOLDS)}, not "
            f"{args.dataset}",
        ),
        (
            not args.cross_validation or args.dataset in audio_data.NUM_FOLDS,
            f"--cross-validation applies to {sorted(audio_data.NUM_FOLDS)}, "
            f"not {args.dataset}",
        ),
    ]
    if args.dataset != "instruments" and args.data_dir is None:
        checks.append(
            (False, f"--dataset {args.dataset} needs --data-dir (its folder)")
        )
    check_all(checks)


def resolve(args) -> argparse.Namespace:
    """Fills in the defaults that depend on other arguments."""
    _check_args(args)
    args = argparse.Namespace(**vars(args))
    rate, clip = audio_data.DEFAULT_AUDIO[args.dataset]
    args.sample_rate = args.sample_rate or rate
    args.clip_seconds = args.clip_seconds or clip
    if args.dataset in audio_data.NUM_FOLDS and args.fold is None:
        args.fold = audio_data.NUM_FOLDS[args.dataset]
    if args.time_mask_seconds is None:
        args.time_mask_seconds = round(PANNS_TIME_MASK * args.clip_seconds, 4)
    return resolve_run_arguments(args, args.dataset)


def recipe_of(args) -> dict:
    return {key: getattr(args, key) for key in RECIPE_KEYS}


def augment_of(args) -> audio_data.WaveAugment:
    return audio_data.WaveAugment(
        mixup_alpha=args.mixup_alpha,
        max_shift_seconds=args.max_shift,
        gain_db=args.gain_db,
    )


def build_model(args, class_names) -> keras.Model:
    """The classifier to train: random, or `--init` weights with a head
    for `class_names`."""
    from keras_attention import zoo

    keras.utils.set_random_seed(args.seed)
    overrides = {
        "class_names": list(class_names),
        "sample_rate": args.sample_rate,
        "clip_seconds": args.clip_seconds,
        "dropout": args.dropout,
    }
    if zoo.get_spec(args.model).family == "panns_cnn":
        overrides["block_dropout"] = args.block_dropout
    if args.no_spec_augment:
        overrides["spec_augment"] = False
    else:
        overrides["spec_augment"] = {
            "time_mask_width": time_mask_frames(args),
        }
    return zoo.load(
        args.model,
        weights=args.init,
        num_classes=len(class_names),
        **overrides,
        **precision_overrides(args.dtype_policy),
    )


def time_mask_frames(args) -> int:
    """`--time-mask-seconds` in frames of the model's front end."""
    from keras_attention.models.audio_backbone import front_end_defaults

    hop = front_end_defaults(args.sample_rate)["hop_length"]
    return max(1, int(round(args.time_mask_seconds * args.sample_rate / hop)))


def _front_end_card(model) -> dict:
    config = model.backbone.get_config()
    keys = (
        "sample_rate",
        "n_fft",
        "hop_length",
        "n_mels",
        "fmin",
        "fmax",
        "mel_scale",
        "spec_augment",
    )
    return {k: config[k] for k in keys if k in config}


def build_card(args, model, splits, command) -> dict:
    from keras_attention import zoo

    spec = zoo.get_spec(args.model)
    info = DATASET_INFO[args.dataset]
    head, tail = card_frame(
        args,
        "audio",
        {
            "family": spec.family,
            "attention": spec.attention,
            "description": spec.description,
            "params": int(model.count_params()),
        },
        {"weights": WEIGHTS_LICENSE, "dataset": info["license"]},
    )
    return {
        **head,
        "num_classes": len(splits.class_names),
        "class_names": list(splits.class_names),
        "dataset": {
            "name": splits.name,
            "key": args.dataset,
            "source": info["source"],
            "url": info["url"],
            "files": publish.relative_to_repo(splits.source),
            "splits": splits.sizes(),
            "split_notes": splits.notes,
            "fold": args.fold,
            "license": info["license"],
        },
        "preprocessing": {
            "input": "mono float waveform in [-1, 1]",
            "sample_rate": splits.sample_rate,
            "clip_seconds": splits.clip_seconds,
            "front_end": _front_end_card(model),
            "applied_by": "the model itself (log-mel front end inside the "
            "backbone); files are decoded, mixed down and resampled by "
            "keras_attention.audio.load_audio",
        },
        "input_shape": [None],
        "recipe": {
            "arguments": recipe_of(args),
            "optimizer": type(model.optimizer).__name__,
            "schedule": schedule_text(args),
            "weight_decay_excludes": NO_DECAY,
            "augmentation": augment_of(args).describe(splits.sample_rate),
            "loss": "categorical cross-entropy on (mixed) one-hot labels, "
            "from logits",
            "command": command,
            "script": "training/train_audio.py",
        },
        **tail,
    }


def load_splits(args) -> audio_data.AudioSplits:
    try:
        return audio_data.load_splits(
            args.dataset,
            args.data_dir,
            sample_rate=args.sample_rate,
            clip_seconds=args.clip_seconds,
            fold=args.fold,
            batch_size=args.batch_size,
            seed=args.seed,
            skip_bad_files=args.skip_bad_files,
        )
    except image_data.DatasetNotFoundError:
        raise
    except (ValueError, FileNotFoundError) as error:
        raise RecipeError(str(error)) from None


def train(args, callbacks=None, splits=None) -> dict:
    """Runs the recipe with resolved `args` (see `resolve`); returns the
    paths written (`run_dir`, `preset_float32`, `published`, `log`,
    `plot`) and the Keras history."""
    start = time.perf_counter()
    command = recipe_command("training.train_audio", args)
    splits = splits or load_splits(args)
    run_dir = Path(args.run_dir)
    prepare_run_dir(run_dir, recipe_of(args), args.fresh)

    model = build_model(args, splits.class_names)
    num_classes = len(splits.class_names)
    train_batches = audio_data.ClipBatches(
        splits.train,
        num_classes,
        args.batch_size,
        sample_rate=splits.sample_rate,
        augment=augment_of(args),
        shuffle=True,
        seed=args.seed,
        drop_remainder=True,
        epoch=resumed_epoch(run_dir / "backup"),
    )
    val_batches = audio_data.ClipBatches(
        splits.val,
        num_classes,
        max(args.batch_size, 64),
        sample_rate=splits.sample_rate,
    )
    fitted = fit_run(
        args,
        model,
        train_batches,
        val_batches,
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metric=keras.metrics.CategoricalAccuracy(name="accuracy"),
        callbacks=callbacks,
        title=f"{args.model} on {splits.name} ({keras.backend.backend()})",
    )
    card = build_card(args, model, splits, command)
    return finish_run(args, model, fitted, card, start)


def cross_validate(args, callbacks=None) -> dict:
    """One run per fold of ESC-50 / UrbanSound8K (float32 presets only, in
    `<run-dir>/fold<k>`); the summary holds every fold's final validation
    accuracy (the held-out fold) and their mean and standard deviation."""
    root = Path(args.run_dir)
    folds = {}
    for fold in range(1, audio_data.NUM_FOLDS[args.dataset] + 1):
        fold_args = argparse.Namespace(**vars(args))
        fold_args.fold = fold
        fold_args.no_publish = True
        fold_args.run_dir = str(root / f"fold{fold}")
        result = train(fold_args, callbacks=callbacks)
        folds[fold] = float(result["history"]["val_accuracy"][-1])
    values = list(folds.values())
    summary = {
        "model": args.model,
        "dataset": args.dataset,
        "recipe": {k: v for k, v in recipe_of(args).items() if k != "fold"},
        "recipe_fingerprint": fingerprint(recipe_of(args)),
        "fold_accuracy": folds,
        "mean_accuracy": statistics.fmean(values),
        "std_accuracy": statistics.pstdev(values),
        "backend": keras.backend.backend(),
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "cross_validation.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv=None) -> int:
    def run(args) -> int:
        if not args.cross_validation:
            print_outputs(train(args))
            return 0
        summary = cross_validate(args)
        print(json.dumps(summary["fold_accuracy"]))
        print(
            f"mean accuracy {100 * summary['mean_accuracy']:.2f}% "
            f"(std {100 * summary['std_accuracy']:.2f}) over "
            f"{len(summary['fold_accuracy'])} folds"
        )
        return 0

    argv = list(sys.argv[1:] if argv is None else argv)
    return run_main(
        build_parser(),
        resolve,
        run,
        argv,
        (image_data.DatasetNotFoundError,),
    )


if __name__ == "__main__":
    sys.exit(main())
