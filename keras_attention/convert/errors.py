"""The error every converter raises."""

from __future__ import annotations

from collections.abc import Iterable


def _listed(title: str, items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"{title} ({len(items)}): {shown}{more}"


class ConversionError(ValueError):
    """A checkpoint does not fit the model it is converted into.

    Attributes:
        missing: keys the model needs that the checkpoint lacks.
        unexpected: checkpoint keys the model has no place for.
        mismatched: `(key, checkpoint_shape, expected_shape)` triples.
    """

    def __init__(
        self,
        message: str,
        *,
        missing: Iterable[str] = (),
        unexpected: Iterable[str] = (),
        mismatched: Iterable[tuple[str, tuple, tuple]] = (),
    ) -> None:
        self.missing = sorted(missing)
        self.unexpected = sorted(unexpected)
        self.mismatched = sorted(mismatched)
        parts = [message]
        if self.missing:
            parts.append(_listed("missing keys", self.missing))
        if self.unexpected:
            parts.append(_listed("unexpected keys", self.unexpected))
        if self.mismatched:
            parts.append(
                _listed(
                    "mis-shaped keys",
                    [
                        f"{k} {tuple(got)} (expected {tuple(want)})"
                        for k, got, want in self.mismatched
                    ],
                )
            )
        super().__init__("; ".join(parts))
