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
3. none (an installed wheel): `zoo_dir()` returns None and the published
   presets are downloaded instead, from `weights_base_url()` with the same
   layout, `<base>/<model>/<weights>/<file>`: `WEIGHTS_URL`, the project's
   release, or `$KERAS_ATTENTION_WEIGHTS_URL` when that is set (empty: no
   downloads). Their model cards, with the sha256 and size of every file,
   ship inside the package (`keras_attention/zoo/data/presets.json`,
   `read_presets()`, generated from `zoo/` by `tools/make_presets_index.py`)
   so each download is checked against the package, not the server.

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

from keras_attention.version import __version__

ZOO_ENV_VAR = "KERAS_ATTENTION_ZOO"
WEIGHTS_URL_ENV_VAR = "KERAS_ATTENTION_WEIGHTS_URL"
CATALOG_FILE = "catalog.json"
PRESETS_FILE = "presets.json"
DISTRIBUTION = "keras-attention-zoo"
# Where a wheel downloads the published presets from: the project's release
# of this version, laid out as the repository's `zoo/` folder. The one place
# this address is written.
WEIGHTS_URL = (
    f"https://huggingface.co/keras-attention/zoo/resolve/v{__version__}"
)


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
        if checkout is not None and _is_this_package(checkout):
            return checkout
    return None


def _is_this_package(checkout: Path) -> bool:
    """Whether `checkout` holds the `keras_attention` running now: an
    installed wheel must not take the zoo of some editable checkout whose
    metadata happens to be on `sys.path` too."""
    here = Path(str(importlib.resources.files("keras_attention")))
    try:
        return (checkout / "keras_attention").resolve() == here.resolve()
    except OSError:
        return False


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


def weights_base_url() -> str | None:
    """The base URL of the published presets: `$KERAS_ATTENTION_WEIGHTS_URL`
    when set (None when it is empty: downloads are off), else
    `WEIGHTS_URL`."""
    url = os.environ.get(WEIGHTS_URL_ENV_VAR)
    if url is None:
        url = WEIGHTS_URL
    url = url.strip()
    return url.rstrip("/") if url else None


def preset_url(model: str, weights: str) -> str | None:
    """The download location of a published preset folder (ends in "/"),
    or None when downloads are off."""
    base = weights_base_url()
    if base is None:
        return None
    quote = urllib.parse.quote
    return f"{base}/{quote(model)}/{quote(weights)}/"


def no_weights_hint(name: str) -> str:
    """How to get the published weights of `name` when they cannot be had."""
    return (
        f"Connect to the network and retry, or run `keras-attention "
        f"download {name}` once where there is one (the files are then "
        "cached, see KERAS_ATTENTION_CACHE); or set "
        f"{WEIGHTS_URL_ENV_VAR} to a mirror of the zoo's layout, or "
        f"{ZOO_ENV_VAR} to the `zoo/` folder of a source checkout. "
        "weights=None gives a randomly initialised model."
    )


def _package_data(filename: str) -> Path:
    data = importlib.resources.files("keras_attention.zoo") / "data"
    return Path(str(data / filename))


def presets_path() -> Path:
    """The index of published presets that ships in the package."""
    return _package_data(PRESETS_FILE)


@functools.lru_cache(maxsize=1)
def _read_presets() -> dict:
    return json.loads(presets_path().read_text())


def read_presets() -> dict[str, dict[str, dict]]:
    """The published presets the package knows: `{model: {weights: {"card":
    model card, "files": {file name: {"sha256", "size"}}}}}`, where
    `files` lists every file of the preset folder, the model card
    included. A copy."""
    return json.loads(json.dumps(_read_presets()))


def package_catalog() -> dict[str, dict]:
    """The catalog that ships in the package: one entry per model the
    library registers (with its `task`), whatever `$KERAS_ATTENTION_ZOO`
    says."""
    return read_catalog(_package_data(CATALOG_FILE))


def published_weight_names(model: str) -> list[str]:
    """The names of the published weights of `model`, default first, read
    as data (no Keras): from the zoo folder, else the package's index.
    `registry.published_weights` gives the whole entries."""
    root = zoo_dir()
    if root is None:
        cards = {w: p["card"] for w, p in read_presets().get(model, {}).items()}
    else:
        cards = {
            path.parent.name: json.loads(path.read_text())
            for path in sorted((root / model).glob("*/model_card.json"))
        }
    return sorted(cards, key=lambda w: not cards[w].get("default"))


def catalog_path() -> Path:
    """The catalog file: `$KERAS_ATTENTION_ZOO/catalog.json` when that is
    set, else the one in the package (`keras_attention/zoo/data/`)."""
    env = os.environ.get(ZOO_ENV_VAR)
    if env:
        return Path(env).expanduser() / CATALOG_FILE
    return _package_data(CATALOG_FILE)


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
