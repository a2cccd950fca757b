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
import functools
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


def _names_used(trusted: dict, cells: list[dict], cell_names=None) -> set[str]:
    """Every name the code of the hot modules' functions and of the cells can look up (``co_names``, nested).

    ``cell_names``: the cells' names, where the caller has compiled them already (the runner does).
    """
    used = set(_hot_names(tuple((name, trusted[name]) for name in HOT_MODULES if name in trusted)))
    if cell_names is not None:
        for names in cell_names:
            used.update(names)
        return used
    for cell in cells:
        with contextlib.suppress(BaseException):
            used.update(code_names(compile(cell["source"], "<cell>", "exec", dont_inherit=True)))
    return used


def code_names(code) -> set[str]:
    """The names a code object and the code nested in it mention (``co_names``): globals, attributes, imports."""
    code_type = type(code_names.__code__)
    names, todo = set(), [code]
    while todo:
        code = todo.pop()
        names.update(code.co_names)
        todo.extend(c for c in code.co_consts if isinstance(c, code_type))
    return names


@functools.lru_cache(maxsize=4)
def _hot_names(modules: tuple) -> frozenset:
    """The names the functions of the hot modules ((name, module) pairs) mention.

    The same for every notebook: the zygote computes it once (:func:`warm`), before any student
    code, and every runner forked from it finds it here.
    """
    code_type = type(code_names.__code__)
    names: set[str] = set()
    for _, module in modules:
        for v in vars(module).values():
            if hasattr(type(v), "__code__") and isinstance(getattr(v, "__code__", None), code_type):
                names |= code_names(v.__code__)
    return frozenset(names)


def warm() -> None:
    """Work every runner would repeat, done once in the zygote (no student code has run there, ever)."""
    _hot_names(tuple((name, sys.modules[name]) for name in HOT_MODULES if sys.modules.get(name) is not None))


def dict_versions():
    """``watch(d)``: a live view of dict ``d``'s version, which changes whenever ``d`` is changed; or None.

    CPython keeps such a version in every dict (``ma_version_tag``, PEP 509): a mutation of
    any kind (a new key, a new value, a deletion, ``update``, ``clear``) sets it to a new,
    globally unique number. :func:`integrity` uses it to skip comparing a module with its
    snapshot when the module's dict has not been written since it last matched. The view is
    a ``memoryview`` made before student code runs (an immutable type: nothing to patch), and
    reading it raises no audit event. None, and every check compares in full, unless this
    Python passes a self-test: each kind of change must change the version, the field next to
    it must hold the dict's length, and two dicts must not share a version.
    """
    import ctypes

    if sys.implementation.name != "cpython" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None

    def field(d, offset: int, code: str):
        raw = (ctypes.c_ubyte * 8).from_address(id(d) + offset)
        return memoryview(raw).cast("B").cast(code)

    def watch(d):
        return field(d, 24, "Q")  # after the refcount, the type and ma_used

    try:
        probe, other = {}, {}
        size, version = field(probe, 16, "n"), watch(probe)
        seen = {version[0]}
        changes = (
            lambda: probe.__setitem__("a", 1),
            lambda: probe.__setitem__("a", 2),
            lambda: probe.__delitem__("a"),
            lambda: probe.update(b=1),
            lambda: probe.setdefault("c", 3),
            lambda: probe.pop("c"),
            probe.clear,
        )
        for change in changes:
            change()
            if version[0] in seen or size[0] != len(probe):
                return None
            seen.add(version[0])
        other["x"] = 1
        if watch(other)[0] in seen:
            return None
    except Exception:
        return None
    return watch


def _hot(trusted: dict, used: set[str]) -> tuple[list, list]:
    """The hot modules' name sets, and (dict, name, value) of each name in them that ``used`` holds."""
    hot_keys = [(vars(trusted[name]), set(vars(trusted[name]))) for name in HOT_MODULES if name in trusted]
    hot_pairs = [
        (vars(trusted[name]), key, value)
        for name in HOT_MODULES
        if name in trusted
        for key, value in vars(trusted[name]).items()
        if key in used
    ]
    return hot_keys, hot_pairs


def integrity(cells: list[dict], work: str, cell_names=None):
    """Snapshot what the tests trust; returns ``changed(names=None)``, ``restore()``, ``calm()`` and the builtins.

    Fast paths, taken only where the full comparison is sure to give the same answer: a module
    whose dict was not written since it last matched is passed over (:func:`dict_versions`);
    values are compared by identity with ``operator.is_`` in C, never with ``id()`` (an audit
    event, so one call of the audit hook, per value); ``calm()`` calls ``_signal`` directly.
    """
    import _signal
    import builtins
    import gc
    import operator
    import warnings

    import numpy as np

    type_, len_, map_, dict_, list_, all_, is_, tuple_ = type, len, map, dict, list, all, operator.is_, tuple
    chdir, modules_update = os.chdir, sys.modules.update
    trusted = {
        name: module
        for name, module in list(sys.modules.items())
        if module is not None and (name in TRUSTED_MODULES or name.split(".")[0] in TRUSTED_PREFIXES)
    }
    snap = {name: dict(vars(m)) for name, m in trusted.items()}
    values = {name: list(d.values()) for name, d in snap.items()}  # in order: the identity of every value
    hot_keys, hot_pairs = _hot(trusted, _names_used(trusted, cells, cell_names))
    watch = dict_versions()
    versions = {name: watch(vars(m)) for name, m in trusted.items()} if watch else {}
    hot_versions = [versions[name] for name in HOT_MODULES if name in versions]
    matched = {name: v[0] for name, v in versions.items()}  # the version at which each module last matched
    hot_matched = [tuple(v[0] for v in hot_versions)]  # the hot modules' versions at their last clean check

    def same(d, saved_values) -> bool:
        return len_(d) == len_(saved_values) and all_(map_(is_, d.values(), saved_values))

    builtins_snapshot = dict(vars(builtins))
    sys_snapshot = {k: getattr(sys, k) for k in ("stdout", "stderr", "stdin", "displayhook", "excepthook")}
    modules_snapshot = dict(trusted)
    warnings_filters = warnings.filters
    filters = list(warnings_filters)
    seterr = np.seterr()
    recursion, setrecursionlimit = sys.getrecursionlimit(), sys.setrecursionlimit
    filters_mutated, np_seterr = warnings._filters_mutated, np.seterr
    setitimer, sig, ITIMERS = _signal.setitimer, _signal.signal, (0, 1, 2)
    handlers = {s: _signal.getsignal(s) for s in (_signal.SIGALRM, _signal.SIGVTALRM, _signal.SIGPROF, _signal.SIGUSR1)}
    handlers = {s: h if h is not None else _signal.SIG_DFL for s, h in handlers.items()}
    getsignal = _signal.getsignal
    gc_callbacks = gc.callbacks
    module_type = type_(np)

    def changed(names=None) -> str | None:
        now = tuple_([v[0] for v in hot_versions])  # read before comparing: a later write shows next time
        if names == "hot":
            if watch and now == hot_matched[0]:
                return None
            for d, keys in hot_keys:  # a name added or removed (a global that would shadow a builtin)
                if d.keys() != keys:
                    break
            else:
                for d, key, value in hot_pairs:
                    if d.get(key) is not value:
                        return f"{d.get('__name__', '?')}.{key} was changed"
                hot_matched[0] = now
                return None
        for name, module in trusted.items():
            version = versions[name][0] if watch else None
            if watch and version == matched[name]:
                continue
            d = vars(module)
            if same(d, values[name]):
                matched[name] = version
                continue
            saved = snap[name]
            bad = [k for k, v in saved.items() if k not in d or d[k] is not v]
            bad += [k for k, v in d.items() if k not in saved and type_(v) is not module_type]
            if bad:
                return f"{name}.{bad[0]} was changed"
            # only submodules were added (an import): the new state is the trusted one, keep the check fast
            snap[name] = dict_(d)
            values[name] = list_(d.values())
            matched[name] = version
            for i, (hd, _) in enumerate(hot_keys):
                if hd is d:
                    hot_keys[i] = (d, set(d))
        hot_matched[0] = now
        return None

    def restore():
        for name, module in trusted.items():
            if watch and versions[name][0] == matched[name]:
                continue
            d = vars(module)
            saved = snap[name]
            if not same(d, values[name]):
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
            if getsignal(s) is not h:  # no system call: the handler Python keeps for the signal
                sig(s, h)
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
