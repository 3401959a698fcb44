"""Builds the docs site, serves it locally and checks it in headless Chromium.

    .venv/bin/python tools/check_docs_site.py [--out docs-screenshots]

Checks the built HTML (nav present, a catalog row for every registered
model, every <img> source exists, no raw `:::` directive left) and writes
screenshots of the home page, the catalog and a layer page to `--out`.
"""

from __future__ import annotations

import argparse
import functools
import http.server
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
}
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--window-size=1280,2000",
)


def build(site_dir: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-d",
            str(site_dir),
        ],
        cwd=ROOT,
        check=True,
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
        for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
            if src.startswith(("http://", "https://", "data:")):
                continue
            target = (page.parent / src.split("#")[0]).resolve()
            if not target.exists():
                problems.append(f"{rel}: missing image {src}")
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


def screenshot(chromium: str, url: str, path: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
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
                screenshot(chromium, base + page, out_dir / f"{name}.png")
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
        build(site_dir)
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
