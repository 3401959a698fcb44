"""The error type of `keras_attention.inference`, and one-line messages."""

from __future__ import annotations


class InferenceError(ValueError):
    """An input file, model or weights that inference cannot use; the
    message says what is wrong and names the file. A ValueError, so that
    callers catch it with the other ValueErrors (the command line turns
    it into one line on stderr and exit status 2)."""


def one_line(error, limit: int = 600) -> str:
    """An exception's message on one line (Keras's deserialisation errors
    span several, with whole configs), shortened to `limit` characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
