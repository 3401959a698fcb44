"""Where the zoo's files are: the published presets and the catalog.

Published presets (weights, ~150 MB) are keras-hub preset folders
`<zoo>/<model>/<weights>/` with our `model_card.json`. They are too large
for a wheel and stay in the repository's top-level `zoo/` folder. The zoo
folder is, in this order:

1. `$KERAS_ATTENTION_ZOO`, when set (any folder laid out as `zoo/`);
2. the `zoo/` folder of the source checkout this package is installed
   from in editable (development) mode, as pip records it in the
   distribution's `direct_url.json` (`dir_info.editable` and a `file://`
   `url`);
3. none: `zoo_dir()` returns None, no model has published weights, and
   `zoo.load(name)` with the default weights raises a `ValueError` saying
   how to point the zoo at the presets.

The catalog (`catalog.json`: parameter and MAC counts, see
`keras_attention.zoo.catalog`) is small, is needed at run time and ships
inside the package (`keras_attention/zoo/data/catalog.json`, read with
`importlib.resources`). A zoo folder named by `$KERAS_ATTENTION_ZOO`
replaces the whole zoo: its own `catalog.json` is then used (none there:
no counts).
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import json
import os
import urllib.parse
import urllib.request
from pathlib import Path

ZOO_ENV_VAR = "KERAS_ATTENTION_ZOO"
CATALOG_FILE = "catalog.json"
DISTRIBUTION = "keras-attention-zoo"


def _checkout_of(record) -> Path | None:
    """The source folder a `direct_url.json` record names for an editable
    install, or None."""
    if not isinstance(record, dict):
        return None
    url = record.get("url")
    editable = (record.get("dir_info") or {}).get("editable")
    if not editable or not isinstance(url, str):
        return None
    if not url.startswith("file://"):
        return None
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))


@functools.lru_cache(maxsize=1)
def _editable_checkout() -> Path | None:
    """The source folder of an editable install of this distribution, or
    None (a regular install, or not installed).

    Every installed copy of the distribution's metadata is read: in the
    checkout itself, setuptools' `keras_attention.egg-info` (which has no
    `direct_url.json`) comes first on `sys.path` and must not hide the
    installed `.dist-info` that pip wrote it in."""
    for dist in importlib.metadata.distributions(name=DISTRIBUTION):
        try:
            record = json.loads(dist.read_text("direct_url.json") or "null")
        except (OSError, ValueError):
            continue
        checkout = _checkout_of(record)
        if checkout is not None:
            return checkout
    return None


def zoo_dir() -> Path | None:
    """The folder of published presets (see the module docstring):
    `$KERAS_ATTENTION_ZOO`, else `zoo/` of the editable install's source
    checkout, else None."""
    env = os.environ.get(ZOO_ENV_VAR)
    if env:
        return Path(env).expanduser()
    checkout = _editable_checkout()
    if checkout is not None and (checkout / "zoo").is_dir():
        return checkout / "zoo"
    return None


def no_zoo_hint() -> str:
    """What to do when `zoo_dir()` is None."""
    return (
        "The published presets were not found: this is not an editable "
        "install of a keras-attention source checkout. Set "
        f"{ZOO_ENV_VAR} to the `zoo/` folder of a checkout (the presets "
        "are not in the wheel), or pass weights= a preset folder, a "
        ".weights.h5 file or a URL (weights=None for a random model)."
    )


def catalog_path() -> Path:
    """The catalog file: `$KERAS_ATTENTION_ZOO/catalog.json` when that is
    set, else the one in the package (`keras_attention/zoo/data/`)."""
    env = os.environ.get(ZOO_ENV_VAR)
    if env:
        return Path(env).expanduser() / CATALOG_FILE
    data = importlib.resources.files("keras_attention.zoo") / "data"
    return Path(str(data / CATALOG_FILE))


@functools.lru_cache(maxsize=4)
def _read_catalog(path: str, mtime_ns: int) -> dict:
    return json.loads(Path(path).read_text())


def read_catalog(path=None) -> dict[str, dict]:
    """The catalog at `path` (default `catalog_path()`), `{}` if there is
    none. Cached per file and modification time, so a rewritten catalog
    or another `$KERAS_ATTENTION_ZOO` is seen at once; a copy is
    returned."""
    path = Path(path) if path is not None else catalog_path()
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        return {}
    return json.loads(json.dumps(_read_catalog(str(path), mtime_ns)))
