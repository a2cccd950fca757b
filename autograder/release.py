"""Generate the student release ``chapters/<slug>/`` from ``solutions/<slug>/``.

The release is the source with the reference solutions replaced by stubs, the
hidden tests and instructor-only cells removed, outputs and stray metadata
cleared, and nbgrader's cell locks and checksums added. Before stripping, the
whole source notebook is run once: a reference that fails one of its own tests
stops the release, and the notebook's instructor-only cell saves the reference
behaviour the demos show while students' functions are still stubs. Those
reference data travel inside the release notebook, in its metadata
(``metadata.course.reference``, compact JSON text), so a notebook downloaded
alone shows every demo's reference view: ``chapters/<slug>/`` holds the
notebook and nothing else.

The release notebook is byte-for-byte deterministic. The reference data are
numbers computed by numpy, and their last bits depend on the machine (the BLAS
kernel, the CPU's vector instructions): the release therefore keeps the
committed reference data whenever the fresh numbers agree with it to within
a tolerance that such last-bit differences cannot reach (``RTOL``, ``ATOL``),
and otherwise writes the new data and says which numbers moved and by how much.
A demo whose numbers move by more than that from one machine to the next is
numerically unstable (chaotic, or hinging on the last bit) and must be fixed in
its source notebook; the release test checks this by perturbing every demo's
inputs by one unit in the last place.
"""

from __future__ import annotations

import copy
import json
import math
import posixpath
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

from autograder import misconceptions
from autograder import notebooks as nbs
from autograder.execution import error_of, execute

REFERENCE_FILE = "reference.json"
"""Where the export cell writes the reference data (a temporary folder), and where releases
before the data moved into the notebook put them beside it (a release removes that file)."""
METADATA_KEY = "course"
"""The release notebook's metadata entry: {"chapter": slug, "reference": reference data as JSON text}."""
# "mystnb" carries a figure's alt text and caption (`mystnb: {image: {alt}, figure: {caption}}`): the book
# renders the release, and a downloaded notebook keeps them for whoever reads its source.
KEPT_CELL_METADATA = ("nbgrader", "tags", "editable", "deletable", "mystnb")
LEAKS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

CONFIG = "_config.yml"
"""The book's configuration: its ``html.baseurl`` is the book's public address, set once there."""
LINK = re.compile(r"(\]\()([^)\s]+)(\))")
"""A Markdown link's target, ``[text](target)``."""
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

EXPORT_TIMEOUT = 900
"""Seconds a cell may run in the release: an export cell computes every demo's data, which on a
loaded two-core machine takes minutes rather than the seconds a grading cell is allowed."""
DIGITS = 6
"""Significant digits a number keeps in the reference data: rounding moves it by at most 5e-6 of itself."""
RTOL = 1e-5
"""Relative tolerance between fresh and committed reference data. Rounding to DIGITS takes up to 5e-6.
Measured on the five chapters: another BLAS kernel or thread count moves a number by at most 3e-10,
and one-ulp noise on every demo's inputs by at most 1e-6 (chapter 1 rounds to 7 digits itself);
a chaotic demo moves its numbers by 1e-2 to 1."""
ATOL = 1e-12
"""Absolute tolerance, for numbers that cancel to about zero (their relative error is meaningless)."""


class ReleaseError(RuntimeError):
    pass


def run_reference(source_nb, cwd: Path, env: dict[str, str] | None = None) -> dict | None:
    """Run the source notebook; return the demo reference data it exported.

    ``env`` adds environment variables for the kernel (the release test uses it).
    """
    nb = copy.deepcopy(source_nb)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / REFERENCE_FILE
        env = {**(env or {}), "NBGRADER_EXECUTION": "release", "COURSE_REFERENCE_OUT": str(out)}
        stopped = execute(nb, cwd, env, cell_timeout=EXPORT_TIMEOUT)
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


def _normalise(value, digits: int | None = DIGITS):
    """JSON-ready data: floats to ``digits`` significant digits (all when None), NaN and infinities to None."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}") if digits else value
    if isinstance(value, dict):
        return {str(k): _normalise(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v, digits) for v in value]
    return value


def dumps_reference(data: dict) -> str:
    return json.dumps(_normalise(data), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b)) + ATOL


def reference_differences(committed, fresh, where: str = "") -> list[tuple[str, object, object]]:
    """Where ``fresh`` reference data differ from ``committed`` by more than last-bit noise explains.

    Both are JSON-like data; ``fresh`` may be unrounded and hold NaN or infinities (compared as
    null, as they are stored). The structure must match exactly: the same keys, list lengths, and
    types (null, bool, int, float, str); ints, bools and strings must be equal, floats close
    (``RTOL``, ``ATOL``). Returns (path, committed value, fresh value) for every difference,
    a path like ``training/plain/5/losses/13``; an empty list when they agree.
    """
    fresh = _normalise(fresh, digits=None)
    return _differences(committed, fresh, where)


def _differences(a, b, where: str) -> list[tuple[str, object, object]]:
    kind = (type(a), type(b))
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [(where or "/", sorted(a), sorted(b))]
        return [d for k in sorted(a) for d in _differences(a[k], b[k], f"{where}/{k}" if where else k)]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [(where or "/", f"{len(a)} entries", f"{len(b)} entries")]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{where}/{i}")]
    if kind == (float, float):
        return [] if _close(a, b) else [(where, a, b)]
    if kind[0] is kind[1] and a == b:
        return []
    return [(where, a, b)]


def describe_differences(differences: list[tuple[str, object, object]], limit: int = 10) -> str:
    """Lines `path: committed -> fresh (relative change)`, the largest changes first, at most ``limit``."""

    def size(d):
        _, a, b = d
        if isinstance(a, float) and isinstance(b, float):
            return abs(a - b) / max(abs(a), abs(b))
        return math.inf

    ranked = sorted(differences, key=size, reverse=True)
    lines = []
    for path, a, b in ranked[:limit]:
        change = f" (relative change {size((path, a, b)):.1e})" if math.isfinite(size((path, a, b))) else ""
        lines.append(f"  {path}: {a!r} -> {b!r}{change}")
    if len(ranked) > limit:
        lines.append(f"  ... and {len(ranked) - limit} more")
    return "\n".join(lines)


def reference_text(committed: str | None, fresh: dict) -> tuple[str, list]:
    """The reference data to release: the committed text when ``fresh`` agrees with it, else new text.

    Returns (text, differences); differences is empty when the committed text is kept.
    """
    if committed is not None:
        try:
            differences = reference_differences(json.loads(committed), fresh)
        except json.JSONDecodeError:
            differences = [("/", "unreadable JSON", "new data")]
        if not differences:
            return committed, []
        return dumps_reference(fresh), differences
    return dumps_reference(fresh), []


def student_version(source_nb, slug: str | None = None, reference: str | None = None, base: str | None = None):
    """The release notebook: the pure, deterministic part of the release.

    With ``reference`` (the reference data as JSON text), the notebook carries it in its metadata
    under ``METADATA_KEY``, with the chapter's ``slug``: the demos read it from the notebook's file.
    Relative links in Markdown cells become addresses under ``base`` (default: :func:`book_url`),
    so that they work in a notebook downloaded alone.
    """
    base = base or book_url()
    nb = copy.deepcopy(source_nb)
    nb.cells = [c for c in nb.cells if nbs.INSTRUCTOR_TAG not in nbs.tags(c)]
    resources: dict = {}
    for pre in (ClearSolutions(), ClearHiddenTests(), ClearOutput(), LockCells(), ComputeChecksums()):
        nb, resources = pre.preprocess(nb, resources)
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
        if cell.cell_type == "markdown" and slug:
            cell.source = absolute_links(cell.source, slug, base)
        for marker in LEAKS:
            if marker in cell.source:
                raise ReleaseError(f"cell {cell.get('id')} still contains '{marker}' after stripping")
    kernelspec = nb.metadata.get("kernelspec") or {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata = {"kernelspec": dict(kernelspec), "language_info": {"name": "python"}}
    if reference is not None:
        nb.metadata[METADATA_KEY] = {"chapter": slug, "reference": reference}
    return nb


def book_url(root: Path = nbs.ROOT) -> str:
    """The book's public address, ``html.baseurl`` in ``_config.yml``, ending in one slash."""
    config = yaml.safe_load((root / CONFIG).read_text(encoding="utf-8")) or {}
    url = str((config.get("html") or {}).get("baseurl") or "")
    if not url.startswith(("https://", "http://")):
        raise ReleaseError(f"{CONFIG} sets no html.baseurl (the book's public address): got {url!r}")
    return url.rstrip("/") + "/"


def absolute_link(target: str, slug: str, base: str) -> str:
    """A link of a release notebook as it works in a notebook downloaded alone.

    An address with a scheme (``https:``, ``mailto:``) or an anchor on the same page stays;
    a relative one, resolved from ``chapters/<slug>/``, becomes the page's address in the
    published book (``.md`` and ``.ipynb`` pages are served as ``.html``).
    """
    if SCHEME.match(target) or target.startswith("#"):
        return target
    path, hash_, anchor = target.partition("#")
    resolved = posixpath.normpath(posixpath.join("chapters", slug, path))
    if resolved.startswith("..") or resolved.startswith("/"):
        raise ReleaseError(f"chapters/{slug}: the link {target!r} leaves the book")
    stem, ext = posixpath.splitext(resolved)
    if ext in (".md", ".ipynb"):
        resolved = stem + ".html"
    return base + resolved + hash_ + anchor


def absolute_links(text: str, slug: str, base: str) -> str:
    """``text`` (Markdown) with every relative link made absolute (:func:`absolute_link`)."""
    return LINK.sub(lambda m: m.group(1) + absolute_link(m.group(2), slug, base) + m.group(3), text)


def released_reference(path: Path) -> str | None:
    """The reference data (JSON text) a release notebook carries, or None (no notebook, no data, unreadable)."""
    try:
        course = nbs.read(path).metadata.get(METADATA_KEY) or {}
    except (OSError, ValueError):  # missing, or not a notebook (nbformat's NotJSONError is a ValueError)
        return None
    return course.get("reference")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def release(
    slug: str, root: Path = nbs.ROOT, out_root: Path | None = None, say: Callable[[str], None] = _stderr
) -> list[Path]:
    """Write ``chapters/<slug>/<slug>.ipynb`` (under ``out_root`` when given); return the files written.

    Then the chapter's misconception catalogue, ``solutions/<slug>/misconceptions.json``, unless the
    one there is up to date (:func:`autograder.misconceptions.write`): ``grade`` reads it.

    The reference data are compared with those the committed ``root/chapters/<slug>/<slug>.ipynb``
    carries: within the tolerance their text is kept; otherwise the new data are written and
    ``say`` reports which numbers moved.
    """
    src = nbs.source_path(slug, root)
    if not src.is_file():
        raise ReleaseError(f"no source notebook at {src}")
    source_nb = nbs.read(src)
    reference = run_reference(source_nb, src.parent)
    text = None
    if reference is not None:
        text, differences = reference_text(released_reference(nbs.release_path(slug, root)), reference)
        if differences:
            say(
                f"chapters/{slug}/{slug}.ipynb: {len(differences)} reference value(s) moved beyond the tolerance "
                f"(relative {RTOL:g}, absolute {ATOL:g}) and were rewritten:\n{describe_differences(differences)}\n"
                f"If solutions/{slug} did not change, these numbers depend on the machine: a demo is numerically "
                "unstable and must be made stable there (tests/test_release.py says which)."
            )
    out_dir = (out_root or root) / "chapters" / slug
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / REFERENCE_FILE).unlink(missing_ok=True)  # left by a release from before the data moved inside
    out = out_dir / f"{slug}.ipynb"
    out.write_text(
        nbs.dumps(student_version(source_nb, slug, text, book_url(root) if (root / CONFIG).is_file() else None)),
        encoding="utf-8",
    )
    try:
        catalogue = misconceptions.write(slug, root, out_root)
    except misconceptions.CatalogueError as exc:
        raise ReleaseError(str(exc)) from None
    return [out] + ([catalogue] if catalogue else [])


def strip_outputs(path: Path) -> None:
    """Clear outputs and execution counts of a source notebook in place."""
    nb = nbs.read(path)
    nb, _ = ClearOutput().preprocess(nb, {})
    for cell in nb.cells:
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    nbs.write(nb, path)
