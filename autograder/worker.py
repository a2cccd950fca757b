"""Grade one notebook: the unit of work, run in its own process.

``python -m autograder.worker JOB.json RESULT.json`` reads a job written by
:mod:`autograder.grade` and writes the result. Each submission is graded on its
own, from the instructor's source and the student's file alone, so the same
command can run as one task of a batch or cluster job.

The notebook that runs is assembled from the instructor's source: every test,
visible and hidden, comes from there; from the submission only the answer
cells (matched by ``grade_id``) and any code cells the student added are
taken. Editing, deleting or renaming a test cell in the submission changes
nothing.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat.reader import NotJSONError

from autograder import notebooks as nbs
from autograder.execution import error_of, execute, ran


def _result(status: str, reason: str, source_nb, outcomes: dict | None = None) -> dict:
    tests = []
    for cell in nbs.test_cells(source_nb):
        gid = nbs.grade_id(cell)
        outcome = (outcomes or {}).get(gid, {"passed": False, "message": "not run: " + reason})
        tests.append(
            {
                "test": gid,
                "hidden": nbs.is_hidden(cell),
                "max_points": nbs.points(cell),
                "points": nbs.points(cell) if outcome["passed"] else 0.0,
                **outcome,
            }
        )
    return {
        "status": status,
        "reason": reason,
        "score": sum(t["points"] for t in tests),
        "max_score": nbs.max_score(source_nb),
        "tests": tests,
    }


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

    out = copy.deepcopy(source_nb)
    cells = []
    for cell in extras.get(None, []):
        cells.append(nbformat.v4.new_code_cell(cell))
    for cell in out.cells:
        if nbs.INSTRUCTOR_TAG in nbs.tags(cell):
            continue
        if nbs.is_answer(cell):
            gid = nbs.grade_id(cell)
            stub = next(c for c in release_nb.cells if nbs.grade_id(c) == gid)
            cell.source = answers.get(gid, stub.source)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        for key in (nbs.grade_id(cell), cell.get("id")):
            for extra in extras.pop(key, []) if key else []:
                cells.append(nbformat.v4.new_code_cell(extra))
    out.cells = cells
    for cell in out.cells:
        cell.pop("id", None)
    out.nbformat_minor = 4  # ids are dropped: the assembled notebook is never saved as the student's
    return out, answers


def grade_notebook(submission_path: Path, source_path: Path, release_path: Path, cell_timeout: float) -> dict:
    source_nb = nbs.read(source_path)
    release_nb = nbs.read(release_path)
    try:
        submission = nbformat.read(submission_path, as_version=4)
    except NotJSONError:
        return _result("unreadable", "not valid JSON: the file is damaged or was not saved by Jupyter", source_nb)
    except Exception as exc:  # any other reason the file is not a notebook
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        return _result("unreadable", f"not a valid notebook ({type(exc).__name__}: {first_line})", source_nb)
    wanted = nbs.answer_ids(source_nb)
    if not any(nbs.is_answer(c) and nbs.grade_id(c) in wanted for c in submission.cells):
        return _result(
            "wrong-notebook",
            "none of this chapter's answer cells (" + ", ".join(wanted) + ") is in this notebook",
            source_nb,
        )
    nb, _ = assemble(source_nb, release_nb, submission)
    with tempfile.TemporaryDirectory(prefix="grade-") as work:
        stopped = execute(nb, Path(work), {"NBGRADER_EXECUTION": "autograde"}, cell_timeout)
    outcomes = {}
    for cell in nb.cells:
        if not nbs.is_test(cell):
            continue
        err = error_of(cell)
        if not ran(cell):
            outcomes[nbs.grade_id(cell)] = {"passed": False, "message": "not run: " + (stopped or "execution stopped")}
        elif err:
            message = f"{err['ename']}: {err['evalue']}".strip(": ")
            outcome = {"passed": False, "message": message}
            if not nbs.is_hidden(cell):
                outcome["traceback"] = err["traceback"]
            outcomes[nbs.grade_id(cell)] = outcome
        else:
            outcomes[nbs.grade_id(cell)] = {"passed": True, "message": ""}
    if stopped:
        return _result("crashed", stopped, source_nb, outcomes)
    return _result("ok", "", source_nb, outcomes)


def main(argv: list[str] | None = None) -> int:
    job_path, result_path = (argv or sys.argv[1:])[:2]
    job = json.loads(Path(job_path).read_text())
    result = grade_notebook(
        Path(job["submission"]), Path(job["source"]), Path(job["release"]), float(job["cell_timeout"])
    )
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
