"""A Sphinx extension for the book build: a page's first screen, soon, on a slow phone.

On a phone's first visit (Slow 4G: 562.5 ms a round trip, 180 kB/s) a stock page of the theme
spent most of its wait on files that draw nothing of the first screen. This extension changes
the HTML the theme writes, in one place, and nothing of the theme itself:

- Font Awesome's JavaScript (pydata-sphinx-theme's ``_static/scripts/fontawesome.js``: 1.5 MB,
  0.54 MB gzipped, three seconds of the link by itself) turns each ``<i class="fa-...">`` icon
  into an inline SVG once it has run. The build does that instead: every such icon is written
  as the same SVG (the paths read from that very file, so they follow the theme's pinned Font
  Awesome), and the page no longer loads the script. The few rules of Font Awesome's SVG
  stylesheet that the script injected are in ``course.css``. The icons that the theme's CSS
  draws in pseudo-elements (admonition titles, external links) still use its icon font.
- Every script the page loads from a file is deferred: none blocks the first paint, and they
  run in the order the page lists them, once the HTML is parsed (Sphinx writes most of them
  without ``defer``; each of them only acts on the parsed page or on later scripts).

MathJax, the largest script of a page with math, is loaded with ``async`` (``mathjax_options``
in ``_config.yml``): the text shows as soon as it arrives, and the formulas are typeset when
MathJax arrives. ``benchmarks/book_weight.py`` measures the result (README, "Page speed").

Loaded from ``_config.yml`` (``sphinx.local_extensions``, as ``book.pageload``).
"""

from __future__ import annotations

import html as html_lib
import re
from functools import cache
from pathlib import Path

import pydata_sphinx_theme

THEME_STATIC = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
FONTAWESOME_JS = THEME_STATIC / "scripts" / "fontawesome.js"
# One icon pack of fontawesome.js: `var p={name:[width,height,[aliases],"unicode","path"],...}`,
# registered by `d("fas",p)` (solid), "far" (regular) or "fab" (brands).
PACK_START = re.compile(r"var p=\{")
PACK_END = re.compile(r'd\("(fa[srb])",p\)')
ICON_ENTRY = re.compile(
    r'(?:"([^"]+)"|([A-Za-z0-9_$]+)):\[(\d+),(\d+),\[([^\]]*)\],"[0-9a-f]*",("(?:[^"\\]|\\.)*"|\[[^\]]*\])\]'
)
# The style classes of Font Awesome 6 (and the 5 and 4 names it still reads) and their pack.
STYLE_PACK = {"fa-solid": "fas", "fas": "fas", "fa": "fas", "fa-regular": "far", "far": "far"}
STYLE_PACK |= {"fa-brands": "fab", "fab": "fab"}
# Classes that size or place an icon rather than name it.
NOT_A_NAME = re.compile(r"^fa-(solid|regular|brands|\d*x|2?xs|sm|lg|xl|2xl|fw|spin|pulse|border|pull-\w+|li|ul)$")
ICON_TAG = re.compile(r'<i\s+class="([^"]*\bfa-[^"]*)"([^>]*)>\s*</i>')
ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
FONTAWESOME_SCRIPT = re.compile(
    r"(?:[ \t]*<!-- So that users can add custom icons -->\s*)?"
    r'<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>\n?'
)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>")
# documentation_options.js stays as it is: the inline scripts after it set its DOCUMENTATION_OPTIONS.
KEEP_SYNC = re.compile(r'src="[^"]*/documentation_options\.js')
MATHJAX_SCRIPT = re.compile(r'[ \t]*<script\b[^>]*\ssrc="[^"]*/mathjax[@/][^"]*"[^>]*></script>\n?')
# The theme preloads its two scripts (bootstrap.js, pydata-sphinx-theme.js) at the top of the
# head, which puts them before the stylesheets on the link; they draw nothing of the first screen
# (the page loads them, deferred, at the end of its body).
THEME_PRELOADS = re.compile(
    r"(?:[ \t]*<!-- Pre-loaded scripts that we\'ll load fully later -->\s*)?"
    r'(?:[ \t]*<link rel="preload" as="script" href="[^"]*_static/scripts/[\w.-]+\.js[^"]*" />\s*)+'
)
# pydata-sphinx-theme loads Sphinx's search (searchtools.js, language_data.js and the 73 kB
# searchindex.js) on every page, for its search-as-you-type; with that off (the theme's default)
# the search box opens search.html, which loads them itself, and on other pages they do nothing.
SEARCH_AS_YOU_TYPE_OFF = "DOCUMENTATION_OPTIONS.search_as_you_type = false;"
SEARCH_SCRIPTS = re.compile(
    r'[ \t]*<script src="[^"]*_static/searchtools\.js"></script>\s*'
    r'<script src="[^"]*_static/language_data\.js"></script>\s*'
    r'<script src="[^"]*searchindex\.js"></script>\n?'
)


@cache
def icon_packs(js: Path = FONTAWESOME_JS) -> dict[str, dict[str, tuple[int, int, list[str]]]]:
    """{pack: {icon name or alias: (width, height, [SVG path, ...])}} as fontawesome.js defines them."""
    text = js.read_text(encoding="utf-8")
    packs: dict[str, dict[str, tuple[int, int, list[str]]]] = {}
    for start in PACK_START.finditer(text):
        end = PACK_END.search(text, start.end())
        if end is None:
            break
        icons = packs.setdefault(end.group(1), {})
        for entry in ICON_ENTRY.finditer(text, start.end(), end.start()):
            name = entry.group(1) or entry.group(2)
            paths = re.findall(r'"((?:[^"\\]|\\.)*)"', entry.group(6))
            icon = (int(entry.group(3)), int(entry.group(4)), paths)
            icons[name] = icon
            for alias in re.findall(r'"([^"]+)"', entry.group(5)):
                icons.setdefault(alias, icon)
    return packs


def icon_svg(classes: list[str], attributes: str, packs: dict) -> str | None:
    """The inline SVG Font Awesome's script would put in place of `<i class="classes" attributes>`."""
    pack = next((STYLE_PACK[c] for c in classes if c in STYLE_PACK), "fas")
    names = [c.removeprefix("fa-") for c in classes if c.startswith("fa-") and not NOT_A_NAME.match(c)]
    found = next(((n, packs.get(pack, {})[n]) for n in names if n in packs.get(pack, {})), None)
    if found is None:
        return None
    name, (width, height, paths) = found
    attrs = dict(ATTRIBUTE.findall(attributes))
    kept = [c for c in classes if c not in STYLE_PACK]
    svg_attrs = {"class": " ".join(["svg-inline--fa", *kept])}
    svg_attrs |= {k: v for k, v in attrs.items() if k not in ("class", "title")}
    title = attrs.get("title")
    if title is None:
        svg_attrs.setdefault("aria-hidden", "true")
    svg_attrs |= {"focusable": "false", "data-prefix": pack, "data-icon": name, "role": "img"}
    svg_attrs |= {"xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {width} {height}"}
    head = " ".join(f'{k}="{v}"' for k, v in svg_attrs.items())
    body = f"<title>{title}</title>" if title is not None else ""
    body += "".join(f'<path fill="currentColor" d="{html_lib.escape(p)}"></path>' for p in paths)
    return f"<svg {head}>{body}</svg>"


def inline_icons(page: str, packs: dict) -> str:
    """The page with every Font Awesome `<i>` icon written as its inline SVG (unknown ones left as they are)."""

    def replace(match: re.Match) -> str:
        svg = icon_svg(match.group(1).split(), match.group(2), packs)
        return svg if svg is not None else match.group(0)

    return ICON_TAG.sub(replace, page)


def defer_scripts(page: str) -> str:
    """The page with every `<script src=...>` deferred, but those already async or deferred and KEEP_SYNC."""

    def defer(match: re.Match) -> str:
        attrs = match.group(1)
        if not re.search(r"\ssrc=", attrs) or re.search(r"\s(defer|async)\b", attrs) or KEEP_SYNC.search(attrs):
            return match.group(0)
        return f"<script defer{attrs}>"

    return SCRIPT_TAG.sub(defer, page)


def mathjax_last(page: str) -> str:
    """The page with MathJax's script moved to the end of the head, after every deferred script.

    Deferred scripts run in the order of the page, and a11y.js (listed after MathJax) chains a
    step into MathJax's startup, which it can only do before MathJax runs.
    """
    tags = MATHJAX_SCRIPT.findall(page)
    if len(tags) != 1 or "</head>" not in page:
        return page
    return MATHJAX_SCRIPT.sub("", page).replace("</head>", f"  {tags[0].strip()}\n  </head>", 1)


def drop_unused(page: str, search_page: bool = False) -> str:
    """The page without Font Awesome's script, the theme's script preloads, and unused search scripts."""
    page = FONTAWESOME_SCRIPT.sub("", page)
    page = THEME_PRELOADS.sub("", page)
    if SEARCH_AS_YOU_TYPE_OFF in page and not search_page:
        page = SEARCH_SCRIPTS.sub("", page)
    return page


def lighten(page: str, packs: dict | None = None, search_page: bool = False) -> str:
    """A page as the theme wrote it, made light for a first visit (see the module docstring).

    `search_page`: the page is search.html, which needs Sphinx's search scripts.
    """
    page = inline_icons(drop_unused(page, search_page), icon_packs() if packs is None else packs)
    return mathjax_last(defer_scripts(page))


def _builder_inited(app) -> None:
    templates = getattr(app.builder, "templates", None)
    if templates is None or app.builder.format != "html":
        return
    render = templates.render

    def rendered(template: str, context: dict) -> str:
        return lighten(render(template, context), search_page=context.get("pagename") == "search")

    templates.render = rendered


def setup(app) -> dict:
    app.connect("builder-inited", _builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
