"""Start-up time of the `keras-attention` command line.

Runs `python -m keras_attention.cli ARGS` for `--help`, `--version`,
`list` and `list --pretrained` (answered from the package's data, without
importing Keras or a backend), and, for comparison, `python -c "import
keras"` (what every command paid before), each `--repeat` times in fresh
processes, and prints the median and minimum wall-clock time of each.

Usage:
    python -m benchmarks.cli_startup [--repeat 10]

This is a measurement script, not a test (tests/test_cli_fast.py checks
that those commands import no backend).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "--help": [sys.executable, "-m", "keras_attention.cli", "--help"],
    "--version": [sys.executable, "-m", "keras_attention.cli", "--version"],
    "list": [sys.executable, "-m", "keras_attention.cli", "list"],
    "list --pretrained": [
        sys.executable,
        "-m",
        "keras_attention.cli",
        "list",
        "--pretrained",
    ],
    "python (empty)": [sys.executable, "-c", "pass"],
    "import keras": [sys.executable, "-c", "import keras"],
}


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    print(f"{'command':<20} {'median (s)':>10} {'min (s)':>8}")
    for label, command in COMMANDS.items():
        times = [_time(command) for _ in range(args.repeat)]
        print(
            f"{label:<20} {statistics.median(times):>10.3f} {min(times):>8.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
