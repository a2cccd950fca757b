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
Grade what students handed in. SUBMISSIONS is any of:

  SUBMISSIONS/<student_id>/<chapter>/<chapter>.ipynb
      nbgrader's layout (what its `collect` produces), for example
      submissions/alice/02_momentum/02_momentum.ipynb
  a Canvas "Download Submissions" zip, or that zip unzipped
      files <name>[_late]_<user id>_<file id>_<file name>; student_id is the
      Canvas user id, the late flag is kept (column late)
  a Moodle "Download all submissions" zip, or that zip unzipped
      <Full name>_<participant id>_assignsubmission_file_/<file name> (a
      folder per student, or that as each file's prefix); student_id is the
      participant id
  SUBMISSIONS/<student_id>/<any name>.ipynb
      a folder per student, the notebooks named anyhow

Which one is told from the names inside (--lms canvas|moodle says it). Outside
nbgrader's layout a notebook's chapter is read from the notebook, never from
its file name; of several notebooks of one chapter from one student the one
uploaded last counts (Canvas: the larger file id; Moodle and folders: the later
time, then x-1 or x (1) over x) and the others are listed as superseded in
intake.csv. A download is untrusted: entries that climb out (../), absolute
paths, links, entries that inflate past 20 MB and names that are not valid
UTF-8 are refused, and nothing is written outside --out. When no file of
SUBMISSIONS is a notebook of this course, grade stops (exit 2) and says what
it found, instead of grading every student `missing`.

The tests always come from the instructor's
source, so a student who edits, deletes or renames a test cell changes
nothing; only the answer cells (matched by grade_id) and cells the student
added are taken from the submission. Each notebook runs in its own sandboxed
process: no network, no view of solutions/, of other students' files or of
the reports, user nobody, limited memory, time and processes; student code
cannot change numpy, builtins or the tests (see README, "Grading at scale").
Writes, under --out (adding to what is there: the rows, test rows and
feedback pages of the students graded now are replaced, all others kept;
every file is written aside and renamed into place, so an interrupted run
leaves the previous results whole):

  grades.csv      student_id,chapter,score,max_score,status,reason: one row
                  for every student folder and every chapter graded (from an
                  LMS also name,late)
  tests.csv       one row per student, chapter and test: student_id,chapter,
                  test,hidden,points,max_points,passed,status (the
                  notebook's, as in grades.csv),message
  summary.html    the class at a glance, one self-contained page: per
                  chapter the scores as a histogram, the tests most failed
                  with their most common messages, the notebooks not graded
  feedback/<student_id>/<chapter>.html   what each student sees
  intake.csv      (from an LMS or a folder per student) every entry of the
                  download: student_id,name,late,entry,chapter,outcome
                  (graded, superseded, not a notebook of this course,
                  unreadable, refused; with --chapter, a notebook of another
                  chapter is not graded),reason,download
  lms/grades-import.csv   (with --roster) the LMS's own export, byte for
                  byte, with the scores scaled to the assignment's points:
                  import it as it is (Canvas: Grades > Import; Moodle:
                  "Upload grading worksheet")
  lms/feedback.zip        (from Canvas or Moodle) each feedback page named so
                  the LMS returns it to its student (Canvas: "Re-upload
                  submissions"; Moodle: "Upload multiple feedback files in a
                  zip")
  .cache/         results by what decides them: the notebook's bytes, the
                  chapter's source and release, the grader's code and the
                  limits; a notebook graded before with all of those the same
                  is not run again (see README)

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
            lms_kind=args.lms,
            roster=Path(args.roster) if args.roster else None,
            assignment=args.assignment,
        )
    except (LayoutError, SandboxUnavailable, ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(rows))
    extra = [name for name in ("intake.csv", "lms/grades-import.csv", "lms/feedback.zip") if (out / name).exists()]
    print(
        f"wrote {out / 'grades.csv'}, tests.csv, summary.html and feedback/ ({len(rows)} rows graded now)"
        + "".join(f", {name}" for name in extra)
    )
    return 0


def _gradescope(args, root: Path) -> int:
    from autograder.gradescope import GradescopeError, build

    out = Path(args.out or f"gradescope-{args.chapter}.zip")
    limits = {"notebook_timeout": args.timeout, "memory_mb": args.memory, "hidden_visibility": args.hidden_tests}
    try:
        made = build(args.chapter, root, out, **limits)
    except GradescopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {out} ({made['files']} files, {made['bytes'] // 1024} KB). On Gradescope: a Programming "
        f"Assignment worth {made['max_score']:g} points, Configure Autograder: Zip file upload, base image "
        "Ubuntu 24.04 (see README, Grading on Gradescope)"
    )
    return 0


def _sample(args, root: Path) -> int:
    from autograder.sample import LMS_CHAPTER, build, build_lms

    out = Path(args.out) if args.out else root / "sample_class"
    build(out, root)
    print(f"wrote {out}")
    # The LMS downloads go to the course's sample_lms/ by default; with --out alone, only the class is written.
    lms_out = Path(args.lms_out) if args.lms_out else None if args.out else root / "sample_lms"
    if lms_out is not None and LMS_CHAPTER in nbs.chapter_slugs(root):
        build_lms(lms_out, root)
        print(f"wrote {lms_out}")
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
    for add in (_release_parser, _grade_parser, _gradescope_parser, _sample_parser, _strip_parser):
        add(sub, after)
    return p


def _release_parser(sub, after: argparse.ArgumentParser) -> None:
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


def _grade_parser(sub, after: argparse.ArgumentParser) -> None:
    g = sub.add_parser(
        "grade",
        parents=[after],
        help="grade a folder of submissions",
        description=GRADE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument(
        "submissions",
        nargs="?",
        metavar="SUBMISSIONS",
        help="folder of <student_id>/<chapter>/<chapter>.ipynb, a folder per student, or a Canvas or Moodle "
        "download (zipped or not)",
    )
    g.add_argument(
        "--lms",
        choices=("canvas", "moodle"),
        help="SUBMISSIONS is this LMS's download (zipped or not); default: told from the names inside",
    )
    g.add_argument(
        "--roster",
        metavar="FILE",
        help="the LMS's gradebook export (Canvas: Grades > Export; Moodle: the assignment's \"Download grading "
        'worksheet"): writes DIR/lms/grades-import.csv, that file with the scores filled in, to import as is',
    )
    g.add_argument(
        "--assignment",
        metavar="NAME",
        help="the Canvas gradebook column the chapter's score goes in (default: the one whose name contains the "
        "chapter's title or slug)",
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


def _gradescope_parser(sub, after: argparse.ArgumentParser) -> None:
    gs = sub.add_parser(
        "gradescope",
        parents=[after],
        help="write a chapter's Gradescope autograder (a zip to upload)",
        description="Write CHAPTER's autograder for Gradescope: a zip with setup.sh and run_autograder at its "
        "root, the grader, the chapter's release and hidden tests, and pinned requirements. Gradescope grades "
        "each submission with it exactly as `grade` would (the notebook under any name) and shows the student "
        "each test's result and message; hidden tests by name, result and message only (see README, Grading "
        "on Gradescope).",
    )
    gs.add_argument("chapter", metavar="CHAPTER", help="the chapter's slug, e.g. 02_momentum")
    gs.add_argument("--out", metavar="FILE", help="where to write the zip (default: gradescope-CHAPTER.zip)")
    gs.add_argument(
        "--hidden-tests",
        choices=("after_published", "after_due_date", "visible", "hidden"),
        default="after_published",
        help="when students see the hidden tests' results, and with them their total (Gradescope's "
        "visibility; default: %(default)s, once you publish grades); visible tests always show at once",
    )
    gs.add_argument(
        "--timeout",
        type=float,
        default=480,
        metavar="SECONDS",
        help="time limit for one notebook, below Gradescope's own (10 minutes unless raised) so the tests that "
        "ran keep their points (default: %(default)s)",
    )
    gs.add_argument("--memory", type=int, default=2048, metavar="MB", help="as for grade (default: %(default)s)")
    gs.set_defaults(func=_gradescope)


def _sample_parser(sub, after: argparse.ArgumentParser) -> None:
    s = sub.add_parser(
        "sample-class",
        parents=[after],
        help="regenerate the bundled sample class",
        description="Regenerate the made-up students in sample_class/ (see autograder/sample.py), and "
        "sample_lms/: their chapter 2 as Canvas and Moodle hand it over, with the gradebook exports.",
    )
    s.add_argument("--out", metavar="DIR", help="where to write it (default: the course's sample_class/)")
    s.add_argument(
        "--lms-out",
        metavar="DIR",
        help="where to write the LMS downloads (default: the course's sample_lms/, unless --out is given)",
    )
    s.set_defaults(func=_sample)


def _strip_parser(sub, after: argparse.ArgumentParser) -> None:
    t = sub.add_parser("strip", help="clear the outputs of source notebooks before committing")
    t.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    t.set_defaults(func=_strip, needs_course=False)


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
