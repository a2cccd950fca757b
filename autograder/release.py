"""Generate the student release ``chapters/<slug>/`` from ``solutions/<slug>/``.

The release is the source with the reference solutions replaced by stubs, the
hidden tests and instructor-only cells removed, outputs and stray metadata
cleared, and nbgrader's cell locks and checksums added. Before stripping, the
whole source notebook is run once: a reference that fails one of its own tests
stops the release, and the notebook's instructor-only cell saves the reference
behaviour the demos show while students' functions are still stubs
(``reference.json``). The output is byte-for-byte deterministic.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

from autograder import notebooks as nbs
from autograder.execution import error_of, execute

REFERENCE_FILE = "reference.json"
KEPT_CELL_METADATA = ("nbgrader", "tags", "editable", "deletable")
LEAKS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


class ReleaseError(RuntimeError):
    pass


def run_reference(source_nb, cwd: Path) -> dict | None:
    """Run the source notebook; return the demo reference data it exported."""
    nb = copy.deepcopy(source_nb)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / REFERENCE_FILE
        env = {"NBGRADER_EXECUTION": "release", "COURSE_REFERENCE_OUT": str(out)}
        stopped = execute(nb, cwd, env)
        if stopped:
            raise ReleaseError(f"the source notebook did not run to the end: {stopped}")
        for cell in nb.cells:
            err = error_of(cell)
            if err:
                where = nbs.grade_id(cell) or f"cell {cell.get('id')}"
                raise ReleaseError(
                    f"{where} raised {err['ename']}: {err['evalue']}\n"
                    "The reference solution must pass its own tests and every cell must run."
                )
        if not out.exists():
            return None
        return json.loads(out.read_text())


def _normalise(value):
    """Floats to 6 significant digits, NaN and infinities to null, keys sorted later."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    return value


def dumps_reference(data: dict) -> str:
    return json.dumps(_normalise(data), sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def student_version(source_nb):
    """The release notebook: the pure, deterministic part of the release."""
    nb = copy.deepcopy(source_nb)
    nb.cells = [c for c in nb.cells if nbs.INSTRUCTOR_TAG not in nbs.tags(c)]
    resources: dict = {}
    for pre in (ClearSolutions(), ClearHiddenTests(), ClearOutput(), LockCells(), ComputeChecksums()):
        nb, resources = pre.preprocess(nb, resources)
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
        for marker in LEAKS:
            if marker in cell.source:
                raise ReleaseError(f"cell {cell.get('id')} still contains '{marker}' after stripping")
    kernelspec = nb.metadata.get("kernelspec") or {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata = {"kernelspec": dict(kernelspec), "language_info": {"name": "python"}}
    return nb


def release(slug: str, root: Path = nbs.ROOT, out_root: Path | None = None) -> list[Path]:
    """Write ``chapters/<slug>/`` (under ``out_root`` when given); return the files written."""
    src = nbs.source_path(slug, root)
    if not src.is_file():
        raise ReleaseError(f"no source notebook at {src}")
    source_nb = nbs.read(src)
    reference = run_reference(source_nb, src.parent)
    out_dir = (out_root or root) / "chapters" / slug
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / f"{slug}.ipynb"]
    written[0].write_text(nbs.dumps(student_version(source_nb)), encoding="utf-8")
    ref_path = out_dir / REFERENCE_FILE
    if reference is not None:
        ref_path.write_text(dumps_reference(reference), encoding="utf-8")
        written.append(ref_path)
    elif ref_path.exists():
        ref_path.unlink()
    return written


def strip_outputs(path: Path) -> None:
    """Clear outputs and execution counts of a source notebook in place."""
    nb = nbs.read(path)
    nb, _ = ClearOutput().preprocess(nb, {})
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    nbs.write(nb, path)
