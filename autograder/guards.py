"""Guards: what keeps student code from changing how it is graded, inside the runner.

The runner (:mod:`autograder.executor`) arms these before the first student
cell; each factory here is called once, through :func:`privately`, so that the
closures it returns look up builtins in a private copy that student code never
sees, and bind every other primitive they need before student code runs.

:func:`audit`
    An audit hook (``sys.addaudithook``, which cannot be removed) that
    denies what no exercise needs and what tampering does need: frame
    introspection (``sys._getframe`` except from a few library functions that
    only read a module name, ``tb_frame``/``gi_frame``/``cr_frame``/
    ``ag_frame``), ``gc``'s object walkers, tracing and profiling hooks,
    ``ctypes``, new processes, signals to other processes, sockets, and file
    access outside the runner's own scratch folder (reading the Python
    installation excepted). A denied attempt marks the notebook ``tampered``.
:func:`integrity`
    Trusted modules (``builtins``, ``math``, every ``numpy`` module,
    ``warnings``, ...) are snapshotted before student code runs, restored
    before each test (``restore``), and checked (``changed``) after every cell
    and after every call of a graded function (the hot ones) or test (all of
    them). Warning filters, ``np.seterr``, the working directory, timers and
    signal handlers are reset before each test (``calm``), so that settings a
    student made never cost them points.
:func:`returns`
    The guard around each graded function hands it an opaque stand-in for
    any function argument (so ``grad_fn.__globals__`` does not expose the
    test's variables) and accepts only plain return values: numbers,
    strings, ``None``, exact numpy arrays and scalars, and lists, tuples and
    dicts of them. An object with an ``__eq__`` that always says yes, or an
    array subclass that rewrites comparisons, never reaches a test.
"""

from __future__ import annotations

import contextlib
import os
import sys
from types import FunctionType

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


def privately(fn):
    """``fn`` with globals of its own: its module's, with a private copy of the builtins.

    Everything ``fn`` defines (its closures) looks builtins up there, so a student who
    patches a builtin never changes what the harness calls. Call before any student code.
    """
    import builtins

    private = dict(fn.__globals__)
    private["__builtins__"] = dict(vars(builtins))
    return FunctionType(fn.__code__, private, fn.__name__, fn.__defaults__, fn.__closure__)


def integrity(cells: list[dict], work: str):
    """Snapshot what the tests trust; returns ``changed(names=None)``, ``restore()``, ``calm()`` and the builtins."""
    import builtins
    import gc
    import signal
    import warnings

    import numpy as np

    type_, id_, len_, tuple_, map_, dict_ = type, id, len, tuple, map, dict
    chdir, modules_update = os.chdir, sys.modules.update
    trusted = {
        name: module
        for name, module in list(sys.modules.items())
        if module is not None and (name in TRUSTED_MODULES or name.split(".")[0] in TRUSTED_PREFIXES)
    }
    snap = {name: dict(vars(m)) for name, m in trusted.items()}
    ids = {name: tuple(map(id, d.values())) for name, d in snap.items()}
    code_type = type(integrity.__code__)
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
    setitimer, sig, sigdfl, ITIMERS = signal.setitimer, signal.signal, signal.SIG_DFL, (0, 1, 2)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF, signal.SIGUSR1)}
    gc_callbacks = gc.callbacks
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

    return changed, restore, calm, builtins_snapshot


def audit(state: dict, work_real: str) -> None:
    """Install the audit hook; ``state`` says when it is armed, when the harness itself is busy, and what was denied."""
    type_, len_, tuple_ = type, len, tuple
    getcwd = os.getcwd
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


def returns(state: dict, calm, changed):
    """The guard to wrap each graded function in: opaque function arguments, plain return values only."""
    from functools import lru_cache
    from types import MethodType

    import numpy as np

    type_ = type
    np_empty, np_ndenumerate, np_dtype, np_generator = np.empty, np.ndenumerate, np.dtype, np.random.Generator
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

    return guard
