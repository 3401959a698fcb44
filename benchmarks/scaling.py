"""Cost against input length: `predict` and `explain` time and peak memory
at growing audio lengths and image sizes.

Each case runs in its own subprocess, the way `keras-attention predict` and
`explain` run it (`keras_attention.inference`, `keras_attention.viz.explain`),
on a file this script writes (a noise wav, a noise PNG) and a model with
random weights: the model is loaded and warmed up on the smallest input
first, then the process's peak RSS is reset (`/proc/self/clear_refs`) and
the case is timed, so the figures are the case's own: wall-clock seconds,
CPU seconds, peak RSS and its growth over the RSS before the case.

The report gives, for each kind, the time ratio per doubling of the input
between consecutive sizes (`(t2 / t1) ** (1 / log2(n2 / n1))`: 2 for a cost
linear in the length, 1 for a constant one) and a log-log slope over the
sizes from the second up (1 = linear), and draws a PNG plot with
`--plot`.

Usage:
    python -m benchmarks.scaling --json out.json --plot scaling.png
    KERAS_BACKEND=jax python -m benchmarks.scaling --seconds 1 10 60

This is a measurement script, not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

from benchmarks import timing

AUDIO_MODEL = "cnn6"
IMAGE_MODEL = "resnet18"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scaling",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument(
        "--seconds", type=float, nargs="+", default=[1, 10, 60, 600]
    )
    parser.add_argument(
        "--image-sizes", type=int, nargs="+", default=[256, 1024, 4096]
    )
    parser.add_argument("--audio-model", default=AUDIO_MODEL)
    parser.add_argument("--image-model", default=IMAGE_MODEL)
    parser.add_argument(
        "--commands",
        nargs="+",
        default=["predict", "explain"],
        choices=("predict", "explain"),
    )
    parser.add_argument("--json", metavar="PATH", help="write JSON here")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG here")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # in the child
    args = parser.parse_args(argv)
    if min(args.seconds) <= 0 or min(args.image_sizes) < 8:
        parser.error("--seconds must be > 0 and --image-sizes >= 8")
    return args


def _write_input(kind: str, size: float, directory: str, rate: int) -> str:
    import numpy as np

    rng = np.random.default_rng(0)
    if kind == "image":
        from PIL import Image

        path = os.path.join(directory, f"noise_{int(size)}.png")
        pixels = rng.integers(0, 256, (int(size), int(size), 3), "uint8")
        Image.fromarray(pixels).save(path)
        return path
    import wave

    path = os.path.join(directory, f"noise_{size:g}s.wav")
    samples = rng.integers(-3000, 3000, int(size * rate)).astype("<i2")
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.tobytes())
    return path


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _run_case(command, name, path, directory):
    from keras_attention import inference

    model, card = _LOADED[name]
    checked = inference.check_input(path, name)
    if command == "predict":
        batch = inference.load_input(*checked, model, card, name)
        model.predict(batch, verbose=0)
        return
    from keras_attention.viz.explain import explain_figure, save_figure

    fig, title, _ = explain_figure(model, checked, name, card)
    save_figure(fig, os.path.join(directory, "figure.png"), title)
    import matplotlib.pyplot as plt

    plt.close(fig)


_LOADED: dict = {}


def child(case: dict) -> dict:
    """One timed case in this process (see the module docstring)."""
    import time

    from keras_attention import inference
    from keras_attention.zoo import registry

    name, kind = case["model"], case["kind"]
    model, card = inference.load_classifier(
        name, "none", case["command"], note=lambda _: None
    )
    _LOADED[name] = (model, card)
    rate = 1
    if kind == "audio":
        rate = inference.audio_sample_rate(model, card)
    del registry
    with tempfile.TemporaryDirectory() as directory:
        warm = _write_input(kind, case["warmup_size"], directory, rate)
        _run_case(case["command"], name, warm, directory)
        path = _write_input(kind, case["size"], directory, rate)
        before = _rss_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak RSS
        wall, cpu = time.perf_counter(), time.process_time()
        _run_case(case["command"], name, path, directory)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        peak = _rss_kib("VmHWM")
    return {
        **case,
        "seconds": wall,
        "cpu_seconds": cpu,
        "rss_before_mib": before / 1024,
        "peak_rss_mib": peak / 1024,
        "peak_growth_mib": (peak - before) / 1024,
    }


def _spawn(case: dict) -> dict:
    env = {**os.environ}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    cmd = [sys.executable, "-m", "benchmarks.scaling", "--case"]
    proc = subprocess.run(
        [*cmd, json.dumps(case)],
        env=env,
        cwd=timing.REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"case {case} failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def doubling_ratios(rows: list[dict], key: str = "seconds") -> list[float]:
    """`(v2 / v1) ** (1 / log2(n2 / n1))` between consecutive sizes `n`
    (the input's length in samples or pixels): 2.0 when `key` grows
    linearly with the input, 1.0 when it stays constant."""
    out = []
    for a, b in zip(rows, rows[1:], strict=False):
        doublings = math.log2(b["input_units"] / a["input_units"])
        out.append((b[key] / a[key]) ** (1 / doublings))
    return out


def loglog_slope(rows: list[dict], key: str = "seconds") -> float | None:
    """The least-squares slope of log(`key`) against log(input size) over
    the rows from the second up (the first carries the fixed costs)."""
    rows = rows[1:] if len(rows) > 2 else rows
    if len(rows) < 2:
        return None
    xs = [math.log(r["input_units"]) for r in rows]
    ys = [math.log(r[key]) for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return num / sum((x - mx) ** 2 for x in xs)


def summarize(rows: list[dict]) -> list[dict]:
    groups = {}
    for row in rows:
        groups.setdefault((row["kind"], row["command"]), []).append(row)
    return [
        {
            "kind": kind,
            "command": command,
            "model": group[0]["model"],
            "sizes": [r["size"] for r in group],
            "time_ratio_per_doubling": doubling_ratios(group),
            "time_loglog_slope": loglog_slope(group),
            "peak_growth_mib": [r["peak_growth_mib"] for r in group],
        }
        for (kind, command), group in groups.items()
    ]


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({r["kind"] for r in rows})
    fig, axes = plt.subplots(2, len(kinds), figsize=(5 * len(kinds), 6.5))
    axes = [tuple(axes)] if len(kinds) == 1 else axes.T
    for (ax_time, ax_mem), kind in zip(axes, kinds, strict=True):
        for command in ("predict", "explain"):
            group = [
                r for r in rows if r["kind"] == kind and r["command"] == command
            ]
            if not group:
                continue
            sizes = [r["size"] for r in group]
            ax_time.loglog(sizes, [r["seconds"] for r in group], "o-")
            ax_mem.semilogx(sizes, [r["peak_rss_mib"] for r in group], "o-")
            ax_time.lines[-1].set_label(command)
        unit = "audio (s)" if kind == "audio" else "image side (px)"
        model = next(r["model"] for r in rows if r["kind"] == kind)
        ax_time.set(ylabel="seconds", title=f"{kind}: {model}")
        ax_mem.set(xlabel=unit, ylabel="peak RSS (MiB)")
        ax_time.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.case:
        print(json.dumps(child(json.loads(args.case))))
        return
    import keras

    cases = []
    for kind, sizes, model in (
        ("audio", sorted(args.seconds), args.audio_model),
        ("image", sorted(args.image_sizes), args.image_model),
    ):
        for command in args.commands:
            for size in sizes:
                units = size if kind == "audio" else size * size
                cases.append(
                    {
                        "kind": kind,
                        "command": command,
                        "model": model,
                        "size": size,
                        "input_units": units,
                        "warmup_size": sizes[0],
                    }
                )
    rows = []
    for case in cases:
        print(
            f"# {case['command']} {case['kind']} {case['size']}",
            file=sys.stderr,
            flush=True,
        )
        rows.append(_spawn(case))
    forward = [
        *("--seconds", *map(str, args.seconds)),
        *("--image-sizes", *map(str, args.image_sizes)),
        *("--commands", *args.commands),
    ]
    backend = keras.backend.backend()
    command = timing.command_line(__file__, backend, forward)
    report = {
        "command": command,
        "backend": backend,
        "keras": keras.__version__,
        "machine": timing.machine(),
        "warmup": 1,
        "repeats": 1,
        "input_shape": [],
        "results": rows,
        "summary": summarize(rows),
    }
    print(markdown_table(report))
    print(f"\nCommand: {command}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, "reports": [report]}, f, indent=2)
    if args.plot:
        plot(rows, args.plot)


def markdown_table(report: dict) -> str:
    lines = [
        "| input | command | size | seconds | CPU s | peak RSS MiB "
        "| peak growth MiB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        unit = "s" if r["kind"] == "audio" else "px"
        lines.append(
            f"| {r['kind']} ({r['model']}) | {r['command']} | "
            f"{r['size']:g} {unit} | {r['seconds']:.2f} | "
            f"{r['cpu_seconds']:.2f} | {r['peak_rss_mib']:.0f} | "
            f"{r['peak_growth_mib']:.0f} |"
        )
    lines += [
        "",
        "| input | command | time ratio per doubling | log-log slope |",
        "|---|---|---|---:|",
    ]
    for s in report["summary"]:
        ratios = ", ".join(f"{v:.2f}" for v in s["time_ratio_per_doubling"])
        slope = s["time_loglog_slope"]
        lines.append(
            f"| {s['kind']} ({s['model']}) | {s['command']} | {ratios} | "
            f"{'-' if slope is None else f'{slope:.2f}'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
