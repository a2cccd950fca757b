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
