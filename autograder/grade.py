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

import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograder import cache, lms, misconceptions, report, worker
from autograder import notebooks as nbs
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


def _files_in(folder: Path, limit: int = 5) -> list[str]:
    """Up to ``limit`` visible files under ``folder`` (relative paths): what a near miss did hand in."""
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            found.append(rel.as_posix())
            if len(found) == limit:
                break
    return found


def _check_something_graded(work: list[Job], submissions: Path) -> None:
    """nbgrader's layout where no notebook sits where it should but files do: a near miss, not a class of `missing`."""
    if any(os.path.lexists(job.notebook) for job in work):
        return
    found = _files_in(submissions)
    if found:
        chapters = ", ".join(dict.fromkeys(job.chapter for job in work))
        raise LayoutError(
            f"no notebook of {chapters} is where nbgrader's layout puts it, but {submissions} holds files "
            f"({', '.join(found)}): nothing was graded (every student would be `missing`). "
            + lms.expected_layouts(str(submissions))
        )


def _folders_to_hide(submissions: Path, roster: Path | None) -> list[str]:
    """The folders of the class's files that student code must not see (the sandbox hides folders, not files).

    A download zip or a roster is hidden with the folder it sits in, unless that folder holds the
    Python that runs the grader (``/``, say), which the sandbox needs.
    """
    python = Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()
    folders = [submissions.resolve()] if submissions.is_dir() else []
    for path in [submissions, roster]:
        if path is not None and not path.is_dir():
            parent = path.resolve().parent
            if not any(parent == p or parent in p.parents for p in python):
                folders.append(parent)
    return [str(f) for f in folders] or [str(submissions.resolve())]


def _run(
    work: list[Job],
    root: Path,
    base: Path,
    out: Path,
    options: dict,
    jobs: int,
    progress,
    hide: tuple[str, ...],
    scheduler: str | None,
) -> list[dict]:
    """Grade every job (a notebook graded before with the same inputs is taken from the cache)."""
    limits = {k: options[k] for k in ("cell_timeout", "notebook_timeout", "memory_mb", "sandbox")}
    kept = cache.Cache(out, root, limits)
    results: dict[int, dict] = {}
    keys: dict[int, str] = {}
    start = time.monotonic()

    def finish(index: int, result: dict) -> None:
        job = work[index]
        results[index] = {"student_id": job.student, "chapter": job.chapter, **result}
        report.progress(progress, len(results), len(work), results[index], time.monotonic() - start)

    for index, job in enumerate(work):
        raw = worker.read_bytes(job.notebook, base)
        if isinstance(raw, bytes):
            keys[index] = kept.key(raw, job.chapter)
            hit = kept.get(keys[index])
            if hit is not None:
                finish(index, hit)
    todo = [i for i in range(len(work)) if i not in results]
    if scheduler and todo:
        from autograder import cluster

        settings = {**limits, "hide": list(hide)}
        for index, row in zip(
            todo, cluster.grade(scheduler, [work[i] for i in todo], root, progress, base, settings), strict=True
        ):
            results[index] = row
    elif todo:
        with sandbox_module.Zygote() as zygote, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [
                pool.submit(
                    run_job,
                    work[i],
                    root,
                    options["cell_timeout"],
                    options["notebook_timeout"],
                    options["sandbox"],
                    hide,
                    base,
                    options["memory_mb"],
                    zygote,
                )
                for i in todo
            ]
            for index, future in zip(todo, futures, strict=True):
                finish(index, future.result())
    for index in todo:
        if index in keys:
            result = {k: v for k, v in results[index].items() if k not in ("student_id", "chapter")}
            kept.put(keys[index], result)
    return [results[i] for i in range(len(work))]


def _annotate(rows: list[dict], download, book, root: Path) -> None:
    """Rows from an LMS: the student's name and late flag, and what a `missing` student did hand in."""
    for row in rows:
        info = (download.students if download else {}).get(row["student_id"]) or {}
        row["name"] = (book.name(row["student_id"]) if book else "") or info.get("name", "")
        row["late"] = info.get("late", "")
        why = None
        if book and row["status"] == "missing" and row["student_id"] in book.not_handed_in:
            why = "missing", "nothing handed in: on the roster, not in the download"
        elif download is not None and row["status"] == "missing":
            why = download.why_missing(row["student_id"], row["chapter"])
        if why:
            row.update(report.result(*why, nbs.read(nbs.source_path(row["chapter"], root))))


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
    lms_kind: str | None = None,
    roster: Path | None = None,
    assignment: str | None = None,
) -> list[dict]:
    """Grade every (student, chapter) pair, write the reports into ``out`` and return the rows graded now.

    ``submissions`` is nbgrader's layout, or what an LMS hands over (:mod:`autograder.lms`;
    ``lms_kind`` says which instead of telling it from the names inside). ``roster``: the LMS's
    gradebook export, for ``lms/grades-import.csv`` (:mod:`autograder.lms_export`).
    Results already in ``out`` are kept, except those of the (student, chapter) pairs graded now.

    ``sandbox=False`` runs student code without namespaces (the audit hook, the
    rlimits and the integrity checks still apply) and says so on ``progress``;
    with ``sandbox=True`` a machine that cannot create namespaces raises
    SandboxUnavailable (one line naming the options) rather than grading less
    safely than asked.
    ``scheduler`` (``tcp://host:port``) grades on that Dask cluster instead, where each
    worker sandboxes (:mod:`autograder.cluster`); the rows are checked and written here.
    """
    from autograder import lms_export

    submissions, out = Path(submissions), Path(out)
    try:
        report.merged([], out)  # what out holds already must be this grader's reports, to add to
        kind = lms.layout(submissions, lms_kind, root)
        download = lms.take_in(submissions, kind, chapters, root) if kind != "nbgrader" else None
        if download is None:
            students, chapters = plan(submissions, chapters, root)
            base = submissions.resolve()
        else:
            students, chapters = list(download.students), download.chapters
            base = (out / lms.STAGING).resolve()
        book = lms_export.read_roster(roster, chapters, root, assignment) if roster else None
    except (ValueError, lms.IntakeError, lms_export.RosterError) as exc:
        raise LayoutError(str(exc)) from exc
    if book and download and download.students and not set(download.students) & set(book.students):
        raise LayoutError(
            f"--roster {roster} and {submissions} share no student id (roster: {', '.join(list(book.students)[:3])}; "
            f"download: {', '.join(list(download.students)[:3])}): they are not from the same course and LMS. "
            "Nothing was graded (every student on the roster would get 0)."
        )
    if book and download:
        strangers = sorted(set(download.students) - set(book.students))
        if strangers:
            print(f"not on the roster, graded all the same: {', '.join(strangers)}", file=progress)
    if book:  # roster students with no result, now or from an earlier run into out, score 0 `missing`
        earlier = {str(r["student_id"]) for r in report.merged([], out)[0] if r["chapter"] in chapters}
        students += book.missing_students([*students, *earlier])
    if download is None:
        _check_something_graded(
            [Job(s, c, base / s / c / f"{c}.ipynb") for s in students for c in chapters], submissions
        )
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
    work = [Job(s, c, base / s / c / f"{c}.ipynb") for s in students for c in chapters]
    hide = (str(out.resolve()), *_folders_to_hide(submissions, roster), str(Path(root).resolve()))
    options = {"cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout}
    options |= {"memory_mb": memory_mb, "sandbox": sandbox}
    try:
        if download is not None:
            download.stage(base)
        results = _run(work, root, base, out, options, jobs, progress, hide, scheduler)
    finally:
        if download is not None:
            shutil.rmtree(base, ignore_errors=True)
    rows = [{"student_id": job.student, "chapter": job.chapter, **r} for job, r in zip(work, results, strict=True)]
    if download is not None or book is not None:
        _annotate(rows, download, book, root)
    failing = sorted({r["chapter"] for r in rows if any(not t["passed"] for t in r.get("tests", []))})
    files, all_rows = report.reports(rows, out, misconceptions.catalogues(failing, root))
    if download is not None:
        files[out / "intake.csv"] = lms.intake_csv(download, out)
    if download is not None or book is not None:
        files |= lms_export.exports(out, all_rows, download, book, files)
    report.commit(files)
    return rows
