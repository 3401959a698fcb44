"""The model cards published under zoo/, read from disk: what the tests of
published weights parametrize over, checked against the registry."""

from __future__ import annotations

from pathlib import Path

from keras_attention.zoo.cards import MODEL_CARD_FILE, ModelCard

# The checkout's own presets (the tests check what this tree publishes).
ZOO = Path(__file__).resolve().parents[2] / "zoo"


def published_cards(task: str | None = None) -> dict[tuple[str, str], dict]:
    """`{(model, weights): card}` for every `zoo/<model>/<weights>/
    model_card.json`, or only those of `task` ("image", "audio")."""
    cards = {}
    for path in sorted(ZOO.glob(f"*/*/{MODEL_CARD_FILE}")):
        card = ModelCard.read(path, strict=True).to_json()
        if task is None or card.get("task") == task:
            cards[(path.parent.parent.name, path.parent.name)] = card
    return cards


def published_entries(task: str) -> list[tuple[str, str]]:
    """Sorted `(model, weights)` pairs published for `task`."""
    return sorted(published_cards(task))


def registered_entries(task: str) -> list[tuple[str, str]]:
    """Sorted `(model, weights)` pairs the registry lists for `task`; equal
    to `published_entries(task)` unless discovery is broken."""
    from keras_attention import zoo

    return sorted(
        (name, weights)
        for name in zoo.list_models(task=task)
        for weights in zoo.published_weights(name)
    )
