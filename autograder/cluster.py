"""Grade on a Dask cluster: one task per notebook; results checked and reports written here.

``python -m autograder grade SUBMISSIONS --scheduler tcp://HOST:PORT`` connects to
a running Dask scheduler (``requirements-cluster.txt``, an optional extra). This
process stays the trusted side: it reads each submission as a local run does
(no symbolic link, at most 20 MB: :func:`autograder.worker.read_bytes`) and sends
its bytes with the task; a notebook that cannot be read becomes its row here,
without a task. On the worker, :func:`autograder.cluster_task.grade` grades the
bytes with the worker's own checkout of the course, in the same sandbox, from a
warm runner kept per worker process, and returns the result as data. Here every
result is checked against the course before it becomes a row (:func:`checked`),
and :func:`autograder.report.write_all` writes the reports, so the files are
the same, byte for byte, as a local run's.

Faults: a worker that dies mid-task has its tasks run again on another worker by
the scheduler (up to its ``allowed-failures``, 3 by default); a task cancelled
because this client lost the scheduler for a while is sent again (SUBMISSIONS
times in all). A task past those limits, a task that raised, and every notebook
still waiting once the scheduler has had no worker for
``autograder.no-worker-wait`` seconds (Dask configuration, 300 by default;
environment ``DASK_AUTOGRADER__NO_WORKER_WAIT``) become ``error`` rows that say
why, so every row is written. Grading again once the cluster is healthy gives
the full result.

The scheduler (which unpickles the tasks) and every worker must import this
package from a checkout of the course: :func:`check_nodes` asks them before
any task is sent, and a node that cannot is a :class:`ClusterError` naming it
and saying how to set it up (:data:`SET_UP`), not a row per notebook.
"""

from __future__ import annotations

import contextlib
import pkgutil
import queue
import re
import time
import uuid
from collections import deque
from pathlib import Path

from autograder import notebooks as nbs
from autograder import report, worker

INSTALL = "pip install -r requirements-cluster.txt"
CONNECT_SECONDS = 30
NO_WORKER_WAIT = 300.0  # default of `autograder.no-worker-wait` in Dask's configuration
POLL_SECONDS = 2.0
SUBMISSIONS = 3  # times a notebook is sent again when its task was cancelled by a lost scheduler connection
STATUS = re.compile(r"[a-z][a-z-]{0,31}")
SCORED = ("test", "hidden", "max_points", "points")  # what report.result takes from the course, not the worker


SET_UP = (
    "install the course into the Python that runs `dask {role}` there (`pip install -e .` in a checkout of "
    "the same commit), or start it with that checkout on PYTHONPATH (see README, Grading at scale)"
)
PROBE = "autograder.cluster_task:ROOT"  # imported on each node by the standard library alone: pkgutil.resolve_name


class ClusterError(Exception):
    """The cluster cannot be used at all (no Dask here, no scheduler, a node without the course); says what to do."""


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError(
            f"--scheduler needs Dask's distributed scheduler, an optional extra: run `{INSTALL}` "
            "(here and on every worker node; see README, Grading at scale)"
        ) from exc
    return distributed


def _why(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _named(client, addresses: list[str]) -> str:
    """'the Dask worker w0 (tcp://...)' or 'the Dask workers w0 (...), w1 (...) and 3 more'."""
    info = {}
    for ask in ({"n_workers": -1}, {}):  # all of them; distributed before 2025.4 has no n_workers and lists all
        with contextlib.suppress(Exception):
            info = client.scheduler_info(**ask)["workers"]
            break
    named = {a: str(info.get(a, {}).get("name", a)) for a in addresses}  # a worker started without --name: its address
    names = [a if named[a] == a else f"{named[a]} ({a})" for a in sorted(addresses)]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"the Dask worker{'s' if len(names) > 1 else ''} {shown}"


def check_nodes(client, scheduler: str) -> None:
    """ClusterError unless the scheduler and every worker now connected can import the course.

    Asked with :func:`pkgutil.resolve_name`, which every node can unpickle: a node that cannot
    import this package answers with the ImportError instead of failing to read the question.
    A worker whose grader has no course beside it (a wheel) is refused too.
    """
    try:
        _check_nodes(client, scheduler)
    except (OSError, TimeoutError) as exc:  # the scheduler went away while it was asked
        raise ClusterError(f"lost the Dask scheduler at {scheduler} ({_why(exc)})") from None


def _check_nodes(client, scheduler: str) -> None:
    try:
        client.run_on_scheduler(pkgutil.resolve_name, PROBE)
    except (OSError, TimeoutError):
        raise
    except Exception as exc:  # ImportError, or whatever else importing the grader raised there
        raise ClusterError(
            f"the Dask scheduler at {scheduler} cannot import the course, and it must to read the tasks "
            f"({_why(exc)}): " + SET_UP.format(role="scheduler")
        ) from None
    answers = client.run(pkgutil.resolve_name, PROBE, on_error="return")
    failed = {a: r for a, r in answers.items() if isinstance(r, BaseException)}
    if failed:
        first = failed[min(failed)]
        raise ClusterError(
            f"{_named(client, list(failed))} cannot import the course ({_why(first)}): " + SET_UP.format(role="worker")
        )
    from autograder import cluster_task

    answers = client.run(cluster_task.missing_course, on_error="return")
    failed = {a: r for a, r in answers.items() if r is not None}
    if failed:
        first = failed[min(failed)]
        why = _why(first) if isinstance(first, BaseException) else first
        raise ClusterError(
            f"{_named(client, list(failed))} cannot grade: {why}; install it from a checkout of the same commit "
            "(`pip install -e .`, not a wheel), or start the worker with the checkout on PYTHONPATH "
            "(see README, Grading at scale)"
        )


def checked(result, source_nb) -> dict:
    """A worker's result rebuilt here from the course, or ValueError saying what does not check out.

    The worker reports each test's outcome; the test names, hidden flags, points and scores
    come from the instructor's source on this machine (:func:`autograder.report.result`).
    A result that differs from its rebuilt self (another test list, points a test does not
    have, a score where the status gives none) is refused.
    """
    if not isinstance(result, dict):
        raise ValueError(f"a {type(result).__name__}, not a result")
    status, reason, tests = result.get("status"), result.get("reason"), result.get("tests")
    if not isinstance(status, str) or not STATUS.fullmatch(status) or not isinstance(reason, str):
        raise ValueError("no valid status and reason")
    if not isinstance(tests, list) or not all(isinstance(t, dict) and isinstance(t.get("test"), str) for t in tests):
        raise ValueError("no valid list of tests")
    outcomes = {}
    for test in tests:
        outcome = {key: value for key, value in test.items() if key not in SCORED}
        plain = all(isinstance(key, str) and type(value) in (str, bool) for key, value in outcome.items())
        if not plain or type(outcome.get("passed")) is not bool or type(outcome.get("message")) is not str:
            raise ValueError(f"test {test['test'][:40]!r} has no valid outcome")
        outcomes[test["test"]] = outcome
    rebuilt = report.result(status, reason, source_nb, outcomes)
    if rebuilt != result:
        raise ValueError("its tests, points or score do not match the course")
    return rebuilt


def _threads(client) -> int:
    """Worker threads the scheduler has now (0 when it cannot be asked)."""
    try:
        return sum(client.nthreads().values())
    except Exception:
        return 0


def _result(future, source_nb) -> dict:
    """The row's result from a finished task: checked, or an `error` row that says why."""
    from distributed import KilledWorker

    if future.cancelled():
        reason = "not graded: its task was cancelled, the connection to the Dask scheduler was lost; grade again"
        return report.result("error", reason, source_nb)
    try:
        result = future.result()
    except KilledWorker:
        reason = (
            "not graded: each Dask worker that ran it died (the scheduler's allowed-failures); "
            "see the workers' logs, then grade again"
        )
        return report.result("error", reason, source_nb)
    except Exception as exc:  # as a local run: a grader failure is a row too
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return report.result("error", f"the grader failed on this notebook: {type(exc).__name__}: {first}", source_nb)
    try:
        return checked(result, source_nb)
    except ValueError as exc:
        return report.result("error", f"the Dask worker's result does not check out: {exc}", source_nb)


def grade(scheduler: str, work: list, root: Path, progress, base: Path, settings: dict) -> list[dict]:
    """Grade ``work`` (:class:`autograder.grade.Job` items) on the cluster; one row per job, in order.

    ``settings``: the job keys of :func:`autograder.worker.grade_job` that every task shares
    (limits, ``sandbox``, ``hide``). At most twice as many tasks as the cluster has threads
    are in flight, so the scheduler never holds a whole class's notebooks at once.
    """
    distributed = _distributed()
    import dask

    from autograder import cluster_task

    try:
        client = distributed.Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    chapters = sorted({job.chapter for job in work})
    sources = {c: nbs.read(nbs.source_path(c, root)) for c in chapters}
    expected = {c: cluster_task.fingerprint(c, root) for c in chapters}
    patience = float(dask.config.get("autograder.no-worker-wait", NO_WORKER_WAIT))
    token = uuid.uuid4().hex[:12]
    plugin = f"autograder-warm-runner-{token}"
    rows: dict[int, dict] = {}
    start = time.monotonic()

    def finish(index: int, result: dict) -> None:
        job = work[index]
        rows[index] = {"student_id": job.student, "chapter": job.chapter, **result}
        report.progress(progress, len(rows), len(work), rows[index], time.monotonic() - start)

    def no_worker(index: int) -> dict:
        reason = (
            f"not graded: the Dask scheduler at {scheduler} had no worker for {patience:g} s "
            "(a worker that cannot import the course stops as it starts: see its log); "
            "grade again once the cluster has workers"
        )
        return report.result("error", reason, sources[work[index].chapter])

    with client:
        check_nodes(client, scheduler)
        try:
            client.register_plugin(cluster_task.WarmRunner(), name=plugin)
        except Exception as exc:  # a worker that joined since check_nodes, or a warm runner that cannot start
            check_nodes(client, scheduler)
            raise ClusterError(
                f"the Dask workers cannot start the grader ({_why(exc)}): see their logs (README, Grading at scale)"
            ) from None
        try:
            waiting, running, finished = deque(range(len(work))), {}, queue.SimpleQueue()
            tries = [0] * len(work)
            idle_since = None
            while waiting or running:
                threads = _threads(client)
                while waiting and len(running) < max(4, 2 * threads):
                    index = waiting.popleft()
                    job = work[index]
                    raw = worker.read_bytes(job.notebook, base)
                    if isinstance(raw, tuple):  # missing, a symbolic link, too large: no task needed
                        finish(index, report.result(*raw, sources[job.chapter]))
                        continue
                    tries[index] += 1
                    key = f"grade-{job.student}/{job.chapter}-{token}-{tries[index]}"
                    args = (plugin, job.chapter, raw, settings, expected[job.chapter])
                    try:
                        future = client.submit(cluster_task.grade, *args, key=key)
                    except Exception as exc:  # the client gave up on the scheduler
                        reason = f"not graded: the connection to the Dask scheduler at {scheduler} was lost ({exc})"
                        finish(index, report.result("error", reason, sources[job.chapter]))
                        continue
                    running[future] = index
                    future.add_done_callback(finished.put)
                if not running:
                    continue
                with contextlib.suppress(queue.Empty):
                    done = [finished.get(timeout=POLL_SECONDS)]
                    while not finished.empty():
                        done.append(finished.get())
                    for future in done:
                        index = running.pop(future, None)
                        if index is None:  # already written as not graded
                            continue
                        if future.cancelled() and tries[index] < SUBMISSIONS:  # the scheduler was out of reach
                            waiting.appendleft(index)
                            continue
                        finish(index, _result(future, sources[work[index].chapter]))
                idle_since = None if threads else idle_since or time.monotonic()
                if idle_since and time.monotonic() - idle_since > patience:
                    for future, index in [*running.items(), *((None, i) for i in waiting)]:
                        if future is not None:
                            future.cancel()
                        finish(index, no_worker(index))
                    running.clear()
                    waiting.clear()
        finally:
            with contextlib.suppress(Exception):
                client.unregister_worker_plugin(plugin)
    return [rows[i] for i in range(len(work))]
