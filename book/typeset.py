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

The typeset pages are kept in a store beside the build (``_build/.typeset_cache``), keyed on the
page as Sphinx wrote it, ``typeset.mjs`` and the node and mathjax-full that ran it: a rebuild
whose page came out the same (a touched notebook, or a chapter whose edit changed no output)
takes the stored page, and its warnings, instead of running node again (2.5 s for a chapter on
the 2-core machine). Its entries are the frame store's (``book/framecache.py``): written aside
and renamed into place, checksummed, an unreadable one a miss, pruned after each build.

Without node, or without ``node_modules/mathjax-full`` (``npm ci`` installs it), the build says
so in one info line and the pages keep loading MathJax, which typesets in the browser as before.

Loaded from ``_config.yml`` (``sphinx.local_extensions``, as ``book.typeset``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from sphinx.util import logging

from book import framecache
from book.pageload import MATHJAX_CONFIG, MATHJAX_SCRIPT

SCRIPT = Path(__file__).with_name("typeset.mjs")
# typeset.mjs finds mathjax-full as node does, from its own folder up: the course's node_modules.
MATHJAX_FULL = SCRIPT.parent.parent / "node_modules" / "mathjax-full"
STORE_NAME = ".typeset_cache"  # beside the HTML folder: _build/.typeset_cache
STORE_MAX_BYTES = 64 * 2**20  # about ten builds' worth of chapter pages

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


def tool_key(command: list[str], mathjax_full: Path = MATHJAX_FULL) -> str:
    """A hash of what typesets: the command, typeset.mjs, node's executable and mathjax-full's version."""
    digest = hashlib.sha256(json.dumps(command).encode())
    digest.update(SCRIPT.read_bytes())
    for file in (Path(command[0]), mathjax_full / "package.json"):
        try:
            stat = Path(shutil.which(str(file)) or file).resolve().stat()
            digest.update(f"{file}:{stat.st_size}:{stat.st_mtime_ns}".encode())
            if file.name == "package.json":
                digest.update(file.read_bytes())
        except OSError:
            digest.update(f"{file}:missing".encode())
    return digest.hexdigest()


def typeset(pages: list[Path], command: list[str], store: Path | None = None) -> list[dict]:
    """Typeset `pages` in place with one run of `command`; their reports ({page, formulas, errors}).

    A page is rewritten only when node has typeset it whole; MathJax's script then leaves it.
    With a `store`, a page that comes out of Sphinx as it did before is taken from it, and node
    runs only for the others (not at all when there are none). Raises
    subprocess.CalledProcessError if node fails.
    """
    reports, todo, keys = [], [], {}
    tools = tool_key(command) if store is not None else ""
    for page in pages:
        if store is None:
            todo.append(page)
            continue
        keys[page] = key = hashlib.sha256((tools + page.read_text(encoding="utf-8")).encode()).hexdigest()
        entry = framecache.read_entry(store, key)
        if entry is None or not isinstance(entry.get("page"), str) or not isinstance(entry.get("report"), dict):
            todo.append(page)
        else:
            page.write_text(entry["page"], encoding="utf-8")
            reports.append({**entry["report"], "page": str(page), "stored": True})
    if not todo:
        return reports
    done = subprocess.run([*command, *map(str, todo)], capture_output=True, text=True, check=True)
    for report in (json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")):
        page = Path(report["page"])
        text = without_mathjax(page.read_text(encoding="utf-8"))
        page.write_text(text, encoding="utf-8")
        reports.append(report)
        if store is not None and page in keys:
            framecache.write_entry(
                store, keys[page], {"page": text, "report": {k: v for k, v in report.items() if k != "page"}}
            )
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
    outdir = Path(app.outdir)
    store = outdir.parent / STORE_NAME
    try:
        reports = typeset(pages_with_mathjax(outdir), command, store)
    except subprocess.CalledProcessError as failed:
        logger.warning("book.typeset: node could not typeset the math: %s", failed.stderr.strip()[-2000:])
        return
    finally:
        framecache.prune(store, max_bytes=STORE_MAX_BYTES)
    for report in reports:
        for error in report["errors"]:
            logger.warning("book.typeset: a TeX error in %s: %s", report["page"], error)
    formulas = sum(r["formulas"] for r in reports)
    stored = sum(1 for r in reports if r.get("stored"))
    logger.info(
        "book.typeset: %d formulas on %d pages typeset at build time (%d pages as stored by an earlier build)",
        formulas,
        len(reports),
        stored,
    )


def setup(app) -> dict:
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
