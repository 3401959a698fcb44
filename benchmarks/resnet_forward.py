"""Forward-pass time of ResNet-50 with each attention module, and against
`keras.applications.ResNet50`.

Times inference of our `resnet50`, `se_resnet50`, `cbam_resnet50`,
`eca_resnet50` and `bam_resnet50` (224x224x3, 1000 classes), and of
`keras.applications.ResNet50(weights=None)`, in one process, at batch 1
and 32 (`--quick`: 1 and 8, fewer repeats). Every model runs the way Keras
runs inference, `model.predict_on_batch`, compiled with XLA / `jax.jit` on
TensorFlow and JAX (PyTorch runs eagerly: `torch.compile` takes minutes on
a CPU). Our classifiers are timed without their preprocessor (a functional
model over the same layers), as keras.applications has none. After warm-up
the models are timed in interleaved rounds, so drifting load on a shared
machine hits them alike; the table gives the median wall-clock time per
call, its ratio to our resnet50, and the median CPU time of the process
(all threads), which other processes disturb much less.

Note that keras.applications.ResNet50 is ResNet v1 (stride in the first
1x1 conv of a bottleneck: 3.9 GMACs), while ours is v1.5 as torchvision
(stride in the 3x3 conv: 4.1 GMACs), so ours does ~6% more work.

`--task audio` times the instrument-family models instead: `cnn10` and its
`se_`, `cbam_`, `eca_` and `bam_` variants on 1 s waveforms at 16 kHz (the
log-mel front end included), 11 classes, against `cnn10`
(`benchmarks/results/audio_forward.json`).

Usage:
    KERAS_BACKEND=jax python -m benchmarks.resnet_forward
    python -m benchmarks.resnet_forward --backend all --quick
    python -m benchmarks.resnet_forward --backend torch --json out.json
    python -m benchmarks.resnet_forward --task audio --backend all

This is a measurement script, not a test.
"""

from __future__ import annotations

import argparse

from benchmarks import timing

OURS = ("resnet50", "se_resnet50", "cbam_resnet50", "eca_resnet50")
OURS += ("bam_resnet50",)
KERAS_APPS = "keras.applications.ResNet50"
BASELINE = "resnet50"
SHAPE = (224, 224, 3)
# --task audio: the published instrument-family models, 1 s at 16 kHz.
AUDIO_MODELS = ("cnn10", "se_cnn10", "cbam_cnn10", "eca_cnn10", "bam_cnn10")
AUDIO_SHAPE = (16000,)
AUDIO_CLASSES = 11


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.resnet_forward",
        description=__doc__.split("\n")[0],
    )
    timing.add_common_arguments(parser)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="batch 1 and 8, 1 warm-up call, 3 rounds (a few minutes)",
    )
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", help="default: 1 32"
    )
    parser.add_argument("--warmup", type=int, help="default: 2")
    parser.add_argument("--repeats", type=int, help="rounds; default: 10")
    parser.add_argument(
        "--task",
        choices=("image", "audio"),
        default="image",
        help="image: the ResNet-50s at 224x224; audio: the CNN10s on 1 s "
        "waveforms",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        choices=(*OURS, KERAS_APPS, *AUDIO_MODELS),
    )
    args = parser.parse_args(argv)
    quick = args.quick
    if args.batch_sizes is None:
        args.batch_sizes = [1, 8] if quick else [1, 32]
    if args.warmup is None:
        args.warmup = 1 if quick else 2
    if args.repeats is None:
        args.repeats = 3 if quick else 10
    audio = args.task == "audio"
    args.baseline = AUDIO_MODELS[0] if audio else BASELINE
    args.shape = AUDIO_SHAPE if audio else SHAPE
    if args.models is None:
        args.models = list(AUDIO_MODELS) if audio else [*OURS, KERAS_APPS]
    allowed = AUDIO_MODELS if audio else (*OURS, KERAS_APPS)
    if any(m not in allowed for m in args.models):
        parser.error(f"--task {args.task} times only {', '.join(allowed)}")
    if args.baseline not in args.models:
        parser.error(f"--models must include {args.baseline} (the baseline)")
    return args


def _forward_args(args) -> list[str]:
    out = [
        f"--task={args.task}",
        "--batch-sizes",
        *map(str, args.batch_sizes),
        f"--warmup={args.warmup}",
        f"--repeats={args.repeats}",
        "--models",
        *args.models,
    ]
    return out + (["--no-jit"] if args.no_jit else [])


def build_models(args) -> dict:
    """Inference models without preprocessing, compiled for predict."""
    import keras

    from keras_attention import zoo
    from keras_attention.flops import count_macs

    models = {}
    for name in args.models:
        if name == KERAS_APPS:
            model = keras.applications.ResNet50(weights=None, input_shape=SHAPE)
        elif args.task == "audio":
            task = zoo.load(
                name,
                weights=None,
                num_classes=AUDIO_CLASSES,
                input_shape=args.shape,
            )
            model = keras.Model(task.input, task.output, name=name)
        else:
            task = zoo.load(name, weights=None, input_shape=SHAPE)
            # The same layers, without the task's preprocessor.
            model = keras.Model(task.input, task.output, name=name)
        model.compile(jit_compile=timing.jit_compile(args.no_jit))
        models[name] = {
            "model": model,
            "params": int(model.count_params()),
            "macs": count_macs(model, args.shape),
        }
    return models


def run_here(args) -> dict:
    import keras
    import numpy as np

    backend = keras.backend.backend()
    models = build_models(args)
    rng = np.random.default_rng(0)
    results = []
    low = -0.5 if args.task == "audio" else -2
    for batch in args.batch_sizes:
        x = rng.uniform(low, -low, (batch, *args.shape)).astype("float32")
        nets = {name: entry["model"] for name, entry in models.items()}
        times = timing.time_models(nets, x, args.warmup, args.repeats)
        medians = timing.medians_ms(times, args.baseline)
        apps = medians.get(KERAS_APPS)
        for name, row in medians.items():
            results.append(
                {
                    "backend": backend,
                    "model": name,
                    "batch": batch,
                    "params": models[name]["params"],
                    "macs": models[name]["macs"],
                    "ms": row["ms"],
                    "ratio_to_baseline": row["ratio"],
                    "cpu_ratio_to_baseline": row["cpu_ratio"],
                    "ratio_to_keras_applications": (
                        row["ms"] / apps["ms"] if apps else None
                    ),
                    "cpu_ms": row["cpu_ms"],
                    "samples_ms": row["samples_ms"],
                    "samples_cpu_ms": row["samples_cpu_ms"],
                }
            )
    return timing.report(
        __file__,
        _forward_args(args),
        timing.jit_compile(args.no_jit),
        args,
        task=args.task,
        baseline=args.baseline,
        input_shape=list(args.shape),
        batch_sizes=list(args.batch_sizes),
        results=results,
    )


def markdown_table(reports: list[dict]) -> str:
    base = reports[0].get("baseline", BASELINE)
    lines = [
        "| backend | jit | model | batch | GMACs | ms (median) "
        f"| / {base} | / keras.applications | CPU ms | CPU / {base} |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for report in reports:
        jit = "yes" if report["jit_compile"] else "no"
        for row in report["results"]:
            apps = row["ratio_to_keras_applications"]
            lines.append(
                f"| {row['backend']} | {jit} | {row['model']} | "
                f"{row['batch']} | {row['macs'] / 1e9:.2f} | "
                f"{row['ms']:.1f} | {row['ratio_to_baseline']:.3f} | "
                f"{'-' if apps is None else f'{apps:.3f}'} | "
                f"{row['cpu_ms']:.1f} | {row['cpu_ratio_to_baseline']:.3f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    reports, command = timing.reports_for(
        __file__, args.backend, _forward_args(args), lambda: run_here(args)
    )
    batches = ", ".join(map(str, args.batch_sizes))
    what = (
        "1 s waveforms at 16 kHz -> 11 classes"
        if args.task == "audio"
        else "224x224x3 -> 1000 classes"
    )
    print(
        f"Forward pass, {what}, batch {batches}; median "
        f"of {args.repeats} interleaved rounds after {args.warmup} warm-up "
        f"call(s); {reports[0]['machine']}.\n"
    )
    print(markdown_table(reports))
    print(f"\nCommand: {command}")
    timing.write_json(args.json, command, reports)


if __name__ == "__main__":
    main()
