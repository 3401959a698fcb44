"""Forward-pass overhead of each attention layer on a ResNet-sized map.

Times `Conv3x3(C) -> layer` against `Conv3x3(C)` alone on a
`(batch, 56, 56, 256)` input, so the ratio (time with the layer) / (time
without) says what the layer adds to a typical convolution. Every model is
compiled the way Keras runs inference (`model.predict_on_batch`, with XLA /
`jax.jit` on TensorFlow and JAX; PyTorch runs eagerly, as `torch.compile`
takes minutes on a CPU), warmed up, then timed in interleaved rounds; the
table reports the median wall-clock time per call and its ratio to the
baseline, and the same for the CPU time the process used (the sum over its
threads), which is much less disturbed by other processes on a shared
machine than the wall clock.

Usage:
    KERAS_BACKEND=jax python -m benchmarks.layer_overhead
    python -m benchmarks.layer_overhead --backend all --json results.json

This is a measurement script, not a test.
"""

from __future__ import annotations

import argparse

from benchmarks import timing

LAYERS = ("SqueezeExcite", "ChannelAttention", "SpatialAttention", "CBAM")
LAYERS += ("ECA", "BAM")
BASELINE = "none"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.layer_overhead",
        description=__doc__.split("\n")[0],
    )
    timing.add_common_arguments(parser)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=56, help="map height/width")
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--layers", nargs="+", default=list(LAYERS), choices=LAYERS
    )
    return parser.parse_args(argv)


def _forward_args(args) -> list[str]:
    out = [
        f"--batch={args.batch}",
        f"--size={args.size}",
        f"--channels={args.channels}",
        f"--warmup={args.warmup}",
        f"--repeats={args.repeats}",
        "--layers",
        *args.layers,
    ]
    return out + (["--no-jit"] if args.no_jit else [])


def build_models(args):
    import keras

    from keras_attention import layers as attention

    shape = (args.size, args.size, args.channels)
    models = {}
    for name in (BASELINE, *args.layers):
        inputs = keras.Input(shape=shape)
        x = keras.layers.Conv2D(args.channels, 3, padding="same")(inputs)
        if name != BASELINE:
            x = getattr(attention, name)()(x)
        model = keras.Model(inputs, x, name=f"conv_{name}")
        model.compile(jit_compile=timing.jit_compile(args.no_jit))
        models[name] = model
    return models


def run_here(args) -> dict:
    import keras
    import numpy as np

    backend = keras.backend.backend()
    models = build_models(args)
    rng = np.random.default_rng(0)
    shape = (args.batch, args.size, args.size, args.channels)
    x = rng.standard_normal(shape).astype("float32")
    times = timing.time_models(models, x, args.warmup, args.repeats)
    base_params = models[BASELINE].count_params()
    medians = timing.medians_ms(times, BASELINE)
    results = [
        {
            "backend": backend,
            "layer": name,
            "params_added": models[name].count_params() - base_params,
            **row,
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
        "| backend | jit | layer | params added | ms (median) | ratio "
        "| CPU ms (median) | CPU ratio |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for report in reports:
        jit = "yes" if report["jit_compile"] else "no"
        for row in report["results"]:
            layer = (
                f"Conv3x3({report['input_shape'][-1]}) only"
                if row["layer"] == BASELINE
                else row["layer"]
            )
            lines.append(
                f"| {row['backend']} | {jit} | {layer} | "
                f"{row['params_added']:,} | {row['ms']:.1f} | "
                f"{row['ratio']:.3f} | {row['cpu_ms']:.1f} | "
                f"{row['cpu_ratio']:.3f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    reports, command = timing.reports_for(
        __file__, args.backend, _forward_args(args), lambda: run_here(args)
    )
    shape = "x".join(str(d) for d in reports[0]["input_shape"])
    print(
        f"Forward pass of Conv3x3 -> layer vs Conv3x3 alone, input {shape}, "
        f"median of {args.repeats} (after {args.warmup} warm-up calls); "
        f"{reports[0]['machine']}.\n"
    )
    print(markdown_table(reports))
    print(f"\nCommand: {command}")
    timing.write_json(args.json, command, reports)


if __name__ == "__main__":
    main()
