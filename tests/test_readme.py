"""The README's ablation tables quote the published model cards exactly.

The cards' metrics are written by `training/evaluate.py` from the published
files; the README is written by hand, so this keeps it from drifting when
weights are retrained.
"""

from __future__ import annotations

import re
from pathlib import Path

from helpers.published import published_cards

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _test_set(name):
    return lambda card: card["metrics"]["test_sets"][name]["accuracy"]


# README column header -> (value in the card, how the README prints it).
COLUMNS = {
    "test accuracy": (lambda c: c["metrics"]["test_accuracy"], "{:.2%}"),
    "held-out instruments": (_test_set("test_instrument"), "{:.2%}"),
    "held-out soundfont": (_test_set("test_soundfont"), "{:.2%}"),
    "bundled clips (22)": (
        lambda c: c["metrics"]["sample"]["accuracy"],
        "{:.1%}",
    ),
    "params": (lambda c: c["architecture"]["params"], "{:,}"),
}


def _cards() -> dict[str, dict]:
    """The default published card of each model."""
    return {
        model: card
        for (model, _), card in published_cards().items()
        if card.get("default")
    }


def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every pipe table of a markdown text, as rows of stripped cells (the
    header first, the `|---|` rule dropped)."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    return tables


def quoted_values(text: str, cards: dict[str, dict]):
    """`(model, column, printed, expected)` for every cell of a README table
    whose row names a published model and whose column is in COLUMNS."""
    for header, *rows in markdown_tables(text):
        for row in rows:
            card = cards.get(row[0])
            if card is None:
                continue
            for column, cell in zip(header, row, strict=True):
                if column in COLUMNS:
                    value, fmt = COLUMNS[column]
                    yield row[0], column, cell, fmt.format(value(card))


def test_markdown_tables():
    text = "a\n| m | x |\n|---|--:|\n| r | 1 |\n\n| b |\n|---|\n"
    assert markdown_tables(text) == [[["m", "x"], ["r", "1"]], [["b"]]]


def mismatches(text: str, cards: dict[str, dict]) -> list[tuple]:
    """`(model, column, printed, expected)` for every quoted value that
    differs from its card, plus `(model, "missing", ...)` for a published
    model whose accuracy the text does not quote."""
    quoted = list(quoted_values(text, cards))
    wrong = [q for q in quoted if q[2] != q[3]]
    accuracy_columns = {"test accuracy", "held-out instruments"}
    shown = {m for m, column, _, _ in quoted if column in accuracy_columns}
    wrong += [(m, "missing", None, None) for m in sorted(set(cards) - shown)]
    return wrong


def test_readme_tables_quote_the_cards():
    cards = _cards()
    assert len(cards) >= 10  # five image and five audio published models
    assert mismatches(README.read_text(), cards) == []


def test_a_stale_or_missing_number_is_caught():
    cards = _cards()
    text = README.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| cbam_"))
    model = row.split("|")[1].strip()
    stale = row.replace("%", "1%", 1)  # e.g. 83.71% -> 83.711%
    wrong = mismatches(text.replace(row, stale), cards)
    assert [w[0] for w in wrong] == [model]
    wrong = mismatches(text.replace(row + "\n", ""), cards)
    assert (model, "missing", None, None) in wrong
