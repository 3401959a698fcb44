"""Integrity checks of weight files: sha256 (remembered per process while a
file is unchanged), size, and format (HDF5 signature and h5py, JSON, zip),
plus the rejection of HTML pages and Git LFS pointers received instead of
weights. Every file the zoo returns has passed `_verify`.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
import zipfile
from pathlib import Path, PurePosixPath

from keras_attention.zoo.cache import unreadable_error

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"

_CHUNK_SIZE = 1 << 20


_FORMATS = {"h5": "h5", "hdf5": "h5", "json": "json", "zip": "zip"}
_FORMATS["keras"] = "zip"
_FORMAT_NAMES = {
    "h5": "an HDF5 file",
    "json": "a JSON file",
    "zip": "a zip archive (.keras)",
}


class WeightsIntegrityError(ValueError):
    """A weights file failed verification.

    Raised for a sha256 mismatch, a truncated download, an empty file, an
    HTML page received instead of weights, or a file in the wrong format.

    Attributes:
        source: the URL or path that was checked.
        expected: what was expected (a sha256, a byte count, a format).
        received: what was found instead.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        expected: object = None,
        received: object = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.expected = expected
        self.received = received


def _open_binary(path: str | os.PathLike):
    """Opens `path` for reading bytes (the one read of the integrity
    checks, so tests can make it fail)."""
    return open(path, "rb")


def sha256sum(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with _open_binary(path) as f:
        while chunk := f.read(_CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


# sha256 of files already hashed in this process, keyed by what changes
# when a file is rewritten: its path, inode, size and mtime (ns).
_HASHES: dict[tuple, str] = {}
_HASHES_LOCK = threading.Lock()


def _stat_key(path: Path) -> tuple:
    st = os.stat(path)
    return (
        os.path.abspath(path),
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )


def _cached_sha256(path: Path) -> str:
    """`sha256sum(path)`, remembered while the file is unchanged."""
    key = _stat_key(path)
    with _HASHES_LOCK:
        known = _HASHES.get(key)
    if known is not None:
        return known
    actual = sha256sum(path)
    if _stat_key(path) == key:  # not rewritten while we read it
        with _HASHES_LOCK:
            _HASHES[key] = actual
    return actual


def _remember_sha256(path: Path, sha256: str) -> None:
    with _HASHES_LOCK:
        _HASHES[_stat_key(path)] = sha256


def _normalize_sha256(value: str | None, what: str = "sha256") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(
            f"Expected `{what}` to be a string or None. "
            f"Received: {what}={value!r}"
        )
    text = value.strip().lower()
    if text.startswith("sha256:"):
        text = text[len("sha256:") :]
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(
            f"Expected `{what}` to be 64 hexadecimal digits. "
            f"Received: {what}={value!r}"
        )
    return text


def _resolve_format(expected_format: str | None, name: str) -> str | None:
    if expected_format is not None:
        key = str(expected_format).lower().lstrip(".")
        if key not in _FORMATS:
            raise ValueError(
                "Expected `expected_format` to be one of 'h5', 'json', "
                f"'zip', 'keras' or None. Received: "
                f"expected_format={expected_format!r}"
            )
        return _FORMATS[key]
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    return _FORMATS.get(suffix)


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    return text.startswith((b"<!doctype html", b"<html"))


def _html_error(source: str, reason: str, note: str) -> WeightsIntegrityError:
    return WeightsIntegrityError(
        f"Received an HTML page instead of weights from {source} ({reason}). "
        "This usually means a wrong URL or a login/error page. Check the URL "
        f"in a browser, then retry. {note}",
        source=source,
        expected="weights",
        received="text/html",
    )


def _format_problem(path: Path, fmt: str | None) -> str | None:
    """Return why `path` is not in format `fmt`, or None if it is."""
    if fmt is None:
        return None
    with _open_binary(path) as f:
        head = f.read(16)
    if fmt == "h5":
        if not head.startswith(HDF5_SIGNATURE):
            return (
                f"expected an HDF5 file (signature {HDF5_SIGNATURE!r}), "
                f"got first bytes {head[:8]!r}"
            )
        import h5py

        try:
            with h5py.File(path, "r"):
                pass
        except Exception as e:  # h5py raises OSError and others
            return f"expected a readable HDF5 file, h5py failed: {e}"
        return None
    if fmt == "json":
        try:
            with _open_binary(path) as f:
                json.loads(f.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return f"expected a JSON file, got invalid JSON ({e})"
        return None
    if fmt == "zip":
        try:
            with zipfile.ZipFile(path):
                pass
        except (zipfile.BadZipFile, OSError) as e:
            return (
                f"expected a zip archive (.keras), got first bytes "
                f"{head[:8]!r} ({e})"
            )
        return None
    raise AssertionError(fmt)


def _verify(
    path: Path,
    *,
    source: str,
    sha256: str | None,
    fmt: str | None,
    actual_sha256: str | None = None,
    size: int | None = None,
    cleanup_note: str,
) -> None:
    """Raise WeightsIntegrityError unless `path` passes every check."""
    actual_size = path.stat().st_size
    if actual_size == 0:
        raise WeightsIntegrityError(
            f"Received an empty file from {source} (expected "
            f"{_FORMAT_NAMES.get(fmt, 'weights')}, got 0 bytes). "
            f"{cleanup_note}",
            source=source,
            expected="non-empty file",
            received=0,
        )
    with _open_binary(path) as f:
        head = f.read(1024)
    if head.startswith(LFS_POINTER_PREFIX):
        raise WeightsIntegrityError(
            f"{source} is a Git LFS pointer, not the weights "
            f"({actual_size} bytes of text). Run `git lfs pull` in the "
            "repository, or download the file itself. "
            f"{cleanup_note}".rstrip(),
            source=source,
            expected=_FORMAT_NAMES.get(fmt, "weights"),
            received="Git LFS pointer",
        )
    if _looks_like_html(head):
        raise _html_error(
            source, "the body starts with an HTML tag", cleanup_note
        )
    if size is not None and actual_size != size:
        raise _size_mismatch(source, size, actual_size, cleanup_note)
    if sha256 is not None:
        actual = actual_sha256 or _cached_sha256(path)
        if actual != sha256:
            raise WeightsIntegrityError(
                f"sha256 mismatch for {source}: expected sha256 {sha256}, "
                f"got {actual} ({actual_size} bytes). {cleanup_note}".rstrip(),
                source=source,
                expected=sha256,
                received=actual,
            )
    problem = _format_problem(path, fmt)
    if problem is not None:
        raise WeightsIntegrityError(
            f"Wrong file format for {source}: {problem}. "
            f"{cleanup_note}".rstrip(),
            source=source,
            expected=fmt,
            received=head[:8],
        )


def _size_mismatch(
    source: str, expected: int, got: int, note: str = ""
) -> WeightsIntegrityError:
    return WeightsIntegrityError(
        f"Size mismatch for {source}: expected {expected} bytes, got {got} "
        f"(truncated or replaced). {note}".rstrip(),
        source=source,
        expected=expected,
        received=got,
    )


def _verify_local(
    path: Path, sha256: str | None, fmt: str | None, size: int | None = None
) -> Path:
    if not path.exists():
        raise FileNotFoundError(
            errno.ENOENT, "Weights file not found", os.fspath(path)
        )
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, "Expected a weights file, got a directory", str(path)
        )
    _verify(
        path,
        source=str(path),
        sha256=sha256,
        fmt=fmt,
        size=size,
        cleanup_note=(
            "The local file was left untouched; it may be corrupt or a "
            "different version than the one expected."
        ),
    )
    return Path(os.path.abspath(path))


def _cached_problem(
    path: Path, sha256: str | None, fmt: str | None, size: int | None = None
) -> str:
    """Return why a cached file is unusable, or "" if it is fine.

    Raises CacheError for a file this user may not read: that is not
    corruption, and another user's file must not be deleted."""
    try:
        _verify(
            path,
            source=str(path),
            sha256=sha256,
            fmt=fmt,
            size=size,
            cleanup_note="",
        )
    except WeightsIntegrityError as e:
        return str(e).strip()
    except PermissionError:
        raise unreadable_error(path) from None
    except OSError as e:
        return f"unreadable ({e})"
    return ""
