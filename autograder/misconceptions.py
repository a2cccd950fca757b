"""Which classic slip a failed test stands for: the names the course keeps in ``solutions/<slug>/mistakes.py``.

A test's failure message names the misconception on its first line; the numbers in it differ from
student to student (the values their function returned). :func:`autograder.messages.misconception`
turns a message into the line every student who makes that mistake shares. :func:`catalogue` runs
each mistake of a chapter against the chapter's tests (trusted code: the course's own reference
solutions and mistakes, never a student's) and records which misconception line each mistake
produces in each test it fails, so that ``summary.html`` can name a group of failures "lecun_fan_out"
and an instructor can see how many students made it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from autograder import notebooks as nbs

TIMEOUT = 300
"""Seconds one chapter's catalogue may take (every mistake against the tests of its function)."""

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


def catalogue(slug: str, root: Path = nbs.ROOT) -> dict[tuple[str, str], list[str]]:
    """(test, misconception line) -> the names of the chapter's mistakes that fail that test with that line.

    Empty when the chapter keeps no mistakes or its catalogue cannot be computed (the summary then
    groups failures by their line alone).
    """
    if not (root / "solutions" / slug / "mistakes.py").is_file():
        return {}
    try:
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, slug, str(root)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        found = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else []
    except (subprocess.TimeoutExpired, ValueError, IndexError):
        return {}
    names: dict[tuple[str, str], list[str]] = {}
    for test, line, name in found:
        names.setdefault((test, line), []).append(name)
    return names


def catalogues(chapters, root: Path = nbs.ROOT) -> dict[str, dict[tuple[str, str], list[str]]]:
    """:func:`catalogue` of each chapter."""
    return {slug: catalogue(slug, root) for slug in chapters}
