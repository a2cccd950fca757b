"""Where the course's notebooks live and how their nbgrader cells are read.

Every other module goes through these helpers, so the layout and the cell
conventions (see CONTRIBUTING.md) are written down once.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import nbformat

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The folder this package sits in: the course it was checked out with."""


def is_course(folder: Path) -> bool:
    """A course folder holds the book's table of contents and the instructor's sources."""
    return (folder / "_toc.yml").is_file() and (folder / "solutions").is_dir()


def find_course(start: Path) -> Path | None:
    """The nearest course at ``start`` or above it, or None."""
    start = start.resolve()
    return next((d for d in (start, *start.parents) if is_course(d)), None)


def _default_root() -> Path:
    try:
        here = Path.cwd()
    except OSError:  # the current folder was deleted
        return PACKAGE_ROOT
    return find_course(here) or PACKAGE_ROOT


ROOT = _default_root()
"""The course root (also nbgrader's): the course the current folder is in, else the one this
package was checked out with. Every function that reads the course takes a ``root`` that
defaults to it; the command line passes the course it was given (``--course``)."""

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
INSTRUCTOR_TAG = "instructor-only"


def source_path(slug: str, root: Path = ROOT) -> Path:
    return root / "solutions" / slug / f"{slug}.ipynb"


def release_path(slug: str, root: Path = ROOT) -> Path:
    return root / "chapters" / slug / f"{slug}.ipynb"


def chapter_slugs(root: Path = ROOT) -> list[str]:
    """The chapters that have an instructor source, in book order."""
    folder = root / "solutions"
    if not folder.is_dir():
        return []
    return sorted(d.name for d in folder.iterdir() if source_path(d.name, root).is_file())


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def dumps(nb: nbformat.NotebookNode) -> str:
    """Serialise deterministically: sorted keys, one-space indent, final newline."""
    nbformat.validate(nb)
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(nb), encoding="utf-8")


def meta(cell) -> dict:
    """The cell's nbgrader metadata ({} for an ordinary cell)."""
    value = cell.get("metadata", {}).get("nbgrader", {})
    return value if isinstance(value, dict) else {}


def grade_id(cell) -> str | None:
    gid = meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def is_answer(cell) -> bool:
    """An autograded answer cell: the student writes a function here."""
    m = meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("solution")) and not m.get("grade")


def is_test(cell) -> bool:
    """An autograder test cell: it passes when it runs without an error."""
    m = meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


def is_hidden(cell) -> bool:
    return BEGIN_HIDDEN in cell.get("source", "")


def hidden_lines(nb) -> list[str]:
    """The stripped lines of every hidden-test region of a notebook (what must never reach a student)."""
    lines = []
    for cell in nb.cells:
        if is_test(cell) and is_hidden(cell):
            lines += [line.strip() for line in cell.source.split(BEGIN_HIDDEN, 1)[1].splitlines()]
    return lines


def tags(cell) -> list[str]:
    value = cell.get("metadata", {}).get("tags", [])
    return list(value) if isinstance(value, list) else []


def points(cell) -> float:
    return float(meta(cell).get("points", 0) or 0)


def answer_ids(nb) -> list[str]:
    return [grade_id(c) for c in nb.cells if is_answer(c)]


def test_cells(nb) -> list:
    return [c for c in nb.cells if is_test(c)]


def max_score(nb) -> float:
    return sum(points(c) for c in test_cells(nb))


def reference_answer(cell) -> str:
    """The solution cell's code with nbgrader's solution markers taken out."""
    lines = cell.source.split("\n")
    kept = [ln for ln in lines if ln.strip() not in (BEGIN_SOLUTION, END_SOLUTION)]
    return "\n".join(kept)


def reference_answers(source_nb) -> dict[str, str]:
    return {grade_id(c): reference_answer(c) for c in source_nb.cells if is_answer(c)}


def fill_answers(release_nb, answers: dict[str, str]):
    """A copy of a student notebook with the given answer cells' code replaced."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        if is_answer(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def _answer_ids_by_chapter(root: Path) -> dict[str, set[str]]:
    stamps = tuple((s, source_path(s, root).stat().st_mtime_ns) for s in chapter_slugs(root))
    return _answer_ids_cached(str(root), stamps)


@functools.lru_cache(maxsize=8)
def _answer_ids_cached(root: str, stamps: tuple) -> dict[str, set[str]]:
    return {slug: set(answer_ids(read(source_path(slug, Path(root))))) for slug, _ in stamps}


def chapter_of(nb, root: Path = ROOT) -> str | None:
    """The chapter a notebook belongs to, read from the notebook itself, never from its file name.

    The release writes the slug into the notebook's metadata (``course.chapter``); a notebook
    without it (or naming no chapter of this course) is known by its answer cells: the chapter
    whose answer ``grade_id``s it holds most of. Where the two disagree (metadata copied from
    another chapter's notebook), the answer cells win. None when it holds none of any chapter's.
    Students, browsers and LMSs rename files (``02_momentum (1).ipynb``), so the name is no guide.
    """
    known = _answer_ids_by_chapter(root)
    cells = nb.get("cells")
    held = {grade_id(c) for c in cells if isinstance(c, dict) and is_answer(c)} if isinstance(cells, list) else set()
    overlap = {slug: len(ids & held) for slug, ids in known.items()}
    best = max(overlap, key=lambda s: overlap[s], default=None)
    metadata = nb.get("metadata")
    course = metadata.get("course") if isinstance(metadata, dict) else None
    said = course.get("chapter") if isinstance(course, dict) else None
    if isinstance(said, str) and said in known and (overlap[said] or not overlap[best]):
        return said
    return best if best is not None and overlap[best] > 0 else None
