"""Grade a folder of submissions: find them, grade each in its own process, report.

Layout: ``SUBMISSIONS/<student_id>/<slug>/<slug>.ipynb`` (nbgrader's). Every
student folder gets one row per chapter graded, whether or not it holds the
notebook, so a gradebook never silently loses a student.

Each notebook is one independent unit of work (:func:`autograder.worker.grade_job`),
graded in a thread of this process with its own sandboxed runner, forked from
one warm :class:`autograder.sandbox.Zygote` before any student code runs;
``--jobs N`` keeps N of them in flight. Nothing is shared between two notebooks
but the instructor's files, read-only.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograder import notebooks as nbs
from autograder import report, worker
from autograder import sandbox as sandbox_module


class LayoutError(Exception):
    """The submissions folder cannot be graded as it is; the message says how to fix it."""


@dataclass(frozen=True)
class Job:
    student: str
    chapter: str
    notebook: Path


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def plan(submissions: Path, chapters: list[str] | None, root: Path = nbs.ROOT) -> tuple[list[str], list[str]]:
    """The students and chapters to grade, or LayoutError with a fix."""
    known = nbs.chapter_slugs(root)
    layout = (
        f"Expected {submissions}/<student_id>/<chapter>/<chapter>.ipynb, "
        f"for example {submissions}/alice/02_momentum/02_momentum.ipynb."
    )
    if not submissions.is_dir():
        raise LayoutError(f"{submissions} is not a folder. {layout}")
    unknown = [c for c in chapters or [] if c not in known]
    if unknown:
        raise LayoutError(f"unknown chapter {', '.join(unknown)}; the chapters are: {', '.join(known)}.")
    students = [d.name for d in _visible_dirs(submissions)]
    if not students:
        loose = sorted(p.name for p in submissions.glob("*.ipynb"))
        hint = f" It holds notebooks directly ({', '.join(loose[:3])}): put each in its student's folder." * bool(loose)
        raise LayoutError(f"{submissions} has no student folders.{hint} {layout}")
    if chapters:
        return students, list(dict.fromkeys(chapters))
    handed_in = {d.name for s in students for d in _visible_dirs(submissions / s)}
    found = [c for c in known if c in handed_in]
    if not found:
        misplaced = sorted({p.stem for s in students for p in (submissions / s).glob("*.ipynb")})
        hint = (
            f" Notebooks sit directly in student folders ({', '.join(misplaced[:3])}): each needs its chapter folder."
            if misplaced
            else ""
        )
        raise LayoutError(
            f"no student folder has a chapter folder ({', '.join(known)}).{hint} {layout} "
            "Or name the chapters with --chapter."
        )
    return students, found


def run_job(
    job: Job,
    root: Path,
    cell_timeout: float,
    notebook_timeout: float,
    isolate: bool = True,
    hide: tuple[str, ...] = (),
    base: Path | None = None,
    memory_mb: int = 2048,
    zygote: sandbox_module.Zygote | None = None,
) -> dict:
    """Grade one notebook (the worker's unit of work), never raising: a grader failure is a row too."""
    spec = {
        "submission": str(job.notebook),
        "source": str(nbs.source_path(job.chapter, root)),
        "release": str(nbs.release_path(job.chapter, root)),
        "base": str(base) if base else "",
        "cell_timeout": cell_timeout,
        "notebook_timeout": notebook_timeout,
        "sandbox": isolate,
        "hide": list(hide),
        "memory_mb": memory_mb,
    }
    try:
        return worker.grade_job(spec, zygote)
    except Exception as exc:  # a bug or a machine problem: this row says so, the others are still graded
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return report.failed_result(
            job, root, "error", f"the grader failed on this notebook: {type(exc).__name__}: {first}"
        )


def grade(
    submissions: Path,
    out: Path,
    chapters: list[str] | None = None,
    jobs: int = 1,
    cell_timeout: float = 60,
    notebook_timeout: float = 600,
    root: Path = nbs.ROOT,
    progress=sys.stderr,
    sandbox: bool = True,
    memory_mb: int = 2048,
    scheduler: str | None = None,
) -> list[dict]:
    """Grade every (student, chapter) pair and write the reports; return the rows.

    ``sandbox=False`` runs student code without namespaces (the audit hook, the
    rlimits and the integrity checks still apply) and says so on ``progress``;
    with ``sandbox=True`` a machine that cannot create namespaces raises
    SandboxUnavailable (one line naming the options) rather than grading less
    safely than asked.
    ``scheduler`` (``tcp://host:port``) grades on that Dask cluster instead, where each
    worker sandboxes (:mod:`autograder.cluster`); the rows are checked and written here.
    """
    students, chapters = plan(submissions, chapters, root)
    if not sandbox:
        print(
            "sandbox off (--no-sandbox): student code runs without namespaces and can see every file you "
            "can read; grade only trusted notebooks this way",
            file=progress,
        )
    elif not scheduler:  # on a cluster, each worker checks its own sandbox
        why = sandbox_module.available()
        if why:
            raise sandbox_module.SandboxUnavailable(f"cannot isolate student code: {why}.")
    work = [Job(s, c, submissions / s / c / f"{c}.ipynb") for s in students for c in chapters]
    hide = (str(Path(out).resolve()), str(Path(submissions).resolve()), str(Path(root).resolve()))
    if scheduler:
        from autograder import cluster

        limits = {"cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout, "memory_mb": memory_mb}
        settings = {**limits, "sandbox": sandbox, "hide": list(hide)}
        rows = cluster.grade(scheduler, work, root, progress, Path(submissions).resolve(), settings)
        report.write_all(rows, out)
        return rows
    rows: list[dict] = []
    start = time.monotonic()
    with sandbox_module.Zygote() as zygote, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [
            pool.submit(
                run_job,
                j,
                root,
                cell_timeout,
                notebook_timeout,
                sandbox,
                hide,
                Path(submissions).resolve(),
                memory_mb,
                zygote,
            )
            for j in work
        ]
        for done, (job, future) in enumerate(zip(work, futures, strict=True), 1):
            row = {"student_id": job.student, "chapter": job.chapter, **future.result()}
            rows.append(row)
            report.progress(progress, done, len(work), row, time.monotonic() - start)
    report.write_all(rows, out)
    return rows
