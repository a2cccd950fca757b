"""Executor: the runner process, the only one in which student code runs: it runs the cells and the tests.

``python -m autograder.executor FD`` reads its plan (the cells, a nonce, the
limits) on stdin and sends one result frame per cell to file descriptor FD
(:mod:`autograder.protocol`); ``python -m autograder.executor --zygote FD``
is the warm :class:`autograder.sandbox.Zygote` that forks runners instead.
In order, a runner: enters its namespaces and confines itself
(:mod:`autograder.isolation`), closes stdin, stdout and stderr, arms the
guards (:mod:`autograder.guards`), and runs the cells with ``exec``:

- the student's cells (answers, and cells they added) in the student's
  namespace;
- the instructor's setup cells in a namespace of their own and in a copy for
  the student (so a student's rebinding of ``np`` or of a test helper never
  reaches a test);
- each test in a fresh copy of the instructor's namespace, with a private
  copy of the builtins, into which only the graded functions are put, each
  behind the guard of :func:`autograder.guards.returns`; trusted modules are
  restored before and checked after.

Cells the plan lists in ``skip`` (they faulted in an earlier runner of the
same notebook) are not run. A denied event or a changed trusted module ends
the run with ``tampered``. Everything the harness calls was bound before the
first student cell, with a private copy of the builtins (see
:func:`autograder.guards.privately`).
"""

from __future__ import annotations

import contextlib
import os
import sys

from autograder import guards, isolation, protocol
from autograder.protocol import MESSAGE_LIMIT

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


def _zygote(fd: int) -> int:
    """The zygote's loop: warm up, then fork one runner per request until the grader hangs up."""
    import importlib
    import signal
    import socket

    for name in WARM:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    guards.warm()
    sock = socket.socket(fileno=fd)
    sock.sendall(b"ready")
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


def main(argv: list[str] | None = None, plan: dict | None = None) -> int:
    """Run as the runner: with a private copy of the builtins, so the harness never calls a patched one."""
    import json

    argv = argv or sys.argv[1:]
    if argv and argv[0] == "--zygote":
        return _zygote(int(argv[1]))
    if plan is None:
        plan = json.loads(sys.stdin.buffer.read())
        if plan["isolate"]:
            isolation.enter(int(argv[0]))
    return guards.privately(_main)(argv, plan)


def _main(argv: list[str], plan: dict) -> int:
    """The runner's body; runs through :func:`autograder.guards.privately` (see :func:`main`).

    Each of its jobs is a piece of its own below. Every piece that runs once student code may
    have run (the cell runner, the error describer) is made here, through ``privately``, before
    the first student cell: its closures look builtins up in a private copy, never in the
    ``builtins`` module the student's cells share.
    """
    private = guards.privately
    out_fd = int((argv or sys.argv[1:])[0])
    private(_prepare_process)()
    nonce, cells = plan.pop("nonce"), plan.pop("cells")
    work = private(_enter_work)(plan)
    send = private(protocol.sender)(out_fd, nonce)
    # ---- the guards, armed before any student code
    state = {"armed": False, "busy": False, "denied": None}
    compiled = private(_compile)(cells)
    cell_names = [names for _, _, names in compiled]
    changed, restore, calm, builtins_snapshot = private(guards.integrity)(cells, work, cell_names)
    private(guards.audit)(state, os.path.realpath(work))
    guard = private(guards.returns)(state, calm, changed)
    describe = private(_describer)(state)
    run_cell = private(_cell_runner)(cells, compiled, state, guard, restore, builtins_snapshot, describe)
    private(_run_all)(cells, set(plan["skip"]), state, send, changed, run_cell)
    os._exit(0)


def _prepare_process() -> None:
    """Import the warm modules, then point stdin, stdout and stderr at /dev/null."""
    import importlib

    for name in WARM:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _enter_work(plan: dict) -> str:
    """Confine the runner to its work folder (hiding the plan's paths when isolated), set its limits, and
    where the plan asks (root without namespaces: a Gradescope container) become user nobody."""
    work = isolation.confine(plan["hide"]) if plan["isolate"] else plan["workdir"]
    os.chdir(work)
    os.environ["HOME"] = work
    isolation.limits(plan["memory_mb"], plan["cpu_seconds"])
    if plan.get("as_nobody") and os.geteuid() == 0:  # no namespaces, but root: student code runs as nobody
        os.chown(work, isolation.NOBODY, isolation.NOBODY)
        isolation.drop_privileges()
    return work


def _describer(state: dict):
    """``describe(exc, show, sources)``: ename, evalue (and a traceback of visible code) of an exception.

    Student code may run inside it (``str(exc)``), so everything it calls is bound now.
    """
    traceback_of = vars(BaseException)["__traceback__"].__get__
    type_, len_, isinstance_ = type, len, isinstance
    traceback_text = guards.privately(_traceback_text)

    def describe(exc, show, sources) -> dict:
        try:
            ename = type_(exc).__name__
            ename = ename[:80] if type_(ename) is str else "Exception"
        except BaseException:
            ename = "Exception"
        try:
            evalue = str(exc)
            evalue = evalue[: 8 * MESSAGE_LIMIT] if type_(evalue) is str else ""  # cut to size by the grader
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
            out["traceback"] = traceback_text(entries, sources, f"{ename}: {evalue}")
        return out

    return describe


def _traceback_text(entries: list, sources: dict, last: str) -> str:
    """A traceback of the frames whose code may be shown (``sources``: file name -> source), at most 4000 characters."""
    lines = ["Traceback (most recent call last):"]
    for filename, lineno, name in entries[1:]:
        if type(filename) is not str or filename not in sources:
            continue
        lines.append(f'  File "{filename}", line {lineno}, in {name}')
        text = sources[filename].splitlines()
        if 0 < lineno <= len(text):
            lines.append("    " + text[lineno - 1].strip())
    lines.append(last)
    return "\n".join(lines)[:4000]


def _compile(cells: list[dict]) -> list[tuple]:
    """Each cell compiled once, before any student code runs: (code, None, names) or (None, what compiling raised, ()).

    ``names`` (:func:`autograder.guards.code_names`) are all the names the cell's code mentions: the
    integrity check watches those of them that live in the trusted modules, and after a test the
    ones it bound are kept for the next test (a superset of what it binds: a name only read is
    the same object in both namespaces, so keeping it changes nothing).
    """
    compiled = []
    for index, cell in enumerate(cells):
        try:
            code = compile(cell["source"], f"<{cell['kind']} cell {index}>", "exec", dont_inherit=True)
        except BaseException as exc:
            compiled.append((None, exc, frozenset()))
            continue
        compiled.append((code, None, frozenset(guards.code_names(code))))
    return compiled


def _namespaces(builtins_snapshot: dict) -> tuple[dict, dict]:
    """The instructor's namespace (private builtins) and the student's (the real ones), with IPython stand-ins."""
    import builtins

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
    return ns_inst, ns_stu


def _cell_runner(cells: list[dict], compiled: list, state: dict, guard, restore, builtins_snapshot: dict, describe):
    """``run(index, cell, visible) -> outcome``: one cell run where its kind says.

    A test runs in a fresh copy of the instructor's namespace holding the graded functions,
    each behind ``guard``; an instructor cell in both namespaces; any other cell in the
    student's. ``visible`` maps the file names whose lines a traceback may show to their source.
    """
    import time

    dict_, clock = dict, time.perf_counter
    ns_inst, ns_stu = guards.privately(_namespaces)(builtins_snapshot)
    graded_ids = [c["name"] for c in cells if c["kind"] == "answer"]
    spent = [0.0]  # seconds in exec for the cell being run

    def timed(code, namespace) -> None:
        start = clock()
        try:
            exec(code, namespace)
        finally:
            spent[0] += clock() - start

    def graded_functions():
        return {gid: guard(ns_stu[gid]) for gid in graded_ids if callable(ns_stu.get(gid))}

    def run_test(code, cell, names, visible) -> dict:
        restore()
        g = dict_(ns_inst)
        g["__builtins__"] = dict_(builtins_snapshot)
        for gid in graded_ids:
            g.pop(gid, None)
        g.update(graded_functions())
        outcome = {"ok": True}
        try:
            timed(code, g)
        except BaseException as exc:
            outcome = {"ok": False, **describe(exc, not cell.get("hidden"), visible)}
        for name in names:  # what the test bound (and names it only read: the same objects)
            if name in g and name not in graded_ids and name != "__builtins__":
                ns_inst[name] = g[name]
        return outcome

    def run_instructor(code) -> dict:
        restore()
        ns_inst.update(graded_functions())
        outcome = {"ok": True}
        for ns in (ns_inst, ns_stu):
            try:
                timed(code, ns)
            except BaseException as exc:
                outcome = {"ok": False, **describe(exc, False, {})}
        return outcome

    def run_code(kind: str, code, cell: dict, names, visible: dict) -> dict:
        if kind == "test":
            return run_test(code, cell, names, visible)
        if kind == "instructor":
            return run_instructor(code)
        try:
            timed(code, ns_stu)
        except BaseException as exc:
            return {"ok": False, **describe(exc, True, visible)}
        return {"ok": True}

    def run(index: int, cell: dict, visible: dict) -> dict:
        """The cell's outcome, with ``seconds``: how long its code ran (``exec`` alone: not compiling it, not
        restoring or checking the trusted modules around it; the guard of each graded function it calls is in)."""
        kind, source = cell["kind"], cell["source"]
        filename = f"<{kind} cell {index}>"
        if kind in ("answer", "extra") or (kind == "test" and not cell.get("hidden")):
            visible[filename] = source
        code, error, names = compiled[index]
        if code is None:
            return {"ok": False, **describe(error, True, {}), "traceback": "", "seconds": 0.0}
        spent[0] = 0.0
        outcome = run_code(kind, code, cell, names, visible)
        outcome["seconds"] = spent[0]
        return outcome

    return run


def _run_all(cells: list[dict], skip: set, state: dict, send, changed, run_cell) -> None:
    """Run every cell not in ``skip`` (it faulted in an earlier runner), one frame before and after each.

    A denied event or a changed trusted module ends the run with ``tampered``.
    """
    visible = {}  # file name -> source of cells whose lines may appear in a traceback
    try:
        state["armed"] = True
        for index, cell in enumerate(cells):
            if index in skip:
                continue
            send("start", index)
            outcome = run_cell(index, cell, visible)
            why = state["denied"] or changed()
            send("end", (index, outcome))
            if why:
                send("tampered", f"the notebook's code tried to change how it is graded: {why}")
                break
        send("done")
    except BaseException as exc:  # the harness itself failed: report and stop
        with contextlib.suppress(BaseException):
            send("failed", f"the grader's runner failed: {type(exc).__name__}: {str(exc)[:200]}")


if __name__ == "__main__":
    sys.exit(main())
