"""The documentation cannot drift from the code.

- Every fenced ```python block in docs/ parses (all backends).
- Every block runs, page by page in a fresh namespace and a temporary
  working directory: on the PyTorch backend (the quickest here), unless the
  line right before its fence names another one, `<!-- test-backend:
  tensorflow -->` (TensorFlow-only APIs such as TFLite). Each block is
  compiled on every backend. No block is exempt: a dataset an example
  needs is a stand-in the page writes itself.
- The site builds with `mkdocs build --strict` (no warning at all, griffe's
  included), and the built HTML passes tools/check_docs_site.py's checks;
  with Chromium installed (/usr/bin/chromium, see .ci/apt-packages.txt) it
  also takes screenshots.
- The build hooks: equations become MathML (docs/hooks/mathml.py), and the
  benchmark tables come from `benchmarks/results/*.json`, the strict build
  failing if one is missing (docs/hooks/catalog.py). The site build reads
  the committed results, or the folder in KERAS_ATTENTION_BENCHMARK_RESULTS.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import keras
import pytest
from helpers.system import require

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RUN_BACKEND = "torch"
MARK = re.compile(r"<!--\s*test-backend:\s*(.+?)\s*-->")
BACKENDS = ("tensorflow", "jax", "torch")
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _pages() -> list[Path]:
    return sorted(
        p
        for p in DOCS.rglob("*.md")
        if "hooks" not in p.relative_to(DOCS).parts
    )


class Block(NamedTuple):
    code: str
    backend: str = RUN_BACKEND  # where it runs


def extract_blocks(text: str) -> list[Block]:
    """Every ```python block of a page, with the backend it runs on."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        mark = MARK.fullmatch(before[-1].strip()) if before else None
        if mark and mark.group(1) not in BACKENDS:
            raise ValueError(
                f"test-backend: Expected one of {BACKENDS}. "
                f"Received: {mark.group(1)!r}"
            )
        backend = mark.group(1) if mark else RUN_BACKEND
        blocks.append(Block(match.group(1), backend))
    return blocks


PAGES = {str(p.relative_to(DOCS)): p for p in _pages()}


def test_extract_blocks_sees_marks():
    text = (
        "x\n```python\nb = 2\n```\n"
        "<!-- test-backend: tensorflow -->\n```python\nc = 3\n```\n"
    )
    assert extract_blocks(text) == [
        Block("b = 2\n"),
        Block("c = 3\n", backend="tensorflow"),
    ]
    with pytest.raises(ValueError, match="test-backend: Expected one of"):
        extract_blocks("<!-- test-backend: tf -->\n```python\nc = 3\n```\n")


def test_docs_have_examples_and_no_exemptions():
    blocks = [b for p in PAGES.values() for b in extract_blocks(p.read_text())]
    assert len(blocks) >= 10
    # Every backend mark is in use, or the marks are dead code.
    assert {b.backend for b in blocks} == {RUN_BACKEND, "tensorflow"}
    # The old exemption mark is gone for good: every block runs.
    assert not [p for p, f in PAGES.items() if "skip-test" in f.read_text()]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_blocks_parse(page):
    for block in extract_blocks(PAGES[page].read_text()):
        ast.parse(block.code, filename=page)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_blocks_run(page, tmp_path, monkeypatch):
    blocks = extract_blocks(PAGES[page].read_text())
    for block in blocks:
        compile(block.code, page, "exec")
    here = [b for b in blocks if b.backend == keras.backend.backend()]
    if not here:
        return  # executed under the other backends; compiled above
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    try:
        for i, block in enumerate(here):
            exec(compile(block.code, f"{page}[block {i}]", "exec"), namespace)
    finally:
        keras.config.set_dtype_policy("float32")
        matplotlib.pyplot.close("all")


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    assert importlib.util.find_spec("mkdocs"), (
        "mkdocs is missing: install the docs extra (make setup does)"
    )
    out = tmp_path_factory.mktemp("site")
    result = _check_tool().build(out)
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


def test_site_screenshots(site_dir, tmp_path):
    require(
        shutil.which("chromium") is not None,
        "Chromium: apt-get install chromium (in .ci/apt-packages.txt)",
    )
    tool = _check_tool()
    problems = tool.check_site(site_dir, tmp_path, shutil.which("chromium"))
    assert problems == []
    for name in tool.PAGES:
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


# ------------------------------------------------------------ build hooks


def _hook(name: str):
    spec = importlib.util.spec_from_file_location(
        f"docs_hook_{name}", DOCS / "hooks" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_math_hook_renders_mathml():
    from mkdocs.exceptions import PluginError

    hook = _hook("mathml")
    html = (
        '<p>a <span class="arithmatex">\\(F\' = M_c \\odot F\\)</span></p>'
        '<div class="arithmatex">\\[\n\\frac{a}{b} &lt; 1\n\\]</div>'
    )
    out = hook.render(html)
    assert "arithmatex" not in out and "\\(" not in out
    assert out.count("<math") == 2 and 'display="block"' in out
    assert "<mfrac>" in out and "&#x0003C;" in out and "&#x02299;" in out
    assert "<mi>F</mi><mo lspace=" in out  # F' keeps its prime beside F
    for bad in ("\\left( x", "\\notacommand x"):
        with pytest.raises(PluginError, match="page.md"):
            hook.render(
                f'<span class="arithmatex">\\({bad}\\)</span>', "page.md"
            )


def _report(backend: str, results: list[dict]) -> dict:
    return {
        "command": f"KERAS_BACKEND={backend} python benchmarks/x.py -q",
        "backend": backend,
        "jit_compile": backend != "torch",
        "keras": "3.99",
        "input_shape": [8, 56, 56, 256],
        "warmup": 1,
        "repeats": 3,
        "machine": "test-cpu, 2 CPUs",
        "results": results,
    }


def _overhead_row(backend, layer, ratio):
    return {
        "backend": backend,
        "layer": layer,
        "params_added": 0 if layer == "none" else 8464,
        "ms": 100.0 * ratio,
        "ratio": ratio,
        "cpu_ms": 50.0 * ratio,
        "cpu_ratio": ratio,
    }


def _forward_row(backend, model, ratio):
    return {
        "backend": backend,
        "model": model,
        "batch": 1,
        "params": 25_610_152,
        "macs": 4_089_184_256,
        "ms": 110.0 * ratio,
        "ratio_to_baseline": ratio,
        "ratio_to_keras_applications": None,
        "cpu_ms": 105.0 * ratio,
        "cpu_ratio_to_baseline": ratio,
    }


def test_benchmark_tables_render_one_table_per_backend(tmp_path):
    import json

    hook = _hook("catalog")
    (tmp_path / "layer_overhead.json").write_text(
        json.dumps(
            {
                "command": "python benchmarks/layer_overhead.py --backend all",
                "reports": [
                    _report(
                        b,
                        [
                            _overhead_row(b, "none", 1.0),
                            _overhead_row(b, "CBAM", 1.234),
                        ],
                    )
                    for b in ("tensorflow", "torch")
                ],
            }
        )
    )
    (tmp_path / "resnet_forward.json").write_text(
        json.dumps(
            {
                "command": "python benchmarks/resnet_forward.py --quick",
                "reports": [
                    _report(
                        "jax",
                        [
                            _forward_row("jax", "resnet50", 1.0),
                            _forward_row("jax", "cbam_resnet50", 1.1),
                        ],
                    )
                ],
            }
        )
    )
    text = hook.benchmark_section("layer_overhead", tmp_path)
    assert "### TensorFlow" in text and "### PyTorch" in text
    assert "| Conv3x3(256) only | 0 | 100.0 | 1.000 | 50.0 | 1.000 |" in text
    assert "| `CBAM` | 8,464 | 123.4 | 1.234 | 61.7 | 1.234 |" in text
    assert text.count("Machine: test-cpu, 2 CPUs") == 2
    assert "Command: `KERAS_BACKEND=torch python benchmarks/x.py" in text
    assert "compiled with XLA" in text and "; eager;" in text
    text = hook.benchmark_section("resnet_forward", tmp_path)
    assert "### JAX" in text and text.count("Machine:") == 1
    assert (
        "| `cbam_resnet50` | 1 | 4.09 | 121.0 | 1.100 | — | 115.5 | 1.100 |"
        in (text)
    )


def test_missing_benchmark_results_name_file_and_command(tmp_path):
    hook = _hook("catalog")
    with pytest.raises(hook.BenchmarkError) as error:
        hook.benchmark_section("resnet_forward", tmp_path)
    message = str(error.value)
    assert str(tmp_path / "resnet_forward.json") in message
    assert (
        "python -m benchmarks.resnet_forward --backend all --json "
        "benchmarks/results/resnet_forward.json" in message
    )
    (tmp_path / "resnet_forward.json").write_text("{}")
    with pytest.raises(hook.BenchmarkError, match="unreadable"):
        hook.benchmark_section("resnet_forward", tmp_path)


def test_strict_build_fails_without_benchmark_results(tmp_path):
    result = _check_tool().build(
        tmp_path / "site", KERAS_ATTENTION_BENCHMARK_RESULTS=str(tmp_path)
    )
    assert result.returncode != 0
    for name in ("layer_overhead", "resnet_forward"):
        assert str(tmp_path / f"{name}.json") in result.stderr
        assert f"python -m benchmarks.{name} --backend all" in result.stderr
