"""The students' page "Doing the exercises" (exercises.md) stays true to the repository.

What it quotes (the install line, the stub, a failing test's message) comes from the files it
describes, and it sits in the book before the first chapter. The browser tests check the page
itself like every page of _toc.yml.
"""

from __future__ import annotations

import re
import shlex

from browser import book
from packaging.requirements import Requirement

from autograder import notebooks as nbs

PAGE = book.ROOT / "exercises.md"
STUDENT = book.ROOT / "requirements-student.txt"
DEVELOPMENT = book.ROOT / "requirements.txt"
TOOLS = {"jupyter-book", "nbgrader", "nbformat", "nbclient", "pytest", "nbval", "ruff", "playwright", "dask"}


def requirements(text: str) -> list[str]:
    """The requirement lines of a requirements file, comments and blank lines left out."""
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def code_blocks(page: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", page, flags=re.S | re.M)


def test_the_one_line_install_installs_requirements_student():
    lines = [line for block in code_blocks(PAGE.read_text()) for line in block.splitlines()]
    one_line = [line for line in lines if line.startswith('pip install "')]
    assert len(one_line) == 1, f"the page should show one pip line that lists the packages, not {one_line}"
    assert shlex.split(one_line[0])[2:] == requirements(STUDENT.read_text()), (
        "the page's pip line and requirements-student.txt list different packages or versions"
    )


def test_student_requirements_are_the_courses_versions_without_its_tools():
    student = {Requirement(r).name: Requirement(r).specifier for r in requirements(STUDENT.read_text())}
    course = {Requirement(r).name: Requirement(r).specifier for r in requirements(DEVELOPMENT.read_text())}
    assert {"numpy", "matplotlib", "ipywidgets", "jupyterlab", "notebook"} <= student.keys()
    differ = {name: (str(spec), str(course[name])) for name, spec in student.items() if course.get(name, spec) != spec}
    assert not differ, f"requirements-student.txt and requirements.txt bound these differently: {differ}"
    assert not TOOLS & student.keys(), f"the course's own tools are not for students: {TOOLS & student.keys()}"


def test_the_page_comes_before_the_first_chapter():
    pages, first = book.pages(), book.chapters()[0]
    assert "exercises" in pages, "_toc.yml does not list exercises.md"
    assert pages.index("exercises") < pages.index(f"chapters/{first}/{first}"), "students meet the page too late"


def test_the_stub_the_page_shows_is_the_releases():
    shown = next(b for b in code_blocks(PAGE.read_text()) if "NotImplementedError" in b)
    for slug in book.chapters():
        for cell in nbs.read(nbs.release_path(slug)).cells:
            if nbs.is_answer(cell):
                assert cell.source.rstrip().endswith(shown.rstrip()), (
                    f"{slug}: the answer cell {nbs.grade_id(cell)} does not end with the stub the page shows"
                )


def test_the_failure_message_the_page_shows_is_a_tests():
    example = next(b for b in code_blocks(PAGE.read_text()) if b.startswith("AssertionError: "))
    message = example.removeprefix("AssertionError: ").strip()
    tests = [c.source for slug in book.chapters() for c in nbs.test_cells(nbs.read(nbs.release_path(slug)))]
    assert any(message in source for source in tests), f"no visible test says {message!r}"


def test_a_hidden_test_shows_students_one_comment_line():
    """The page: "Some test cells show only one comment line, starting with `# Hidden test:`"."""
    for slug in book.chapters():
        hidden = {nbs.grade_id(c) for c in nbs.test_cells(nbs.read(nbs.source_path(slug))) if nbs.is_hidden(c)}
        assert hidden, f"{slug} has no hidden test"
        for cell in nbs.test_cells(nbs.read(nbs.release_path(slug))):
            if nbs.grade_id(cell) in hidden:
                lines = cell.source.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("# Hidden test:"), f"{slug}: {lines[:3]}"
