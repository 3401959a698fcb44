"""mkdocs hook: the export guide's support matrix.

`<!-- export-matrix -->` becomes a table of `keras_attention.export.SUPPORT`,
the same data that `export()` refuses by and that tests/test_export.py
parametrises over on each backend (a ✅ is an export that test ran and
checked against `predict`; a ✗ is a refusal it checked)."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PLACEHOLDER = "<!-- export-matrix -->"
BACKEND_TITLES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def _cell(support, backend: str, fmt: str) -> str:
    parts = []
    for kind in ("image", "audio"):
        mark = "✅" if support[(backend, fmt, kind)] is None else "✗"
        parts.append(f"{mark} {kind}")
    return ", ".join(parts)


def export_matrix() -> str:
    from keras_attention import export

    support = export.SUPPORT
    lines = [
        "| backend | " + " | ".join(export.FORMATS) + " |",
        "|---" * (len(export.FORMATS) + 1) + "|",
    ]
    for backend in export.BACKENDS:
        cells = [_cell(support, backend, fmt) for fmt in export.FORMATS]
        lines.append(
            f"| {BACKEND_TITLES[backend]} | " + " | ".join(cells) + " |"
        )
    reasons = {}
    for (backend, fmt, kind), reason in support.items():
        if reason is not None:
            key = (BACKEND_TITLES[backend], fmt)
            reasons.setdefault(key, (reason, []))[1].append(kind)
    lines.append("")
    lines.append("Why the ✗ cases are refused:")
    lines.append("")
    for (backend, fmt), (reason, kinds) in reasons.items():
        lines.append(f"- {backend}, {fmt} ({' and '.join(kinds)}): {reason}.")
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown, page, config, files):
    if PLACEHOLDER in markdown:
        markdown = markdown.replace(PLACEHOLDER, export_matrix())
    return markdown
