"""`keras_attention.export` and `keras-attention export` on the running
backend: every (format, kind) that `export.SUPPORT` marks as working is
exported for a tiny image and a tiny audio model and checked against
`model.predict` within 1e-4; every other one is refused before anything is
written; an artefact that disagrees with Keras is deleted."""

from __future__ import annotations

import itertools

import keras
import pytest

from keras_attention import export as export_lib
from keras_attention import zoo
from keras_attention.cli import main

BACKEND = keras.backend.backend()
CASES = list(itertools.product(export_lib.FORMATS, export_lib.KINDS))


def _target(tmp_path, fmt):
    return tmp_path / f"model{export_lib.SUFFIXES[fmt]}"


@pytest.fixture(scope="module")
def models():
    return {
        "image": zoo.load(
            "cbam_resnet18",
            weights=None,
            num_classes=3,
            input_shape=(32, 32, 3),
        ),
        "audio": zoo.load(
            "cnn6", weights=None, num_classes=3, input_shape=(16000,)
        ),
    }


def test_support_table_covers_every_case():
    keys = set(
        itertools.product(
            export_lib.BACKENDS, export_lib.FORMATS, export_lib.KINDS
        )
    )
    assert set(export_lib.SUPPORT) == keys


@pytest.mark.parametrize(("fmt", "kind"), CASES)
def test_export_or_refuse(models, tmp_path, fmt, kind):
    target = _target(tmp_path, fmt)
    if export_lib.SUPPORT[(BACKEND, fmt, kind)] is None:
        result = export_lib.export(models[kind], target, fmt)
        assert result.kind == kind and result.backend == BACKEND
        assert result.max_difference <= 1e-4 * result.output_scale
        assert target.exists()
        # Only the artefact: no temporary left beside it.
        assert [p.name for p in tmp_path.iterdir()] == [target.name]
        print(f"{BACKEND} {fmt} {kind}: max |diff| {result.max_difference}")
    else:
        with pytest.raises(export_lib.ExportError) as info:
            export_lib.export(models[kind], target, fmt)
        message = str(info.value)
        assert fmt in message and BACKEND in message and kind in message
        assert "What works" in message
        assert list(tmp_path.iterdir()) == []


WORKING = [c for c in CASES if export_lib.SUPPORT[(BACKEND, *c)] is None]
# The audio model exports fastest.
WORKING_AUDIO = [c for c in WORKING if c[1] == "audio"]


# Torch exports nothing (see export.SUPPORT): the test exists where a
# format works.
if WORKING_AUDIO:

    @pytest.mark.parametrize(("fmt", "kind"), WORKING_AUDIO[:1])
    def test_artefact_that_disagrees_is_deleted(
        models, tmp_path, monkeypatch, fmt, kind
    ):
        original = export_lib._RUNNERS[fmt]
        monkeypatch.setitem(
            export_lib._RUNNERS, fmt, lambda p, x: original(p, x) + 1e-2
        )
        target = _target(tmp_path, fmt)
        target.write_text("old")
        with pytest.raises(export_lib.ExportError, match="differs from"):
            export_lib.export(models[kind], target, fmt)
        # The old file is untouched and no temporary is left.
        assert [p.name for p in tmp_path.iterdir()] == [target.name]
        assert target.read_text() == "old"


@pytest.mark.parametrize(
    ("fmt", "path", "expected"),
    [
        ("pt2", "m.pt2", "Unknown export format 'pt2'"),
        ("tflite", "m.onnx", "ending in '.tflite'"),
        ("onnx", "missing/m.onnx", "does not exist"),
    ],
)
def test_bad_arguments(models, tmp_path, fmt, path, expected):
    with pytest.raises(export_lib.ExportError, match=expected):
        export_lib.export(models["audio"], tmp_path / path, fmt)
    assert list(tmp_path.iterdir()) == []


def test_missing_package_is_named(models, tmp_path, monkeypatch):
    monkeypatch.setitem(export_lib.NEEDS, "onnx", ("no_such_module_x",))
    with pytest.raises(export_lib.ExportError, match="no_such_module_x"):
        export_lib.export(models["image"], tmp_path / "m.onnx", "onnx")
    assert list(tmp_path.iterdir()) == []


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def test_cli_refuses_unsupported_format(capsys, tmp_path):
    # ONNX of the audio front end's STFT works on no backend.
    target = tmp_path / "cnn6.onnx"
    code, _, lines = _run(
        capsys, "export", "cnn6", "--format", "onnx", "--out", target
    )
    assert code == 2 and len(lines) == 1
    assert "onnx" in lines[0] and BACKEND in lines[0]
    assert "Traceback" not in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_cli_exports_or_refuses_every_format(capsys, tmp_path):
    # TFLite conversion is slow: test_export_or_refuse covers it.
    for fmt in ("saved_model", "onnx"):
        target = tmp_path / fmt / f"cnn6{export_lib.SUFFIXES[fmt]}"
        target.parent.mkdir()
        code, out, lines = _run(
            capsys,
            "export",
            "cnn6",
            "--format",
            fmt,
            "--out",
            target,
            "--weights",
            "none",
        )
        if export_lib.SUPPORT[(BACKEND, fmt, "audio")] is None:
            assert code == 0, lines
            assert f"Wrote {target}" in out and target.exists()
        else:
            assert code == 2 and len(lines) == 1
            assert "does not work on the" in lines[0]
            assert list(target.parent.iterdir()) == []
