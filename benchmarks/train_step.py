"""Training-step time of the image models at several input sizes: what a
Fashion-MNIST budget costs on this machine.

Times `model.train_on_batch` (AdamW, sparse categorical cross-entropy, and
Keras' default `jit_compile="auto"`, the way `training/train_image.py`
compiles) of each model at each input size and dtype policy (`float32`, or mixed
precision such as `mixed_bfloat16`: the recipe's `--dtype-policy`),
after warm-up, in interleaved rounds; reports the median seconds per step,
images per second, the estimated seconds per Fashion-MNIST epoch (55,000
training images, the model alone, without the data pipeline), each
step time's ratio to the first size's and to the first policy's. The
models are the classifiers without their preprocessor, as the recipe feeds
preprocessed batches.

Usage:
    KERAS_BACKEND=tensorflow python -m benchmarks.train_step
    python -m benchmarks.train_step --backend all --models resnet18 \
        --image-sizes 32 64 --dtype-policies float32 mixed_bfloat16

This is a measurement script, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks import timing

EPOCH_IMAGES = 55_000
NUM_CLASSES = 10
DTYPE_POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.train_step",
        description=__doc__.split("\n")[0],
    )
    timing.add_common_arguments(parser)
    parser.add_argument(
        "--models", nargs="+", default=["resnet18", "cbam_resnet18"]
    )
    parser.add_argument(
        "--image-sizes", type=int, nargs="+", default=[32, 48, 64]
    )
    parser.add_argument(
        "--dtype-policies",
        nargs="+",
        default=["float32"],
        choices=DTYPE_POLICIES,
        help="Keras dtype policies to time (mixed precision keeps float32 "
        "variables and a float32 head)",
    )
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if any(size < 32 for size in args.image_sizes):
        parser.error("--image-sizes must be >= 32 (the ResNets' minimum)")
    return args


def _forward_args(args) -> list[str]:
    out = ["--models", *args.models, "--image-sizes"]
    out += [*map(str, args.image_sizes), f"--batch={args.batch}"]
    out += ["--dtype-policies", *args.dtype_policies]
    out += [f"--warmup={args.warmup}", f"--repeats={args.repeats}"]
    return out + (["--no-jit"] if args.no_jit else [])


def build(name: str, size: int, policy: str, no_jit: bool):
    import keras

    from keras_attention import zoo

    task = zoo.load(
        name,
        weights=None,
        num_classes=NUM_CLASSES,
        input_shape=(size, size, 3),
        dtype=policy,
        head_dtype="float32",
    )
    model = keras.Model(task.input, task.output, name=f"{name}_{size}_{policy}")
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        # Keras' default, as in the recipe: "auto" leaves XLA off for
        # TensorFlow on a CPU-only machine (forcing it there makes a
        # ResNet-18 training step 5 to 10 times slower) and on JAX on.
        jit_compile=False if no_jit else "auto",
    )
    return model


def run_here(args) -> dict:
    import keras
    import numpy as np

    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    labels = rng.integers(0, NUM_CLASSES, args.batch)
    cases = {}
    for name in args.models:
        for size in args.image_sizes:
            shape = (args.batch, size, size, 3)
            x = rng.standard_normal(shape).astype("float32")
            for policy in args.dtype_policies:
                model = build(name, size, policy, args.no_jit)
                cases[(name, size, policy)] = (model, x)
    for model, x in cases.values():
        for _ in range(args.warmup):
            model.train_on_batch(x, labels)
    seconds = {key: [] for key in cases}
    keys = list(cases)
    for r in range(args.repeats):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            model, x = cases[key]
            start = time.perf_counter()
            model.train_on_batch(x, labels)
            seconds[key].append(time.perf_counter() - start)
    median = {key: statistics.median(s) for key, s in seconds.items()}
    first_size, first_policy = args.image_sizes[0], args.dtype_policies[0]
    results = []
    for (name, size, policy), samples in seconds.items():
        step = median[(name, size, policy)]
        results.append(
            {
                "backend": backend,
                "model": name,
                "image_size": size,
                "dtype_policy": policy,
                "batch": args.batch,
                "s_per_step": step,
                "images_per_s": args.batch / step,
                "epoch_seconds": EPOCH_IMAGES / args.batch * step,
                "ratio_to_first_size": step
                / median[(name, first_size, policy)],
                "ratio_to_first_policy": (
                    step / median[(name, size, first_policy)]
                ),
                "samples_s": samples,
            }
        )
    jit = next(iter(cases.values()))[0].jit_compile
    return timing.report(
        __file__, _forward_args(args), jit, args, results=results
    )


def markdown_table(reports: list[dict]) -> str:
    lines = [
        "| backend | model | input | dtype policy | batch | s/step (median) "
        "| images/s | s per 55k epoch | ratio to first size "
        "| ratio to first policy |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for report in reports:
        for r in report["results"]:
            lines.append(
                f"| {r['backend']} | {r['model']} | {r['image_size']} | "
                f"{r['dtype_policy']} | {r['batch']} | "
                f"{r['s_per_step']:.3f} | {r['images_per_s']:.0f} | "
                f"{r['epoch_seconds']:.0f} | "
                f"{r['ratio_to_first_size']:.2f} | "
                f"{r['ratio_to_first_policy']:.2f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    reports, command = timing.reports_for(
        __file__, args.backend, _forward_args(args), lambda: run_here(args)
    )
    print(
        f"Training step (train_on_batch), batch {args.batch}, median of "
        f"{args.repeats} interleaved rounds after {args.warmup} warm-up "
        f"steps; {reports[0]['machine']}.\n"
    )
    print(markdown_table(reports))
    print(f"\nCommand: {command}")
    timing.write_json(args.json, command, reports)


if __name__ == "__main__":
    main()
