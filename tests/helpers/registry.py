"""Registering a tiny stand-in under a zoo name for one test.

The recipe tests train tiny stand-ins (2 stages of 1 block) instead of the
models they name, to stay fast. The zoo refuses a preset whose backbone is
not the architecture of the requested name (tests/test_hostile_zoo.py), so
a test that loads such a preset by the recipe's model name first records
the stand-in's layout as that name's architecture, for the test only.
"""

from __future__ import annotations

import dataclasses

from keras_attention.zoo import registry


def stand_in(monkeypatch, name: str, backbone) -> None:
    """Makes `name` describe `backbone`'s stage layout until the test ends."""
    spec = registry.get_spec(name)
    config = backbone.get_config()
    layout = {key: config[key] for key in spec.architecture["config"]}
    architecture = {**spec.architecture, "config": layout}
    monkeypatch.setitem(
        registry._REGISTRY,
        name,
        dataclasses.replace(spec, architecture=architecture),
    )
