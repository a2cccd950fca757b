"""The book builds strictly from the student release, and no page shows an error."""

import re
from html.parser import HTMLParser

import pytest
from browser.book import built_book
from conftest import CHAPTERS

from autograder import notebooks as nbs


@pytest.fixture(scope="module")
def book():
    """The HTML of the session's one strict build (shared with the browser tests)."""
    return built_book()


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


def test_intro_and_errata_pages(book):
    intro = (book / "intro.html").read_text()
    for slug in CHAPTERS:
        assert f"chapters/{slug}/{slug}.html" in intro
    assert "θ + α v" in (book / "errata.html").read_text() or "theta + \\alpha v" in (book / "errata.html").read_text()


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
    page = f'<p>x</p><script type="application/json" class="anim-frames">{json.dumps([first, second, first])}</script>'
    page_dir = tmp_path / "chapters" / "a"
    page_dir.mkdir(parents=True)
    out = externalise_frames(page, tmp_path, page_dir)
    urls = json.loads(out.split(">", 3)[3].split("<")[0])
    assert urls[0] == urls[2] != urls[1] and all(u.startswith("../../_images/frames/") for u in urls)
    assert sorted(p.read_bytes() for p in (tmp_path / "_images" / "frames").iterdir()) == sorted(
        base64.b64decode(u.split(",")[1]) for u in (first, second)
    )
    assert externalise_frames(out, tmp_path, page_dir) == out, "a second build must leave the page as it is"


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
