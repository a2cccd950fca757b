"""A Sphinx extension for the book build: the math typeset at build time, so no page loads MathJax.

On a phone's first visit, MathJax was most of a chapter's wait: its 1.1 MB script and fonts
on a 180 kB/s link, then about 320 formulas typeset at 4x CPU slowdown (README, "Page weight").
The build now does that work once. When Sphinx has written the pages, one node process runs
MathJax 3 itself (npm's ``mathjax-full``, pinned in package.json at 3.2.2, the version the pages
loaded) over every page that would have loaded it (``book/typeset.mjs``). It reads the page's
own MathJax configuration, the ``window.MathJax`` script Sphinx writes (delimiters,
processHtmlClass, ignoreHtmlClass), and typesets what the browser would have typeset, as SVG
with a font cache shared by the page's formulas, each with MathJax's assistive MathML for
screen readers. The page then loses MathJax's script and configuration.

Without node, or without ``node_modules/mathjax-full`` (``npm ci`` installs it), the build says
so in one info line and the pages keep loading MathJax, which typesets in the browser as before.

Loaded from ``_config.yml`` (``sphinx.local_extensions``, as ``book.typeset``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from sphinx.util import logging

from book.pageload import MATHJAX_CONFIG, MATHJAX_SCRIPT

SCRIPT = Path(__file__).with_name("typeset.mjs")
# typeset.mjs finds mathjax-full as node does, from its own folder up: the course's node_modules.
MATHJAX_FULL = SCRIPT.parent.parent / "node_modules" / "mathjax-full"

logger = logging.getLogger(__name__)


def typesetter(node: str | None = None, mathjax_full: Path = MATHJAX_FULL) -> list[str] | None:
    """The command that typesets pages given after it, or None when node or mathjax-full is missing."""
    node = node or shutil.which("node")
    if node is None or not (mathjax_full / "package.json").is_file():
        return None
    return [node, str(SCRIPT)]


def pages_with_mathjax(outdir: Path) -> list[Path]:
    """The pages under `outdir` that load MathJax (book.pageload left it only where there is math)."""
    pages = []
    for page in sorted(outdir.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        if MATHJAX_SCRIPT.search(text) and MATHJAX_CONFIG.search(text):
            pages.append(page)
    return pages


def without_mathjax(page: str) -> str:
    """The page without MathJax's script and its configuration."""
    return MATHJAX_CONFIG.sub("", MATHJAX_SCRIPT.sub("", page))


def typeset(pages: list[Path], command: list[str]) -> list[dict]:
    """Typeset `pages` in place with one run of `command`; their reports ({page, formulas, errors}).

    A page is rewritten only when node has typeset it whole; MathJax's script then leaves it.
    Raises subprocess.CalledProcessError if node fails.
    """
    if not pages:
        return []
    done = subprocess.run([*command, *map(str, pages)], capture_output=True, text=True, check=True)
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    for report in reports:
        page = Path(report["page"])
        page.write_text(without_mathjax(page.read_text(encoding="utf-8")), encoding="utf-8")
    return reports


def _build_finished(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    command = typesetter()
    if command is None:
        logger.info(
            "book.typeset: no node or no node_modules/mathjax-full (npm ci installs it): the pages "
            "typeset their math in the browser with MathJax, as before"
        )
        return
    pages = pages_with_mathjax(Path(app.outdir))
    try:
        reports = typeset(pages, command)
    except subprocess.CalledProcessError as failed:
        logger.warning("book.typeset: node could not typeset the math: %s", failed.stderr.strip()[-2000:])
        return
    for report in reports:
        for error in report["errors"]:
            logger.warning("book.typeset: a TeX error in %s: %s", report["page"], error)
    formulas = sum(r["formulas"] for r in reports)
    logger.info("book.typeset: %d formulas on %d pages typeset at build time", formulas, len(reports))


def setup(app) -> dict:
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
