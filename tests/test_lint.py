"""`make lint` as a test: ruff's checks and formatting over the whole tree
(the library, tests, training, benchmarks, docs/hooks and tools)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.parametrize(
    "args", [["check", "."], ["format", "--check", "."]], ids=" ".join
)
def test_ruff(args):
    result = subprocess.run(
        [str(RUFF), *args], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
