"""tests/helpers/system.require: skips on a developer machine, fails on CI."""

import pytest
from helpers import system


def test_require_passes_when_available(monkeypatch):
    monkeypatch.setattr(system, "CI", True)
    system.require(True, "anything")


def test_require_skips_outside_ci(monkeypatch):
    monkeypatch.setattr(system, "CI", False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install x"):
        system.require(False, "x: apt-get install x")


def test_require_fails_on_ci(monkeypatch):
    monkeypatch.setattr(system, "CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI installs this"):
        system.require(False, "x: apt-get install x")
