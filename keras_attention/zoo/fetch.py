"""`fetch` and `fetch_preset`: verified local copies of weight files and
preset directories, downloaded into the cache through temporaries.

How a download works:
    1. The body is streamed into a temporary file in the destination
       directory (`<name>.partial-<random>`) and hashed on the way.
    2. The byte count is compared with `Content-Length`, the body is checked
       not to be an HTML page, the sha256 is compared (when given) and the
       format is checked (HDF5 signature and h5py, JSON, zip).
    3. The file is fsynced and moved to its final name with `os.replace`
       (`keras_attention.atomic`, the one home of atomic writes).
    On any failure (HTTP error, dropped connection, short read, wrong hash,
    wrong format, KeyboardInterrupt) the temporary file is removed. Unique
    temporary names plus the atomic rename make concurrent fetches of the
    same file safe: each process writes its own temporary file and the final
    name always points at a complete, verified file. A preset is staged the
    same way, as a folder renamed into place once every file is verified.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

from keras_attention import atomic
from keras_attention.zoo import integrity
from keras_attention.zoo.cache import (
    _PARTIAL,
    _cache_name,
    _check_relative,
    _classify,
    _discard_dir,
    _make_dirs,
    _remove_stale_partials,
    _subdir,
    _unlink_quiet,
    _url_basename,
    _url_tag,
    unreadable_error,
)
from keras_attention.zoo.integrity import (
    WeightsIntegrityError,
    _cached_problem,
    _normalize_sha256,
    _remember_sha256,
    _resolve_format,
    _size_mismatch,
    _verify,
    _verify_local,
)
from keras_attention.zoo.transport import WeightsDownloadError, _http_to_file

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
    with atomic.atomic_path(dest, prefix=f"{dest.name}{_PARTIAL}") as tmp:
        with open(tmp, "wb") as out:
            actual = _http_to_file(
                url,
                out,
                timeout=timeout,
                progress=progress,
                name=dest.name,
                note=note,
            )
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
    _remember_sha256(dest, actual)
    return dest


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
            with integrity._open_binary(directory / self.manifest) as f:
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
            raise unreadable_error(directory / self.manifest) from None
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
    staged = False
    try:
        with atomic.atomic_dir(
            final, prefix=f"{final.name}{_PARTIAL}", replace=False
        ) as staging:
            _stage_preset(plan, url, staging, timeout, progress, note)
            staged = True
    except BaseException as e:
        # Another process finished first: use its copy if it is sound.
        if staged and isinstance(e, OSError):
            if final.is_dir() and not plan.problem(final):
                return final
        if isinstance(e, (WeightsDownloadError, WeightsIntegrityError)):
            e.add_note(
                f"Preset download from {url} aborted; no preset directory "
                f"was kept in {directory}."
            )
        raise
    return final


def _stage_preset(
    plan: _Plan,
    url: str,
    staging: Path,
    timeout: float,
    progress: bool,
    note: str,
) -> None:
    """Downloads and verifies every file of `plan` into `staging`."""
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
        if fname == plan.manifest:
            plan.read_manifest(staging, url)
        got = dest.stat().st_size
        if plan.sizes.get(fname, got) != got:
            raise _size_mismatch(file_url, plan.sizes[fname], got, note)
