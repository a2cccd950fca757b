"""The book builds strictly from the student release, and no page shows an error."""

import re
import subprocess
from html.parser import HTMLParser

import pytest
import yaml
from conftest import CHAPTERS

from autograder import notebooks as nbs


@pytest.fixture(scope="module")
def book(book_html):
    """The HTML of the run's one strict build (tests/conftest.py; shared with the browser tests)."""
    return book_html


def test_toc_lists_every_chapter():
    toc = (nbs.ROOT / "_toc.yml").read_text()
    for slug in CHAPTERS:
        assert f"chapters/{slug}/{slug}" in toc


class _Outputs(HTMLParser):
    """Collects the inner HTML of every cell output block on a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks, self._depth, self._parts = [], 0, []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if self._depth:
            self._parts.append(self.get_starttag_text())
            self._depth += tag == "div"
        elif tag == "div" and "cell_output" in classes:
            self._depth, self._parts = 1, []

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= tag == "div"
            if self._depth == 0:
                self.blocks.append("".join(self._parts))
            else:
                self._parts.append(f"</{tag}>")

    def handle_data(self, data):
        if self._depth:
            self._parts.append(data)


def cell_outputs(page: str) -> list[str]:
    parser = _Outputs()
    parser.feed(page)
    return parser.blocks


@pytest.mark.parametrize("slug", CHAPTERS)
def test_chapter_page_has_no_error_and_no_empty_output(book, slug):
    page = (book / "chapters" / slug / f"{slug}.html").read_text()
    outputs = cell_outputs(page)
    assert outputs, "the chapter page shows no output at all"
    for block in outputs:
        for bad in ("Traceback", "NotImplementedError", "Error:", "Warning:"):
            assert bad not in block, f"an output on the page shows {bad!r}: {block[:300]}"
        visible = re.sub(r"<[^>]+>|\s", "", block)
        assert visible or "<img" in block, f"an empty output box: {block[:200]!r}"
    assert "Reference solution shown" in page, "the stub-mode demos should show the reference behaviour"
    assert f"{slug}.ipynb" in page, "the page should offer the notebook for download"


def test_built_pages_load_figures_lazily_and_keep_code_markup_plain(book):
    """book/frames.py on the built book: every figure lazy with its size, no code span that styles nothing."""
    for slug in CHAPTERS:
        page = (book / "chapters" / slug / f"{slug}.html").read_text()
        images = re.findall(r"<img\b[^>]*>", page)
        assert images, f"{slug}: no figure on the page"
        eager = [tag[:120] for tag in images if not re.search(r' width="\d+" height="\d+".* loading="lazy"', tag)]
        assert not eager, f"{slug}: figures without their size or loading lazily: {eager}"
        assert 'class="highlight' in page and '<span class="k">' in page, f"{slug}: highlighted code is gone"
        for token in ("n", "p", "w"):  # the block's own colour in both modes (pydata-sphinx-theme's a11y styles)
            assert f'<span class="{token}">' not in page, f"{slug}: code still wraps .{token} tokens in a span"


def test_intro_and_errata_pages(book):
    intro = (book / "intro.html").read_text()
    for slug in CHAPTERS:
        assert f"chapters/{slug}/{slug}.html" in intro
    errata = (book / "errata.html").read_text()
    # The erratum's θ + α v: as the MathML of the formula typeset at build time, or as TeX.
    formulas = [re.sub(r"<[^>]+>", "", m) for m in re.findall(r"<math\b.*?</math>", errata, flags=re.S)]
    assert "θ+αv" in formulas or "θ + α v" in errata or "theta + \\alpha v" in errata


def _png(mode="RGB", colour=(200, 30, 30, 255)) -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new(mode, (120, 60), (255, 255, 255, 0) if mode == "RGBA" else "white")
    ImageDraw.Draw(image).line([(0, 0), (119, 59)], fill=colour[: len(mode)], width=3)
    out = io.BytesIO()
    image.save(out, format="png")  # unoptimised, as matplotlib writes it
    return out.getvalue()


def test_frames_move_out_of_the_page_once_per_content(tmp_path):
    import base64
    import json

    from book.frames import externalise_frames

    first, second = (
        "data:image/png;base64," + base64.b64encode(_png(colour=c)).decode() for c in ((1, 2, 3), (4, 5, 6))
    )
    player = '<img id="player-0123abcd" src="{}" width="120" height="60" alt="a">'
    page = player.format(first) + (
        f'<p>x</p><script type="application/json" class="anim-frames">{json.dumps([first, second, first])}</script>'
    )
    page_dir = tmp_path / "chapters" / "a"
    page_dir.mkdir(parents=True)
    out = externalise_frames(page, tmp_path, page_dir)
    urls = json.loads(out.split(">", 4)[4].split("<")[0])
    assert out.startswith(player.format(urls[0])), "the first frame's <img> shows the first frame's file"
    assert urls[0] == urls[2] != urls[1] and all(u.startswith("../../_images/frames/") for u in urls)
    assert sorted(p.read_bytes() for p in (tmp_path / "_images" / "frames").iterdir()) == sorted(
        base64.b64decode(u.split(",")[1]) for u in (first, second)
    )
    assert externalise_frames(out, tmp_path, page_dir) == out, "a second build must leave the page as it is"


def test_figures_load_lazily_with_their_size(tmp_path):
    from book.frames import lazy_images

    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "f.png").write_bytes(_png())
    (tmp_path / "_images" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    page_dir = tmp_path / "chapters" / "a"
    page_dir.mkdir(parents=True)
    page = (
        '<img alt="a figure" src="../../_images/f.png"><img src="../../_images/missing.png">'
        '<img src="https://example.org/x.png"><img src="../../_images/f.png" loading="eager">'
        '<img src="../../_images/logo.svg">'
    )
    out = lazy_images(page, tmp_path, page_dir)
    lazy = ' width="120" height="60" loading="lazy" decoding="async">'
    assert out.startswith('<img alt="a figure" src="../../_images/f.png"' + lazy)
    assert out.endswith(page[len('<img alt="a figure" src="../../_images/f.png">') :]), (
        "a missing file, another site's image, one that says how it loads and an SVG are left alone"
    )
    assert lazy_images(out, tmp_path, page_dir) == out, "a second build must leave the page as it is"


PYGMENTS_CSS = """\
html[data-theme="light"] .highlight { background: #fefefe; color: #080808 }
html[data-theme="light"] .highlight .k { color: #6730C5 } /* Keyword */
html[data-theme="light"] .highlight .n { color: #080808 } /* Name */
html[data-theme="light"] .highlight .p { color: #080808 } /* Punctuation */
html[data-theme="light"] .highlight .nb { color: #080808; font-weight: bold } /* Name.Builtin */
html[data-theme="dark"] .highlight { background: #2b2b2b; color: #F8F8F2 }
html[data-theme="dark"] .highlight .k { color: #DCC6E0 } /* Keyword */
html[data-theme="dark"] .highlight .n { color: #F8F8F2 } /* Name */
html[data-theme="dark"] .highlight .p { color: #FFFFFF } /* Punctuation */
html[data-theme="dark"] .highlight .nb { color: #F8F8F2 } /* Name.Builtin */
"""


def test_code_drops_only_the_spans_that_style_nothing():
    from book.frames import plain_code, plain_token_classes

    classes = plain_token_classes(PYGMENTS_CSS)
    # .p differs in dark mode, .nb is bold, .k is coloured: only .n is the block's own colour in both modes.
    assert classes == {"n"}
    code = (
        '<div class="highlight"><pre><span class="k">def</span> <span class="n">f</span>'
        '<span class="p">(</span></pre></div>'
    )
    prose = '<p><span class="n">kept outside code</span></p>'
    assert plain_code(code + prose, classes) == code.replace('<span class="n">f</span>', "f") + prose
    assert plain_token_classes("") == set(), "without the stylesheet every span stays"


def test_figures_get_a_palette_unless_transparent(tmp_path):
    from PIL import Image

    from book.frames import palette_png

    plain, clear = tmp_path / "plain.png", tmp_path / "clear.png"
    plain.write_bytes(_png())
    clear.write_bytes(_png("RGBA"))
    before = plain.stat().st_size
    assert palette_png(plain) and plain.stat().st_size < before
    with Image.open(plain) as image:
        assert image.mode == "P"
    assert not palette_png(plain), "a palette image is left alone"
    assert not palette_png(clear), "a transparent image would lose its transparency"


def test_a_figure_quantized_before_comes_from_the_store(tmp_path, monkeypatch):
    from PIL import Image

    from book.frames import palette_png

    store, figure = tmp_path / "store", tmp_path / "figure.png"
    figure.write_bytes(_png())
    assert palette_png(figure, store)
    quantized = figure.read_bytes()
    assert [p.read_bytes() for p in store.glob("*.png")] == [quantized]

    def must_not_quantize(*args, **kwargs):
        raise AssertionError("quantized again")

    figure.write_bytes(_png())  # Sphinx copies the page's figure again
    monkeypatch.setattr(Image.Image, "quantize", must_not_quantize)
    assert palette_png(figure, store) and figure.read_bytes() == quantized, "the stored figure, byte for byte"
    figure.write_bytes(_png(colour=(0, 0, 255, 255)))  # another figure is not the stored one
    with pytest.raises(AssertionError, match="quantized again"):
        palette_png(figure, store)
    monkeypatch.undo()
    for entry in store.glob("*.png"):
        entry.write_bytes(quantized[:100])  # a write cut short: quantized anew, not copied
    figure.write_bytes(_png())
    assert palette_png(figure, store) and figure.read_bytes() == quantized
    for entry in store.glob("*.png"):
        entry.unlink()
        entry.mkdir()  # an entry that cannot be read or replaced: the figure still comes out, nothing is left behind
    figure.write_bytes(_png())
    assert palette_png(figure, store) and figure.read_bytes() == quantized
    assert not list(store.glob(".*.tmp")), "a temporary file was left in the store"


def static_figure_cells(nb) -> list:
    """The cells that draw a static figure: a demo cell (`if DEMOS:`) that shows a matplotlib figure itself."""
    return [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and re.search(r"^if DEMOS:", c.source, re.M)
        and "plt.show()" in c.source
        and "interact" not in c.source
        and "show_reference(" not in c.source
    ]


@pytest.mark.parametrize("slug", CHAPTERS)
def test_every_figure_has_alt_text_where_it_is_made(slug):
    """Each static figure's cell states what the figure shows, in the metadata the book and the release both keep.

    (MyST-NB reads `mystnb: {image: {alt}}` into the image's alt; the release keeps `mystnb`, so the book,
    which renders the release, and the student's download both carry it. The browser tests check the page.)
    """
    source, release = nbs.read(nbs.source_path(slug)), nbs.read(nbs.release_path(slug))
    figures = static_figure_cells(source)
    assert figures, f"{slug} draws no static figure"
    released = {c.id: c for c in release.cells}
    for cell in figures:
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        assert len(alt.split()) >= 15, (
            f"{slug}, cell {cell.id}: no alt text that says what the figure shows "
            f"(set mystnb: {{image: {{alt: ...}}}} in its metadata; CONTRIBUTING.md, 'Teaching'): {alt!r}"
        )
        assert released[cell.id].metadata.get("mystnb") == cell.metadata["mystnb"], (
            f"{slug}, cell {cell.id}: the release lost the figure's alt text"
        )


# ---------------------------------------------------------------- a first visit on a slow phone (book/pageload.py)

THEME_HEAD = """<head>
  <link href="_static/styles/theme.css?digest=1" rel="stylesheet" />
  <link rel="stylesheet" type="text/css" href="_static/small.css?v=1" />
  <link rel="stylesheet" type="text/css" href="_static/big.css?v=1" />
  <link rel="stylesheet" type="text/css" href="_static/commented.css?v=1">
  <!-- So that users can add custom icons -->
  <script defer src="_static/scripts/fontawesome.js?digest=1"></script>
  <!-- Pre-loaded scripts that we'll load fully later -->
  <link rel="preload" as="script" href="_static/scripts/bootstrap.js?digest=1" />
  <script src="_static/documentation_options.js?v=1"></script>
  <script src="_static/doctools.js?v=1"></script>
  <script>window.MathJax = {"options": {}}</script>
  <script defer="defer" src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
  <script>DOCUMENTATION_OPTIONS.search_as_you_type = false;</script>
  <script src="_static/a11y.js?v=1"></script>
  <script src="_static/searchtools.js"></script>
    <script src="_static/language_data.js"></script>
    <script src="searchindex.js"></script>
</head>"""


def test_icons_are_the_theme_font_awesome_as_inline_svg():
    from book.pageload import icon_packs, lighten

    page = THEME_HEAD + (
        '<body><i class="fa-solid fa-arrow-up"></i><span class="fa-solid fa-bars"></span>'
        '<i class="theme-switch fa-solid fa-moon fa-lg" data-mode="dark" title="Dark"></i>'
        '<i class="fas fa-no-such-icon"></i></body>'
    )
    out = lighten(page)
    width, height, (path,) = icon_packs()["fas"]["arrow-up"]
    assert f'data-icon="arrow-up" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">' in out
    assert f'<path fill="currentColor" d="{path}"></path>' in out, "the arrow must be the theme's own glyph"
    assert '<svg class="svg-inline--fa fa-arrow-up" aria-hidden="true"' in out
    assert '<svg class="svg-inline--fa fa-bars" aria-hidden="true"' in out, "the theme writes some icons as <span>"
    assert '<svg class="svg-inline--fa theme-switch fa-moon fa-lg" data-mode="dark"' in out
    assert "<title>Dark</title>" in out, "an icon's title stays (a11y.js hides the colour-mode icons' titles)"
    assert icon_packs()["fas"]["search"] == icon_packs()["fas"]["magnifying-glass"], "aliases name the same glyph"
    assert '<i class="fas fa-no-such-icon"></i>' in out, "an icon the pack lacks is left for the theme's CSS"
    assert "fontawesome.js" not in out and 'rel="preload" as="script"' not in out


def test_scripts_wait_for_the_page_and_mathjax_comes_after_a11y():
    from book.pageload import lighten

    page = THEME_HEAD + r'<body><p>Let <span class="math notranslate nohighlight">\(x\)</span>.</p></body>'
    out = lighten(page)
    assert '<script src="_static/documentation_options.js?v=1"></script>' in out, "inline scripts need it first"
    assert '<script defer src="_static/doctools.js?v=1"></script>' in out
    assert '<script defer src="_static/a11y.js?v=1"></script>' in out
    assert out.index("a11y.js") < out.index("tex-mml-chtml.js") < out.index("</head>"), (
        "a11y.js chains into MathJax's startup, so MathJax must run after it"
    )
    assert "searchtools.js" not in out and "searchindex.js" not in out, "search-as-you-type is off"
    assert "searchindex.js" in lighten(page, search_page=True), "search.html needs its search scripts"
    no_math = lighten(THEME_HEAD + "<body><p>Only words, and a price of $5.</p></body>")
    assert "tex-mml-chtml.js" not in no_math and "window.MathJax" not in no_math


def test_small_files_go_into_the_page_and_the_icon_font_is_cut_to_what_css_draws(tmp_path):
    import shutil

    from fontTools.ttLib import TTFont

    from book.pageload import SUBSET_FONT, THEME_STATIC, inline_in_pages, pseudo_icon_codepoints

    static = tmp_path / "_static"
    (static / "styles").mkdir(parents=True)
    (static / "styles" / "theme.css").write_text('/* basic */\n@import "../basic.css";\n')
    (static / "small.css").write_text("/* why red */\np { color: red; }\n\n/* and why not\n   blue */\n")
    (static / "commented.css").write_text("/* a long comment */" * 300 + "a { color: red; }")
    (static / "big.css").write_text("p { color: blue; }" * 400)
    (static / "documentation_options.js").write_text("const DOCUMENTATION_OPTIONS = {};")
    css = 'a.reference.download:before{content:"\uf019"}.fa-moon:before{content:"\\f186"}.x:after{content:\'\\f107\'}'
    (static / "styles" / "pydata-sphinx-theme.css").write_text(css)
    webfonts = static / "vendor" / "fontawesome" / "webfonts"
    webfonts.mkdir(parents=True)
    shutil.copy(THEME_STATIC / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.ttf", webfonts)
    (tmp_path / "page.html").write_text(THEME_HEAD)
    assert inline_in_pages(tmp_path) == 1
    out = (tmp_path / "page.html").read_text()
    assert '<link href="_static/basic.css" rel="stylesheet" />' in out and "theme.css" not in out
    small = '<style data-inlined="_static/small.css">p { color: red; }</style>'
    assert small in out and "_static/big.css" in out, "comments are dropped"
    assert '<style data-inlined="_static/commented.css">a { color: red; }</style>' in out, (
        "a stylesheet is small enough once its comments are out"
    )
    assert '<script data-inlined="_static/documentation_options.js">const DOCUMENTATION_OPTIONS = {};</script>' in out
    assert f"url(_static/vendor/fontawesome/webfonts/{SUBSET_FONT})" in out
    assert pseudo_icon_codepoints(css) == {0xF019, 0xF107}, "the .fa-moon rule draws an <i>, now an SVG"
    with TTFont(str(webfonts / SUBSET_FONT)) as font:
        assert set(font.getBestCmap()) == {0xF019, 0xF107}
    assert inline_in_pages(tmp_path) == 0, "a second pass leaves the pages as they are"
    (static / "small.css").write_text("p { color: green; }")  # edited; Sphinx does not write the page again
    assert inline_in_pages(tmp_path) == 1
    out = (tmp_path / "page.html").read_text()
    assert (
        '<style data-inlined="_static/small.css">p { color: green; }</style>' in out and "color: red; }</style>" in out
    )
    (static / "small.css").write_text("p { color: blue; }" * 400)  # too large now: linked again
    assert inline_in_pages(tmp_path) == 1
    out = (tmp_path / "page.html").read_text()
    assert '<link rel="stylesheet" type="text/css" href="_static/small.css" />' in out and "color: blue" not in out


def test_the_icon_packs_and_the_font_subset_come_from_the_store_the_next_time(tmp_path, monkeypatch):
    import shutil
    import sys

    import fontTools

    from book import pageload
    from book.pageload import SUBSET_FONT, THEME_STATIC, icon_font_subset, icon_packs, stored_icon_packs

    store = tmp_path / "store"
    assert stored_icon_packs(store) == icon_packs()
    static = tmp_path / "html" / "_static"
    (static / "styles").mkdir(parents=True)
    (static / "styles" / "pydata-sphinx-theme.css").write_text('a.download:before{content:"\uf019"}')
    webfonts = static / "vendor" / "fontawesome" / "webfonts"
    webfonts.mkdir(parents=True)
    shutil.copy(THEME_STATIC / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.ttf", webfonts)
    subset = icon_font_subset(tmp_path / "html", store).read_bytes()
    (webfonts / SUBSET_FONT).unlink()

    with monkeypatch.context() as patch:  # the next build: neither the script nor the font is read again
        patch.setattr(pageload, "icon_packs", None)
        patch.setitem(sys.modules, "fontTools.subset", None)  # importing it now raises ImportError
        patch.delattr(fontTools, "subset", raising=False)
        assert stored_icon_packs(store) == icon_packs()
        assert icon_font_subset(tmp_path / "html", store).read_bytes() == subset
    written = webfonts / "written-as-any-output"
    written.write_bytes(b"")
    assert (webfonts / SUBSET_FONT).stat().st_mode == written.stat().st_mode, (
        "the font from the store is as readable as any other file of the site (a web server reads it)"
    )

    (static / "styles" / "pydata-sphinx-theme.css").write_text('a.download:before{content:"\uf107"}')
    with monkeypatch.context() as patch, pytest.raises(ImportError):  # another glyph: subset anew
        patch.setitem(sys.modules, "fontTools.subset", None)
        patch.delattr(fontTools, "subset", raising=False)
        icon_font_subset(tmp_path / "html", store)
    for entry in store.glob("*.json"):
        entry.write_text("not json", encoding="utf-8")  # a broken entry is a miss, not an error
    assert stored_icon_packs(store) == icon_packs()
    assert icon_font_subset(tmp_path / "html", store).read_bytes() != subset


def test_only_a_whole_page_is_lightened_and_only_its_head_loses_scripts():
    from book.pageload import drop_unused, lighten

    body = '<body><p>a <script defer src="_static/scripts/fontawesome.js"></script></p></body>'
    out = drop_unused(THEME_HEAD + body)
    assert "fontawesome.js" not in out[: out.index("</head>")] and out.endswith(body), "the body is left as it was"
    assert drop_unused(body) != body, "a part of a page with no head is searched whole, as before"
    assert lighten(THEME_HEAD + "<body></body>") != THEME_HEAD + "<body></body>"


def test_a_template_rendered_on_its_own_is_not_lightened(tmp_path):
    from types import SimpleNamespace

    from book.pageload import _builder_inited

    pages = {"page.html": THEME_HEAD + "<body></body></html>", "navbar-logo.html": '<i class="fa-solid fa-bars"></i>'}
    templates = SimpleNamespace(render=lambda name, context: pages[name])
    app = SimpleNamespace(builder=SimpleNamespace(templates=templates, format="html"), outdir=str(tmp_path / "html"))
    _builder_inited(app)
    assert templates.render("navbar-logo.html", {}) == pages["navbar-logo.html"], (
        "the theme renders a sidebar template alone only to see whether it is empty"
    )
    assert "<svg" not in pages["page.html"] and "fontawesome.js" not in templates.render("page.html", {})


def test_a_clean_build_names_its_stylesheets_as_every_rebuild_does(book):
    """Each stylesheet Sphinx links carries its `?v=` digest, MyST-NB's too, even in a clean build.

    MyST-NB copies its stylesheet only once the build has finished; before book/rebuild.py copied
    it earlier, a clean build's pages named it bare and the next rebuild rewrote every page it
    wrote, so that its typeset pages missed the store (2.5 s).
    """
    sphinx_link = re.compile(r'<link rel="stylesheet" type="text/css" href="([^"]*_static/[^"]+)"')
    checked = 0
    for page in sorted(p for p in book.rglob("*.html") if "_static" not in p.relative_to(book).parts):
        links = sphinx_link.findall(page.read_text(encoding="utf-8"))
        if page.name == "index.html" and not links:
            continue  # it only redirects to intro.html
        assert any("mystnb." in link for link in links), page.relative_to(book)
        bare = [link for link in links if "?v=" not in link]
        assert not bare, f"{page.relative_to(book)} links {bare} without the digest a rebuild gives them"
        checked += 1
    assert checked >= 10


def test_no_built_page_loads_font_awesome_js_or_leaves_an_icon_to_it(book):
    for page in book.rglob("*.html"):
        if page.is_relative_to(book / "_static"):
            continue  # the theme's own templates, copied along
        text = page.read_text(encoding="utf-8")
        assert "fontawesome.js" not in text, f"{page.name} loads Font Awesome's 1.5 MB script"
        left = re.findall(r'<(?:i|span) class="[^"]*\bfa-[^"]*"[^>]*>\s*</(?:i|span)>', text)
        assert not left, f"{page.name}: icons only Font Awesome's script would draw: {left[:3]}"
    assert "searchindex.js" in (book / "search.html").read_text(encoding="utf-8")


def test_course_css_goes_into_every_page_without_its_comments(book):
    """course.css is on every page's critical path: inlined (one round trip less on Slow 4G), and
    its comments, which say why each rule is there, stay in the source. On a chapter this runs
    after MathJax (book/typeset.py) has written the page back, with `>` where Sphinx wrote ` />`."""
    from book.pageload import CSS_COMMENT

    source = (nbs.ROOT / "book" / "_static" / "course.css").read_text(encoding="utf-8")
    rules = CSS_COMMENT.sub("", source)
    strings = re.findall(r'"[^"\n]*"', rules)
    assert ".svg-inline--fa" in rules and strings == re.findall(r'"[\w-]*"', rules), (
        f"course.css holds a string CSS_COMMENT may have cut into (a /* in it): {strings}"
    )
    for page in [book / "intro.html", *sorted((book / "chapters").rglob("*.html"))]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<link[^>]*course\.css", text), f"{page.name} links course.css instead of holding it"
        assert re.search(r'<style data-inlined="[./]*_static/course\.css">', text), page.name
        assert "styles/theme.css" not in text, f"{page.name} waits for theme.css, which only @imports basic.css"
        assert ".svg-inline--fa" in text and "Layout fixes for the course book" not in text, page.name
        assert "pygments.css" in text, f"{page.name}: pygments.css is the theme's, light and dark, too large to inline"


# ---------------------------------------------------------------- the math typeset at build time (book/typeset.py)

MATHJAX_OPTIONS = '{"menuOptions": {"settings": {"inTabOrder": false}}, "processHtmlClass": "math|output_area"}'
MATH_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head>
  <script>window.MathJax = {"options": OPTIONS}</script>
  <script defer="defer" src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
</head><body>
<p>Let <span class="math notranslate nohighlight">\(\theta_i\)</span> cost $5, and <code>\(x\)</code> stay code.</p>
<div class="math notranslate nohighlight">\[\frac{a}{b}\]</div>
<p class="mathjax_ignore">\(left\)</p>
<script type="application/vnd.jupyter.widget-state+json">{"label": "$\\alpha$ &amp; \\(beta\\)"}</script>
</body></html>
""".replace("OPTIONS", MATHJAX_OPTIONS)


def built_pages(book):
    return [p for p in book.rglob("*.html") if not p.is_relative_to(book / "_static")]


def untypeset_tex(page: str) -> list[str]:
    """TeX delimiters left in what a reader sees (not in scripts, code or MathML for screen readers)."""
    body = page[page.find("<body") :]
    for element in ("script", "style", "pre", "code", "textarea", "mjx-assistive-mml"):
        body = re.sub(rf"<{element}\b.*?</{element}>", "", body, flags=re.S)
    return re.findall(r".{0,40}(?:\\\(|\\\[|\$\$).{0,40}", body)


@pytest.mark.skipif(not __import__("book.typeset").typeset.typesetter(), reason="needs node and mathjax-full")
def test_typeset_page_has_svg_math_with_mathml_and_no_mathjax(tmp_path):
    from book.typeset import pages_with_mathjax, typeset, typesetter

    page, bad = tmp_path / "page.html", tmp_path / "bad.html"
    page.write_text(MATH_PAGE, encoding="utf-8")
    bad.write_text(MATH_PAGE.replace(r"\theta_i", r"\nosuchmacro").replace("{a}{b}", "{a}"), encoding="utf-8")
    report, bad_report = typeset([page, bad], typesetter())
    out = page.read_text(encoding="utf-8")
    assert report["formulas"] == 2 and report["errors"] == []
    assert len(bad_report["errors"]) == 2, "an unknown macro and a missing argument: the build warns of both"
    assert "tex-mml-chtml.js" not in out and "window.MathJax" not in out, "the page must not load MathJax"
    assert out.count("<mjx-container") == 2 and out.count("<mjx-assistive-mml") == 2
    assert "<math><msub><mi>θ</mi><mi>i</mi></msub></math>" in out, "screen readers get the formula as MathML"
    assert 'display="true"' in out and "MJX-SVG-global-cache" in out and "tabindex" not in out
    assert "<code>\\(x\\)</code>" in out and "\\(left\\)" in out and "cost $5" in out, "as MathJax skips them"
    assert '{"label": "$\\\\alpha$ &amp; \\\\(beta\\\\)"}' in out, "script contents stay byte for byte"
    assert pages_with_mathjax(tmp_path) == [], "a typeset page loads no MathJax, so a rebuild skips it"


@pytest.mark.skipif(not __import__("book.typeset").typeset.typesetter(), reason="needs node and mathjax-full")
def test_a_page_typeset_before_comes_from_the_store_with_its_warnings(tmp_path, monkeypatch):
    from book import typeset as module
    from book.typeset import typeset, typesetter

    def node_must_not_run(*args, **kwargs):
        raise subprocess.CalledProcessError(1, args[0])

    store, page = tmp_path / "store", tmp_path / "page.html"
    bad = MATH_PAGE.replace(r"\theta_i", r"\nosuchmacro")
    page.write_text(bad, encoding="utf-8")
    [first] = typeset([page], typesetter(), store)
    typeset_once = page.read_text(encoding="utf-8")
    assert len(list(store.glob("*.json"))) == 1 and len(first["errors"]) == 1 and "stored" not in first

    page.write_text(bad, encoding="utf-8")  # Sphinx writes the same page again
    with monkeypatch.context() as patch:
        patch.setattr(module.subprocess, "run", node_must_not_run)
        [again] = typeset([page], typesetter(), store)
    assert page.read_text(encoding="utf-8") == typeset_once, "the stored page, byte for byte"
    assert again["stored"] and again["errors"] == first["errors"], "its TeX errors are warned of again"

    page.write_text(MATH_PAGE, encoding="utf-8")  # a changed page is typeset anew
    with monkeypatch.context() as patch, pytest.raises(subprocess.CalledProcessError):
        patch.setattr(module.subprocess, "run", node_must_not_run)
        typeset([page], typesetter(), store)
    [fixed] = typeset([page], typesetter(), store)
    assert fixed["errors"] == [] and "θ" in page.read_text(encoding="utf-8")

    for entry in store.glob("*.json"):
        entry.write_text('{"key": "trunc', encoding="utf-8")  # a write cut short is a miss, not an error
    page.write_text(MATH_PAGE, encoding="utf-8")
    [redone] = typeset([page], typesetter(), store)
    assert "stored" not in redone and page.read_text(encoding="utf-8").count("<mjx-container") == 2


def test_without_node_the_build_says_so_and_pages_keep_mathjax(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from book import typeset

    (tmp_path / "page.html").write_text(MATH_PAGE, encoding="utf-8")
    said = []
    monkeypatch.setattr(typeset.shutil, "which", lambda name: None)
    monkeypatch.setattr(typeset, "logger", SimpleNamespace(info=said.append, warning=pytest.fail))
    assert typeset.typesetter() is None
    assert typeset.typesetter(node="node", mathjax_full=tmp_path / "nowhere") is None
    app = SimpleNamespace(builder=SimpleNamespace(format="html"), outdir=str(tmp_path))
    typeset._build_finished(app, None)
    assert (tmp_path / "page.html").read_text(encoding="utf-8") == MATH_PAGE, "MathJax typesets in the browser"
    assert len(said) == 1 and "in the browser" in said[0], "one info line (the strict build turns warnings into errors)"


def test_every_page_ships_its_math_typeset_with_mathml_and_loads_no_mathjax(book):
    with_math = 0
    for path in built_pages(book):
        page = path.read_text(encoding="utf-8")
        name = path.relative_to(book)
        assert "tex-mml-chtml.js" not in page and "window.MathJax" not in page, f"{name} loads MathJax"
        assert not untypeset_tex(page), f"{name}: TeX left for MathJax: {untypeset_tex(page)[:3]}"
        formulas = page.count("<mjx-container")
        math_elements = len(re.findall(r'class="math notranslate nohighlight"', page))
        assert formulas >= math_elements, f"{name}: {math_elements - formulas} math elements not typeset"
        assert page.count("<mjx-assistive-mml") == formulas, f"{name}: formulas without MathML for screen readers"
        assert not re.search(r"<mjx-container[^>]*tabindex", page), f"{name}: a formula in the Tab order"
        with_math += formulas > 0
    assert with_math >= len(CHAPTERS) + 2, "every chapter, notation and errata have math"


# ---------------------------------------------------------------- the build command (book/build.py)


def test_the_toc_search_skips_excluded_folders_and_finds_what_glob_finds_elsewhere(tmp_path):
    """book.build keeps sphinx-external-toc out of excluded folders: the files it finds are glob's,
    less those under an excluded folder (which sphinx-external-toc skips anyway)."""
    import glob
    import os

    from sphinx.util.matching import Matcher

    from book.build import source_files

    for name in [
        "a.md",
        "b.ipynb",
        ".hidden.md",
        "x/c.md",
        "x/y/d.md",
        ".venv/e.md",
        "node_modules/p/f.md",
        "node_modules/g.md",
        "_build/html/h.md",
        "solutions/s.md",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("# x\n")
    (tmp_path / "linked").symlink_to(tmp_path / "x", target_is_directory=True)
    ours = ["node_modules/*", "_build/*", "solutions/*"]
    book = yaml.safe_load((nbs.ROOT / "_config.yml").read_text(encoding="utf-8"))["exclude_patterns"]
    for root, patterns in ((tmp_path, ours), (nbs.ROOT, book)):  # a made-up tree, and the course's own
        folders = {p[: -len("/*")] for p in patterns if p.endswith("/*")}
        for suffix in (".md", ".ipynb"):
            found = list(source_files(str(root), suffix, Matcher(patterns)))
            globbed = glob.glob(os.path.join(root, "**", "*" + suffix), recursive=True)
            assert set(found) <= set(globbed), "nothing glob would not find"
            missed = {os.path.relpath(p, root) for p in set(globbed) - set(found)}
            assert all(p.split(os.sep)[0] in folders for p in missed), missed
    excluded = Matcher(ours)
    found = {os.path.relpath(p, tmp_path) for p in source_files(str(tmp_path), ".md", excluded)}
    assert found == {
        "a.md",
        "x/c.md",
        "x/y/d.md",
        "linked/c.md",
        "linked/y/d.md",
        "node_modules/g.md",
        "solutions/s.md",
    }, "a file right in an excluded folder is still found: the patterns exclude its subfolders"


def test_the_build_command_walks_the_toc_search_through_source_files(monkeypatch):
    """`python -m book.build` puts its walk in sphinx-external-toc's place, for one parse only."""
    import glob
    from types import SimpleNamespace

    from sphinx.util.matching import Matcher
    from sphinx_external_toc import events

    from book import build

    monkeypatch.setattr(events, "parse_toc_to_env", events.parse_toc_to_env)
    seen = {}

    def parse(app, config):
        seen["md"] = sorted(events.glob.iglob(str(nbs.ROOT / "**" / "*.md"), recursive=True))
        seen["other"] = events.glob.iglob(str(nbs.ROOT / "*.md"))

    monkeypatch.setattr(events, "parse_toc_to_env", parse)
    build.walk_less_of_the_tree()
    config = {"exclude_patterns": ["node_modules/*", "_build/*"]}
    events.parse_toc_to_env(SimpleNamespace(srcdir=str(nbs.ROOT)), config)
    assert events.glob is glob, "glob is sphinx-external-toc's own again after the parse"
    assert seen["md"] == sorted(build.source_files(str(nbs.ROOT), ".md", Matcher(config["exclude_patterns"])))
    assert not any("node_modules" in p for p in seen["md"]) and str(nbs.ROOT / "intro.md") in seen["md"]
    assert str(nbs.ROOT / "intro.md") in list(seen["other"]), "any other pattern goes to glob as it is"
