"""A Sphinx extension for the book build: a page's first screen, soon, on a slow phone.

On a phone's first visit (Slow 4G: 562.5 ms a round trip, 180 kB/s) a stock page of the theme
spent most of its wait on files that draw nothing of the first screen. This extension changes
the HTML the theme writes, in this one place, and nothing of the theme itself:

- Font Awesome's JavaScript (pydata-sphinx-theme's ``_static/scripts/fontawesome.js``: 1.5 MB,
  0.54 MB gzipped, three seconds of the link by itself) turns each ``<i class="fa-...">`` icon
  into an inline SVG once it has run. The build does that instead: every such icon is written
  as the same SVG (the paths read from that very file, so they follow the theme's pinned Font
  Awesome), and the page no longer loads the script. The rules of Font Awesome's SVG stylesheet
  that the script injected are in ``course.css``. The few icons the theme's CSS draws in
  pseudo-elements (admonition titles, the download link) come from a subset of its icon font
  (2.3 kB instead of 157 kB).
- Every script the page loads from a file is deferred (but documentation_options.js, which the
  inline scripts after it need, and which goes into the page): none blocks the first paint, and
  they run in the order of the page once the HTML is parsed. MathJax runs last, after a11y.js
  has chained its step into MathJax's startup; the text shows before the math is typeset.
  Pages without math do not load MathJax at all, and where node is installed no page does:
  ``book/typeset.py`` typesets the math at build time and takes MathJax out of the page.
- The head waits for six stylesheets instead of eleven files and an ``@import``: the small
  ones go into the page. The theme's preloads of its two scripts are dropped (they competed
  with the stylesheets), and so are Sphinx's search scripts on pages other than search.html
  (the theme loads them for search-as-you-type, which is off).

``benchmarks/book_weight.py`` measures the result (README, "Page weight"); ``tests/test_book.py``
checks each step.

Loaded from ``_config.yml`` (``sphinx.local_extensions``, as ``book.pageload``).
"""

from __future__ import annotations

import base64
import hashlib
import html as html_lib
import json
import os
import posixpath
import re
from functools import cache
from pathlib import Path, PurePosixPath

import pydata_sphinx_theme

from book import framecache

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
ICON_TAG = re.compile(r'<(i|span)\s+class="([^"]*\bfa-[^"]*)"([^>]*)>\s*</\1>')
ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')
FONTAWESOME_SCRIPT = re.compile(
    r"(?:[ \t]*<!-- So that users can add custom icons -->\s*)?"
    r'<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>\n?'
)
# What a build keeps for the next one (the icon packs, the font subset), beside the HTML folder.
STORE_NAME = ".pageload_cache"
STORE_MAX_BYTES = 16 * 2**20
# Files the head waits for, put into the page when small (inline_small_files).
INLINE_MAX = 4096
# A CSS comment: an inlined stylesheet goes into every page without its comments (course.css says
# why each rule is there, for its readers, not for a phone's link). Strings holding "/*" are not
# handled: the small stylesheets inlined here have none, and test_book checks course.css.
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
# The tags as Sphinx writes them (`" />`) or as book/typeset.py's MathJax writes a page back (`">`).
STYLESHEET = re.compile(r'<link rel="stylesheet" type="text/css" href="([^"?]*_static/[\w./-]+\.css)(?:\?[^"]*)?" ?/?>')
DOCUMENTATION_OPTIONS = re.compile(r'<script src="([^"?]*_static/documentation_options\.js)(?:\?[^"]*)?"></script>')
THEME_CSS = re.compile(r'<link href="([^"?]*_static)/styles/theme\.css(?:\?[^"]*)?" rel="stylesheet" ?/?>')
INLINED = re.compile(r'<(style|script) data-inlined="([^"]+)">.*?</\1>', re.S)
IMPORT = re.compile(r'(?:/\*.*?\*/\s*)?@import "([^"]+)";', re.S)
# The theme's icon font, cut down to the glyphs its stylesheets draw (icon_font_subset).
ICON_STYLESHEETS = ["styles/pydata-sphinx-theme.css", "styles/sphinx-book-theme.css"]
SUBSET_FONT = "fa-solid-900-subset.woff"
SUBSET_OPTIONS = {"flavor": "woff", "layout_features": [], "name_IDs": ["*"], "notdef_outline": True}
SUBSET_FACE = (
    '  <style>@font-face{{font-display:block;font-family:"Font Awesome 6 Free";font-style:normal;'
    'font-weight:900;src:url({url}) format("woff")}}</style>'
)
CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
FA_NAME_RULE = re.compile(r"\.fa-[\w-]+:+(?:before|after)")
PUA_CHAR = re.compile("[\ue000-\uf8ff]")
PUA_ESCAPE = re.compile(r"\\([ef][0-9a-f]{3})\b", re.I)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>")
# documentation_options.js stays as it is: the inline scripts after it set its DOCUMENTATION_OPTIONS.
KEEP_SYNC = re.compile(r'src="[^"]*/documentation_options\.js')
MATHJAX_CONFIG = re.compile(r"[ \t]*<script>window\.MathJax = \{.*?\}</script>\n?")
# What MathJax typesets, with the book's configuration: the math elements MyST writes, notebook
# outputs, and TeX between its default delimiters anywhere in the body.
MATH_IN_BODY = re.compile(
    r'class="[^"]*\b(?:math|tex2jax_process|mathjax_process|output_area)\b|\\\(|\\\[|\$\$|\\begin\{'
)
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


def stored_icon_packs(store: Path, js: Path = FONTAWESOME_JS) -> dict[str, dict[str, tuple[int, int, list[str]]]]:
    """icon_packs(js), kept in `store` under a hash of the file and of the patterns that read it.

    Reading the 1.5 MB script's packs takes a quarter of a second, and every build did it again.
    """
    try:
        data = js.read_bytes()
    except OSError:
        return icon_packs(js)
    patterns = "\n".join(p.pattern for p in (PACK_START, PACK_END, ICON_ENTRY))
    key = hashlib.sha256(patterns.encode() + b"\n" + data).hexdigest()
    entry = framecache.read_entry(store, key)
    packs = entry.get("packs") if entry is not None else None
    if isinstance(packs, dict):
        return {pack: {name: tuple(icon) for name, icon in icons.items()} for pack, icons in packs.items()}
    packs = icon_packs(js)
    as_lists = {pack: {name: list(icon) for name, icon in icons.items()} for pack, icons in packs.items()}
    framecache.write_entry(store, key, {"packs": as_lists})
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
    """The page with every Font Awesome icon (an empty `<i>` or `<span>`) as its inline SVG (unknown ones left)."""

    def replace(match: re.Match) -> str:
        svg = icon_svg(match.group(2).split(), match.group(3), packs)
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


def without_math(page: str) -> bool:
    """Does the page's body hold nothing MathJax would typeset (no math element, no TeX delimiter)?"""
    body = page[page.find("<body") :]
    return not MATH_IN_BODY.search(body)


def mathjax_last(page: str) -> str:
    """The page with MathJax's script moved to the end of the head, after every deferred script,
    or without MathJax if it has no math.

    Deferred scripts run in the order of the page, and a11y.js (listed after MathJax) chains a
    step into MathJax's startup, which it can only do before MathJax runs.
    """
    head, rest = split_head(page)
    tags = MATHJAX_SCRIPT.findall(head)
    if len(tags) != 1 or not rest:
        return page
    if without_math(page):  # Sphinx loads MathJax on some pages that have no math (intro)
        return MATHJAX_CONFIG.sub("", MATHJAX_SCRIPT.sub("", head)) + rest
    return MATHJAX_SCRIPT.sub("", head) + f"  {tags[0].strip()}\n  " + rest


def split_head(page: str) -> tuple[str, str]:
    """(the page up to its `</head>`, the rest), or (the page, "") if it has no head.

    What drop_unused and mathjax_last take out is in the head: searching it alone, not the 0.8 MB
    of a chapter's body, saves a fifth of a second a page (their patterns cannot skip ahead).
    """
    end = page.find("</head>")
    return (page, "") if end < 0 else (page[:end], page[end:])


def drop_unused(page: str, search_page: bool = False) -> str:
    """The page without Font Awesome's script, the theme's script preloads, and unused search scripts."""
    head, rest = split_head(page)
    head = FONTAWESOME_SCRIPT.sub("", head)
    head = THEME_PRELOADS.sub("", head)
    if SEARCH_AS_YOU_TYPE_OFF in head and not search_page:
        head = SEARCH_SCRIPTS.sub("", head)
    return head + rest


def lighten(page: str, packs: dict | None = None, search_page: bool = False) -> str:
    """A page as the theme wrote it, made light for a first visit (see the module docstring).

    `search_page`: the page is search.html, which needs Sphinx's search scripts.
    """
    page = inline_icons(drop_unused(page, search_page), icon_packs() if packs is None else packs)
    return mathjax_last(defer_scripts(page))


def _small_text(path: str, page_dir: Path, tag: str) -> str | None:
    """What a `<tag>` in the page holds instead of loading the file at `path`, or None if it stays a file."""
    file = page_dir / path
    if not file.is_file() or file.stat().st_size > 4 * INLINE_MAX:
        return None
    text = file.read_text(encoding="utf-8")
    if tag == "style":
        if "url(" in text or "@import" in text:
            return None  # its relative addresses would change meaning
        text = re.sub(r"\n\s*\n", "\n", CSS_COMMENT.sub("", text))
    return text.strip() if len(text.strip().encode()) <= INLINE_MAX else None


def _inline_file(match: re.Match, page_dir: Path, tag: str) -> str:
    """`<tag>` holding the small file the matched element loads, or the element as it was.

    The tag names the file (``data-inlined``), so that the next build puts in what it holds then.
    """
    text = _small_text(match.group(1), page_dir, tag)
    return match.group(0) if text is None else f'<{tag} data-inlined="{match.group(1)}">{text}</{tag}>'


def _refresh(match: re.Match, page_dir: Path) -> str:
    """An inlined file's tag with what the file holds now (a page Sphinx did not write again keeps
    what an earlier build put in), or the file's own element again if it can no longer go inline."""
    tag, path = match.group(1), match.group(2)
    text = _small_text(path, page_dir, tag)
    if text is not None:
        return f'<{tag} data-inlined="{path}">{text}</{tag}>'
    return (
        f'<link rel="stylesheet" type="text/css" href="{path}" />'
        if tag == "style"
        else f'<script src="{path}"></script>'
    )


def inline_small_files(page: str, page_dir: Path) -> str:
    """The page with its small stylesheets and documentation_options.js inline, and no @import chain.

    On HTTP/1.1 a browser opens six connections to a host, so the eleven files the head waited
    for (ten stylesheets and one script) took two round trips of 562 ms, and the theme's
    ``theme.css`` only names ``basic.css`` (``@import``), a third in a row. Files of at most
    INLINE_MAX bytes go into the page, and ``basic.css`` is linked where ``theme.css`` was.
    """
    page = INLINED.sub(lambda m: _refresh(m, page_dir), page)
    page = STYLESHEET.sub(lambda m: _inline_file(m, page_dir, "style"), page)
    page = DOCUMENTATION_OPTIONS.sub(lambda m: _inline_file(m, page_dir, "script"), page)

    def direct(match: re.Match) -> str:
        theme_css = page_dir / match.group(1) / "styles" / "theme.css"
        imported = IMPORT.fullmatch(theme_css.read_text(encoding="utf-8").strip()) if theme_css.is_file() else None
        if imported is None:
            return match.group(0)
        href = (PurePosixPath(match.group(1)) / "styles" / imported.group(1)).as_posix()
        return f'<link href="{posixpath.normpath(href)}" rel="stylesheet" />'

    return THEME_CSS.sub(direct, page)


def pseudo_icon_codepoints(css: str) -> set[int]:
    """The Font Awesome code points a stylesheet draws in pseudo-elements, but in its `.fa-NAME` rules.

    Those rules draw an `<i class="fa-NAME">`, and the build writes such icons as SVG instead.
    """
    found = set()
    for rule in CSS_RULE.finditer(css):
        if not FA_NAME_RULE.search(rule.group(1)):
            found |= {ord(c) for c in PUA_CHAR.findall(rule.group(2))}
            found |= {int(h, 16) for h in PUA_ESCAPE.findall(rule.group(2))}
    return found


def icon_font_subset(outdir: Path, store: Path | None = None) -> Path | None:
    """Write the subset of the theme's solid icon font that its stylesheets draw; return its path.

    The theme's stylesheets draw a few icons in pseudo-elements (admonition titles, the download
    link, the "Contents" caret) from Font Awesome's 157 kB solid font. The subset holds those
    glyphs only (about 3 kB as WOFF), and every page names it (SUBSET_FACE) after the theme's
    own @font-face, so it replaces the full font.

    With a `store`, the subset is kept there under a hash of the font, the code points and
    fontTools' version, and a build whose font and stylesheets did not change takes it from there
    (importing fontTools' subsetter and subsetting took a quarter of a second of every build).
    """
    webfonts = outdir / "_static" / "vendor" / "fontawesome" / "webfonts"
    codepoints = set()
    for css in ICON_STYLESHEETS:
        if (outdir / "_static" / css).is_file():
            codepoints |= pseudo_icon_codepoints((outdir / "_static" / css).read_text(encoding="utf-8"))
    if not (webfonts / "fa-solid-900.ttf").is_file() or not codepoints:
        return None
    out = webfonts / SUBSET_FONT
    key = None
    if store is not None:
        import fontTools

        font = (webfonts / "fa-solid-900.ttf").read_bytes()
        described = json.dumps([fontTools.version, sorted(codepoints), SUBSET_OPTIONS], sort_keys=True).encode()
        key = hashlib.sha256(described + b"\n" + font).hexdigest()
        entry = framecache.read_entry(store, key)
        try:
            woff = base64.b64decode(entry["woff"], validate=True) if entry is not None else None
        except (KeyError, TypeError, ValueError):
            woff = None
        if woff:
            if not out.is_file() or out.read_bytes() != woff:
                out.write_bytes(woff)  # as fontTools writes it below, and Sphinx every other output
            return out
    from fontTools import subset

    options = subset.Options(**{name: list(v) if isinstance(v, list) else v for name, v in SUBSET_OPTIONS.items()})
    with subset.load_font(str(webfonts / "fa-solid-900.ttf"), options) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(codepoints))
        subsetter.subset(font)
        subset.save_font(font, str(out), options)
    if key is not None:
        framecache.write_entry(store, key, {"woff": base64.b64encode(out.read_bytes()).decode()})
    return out


def inline_in_pages(outdir: Path, store: Path | None = None) -> int:
    """inline_small_files on every HTML page under `outdir`, and the icon font subset; pages changed."""
    subset_font = icon_font_subset(outdir, store)
    changed = 0
    for page_path in sorted(outdir.rglob("*.html")):
        text = page_path.read_text(encoding="utf-8")
        new = inline_small_files(text, page_path.parent)
        if subset_font is not None and SUBSET_FONT not in new and "</head>" in new:
            url = Path(os.path.relpath(subset_font, page_path.parent)).as_posix()
            new = new.replace("</head>", SUBSET_FACE.format(url=url) + "\n  </head>", 1)
        if new != text:
            page_path.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def _build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        store = Path(app.outdir).parent / STORE_NAME
        inline_in_pages(Path(app.outdir), store)
        framecache.prune(store, max_bytes=STORE_MAX_BYTES)


def _builder_inited(app) -> None:
    templates = getattr(app.builder, "templates", None)
    if templates is None or app.builder.format != "html":
        return
    render = templates.render
    packs = stored_icon_packs(Path(app.outdir).parent / STORE_NAME)

    def rendered(template: str, context: dict) -> str:
        page = render(template, context)
        if "</html>" not in page:
            # A part of a page, rendered on its own: the theme renders each of its sidebar and header
            # templates once only to see whether it is empty (pydata-sphinx-theme's
            # update_and_remove_templates), and the page then includes it where lighten reaches it.
            return page
        return lighten(page, packs, search_page=context.get("pagename") == "search")

    templates.render = rendered


def setup(app) -> dict:
    app.connect("builder-inited", _builder_inited)
    # After the theme's own build-finished handler, which rewrites pygments.css with its light and
    # dark colours (pydata-sphinx-theme): a stylesheet goes into the pages as the reader gets it.
    app.connect("build-finished", _build_finished, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
