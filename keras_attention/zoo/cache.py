"""The weights cache: where it lives, how its entries are named, and the
sweeping of what killed processes left behind.

The root is `cache_dir()`: `KERAS_ATTENTION_CACHE` when set, else
`~/.cache/keras_attention`, made on demand with the umask's modes. A root
that cannot be a directory, and an entry this user may not read, raise
`CacheError`; such an entry is never deleted nor downloaded over.

Cache names carry a tag so that two different files with the same name never
collide: the first 12 hex digits of the sha256 when it is known
(`resnet.<sha[:12]>.weights.h5`), otherwise a hash of the URL
(`resnet.url-<hash>.weights.h5`). Temporaries (`<name>.partial-<random>`)
older than a day are removed before the next download into their folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

CACHE_ENV_VAR = "KERAS_ATTENTION_CACHE"

_STALE_AFTER_S = 24 * 3600
# Temporaries of downloads and preset staging carry this in their names.
_PARTIAL = ".partial-"
_COMPOUND_SUFFIXES = (".weights.h5", ".weights.json")


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


def _make_dirs(directory: Path) -> None:
    # `mkdir` applies the umask itself (0o777 & ~umask).
    directory.mkdir(parents=True, exist_ok=True)


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


def unreadable_error(path: Path) -> CacheError:
    return CacheError(
        f"Cannot read the cached file {path}: permission denied. It was "
        f"left as it is; ask its owner to make it readable, or set "
        f"{CACHE_ENV_VAR} to a cache of your own.",
        path=path,
    )


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
