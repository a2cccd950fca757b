"""Run one student's notebook code and the instructor's tests, isolated, and report each test.

Two halves live here. :func:`run` is the trusted side: it starts the runner,
hands it the cells to run, and reads the results back. :func:`main` is the
runner: ``python -m autograder.sandbox`` started by :func:`run`, the only
process in which student code ever executes.

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
    (one notebook) starts a fresh Python instead.

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
    2. An audit hook (``sys.addaudithook``, which cannot be removed), armed
       before the first student cell, denies what no exercise needs and what
       tampering does need: frame introspection (``sys._getframe`` except from
       a few library functions that only read a module name,
       ``tb_frame``/``gi_frame``/``cr_frame``/``ag_frame``), ``gc``'s object
       walkers, tracing and profiling hooks, ``ctypes``, new processes,
       signals to other processes, sockets, and file access outside the
       runner's own scratch folder (reading the Python installation
       excepted). Any denied attempt marks the notebook ``tampered``.
    3. The tests cannot be changed from inside. The cells come from the
       instructor's source; the instructor's cells run in a namespace of
       their own (the student's code runs in a second copy of it), and each
       test cell runs in a fresh copy of the instructor's namespace, with a
       private copy of the builtins, into which only the graded functions are
       put, each behind a guard. So rebinding ``np``, a test helper or a
       builtin in the student's namespace changes nothing the tests see.
    4. Trusted modules (``builtins``, ``math``, every ``numpy`` module,
       ``warnings``, ...) are snapshotted before student code runs, restored
       before each test, and checked after every cell and after every call
       of a graded function (the hot ones) or test (all of them). A change is
       ``tampered``. Warning filters, ``np.seterr``, the working directory,
       timers and signal handlers are reset before each test so that
       settings a student made never cost them points.
    5. The guard around each graded function hands it an opaque stand-in for
       any function argument (so ``grad_fn.__globals__`` does not expose the
       test's variables) and accepts only plain return values: numbers,
       strings, ``None``, exact numpy arrays and scalars, and lists, tuples
       and dicts of them. An object with an ``__eq__`` that always says yes,
       or an array subclass that rewrites comparisons, never reaches a test.
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

MESSAGE_LIMIT = 500
FLOOR = 5.0  # seconds: no test's time limit is shorter
TRUSTED_PREFIXES = ("numpy",)
TRUSTED_MODULES = (
    "builtins",
    "math",
    "cmath",
    "operator",
    "functools",
    "itertools",
    "collections",
    "warnings",
    "json",
    "json.encoder",
    "json.decoder",
    "marshal",
    "signal",
    "gc",
    "copy",
    "types",
    "re",
    "random",
    "statistics",
    "os",
    "posix",
    "io",
    "posixpath",
    "genericpath",
    "stat",
    "pathlib",
    # what numpy's own code calls while it judges (numpy.testing uses contextlib, re, pprint, ...)
    "contextlib",
    "ast",
    "abc",
    "numbers",
    "weakref",
    "textwrap",
    "pprint",
    "difflib",
    "string",
    "enum",
    "typing",
    "inspect",
    "traceback",
    "linecache",
    "keyword",
    "tokenize",
    "token",
    "dataclasses",
    "fractions",
    "decimal",
    "datetime",
    "time",
)
# When each call of a graded function returns, these modules are checked: every name that the notebook's
# cells or the functions of these modules (the tests' comparison machinery) can look up. All of every
# trusted module is checked after each cell.
HOT_MODULES = (
    "builtins",
    "math",
    "numpy",
    "numpy.testing",
    "numpy.testing._private.utils",
    "numpy._core.numeric",
    "numpy._core.fromnumeric",
    "numpy._core.umath",
    "numpy.linalg",
    "numpy.linalg._linalg",
)
WARM = (
    "numpy",
    "numpy.testing",
    "numpy.linalg",
    "numpy.random",
    "json",
    "math",
    "cmath",
    "random",
    "statistics",
    "fractions",
    "decimal",
    "collections",
    "typing",
    "dataclasses",
    "enum",
    "functools",
    "itertools",
    "operator",
    "pathlib",
    "re",
    "string",
    "textwrap",
    "time",
    "datetime",
    "warnings",
    "contextlib",
    "copy",
    "abc",
    "numbers",
    "traceback",
    "linecache",
    "inspect",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib.animation",
    "ipywidgets",
)
# Events denied once student code may run.
DENIED = {
    "sys._current_frames",
    "sys._current_exceptions",
    "gc.get_referrers",
    "gc.get_referents",
    "gc.get_objects",
    "sys.settrace",
    "sys.setprofile",
    "sys.addaudithook",
    "os.system",
    "os.fork",
    "os.forkpty",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.kill",
    "os.killpg",
    "subprocess.Popen",
    "pty.spawn",
    "resource.setrlimit",
    "resource.prlimit",
    "webbrowser.open",
    "urllib.Request",
}
DENIED_PREFIXES = ("socket.", "ctypes.", "ftplib.", "smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib.")
FRAME_ATTRIBUTES = {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"}
FILE_EVENTS = {
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.chmod",
    "os.chown",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.utime",
    "shutil.copyfile",
    "shutil.copymode",
    "shutil.copystat",
    "shutil.copytree",
    "shutil.move",
    "shutil.rmtree",
    "shutil.make_archive",
    "shutil.unpack_archive",
}
# (file name ending, function) of library code that asks for a frame only to read a module name.
FRAME_CALLERS = {
    ("collections", "namedtuple"),
    ("typing", "_caller"),
    ("enum", "EnumType._create_"),
    ("enum", "EnumType._convert_"),
    ("matplotlib._api", "warn_external"),
}


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
    durations: dict[int, float] = field(default_factory=dict)  # cell index -> seconds it ran


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
                [sys.executable, "-s", "-m", "autograder.sandbox", "--zygote", str(theirs.fileno())],
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


def _zygote(fd: int) -> int:
    """The zygote's loop: warm up, then fork one runner per request until the grader hangs up."""
    import importlib
    import signal
    import socket

    for name in WARM:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # runners are reaped by the kernel
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 64, 2)
        except OSError:
            break
        if not message or len(fds) != 2:
            break
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.setsid()
                _runner_from_fork(*fds)
            finally:
                os._exit(70)
        for f in fds:
            os.close(f)
        sock.sendall(str(pid).encode())
    return 0


def _runner_from_fork(plan_fd: int, result_fd: int) -> None:
    """In a fork of the zygote: namespaces if the plan asks for them, then the runner."""
    import json

    chunks = []
    while chunk := os.read(plan_fd, 1 << 16):
        chunks.append(chunk)
    os.close(plan_fd)
    plan = json.loads(b"".join(chunks))
    del chunks
    if plan["isolate"]:
        isolation.enter(result_fd)
    main([str(result_fd)], plan)


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
    }
    read_fd, write_fd = os.pipe()
    proc = None
    try:
        if zygote is None:
            proc = subprocess.Popen(
                [sys.executable, "-s", "-m", "autograder.sandbox", str(write_fd)],
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
                result.outcomes.setdefault(index, outcome)
                current = cell_deadline = None
            elif kind == "done":
                return None
            else:  # tampered, or the runner's own harness failed
                result.status = "tampered" if kind == "tampered" else "error"
                result.reason = str(data)[:MESSAGE_LIMIT]
                return None


# --------------------------------------------------------------------------------------------------
# The runner. Everything below runs inside the sandbox.


def main(argv: list[str] | None = None, plan: dict | None = None) -> int:
    """Run as the runner: with a private copy of the builtins, so the harness never calls a patched one."""
    import builtins
    import json
    from types import FunctionType

    argv = argv or sys.argv[1:]
    if argv and argv[0] == "--zygote":
        return _zygote(int(argv[1]))
    if plan is None:
        plan = json.loads(sys.stdin.buffer.read())
        if plan["isolate"]:
            isolation.enter(int(argv[0]))
    private = dict(globals())
    private["__builtins__"] = dict(vars(builtins))
    return FunctionType(_main.__code__, private)(argv, plan)


def _main(argv: list[str], plan: dict) -> int:
    import ast
    import importlib

    argv = argv or sys.argv[1:]
    out_fd = int(argv[0])
    for name in WARM:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    import marshal
    import signal

    import numpy as np

    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    nonce = plan["nonce"]
    cells = plan["cells"]
    del plan["cells"], plan["nonce"]
    work = isolation.confine(plan["hide"]) if plan["isolate"] else plan["workdir"]
    os.chdir(work)
    os.environ["HOME"] = work
    isolation.limits(plan["memory_mb"], plan["cpu_seconds"])
    work_real = os.path.realpath(work)

    dumps, write = marshal.dumps, os.write

    def send(kind, data=None):
        frame = dumps((nonce, kind, data))
        frame = len(frame).to_bytes(4, "big") + frame
        while frame:
            frame = frame[write(out_fd, frame) :]

    # ---- snapshots of what the tests trust
    import builtins
    import gc
    import warnings

    trusted = {
        name: module
        for name, module in list(sys.modules.items())
        if module is not None and (name in TRUSTED_MODULES or name.split(".")[0] in TRUSTED_PREFIXES)
    }
    snap = {name: dict(vars(m)) for name, m in trusted.items()}
    ids = {name: tuple(map(id, d.values())) for name, d in snap.items()}
    code_type = type(_main.__code__)
    used: set[str] = set()
    todo = [
        v.__code__
        for name in HOT_MODULES
        if name in trusted
        for v in vars(trusted[name]).values()
        if hasattr(type(v), "__code__") and isinstance(getattr(v, "__code__", None), code_type)
    ]
    for cell in cells:
        with contextlib.suppress(BaseException):
            todo.append(compile(cell["source"], "<cell>", "exec", dont_inherit=True))
    while todo:
        code = todo.pop()
        used.update(code.co_names)
        todo.extend(c for c in code.co_consts if isinstance(c, code_type))
    hot_keys = [(vars(trusted[name]), set(vars(trusted[name]))) for name in HOT_MODULES if name in trusted]
    hot_pairs = [
        (vars(trusted[name]), key, value)
        for name in HOT_MODULES
        if name in trusted
        for key, value in vars(trusted[name]).items()
        if key in used
    ]
    builtins_snapshot = dict(vars(builtins))
    sys_snapshot = {k: getattr(sys, k) for k in ("stdout", "stderr", "stdin", "displayhook", "excepthook")}
    modules_snapshot = dict(trusted)
    warnings_filters = warnings.filters
    filters = list(warnings_filters)
    seterr = np.seterr()
    recursion, setrecursionlimit = sys.getrecursionlimit(), sys.setrecursionlimit
    filters_mutated, np_seterr = warnings._filters_mutated, np.seterr
    np_empty, np_ndenumerate = np.empty, np.ndenumerate
    np_dtype, np_generator, modules_update = np.dtype, np.random.Generator, sys.modules.update
    parse, walk = ast.parse, ast.walk
    ast_name, ast_store, ast_defs, ast_imports = (
        ast.Name,
        ast.Store,
        (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef),
        (ast.Import, ast.ImportFrom),
    )
    setitimer, sig, sigdfl, ITIMERS = signal.setitimer, signal.signal, signal.SIG_DFL, (0, 1, 2)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF, signal.SIGUSR1)}
    chdir, getcwd = os.chdir, os.getcwd
    traceback_of = vars(BaseException)["__traceback__"].__get__
    gc_callbacks = gc.callbacks
    type_, id_, len_, tuple_, map_, dict_, isinstance_ = type, id, len, tuple, map, dict, isinstance
    from functools import lru_cache
    from types import FunctionType, MethodType

    state = {"armed": False, "busy": False, "denied": None}
    read_roots = (
        *(os.path.realpath(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix} if p),
        *("/usr/lib", "/usr/share", "/dev/null", "/dev/urandom", "/etc/localtime", "/usr/local/lib"),
    )

    import pathlib
    import stat as stat_module

    lstat, readlink, is_link = os.lstat, os.readlink, stat_module.S_ISLNK
    getframe = sys._getframe
    pure_dict = vars(pathlib.PurePath)
    pure_fspath, pure_str = pure_dict["__fspath__"], pure_dict["__str__"]
    path_types = (pathlib.PosixPath, pathlib.PurePosixPath)
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def resolve(path: str) -> str:
        """realpath from bound primitives: nothing a student can monkeypatch."""
        if not path.startswith("/"):
            path = getcwd() + "/" + path
        todo, parts, hops = path.split("/")[::-1], [], 0
        while todo:
            comp = todo.pop()
            if comp in ("", "."):
                continue
            if comp == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(comp)
            current = "/" + "/".join(parts)
            try:
                mode = lstat(current).st_mode
            except (OSError, ValueError):
                continue
            if is_link(mode):
                hops += 1
                if hops > 40:
                    return current
                target = readlink(current)
                parts.pop()
                if target.startswith("/"):
                    parts = []
                todo.extend(target.split("/")[::-1])
        return "/" + "/".join(parts)

    def as_text(path) -> str | None:
        t = type_(path)
        if t is str:
            return path
        if t is bytes:
            return path.decode(errors="replace")
        unpatched = pure_dict.get("__fspath__") is pure_fspath and pure_dict.get("__str__") is pure_str
        if (t is path_types[0] or t is path_types[1]) and unpatched:
            text = pure_str(path)
            return text if type_(text) is str else None
        return None

    def inside(path) -> bool:
        text = as_text(path)
        if text is None:
            return False
        full = resolve(text)
        return full == work_real or full.startswith(work_real + "/")

    def deny(why: str):
        if state["denied"] is None:
            state["denied"] = why
        raise PermissionError(f"not allowed while grading: {why}")

    def hook(event, args):
        if not state["armed"] or state["busy"]:
            return
        state["busy"] = True
        try:
            if event in DENIED or event.startswith(DENIED_PREFIXES):
                deny(event)
            elif event == "sys._getframe":
                # the frame that called sys._getframe: allowed only for library functions that read a module name
                if getframe(1).f_code not in frame_callers:
                    deny("frame introspection (sys._getframe)")
            elif event == "object.__getattr__":
                if len_(args) > 1 and args[1] in FRAME_ATTRIBUTES:
                    deny(f"frame introspection (.{args[1]})")
            elif event == "object.__setattr__":
                if len_(args) > 1 and args[1] == "__code__":
                    deny("replacing a function's code")
            elif event == "open":
                path, mode, flags = (*tuple_(args), None, None, None)[:3]
                text = as_text(path)
                if text is None:
                    deny("opening a file by descriptor or by an unusual path object")
                writing = (type_(mode) is str and any(c in mode for c in "wax+")) or (
                    type_(flags) is int and flags & write_flags
                )
                if not inside(text):
                    full = resolve(text)
                    if writing or full.startswith("/proc") or not full.startswith(read_roots):
                        deny(f"opening {text[:80]}")
            elif event in FILE_EVENTS:
                for p in args[:2]:
                    if type_(p) in (str, bytes) and not inside(p):
                        deny(f"{event} outside the notebook's folder")
        finally:
            state["busy"] = False

    frame_callers = set()
    for module_name, attr in FRAME_CALLERS:
        fn = sys.modules.get(module_name)
        for part in attr.split("."):
            fn = getattr(fn, part, None)
        fn = getattr(fn, "__func__", fn)
        if hasattr(fn, "__code__"):
            frame_callers.add(fn.__code__)
    sys.addaudithook(hook)

    # ---- integrity
    module_type = type_(np)

    def changed(names=None) -> str | None:
        if names == "hot":
            for d, keys in hot_keys:  # a name added or removed (a global that would shadow a builtin)
                if d.keys() != keys:
                    break
            else:
                for d, key, value in hot_pairs:
                    if d.get(key) is not value:
                        return f"{d.get('__name__', '?')}.{key} was changed"
                return None
        pairs = trusted.items()
        for name, module in pairs:
            d = vars(module)
            if len_(d) == len_(ids[name]) and tuple_(map_(id_, d.values())) == ids[name]:
                continue
            saved = snap[name]
            bad = [k for k, v in saved.items() if k not in d or d[k] is not v]
            bad += [k for k, v in d.items() if k not in saved and type_(v) is not module_type]
            if bad:
                return f"{name}.{bad[0]} was changed"
            # only submodules were added (an import): the new state is the trusted one, keep the check fast
            snap[name] = dict_(d)
            ids[name] = tuple_(map_(id_, d.values()))
            for i, (hd, _) in enumerate(hot_keys):
                if hd is d:
                    hot_keys[i] = (d, set(d))
        return None

    def restore():
        for name, module in trusted.items():
            d = vars(module)
            saved = snap[name]
            if len_(d) != len_(ids[name]) or tuple_(map_(id_, d.values())) != ids[name]:
                for k in [k for k in d if k not in saved and type_(d[k]) is not module_type]:
                    del d[k]
                d.update(saved)
        modules_update(modules_snapshot)
        for k, v in sys_snapshot.items():
            setattr(sys, k, v)
        warnings_filters[:] = filters
        filters_mutated()
        np_seterr(**seterr)
        setrecursionlimit(recursion)
        calm()
        try:  # noqa: SIM105 - contextlib is a module student code can patch
            chdir(work)
        except OSError:
            pass

    def calm():
        for which in ITIMERS:
            setitimer(which, 0)
        for s, h in handlers.items():
            sig(s, h if h is not None else sigdfl)
        gc_callbacks.clear()

    # ---- what may come back from a graded function
    scalars = {bool, int, float, complex, str, bytes, type(None), range, slice}
    scalars |= {t for t in np.sctypeDict.values() if isinstance(t, type)}
    ndarray = np.ndarray

    def clean(value, depth=0):
        t = type_(value)
        if t in scalars:
            return value
        if depth > 20:
            raise TypeError("the returned value is nested too deeply")
        if issubclass(t, ndarray):
            arr = value if t is ndarray else ndarray.view(value, ndarray)
            if arr.dtype.hasobject:
                out = np_empty(arr.shape, dtype=object)
                for i, v in np_ndenumerate(arr):
                    out[i] = clean(v, depth + 1)
                return out
            return arr
        if issubclass(t, tuple):
            return tuple([clean(v, depth + 1) for v in tuple.__iter__(value)])
        if issubclass(t, list):
            return [clean(v, depth + 1) for v in list.__iter__(value)]
        if issubclass(t, dict):
            return {clean(k, depth + 1): clean(v, depth + 1) for k, v in dict.items(value)}
        if t is np_dtype or t is np_generator:
            return value
        name = vars(type).get("__name__").__get__(t)
        raise TypeError(
            f"the function returned a {name[:40]} object; graded functions return numbers, strings, "
            "numpy arrays, or lists and tuples of them"
        )

    def opaque(fn):
        hidden = lru_cache(maxsize=0)(fn)
        try:  # noqa: SIM105 - contextlib is a module student code can patch
            del hidden.__wrapped__
        except AttributeError:
            pass
        return hidden

    def guard(fn):
        def graded(*args, **kwargs):
            args = tuple(opaque(a) if type_(a) in (FunctionType, MethodType) else a for a in args)
            kwargs = {k: opaque(v) if type_(v) in (FunctionType, MethodType) else v for k, v in kwargs.items()}
            try:
                return clean(fn(*args, **kwargs))
            finally:
                calm()
                why = changed("hot")
                if why and state["denied"] is None:
                    state["denied"] = why

        if type_(fn) is FunctionType:  # attributes of anything else could run student code here
            graded.__name__, graded.__qualname__, graded.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        return graded

    # ---- running cells
    def assigned(tree) -> set[str]:
        names = set()
        for node in walk(tree):
            if isinstance(node, ast_name) and isinstance(node.ctx, ast_store):
                names.add(node.id)
            elif isinstance(node, ast_defs):
                names.add(node.name)
            elif isinstance(node, ast_imports):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
        return names

    def describe(exc, show, sources) -> dict:
        """ename, evalue (and a traceback of visible code) of an exception; student code may run here."""
        try:
            ename = type_(exc).__name__
            ename = ename[:80] if type_(ename) is str else "Exception"
        except BaseException:
            ename = "Exception"
        try:
            evalue = str(exc)
            evalue = evalue[:MESSAGE_LIMIT] if type_(evalue) is str else ""
        except BaseException:
            evalue = "(the error message could not be shown)"
        out = {"ename": ename, "evalue": evalue, "memory": isinstance_(exc, MemoryError)}
        if show:
            state["busy"] = True  # walking our own traceback: no student code runs in this loop
            try:
                entries, tb = [], traceback_of(exc)  # the base descriptor: a subclass property never runs here
                while tb is not None and len_(entries) < 30:
                    code = tb.tb_frame.f_code
                    entries.append((code.co_filename, tb.tb_lineno, code.co_name))
                    tb = tb.tb_next
            except BaseException:
                entries = []
            finally:
                state["busy"] = False
            lines = ["Traceback (most recent call last):"]
            for filename, lineno, name in entries[1:]:
                if type_(filename) is not str or filename not in sources:
                    continue
                lines.append(f'  File "{filename}", line {lineno}, in {name}')
                text = sources[filename].splitlines()
                if 0 < lineno <= len(text):
                    lines.append("    " + text[lineno - 1].strip())
            lines.append(f"{ename}: {evalue}")
            out["traceback"] = "\n".join(lines)[:4000]
        return out

    ns_inst = {"__name__": "__main__", "__builtins__": dict(builtins_snapshot)}
    ns_stu = {"__name__": "__main__", "__builtins__": builtins}

    def display(*args, **kwargs):
        return None

    class _Shell:
        def run_line_magic(self, *a, **k):
            return None

        run_cell_magic = system = getoutput = run_line_magic

    shell = _Shell()
    for ns in (ns_inst, ns_stu):
        ns["display"] = display
        ns["get_ipython"] = lambda: shell
    graded_ids = [c["name"] for c in cells if c["kind"] == "answer"]
    visible = {}  # file name -> source of cells whose lines may appear in a traceback

    def graded_functions():
        return {gid: guard(ns_stu[gid]) for gid in graded_ids if callable(ns_stu.get(gid))}

    skip = set(plan["skip"])  # cells that faulted in an earlier runner of this notebook
    try:
        state["armed"] = True
        for index, cell in enumerate(cells):
            if index in skip:
                continue
            kind, source = cell["kind"], cell["source"]
            filename = f"<{kind} cell {index}>"
            if kind in ("answer", "extra") or (kind == "test" and not cell.get("hidden")):
                visible[filename] = source
            send("start", index)
            outcome = {"ok": True}
            try:
                code = compile(source, filename, "exec", dont_inherit=True)
            except BaseException as exc:
                outcome = {"ok": False, **describe(exc, True, {}), "traceback": ""}
                code = None
            if code is not None:
                if kind == "test":
                    restore()
                    g = dict_(ns_inst)
                    g["__builtins__"] = dict_(builtins_snapshot)
                    for gid in graded_ids:
                        g.pop(gid, None)
                    g.update(graded_functions())
                    try:
                        exec(code, g)
                    except BaseException as exc:
                        outcome = {"ok": False, **describe(exc, not cell.get("hidden"), visible)}
                    state["busy"] = True
                    try:
                        for name in assigned(parse(source)):
                            if name in g and name not in graded_ids and name != "__builtins__":
                                ns_inst[name] = g[name]
                    finally:
                        state["busy"] = False
                elif kind == "instructor":
                    restore()
                    ns_inst.update(graded_functions())
                    for ns in (ns_inst, ns_stu):
                        try:
                            exec(code, ns)
                        except BaseException as exc:
                            outcome = {"ok": False, **describe(exc, False, {})}
                else:
                    try:
                        exec(code, ns_stu)
                    except BaseException as exc:
                        outcome = {"ok": False, **describe(exc, True, visible)}
            why = state["denied"] or changed()
            if why:
                send("end", (index, outcome))
                send("tampered", f"the notebook's code tried to change how it is graded: {why}")
                break
            send("end", (index, outcome))
        send("done")
    except BaseException as exc:  # the harness itself failed: report and stop
        with contextlib.suppress(BaseException):
            send("failed", f"the grader's runner failed: {type(exc).__name__}: {str(exc)[:200]}")
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
