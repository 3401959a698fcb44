"""What the benchmark scripts share: the backend switch (each backend in its
own process), interleaved timing of several models, and the report files.

Not a benchmark itself; the scripts import it as `benchmarks.timing` (run
them as modules from the repository root: `python -m benchmarks.X`).
"""

from __future__ import annotations

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


def add_common_arguments(parser) -> None:
    """`--backend`, `--no-jit` and `--json`."""
    parser.add_argument(
        "--backend",
        default=None,
        choices=(*BACKENDS, "all"),
        help="Backend to time; 'all' runs each in a subprocess. Defaults "
        "to KERAS_BACKEND (or Keras' default).",
    )
    parser.add_argument(
        "--no-jit", action="store_true", help="disable XLA / jax.jit"
    )
    parser.add_argument("--json", metavar="PATH", help="also write JSON here")


def jit_compile(no_jit: bool) -> bool:
    """XLA / `jax.jit` unless disabled; PyTorch runs eagerly
    (`torch.compile` takes minutes on a CPU)."""
    import keras

    return not no_jit and keras.backend.backend() != "torch"


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )


def command_line(script: str, backend: str | None, args: list[str]) -> str:
    """The shell command that reruns `script` with `args`."""
    prefix = f"KERAS_BACKEND={backend} " if backend else ""
    return prefix + shlex.join(["python", "-m", module_name(script), *args])


def module_name(script: str) -> str:
    """`benchmarks/x.py` -> `benchmarks.x` (run from the repository root)."""
    name = os.path.splitext(os.path.basename(script))[0]
    return f"benchmarks.{name}"


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def report(script: str, forward_args: list[str], jit: bool, args, **fields):
    """One backend's report: the command that reruns it, the backend,
    Keras version, `jit_compile`, warm-up and repeats, the machine, and
    `fields` (the script's own, `results` among them)."""
    import keras

    backend = keras.backend.backend()
    return {
        "command": command_line(script, backend, forward_args),
        "backend": backend,
        "jit_compile": bool(jit),
        "keras": keras.__version__,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "machine": machine(),
        **fields,
    }


def run_in_subprocess(script: str, backend: str, args: list[str]) -> dict:
    """Runs `script --backend=BACKEND ARGS --json=TMP` and returns the one
    report it writes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "report.json")
        env = {**os.environ, "KERAS_BACKEND": backend}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        cmd = [sys.executable, "-m", module_name(script)]
        cmd += [f"--backend={backend}", *args, f"--json={path}"]
        print(f"# running {backend} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"{backend} run failed ({proc.returncode})")
        seconds = time.perf_counter() - start
        print(
            f"# {backend} done in {seconds:.0f} s", file=sys.stderr, flush=True
        )
        with open(path) as f:
            report = json.load(f)["reports"][0]
    report["command"] = command_line(script, backend, args)
    return report


def reports_for(script: str, backend: str | None, args: list[str], run_here):
    """`(reports, command)`: `run_here()` in this process when `backend` is
    the current one (or None), else one subprocess per backend ('all')."""
    current = os.environ.get("KERAS_BACKEND")
    if backend == "all":
        reports = [run_in_subprocess(script, b, args) for b in BACKENDS]
        return reports, command_line(script, None, [*args, "--backend=all"])
    if backend and backend != current:
        report = run_in_subprocess(script, backend, args)
    else:
        report = run_here()
    return [report], report["command"]


def time_models(models: dict, x, warmup: int, repeats: int) -> dict:
    """Warms every `keras.Model` up, then times one `predict_on_batch` call
    of each per round (see `time_calls`).

    Returns `{name: (wall_seconds, cpu_seconds)}`.
    """
    calls = {
        name: (lambda m=model: m.predict_on_batch(x))
        for name, model in models.items()
    }
    return time_calls(calls, warmup, repeats)


def time_calls(calls: dict, warmup: int, repeats: int) -> dict:
    """Calls every zero-argument callable `warmup` times, then times one
    call of each per round, rotating the order so that drifting load hits
    all alike.

    Returns `{name: (wall_seconds, cpu_seconds)}`: wall-clock latency, and
    the CPU time of this process (all its threads), which other processes
    on a shared machine disturb much less.
    """
    for call in calls.values():
        for _ in range(warmup):
            call()
    names = list(calls)
    times = {name: ([], []) for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            wall, cpu = time.perf_counter(), time.process_time()
            calls[name]()
            times[name][0].append(time.perf_counter() - wall)
            times[name][1].append(time.process_time() - cpu)
    return times


def medians_ms(times: dict, baseline: str) -> dict:
    """`{name: row}` with each model's median wall and CPU milliseconds,
    their ratios to `baseline`'s, and the raw samples."""
    base_ms = 1e3 * statistics.median(times[baseline][0])
    base_cpu_ms = 1e3 * statistics.median(times[baseline][1])
    rows = {}
    for name, (wall, cpu) in times.items():
        ms = 1e3 * statistics.median(wall)
        cpu_ms = 1e3 * statistics.median(cpu)
        rows[name] = {
            "ms": ms,
            "ratio": ms / base_ms,
            "cpu_ms": cpu_ms,
            "cpu_ratio": cpu_ms / base_cpu_ms,
            "samples_ms": [1e3 * t for t in wall],
            "samples_cpu_ms": [1e3 * t for t in cpu],
        }
    return rows


def write_json(path: str | None, command: str, reports: list[dict]) -> None:
    if path:
        with open(path, "w") as f:
            json.dump({"command": command, "reports": reports}, f, indent=2)
