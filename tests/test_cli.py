"""`python -m autograder` from any folder, and reports everyone may read.

The command runs in a course found from `--course` or from the current folder; these
tests run it from temporary folders outside the repository, on a one-chapter copy of
the course, so a command that silently used the repository instead would show it.
"""

from __future__ import annotations

import csv
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import notebooks as nbs
from autograder import report

SLUG = "01_challenges"


def cli(*args, cwd: Path, umask: int | None = None, env: dict | None = None):
    """Run `python -m autograder` with this checkout's package, wherever ``cwd`` is."""
    env = env if env is not None else {**os.environ, "PYTHONPATH": str(nbs.PACKAGE_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        cwd=cwd,
        env=env,
        umask=-1 if umask is None else umask,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course with one chapter, away from the repository."""
    root = tmp_path_factory.mktemp("elsewhere") / "my-course"
    root.mkdir()
    shutil.copy(nbs.ROOT / "_toc.yml", root)
    for part in ("solutions", "chapters"):
        shutil.copytree(nbs.ROOT / part / SLUG, root / part / SLUG)
    return root


def chapters_in(sample: Path) -> list[str]:
    return sorted(p.name for p in (sample / "ada").iterdir())


def test_the_fixture_is_a_smaller_course_than_the_repository(course):
    # What makes the tests below able to fail: the repository has other chapters.
    assert nbs.chapter_slugs(course) == [SLUG] != nbs.chapter_slugs(nbs.ROOT)


@pytest.mark.parametrize("where", ["before", "after"])
def test_course_option_from_outside(course, tmp_path, where):
    args = ["sample-class", "--out", str(tmp_path / "sample")]
    args = ["--course", str(course), *args] if where == "before" else [*args, "--course", str(course)]
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert chapters_in(tmp_path / "sample") == [SLUG]


def test_course_found_from_a_folder_inside_it(course):
    done = cli("sample-class", cwd=course / "chapters" / SLUG)
    assert done.returncode == 0, done.stderr
    # The default output is the course's own sample_class/, not one in the current folder.
    assert chapters_in(course / "sample_class") == [SLUG]
    assert not (course / "chapters" / SLUG / "sample_class").exists()


@pytest.mark.parametrize("command", [["release"], ["sample-class"], ["grade", "submissions"]])
def test_no_course_says_what_it_expects(tmp_path, command):
    done = cli(*command, cwd=tmp_path)
    assert done.returncode == 2
    message = done.stderr.strip()
    assert message.startswith(f"error: no course in {tmp_path.resolve()}"), message
    assert "_toc.yml" in message and "solutions/" in message and "--course DIR" in message
    assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []


def test_a_folder_that_is_not_a_course_is_refused(tmp_path):
    (tmp_path / "solutions").mkdir()  # half a course: no _toc.yml
    done = cli("--course", str(tmp_path), "release", cwd=tmp_path)
    assert done.returncode == 2
    assert f"--course {tmp_path} is not a course" in done.stderr and "Traceback" not in done.stderr


def test_strip_needs_no_course(tmp_path):
    nb = tmp_path / "nb.ipynb"
    shutil.copy(nbs.source_path(SLUG), nb)
    done = cli("strip", str(nb), cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_the_package_is_installed(tmp_path):
    """`make install` installs this project (editable) so the command works outside the checkout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = cli("--help", cwd=tmp_path, env=env)
    assert done.returncode == 0, (
        f"`python -m autograder` does not run outside the checkout with {sys.executable}: "
        f"{done.stderr.strip()[-300:]}\nRun `make install` (it runs `pip install -e .`)."
    )


def modes(out: Path) -> dict[str, str]:
    """The permission bits of every file and folder under ``out`` (``out`` itself included)."""
    paths = [out, *out.rglob("*")]
    return {str(p.relative_to(out)): oct(stat.S_IMODE(p.stat().st_mode)) for p in paths}


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_reports_are_readable_by_everyone(tmp_path, umask):
    source = nbs.read(nbs.source_path(SLUG))
    rows = [{"student_id": s, "chapter": SLUG, **report.result("missing", "no notebook", source)} for s in "ab"]
    out = tmp_path / "grades" / "spring"
    old = os.umask(umask)
    try:
        report.write_all(rows, out)
    finally:
        os.umask(old)
    found = modes(tmp_path / "grades")
    assert "spring/feedback/a/01_challenges.html" in found and "spring/tests.csv" in found
    wrong = {p: m for p, m in found.items() if m != ("0o755" if (tmp_path / "grades" / p).is_dir() else "0o644")}
    assert wrong == {}


def test_grading_from_outside_writes_shareable_reports(course, tmp_path):
    (tmp_path / "subs" / "alice").mkdir(parents=True)  # handed in nothing: no notebook runs
    out = tmp_path / "out"
    args = ["grade", "subs", "--course", str(course), "--chapter", SLUG, "--out", "out", "--no-sandbox", "--jobs", "1"]
    done = cli(*args, cwd=tmp_path, umask=0o077)
    assert done.returncode == 0, done.stderr
    with open(out / "grades.csv", newline="") as f:
        assert [(r["student_id"], r["chapter"], r["status"]) for r in csv.DictReader(f)] == [("alice", SLUG, "missing")]
    assert modes(out) == {
        ".": "0o755",
        "grades.csv": "0o644",
        "tests.csv": "0o644",
        "summary.html": "0o644",
        "feedback": "0o755",
        "feedback/alice": "0o755",
        f"feedback/alice/{SLUG}.html": "0o644",
    }
