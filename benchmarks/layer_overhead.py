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
    KERAS_BACKEND=jax python benchmarks/layer_overhead.py
    python benchmarks/layer_overhead.py --backend all --json results.json

This is a measurement script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

BACKENDS = ("tensorflow", "jax", "torch")
LAYERS = ("SqueezeExcite", "ChannelAttention", "SpatialAttention", "CBAM")
LAYERS += ("ECA", "BAM")
BASELINE = "none"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backend",
        default=None,
        choices=(*BACKENDS, "all"),
        help="Backend to time; 'all' runs each in a subprocess. Defaults "
        "to KERAS_BACKEND (or Keras' default).",
    )
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=56, help="map height/width")
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--layers", nargs="+", default=list(LAYERS), choices=LAYERS
    )
    parser.add_argument(
        "--no-jit", action="store_true", help="disable XLA / jax.jit"
    )
    parser.add_argument("--json", metavar="PATH", help="also write JSON here")
    return parser.parse_args(argv)


def command_line(backend: str | None) -> str:
    prefix = f"KERAS_BACKEND={backend} " if backend else ""
    script = os.path.relpath(os.path.abspath(__file__))
    return prefix + shlex.join(["python", script, *sys.argv[1:]])


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


def run_in_subprocess(backend: str, args) -> dict:
    """Runs this script under `backend` and returns its JSON report."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "report.json")
        env = {**os.environ, "KERAS_BACKEND": backend}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            f"--backend={backend}",
            *_forward_args(args),
            f"--json={path}",
        ]
        print(f"# running {backend} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"{backend} run failed ({proc.returncode})")
        with open(path) as f:
            report = json.load(f)["reports"][0]
    script = os.path.relpath(os.path.abspath(__file__))
    report["command"] = f"KERAS_BACKEND={backend} " + shlex.join(
        ["python", script, *_forward_args(args)]
    )
    return report


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
        model.compile(jit_compile=jit_compile(args))
        models[name] = model
    return models


def jit_compile(args) -> bool:
    import keras

    return not args.no_jit and keras.backend.backend() != "torch"


def time_models(models: dict, x, warmup: int, repeats: int) -> dict:
    """Warms every model up, then times one call of each per round,
    rotating the order so drifting load hits all models alike.

    Returns `{name: (wall_seconds, cpu_seconds)}`: wall-clock latency, and
    the CPU time of this process (all its threads), which other processes
    on a shared machine disturb much less.
    """
    for model in models.values():
        for _ in range(warmup):
            model.predict_on_batch(x)
    names = list(models)
    times = {name: ([], []) for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            wall, cpu = time.perf_counter(), time.process_time()
            models[name].predict_on_batch(x)
            times[name][0].append(time.perf_counter() - wall)
            times[name][1].append(time.process_time() - cpu)
    return times


def run_here(args) -> dict:
    import keras
    import numpy as np

    backend = keras.backend.backend()
    models = build_models(args)
    rng = np.random.default_rng(0)
    shape = (args.batch, args.size, args.size, args.channels)
    x = rng.standard_normal(shape).astype("float32")
    times = time_models(models, x, args.warmup, args.repeats)
    base_params = models[BASELINE].count_params()
    base_ms = 1e3 * statistics.median(times[BASELINE][0])
    base_cpu_ms = 1e3 * statistics.median(times[BASELINE][1])
    results = []
    for name, (wall, cpu) in times.items():
        ms = 1e3 * statistics.median(wall)
        cpu_ms = 1e3 * statistics.median(cpu)
        results.append(
            {
                "backend": backend,
                "layer": name,
                "params_added": models[name].count_params() - base_params,
                "ms": ms,
                "ratio": ms / base_ms,
                "cpu_ms": cpu_ms,
                "cpu_ratio": cpu_ms / base_cpu_ms,
                "samples_ms": [1e3 * t for t in wall],
                "samples_cpu_ms": [1e3 * t for t in cpu],
            }
        )
    return {
        "command": command_line(backend),
        "backend": backend,
        "jit_compile": jit_compile(args),
        "keras": keras.__version__,
        "input_shape": list(shape),
        "warmup": args.warmup,
        "repeats": args.repeats,
        "machine": f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs",
        "results": results,
    }


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
    current = os.environ.get("KERAS_BACKEND")
    if args.backend == "all":
        reports = [run_in_subprocess(b, args) for b in BACKENDS]
        command = command_line(None)
    elif args.backend and args.backend != current:
        reports = [run_in_subprocess(args.backend, args)]
        command = command_line(None)
    else:
        reports = [run_here(args)]
        command = reports[0]["command"]
    shape = "x".join(str(d) for d in reports[0]["input_shape"])
    print(
        f"Forward pass of Conv3x3 -> layer vs Conv3x3 alone, input {shape}, "
        f"median of {args.repeats} (after {args.warmup} warm-up calls); "
        f"{reports[0]['machine']}.\n"
    )
    print(markdown_table(reports))
    print(f"\nCommand: {command}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, "reports": reports}, f, indent=2)


if __name__ == "__main__":
    main()
