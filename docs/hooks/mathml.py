"""mkdocs hook: renders the LaTeX of the pages to MathML at build time.

`pymdownx.arithmatex` (`generic: true`) keeps `\\(...\\)` and `\\[...\\]`
away from Markdown and wraps them in `<span class="arithmatex">` /
`<div class="arithmatex">`; this hook replaces each with the MathML that
`latex2mathml` makes of it. Browsers render MathML natively, so the site
needs no JavaScript and no network for its equations. A formula that
`latex2mathml` cannot convert, or with a command it does not know, fails
the build, naming the page.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

MATH = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', re.S
)
DELIMITERS = {"span": (r"\(", r"\)"), "div": (r"\[", r"\]")}
# latex2mathml writes F' as a superscript prime; the prime glyph is raised
# already, so browsers draw it twice as high. Set it beside the letter.
PRIME = re.compile(r"<msup>(<mi>[^<]*</mi>)<mi>&#x02032;</mi></msup>")


def to_mathml(tex: str, display: bool) -> str:
    """MathML of one formula, `display` for a block equation."""
    mathml = convert(
        " ".join(tex.split()), display="block" if display else "inline"
    )
    if "\\" in mathml:
        # latex2mathml passes commands it does not know through as text.
        unknown = sorted(set(re.findall(r"\\[A-Za-z]+", mathml)))
        raise ValueError(f"unsupported command(s) {', '.join(unknown)}")
    mathml = PRIME.sub(r'\1<mo lspace="0" rspace="0">&#x02032;</mo>', mathml)
    if display:
        return f'<div class="math-display">{mathml}</div>'
    return mathml


def render(page_html: str, where: str = "page") -> str:
    """Replaces every arithmatex formula of `page_html` by MathML."""

    def replace(match: re.Match) -> str:
        open_, close = DELIMITERS[match["tag"]]
        tex = html.unescape(match["tex"]).strip()
        if not (tex.startswith(open_) and tex.endswith(close)):
            raise PluginError(f"{where}: unexpected math markup {tex!r}")
        tex = tex[len(open_) : -len(close)]
        try:
            return to_mathml(tex, display=match["tag"] == "div")
        except Exception as error:  # latex2mathml raises several types.
            raise PluginError(
                f"{where}: cannot convert {tex!r} to MathML: {error}"
            ) from error

    return MATH.sub(replace, page_html)


def on_page_content(html_text, page, config, files):
    return render(html_text, page.file.src_uri)
