"""What runs on a Dask worker: one notebook per task, graded by :func:`autograder.worker.grade_job`.

A worker node holds a checkout of this repository (the same commit as the
machine that runs ``grade``: :func:`fingerprint` checks it per task), installed
into the Python that runs ``dask worker`` (``pip install -e .``) or on its
``PYTHONPATH``, and imports this module from it; it grades with the chapters of
that checkout (:data:`ROOT`), whatever folder the worker started in. The
submission's bytes come with each task.
:class:`WarmRunner` keeps one :class:`autograder.sandbox.Zygote` per worker
process, started when ``grade`` registers the plugin and closed when it is
removed or the worker stops, so a task forks its runner instead of starting
Python. The task writes the bytes to a private temporary folder, grades them
exactly as on one machine (the same sandbox, limits and integrity checks) and
returns the result as data; it writes nothing else, and :mod:`autograder.cluster`
checks the result before it becomes a row.

The Dask scheduler imports this module too (it unpickles the tasks and the
plugin), so at import it loads nothing but Dask: the grader's modules (nbformat
and its schema checks take seconds to import) load inside the functions, on the
workers.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from pathlib import Path

from distributed import WorkerPlugin, get_worker

ROOT = Path(__file__).resolve().parent.parent
"""The checkout this module was imported from: the course a worker grades with."""


class CourseMismatch(RuntimeError):
    """This worker's copy of the grader or the course is not the one ``grade`` runs with."""


def fingerprint(chapter: str, root: Path = ROOT) -> str:
    """A digest of the grader's code and the chapter's source and release notebooks, as this node has them."""
    from autograder import notebooks as nbs

    notebooks = [nbs.source_path(chapter, root), nbs.release_path(chapter, root)]
    digest = hashlib.sha256()
    for path in [*sorted((root / "autograder").glob("*.py")), *notebooks]:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def missing_course() -> str | None:
    """Why this node has the grader but not the course beside it (a wheel, not a checkout), or None."""
    if (ROOT / "solutions").is_dir() and (ROOT / "chapters").is_dir():
        return None
    return f"the grader is imported from {ROOT / 'autograder'}, with no solutions/ and chapters/ beside it"


class WarmRunner(WorkerPlugin):
    """One warm zygote per Dask worker process, for the length of one ``grade`` run."""

    zygote = None
    unavailable: str | None = None  # why this node cannot create the sandbox's namespaces, if it cannot

    async def setup(self, worker) -> None:
        # Off the worker's event loop: importing the grader and trying `unshare` take seconds on a busy node.
        await asyncio.get_running_loop().run_in_executor(None, self.start)

    def start(self) -> None:
        from autograder import sandbox

        self.fingerprints: dict[str, str] = {}  # chapter -> fingerprint, computed once per run
        self.unavailable = sandbox.available()
        self.zygote = sandbox.Zygote()

    def teardown(self, worker) -> None:
        if self.zygote is not None:
            self.zygote.close()


def grade(plugin: str, chapter: str, raw: bytes, settings: dict, expected: str) -> dict:
    """Grade one submission's bytes on this worker; the result dict of :func:`autograder.worker.grade_job`.

    ``plugin`` names this run's :class:`WarmRunner`; ``settings`` are the job's limits and
    ``hide``; ``expected`` is the :func:`fingerprint` on the grading machine.
    """
    from autograder import notebooks as nbs
    from autograder import sandbox, worker

    warm = get_worker().plugins.get(plugin)
    if warm is None or not hasattr(warm, "fingerprints"):  # the scheduler restarted and forgot the plugin:
        # each notebook then starts its own Python
        warm = WarmRunner()
        warm.fingerprints, warm.unavailable = {}, sandbox.available()
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
            "source": str(nbs.source_path(chapter, ROOT)),
            "release": str(nbs.release_path(chapter, ROOT)),
            "base": tmp,
            "hide": [*settings.get("hide", []), tmp, str(ROOT)],
        }
        return worker.grade_job(job, warm.zygote)
