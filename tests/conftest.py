"""Shared fixtures: chapters, submissions built from answers, and one grading run for them all.

Grading starts a kernel per notebook, so every test that only needs a
submission's result adds it to one class that is graded once per session
(`graded`), two notebooks at a time.

The suite runs on pytest-xdist's workers (pyproject.toml; `pytest -n 0` runs it in one process,
as before). What is expensive to make and shared by several files (the strict book build, the
graded class, the sample class's grades) is made once per run, by whichever worker needs it
first, while the others wait for it (`once_per_run`). Which tests go to which worker: SPREAD.
"""

from __future__ import annotations

import fcntl
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import notebooks as nbs
from autograder.grade import grade
from autograder.isolation import available
from autograder.sample import mistakes

CHAPTERS = nbs.chapter_slugs()
# How pytest-xdist's workers share the suite (pyproject.toml: `-n 2 --dist loadscope`). A file's
# tests run on one worker, in order, so its module fixtures are made once (and each notebook's
# nbval cells share one kernel); the tests of the files in SPREAD need no module-wide set-up of
# their own and go one by one to whichever worker is free. The longest files go first (FIRST, by
# their time in a profile of the whole suite): the book build in test_book.py starts at once on
# one worker while the other takes the nbgrader workflow, and the short tests of SPREAD come
# last, to even out the end. test_references.py waits on `graded`, which test_mistakes.py makes.
# A profile of 2026-12-07 (`pytest --durations=0 -v`, each test's time summed per file and per
# worker): 16 min of wall time, 917 and 906 s on the two workers, so they end together and only
# less work shortens the run. Per file: test_browser.py 544 s (axe-core on every page in both
# modes and on the chapters at a phone's width, about 7 s a chapter each time, most of it the
# colour-contrast, target-size and link-in-text-block rules), test_nbgrader.py 212, test_release.py
# 211, test_download.py 187, test_book.py 154, test_jupyterlab.py 154, test_cluster.py 122; the
# source notebooks under nbval 65; every other file under 45.
SPREAD = ("test_download.py", "test_browser.py")
FIRST = (
    "test_book.py",
    "test_nbgrader.py",
    "test_release.py",
    "test_jupyterlab.py",
    "test_cluster.py",
    "test_mistakes.py",
    "test_grader.py",
    "test_lms.py",
    "test_gradescope.py",
    "test_adversarial.py",
    "test_execution.py",
)
LAST = ("test_references.py", *SPREAD)


def _rank(path: Path) -> int:
    if path.name in FIRST:
        return FIRST.index(path.name)
    return len(FIRST) + 1 + LAST.index(path.name) if path.name in LAST else len(FIRST)


def pytest_collection_modifyitems(items):
    """On xdist's workers: the longest files first, SPREAD's tests last (stable: each file keeps its order)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: _rank(item.path))


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadscope` with each file as a scope (nbval's: each notebook), but one scope per test in SPREAD."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if path.rsplit("/", 1)[-1] in SPREAD else path

    config.option.loadscopereorder = False  # the workers' order (pytest_collection_modifyitems above)
    return FileScheduling(config, log)


def once_per_run(tmp_path_factory, name: str, make):
    """`make(folder)` once per test run, its (picklable) result shared by every xdist worker.

    The first worker to ask makes it in a folder beside the workers' own temporary folders,
    holding a lock the others wait on; they then read the result (or the error) it left. Without
    xdist this is `make` in a fresh temporary folder.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return make(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent
    result = shared / f"{name}.pickle"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not result.exists():
            folder = shared / name
            folder.mkdir()
            try:
                made = (True, make(folder))
            except Exception as exc:
                result.write_bytes(pickle.dumps((False, f"{type(exc).__name__}: {exc}")))
                raise
            result.write_bytes(pickle.dumps(made))
    ok, value = pickle.loads(result.read_bytes())
    if not ok:
        raise AssertionError(f"making {name} failed on another worker: {value}")
    return value


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


@pytest.fixture(scope="session")
def book_html(tmp_path_factory) -> Path:
    """The HTML of the run's one strict build of the book (BOOK_HTML=<folder> reuses a build instead)."""
    from browser import book

    if os.environ.get("BOOK_HTML"):
        return book.built_book()
    return once_per_run(tmp_path_factory, "book", book.build)


@pytest.fixture(scope="session")
def sample_grades(tmp_path_factory):
    """`python -m autograder grade sample_class` once per run: (its out folder, {(student, chapter): row}, stdout)."""
    import csv

    def make(out: Path):
        cmd = [sys.executable, "-m", "autograder", "grade", "sample_class", "--out", str(out), "--jobs", "2"]
        done = subprocess.run([*cmd, *sandbox_flags()], cwd=nbs.ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        with open(out / "grades.csv", newline="") as f:
            rows = {(r["student_id"], r["chapter"]): r for r in csv.DictReader(f)}
        return out, rows, done.stdout

    return once_per_run(tmp_path_factory, "sample-grades", make)


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
    return once_per_run(tmp_path_factory, "class", _grade_every_chapter)


def _grade_every_chapter(root: Path) -> dict:
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
