"""keras_attention.atomic: the one home of atomic file and folder writes."""

from __future__ import annotations

import doctest
import os
import stat

import pytest

from keras_attention import atomic


def _entries(directory):
    return sorted(p.name for p in directory.iterdir())


def test_doctests():
    result = doctest.testmod(atomic)
    assert result.attempted >= 2 and result.failed == 0


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.weights.h5"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic.atomic_open(target) as handle:
            handle.write(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert _entries(tmp_path) == ["model.weights.h5"]


def test_temporary_keeps_the_full_suffix(tmp_path):
    target = tmp_path / "model.weights.h5"
    with atomic.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.endswith(".weights.h5")
        assert tmp.name.startswith(atomic.TEMP_PREFIX)
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert _entries(tmp_path) == ["model.weights.h5"]


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_modes_follow_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        atomic.write_text(tmp_path / "card.json", "{}")
        with atomic.atomic_dir(tmp_path / "preset") as staging:
            (staging / "sub").mkdir()
            atomic.write_bytes(staging / "sub" / "w.h5", b"x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "card.json").stat().st_mode)
    assert mode == 0o666 & ~mask
    for folder in (tmp_path / "preset", tmp_path / "preset" / "sub"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask
    inner = tmp_path / "preset" / "sub" / "w.h5"
    assert stat.S_IMODE(inner.stat().st_mode) == 0o666 & ~mask


def test_atomic_dir_replaces_a_folder_whole(tmp_path):
    target = tmp_path / "preset"
    target.mkdir()
    (target / "old.json").write_text("old")
    with atomic.atomic_dir(target) as staging:
        (staging / "new.json").write_text("new")
        assert (target / "old.json").exists()  # untouched until the end
    assert _entries(target) == ["new.json"]
    assert _entries(tmp_path) == ["preset"]


def test_failed_atomic_dir_keeps_the_old_folder(tmp_path):
    target = tmp_path / "preset"
    target.mkdir()
    (target / "old.json").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_dir(target) as staging:
            (staging / "new.json").write_text("new")
            raise KeyboardInterrupt
    assert _entries(target) == ["old.json"]
    assert _entries(tmp_path) == ["preset"]


def test_copy_file(tmp_path):
    source = tmp_path / "a.bin"
    source.write_bytes(b"data")
    atomic.copy_file(source, tmp_path / "b.bin")
    assert (tmp_path / "b.bin").read_bytes() == b"data"


def test_atomic_open_refuses_read_and_append_modes(tmp_path):
    with pytest.raises(ValueError, match="'w' mode"):
        with atomic.atomic_open(tmp_path / "x", "ab"):
            pass
    assert _entries(tmp_path) == []


def test_prefix_names_the_temporaries(tmp_path):
    target = tmp_path / "m.abc.weights.h5"
    with atomic.atomic_path(target, prefix="m.partial-") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith("m.partial-")
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    folder = tmp_path / "preset"
    with atomic.atomic_dir(folder, prefix="preset.partial-") as staging:
        assert staging.name.startswith("preset.partial-")
        (staging / "a.json").write_text("{}")
    assert _entries(folder) == ["a.json"]
    assert _entries(tmp_path) == ["m.abc.weights.h5", "preset"]


def test_atomic_dir_without_replace_keeps_the_winner(tmp_path):
    target = tmp_path / "preset"
    with pytest.raises(OSError):
        with atomic.atomic_dir(target, replace=False) as staging:
            (staging / "mine.json").write_text("mine")
            # Another writer finishes first.
            target.mkdir()
            (target / "theirs.json").write_text("theirs")
    assert _entries(target) == ["theirs.json"]
    assert _entries(tmp_path) == ["preset"]
    with atomic.atomic_dir(tmp_path / "fresh", replace=False) as staging:
        (staging / "a.json").write_text("{}")
    assert _entries(tmp_path / "fresh") == ["a.json"]
