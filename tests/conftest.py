"""Shared fixtures: chapters, submissions built from answers, and one grading run for them all.

Grading starts a kernel per notebook, so every test that only needs a
submission's result adds it to one class that is graded once per session
(`graded`), two notebooks at a time.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import nbformat
import pytest

from autograder import notebooks as nbs
from autograder.grade import grade
from autograder.isolation import available
from autograder.sample import mistakes

CHAPTERS = nbs.chapter_slugs()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def isolation_or_skip() -> None:
    """For tests of the sandbox itself: skip, with the reason, where this machine cannot isolate (fail in CI)."""
    reason = available()
    if reason:
        if in_ci():
            pytest.fail(f"CI must be able to isolate student code: {reason}")
        pytest.skip(f"no sandbox on this machine: {reason}")


@pytest.fixture(scope="session")
def chromium_browser():
    """Debian's chromium, driven by Playwright, shared by every browser test of the session.

    Playwright's sync API runs one instance per thread: a second `sync_playwright()` while the
    first is open fails, so test files take their browser from here. Skips with the reason where
    the browser tests cannot run (a failure in CI).
    """
    from browser import chromium

    reason = chromium.unavailable()
    if reason:
        if in_ci():
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium.launch(p)
        yield browser
        browser.close()


def can_isolate() -> bool:
    """Tests that grade but do not test isolation use the sandbox where it works, and skip it elsewhere."""
    return available() is None


def sandbox_flags() -> list[str]:
    """`grade`'s command-line flags for `can_isolate()`."""
    return [] if can_isolate() else ["--no-sandbox"]


def write_submission(folder: Path, student: str, slug: str, nb) -> Path:
    path = folder / student / slug / f"{slug}.ipynb"
    nbs.write(nb, path)
    return path


def stub_answers(slug: str) -> dict[str, str]:
    release_nb = nbs.read(nbs.release_path(slug))
    return {nbs.grade_id(c): c.source for c in release_nb.cells if nbs.is_answer(c)}


def hidden_only_lines(source_nb) -> set[str]:
    """Lines of the hidden tests that no visible cell also has: these must never reach a student."""
    hidden, visible = set(), set()
    for cell in source_nb.cells:
        head, _, rest = cell.source.partition(nbs.BEGIN_HIDDEN)
        body, _, tail = rest.partition("### END HIDDEN TESTS")
        hidden.update(line.strip() for line in body.splitlines() if len(line.strip()) > 12)
        visible.update(line.strip() for line in (head + tail).splitlines())
    # A hidden line that is part of a visible one (a shared tolerance, say) gives nothing away.
    return {h for h in hidden if not h.startswith("###") and not any(h in v for v in visible)}


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """Grade, for every chapter, the reference, the stubs and each listed mistake.

    Returns {(student_id, chapter): row}. Student ids: `reference`, `stubs` (the
    release with a cell of the student's own, so that it is graded, not `not-attempted`),
    `blank` (the release untouched), `mistake-<name>`. Sandboxed where the machine can
    isolate student code (the scores do not depend on it; tests/test_adversarial.py tests
    the sandbox).
    """
    root = tmp_path_factory.mktemp("class")
    subs = root / "submissions"
    for slug in CHAPTERS:
        release_nb = nbs.read(nbs.release_path(slug))
        answers = nbs.reference_answers(nbs.read(nbs.source_path(slug)))
        write_submission(subs, "reference", slug, nbs.fill_answers(release_nb, answers))
        write_submission(subs, "blank", slug, release_nb)
        stubs = nbs.fill_answers(release_nb, {})
        stubs.cells.insert(0, nbformat.v4.new_code_cell("scratch = 1  # a cell of the student's own"))
        write_submission(subs, "stubs", slug, stubs)
        for name, mistake in mistakes(slug).items():
            wrong = {**answers, mistake["function"]: mistake["source"]}
            write_submission(subs, f"mistake-{name}", slug, nbs.fill_answers(release_nb, wrong))
    rows = grade(subs, root / "out", jobs=2, sandbox=can_isolate(), progress=io.StringIO())
    return {(r["student_id"], r["chapter"]): r for r in rows}
