"""Guards for what the tests need from the system rather than from pip
(`.ci/apt-packages.txt`: fluidsynth, a GM soundfont, Chromium).

`make test` on a machine without them skips those tests, naming the
package to install. `.ci/run` installs them and sets
`KERAS_ATTENTION_CI=1`, under which a missing one fails the test instead:
on CI a skip would hide a broken installation.
"""

from __future__ import annotations

import os

import pytest

CI = os.environ.get("KERAS_ATTENTION_CI") == "1"


def require(available: bool, what: str) -> None:
    """Skips (fails on CI) unless `available`; `what` says how to get it."""
    if available:
        return
    if CI:
        pytest.fail(f"CI installs this, but it is missing: {what}")
    pytest.skip(what)
