"""The test environment is the pinned one (`constraints.txt`).

`make setup` / `make test` / `.ci/run` install from the lock, so every
package it names must be installed at exactly its version. `make lock`
runs the suite on the newest releases instead, with
`KERAS_ATTENTION_LOCK_REFRESH=1`: there no package may be older than its pin.
"""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "constraints.txt"
REFRESH = os.environ.get("KERAS_ATTENTION_LOCK_REFRESH") == "1"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{LOCK.name}: not an exact pin: {line!r}"
        pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_lock_pins_the_backends_and_a_cpu_torch():
    pins = _pins()
    for name in ("keras", "keras-hub", "tensorflow", "jax", "jaxlib"):
        assert name in pins, name
    assert pins["torch"].endswith("+cpu"), pins["torch"]
    assert not any(name.startswith("nvidia-") for name in pins)


def test_installed_versions_are_the_locked_ones():
    """Exactly the locked versions; under `make lock` (the newest releases)
    none older than the lock."""
    from packaging.version import Version

    wrong = {}
    for name, version in _pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if REFRESH and installed is not None:
            ok = Version(installed) >= Version(version)
        else:
            ok = installed == version
        if not ok:
            wrong[name] = (version, installed)
    assert not wrong, f"locked vs installed: {wrong}"
