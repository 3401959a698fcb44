"""Builds the docs site, serves it locally and checks it in headless Chromium.

    .venv/bin/python tools/check_docs_site.py [--out docs-screenshots]

Checks the built HTML (nav present, a catalog row for every registered
model, every <img> source exists, no raw `:::` directive left, every
equation rendered to MathML, no script, stylesheet or font loaded from the
network) and writes screenshots of the home page, the catalog, a layer
page with equations, the audio models page and the benchmarks page to
`--out`.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "home": "",
    "catalog": "catalog/",
    "layer_cbam": "layers/cbam/",
    "audio_models": "audio-models/",
    "benchmarks": "benchmarks/",
}
# Pages whose equations must come out as MathML.
MATH_PAGES = ("layers/se", "layers/cbam", "layers/eca", "layers/bam")
# What a page may not load from the network (the site works offline).
REMOTE = re.compile(
    r'<(?:script[^>]+src|link[^>]+href)="(?:https?:)?//[^"]+"[^>]*>'
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)
# Screenshot heights in pixels (width 1280): long pages get taller shots.
HEIGHTS = {"benchmarks": 6000, "audio_models": 4000}
DEFAULT_HEIGHT = 2000


def build(site_dir: Path, **env: str) -> subprocess.CompletedProcess:
    """Runs `mkdocs build --strict` into `site_dir`, with `env` added to the
    environment. The output is captured; the exit status is not checked."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"]
        + ["-d", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **env},
    )


def check_html(site_dir: Path, model_names: list[str]) -> list[str]:
    """Problems found in the built HTML (empty when all is well)."""
    problems = []
    pages = sorted(site_dir.rglob("*.html"))
    for page in pages:
        if page.name == "404.html":
            continue
        html = page.read_text()
        rel = page.relative_to(site_dir)
        if 'class="md-nav' not in html:
            problems.append(f"{rel}: no navigation")
        text = re.sub(r"<(pre|code)[^>]*>.*?</\1>", "", html, flags=re.S)
        if re.search(r"^\s*:::\s*keras_attention", text, flags=re.M) or (
            "<p>::: " in text
        ):
            problems.append(f"{rel}: raw ::: directive left")
        if 'class="arithmatex"' in html:
            problems.append(f"{rel}: LaTeX left unrendered")
        for tag in REMOTE.findall(html):
            if 'rel="stylesheet"' in tag or tag.startswith("<script"):
                problems.append(f"{rel}: loads from the network: {tag}")
        for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
            if src.startswith(("http://", "https://", "data:")):
                continue
            target = (page.parent / src.split("#")[0]).resolve()
            if not target.exists():
                problems.append(f"{rel}: missing image {src}")
    for page in MATH_PAGES:
        if "<math" not in (site_dir / page / "index.html").read_text():
            problems.append(f"{page}: no MathML equation")
    catalog = (site_dir / "catalog" / "index.html").read_text()
    for name in model_names:
        if f"<code>{name}</code></td>" not in catalog:
            problems.append(f"catalog: no row for {name}")
    return problems


def serve(site_dir: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def screenshot(
    chromium: str, url: str, path: Path, height: int = DEFAULT_HEIGHT
) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--window-size=1280,{height}",
                f"--user-data-dir={profile}",
                f"--screenshot={path}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    if not path.exists() or path.stat().st_size < 10_000:
        raise RuntimeError(f"Chromium wrote no usable screenshot of {url}")


def check_site(site_dir: Path, out_dir: Path, chromium: str | None) -> list:
    from keras_attention import zoo

    problems = check_html(site_dir, zoo.list_models())
    if chromium:
        out_dir.mkdir(parents=True, exist_ok=True)
        server, base = serve(site_dir)
        try:
            for name, page in PAGES.items():
                screenshot(
                    chromium,
                    base + page,
                    out_dir / f"{name}.png",
                    HEIGHTS.get(name, DEFAULT_HEIGHT),
                )
        finally:
            server.shutdown()
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs-screenshots", type=Path)
    parser.add_argument("--site-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        site_dir = args.site_dir or Path(tmp) / "site"
        result = build(site_dir)
        sys.stderr.write(result.stderr)
        if result.returncode:
            return result.returncode
        chromium = shutil.which("chromium")
        problems = check_site(site_dir, args.out, chromium)
    for problem in problems:
        print("PROBLEM:", problem)
    if chromium:
        print(f"screenshots in {args.out}")
    else:
        print("chromium not found: HTML checked, no screenshots")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
