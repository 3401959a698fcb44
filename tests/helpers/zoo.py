"""What the zoo tests look at on disk."""

from __future__ import annotations

from pathlib import Path


def files_in(root):
    """All files below `root` (empty directories are fine)."""
    root = Path(root)
    if not root.exists():
        return []
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
