"""Run one student's notebook code and the instructor's tests, isolated, and report each test.

This is the trusted side: :func:`run` starts a runner, hands it the cells to
run, reads the results back and enforces the time limits. The runner is
another process, the only one in which student code ever executes. The parts,
each with one job:

- :mod:`autograder.isolation`: namespaces, mounts, privileges, rlimits;
- :mod:`autograder.guards`: audit hook, integrity of trusted modules, checks
  of what graded functions receive and return;
- :mod:`autograder.protocol`: the frames on the result pipe;
- :mod:`autograder.executor`: the runner process, which runs cells and tests.

Why not a Jupyter kernel
    A kernel runs every cell through IPython's input pipeline, in one
    namespace, and reports results on the same channels the student's code can
    write to. A student can register an input transformer that blanks the test
    cells, rebind ``np`` or ``np.testing.assert_allclose``, or exit the kernel.
    The runner here executes cells itself with ``exec`` (IPython syntax such
    as ``%matplotlib`` is turned into plain Python by the trusted side
    beforehand), so there is no input pipeline to hook. ``grade`` forks each
    runner from a :class:`Zygote` that imported numpy, matplotlib and
    ipywidgets once, before any student code: a notebook starts in a few
    hundredths of a second instead of a kernel's three seconds, and each one
    still starts from the same clean state. ``python -m autograder.worker``
    (one notebook) starts a fresh ``python -m autograder.executor`` instead.

Layers, from the outside in
    1. Isolation (``isolate=True``, the default of ``grade``;
       :mod:`autograder.isolation`): the runner starts in new network, mount
       and PID namespaces, and for a grading user who is not root in a new
       user namespace first (that user is ``nobody`` inside). It has no
       network at all (loopback down), a fresh ``/proc``, every mount made
       read-only, empty tmpfs over ``/work``, ``/root``, ``/home``, ``/tmp``
       and the other places where course files, submissions or reports can
       live (the Python installation is bind-mounted back read-only), a small
       writable ``/tmp/work``, and runs as user ``nobody`` with no
       capabilities and no-new-privs, under rlimits: address space (a memory
       bomb raises ``MemoryError``), CPU seconds, no new processes or threads
       (``RLIMIT_NPROC`` = 1: fork bombs and background threads fail), file
       size and open files. Its stdout and stderr go to ``/dev/null``:
       printing costs nothing and cannot fill a disk.
    2. An audit hook (:func:`autograder.guards.audit`), armed before the
       first student cell, denies what no exercise needs and what tampering
       does need (frame introspection, ``gc``'s object walkers, tracing,
       ``ctypes``, processes, signals, sockets, files outside the runner's
       scratch folder): ``tampered``.
    3. The tests cannot be changed from inside (:mod:`autograder.executor`):
       the cells come from the instructor's source; the instructor's cells
       run in a namespace of their own, and each test in a fresh copy of it,
       with a private copy of the builtins, into which only the graded
       functions are put, each behind a guard. Rebinding ``np``, a test
       helper or a builtin in the student's namespace changes nothing the
       tests see.
    4. Trusted modules (``builtins``, ``math``, every ``numpy`` module, ...)
       are snapshotted, restored before each test and checked after every
       cell and every call of a graded function
       (:func:`autograder.guards.integrity`): a change is ``tampered``.
       Settings a student made (warning filters, ``np.seterr``, timers, ...)
       are reset before each test and never cost points.
    5. Graded functions get opaque stand-ins for function arguments and may
       return only plain values (:func:`autograder.guards.returns`): an
       ``__eq__`` that always says yes never reaches a test.
    6. Results travel over a pipe the trusted side created, in frames sealed
       with a random nonce that only the runner's closures hold (stdin, which
       carried it, is closed before student code runs; see
       :mod:`autograder.protocol`). Anything on that pipe that is not a
       well-formed frame with the nonce marks the notebook ``tampered``.
    7. Faults cost only their cell. Time limits are enforced from outside, by
       killing the runner; a cell that runs past its limit or ends the runner
       (``os._exit``, a segfault) gets a fault outcome, and a fresh runner runs
       the notebook again without that cell (see :func:`run`).

Residual risk is discussed in the README ("Grading at scale").
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import isolation, protocol
from autograder.protocol import MESSAGE_LIMIT

FLOOR = 5.0  # seconds: no test's time limit is shorter

AS_NOBODY_WITHOUT_NAMESPACES = False
"""Where a runner is not isolated (no namespaces) but the grader is root, switch it to user
``nobody`` (no capabilities, no-new-privs) before any student code: the separate unprivileged
user a Gradescope container allows (:mod:`autograder.gradescope` sets this; ``grade --no-sandbox``
leaves it off). The runner's scratch folder is made nobody's; files only root may read stay unread."""


class SandboxUnavailable(RuntimeError):
    """Namespaces cannot be created here; the message says what to do."""


available = isolation.available


# --------------------------------------------------------------------------------------------------
# The trusted side.


@dataclass
class Run:
    """What came back from running one notebook (one runner, or more after faults)."""

    outcomes: dict[int, dict] = field(default_factory=dict)  # cell index -> outcome
    status: str = "ok"  # ok, timeout, tampered, error
    reason: str = ""
    seconds: float = 0.0
    faults: list[int] = field(default_factory=list)  # cells stopped by a time limit or a crash, in order
    durations: dict[int, float] = field(default_factory=dict)  # cell index -> seconds it ran, seen from here
    # cell index -> seconds the runner spent running it (its code alone: not compiling it, not the checks
    # after it); what the runner says, so only for measuring the grader (benchmarks/grading_speed.py)
    cell_seconds: dict[int, float] = field(default_factory=dict)


def _env() -> dict[str, str]:
    """The runner's whole environment: nothing of the grader's own (no tokens, no paths) leaks in."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NBGRADER_EXECUTION": "autograde",
        "PYTHONSAFEPATH": "1",
        "HOME": "/tmp/work",
    }
    env["MPLCONFIGDIR"] = os.path.join(tempfile.gettempdir(), f"autograder-matplotlib-{os.geteuid()}")
    os.makedirs(env["MPLCONFIGDIR"], exist_ok=True)
    return env


class Zygote:
    """A warm runner to fork from: one per grading run, shared by its threads.

    Starting Python and importing numpy, matplotlib and ipywidgets is most of a
    runner's start-up. The zygote does it once, before any student code, and
    forks a fresh child per notebook; the child then creates its own
    namespaces (:func:`autograder.isolation.enter`) and
    continues exactly as a runner started from scratch. No student code ever
    runs in the zygote, so every notebook still starts from the same clean
    state and stays an independent unit of work.
    """

    def __init__(self) -> None:
        import socket
        import threading

        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-s", "-m", "autograder.executor", "--zygote", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                env=_env(),
                cwd="/",
                start_new_session=True,
            )
        finally:
            theirs.close()
        self._lock = threading.Lock()
        self._sock.settimeout(600)  # the warm-up (numpy, matplotlib) is not charged to the first notebook's time
        try:
            ready = self._sock.recv(5, socket.MSG_WAITALL)
        except OSError:
            ready = b""
        self._sock.settimeout(None)
        if ready != b"ready":
            self.close()
            raise RuntimeError("the grader's warm runner did not start")

    def spawn(self, plan_fd: int, result_fd: int) -> int:
        """Fork a runner reading its plan from ``plan_fd``; returns its pid (a process group leader)."""
        import socket

        with self._lock:
            socket.send_fds(self._sock, [b"fork"], [plan_fd, result_fd])
            answer = self._sock.recv(32)
        if not answer.strip().isdigit():
            raise RuntimeError("the grader's warm runner stopped")
        return int(answer)

    def close(self) -> None:
        self._sock.close()
        _kill_group(self._proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=30)

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, 9)


def run(
    cells: list[dict],
    *,
    isolate: bool,
    hide: list[str],
    cell_timeout: float,
    notebook_timeout: float,
    memory_mb: int = 2048,
    zygote: Zygote | None = None,
    test_limit=None,
) -> Run:
    """Run ``cells`` (dicts: kind, source, name, hidden) and collect the outcomes, a fault costing only its cell.

    A cell that runs past its time limit or ends the runner (a crash, ``os._exit``, a signal)
    gets a fault outcome (``fault``: ``time limit`` or ``crashed``), and a fresh runner runs the
    notebook again without it, so the next cell starts from a clean state; cells that already
    have an outcome keep the first one. A test's time limit is ``test_limit(name)`` seconds,
    asked for only when the test has run for :data:`FLOOR` seconds (it may take a while to
    answer: the grader times the reference then); without ``test_limit``, ``cell_timeout``.
    Other cells get ``cell_timeout``. The notebook's whole run, restarts included, gets
    ``notebook_timeout``: past it the status is ``timeout``, and the cells that ran keep
    their outcomes. ``tampered`` stops everything.

    With a ``zygote`` each runner is forked from it; without, a new Python is started.
    """
    result = Run()
    start = time.monotonic()
    deadline = start + notebook_timeout
    skip: set[int] = set()
    while True:
        fault = _attempt(cells, skip, result, deadline, isolate, hide, cell_timeout, memory_mb, zygote, test_limit)
        if fault is None or result.status != "ok":
            break
        index, outcome = fault
        skip.add(index)
        result.outcomes.setdefault(index, outcome)
        result.faults.append(index)
        if all(i in result.outcomes for i in range(len(cells))):
            break
    if result.status == "timeout":
        result.reason = f"the notebook took longer than {notebook_timeout:g} s in all"
    result.seconds = time.monotonic() - start
    return result


def fault(what: str, how: str) -> dict:
    """The outcome of a cell that a fault stopped: ``what`` (time limit, crashed) and how."""
    return {"ok": False, "fault": what, "ename": what, "evalue": how}


def _attempt(cells, skip, result, deadline, isolate, hide, cell_timeout, memory_mb, zygote, test_limit):
    """One runner over ``cells`` minus ``skip``, outcomes into ``result``; returns a fault (index, outcome) or None."""
    import json
    import secrets

    nonce = secrets.token_hex(16)
    scratch = None if isolate else tempfile.mkdtemp(prefix="runner-")
    plan = {
        "cells": cells,
        "skip": sorted(skip),
        "nonce": nonce,
        "isolate": isolate,
        "hide": sorted(set(hide)),
        "memory_mb": memory_mb,
        "cpu_seconds": int(deadline - time.monotonic()) + 5,
        "workdir": scratch,
        "as_nobody": AS_NOBODY_WITHOUT_NAMESPACES and not isolate,
    }
    read_fd, write_fd = os.pipe()
    proc = None
    try:
        if zygote is None:
            proc = subprocess.Popen(
                [sys.executable, "-s", "-m", "autograder.executor", str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(write_fd,),
                env=_env(),
                cwd=scratch or "/",
                start_new_session=True,
            )
            pid = proc.pid
            plan_out = proc.stdin
        else:
            plan_read, plan_write = os.pipe()
            try:
                pid = zygote.spawn(plan_read, write_fd)
            except BaseException:
                os.close(plan_write)
                raise
            finally:
                os.close(plan_read)
            plan_out = os.fdopen(plan_write, "wb")
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    os.close(write_fd)
    try:
        assert plan_out is not None
        try:
            with plan_out:
                plan_out.write(json.dumps(plan).encode())
        except BrokenPipeError:
            pass
        return _watch(cells, result, read_fd, protocol.Reader(nonce), deadline, cell_timeout, memory_mb, test_limit)
    finally:
        _kill_group(pid)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        os.close(read_fd)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _watch(cells, result, read_fd, reader, deadline, cell_timeout, memory_mb, test_limit):
    """Read one runner's frames until it is done, dies or runs out of time; returns a fault or None."""
    current = cell_start = cell_deadline = None
    limit_known = True
    while True:
        now = time.monotonic()
        if cell_deadline is not None and now >= cell_deadline and not limit_known:
            limit_known = True  # the test has run FLOOR seconds: now its own limit is worth asking for
            limit = min(cell_timeout, test_limit(cells[current]["name"]))
            cell_deadline = cell_start + limit
            continue
        if now >= deadline and (cell_deadline is None or deadline <= cell_deadline):
            result.status = "timeout"
            return None
        if cell_deadline is not None and now >= cell_deadline:
            seconds = cell_deadline - cell_start
            return current, fault("time limit", f"ran longer than {seconds:.0f} s (an endless loop?)")
        until = deadline if cell_deadline is None else min(deadline, cell_deadline)
        ready, _, _ = select.select([read_fd], [], [], min(1.0, until - now))
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            if current is not None:
                return current, fault("crashed", "ended the grading process (os._exit, a crash or a signal)")
            if result.outcomes:  # between two cells: a finalizer (__del__) of the student's that ended it
                result.status = "crashed"
                result.reason = "the notebook's code ended the grading process between two cells"
            else:
                result.status, result.reason = "error", "the grader's runner ended before running a cell"
            return None
        try:
            messages = reader.feed(chunk)
        except protocol.Forged as exc:
            result.status, result.reason = "tampered", str(exc)
            return None
        for kind, data in messages:
            if kind == "start":
                current, cell_start = data, time.monotonic()
                is_test = cells[current]["kind"] == "test" and test_limit is not None
                limit_known = not is_test
                cell_deadline = cell_start + (min(FLOOR, cell_timeout) if is_test else cell_timeout)
            elif kind == "end":
                index, outcome = data
                if index == current:
                    result.durations[index] = time.monotonic() - cell_start
                seconds = outcome.pop("seconds", None)
                if type(seconds) is float:
                    result.cell_seconds[index] = seconds
                result.outcomes.setdefault(index, outcome)
                current = cell_deadline = None
            elif kind == "done":
                return None
            else:  # tampered, or the runner's own harness failed
                result.status = "tampered" if kind == "tampered" else "error"
                result.reason = str(data)[: 8 * MESSAGE_LIMIT]  # cut to size, at a boundary, by the worker
                return None
