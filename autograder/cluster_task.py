"""What runs on a Dask worker: one notebook per task, graded by :func:`autograder.worker.grade_job`.

A worker node holds a checkout of this repository (the same commit as the
machine that runs ``grade``: :func:`fingerprint` checks it per task) and
imports this module from it; the submission's bytes come with each task.
:class:`WarmRunner` keeps one :class:`autograder.sandbox.Zygote` per worker
process, started when ``grade`` registers the plugin and closed when it is
removed or the worker stops, so a task forks its runner instead of starting
Python. The task writes the bytes to a private temporary folder, grades them
exactly as on one machine (the same sandbox, limits and integrity checks) and
returns the result as data; it writes nothing else, and :mod:`autograder.cluster`
checks the result before it becomes a row.

Imports Dask: only workers and ``grade --scheduler`` load this module.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from distributed import WorkerPlugin, get_worker

from autograder import notebooks as nbs
from autograder import sandbox, worker


class CourseMismatch(RuntimeError):
    """This worker's copy of the grader or the course is not the one ``grade`` runs with."""


def fingerprint(chapter: str, root: Path = nbs.ROOT) -> str:
    """A digest of the grader's code and the chapter's source and release notebooks, as this node has them."""
    notebooks = [nbs.source_path(chapter, root), nbs.release_path(chapter, root)]
    files = [*sorted((root / "autograder").glob("*.py")), *notebooks]
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class WarmRunner(WorkerPlugin):
    """One warm zygote per Dask worker process, for the length of one ``grade`` run."""

    def setup(self, worker) -> None:
        self.unavailable = sandbox.available()  # None when this node can create the sandbox's namespaces
        self.fingerprints: dict[str, str] = {}  # chapter -> fingerprint, computed once per run
        self.zygote = sandbox.Zygote()

    def teardown(self, worker) -> None:
        self.zygote.close()


def _cold() -> WarmRunner:
    """A runner set without a zygote: each notebook then starts its own Python, as `python -m autograder.worker`."""
    runner = WarmRunner()
    runner.unavailable, runner.fingerprints, runner.zygote = sandbox.available(), {}, None
    return runner


def grade(plugin: str, chapter: str, raw: bytes, settings: dict, expected: str) -> dict:
    """Grade one submission's bytes on this worker; the result dict of :func:`autograder.worker.grade_job`.

    ``plugin`` names this run's :class:`WarmRunner`; ``settings`` are the job's limits and
    ``hide``; ``expected`` is the :func:`fingerprint` on the grading machine.
    """
    warm = get_worker().plugins.get(plugin) or _cold()  # registered with this run, unless the scheduler restarted
    if chapter not in warm.fingerprints:
        warm.fingerprints[chapter] = fingerprint(chapter)
    here = warm.fingerprints[chapter]
    if here != expected:
        raise CourseMismatch(
            f"the worker at {get_worker().address} has another version of the grader or of {chapter} "
            f"than the machine running grade ({here[:12]} != {expected[:12]}): check out the same commit there"
        )
    if settings.get("sandbox", True) and warm.unavailable:
        raise sandbox.SandboxUnavailable(
            f"the worker at {get_worker().address} cannot isolate student code: {warm.unavailable}"
        )
    with tempfile.TemporaryDirectory(prefix="autograder-task-") as tmp:
        path = Path(tmp) / chapter / f"{chapter}.ipynb"
        path.parent.mkdir()
        path.write_bytes(raw)
        job = {
            **settings,
            "submission": str(path),
            "source": str(nbs.source_path(chapter)),
            "release": str(nbs.release_path(chapter)),
            "base": tmp,
            "hide": [*settings.get("hide", []), tmp, str(nbs.ROOT)],
        }
        return worker.grade_job(job, warm.zygote)
