"""Grade the same generated class with plain nbgrader and with this grader; print seconds per notebook.

    .venv/bin/python benchmarks/grading_speed.py                 # 40 students x every chapter
    .venv/bin/python benchmarks/grading_speed.py --students 4    # a quick look

The class is a realistic mix, the same for both graders: most students hand in
the reference answers, some one of the chapter's listed mistakes, some the
untouched release, a few a damaged file. nbgrader runs in a temporary course
directory of its own (its own nbgrader_config.py and gradebook database):
``nbgrader generate_assignment`` once per chapter (not timed), then
``nbgrader autograde`` per chapter, sequentially (timed), as a course would run
it. This grader runs ``grade(..., jobs=--jobs)`` with the sandbox on. Both
start from the same submissions; the script checks that the scores agree on
the notebooks nbgrader could grade.

It also says how close this grader is to its cost floor, the cells' own run
time: for each chapter, the mean time a notebook spent in its runner (fork,
namespaces, guards, every cell, as the grading thread saw it) beside the time
the runner spent executing the cells' code (what the runner measures around each
``exec``; the guard around each call of a graded function is part of it). The
misconception catalogue (``summary.html``'s names for failures), which ``grade``
computes once per chapter after grading, is timed apart and left out of the
ratio: it is the course's own code, run once per chapter whatever the class size.

Exit status: 1 when this grader is less than ``--budget`` (10) times as fast as
nbgrader or when any score differs, else 0.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import misconceptions, sandbox  # noqa: E402
from autograder import notebooks as nbs  # noqa: E402
from autograder.grade import grade  # noqa: E402
from autograder.sample import mistakes  # noqa: E402

BUDGET = 10.0  # this grader must be at least this many times as fast as plain nbgrader


def make_class(folder: Path, students: int, chapters: list[str], seed: int = 0) -> dict[tuple[str, str], str]:
    """Write the class; return {(student, chapter): kind}."""
    rng = random.Random(seed)
    kinds = {}
    for slug in chapters:
        release = nbs.read(nbs.release_path(slug))
        answers = nbs.reference_answers(nbs.read(nbs.source_path(slug)))
        wrong = list(mistakes(slug).values())
        for i in range(students):
            student = f"student{i:03d}"
            roll = rng.random()
            path = folder / student / slug / f"{slug}.ipynb"
            if roll < 0.65 or (roll < 0.85 and not wrong):
                kind, nb = "correct", nbs.fill_answers(release, answers)
            elif roll < 0.85:
                m = rng.choice(wrong)
                kind, nb = "mistake", nbs.fill_answers(release, {**answers, m["function"]: m["source"]})
            elif roll < 0.95:
                kind, nb = "blank", release
            else:
                kind, nb = "broken", None
            kinds[(student, slug)] = kind
            if nb is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                text = nbs.dumps(nbs.fill_answers(release, answers))
                path.write_text(text[: len(text) // 3])
            else:
                nbs.write(nb, path)
    return kinds


def run_nbgrader(course: Path, subs: Path, chapters: list[str]) -> tuple[float, dict]:
    """Plain nbgrader, sequential, in a course directory of its own. Returns (seconds autograding, scores)."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
        "c.ExecutePreprocessor.timeout = 120\n"
    )
    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH
    env = {**os.environ, "MPLBACKEND": "Agg", "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    nbgrader = [sys.executable, "-m", "nbgrader"]
    for slug in chapters:
        src = course / "source" / slug
        src.mkdir(parents=True)
        shutil.copy(nbs.source_path(slug), src / f"{slug}.ipynb")
        subprocess.run(
            [*nbgrader, "generate_assignment", slug, "--force"], cwd=course, env=env, check=True, capture_output=True
        )
    shutil.copytree(subs, course / "submitted")
    start = time.monotonic()
    for slug in chapters:
        done = subprocess.run([*nbgrader, "autograde", slug], cwd=course, env=env, capture_output=True, text=True)
        if done.returncode not in (0, 1):
            print(done.stderr[-2000:], file=sys.stderr)
    seconds = time.monotonic() - start
    scores = {}
    with sqlite3.connect(course / "gradebook.db") as db:
        query = """
            SELECT student.id, assignment.name, SUM(COALESCE(grade.manual_score, grade.auto_score, 0))
            FROM grade
            JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id
            JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id
            JOIN student ON submitted_assignment.student_id = student.id
            JOIN assignment ON submitted_assignment.assignment_id = assignment.id
            GROUP BY student.id, assignment.name
        """
        for student, slug, score in db.execute(query):
            scores[(student, slug)] = float(score)
    return seconds, scores


class Meter:
    """What grading spent where: each runner's time and its cells' time, and the misconception catalogue.

    Wraps ``sandbox.run`` and ``misconceptions.catalogues`` for the length of a ``with`` block;
    nothing is added to the graded reports.
    """

    def __init__(self, chapters: list[str]) -> None:
        self.chapter_of = {}  # a chapter's first test name -> the chapter
        for slug in chapters:
            first = next(iter(nbs.test_cells(nbs.read(nbs.source_path(slug)))), None)
            if first is not None:
                self.chapter_of[nbs.grade_id(first)] = slug
        self.runs: list[tuple[str, float, float]] = []  # (chapter, seconds in the runner, seconds in cells)
        self.catalogue = 0.0
        self._lock = threading.Lock()

    def __enter__(self) -> Meter:
        self._run, self._catalogues = sandbox.run, misconceptions.catalogues

        def run(cells, **kwargs):
            done = self._run(cells, **kwargs)
            first = next((c["name"] for c in cells if c["kind"] == "test"), "")
            with self._lock:
                self.runs.append((self.chapter_of.get(first, "?"), done.seconds, sum(done.cell_seconds.values())))
            return done

        def catalogues(*args, **kwargs):
            start = time.monotonic()
            try:
                return self._catalogues(*args, **kwargs)
            finally:
                self.catalogue += time.monotonic() - start

        sandbox.run, misconceptions.catalogues = run, catalogues
        return self

    def __exit__(self, *exc) -> None:
        sandbox.run, misconceptions.catalogues = self._run, self._catalogues

    def table(self) -> str:
        """Per chapter: notebooks run, mean seconds in the runner, mean seconds in the cells, and the ratio."""
        lines = ["chapter             runs  runner s  cells s  runner/cells"]
        for slug in sorted({r[0] for r in self.runs}):
            mine = [r for r in self.runs if r[0] == slug]
            runner = sum(r[1] for r in mine) / len(mine)
            cells = sum(r[2] for r in mine) / len(mine)
            lines.append(f"{slug:18} {len(mine):5} {runner:9.3f} {cells:8.3f} {runner / max(cells, 1e-9):10.2f}x")
        runner, cells = sum(r[1] for r in self.runs), sum(r[2] for r in self.runs)
        share = runner / max(cells, 1e-9)
        lines.append(f"{'all':18} {len(self.runs):5} {runner:9.1f} {cells:8.1f} {share:10.2f}x (sums)")
        return "\n".join(lines)


def machine() -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=40, help="students in the class (default: %(default)s)")
    p.add_argument("--chapter", action="append", help="only these chapters (default: every chapter)")
    p.add_argument("--jobs", type=int, default=2, help="this grader's --jobs (default: %(default)s)")
    p.add_argument("--budget", type=float, default=BUDGET, help="the least ratio that passes (default: %(default)s)")
    p.add_argument("--skip-nbgrader", action="store_true", help="time this grader only (no ratio, exit 0)")
    args = p.parse_args(argv)
    chapters = args.chapter or nbs.chapter_slugs()
    with tempfile.TemporaryDirectory(prefix="grading-speed-") as tmp:
        tmp = Path(tmp)
        subs = tmp / "submissions"
        kinds = make_class(subs, args.students, chapters)
        count = len(kinds)
        mix = {k: list(kinds.values()).count(k) for k in ("correct", "mistake", "blank", "broken")}
        print(f"class: {args.students} students x {len(chapters)} chapters = {count} notebooks; {mix}")
        print(f"machine: {machine()}")

        start = time.monotonic()
        with Meter(chapters) as meter:
            rows = grade(subs, tmp / "out", jobs=args.jobs, progress=io.StringIO())
        total = time.monotonic() - start
        ours = total - meter.catalogue
        print(
            f"this grader (--jobs {args.jobs}, sandboxed): {ours:7.1f} s, {ours / count:5.3f} s per notebook "
            f"(+ {meter.catalogue:.1f} s for the misconception catalogue, left out); load now {machine()}"
        )
        print(meter.table())
        with open(tmp / "out" / "grades.csv", newline="") as f:
            our_scores = {(r["student_id"], r["chapter"]): float(r["score"]) for r in csv.DictReader(f)}
        if len(rows) != count:
            print(f"FAIL: {len(rows)} rows for {count} notebooks")
            return 1

        if args.skip_nbgrader:
            return 0
        theirs, nb_scores = run_nbgrader(tmp / "course", subs, chapters)
        print(f"plain nbgrader autograde (sequential): {theirs:7.1f} s, {theirs / count:5.3f} s per notebook")
        print(f"machine: {machine()}")
        ratio = theirs / ours
        print(f"ratio: this grader is {ratio:.1f}x faster (budget: at least {args.budget:g}x)")
        compared = [key for key in nb_scores if kinds.get(key) != "broken"]
        differ = [
            (key, nb_scores[key], our_scores.get(key))
            for key in compared
            if our_scores.get(key) is None or abs(nb_scores[key] - our_scores[key]) > 1e-9
        ]
        unseen = [key for key, kind in kinds.items() if kind != "broken" and key not in nb_scores]
        print(
            f"scores agree on {len(compared) - len(differ)} of the {len(compared)} readable notebooks "
            "(damaged files: 0 here, not graded or 0 there)"
        )
        for key, theirs_score, ours_score in differ[:10]:
            print(f"  {key}: nbgrader {theirs_score:g}, this grader {ours_score} ({kinds[key]})")
        for key in unseen[:10]:
            print(f"  {key}: nbgrader has no score for this readable notebook ({kinds[key]})")
        failures = []
        if ratio < args.budget:
            failures.append(f"{ratio:.1f}x is under the budget of {args.budget:g}x")
        if differ or unseen:
            failures.append(f"{len(differ) + len(unseen)} notebooks without equal scores")
        if failures:
            print("FAIL: " + "; ".join(failures))
            return 1
        print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
