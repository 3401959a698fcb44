"""A missing optional extra (Pillow, soundfile) is one line naming the
`pip install` that adds it, in the library and on the command line, not a
traceback. The import failure is simulated (`sys.modules[name] = None`)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from keras_attention import cli, inference


def test_missing_pillow_names_the_viz_extra(tmp_path, monkeypatch, capsys):
    image = tmp_path / "x.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(inference.InferenceError) as info:
        inference.read_image(image)
    assert "pip install 'keras-attention-zoo[viz]'" in str(info.value)
    assert info.value.__cause__ is None and "\n" not in str(info.value)


def test_missing_soundfile_is_one_line_on_the_cli(
    tmp_path, monkeypatch, capsys
):
    import scipy.io.wavfile

    from keras_attention.audio import load_audio

    clip = tmp_path / "clip.wav"
    scipy.io.wavfile.write(clip, 16000, np.zeros(16000, "int16"))
    monkeypatch.setitem(sys.modules, "soundfile", None)
    with pytest.raises(ImportError, match=r"keras-attention-zoo\[audio\]"):
        load_audio(clip)
    code = cli.main(
        ["predict", str(clip), "--model", "cnn10", "--weights", "none"]
    )
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and "Traceback" not in err
    # The note on random weights, then the error in one line.
    (line,) = [e for e in err.splitlines() if "error:" in e]
    assert line.startswith("keras-attention predict: error:")
    assert "pip install 'keras-attention-zoo[audio]'" in line
