"""Atomic writes of files and folders: readers see the old version or the
whole new one, never a part.

Every writer works on a temporary name beside its target (same folder, so
same file system), flushes and fsyncs it, then moves it into place with
`os.replace` and fsyncs the folder. A failure or an exception inside the
block removes the temporary and leaves the target as it was; a process
killed mid-write leaves at most a `.tmp-*` entry that is never read as the
target. New files and folders get the modes the umask gives (0o666 and
0o777 less the umask), as `open` and `mkdir` would, not `tempfile`'s
private 0o600 and 0o700, so a shared cache stays readable by its group.
A writer that sweeps its own leftovers (the weights cache) names its
temporaries with `prefix=`.

>>> import json, pathlib, tempfile
>>> target = pathlib.Path(tempfile.mkdtemp()) / "card.json"
>>> write_text(target, json.dumps({"ok": True}))
>>> json.loads(target.read_text())
{'ok': True}
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".tmp-"

_UMASK_LOCK = threading.Lock()


def umask() -> int:
    """The process's umask (read without changing it for good)."""
    # Python can read the umask only by setting it: one thread at a time.
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    return 0o666 & ~umask()


def dir_mode() -> int:
    return 0o777 & ~umask()


def fsync_dir(directory: str | os.PathLike) -> None:
    """Makes a rename inside `directory` durable (no-op where folders
    cannot be opened, e.g. on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def temp_name(path: str | os.PathLike, prefix: str | None = None) -> Path:
    """A fresh temporary path beside `path` that keeps its full suffix
    (`model.weights.h5` -> `.tmp-model-XXXX.weights.h5`), for writers that
    choose the format by the file name. With `prefix`, the name is
    `<prefix><random>` instead."""
    path = Path(path)
    if prefix is not None:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=path.parent)
        os.close(fd)
        return Path(name)
    stem, _, suffix = path.name.partition(".")
    fd, name = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{stem}-",
        suffix=f".{suffix}" if suffix else "",
        dir=path.parent,
    )
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike, *, prefix: str | None = None
) -> Iterator[Path]:
    """Yields a temporary file path to write to; on success it becomes
    `path`. The parent folder must exist. `prefix` names the temporary
    (see `temp_name`).

    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_bytes(b"abc")
    >>> target.read_bytes()
    b'abc'
    """
    path = Path(path)
    tmp = temp_name(path, prefix)
    try:
        yield tmp
        os.chmod(tmp, file_mode())
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs):
    """`open(path, mode)` on a temporary file that becomes `path` when the
    block ends without an exception."""
    if not mode.startswith("w"):
        raise ValueError(
            f"atomic_open writes new files: expected a 'w' mode. "
            f"Received: mode={mode!r}"
        )
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def copy_file(source: str | os.PathLike, path: str | os.PathLike) -> None:
    """Copies `source` to `path` atomically (contents only)."""
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)


@contextlib.contextmanager
def atomic_dir(
    path: str | os.PathLike,
    *,
    prefix: str | None = None,
    replace: bool = True,
) -> Iterator[Path]:
    """Yields an empty staging folder; on success it replaces `path` (an
    existing folder is moved aside first, then removed).

    `prefix` names the staging folder (default `.tmp-<name>-`). With
    `replace=False` an existing non-empty `path` is kept: the final rename
    raises `OSError` (staging removed), so a caller racing another writer
    can use the copy that won."""
    path = Path(path)
    if prefix is None:
        prefix = f"{TEMP_PREFIX}{path.name}-"
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
    try:
        os.chmod(staging, dir_mode())
        yield staging
        for root, dirs, files in os.walk(staging):
            for name in files:
                _fsync_file(Path(root, name))
            for name in dirs:
                os.chmod(Path(root, name), dir_mode())
        fsync_dir(staging)
        aside = None
        if replace and path.exists():
            aside = Path(
                tempfile.mkdtemp(
                    prefix=f"{TEMP_PREFIX}{path.name}-old-", dir=path.parent
                )
            )
            os.rmdir(aside)
            os.rename(path, aside)
        os.rename(staging, path)
        fsync_dir(path.parent)
        if aside is not None:
            _remove(aside)
    except BaseException:
        _remove(staging)
        raise
