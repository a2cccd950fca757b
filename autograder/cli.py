"""``python -m autograder``: the instructor's commands.

They run from any folder: the course is the one given with ``--course``, else the one the
current folder is in (see :func:`autograder.notebooks.find_course`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder import notebooks as nbs

DESCRIPTION = """\
Release the course's exercises to students and grade what they hand in.

The chapters are written once, in solutions/<chapter>/<chapter>.ipynb (prose,
reference solutions, visible and hidden tests). `release` turns them into the
student notebooks in chapters/, which the book renders. Students fill in the
functions and hand the notebook back; `grade` runs every test, hidden ones
included, and writes a gradebook and a feedback page per student. You do not
need to know nbgrader to use either command.

Run it inside the course (its folder or any folder below), or anywhere with
--course DIR. A course folder holds _toc.yml and solutions/.
"""

GRADE_HELP = """\
Grade a folder of submissions laid out as

  SUBMISSIONS/<student_id>/<chapter>/<chapter>.ipynb

for example submissions/alice/02_momentum/02_momentum.ipynb (the layout
nbgrader's `collect` produces). The tests always come from the instructor's
source, so a student who edits, deletes or renames a test cell changes
nothing; only the answer cells (matched by grade_id) and cells the student
added are taken from the submission. Each notebook runs in its own sandboxed
process: no network, no view of solutions/, of other students' files or of
the reports, user nobody, limited memory, time and processes; student code
cannot change numpy, builtins or the tests (see README, "Grading at scale").
Writes, under --out:

  grades.csv      student_id,chapter,score,max_score,status,reason: one row
                  for every student folder and every chapter graded
  tests.csv       one row per student, chapter and test: student_id,chapter,
                  test,hidden,points,max_points,passed,status (the
                  notebook's, as in grades.csv),message
  summary.html    the class at a glance, one self-contained page: per
                  chapter the scores as a histogram, the tests most failed
                  with their most common messages, the notebooks not graded
  feedback/<student_id>/<chapter>.html   what each student sees

In both CSV files every text cell is quoted, and one that a spreadsheet
would run as a formula (it starts with = + - @, a tab or a line break, as a
student's error message can) gets a leading ' so it shows as text; numbers
are written unquoted, as numbers.

status is `ok` when the notebook was graded normally, whatever its score.
A fault confined to one test does not change it: a test that runs past its
time limit (100 times the reference's time for that test, at least 5 s, at
most --cell-timeout), runs out of memory (--memory) or ends the process
(os._exit, a crash) fails with a message that says so ("time limit: ...",
"out of memory: ...", "crashed: ..."), and grading goes on with the next
test from a clean state. The same fault in a cell of the student's own costs
what that cell would have defined; cells after the last test are not run.
`reason` lists each such fault ("test_x: time limit"). Otherwise status
names what went wrong:

  missing         no notebook in the student's chapter folder
  unreadable      not a notebook: damaged or binary file, not valid JSON,
                  a folder or a symbolic link where the file should be,
                  larger than 20 MB
  invalid         a notebook edited outside Jupyter: two cells share an id,
                  or two answer cells claim the same function
  wrong-notebook  none of the chapter's answer cells (another chapter's file)
  not-attempted   every answer cell is as released and no cell was added (a
                  blank notebook): not run, 0; each test says which function
                  is not implemented yet
  timeout         the whole notebook ran longer than --timeout: the tests
                  that ran keep their points, the others score 0
  tampered        the code tried to change how it is graded or to reach what
                  it must not (patching numpy or builtins, frame tricks,
                  files outside its folder, sockets, processes, forged
                  results): the whole notebook scores 0
  crashed         the code ended the grading process between two cells (a
                  finalizer calling os._exit): the cells that ran keep
                  their results
  error           the grader itself failed on this notebook (a bug: report it)

Exits 0 once every row is written, however the students did; 2 when it could
not grade at all (a wrong folder layout, an unknown chapter, no sandbox on
this machine without --no-sandbox, --scheduler without Dask installed, with
no scheduler at that address, or with a scheduler or worker that cannot
import the course), with a message saying how to fix it; the reports already
in --out are then left as they were.
"""


class NoCourse(Exception):
    """No course where the command looked; the message says what a course is and how to name one."""


def course(given: str | None, cwd: Path) -> Path:
    """The course a command works on: ``--course`` when given, else the one ``cwd`` is in."""
    what = "a course folder holds _toc.yml and solutions/<chapter>/<chapter>.ipynb"
    if given is not None:
        root = Path(given).expanduser()
        if not nbs.is_course(root):
            raise NoCourse(f"--course {given} is not a course ({what})")
        return root.resolve()
    root = nbs.find_course(cwd)
    if root is None:
        raise NoCourse(
            f"no course in {cwd} or any folder above it ({what}). "
            "Run this inside the course, or name it: python -m autograder --course DIR ..."
        )
    return root


def _release(args, root: Path) -> int:
    from autograder.release import ReleaseError, release

    slugs = args.chapters or nbs.chapter_slugs(root)
    for slug in slugs:
        if slug not in nbs.chapter_slugs(root):
            print(f"error: no source notebook solutions/{slug}/{slug}.ipynb in {root}", file=sys.stderr)
            return 2
        try:
            written = release(slug, root)
        except ReleaseError as exc:
            print(f"error: cannot release {slug}: {exc}", file=sys.stderr)
            return 1
        print("wrote " + ", ".join(str(p.relative_to(root)) for p in written))
    return 0


def _grade(args, root: Path) -> int:
    from autograder.cluster import ClusterError
    from autograder.grade import LayoutError, grade
    from autograder.report import summary
    from autograder.sandbox import SandboxUnavailable

    if args.nbgrader or args.submissions is None:
        from autograder.nbgrader_bridge import grade_command

        return grade_command(args, root)
    out = Path(args.out or "grading-output")
    try:
        rows = grade(
            Path(args.submissions),
            out,
            chapters=args.chapter,
            jobs=args.jobs,
            cell_timeout=args.cell_timeout,
            notebook_timeout=args.timeout,
            root=root,
            sandbox=not args.no_sandbox,
            memory_mb=args.memory,
            scheduler=args.scheduler,
        )
    except (LayoutError, SandboxUnavailable, ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(rows))
    print(f"wrote {out / 'grades.csv'}, tests.csv, summary.html and feedback/ ({len(rows)} rows)")
    return 0


def _sample(args, root: Path) -> int:
    from autograder.sample import build

    out = Path(args.out) if args.out else root / "sample_class"
    build(out, root)
    print(f"wrote {out}")
    return 0


def _strip(args, root: Path | None) -> int:
    from autograder.release import strip_outputs

    for path in args.notebooks:
        strip_outputs(Path(path))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m autograder", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--course",
        metavar="DIR",
        help="the course folder (default: the one the current folder is in); also accepted after the command",
    )
    # The same option after the command name; SUPPRESS keeps it from overwriting one given before.
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument(
        "--course",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the course folder (default: the one the current folder is in)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser(
        "release",
        parents=[after],
        help="regenerate chapters/ (the student notebooks) from solutions/",
        description="Regenerate chapters/<chapter>/ from solutions/<chapter>/: solutions become "
        "stubs, hidden tests and instructor-only cells are removed, outputs cleared. The source "
        "is run first, and a reference that fails its own tests stops the release.",
    )
    r.add_argument("chapters", nargs="*", metavar="CHAPTER", help="chapter slugs, e.g. 02_momentum (default: all)")
    r.set_defaults(func=_release)

    g = sub.add_parser(
        "grade",
        parents=[after],
        help="grade a folder of submissions",
        description=GRADE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument(
        "submissions", nargs="?", metavar="SUBMISSIONS", help="folder of <student_id>/<chapter>/<chapter>.ipynb"
    )
    g.add_argument(
        "--nbgrader",
        action="store_true",
        help="grade what nbgrader collected (its submitted/ folder) instead of SUBMISSIONS, and write the scores, "
        "test by test, into nbgrader's gradebook too (default --out: autograder/_nbgrader/grading-output)",
    )
    g.add_argument(
        "--chapter",
        action="append",
        metavar="CHAPTER",
        help="grade this chapter (repeatable; default: every chapter any student handed in)",
    )
    g.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="notebooks graded at once (default: the number of CPUs)",
    )
    g.add_argument("--out", metavar="DIR", help="where to write the reports (default: grading-output; see --nbgrader)")
    g.add_argument(
        "--timeout",
        type=float,
        default=600,
        metavar="SECONDS",
        help="time limit for one notebook in all; past it status timeout, and the tests that ran keep their "
        "points (default: %(default)s)",
    )
    g.add_argument(
        "--cell-timeout",
        type=float,
        default=60,
        metavar="SECONDS",
        help="time limit for one cell, and the most any test may take; past it that test fails (or the cell "
        "is skipped) and grading goes on (default: %(default)s)",
    )
    g.add_argument(
        "--memory",
        type=int,
        default=2048,
        metavar="MB",
        help="address-space limit of one notebook's process; past it the test that asked fails (default: %(default)s)",
    )
    g.add_argument(
        "--no-sandbox",
        action="store_true",
        help="do not isolate student code in namespaces as user nobody (for machines that cannot create "
        "namespaces: see README); the audit hook, limits and integrity checks still apply, but student code can "
        "then see every file the grading user can read",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://host:port): one task per "
        "notebook, sandboxed on the workers, results checked and reports written here; needs "
        "`pip install -r requirements-cluster.txt`, and the scheduler and every worker must import this "
        "course (see README, Grading at scale: setting up the nodes)",
    )
    g.set_defaults(func=_grade)

    s = sub.add_parser(
        "sample-class",
        parents=[after],
        help="regenerate the bundled sample class",
        description="Regenerate the made-up students in sample_class/ (see autograder/sample.py).",
    )
    s.add_argument("--out", metavar="DIR", help="where to write it (default: the course's sample_class/)")
    s.set_defaults(func=_sample)

    t = sub.add_parser("strip", help="clear the outputs of source notebooks before committing")
    t.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    t.set_defaults(func=_strip, needs_course=False)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.command == "grade" and args.jobs < 1:
        p.error("--jobs must be at least 1")
    if not getattr(args, "needs_course", True):
        return args.func(args, None)
    try:
        root = course(args.course, Path.cwd())
    except NoCourse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return args.func(args, root)
