"""nbgrader's own commands, run on this course: the classes ``nbgrader_config.py`` plugs in, and the gradebook.

One design: nbgrader calls the course's release. ``nbgrader generate_assignment
SLUG`` runs :func:`autograder.release.release` (which writes ``chapters/SLUG/``,
the committed student release), records the chapter's cells in nbgrader's
gradebook (the hidden tests included, as nbgrader expects, so that ``autograde``
can put them back) and hands nbgrader the same bytes for its own release folder
under ``autograder/_nbgrader/``, the only folder nbgrader wipes. The other
classes keep nbgrader's later steps to the course's rules:

- :class:`RestoreHiddenTests` (``autograde``): a hidden test cell that is the
  released one gets its hidden tests back from the gradebook silently; any other
  change to a locked cell is reported as nbgrader always does.
- :class:`HideHiddenTests` (``generate_feedback``): of a hidden test, feedback
  shows the released part of the cell and the error's name and message only, with
  every hidden line cut; hidden lines are cut from every other output too.
- :class:`StudentSolution` (``generate_solution``): the worked solutions students
  may see after the deadline, without hidden tests or instructor-only cells.
- :class:`CourseCollector` (``zip_collect``): a Canvas download's notebooks into
  ``submitted/<user id>/<chapter>/<chapter>.ipynb``, the chapter read from each
  notebook, the last upload of each student kept.

:func:`grade_collected` is ``python -m autograder grade --nbgrader``: the
course's sandboxed grader on nbgrader's ``submitted/`` folder, then the scores,
test by test, into nbgrader's gradebook (late penalties by nbgrader's own
plugin), where formgrader and ``nbgrader export`` find them.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

import nbformat
from nbconvert.exporters import Exporter, NotebookExporter
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.preprocessors import (
    AssignLatePenalties,
    ClearHiddenTests,
    NbGraderPreprocessor,
    OverwriteCells,
    SaveCells,
)
from sqlalchemy.exc import SAWarning
from traitlets import List
from traitlets.config import Config, PyFileConfigLoader

from autograder import messages, worker
from autograder import notebooks as nbs
from autograder import release as course_release
from autograder.grade import LayoutError, grade
from autograder.report import summary
from autograder.sandbox import SandboxUnavailable

COURSE_ID = "optimization-for-deep-learning"
CONFIG_FILE = "nbgrader_config.py"
OUT = "autograder/_nbgrader/grading-output"
# nbgrader 0.9's Gradebook.add_submission builds a submission's rows the SQLAlchemy 1.x
# way (cascading backrefs, gone in 2.0) and then adds them to the session itself, so
# SQLAlchemy 2 warns that the cascade "will not proceed" although nothing is lost.
SQLALCHEMY_NOISE = r"Object of type <\w+> not in session, add operation along '\w+\.\w+' will not proceed"


def silence_sqlalchemy_noise() -> None:
    """Hide only the harmless warning above."""
    warnings.filterwarnings("ignore", message=SQLALCHEMY_NOISE, category=SAWarning)


def prepare_environment() -> None:
    """What every nbgrader command on this course needs (nbgrader_config.py calls this).

    nbgrader creates a gradebook by running ``alembic`` by name, which fails when the
    virtual environment is not activated (``.venv/bin/nbgrader ...``): the ``alembic``
    installed next to this Python is put on ``PATH`` when none is found.
    """
    silence_sqlalchemy_noise()
    if shutil.which("alembic") is None:
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def refuse_unsafe_commands(root: Path) -> None:
    """Stop ``nbgrader update`` on the course's own notebooks, naming what to run instead.

    ``nbgrader update`` rewrites every notebook under the folders it is given in
    nbgrader's own JSON layout, so ``chapters/`` would no longer be the course's
    release byte for byte; the course's notebooks are in nbgrader's current format.
    """
    from nbgrader.apps.updateapp import UpdateApp

    app = getattr(UpdateApp, "_instance", None)  # the command being run, if it is `nbgrader update`
    if not isinstance(app, UpdateApp):
        return
    own = root / "autograder" / "_nbgrader"
    for target in (Path(arg).resolve() for arg in app.extra_args):
        if (target == root or root in target.parents) and not (target == own or own in target.parents):
            sys.exit(
                f"error: `nbgrader update` would rewrite the course's notebooks under {target}. They are written "
                "by the course's tools and already in nbgrader's current format: regenerate the student release "
                "with `python -m autograder release`, and update an old notebook from elsewhere outside this folder."
            )


def load_config(root: Path = nbs.ROOT) -> Config:
    """The course's nbgrader configuration, read the way nbgrader reads it."""
    return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()


def course_directory(configurable) -> CourseDirectory:
    """The course directory of the nbgrader command a preprocessor runs in (its converter's)."""
    node = configurable
    while node is not None:
        coursedir = getattr(node, "coursedir", None)
        if isinstance(coursedir, CourseDirectory):
            return coursedir
        node = getattr(node, "parent", None)
    return CourseDirectory(config=load_config())


def course_root(configurable) -> Path:
    return Path(course_directory(configurable).root)


def _ids(resources) -> tuple[str, str]:
    info = resources["nbgrader"]
    return info["assignment"], info["notebook"]


def _strip_hidden(source: str) -> str:
    """A cell's source as the release shows it: the hidden-test region removed."""
    cell, _ = ClearHiddenTests(enforce_metadata=False).preprocess_cell(nbformat.v4.new_code_cell(source), {}, 0)
    return cell.source


def gradebook_version(source_nb, release_nb):
    """The release with each hidden test cell's full source back: what nbgrader's gradebook records.

    Every other cell, and every checksum but those of the hidden test cells, is the release's.
    """
    full = {nbs.grade_id(c): c.source for c in nbs.test_cells(source_nb) if nbs.is_hidden(c)}
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        if nbs.grade_id(cell) in full:
            cell.source = full[nbs.grade_id(cell)]
            cell.metadata.nbgrader["checksum"] = utils.compute_checksum(cell)
    return nb


def record_chapter(slug: str, coursedir: CourseDirectory, parent=None) -> None:
    """Record chapter ``slug`` (assignment and notebook of that name) and its cells in the gradebook."""
    root, db_url = Path(coursedir.root), coursedir.db_url
    with Gradebook(db_url, coursedir.course_id) as gb:
        gb.update_or_create_assignment(slug)
    nb = gradebook_version(nbs.read(nbs.source_path(slug, root)), nbs.read(nbs.release_path(slug, root)))
    resources = {"nbgrader": {"assignment": slug, "notebook": slug, "db_url": db_url}}
    SaveCells(parent=parent).preprocess(nb, resources)


def secret_lines(source_nb, release_nb) -> list[str]:
    """The hidden tests' lines that the release does not show (longest first, so cuts never overlap)."""
    shown = {line.strip() for cell in release_nb.cells for line in cell.source.splitlines()}
    secret = {line for line in nbs.hidden_lines(source_nb) if len(line) >= 8 and line not in shown}
    return sorted(secret, key=len, reverse=True)


def scrub(text: str, secret: list[str]) -> str:
    """Cut every secret line from text, as written and as it appears inside JSON (a notebook file read back)."""
    for line in secret:
        for form in (line, json.dumps(line)[1:-1]):
            text = text.replace(form, "…")
    return text


def _scrub_value(value, secret: list[str]):
    if isinstance(value, str):
        return scrub(value, secret)
    if isinstance(value, list):
        return [_scrub_value(v, secret) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_value(v, secret) for k, v in value.items()}
    return value


class CourseNotebookExporter(NotebookExporter):
    """Writes a notebook the way the course does (:func:`autograder.notebooks.dumps`), byte for byte."""

    def from_notebook_node(self, nb, resources=None, **kw):
        nb_copy, resources = Exporter.from_notebook_node(self, nb, resources, **kw)
        resources["output_suffix"] = ""
        return nbs.dumps(nb_copy), resources


class CourseRelease(NbGraderPreprocessor):
    """``generate_assignment``: the course's release of the chapter, recorded in the gradebook.

    Writes ``chapters/<slug>/`` with :func:`autograder.release.release` and returns its
    notebook (which carries the demos' reference data in its metadata) for nbgrader to write
    into its own release folder. The assignment and its notebook must both be named after a
    chapter of ``solutions/``, and ``solutions/<slug>/`` may hold nothing that nbgrader
    would copy along (the course releases one file; ``mistakes.py`` is ignored):
    otherwise nbgrader removes its half-made release and says why.
    """

    def preprocess(self, nb, resources):
        slug, notebook = _ids(resources)
        coursedir = course_directory(self)
        root = Path(coursedir.root)
        if notebook != slug or slug not in nbs.chapter_slugs(root):
            raise ValueError(
                f"this course's assignments are its chapters, solutions/<slug>/<slug>.ipynb "
                f"({', '.join(nbs.chapter_slugs(root))}); got notebook {notebook!r} of assignment {slug!r}"
            )
        extra = utils.find_all_files(str(root / "solutions" / slug), [*coursedir.ignore, "*.ipynb"])
        if extra:
            raise ValueError(
                f"nbgrader would hand {', '.join(sorted(extra))} to students: move it out of solutions/{slug}/ "
                f"or add its name to CourseDirectory.ignore in {CONFIG_FILE}"
            )
        course_release.release(slug, root)
        release_nb = nbs.read(nbs.release_path(slug, root))
        record_chapter(slug, coursedir, parent=self)
        return release_nb, resources


class RestoreHiddenTests(OverwriteCells):
    """``autograde``'s cell check, aware of hidden tests.

    nbgrader records a hidden test cell with its hidden tests and warns that its
    checksum "has changed" in every submission, since students get it without them.
    Here a cell that is exactly the released one gets its recorded source back
    first, silently; any other change is reported and undone as nbgrader always does.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and cell.cell_type == "code":
            try:
                recorded = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                recorded = None
            hidden = recorded is not None and nbs.BEGIN_HIDDEN in recorded.source
            if hidden and cell.source == _strip_hidden(recorded.source):
                cell.source = recorded.source
        return super().preprocess_cell(cell, resources, cell_index)


class HideHiddenTests(NbGraderPreprocessor):
    """``generate_feedback``: no line of a hidden test reaches a student.

    A hidden test cell keeps its released part and one output, the error's name and
    message (passed tests: none); every hidden line is cut from the outputs of all
    cells, since student code ran next to the hidden tests and could print them.
    """

    display_data_priority = List(config=True, help="HTMLExporter's setting, accepted (as by GetGrades) and unused")

    def preprocess(self, nb, resources):
        slug, _ = _ids(resources)
        root = course_root(self)
        source_nb = nbs.read(nbs.source_path(slug, root))
        self.hidden_ids = {nbs.grade_id(c) for c in nbs.test_cells(source_nb) if nbs.is_hidden(c)}
        self.secret = secret_lines(source_nb, nbs.read(nbs.release_path(slug, root)))
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        if nbs.grade_id(cell) in self.hidden_ids or nbs.BEGIN_HIDDEN in cell.source:
            cell.source = _strip_hidden(cell.source)
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            cell.outputs = [self._summary(errors[0])] if errors else []
        else:
            cell.outputs = [nbformat.from_dict(_scrub_value(dict(o), self.secret)) for o in cell.outputs]
        return cell, resources

    def _summary(self, error):
        message = scrub(f"{error.get('ename', '')}: {error.get('evalue', '')}".strip(": "), self.secret)
        note = f"{messages.cut(message)}\n(a hidden test: its code is not shown)"
        return nbformat.v4.new_output("error", ename=error.get("ename", ""), evalue="", traceback=[note])


class StudentSolution(NbGraderPreprocessor):
    """``generate_solution``: the source without its instructor-only cells and hidden tests."""

    def preprocess(self, nb, resources):
        nb.cells = [c for c in nb.cells if nbs.INSTRUCTOR_TAG not in nbs.tags(c)]
        for cell in nb.cells:
            cell.source = _strip_hidden(cell.source)
        return nb, resources


CANVAS_REGEXP = r".*/(?P<name>[^/]+?)_(?:late_|LATE_)?(?P<student_id>[0-9]+)_(?P<upload>[0-9]+)_(?P<file_id>[^/]+)$"
"""A Canvas "Download Submissions" file, ``<name>[_late]_<user id>_<file id>_<file name>``, as nbgrader's
``named_regexp`` (matched against the whole path of the extracted file). Canvas numbers files in upload
order, so ``upload`` tells which of a student's notebooks came last."""


def _chapter_of_file(path: str, root: Path) -> str | None:
    """The chapter of the notebook in ``path`` (read from the notebook), or None for anything else."""
    nb = worker.read_submission(Path(path))
    return None if isinstance(nb, tuple) else nbs.chapter_of(nb, root)


class CourseCollector(FileNameCollectorPlugin):
    """``zip_collect``'s collector: each student's last notebook of the chapter, named as nbgrader expects.

    The file names come from ``named_regexp`` (:data:`CANVAS_REGEXP` in ``nbgrader_config.py``), but a
    file's chapter comes from the notebook itself, never from its name: Canvas renames a resubmission
    ``02_momentum-1.ipynb`` and browsers ``02_momentum (1).ipynb``. Of a student's notebooks of the
    chapter, the one uploaded last (the largest ``upload`` group, Canvas's file id) is collected as
    ``<chapter>.ipynb``; the others are skipped as superseded, with a warning naming both, so nbgrader
    never stops at "Duplicate submission file". Files that are not notebooks of the chapter (a PDF,
    another chapter's notebook, a damaged file) are skipped with a warning.
    """

    def _upload(self, filename: str) -> tuple[int, str] | None:
        """(upload number, student id) of a file the regexp matches, else None (quietly)."""
        match = re.match(self.named_regexp, filename) if self.named_regexp else None
        if not match:
            return None
        found = match.groupdict()
        upload = found.get("upload") or ""
        return (int(upload) if upload.isdigit() else -1), found.get("student_id") or ""

    def collect(self, submitted_file: str) -> dict | None:
        info = super().collect(submitted_file)
        if not info:
            return None
        coursedir = self.parent.coursedir
        slug, root = coursedir.assignment_id, Path(coursedir.root)
        if _chapter_of_file(submitted_file, root) != slug:
            self.log.warning(
                "Skipped %s: not a notebook of %s (read from the notebook, not its name)", submitted_file, slug
            )
            return None
        mine = self._upload(submitted_file)
        folder = os.path.dirname(submitted_file)
        for name in sorted(os.listdir(folder)):
            other = os.path.join(folder, name)
            theirs = self._upload(other) if other != submitted_file and name.endswith(".ipynb") else None
            if theirs and theirs[1] == mine[1] and theirs[0] > mine[0] and _chapter_of_file(other, root) == slug:
                self.log.warning("Skipped %s: superseded by %s, uploaded later", submitted_file, other)
                return None
        kept = {"student_id": info["student_id"], "file_id": f"{slug}.ipynb"}
        if info.get("timestamp"):
            kept["timestamp"] = info["timestamp"]
        return kept


def _submitted_folder(coursedir: CourseDirectory) -> Path:
    if coursedir.directory_structure != CourseDirectory.directory_structure.default_value:
        raise LayoutError(
            f"{CONFIG_FILE} changes CourseDirectory.directory_structure; `grade --nbgrader` needs nbgrader's "
            "default layout, submitted/<student_id>/<chapter>/<chapter>.ipynb."
        )
    folder = Path(coursedir.root) / coursedir.submitted_directory
    if not folder.is_dir():
        raise LayoutError(
            f"nbgrader has collected nothing yet ({folder} does not exist). Run `nbgrader collect CHAPTER` "
            "first (README, Using nbgrader / JupyterHub)."
        )
    return folder


def _ensure_chapter(slug: str, coursedir: CourseDirectory) -> None:
    """Record the chapter in the gradebook unless it is there; refuse a recorded one with other tests."""
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            recorded = {c.name for c in gb.find_notebook(slug, slug).grade_cells}
        except MissingEntry:
            recorded = None
    tests = {nbs.grade_id(c) for c in nbs.test_cells(nbs.read(nbs.source_path(slug, Path(coursedir.root))))}
    if recorded is None:
        record_chapter(slug, coursedir)
    elif recorded != tests:
        raise LayoutError(
            f"nbgrader's gradebook holds another version of {slug} (tests {', '.join(sorted(recorded))}). "
            f"Run `nbgrader generate_assignment {slug} --force` (after backing up the gradebook), then grade again."
        )


def record_scores(rows: list[dict], coursedir: CourseDirectory, config: Config) -> int:
    """Write every graded submission's test scores into nbgrader's gradebook; return how many.

    A row is recorded when nbgrader's ``submitted/<student>/<chapter>/`` folder
    exists (as ``nbgrader autograde`` does), with the submission time from its
    ``timestamp.txt``. Each test cell gets its points as the automatic score, so a
    manual score given in formgrader still takes precedence; a notebook whose
    status is not ``ok``, ``missing`` or ``not-attempted`` is flagged for review. Late penalties come
    from nbgrader's own ``AssignLatePenalties`` with the course's configuration.
    """
    submitted = _submitted_folder(coursedir)
    for slug in sorted({r["chapter"] for r in rows}):
        _ensure_chapter(slug, coursedir)
    recorded = []
    with warnings.catch_warnings(), Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        silence_sqlalchemy_noise()
        for row in rows:
            student, slug = row["student_id"], row["chapter"]
            folder = submitted / student / slug
            if not folder.is_dir():
                continue
            gb.update_or_create_student(student)
            timestamp = coursedir.get_existing_timestamp(str(folder))
            gb.update_or_create_submission(slug, student, **({"timestamp": timestamp} if timestamp else {}))
            for test in row["tests"]:
                cell = gb.find_grade(test["test"], slug, slug, student)
                cell.auto_score = test["points"]
                cell.needs_manual_grade = False
            gb.find_submission_notebook(slug, slug, student).flagged = row["status"] not in (
                "ok",
                "missing",
                "not-attempted",
            )
            gb.db.commit()
            recorded.append((student, slug))
    for student, slug in recorded:
        info = {"assignment": slug, "notebook": slug, "student": student, "db_url": coursedir.db_url}
        AssignLatePenalties(config=config).preprocess(nbformat.v4.new_notebook(), {"nbgrader": info})
    return len(recorded)


def grade_collected(out: Path, chapters: list[str] | None = None, root: Path = nbs.ROOT, **options) -> list[dict]:
    """``grade --nbgrader``: grade nbgrader's ``submitted/`` folder, write the reports and the gradebook."""
    prepare_environment()
    config = load_config(root)
    coursedir = CourseDirectory(config=config)
    rows = grade(_submitted_folder(coursedir), out, chapters=chapters, root=root, **options)
    record_scores(rows, coursedir, config)
    return rows


def grade_command(args, root: Path = nbs.ROOT) -> int:
    """``python -m autograder grade --nbgrader``: what the command prints and its exit code."""
    if not args.nbgrader or args.submissions:
        print("error: give either SUBMISSIONS or --nbgrader (grade nbgrader's submitted/ folder)", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else root / OUT
    options = {"jobs": args.jobs, "cell_timeout": args.cell_timeout, "notebook_timeout": args.timeout}
    options |= {"sandbox": not args.no_sandbox, "memory_mb": args.memory}
    try:
        rows = grade_collected(out, args.chapter, root, **options)
    except (LayoutError, SandboxUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(rows))
    print(f"wrote {out / 'grades.csv'}, tests.csv, summary.html and feedback/ ({len(rows)} rows)")
    print("wrote the scores into nbgrader's gradebook: formgrader shows them, `nbgrader export` exports them")
    return 0
