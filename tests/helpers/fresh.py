"""Python code run in a fresh interpreter, as a new user's process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(
    code: str,
    cwd,
    env: dict | None = None,
    python: str = sys.executable,
    path: str | None = str(ROOT),
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Runs `code` with `python` in `cwd` (this tree first on `sys.path`
    unless `path` is None) under this process's backend; fails the test,
    showing its output, when it exits non-zero."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    if path is None:
        full_env.pop("PYTHONPATH", None)
    else:
        parts = [path, full_env.get("PYTHONPATH", "")]
        full_env["PYTHONPATH"] = os.pathsep.join(p for p in parts if p)
    result = subprocess.run(
        [python, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"exit {result.returncode}\n{result.stdout}\n{result.stderr[-4000:]}"
    )
    return result
