"""Grade a folder of submissions: find them, grade each in its own process, report.

Layout: ``SUBMISSIONS/<student_id>/<slug>/<slug>.ipynb`` (nbgrader's). Every
student folder gets one row per chapter graded, whether or not it holds the
notebook, so a gradebook never silently loses a student.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograder import notebooks as nbs
from autograder import report


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


def _kill_tree(pid: int) -> None:
    """Kill a process and everything it started (a kernel runs in its own session)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(children.get(p, []))
    for p in seen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def run_job(job: Job, root: Path, cell_timeout: float, notebook_timeout: float) -> dict:
    """Grade one notebook in a separate worker process, within a time limit."""
    if not job.notebook.is_file():
        return report.missing_result(job, root, f"no {job.chapter}/{job.chapter}.ipynb in the student's folder")
    with tempfile.TemporaryDirectory(prefix="job-") as tmp:
        job_file, result_file = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_file.write_text(
            json.dumps(
                {
                    "submission": str(job.notebook.resolve()),
                    "source": str(nbs.source_path(job.chapter, root)),
                    "release": str(nbs.release_path(job.chapter, root)),
                    "cell_timeout": cell_timeout,
                }
            )
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker", str(job_file), str(result_file)],
            cwd=tmp,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            _, err = proc.communicate(timeout=notebook_timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc.pid)
            proc.communicate()
            return report.failed_result(job, root, "timeout", f"grading took longer than {notebook_timeout:.0f} s")
        finally:
            _kill_tree(proc.pid)
        if proc.returncode != 0 or not result_file.exists():
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            return report.failed_result(job, root, "error", f"the grader failed on this notebook: {tail[0][:200]}")
        return json.loads(result_file.read_text())


def grade(
    submissions: Path,
    out: Path,
    chapters: list[str] | None = None,
    jobs: int = 1,
    cell_timeout: float = 60,
    notebook_timeout: float = 600,
    root: Path = nbs.ROOT,
    progress=sys.stderr,
) -> list[dict]:
    """Grade every (student, chapter) pair and write the reports; return the rows."""
    students, chapters = plan(submissions, chapters, root)
    work = [Job(s, c, submissions / s / c / f"{c}.ipynb") for s in students for c in chapters]
    rows: list[dict] = []
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_job, j, root, cell_timeout, notebook_timeout) for j in work]
        for done, (job, future) in enumerate(zip(work, futures, strict=True), 1):
            row = {"student_id": job.student, "chapter": job.chapter, **future.result()}
            rows.append(row)
            report.progress(progress, done, len(work), row, time.monotonic() - start)
    report.write_all(rows, out)
    return rows
