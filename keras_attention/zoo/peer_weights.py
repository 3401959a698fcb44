"""Named weights converted from the peers' public checkpoints.

`zoo.load("resnet50", weights="imagenet")` or `zoo.load("cnn14",
weights="audioset")`: the entries are data (`data/peer_weights.json`):
the source, its license, the published metric and where it was
published, the preprocessing, the labels (`data/imagenet_labels.json`,
AudioSet's from `keras_attention.convert.audioset`) and the converter
family.

The first use downloads the checkpoint (`peers.fetch_checkpoint`),
converts it, and saves a keras-hub preset with a model card into the cache
(`<cache>/converted/<model>/<weights>/`, written atomically); later uses
load that preset offline, its files checked against the card's sha256s.
No source publishes a sha256, so the checkpoint's is recorded at its
first download (trust on first use, `<cache>/converted/trusted.json`) and
every later download of it must match. The downloaded checkpoint is
removed once the preset is written.

Sources: `hf://org/repo` (see `peers.hf_url`; `HF_ENDPOINT` replaces the
host) and `zenodo://RECORD/FILE`, the form PANNs documents
(`https://zenodo.org/record/RECORD/files/FILE?download=1`;
`KERAS_ATTENTION_ZENODO_ENDPOINT` replaces `https://zenodo.org`). Entries
whose file sits behind a Google Drive link have no source: they say where
to get the file, and `zoo.load(name, weights=PATH)` converts it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import urllib.parse
from pathlib import Path

from keras_attention import atomic
from keras_attention.zoo import download, peers
from keras_attention.zoo.cards import CARD_SCHEMA, MODEL_CARD_FILE

DATA = Path(__file__).parent / "data"
ZENODO_SCHEME = "zenodo://"
ZENODO_ENDPOINT_ENV = "KERAS_ATTENTION_ZENODO_ENDPOINT"
CONVERTED_SUBDIR = "converted"
TRUST_FILE = "trusted.json"
TOFU_NOTE = (
    "The source publishes no sha256: the checkpoint's was recorded at its "
    "first download (trust on first use) and is checked on every later "
    "download."
)


@functools.cache
def _registry() -> dict:
    with open(DATA / "peer_weights.json", encoding="utf-8") as f:
        return json.load(f)


@functools.cache
def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names, class-index order."""
    with open(DATA / "imagenet_labels.json", encoding="utf-8") as f:
        return list(json.load(f)["labels"])


def labels(kind: str) -> list[str]:
    """The class names of a labels kind ("imagenet" or "audioset")."""
    if kind == "imagenet":
        return imagenet_labels()
    from keras_attention.convert.audioset import audioset_labels

    return audioset_labels()


def named_weights(name: str) -> dict[str, dict]:
    """The named peer weights of model `name`: weights name to its entry
    (with its preprocessing spelled out)."""
    data = _registry()
    found = {}
    for entry in data["weights"]:
        if entry["model"] == name:
            entry = dict(entry)
            entry["preprocessing"] = {
                "name": entry["preprocessing"],
                **data["preprocessing"][entry["preprocessing"]],
            }
            found[entry["weights"]] = entry
    return found


def all_named_weights() -> list[dict]:
    """Every entry, in registry order."""
    return [
        named_weights(e["model"])[e["weights"]] for e in _registry()["weights"]
    ]


def source_url(source: str) -> str:
    """The download URL of an entry's `source`."""
    if source.startswith(ZENODO_SCHEME):
        record, _, filename = source[len(ZENODO_SCHEME) :].partition("/")
        base = os.environ.get(ZENODO_ENDPOINT_ENV) or "https://zenodo.org"
        quoted = urllib.parse.quote(filename)
        return f"{base.rstrip('/')}/record/{record}/files/{quoted}?download=1"
    if source.startswith(peers.HF_SCHEME):
        return peers.hf_url(source)
    return source


def card_entry(entry: dict) -> dict:
    """What `zoo.info` lists for a named entry: marked as converted."""
    return {
        "weights": entry["weights"],
        "converted": True,
        "source": entry["source"],
        "homepage": entry["homepage"],
        "origin": entry["origin"],
        "family": entry["family"],
        "dataset": {"name": entry["dataset"]},
        "license": entry["license"],
        "metrics": entry["metrics"],
        "metric_source": entry["metric_source"],
        "preprocessing": entry["preprocessing"],
        "labels": entry["labels"],
        "num_classes": len(labels(entry["labels"])),
        "manual_download": bool(entry.get("manual")),
        "sha256": "recorded at first download (trust on first use)",
    }


def _manual_error(name: str, entry: dict) -> ValueError:
    return ValueError(
        f"The {entry['weights']!r} weights of {name!r} cannot be downloaded "
        f"by a program: {entry['origin']}. Download the file by hand from "
        f"{entry['homepage']} and pass its path: zoo.load({name!r}, "
        "weights='/path/to/checkpoint.pth.tar')."
    )


def _root() -> Path:
    root = download.cache_dir() / CONVERTED_SUBDIR
    root.mkdir(parents=True, exist_ok=True)
    return root


def _trusted() -> dict:
    path = _root() / TRUST_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _trust(url: str, sha256: str) -> None:
    records = {**_trusted(), url: sha256}
    atomic.write_text(
        _root() / TRUST_FILE, json.dumps(records, indent=1, sort_keys=True)
    )


def file_table(folder: Path) -> dict:
    """`{file: {"size", "sha256"}}` of a preset folder, card left out."""
    return {
        p.name: {"size": p.stat().st_size, "sha256": download.sha256sum(p)}
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MODEL_CARD_FILE
    }


def write_preset(model, out: Path, card: dict) -> Path:
    """Saves `model` as a keras-hub preset with its model card `card`
    (files table added) into the folder `out`, atomically."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_dir(out) as staging:
        model.save_to_preset(str(staging))
        card = {**card, "files": file_table(staging)}
        (staging / MODEL_CARD_FILE).write_text(json.dumps(card, indent=1))
    return out


def converted_card(name: str, entry: dict, url: str, sha256: str) -> dict:
    """The model card of a preset converted from the entry's checkpoint."""
    import keras

    info = card_entry(entry)
    return {
        "schema": CARD_SCHEMA,
        "model": name,
        "weights": entry["weights"],
        "task": "audio" if entry["dataset"] == "audioset" else "image",
        "num_classes": info["num_classes"],
        "dataset": info["dataset"],
        "preprocessing": info["preprocessing"],
        "license": info["license"],
        "metrics": info["metrics"],
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "converted": {
            "from": url,
            "source": entry["source"],
            "family": entry["family"],
            "origin": entry["origin"],
            "metric_source": entry["metric_source"],
            "checkpoint_sha256": sha256,
            "sha256_note": TOFU_NOTE,
        },
    }


def _convert(name: str, entry: dict, checkpoint: Path):
    kwargs = {}
    if entry["labels"] == "imagenet":
        kwargs["class_names"] = imagenet_labels()
    return peers.load_checkpoint(name, checkpoint, **kwargs)


def _cached(folder: Path) -> tuple[Path, dict]:
    """The cached converted preset `folder`, verified; one that fails its
    card's sha256s is removed (the next use converts it again)."""
    try:
        download.fetch_preset(folder, manifest=MODEL_CARD_FILE)
    except download.WeightsIntegrityError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise download.WeightsIntegrityError(
            f"The converted preset {folder} fails its model card's sha256s "
            f"and was removed (the next use converts it again): {error}",
            source=str(folder),
        ) from error
    return folder, json.loads((folder / MODEL_CARD_FILE).read_text())


def resolve(name: str, weights: str) -> tuple[Path, dict]:
    """The verified cached preset of the named weights `weights` of
    `name`, converted on first use: `(folder, card)`."""
    entry = named_weights(name)[weights]
    if entry.get("manual"):
        raise _manual_error(name, entry)
    folder = _root() / name / weights
    if (folder / MODEL_CARD_FILE).is_file():
        return _cached(folder)
    url = source_url(entry["source"])
    recorded = _trusted().get(url)
    try:
        checkpoint = peers.fetch_checkpoint(url, recorded)
    except download.WeightsIntegrityError as error:
        if recorded is None:
            raise
        raise download.WeightsIntegrityError(
            f"The checkpoint of {name!r} weights={weights!r} from {url} is "
            f"not the file first downloaded (sha256 {recorded}, recorded on "
            f"first use): {error}. Nothing was cached; delete "
            f"{_root() / TRUST_FILE} to trust the new file.",
            source=url,
        ) from error
    sha256 = recorded or download.sha256sum(checkpoint)
    try:
        model = _convert(name, entry, checkpoint)
        card = converted_card(name, entry, url, sha256)
        write_preset(model, folder, card)
        if recorded is None:
            _trust(url, sha256)
    finally:
        if download.cache_dir() in checkpoint.parents:
            checkpoint.unlink(missing_ok=True)
    return folder, card
