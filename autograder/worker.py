"""Grade one notebook: the unit of work.

``python -m autograder.worker JOB.json RESULT.json`` reads a job (the keys of
:func:`grade_job`) and writes the result; :mod:`autograder.grade` calls
:func:`grade_job` directly, one thread per notebook in flight. Each submission
is graded on its own, from the instructor's source and the student's file
alone, so the same command can run as one task of a batch or cluster job.

This side is trusted: it reads the submission (without following symbolic
links, within a size limit), the instructor's source and the release, and
decides the score. Student code only ever runs in the runner that :mod:`autograder.sandbox` starts
(:mod:`autograder.executor`).

The notebook that runs is assembled from the instructor's source: every test,
visible and hidden, comes from there; from the submission only the answer
cells (matched by ``grade_id``) and any code cells the student added are
taken. Editing, deleting or renaming a test cell in the submission changes
nothing.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import stat
import sys
import threading
from pathlib import Path

import nbformat

from autograder import messages, report, sandbox
from autograder import notebooks as nbs

MAX_BYTES = 20 << 20
STUDENT = "autograder_student"  # metadata key marking the cells that came from the submission


def read_submission(path: Path, base: Path | None = None):
    """The student's notebook, or (status, reason) when it cannot be graded.

    ``base`` is the submissions folder: no part of the path below it may be a
    symbolic link (a link to ``solutions/`` must not hand in the answers).
    """
    raw = read_bytes(path, base)
    return raw if isinstance(raw, tuple) else parse_submission(raw)


def read_bytes(path: Path, base: Path | None = None):
    """The submission's bytes (a regular file, no symbolic link, within MAX_BYTES), or (status, reason).

    What :mod:`autograder.cluster` sends a worker with each task.
    """
    path = Path(os.path.abspath(path))
    parts = [path]
    if base is not None:
        base = Path(os.path.abspath(base))
        parts = [p for p in [path, *path.parents] if p != base and base in p.parents]
    for p in parts:
        try:
            info = os.lstat(p)
        except FileNotFoundError:
            continue
        except OSError as exc:
            return "unreadable", f"cannot be read ({exc.strerror})"
        if stat.S_ISLNK(info.st_mode):
            return "unreadable", f"{p.name} is a symbolic link: hand in the notebook file itself"
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "missing", f"no {path.parent.name}/{path.name} in the student's folder"
    if stat.S_ISDIR(info.st_mode):
        return "unreadable", f"{path.name} is a folder, not a notebook file"
    if not stat.S_ISREG(info.st_mode):
        return "unreadable", f"{path.name} is not a regular file"
    if info.st_size > MAX_BYTES:
        return "unreadable", f"the file is {info.st_size >> 20} MB; a notebook is at most {MAX_BYTES >> 20} MB"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        return "unreadable", f"cannot be read ({exc.strerror})"
    if len(raw) > MAX_BYTES:
        return "unreadable", f"the file is larger than {MAX_BYTES >> 20} MB"
    return raw


def parse_submission(raw: bytes):
    """The notebook in a submission's bytes, or (status, reason) when it is damaged or invalid."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return "unreadable", "not valid JSON: the file is damaged or was not saved by Jupyter"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) or data.get("nbformat") != 4:
        return "unreadable", "not a Jupyter notebook (version 4): no list of cells"
    ids, answers = set(), set()
    for cell in data["cells"]:
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            return "unreadable", "not a valid notebook: a cell is damaged"
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            cell["source"] = "".join(source)
        elif not isinstance(source, str):
            return "unreadable", "not a valid notebook: a cell's source is not text"
        if not isinstance(cell.get("metadata", {}), dict):
            cell["metadata"] = {}
        cid = cell.get("id")
        if cid is not None:
            if not isinstance(cid, str) or cid in ids:
                return "invalid", f"two cells share the id {str(cid)[:40]!r}: the notebook was edited outside Jupyter"
            ids.add(cid)
        node = nbformat.from_dict(cell)
        if nbs.is_answer(node):
            gid = nbs.grade_id(node)
            if gid in answers:
                return "invalid", f"two answer cells claim to be {str(gid)[:40]!r}: keep one"
            answers.add(gid)
    return nbformat.from_dict(data)


def assemble(source_nb, release_nb, submission):
    """The notebook to run: the instructor's source with the student's code put in."""
    release_ids = {c.get("id") for c in release_nb.cells}
    answers: dict[str, str] = {}
    extras: dict[str | None, list[str]] = {}
    anchor: str | None = None
    for cell in submission.cells:
        gid = nbs.grade_id(cell)
        if nbs.is_answer(cell) and gid in nbs.answer_ids(source_nb) and gid not in answers:
            answers[gid] = cell.source
            anchor = gid
        elif nbs.meta(cell) or cell.get("id") in release_ids:
            anchor = gid or cell.get("id")
        elif cell.get("cell_type") == "code" and cell.source.strip():
            extras.setdefault(anchor, []).append(cell.source)

    def extra_cell(text):
        cell = nbformat.v4.new_code_cell(text)
        cell.metadata[STUDENT] = "extra"
        return cell

    out = copy.deepcopy(source_nb)
    cells = [extra_cell(text) for text in extras.get(None, [])]
    for cell in out.cells:
        if nbs.INSTRUCTOR_TAG in nbs.tags(cell):
            continue
        if nbs.is_answer(cell):
            gid = nbs.grade_id(cell)
            stub = next(c for c in release_nb.cells if nbs.grade_id(c) == gid)
            cell.source = answers.get(gid, stub.source)
            cell.metadata[STUDENT] = "answer"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        for key in (nbs.grade_id(cell), cell.get("id")):
            for extra in extras.pop(key, []) if key else []:
                cells.append(extra_cell(extra))
    out.cells = cells
    for cell in out.cells:
        cell.pop("id", None)
    out.nbformat_minor = 4  # ids are dropped: the assembled notebook is never saved as the student's
    return out, answers


@functools.lru_cache(maxsize=4096)
def _python(source: str) -> str:
    """IPython syntax (%magics, !shell) as plain Python, as a notebook would run it.

    A pure function of the text, and IPython's tokenizer is slow (tens of milliseconds a
    notebook): the instructor's cells, the same in every notebook of a chapter, and answers
    handed in identically are transformed once per grading run.
    """
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def plan(nb) -> list[dict]:
    """The code cells to run, in order: kind (instructor, answer, extra, test), source, name, hidden.

    The cells after the last test are left out: nothing there can change a score, so a
    student's scratch cell at the end (an endless loop, say) costs neither points nor time.
    """
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    last = max((i for i, c in enumerate(code) if c.metadata.get(STUDENT) is None and nbs.is_test(c)), default=-1)
    cells = []
    for cell in code[: last + 1]:
        kind = cell.metadata.get(STUDENT) or ("test" if nbs.is_test(cell) else "instructor")
        cells.append(
            {
                "kind": kind,
                "source": _python(cell.source),
                "name": nbs.grade_id(cell) or "",
                "hidden": nbs.is_hidden(cell),
            }
        )
    return cells


@functools.lru_cache(maxsize=16)
def _chapter_cached(source: Path, release: Path, stamps: tuple) -> tuple:
    return nbs.read(source), nbs.read(release)


def _chapter(source: Path, release: Path) -> tuple:
    """The instructor's source and the release, read once per grading run (never modified here)."""
    stamps = tuple(os.stat(p).st_mtime_ns for p in (source, release))
    return _chapter_cached(source, release, stamps)


def grade_notebook(
    submission_path: Path,
    source_path: Path,
    release_path: Path,
    cell_timeout: float = 60,
    notebook_timeout: float = 600,
    isolate: bool = True,
    hide: list[str] | None = None,
    base: Path | None = None,
    memory_mb: int = 2048,
    zygote: sandbox.Zygote | None = None,
) -> dict:
    source_nb, release_nb = _chapter(Path(source_path), Path(release_path))
    submission = read_submission(submission_path, base)
    if isinstance(submission, tuple):
        return report.result(*submission, source_nb)
    wanted = nbs.answer_ids(source_nb)
    if not any(nbs.is_answer(c) and nbs.grade_id(c) in wanted for c in submission.cells):
        return report.result(
            "wrong-notebook",
            "none of this chapter's answer cells (" + ", ".join(wanted) + ") is in this notebook",
            source_nb,
        )
    nb, answers = assemble(source_nb, release_nb, submission)
    cells = plan(nb)
    stubs = {nbs.grade_id(c): c.source for c in release_nb.cells if nbs.is_answer(c)}
    untouched = messages.untouched(stubs, answers)
    if len(untouched) == len(stubs) and not any(c["kind"] == "extra" for c in cells):
        return _not_attempted(source_nb, untouched)
    hide = [str(source_path.parent.parent), *([str(base)] if base else []), *(hide or [])]
    limits = _TestLimits(source_path, release_path, isolate, hide, memory_mb, zygote)  # one reference per chapter
    hide = [*hide, str(Path(submission_path).parent)]
    run = sandbox.run(
        cells,
        isolate=isolate,
        hide=hide,
        cell_timeout=cell_timeout,
        notebook_timeout=notebook_timeout,
        memory_mb=memory_mb,
        zygote=zygote,
        test_limit=limits,
    )
    outcomes = {}
    sources = {nbs.grade_id(c): c.source for c in nbs.test_cells(source_nb)}
    secret = {line for line in nbs.hidden_lines(source_nb) if len(line) >= 8}
    broken = {f: messages.name_cells(said, cells) for f, said in _broken_answers(cells, run.outcomes).items()}
    for index, cell in enumerate(cells):
        if cell["kind"] != "test":
            continue
        got = run.outcomes.get(index)
        if got is None:
            continue
        if got.get("ok") is True:
            outcomes[cell["name"]] = {"passed": True, "message": ""}
            continue
        ename, evalue = str(got.get("ename", "")), str(got.get("evalue", ""))
        used = messages.functions_used(sources.get(cell["name"], ""), list(stubs))
        cause = (
            _fault_message(got, memory_mb)
            or _not_defined(got, cells, run.outcomes, memory_mb)
            or _cause(used, untouched, answers, broken, ename, evalue)
        )
        hidden = sources.get(cell["name"]) if cell["hidden"] else None
        outcome = {"passed": False, "message": messages.failure(ename, evalue, hidden, cause, cells)}
        if not cell["hidden"] and got.get("traceback") and not got.get("memory"):
            outcome["traceback"] = messages.traceback(str(got["traceback"]), cells, secret)
        outcomes[cell["name"]] = outcome
    reason = messages.cut("; ".join(r for r in (run.reason, _faults(cells, run.outcomes, memory_mb)) if r))
    return report.result(run.status, reason, source_nb, outcomes)


def _fault_message(outcome: dict, memory_mb: int) -> str | None:
    """What stopped a cell, when a fault did: a time limit, a crash, running out of memory."""
    if outcome.get("fault"):
        return f"{outcome['fault']}: {outcome.get('evalue', '')}"
    if outcome.get("memory"):
        return f"out of memory: needed more than the {memory_mb} MB limit"
    return None


def _not_defined(outcome: dict, cells: list[dict], outcomes: dict[int, dict], memory_mb: int) -> str | None:
    """A test that failed because the cell defining its function was stopped by a fault says so."""
    if outcome.get("ename") != "NameError":
        return None
    for index, cell in enumerate(cells):
        what = _fault_message(outcomes.get(index) or {}, memory_mb)
        if what and cell["kind"] == "answer" and f"'{cell['name']}'" in str(outcome.get("evalue", "")):
            return f"not run: your cell defining {cell['name']} did not finish ({what.split(':')[0]})"
    return None


def _faults(cells: list[dict], outcomes: dict[int, dict], memory_mb: int) -> str:
    """The reason's account of faults, in order: which test or cell, and what stopped it."""
    found = []
    for index, cell in enumerate(cells):
        what = _fault_message(outcomes.get(index) or {}, memory_mb)
        if what is None or cell["kind"] == "instructor":
            continue
        where = {
            "test": cell["name"],
            "answer": f"your cell defining {cell['name']}",
            "extra": "a cell you added",
        }[cell["kind"]]
        found.append(f"{where}: {what.split(':')[0]}")
    return "; ".join(found)


FACTOR = 100  # a test's time limit is this many times the reference's time for that test (at least FLOOR)


class _TestLimits:
    """Each test's time limit, from the reference's own time for it, measured only when first needed.

    A test that runs past ``sandbox.FLOOR`` seconds asks for its limit; the first such ask of a
    chapter grades the chapter's reference once, in the same sandbox and on the same machine
    (so a slow or busy machine is slow for both), and every later ask is a lookup. An honest
    class never asks: its tests take milliseconds, and grading costs nothing more.
    """

    def __init__(self, source: Path, release: Path, isolate: bool, hide: list[str], memory_mb: int, zygote) -> None:
        self.key = (Path(source), Path(release), isolate, tuple(hide), memory_mb, zygote)

    def __call__(self, test: str) -> float:
        try:
            with _REFERENCE_LOCK:
                seconds = _reference_seconds(*self.key)
        except Exception:  # the reference could not be timed: the cell's limit (--cell-timeout) applies
            seconds = {}
        return limit_for_test(seconds.get(test))


def limit_for_test(reference_seconds: float | None) -> float:
    """FACTOR times the reference's time, at least FLOOR; with no reference time, no limit but the cell's."""
    if reference_seconds is None:
        return float("inf")
    return max(sandbox.FLOOR, FACTOR * reference_seconds)


_REFERENCE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16)
def _reference_seconds(source: Path, release: Path, isolate: bool, hide: tuple, memory_mb: int, zygote) -> dict:
    """Test name -> seconds the reference answers took on it, graded in the sandbox like a submission."""
    source_nb, release_nb = _chapter(source, release)
    answers = nbs.reference_answers(source_nb)
    nb, _ = assemble(source_nb, release_nb, nbs.fill_answers(release_nb, answers))
    cells = plan(nb)
    run = sandbox.run(
        cells,
        isolate=isolate,
        hide=list(hide),
        cell_timeout=600,
        notebook_timeout=1200,
        memory_mb=memory_mb,
        zygote=zygote,
    )
    return {c["name"]: run.durations[i] for i, c in enumerate(cells) if c["kind"] == "test" and i in run.durations}


def _not_attempted(source_nb, untouched: list[str]) -> dict:
    """The row of a blank notebook: no test is run, each says which function it is waiting for."""
    functions = list(untouched)
    outcomes = {}
    for cell in nbs.test_cells(source_nb):
        used = messages.functions_used(cell.source, functions) or functions
        outcomes[nbs.grade_id(cell)] = {"passed": False, "message": messages.not_implemented_message(used)}
    reason = "every answer cell is as it was released and no cell was added: nothing to grade yet"
    return report.result("not-attempted", reason, source_nb, outcomes)


def _broken_answers(cells: list[dict], outcomes: dict) -> dict[str, str]:
    """Answer cells that raised while they ran (a syntax error, say): function -> what the cell raised."""
    broken = {}
    for index, cell in enumerate(cells):
        got = outcomes.get(index)
        if cell["kind"] == "answer" and got is not None and got.get("ok") is False:
            broken[cell["name"]] = f"{got.get('ename', '')}: {got.get('evalue', '')}".strip(": ")
    return broken


def _cause(used, untouched, answers, broken, ename: str, evalue: str) -> str:
    """Why a test failed, when the grader can tell it without the test's help; else ''."""
    missing = messages.not_implemented(used, untouched, answers, f"{ename}: {evalue}")
    if missing:
        return messages.not_implemented_message(missing)
    for function in used:
        if function in broken and ename == "NameError" and function in evalue:
            return (
                f"{function} is not defined: its answer cell stopped with {messages.cut(broken[function], 300)}. "
                "Run that cell in Jupyter to see where."
            )
    return ""


def grade_job(job: dict, zygote: sandbox.Zygote | None = None) -> dict:
    """Grade one notebook described by a job dict (what ``python -m autograder.worker`` reads).

    ``zygote``: a warm runner to fork from (what ``grade`` shares between its threads); without
    one, a fresh Python is started for this notebook.
    """
    return grade_notebook(
        Path(job["submission"]),
        Path(job["source"]),
        Path(job["release"]),
        cell_timeout=float(job.get("cell_timeout", 60)),
        notebook_timeout=float(job.get("notebook_timeout", 600)),
        isolate=bool(job.get("sandbox", True)),
        hide=list(job.get("hide", [])),
        base=Path(job["base"]) if job.get("base") else None,
        memory_mb=int(job.get("memory_mb", 2048)),
        zygote=zygote,
    )


def main(argv: list[str] | None = None) -> int:
    args = argv or sys.argv[1:]
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print(
            "usage: python -m autograder.worker JOB.json RESULT.json\n\n"
            "JOB.json: {submission, source, release, [base, cell_timeout, notebook_timeout, sandbox, hide]}\n"
            "RESULT.json: {status, reason, score, max_score, tests: [...]}",
            file=sys.stderr,
        )
        return 2
    job = json.loads(Path(args[0]).read_text())
    result = grade_job(job)
    report.write_atomic(Path(args[1]), json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
