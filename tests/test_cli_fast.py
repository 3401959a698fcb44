"""`keras-attention --help`, `--version` and `list` answer from the
package's data, importing no backend (benchmarks/cli_startup.py measures
the time); the catalog they read lists exactly the registered models."""

from __future__ import annotations

import json

import pytest
from helpers.fresh import run_python

from keras_attention import zoo
from keras_attention.zoo import locations

BACKENDS = ("keras", "keras_hub", "tensorflow", "jax", "torch")


@pytest.mark.parametrize(
    "argv", [["--help"], ["--version"], ["list"], ["list", "--pretrained"]]
)
def test_cli_answers_without_importing_a_backend(tmp_path, argv):
    out = run_python(
        f"""
        import contextlib, io, json, sys
        from keras_attention.cli import main
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            try:
                code = main({argv!r})
            except SystemExit as exit:
                code = exit.code
        loaded = [m for m in {BACKENDS!r} if m in sys.modules]
        print(json.dumps([code, loaded, stdout.getvalue()]))
        """,
        tmp_path,
    )
    code, loaded, text = json.loads(out.stdout.splitlines()[-1])
    assert (code, loaded) == (0, [])
    if argv[0] == "list":
        rows = [line.split()[0] for line in text.splitlines()[2:]]
        expected = zoo.list_models(pretrained=True if argv[1:] else None)
        assert rows == expected


def test_the_package_catalog_lists_the_registry():
    catalog = locations.package_catalog()
    assert sorted(catalog) == zoo.list_models()
    for name, entry in catalog.items():
        assert entry["task"] == zoo.get_spec(name).task, name
    for name in zoo.list_models():
        assert locations.published_weight_names(name) == list(
            zoo.published_weights(name)
        ), name
