"""Writes the index of published presets that ships in the package.

    python tools/make_presets_index.py [--check]

`keras_attention/zoo/data/presets.json` holds, for every published preset
`zoo/<model>/<weights>/`, its model card and the sha256 and size of every
file of the folder (the model card included): what an installed wheel,
which has no `zoo/`, lists as published and checks each download against.
`--check` exits with 1, naming the difference, when the file is not what
`zoo/` holds (tests/test_wheel.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "zoo"
INDEX = ROOT / "keras_attention" / "zoo" / "data" / "presets.json"
MODEL_CARD_FILE = "model_card.json"


def _file_entry(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def presets_index(zoo: Path = ZOO) -> dict:
    """`{model: {weights: {"card": ..., "files": {name: {sha256, size}}}}}`
    of every `<zoo>/<model>/<weights>/model_card.json`."""
    index: dict[str, dict] = {}
    for card_path in sorted(zoo.glob(f"*/*/{MODEL_CARD_FILE}")):
        folder = card_path.parent
        files = {
            p.relative_to(folder).as_posix(): _file_entry(p)
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }
        index.setdefault(folder.parent.name, {})[folder.name] = {
            "card": json.loads(card_path.read_text()),
            "files": files,
        }
    return index


def render(index: dict) -> str:
    return json.dumps(index, indent=1, sort_keys=True) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render(presets_index())
    if args.check:
        if not INDEX.is_file() or INDEX.read_text() != text:
            print(
                f"{INDEX.relative_to(ROOT)} is not what zoo/ holds: run "
                "python tools/make_presets_index.py",
                file=sys.stderr,
            )
            return 1
        return 0
    INDEX.write_text(text)
    print(f"wrote {INDEX.relative_to(ROOT)} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
