"""The documentation cannot drift from the code.

- Every fenced ```python block in docs/ parses (all backends).
- Every block not marked `<!-- skip-test: reason -->` (on the line right
  before the fence) runs, page by page in a fresh namespace and a temporary
  working directory. They run on the PyTorch backend only, the quickest
  here; the other backends only parse them.
- The site builds with `mkdocs build --strict`, and the built HTML passes
  tools/check_docs_site.py's checks; with Chromium installed
  (/usr/bin/chromium, see .ci/apt-packages.txt) it also takes screenshots.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RUN_BACKEND = "torch"
SKIP_MARK = re.compile(r"<!--\s*skip-test:\s*(.+?)\s*-->")
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
MAX_SKIPPED = 8


def _pages() -> list[Path]:
    return sorted(
        p
        for p in DOCS.rglob("*.md")
        if "hooks" not in p.relative_to(DOCS).parts
    )


def extract_blocks(text: str) -> list[tuple[str, str | None]]:
    """`(code, skip_reason)` for every ```python block of a page."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        reason = None
        if before:
            mark = SKIP_MARK.fullmatch(before[-1].strip())
            reason = mark.group(1) if mark else None
        blocks.append((match.group(1), reason))
    return blocks


PAGES = {str(p.relative_to(DOCS)): p for p in _pages()}
RUNNABLE = [
    name
    for name, path in PAGES.items()
    if any(r is None for _, r in extract_blocks(path.read_text()))
]


def test_extract_blocks_sees_marks():
    text = (
        "x\n<!-- skip-test: needs weights -->\n```python\na = 1\n```\n"
        "```python\nb = 2\n```\n"
    )
    assert extract_blocks(text) == [
        ("a = 1\n", "needs weights"),
        ("b = 2\n", None),
    ]


def test_docs_have_examples_and_few_skips():
    blocks = [b for p in PAGES.values() for b in extract_blocks(p.read_text())]
    skipped = [b for b in blocks if b[1] is not None]
    assert len(blocks) >= 10
    assert len(skipped) <= MAX_SKIPPED, skipped


@pytest.mark.parametrize("page", sorted(PAGES))
def test_blocks_parse(page):
    for code, _ in extract_blocks(PAGES[page].read_text()):
        ast.parse(code, filename=page)


@pytest.mark.parametrize("page", RUNNABLE)
def test_blocks_run(page, tmp_path, monkeypatch):
    blocks = [c for c, r in extract_blocks(PAGES[page].read_text()) if not r]
    if keras.backend.backend() != RUN_BACKEND:
        # Executed under RUN_BACKEND; here they must at least compile.
        for code in blocks:
            compile(code, page, "exec")
        return
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    try:
        for i, code in enumerate(blocks):
            exec(compile(code, f"{page}[block {i}]", "exec"), namespace)
    finally:
        keras.config.set_dtype_policy("float32")
        matplotlib.pyplot.close("all")


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    assert importlib.util.find_spec("mkdocs"), (
        "mkdocs is missing: install the docs extra (make setup does)"
    )
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return out


def _check_tool():
    spec = importlib.util.spec_from_file_location(
        "check_docs_site", ROOT / "tools" / "check_docs_site.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_site_builds_strict_and_html_is_complete(site_dir):
    from keras_attention import zoo

    tool = _check_tool()
    assert tool.check_html(site_dir, zoo.list_models()) == []
    catalog = (site_dir / "catalog" / "index.html").read_text()
    assert "resnet18" in catalog


def test_check_html_finds_problems(site_dir, tmp_path):
    tool = _check_tool()
    broken = tmp_path / "site"
    shutil.copytree(site_dir, broken)
    page = broken / "index.html"
    page.write_text(
        page.read_text().replace(
            "</article>", '<img src="nope.png"><p>::: x</p></article>', 1
        )
    )
    problems = tool.check_html(broken, ["not_a_model"])
    assert any("missing image" in p for p in problems)
    assert any("raw :::" in p for p in problems)
    assert any("not_a_model" in p for p in problems)


@pytest.mark.skipif(
    not shutil.which("chromium"),
    reason="needs Chromium (Debian `chromium`, in .ci/apt-packages.txt)",
)
def test_site_screenshots(site_dir, tmp_path):
    tool = _check_tool()
    problems = tool.check_site(site_dir, tmp_path, shutil.which("chromium"))
    assert problems == []
    for name in tool.PAGES:
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
