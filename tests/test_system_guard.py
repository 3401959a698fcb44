"""tests/helpers/system.require: a missing system package fails the test
(with how to install it); it never skips."""

import pytest
from helpers import system


def test_require_passes_when_available():
    system.require(True, "anything")


def test_require_fails_naming_the_package_when_missing():
    with pytest.raises(pytest.fail.Exception, match="apt-get install x"):
        system.require(False, "x: apt-get install x")
