"""Fetching and caching of weight files and preset directories.

This is the integrity layer under `keras_attention.zoo.load`: every file it
returns has been checked (sha256 when one is known, the file format always),
and the cache never holds a file under its final name unless that file
passed the checks.

Cache location:
    `~/.cache/keras_attention` by default; set the environment variable
    `KERAS_ATTENTION_CACHE` to use another directory. It is created on
    demand; one that cannot be (a regular file, or a path under one)
    raises `CacheError`. Everything the cache writes gets the modes the
    umask gives (files `0o666 & ~umask`, directories `0o777 & ~umask`), so
    a cache can be shared; an entry this user may not read raises
    `CacheError` and is left alone (never deleted or downloaded over).

How a download works:
    1. The body is streamed into a temporary file in the destination
       directory (`<name>.partial-<random>`) and hashed on the way.
    2. The byte count is compared with `Content-Length`, the body is checked
       not to be an HTML page, the sha256 is compared (when given) and the
       format is checked (HDF5 signature and h5py, JSON, zip).
    3. The file is fsynced and moved to its final name with `os.replace`.
    On any failure (HTTP error, dropped connection, short read, wrong hash,
    wrong format, KeyboardInterrupt) the temporary file is removed. Unique
    temporary names plus the atomic rename make concurrent fetches of the
    same file safe: each process writes its own temporary file and the final
    name always points at a complete, verified file.

Cache names carry a tag so that two different files with the same name never
collide: the first 12 hex digits of the sha256 when it is known
(`resnet.<sha[:12]>.weights.h5`), otherwise a hash of the URL
(`resnet.url-<hash>.weights.h5`).
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from keras_attention.version import __version__

__all__ = [
    "CACHE_ENV_VAR",
    "CacheError",
    "PRESET_OPTIONAL_FILES",
    "PRESET_REQUIRED_FILES",
    "WeightsDownloadError",
    "WeightsIntegrityError",
    "cache_dir",
    "fetch",
    "fetch_preset",
    "sha256sum",
]

CACHE_ENV_VAR = "KERAS_ATTENTION_CACHE"

# Files of a keras-hub style preset directory. The required ones make a
# loadable backbone; the optional ones are fetched when the server has them
# (a 404 skips them).
PRESET_REQUIRED_FILES = ("config.json", "model.weights.h5")
PRESET_OPTIONAL_FILES = (
    "metadata.json",
    "task.json",
    "task.weights.h5",
    "preprocessor.json",
    "image_converter.json",
    "audio_converter.json",
)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1"

_CHUNK_SIZE = 1 << 20
_STALE_AFTER_S = 24 * 3600
_PARTIAL = ".partial-"
_FORMATS = {"h5": "h5", "hdf5": "h5", "json": "json", "zip": "zip"}
_FORMATS["keras"] = "zip"
_FORMAT_NAMES = {
    "h5": "an HDF5 file",
    "json": "a JSON file",
    "zip": "a zip archive (.keras)",
}
_COMPOUND_SUFFIXES = (".weights.h5", ".weights.json")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


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


class WeightsDownloadError(OSError):
    """A weights file could not be downloaded (HTTP error, network failure).

    Attributes:
        url: the URL that failed.
        status: the HTTP status code, or `None` for a network failure.
    """

    def __init__(
        self, message: str, *, url: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class CacheError(OSError):
    """The cache directory or an entry in it cannot be used.

    Raised for a `KERAS_ATTENTION_CACHE` that is not a directory (or lies
    under a regular file) and for a cached file that this user may not
    read. The cache is left as it is: an unreadable entry is never taken
    for a corrupt one, so it is neither deleted nor downloaded over.

    Attributes:
        path: the path that could not be used.
    """

    def __init__(self, message: str, *, path: str | os.PathLike) -> None:
        super().__init__(message)
        self.path = str(path)


# ---------------------------------------------------------------- helpers


def cache_dir() -> Path:
    """Return the cache root, creating it if needed.

    `~/.cache/keras_attention` unless the environment variable
    `KERAS_ATTENTION_CACHE` names another directory.
    """
    override = os.environ.get(CACHE_ENV_VAR, "").strip()
    if override:
        root = Path(override).expanduser()
        where = f"{CACHE_ENV_VAR}={override!r}"
    else:
        root = Path.home() / ".cache" / "keras_attention"
        where = f"the default cache directory ({CACHE_ENV_VAR} is unset)"
    try:
        _make_dirs(root)
    except OSError as e:
        raise CacheError(
            f"Cannot use {root} as the weights cache ({where}): "
            f"{e.strerror or e}. Set {CACHE_ENV_VAR} to a directory you "
            "can write.",
            path=root,
        ) from None
    if not root.is_dir():
        raise CacheError(
            f"Cannot use {root} as the weights cache ({where}): it is not "
            f"a directory. Set {CACHE_ENV_VAR} to a directory you can write.",
            path=root,
        )
    return root


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    # Python can read the umask only by setting it.
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _file_mode() -> int:
    """Mode of a file the cache writes: what `open` would give."""
    return 0o666 & ~_umask()


def _dir_mode() -> int:
    """Mode of a directory the cache makes: what `mkdir` would give."""
    return 0o777 & ~_umask()


def _make_dirs(directory: Path) -> None:
    # `mkdir` applies the umask itself (0o777 & ~umask).
    directory.mkdir(parents=True, exist_ok=True)


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


def _check_relative(value: str, what: str, allow_nested: bool) -> None:
    parts = PurePosixPath(value.replace("\\", "/")).parts
    bad = (
        not value
        or "\x00" in value
        or value.startswith(("/", "\\"))
        or any(p in ("", ".", "..") for p in parts)
        or (not allow_nested and len(parts) != 1)
        or (len(value) > 1 and value[1] == ":")
    )
    if bad:
        kind = "relative path" if allow_nested else "plain file name"
        raise ValueError(
            f"Expected `{what}` to be a {kind} without '..'. "
            f"Received: {what}={value!r}"
        )


def _cache_name(name: str, tag: str) -> str:
    lower = name.lower()
    suffix = next((s for s in _COMPOUND_SUFFIXES if lower.endswith(s)), None)
    if suffix is None:
        suffix = PurePosixPath(name).suffix
    stem = name[: len(name) - len(suffix)] if suffix else name
    if not stem:
        return f"{tag}{suffix}"
    return f"{stem}.{tag}{suffix}"


def _url_tag(url: str) -> str:
    return "url-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]


def _classify(source: str | os.PathLike) -> tuple[str, str | Path]:
    """Return ("url", url) for http(s) or ("local", path) otherwise."""
    if isinstance(source, os.PathLike):
        return "local", Path(source).expanduser()
    if not isinstance(source, str) or not source:
        raise TypeError(
            "Expected `source` to be a URL or a path. "
            f"Received: source={source!r}"
        )
    if "://" not in source:
        return "local", Path(source).expanduser()
    parsed = urllib.parse.urlparse(source)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        if not parsed.netloc:
            raise ValueError(f"URL has no host. Received: source={source!r}")
        return "url", source
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(
                "file:// URLs must name a local path (file:///path). "
                f"Received: source={source!r}"
            )
        return "local", Path(urllib.request.url2pathname(parsed.path))
    raise ValueError(
        "Expected `source` to be an https://, http:// or file:// URL or a "
        f"local path. Received: source={source!r}"
    )


def _unlink_quiet(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:  # already gone, or not ours to remove
        pass


def _rmtree_quiet(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename durable on POSIX; not possible on Windows.
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


def _remove_stale_partials(directory: Path) -> None:
    """Remove temporary files/directories left by killed processes."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        if _PARTIAL not in entry.name:
            continue
        try:
            if (
                now - entry.stat(follow_symlinks=False).st_mtime
                < _STALE_AFTER_S
            ):
                continue
        except OSError:
            continue
        if entry.is_dir(follow_symlinks=False):
            _rmtree_quiet(Path(entry.path))
        else:
            _unlink_quiet(Path(entry.path))


# ----------------------------------------------------------- verification


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


def _unreadable(path: Path) -> CacheError:
    return CacheError(
        f"Cannot read the cached file {path}: permission denied. It was "
        f"left as it is; ask its owner to make it readable, or set "
        f"{CACHE_ENV_VAR} to a cache of your own.",
        path=path,
    )


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
        raise _unreadable(path) from None
    except OSError as e:
        return f"unreadable ({e})"
    return ""


# --------------------------------------------------------------- download


def _progress(name: str, done: int, total: int | None, end: bool) -> None:
    if total:
        text = (
            f"\rDownloading {name}: {done / 1e6:.1f}/{total / 1e6:.1f} MB "
            f"({100 * done // total}%)"
        )
    else:
        text = f"\rDownloading {name}: {done / 1e6:.1f} MB"
    sys.stderr.write(text + ("\n" if end else ""))
    sys.stderr.flush()


def _stream_to_file(
    response, out, digest, *, total: int | None, name: str, progress: bool
) -> int:
    """Copy `response` into `out`, updating `digest`; return the byte count."""
    done = 0
    while chunk := response.read(_CHUNK_SIZE):
        out.write(chunk)
        digest.update(chunk)
        done += len(chunk)
        if progress:
            _progress(name, done, total, end=False)
    if progress:
        _progress(name, done, total, end=True)
    return done


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _http_to_file(
    url: str, out, *, timeout: float, progress: bool, name: str, note: str
) -> str:
    """Download `url` into the open file `out`; return its sha256."""
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": f"keras-attention/{__version__}",
            "Accept-Encoding": "identity",
        },
    )
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        raise WeightsDownloadError(
            f"Could not download {url}: HTTP {e.code} {e.reason}. Check the "
            f"URL (a 404 means the file is not there), then retry. {note}",
            url=url,
            status=e.code,
        ) from None
    except urllib.error.URLError as e:
        raise WeightsDownloadError(
            f"Could not download {url}: {e.reason}. Check the network "
            f"connection and the URL, then retry. {note}",
            url=url,
        ) from e
    except (OSError, http.client.HTTPException) as e:
        raise WeightsDownloadError(
            f"Could not download {url}: {type(e).__name__}: {e}. Check the "
            f"network connection and the URL, then retry. {note}",
            url=url,
        ) from e

    with response:
        content_type = response.headers.get_content_type()
        if content_type in _HTML_TYPES:
            raise _html_error(url, f"Content-Type: {content_type}", note)
        total = _content_length(response)
        digest = hashlib.sha256()
        try:
            done = _stream_to_file(
                response,
                out,
                digest,
                total=total,
                name=name,
                progress=progress,
            )
        except http.client.IncompleteRead as e:
            done = out.tell()
            expected = total if total is not None else done + (e.expected or 0)
            raise _truncated(url, expected, done, note) from None
        except TimeoutError as e:
            raise WeightsDownloadError(
                f"Download of {url} timed out after {timeout} s with "
                f"{out.tell()} of {total or 'unknown'} bytes received. "
                f"Retry, or raise `timeout`. {note}",
                url=url,
            ) from e
        except (OSError, http.client.HTTPException) as e:
            raise WeightsDownloadError(
                f"Connection lost while downloading {url} after "
                f"{out.tell()} of {total or 'unknown'} bytes "
                f"({type(e).__name__}: {e}). Retry. {note}",
                url=url,
            ) from e
    if total is not None and done != total:
        raise _truncated(url, total, done, note)
    return digest.hexdigest()


def _truncated(
    url: str, expected: int, got: int, note: str
) -> WeightsIntegrityError:
    return WeightsIntegrityError(
        f"Truncated download from {url}: expected {expected} bytes, got "
        f"{got} (the connection closed early). Retry. {note}",
        source=url,
        expected=expected,
        received=got,
    )


def _download(
    url: str,
    dest: Path,
    *,
    sha256: str | None,
    fmt: str | None,
    timeout: float,
    progress: bool,
) -> Path:
    """Download `url` to `dest` through a verified temporary file."""
    directory = dest.parent
    _make_dirs(directory)
    _remove_stale_partials(directory)
    note = f"Nothing was kept in the cache ({directory})."
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{dest.name}{_PARTIAL}", dir=directory
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _http_to_file(
                url,
                out,
                timeout=timeout,
                progress=progress,
                name=dest.name,
                note=note,
            )
            out.flush()
            os.fsync(out.fileno())
        _verify(
            tmp,
            source=url,
            sha256=sha256,
            fmt=fmt,
            actual_sha256=actual,
            cleanup_note=(
                f"{note} Check that the URL and the expected sha256 belong "
                "to the same release, then retry."
            ),
        )
        # mkstemp makes the file 0600; the cache may be shared.
        os.chmod(tmp, _file_mode())
        os.replace(tmp, dest)
    except BaseException:
        _unlink_quiet(tmp)
        raise
    _fsync_dir(directory)
    _remember_sha256(dest, actual)
    return dest


def _subdir(cache_subdir: str) -> Path:
    if not isinstance(cache_subdir, str):
        raise TypeError(
            "Expected `cache_subdir` to be a string. "
            f"Received: cache_subdir={cache_subdir!r}"
        )
    _check_relative(cache_subdir, "cache_subdir", allow_nested=True)
    directory = cache_dir() / cache_subdir
    try:
        _make_dirs(directory)
    except OSError as e:
        raise CacheError(
            f"Cannot use {directory} in the weights cache: "
            f"{e.strerror or e}. Set {CACHE_ENV_VAR} to a directory you "
            "can write.",
            path=directory,
        ) from None
    return directory


def _url_basename(url: str, directory: bool = False) -> str:
    path = urllib.parse.urlparse(url).path
    if directory:
        path = path.rstrip("/")
    return urllib.parse.unquote(path.rsplit("/", 1)[-1])


# -------------------------------------------------------------- public API


def fetch(
    source: str | os.PathLike,
    sha256: str | None = None,
    *,
    cache_subdir: str = "weights",
    filename: str | None = None,
    expected_format: str | None = None,
    timeout: float = 60,
    progress: bool = False,
) -> Path:
    """Return a verified local copy of a weights file.

    Args:
        source: an `https://` or `http://` URL (downloaded into the cache),
            or a `file://` URL or local path (verified in place, not copied).
        sha256: expected hex sha256 of the file (an optional `sha256:`
            prefix is accepted). When given it is checked after every
            download and again each time a cached copy is reused.
        cache_subdir: directory under `cache_dir()` for downloads.
        filename: base name in the cache; default: the last component of
            the URL path. The cached name gets a tag inserted before the
            suffix: `sha256[:12]`, or a hash of the URL when no sha256 is
            known (`model.weights.h5` -> `model.<tag>.weights.h5`).
        expected_format: "h5", "json", "zip"/"keras", or None to infer it
            from the file name (.h5, .json, .keras, .zip; other names get
            no format check beyond rejecting HTML pages).
        timeout: socket timeout in seconds for connecting and each read.
        progress: print download progress to stderr.

    Returns:
        The path of the verified file.

    Raises:
        WeightsIntegrityError: sha256 mismatch, truncated or empty download,
            an HTML page instead of weights, or the wrong format. The
            download is discarded (local files are never deleted).
        WeightsDownloadError: HTTP error status or network failure.
        FileNotFoundError: a local path or file:// URL that does not exist.
        ValueError: a malformed sha256, format, URL, file name or subdir.
    """
    sha = _normalize_sha256(sha256)
    kind, location = _classify(source)
    if kind == "local":
        fmt = _resolve_format(expected_format, filename or location.name)
        return _verify_local(location, sha, fmt)

    url = location
    name = filename if filename is not None else _url_basename(url)
    if not name:
        raise ValueError(
            f"Cannot derive a file name from the URL {url!r}; pass `filename`."
        )
    _check_relative(name, "filename", allow_nested=False)
    fmt = _resolve_format(expected_format, name)
    directory = _subdir(cache_subdir)
    dest = directory / _cache_name(name, sha[:12] if sha else _url_tag(url))

    if dest.exists():
        problem = _cached_problem(dest, sha, fmt)
        if not problem:
            return dest
        warnings.warn(
            f"Cached file {dest} failed verification and is downloaded "
            f"again from {url}: {problem}",
            stacklevel=2,
        )
        _unlink_quiet(dest)
    return _download(
        url, dest, sha256=sha, fmt=fmt, timeout=timeout, progress=progress
    )


class _Plan:
    """What a preset directory must hold: files in download order, the
    required ones, and pinned sha256s and sizes."""

    def __init__(self, files, required, sha256s, manifest):
        if isinstance(files, str) or isinstance(required, str):
            raise TypeError(
                "Expected `files` and `required` to be lists of names."
            )
        self.hashes = {
            name: _normalize_sha256(value, f"sha256s[{name!r}]")
            for name, value in (sha256s or {}).items()
        }
        self.sizes: dict[str, int] = {}
        self.manifest = manifest
        self.order: list[str] = []
        head = [manifest] if manifest else []
        self._add(*head, *required, *files, *self.hashes)
        # A file whose hash is pinned must be there.
        self.must = set(required) | set(self.hashes)

    def _add(self, *names: str) -> None:
        for name in names:
            if name not in self.order:
                _check_relative(name, "files", allow_nested=True)
                self.order.append(name)

    def read_manifest(self, directory: Path, source: str) -> None:
        """Pins every file listed in the manifest (`{"files": {name:
        {"sha256", "size"}}}`, as in a model card) of `directory`."""
        if not self.manifest or not (directory / self.manifest).is_file():
            return
        where = f"{source.rstrip('/')}/{self.manifest}"
        try:
            with _open_binary(directory / self.manifest) as f:
                listed = json.loads(f.read().decode("utf-8")).get("files")
        except PermissionError:
            raise
        except (OSError, ValueError, AttributeError) as e:
            raise WeightsIntegrityError(
                f"Cannot read the file list of {where}: {e}",
                source=where,
            ) from None
        if listed is None:
            return
        if not isinstance(listed, dict):
            raise WeightsIntegrityError(
                f"Expected `files` in {where} to map file names to "
                f"{{sha256, size}}. Received: {listed!r:.200}",
                source=where,
            )
        for fname, entry in listed.items():
            entry = entry if isinstance(entry, dict) else {}
            self._add(fname)
            self.must.add(fname)
            if entry.get("sha256") is not None:
                sha = _normalize_sha256(
                    entry["sha256"], f"files[{fname!r}].sha256 of {where}"
                )
                self.hashes.setdefault(fname, sha)
                # A size is checked only with the hash it came with.
                if self.hashes[fname] == sha and isinstance(
                    entry.get("size"), int
                ):
                    self.sizes[fname] = entry["size"]

    def problem(self, directory: Path) -> str:
        """Why the cached `directory` is unusable, or ""."""
        try:
            self.read_manifest(directory, str(directory))
        except WeightsIntegrityError as e:
            return str(e)
        except PermissionError:
            raise _unreadable(directory / self.manifest) from None
        for name in self.order:
            path = directory / name
            if not path.is_file():
                if name in self.must:
                    return f"required file {name} is missing"
                continue
            problem = _cached_problem(
                path,
                self.hashes.get(name),
                _resolve_format(None, name),
                self.sizes.get(name),
            )
            if problem:
                return f"{name}: {problem}"
        return ""


def _preset_dir_name(url: str, name: str | None, hashes: dict) -> str:
    if name is None:
        name = _url_basename(url, directory=True) or "preset"
    _check_relative(name, "name", allow_nested=False)
    if hashes:
        manifest = "\n".join(f"{k} {hashes[k]}" for k in sorted(hashes))
        tag = hashlib.sha256(manifest.encode("utf-8")).hexdigest()[:12]
    else:
        tag = _url_tag(url)
    return f"{name}.{tag}"


def _discard_dir(directory: Path) -> None:
    """Move a directory out of the way atomically, then delete it."""
    aside = directory.with_name(
        f"{directory.name}{_PARTIAL}stale-{os.urandom(4).hex()}"
    )
    try:
        os.rename(directory, aside)
    except FileNotFoundError:
        return
    except OSError:
        aside = directory
    _rmtree_quiet(aside)


def fetch_preset(
    source: str | os.PathLike,
    cache_subdir: str = "presets",
    files: Iterable[str] = PRESET_REQUIRED_FILES + PRESET_OPTIONAL_FILES,
    sha256s: Mapping[str, str] | None = None,
    *,
    required: Iterable[str] = PRESET_REQUIRED_FILES,
    manifest: str | None = None,
    name: str | None = None,
    timeout: float = 60,
    progress: bool = False,
) -> Path:
    """Return a verified local copy of a preset directory.

    Args:
        source: base URL of the preset directory (`https://.../resnet18/`),
            or a local directory / `file://` URL (verified in place).
        cache_subdir: directory under `cache_dir()` for presets.
        files: file names (relative paths) to fetch. Missing ones (HTTP
            404) are skipped unless they are required.
        sha256s: optional `{file name: sha256}`; a file with a pinned hash
            is required and verified. The cache directory name is tagged
            with a hash of these pins (or of the URL when there are none).
        required: files that must exist (default: `config.json` and
            `model.weights.h5`); any failure on them aborts.
        manifest: optional name of a JSON file of the preset that lists
            its files as `{"files": {name: {"sha256": ..., "size": ...}}}`
            (our `model_card.json`). It is fetched first (a 404 skips it);
            every file it lists is then required and checked against its
            size and sha256, on download and on every reuse.
        name: base name of the cached directory; default: the last
            component of the URL path.
        timeout: socket timeout in seconds for each request.
        progress: print download progress to stderr.

    Every file goes through the same checks as `fetch`. Files are
    downloaded into a temporary directory (`<name>.partial-<random>`)
    that is renamed into place only once everything is verified, so a
    preset directory in the cache is always complete. Cached presets are
    re-verified (required files, pinned hashes, formats) before reuse;
    a file's sha256 is computed once per process while the file is
    unchanged (same size and modification time).

    Returns:
        The path of the preset directory.
    """
    plan = _Plan(files, required, sha256s, manifest)
    kind, location = _classify(source)
    if kind == "local":
        if not location.is_dir():
            raise FileNotFoundError(
                errno.ENOENT, "Preset directory not found", str(location)
            )
        plan.read_manifest(location, str(location))
        for fname in plan.order:
            path = location / fname
            if path.exists() or fname in plan.must:
                _verify_local(
                    path,
                    plan.hashes.get(fname),
                    _resolve_format(None, fname),
                    plan.sizes.get(fname),
                )
        return Path(os.path.abspath(location))

    url = location if location.endswith("/") else location + "/"
    directory = _subdir(cache_subdir)
    final = directory / _preset_dir_name(url, name, plan.hashes)

    if final.exists():
        problem = plan.problem(final)
        if not problem:
            return final
        warnings.warn(
            f"Cached preset {final} failed verification and is downloaded "
            f"again from {url}: {problem}",
            stacklevel=2,
        )
        _discard_dir(final)
        plan = _Plan(files, required, sha256s, manifest)

    _remove_stale_partials(directory)
    note = f"Nothing was kept in the cache ({directory})."
    staging = Path(
        tempfile.mkdtemp(prefix=f"{final.name}{_PARTIAL}", dir=directory)
    )
    try:
        # mkdtemp makes the directory 0700; the cache may be shared.
        os.chmod(staging, _dir_mode())
        done: set[str] = set()
        while pending := [f for f in plan.order if f not in done]:
            fname = pending[0]
            done.add(fname)
            file_url = urllib.parse.urljoin(url, urllib.parse.quote(fname))
            dest = staging / fname
            try:
                _download(
                    file_url,
                    dest,
                    sha256=plan.hashes.get(fname),
                    fmt=_resolve_format(None, fname),
                    timeout=timeout,
                    progress=progress,
                )
            except WeightsDownloadError as e:
                if e.status == 404 and fname not in plan.must:
                    continue
                raise
            if fname == manifest:
                plan.read_manifest(staging, url)
            got = dest.stat().st_size
            if plan.sizes.get(fname, got) != got:
                raise _size_mismatch(file_url, plan.sizes[fname], got, note)
        try:
            os.rename(staging, final)
        except OSError:
            # Another process finished first: use its copy if it is sound.
            if final.is_dir() and not plan.problem(final):
                _rmtree_quiet(staging)
                return final
            raise
    except BaseException as e:
        _rmtree_quiet(staging)
        if isinstance(e, (WeightsDownloadError, WeightsIntegrityError)):
            e.add_note(
                f"Preset download from {url} aborted; no preset directory "
                f"was kept in {directory}."
            )
        raise
    _fsync_dir(directory)
    return final
