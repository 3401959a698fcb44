"""A 3x3 convolution on maps smaller than its kernel (the last stage of a
ResNet at 64x64 input): `keras.layers.Conv2D` against the zoo's
`keras_attention.layers.conv.Conv2D`, which JAX runs as a matrix product
there (XLA:CPU's own path for this shape is about 100x slower).

Times one inference call (`predict_on_batch`) and one training step
(`train_on_batch`, SGD, mean squared error) of each, warmed up, in
interleaved rounds; reports medians and the ratio ours / Keras'.

Usage:
    KERAS_BACKEND=jax python -m benchmarks.tiny_conv
    python -m benchmarks.tiny_conv --backend all --json results.json

This is a measurement script, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks import timing

BASELINE = "keras"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tiny_conv",
        description=__doc__.split("\n")[0],
    )
    timing.add_common_arguments(parser)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=2, help="map height/width")
    parser.add_argument("--channels", type=int, default=512)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    return parser.parse_args(argv)


def _forward_args(args) -> list[str]:
    out = [f"--batch={args.batch}", f"--size={args.size}"]
    out += [f"--channels={args.channels}", f"--warmup={args.warmup}"]
    out += [f"--repeats={args.repeats}"]
    return out + (["--no-jit"] if args.no_jit else [])


def build_models(args) -> dict:
    import keras

    from keras_attention.layers.conv import Conv2D

    shape = (args.size, args.size, args.channels)
    models = {}
    for name, cls in ((BASELINE, keras.layers.Conv2D), ("ours", Conv2D)):
        inputs = keras.Input(shape=shape)
        conv = cls(args.channels, 3, padding="same", use_bias=False)
        model = keras.Model(inputs, conv(inputs), name=f"conv_{name}")
        model.compile(
            optimizer="sgd",
            loss="mse",
            jit_compile=timing.jit_compile(args.no_jit),
        )
        models[name] = model
    return models


def _time_steps(models: dict, x, warmup: int, repeats: int) -> dict:
    """Median seconds of one `train_on_batch` per model, interleaved."""
    for model in models.values():
        for _ in range(warmup):
            model.train_on_batch(x, x)
    seconds = {name: [] for name in models}
    names = list(models)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            models[name].train_on_batch(x, x)
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in seconds.items()}


def run_here(args) -> dict:
    import keras
    import numpy as np

    models = build_models(args)
    shape = (args.batch, args.size, args.size, args.channels)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    medians = timing.medians_ms(
        timing.time_models(models, x, args.warmup, args.repeats), BASELINE
    )
    steps = _time_steps(models, x, args.warmup, args.repeats)
    results = [
        {
            "backend": keras.backend.backend(),
            "conv": name,
            **row,
            "step_ms": 1e3 * steps[name],
            "step_ratio": steps[name] / steps[BASELINE],
        }
        for name, row in medians.items()
    ]
    return timing.report(
        __file__,
        _forward_args(args),
        timing.jit_compile(args.no_jit),
        args,
        input_shape=list(shape),
        results=results,
    )


def markdown_table(reports: list[dict]) -> str:
    lines = [
        "| backend | conv | predict ms | ratio | train step ms | ratio |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for report in reports:
        for row in report["results"]:
            lines.append(
                f"| {row['backend']} | {row['conv']} | {row['ms']:.1f} | "
                f"{row['ratio']:.3f} | {row['step_ms']:.1f} | "
                f"{row['step_ratio']:.3f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    reports, command = timing.reports_for(
        __file__, args.backend, _forward_args(args), lambda: run_here(args)
    )
    shape = "x".join(str(d) for d in reports[0]["input_shape"])
    print(
        f"3x3 conv on {shape}: Keras' Conv2D vs ours, median of "
        f"{args.repeats}; {reports[0]['machine']}.\n"
    )
    print(markdown_table(reports))
    print(f"\nCommand: {command}")
    timing.write_json(args.json, command, reports)


if __name__ == "__main__":
    main()
