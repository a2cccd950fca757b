"""The book's pages and chapters, read from _toc.yml, and one strict build per process."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# The `jupyter-book` command as `make book` runs it: book/build.py (the same build, started without
# jsonschema's slow optional import).
JB = [sys.executable, "-m", "book.build"]


def jupyter_book(*args: str) -> subprocess.CompletedProcess:
    """Run `jupyter-book ARGS` (through book/build.py, imported from this course), its output captured."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([*JB, *args], capture_output=True, text=True, env=env)


def _files(entries) -> list[str]:
    out = []
    for entry in entries or []:
        if "file" in entry:
            out.append(entry["file"])
        out += _files(entry.get("sections"))
    return out


def toc(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))


def pages(root: Path = ROOT) -> list[str]:
    """Every page of the book in `root` in reading order, as its path without suffix ("intro", "chapters/a/a")."""
    t = toc(root)
    files = [t["root"]]
    for part in t.get("parts", []):
        files += _files(part.get("chapters"))
    files += _files(t.get("chapters"))
    return [f.removesuffix(".md").removesuffix(".ipynb") for f in files]


def chapters(root: Path = ROOT) -> list[str]:
    """The chapter slugs the table of contents lists: every entry chapters/<slug>/<slug>."""
    out = []
    for page in pages(root):
        parts = page.split("/")
        if len(parts) == 3 and parts[0] == "chapters" and parts[1] == parts[2]:
            out.append(parts[1])
    return out


def build(out: Path, src: Path = ROOT) -> Path:
    """Build the book in `src` strictly (-W -n --keep-going) into `out`; return the HTML folder."""
    done = jupyter_book("build", str(src), "-W", "-n", "--keep-going", "--path-output", str(out))
    if done.returncode != 0:
        raise AssertionError("the strict book build failed:\n" + done.stdout[-4000:] + done.stderr[-2000:])
    return out / "_build" / "html"


@cache
def built_book() -> Path:
    """The HTML of one strict build, shared by every test file of a pytest process.

    With BOOK_HTML=<folder> set, that folder (an existing build) is used instead, which is
    handy while writing tests; otherwise the book is built once into a temporary folder.
    """
    given = os.environ.get("BOOK_HTML")
    if given:
        html = Path(given)
        if not (html / "intro.html").is_file():
            raise AssertionError(f"BOOK_HTML={given} holds no built book (no intro.html)")
        return html
    out = Path(tempfile.mkdtemp(prefix="book-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    return build(out)
