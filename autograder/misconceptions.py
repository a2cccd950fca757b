"""Which classic slip a failed test stands for: the names the course keeps in ``solutions/<slug>/mistakes.py``.

A test's failure message names the misconception on its first line; the numbers in it differ from
student to student (the values their function returned). :func:`autograder.messages.misconception`
turns a message into the line every student who makes that mistake shares. :func:`catalogue` runs
each mistake of a chapter against the chapter's tests (trusted code: the course's own reference
solutions and mistakes, never a student's) and records which misconception line each mistake
produces in each test it fails, so that ``summary.html`` can name a group of failures "lecun_fan_out"
and an instructor can see how many students made it.

Running every mistake takes seconds per chapter, so ``python -m autograder release`` does it once
and writes the result beside the mistakes, ``solutions/<slug>/misconceptions.json`` (:func:`write`),
keyed by a hash of what it depends on (:func:`key`). :func:`catalogue` reads that file while its key
matches, and computes afresh only when it does not (the source or its mistakes edited since the
release): ``grade`` then needs no subprocess for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from autograder import messages, report
from autograder import notebooks as nbs

TIMEOUT = 300
"""Seconds one chapter's catalogue may take (every mistake against the tests of its function)."""
FILE = "misconceptions.json"
"""The catalogue the release writes, in ``solutions/<slug>/`` beside the mistakes it names."""

RUNNER = r"""
import json, os, sys
import numpy as np
from autograder import messages, notebooks as nbs
from autograder.sample import mistakes

slug, root = sys.argv[1], sys.argv[2]
os.environ["NBGRADER_EXECUTION"] = "autograde"  # as when grading: no demo runs
source = nbs.read(nbs.source_path(slug, __import__("pathlib").Path(root)))
os.chdir(os.path.join(root, "solutions", slug))
answers = nbs.answer_ids(source)
namespace, tests = {"__name__": "__main__"}, []
with np.errstate(all="ignore"):
    for cell in source.cells:
        if cell.cell_type != "code" or nbs.INSTRUCTOR_TAG in nbs.tags(cell):
            continue
        if nbs.is_test(cell):
            tests.append((nbs.grade_id(cell), cell.source, messages.functions_used(cell.source, answers)))
        else:
            exec(compile(cell.source, "<setup>", "exec"), namespace)
found = []
for name, mistake in mistakes(slug, __import__("pathlib").Path(root)).items():
    wrong = dict(namespace)
    exec(compile(mistake["source"], f"<{name}>", "exec"), wrong)
    for test, code, used in tests:
        if mistake["function"] not in used:
            continue
        try:
            with np.errstate(all="ignore"):
                exec(compile(code, f"<{test}>", "exec"), dict(wrong))
        except Exception as err:
            said = messages.failure(type(err).__name__, str(err))
            found.append([test, messages.misconception(said), name])
print(json.dumps(found))
"""


class CatalogueError(RuntimeError):
    pass


def mistakes_path(slug: str, root: Path = nbs.ROOT) -> Path:
    return root / "solutions" / slug / "mistakes.py"


def path(slug: str, root: Path = nbs.ROOT) -> Path:
    """Where the release keeps the chapter's catalogue: ``solutions/<slug>/misconceptions.json``."""
    return root / "solutions" / slug / FILE


def key(slug: str, root: Path = nbs.ROOT) -> str:
    """A hash of what the catalogue depends on: the source notebook (its tests), the mistakes, the
    grader's messages code (how a failure becomes a line) and the code that runs them (:data:`RUNNER`)."""
    digest = hashlib.sha256()
    for part in (
        nbs.source_path(slug, root).read_bytes(),
        mistakes_path(slug, root).read_bytes(),
        Path(messages.__file__).read_bytes(),
        RUNNER.encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def compute(slug: str, root: Path = nbs.ROOT) -> list[list[str]] | None:
    """[test, misconception line, mistake] for every test each mistake fails, in a fresh Python; None
    when that run fails (times out, crashes, prints no result)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, slug, str(root)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        return json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        return None


def _read(file: Path, wanted: str) -> list[list[str]] | None:
    """The catalogue a file holds when its key is ``wanted``; else None (missing, stale, unreadable)."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        return data["catalogue"] if data["key"] == wanted else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def stored(slug: str, root: Path = nbs.ROOT) -> list[list[str]] | None:
    """The catalogue the release wrote, while its key is that of the chapter as it is now; else None."""
    try:
        return _read(path(slug, root), key(slug, root))
    except OSError:  # no source notebook or mistakes to hash
        return None


def dumps(slug: str, found: list[list[str]], root: Path = nbs.ROOT) -> str:
    return json.dumps({"key": key(slug, root), "catalogue": found}, indent=1, ensure_ascii=False) + "\n"


def write(slug: str, root: Path = nbs.ROOT, out_root: Path | None = None) -> Path | None:
    """Write the chapter's catalogue (under ``out_root`` when given) unless the one there is up to date.

    Returns the file written, or None when nothing was (no mistakes.py, or the file is current).
    The file is written aside and renamed into place. Raises :class:`CatalogueError` when the
    mistakes could not be run.
    """
    if not mistakes_path(slug, root).is_file():
        return None
    target = path(slug, out_root or root)
    if _read(target, key(slug, root)) is not None:
        return None
    found = compute(slug, root)
    if found is None:
        raise CatalogueError(
            f"could not run the mistakes of solutions/{slug}/mistakes.py against the chapter's tests "
            f"(in {TIMEOUT} s): run misconceptions.RUNNER by hand to see why"
        )
    report.write_atomic(target, dumps(slug, found, root))
    return target


def catalogue(slug: str, root: Path = nbs.ROOT) -> dict[tuple[str, str], list[str]]:
    """(test, misconception line) -> the names of the chapter's mistakes that fail that test with that line.

    Read from the file the release wrote while it is up to date, else computed afresh. Empty when
    the chapter keeps no mistakes or its catalogue cannot be computed (the summary then groups
    failures by their line alone).
    """
    if not mistakes_path(slug, root).is_file():
        return {}
    found = stored(slug, root)
    if found is None:
        found = compute(slug, root) or []
    names: dict[tuple[str, str], list[str]] = {}
    for test, line, name in found:
        names.setdefault((test, line), []).append(name)
    return names


def catalogues(chapters, root: Path = nbs.ROOT) -> dict[str, dict[tuple[str, str], list[str]]]:
    """:func:`catalogue` of each chapter."""
    return {slug: catalogue(slug, root) for slug in chapters}
