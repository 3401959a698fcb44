"""Guards for what the tests need from the system rather than from pip
(`.ci/apt-packages.txt`: fluidsynth, a GM soundfont, Chromium).

`make test` (and so `.ci/run`) installs them first (`make system`), so a
missing one is a broken installation: the test fails, naming the package
to install. It never skips, since a skipped test proves nothing.
"""

from __future__ import annotations

import pytest


def require(available: bool, what: str) -> None:
    """Fails the test unless `available`; `what` says how to get it."""
    if not available:
        pytest.fail(f"`make system` installs this, but it is missing: {what}")
