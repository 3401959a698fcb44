"""Fetching and caching of weight files and preset directories.

This is the integrity layer under `keras_attention.zoo.load`: every file it
returns has been checked (sha256 when one is known, the file format always),
and the cache never holds a file under its final name unless that file
passed the checks.

This module is the public face; each mechanism has one home:

- `keras_attention.zoo.cache`: where the cache lives (`cache_dir`,
  `KERAS_ATTENTION_CACHE`, `CacheError`), how entries are named, and the
  sweeping of stale temporaries;
- `keras_attention.zoo.integrity`: `sha256sum` (remembered per process
  while a file is unchanged), size and format checks, HTML pages and Git
  LFS pointers (`WeightsIntegrityError`);
- `keras_attention.zoo.transport`: the HTTP GET (`WeightsDownloadError`,
  progress);
- `keras_attention.zoo.fetch`: `fetch` and `fetch_preset`, through
  temporaries written with `keras_attention.atomic`.

Cache location:
    `~/.cache/keras_attention` by default; set the environment variable
    `KERAS_ATTENTION_CACHE` to use another directory. It is created on
    demand; one that cannot be (a regular file, or a path under one)
    raises `CacheError`. Everything the cache writes gets the modes the
    umask gives (files `0o666 & ~umask`, directories `0o777 & ~umask`), so
    a cache can be shared; an entry this user may not read raises
    `CacheError` and is left alone (never deleted or downloaded over).

How a download works:
    The body is streamed into `<name>.partial-<random>` beside its final
    name and hashed on the way; it is checked (length, not HTML, sha256,
    format), fsynced and renamed into place. On any failure the temporary
    is removed, so concurrent fetches of one file are safe.

Cache names carry a tag so that two different files with the same name never
collide: the first 12 hex digits of the sha256 when it is known
(`resnet.<sha[:12]>.weights.h5`), otherwise a hash of the URL
(`resnet.url-<hash>.weights.h5`).
"""

from __future__ import annotations

from keras_attention.zoo.cache import CACHE_ENV_VAR, CacheError, cache_dir
from keras_attention.zoo.fetch import (
    PRESET_OPTIONAL_FILES,
    PRESET_REQUIRED_FILES,
    fetch,
    fetch_preset,
)
from keras_attention.zoo.integrity import (
    HDF5_SIGNATURE,
    LFS_POINTER_PREFIX,
    WeightsIntegrityError,
    sha256sum,
)
from keras_attention.zoo.transport import WeightsDownloadError

__all__ = [
    "CACHE_ENV_VAR",
    "CacheError",
    "HDF5_SIGNATURE",
    "LFS_POINTER_PREFIX",
    "PRESET_OPTIONAL_FILES",
    "PRESET_REQUIRED_FILES",
    "WeightsDownloadError",
    "WeightsIntegrityError",
    "cache_dir",
    "fetch",
    "fetch_preset",
    "sha256sum",
]
