"""The players' frames, drawn once: what each reference-view ``Player`` drew, stored under what it depends on.

A chapter's static demos are players (the ``Player`` of each chapter's reference-view block),
and drawing their frames is most of a chapter's run (README, "Build speed"). jupyter-cache
runs a notebook again whenever any of its code changes, and then every player is drawn again,
although a player's frames depend only on the code run before it and on the notebook's
reference data. So the book build's kernels (``book.execution.BookClient``; never the grader's
or a student's) run :func:`install` silently before the notebook: once a cell has defined
``Player``, its ``__init__`` first looks its result up in a store beside jupyter-cache, and
draws the frames only on a miss, storing them then.

The key (:func:`frame_key`) is a hash of everything the frames depend on: the source of every
cell the kernel has run so far (IPython's input history), and of the cell that makes the player
as far as it has run (:func:`run_so_far`: a line after the player's cannot have changed it);
the notebook's reference data (``metadata.course``, hashed by the build); the ordinal of
this player in the run, the player's simple arguments and the source of its ``__init__``;
and the drawing environment (the versions of Python, numpy, matplotlib and its FreeType,
Pillow; matplotlib's ``rcParams`` when the player is made; the fonts matplotlib knows). What a
hit restores is the instance's attributes exactly as ``__init__`` set them, so the player's
HTML is byte for byte the drawn one's (``tests/test_frame_cache.py``).

The store is one JSON file per key, ``<key>.json``: a first line with the SHA-256 of the rest,
then the attributes. It is written aside and renamed into place, so a half-written entry is
never read; an entry that cannot be read, does not match its checksum or its key, or holds
something else is a miss, never an error in the book. :func:`prune` (run after each build)
drops the entries unused for ``MAX_AGE_DAYS`` and then the least recently used ones beyond
``MAX_BYTES`` (a hit refreshes an entry's modification time).

This module imports only the standard library at its top: the build sends its source to the
kernel (the kernel may not import ``book`` from the course root).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import linecache
import os
import secrets
import sys
import time
from pathlib import Path

FORMAT = 1  # bump when the key or the entry's layout changes: every old entry is then a miss
MAX_AGE_DAYS = 30
MAX_BYTES = 256 * 1024 * 1024
STORE_NAME = "course-frames"  # beside jupyter-cache's folder in the build folder
SIMPLE = (int, float, str, bool, type(None))


def drawing_environment() -> dict:
    """What a frame's pixels depend on besides the code: library versions, fonts (computed once per kernel)."""
    import matplotlib
    import numpy
    import PIL
    from matplotlib import font_manager, ft2font

    fonts = sorted((font.name, font.fname, font.style, font.weight) for font in font_manager.fontManager.ttflist)
    return {
        "python": sys.version,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "freetype": ft2font.__freetype_version__,
        "pillow": PIL.__version__,
        "fonts": hashlib.sha256(repr(fonts).encode()).hexdigest(),
    }


def rc_params() -> str:
    """matplotlib's settings as the player is made (style, dpi, fonts), as a stable text."""
    import matplotlib

    return repr(sorted((name, repr(value)) for name, value in matplotlib.rcParams.items()))


def frame_key(sources, course, ordinal, arguments, init_source, environment, rc) -> str:
    """The store's key for one player: a hash of everything its frames depend on."""
    described = {
        "format": FORMAT,
        "cells": list(sources),
        "course": course,
        "ordinal": ordinal,
        "arguments": arguments,
        "init": init_source,
        "environment": environment,
        "rc": rc,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def entry_path(store: Path, key: str) -> Path:
    return Path(store) / f"{key}.json"


def pack(key: str, state: dict) -> bytes | None:
    """An entry's bytes for the attributes ``state``, or None when they are not plain data (then nothing is stored)."""
    tuples = sorted(name for name, value in state.items() if isinstance(value, tuple))
    try:
        payload = json.dumps({"key": key, "state": state, "tuples": tuples}, sort_keys=True).encode()
    except (TypeError, ValueError):
        return None
    if json.loads(payload)["state"] != {n: list(v) if n in tuples else v for n, v in state.items()}:
        return None  # something JSON does not give back as it was (a nested tuple, a non-string key)
    return hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def unpack(key: str, data: bytes) -> dict | None:
    """The attributes an entry holds, or None when it is not a whole, matching entry."""
    try:
        digest, payload = data.split(b"\n", 1)
        if hashlib.sha256(payload).hexdigest().encode() != digest:
            return None
        entry = json.loads(payload)
        if entry["key"] != key or not isinstance(entry["state"], dict):
            return None
        state = entry["state"]
        for name in entry["tuples"]:
            state[name] = tuple(state[name])
        return state
    except (ValueError, KeyError, TypeError):
        return None


def read_entry(store: Path, key: str) -> dict | None:
    """The stored attributes for ``key``, or None (a miss) whatever is wrong with the entry."""
    path = entry_path(store, key)
    try:
        state = unpack(key, path.read_bytes())
    except OSError:
        return None
    if state is not None:
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: pruned last
    return state


def write_aside(folder: Path, name: str, data: bytes) -> bool:
    """Write ``data`` to ``folder/name`` aside, then rename it into place; False when it could not be.

    So a half-written file is never read. The file is a new one of its own ("x"), made as every other
    output of the build is, with the umask's mode: not mkstemp's 0600, which another user building
    the same checkout could not read. A temporary file is removed only by the build that made it
    (:func:`prune` removes those of a build that died).
    """
    folder = Path(folder)
    temp, made = folder / f".{name[:16]}.{os.getpid()}.{secrets.token_hex(4)}.tmp", False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(temp, "xb") as out:
            made = True
            out.write(data)
        os.replace(temp, folder / name)
        return True
    except OSError:
        if made:
            temp.unlink(missing_ok=True)
        return False


def write_entry(store: Path, key: str, state: dict) -> bool:
    """Store ``state`` under ``key``, written aside and renamed into place; False when it could not be."""
    data = pack(key, state)
    return data is not None and write_aside(store, entry_path(store, key).name, data)


def prune(
    store: Path, max_age_days: float = MAX_AGE_DAYS, max_bytes: int = MAX_BYTES, now=None, pattern: str = "*.json"
) -> int:
    """Delete the entries unused for ``max_age_days``, then the least recently used beyond ``max_bytes``; how many.

    The entries are the files matching `pattern` (the frame store's JSON by default). Also deletes the
    temporary files of writes that never finished (a kernel that died), an hour on.
    """
    now = time.time() if now is None else now
    dropped, kept = 0, 0
    try:
        temps = [path for path in Path(store).glob(".*.tmp") if now - path.stat().st_mtime > 3600]
        entries = sorted((path.stat().st_mtime, path.stat().st_size, path) for path in Path(store).glob(pattern))
    except OSError:
        return 0  # no store yet, or one being written to: prune next time
    for mtime, size, path in reversed(entries):  # the most recently used first
        if now - mtime > max_age_days * 86400 or kept + size > max_bytes:
            temps.append(path)
        else:
            kept += size
    for path in temps:
        try:
            path.unlink()
            dropped += 1
        except OSError:
            pass
    return dropped


def source_of(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return getattr(getattr(function, "__code__", None), "co_code", b"").hex()


def run_so_far(cell: str, line: int) -> str:
    """The part of a running cell that can have run when its line ``line`` (1-based) is running.

    That is the cell up to the end of the statement running at that line, or of the outermost
    loop around it (a loop's later lines ran in its earlier rounds). What comes after cannot have
    run yet, so it cannot change what a player made at that line draws. The whole cell when the
    line is in none of its statements, or the cell does not parse.
    """
    import ast

    try:
        running = [
            node
            for node in ast.walk(ast.parse(cell))
            if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno)
        ]
    except (SyntaxError, ValueError):
        return cell
    if not running:
        return cell
    loops = [node for node in running if isinstance(node, (ast.For, ast.AsyncFor, ast.While))]
    end = max(node.end_lineno or node.lineno for node in [min(running, key=lambda n: n.end_lineno - n.lineno), *loops])
    return "".join(cell.splitlines(keepends=True)[:end])


def cells_run(ip) -> list[str]:
    """The code this kernel has run so far: every earlier cell whole, and the running cell as far as it got."""
    raw = list(ip.history_manager.input_hist_raw)
    running = ip.history_manager.input_hist_parsed[-1]  # the code Python runs (IPython's transformed cell)
    frame = sys._getframe(1)
    while frame is not None:  # the running cell's top-level frame: the line it is at
        code = frame.f_code
        if code.co_name == "<module>" and "".join(linecache.getlines(code.co_filename)).rstrip() == running.rstrip():
            return [*raw[:-1], run_so_far(running, frame.f_lineno)]
        frame = frame.f_back
    return raw  # not found: the whole running cell (it may change the frames, as far as this knows)


def install(ip, store: str, course: str) -> None:
    """In the kernel: from now on, every ``Player`` a cell defines looks its frames up in ``store`` first."""
    seen = {"players": 0, "environment": None}

    def wrap(cls) -> None:
        drawn_init = cls.__init__

        def __init__(self, *args, **kwargs):
            ordinal, seen["players"] = seen["players"], seen["players"] + 1
            try:
                if seen["environment"] is None:
                    seen["environment"] = drawing_environment()
                simple = [repr(a) for a in args if isinstance(a, SIMPLE)]
                simple += [f"{k}={v!r}" for k, v in sorted(kwargs.items()) if isinstance(v, SIMPLE)]
                sources = cells_run(ip)
                environment, init = seen["environment"], source_of(drawn_init)
                key = frame_key(sources, course, ordinal, simple, init, environment, rc_params())
            except Exception:  # no key, no cache: the player is drawn as it would be without one
                return drawn_init(self, *args, **kwargs)
            state = read_entry(store, key)
            if state is None:
                drawn_init(self, *args, **kwargs)
                write_entry(store, key, dict(vars(self)))
                return
            vars(self).update(state)
            import matplotlib.pyplot as plt

            fig = args[0] if args else kwargs.get("fig")
            if fig is not None:
                plt.close(fig)  # as __init__ does: the player replaces the figure

        __init__.course_frame_cache = True
        __init__.__wrapped__ = drawn_init
        cls.__init__ = __init__

    def wrap_new_player(*_) -> None:
        cls = ip.user_ns.get("Player")
        if isinstance(cls, type) and not getattr(cls.__init__, "course_frame_cache", False):
            wrap(cls)

    ip.events.register("post_run_cell", wrap_new_player)


def course_hash(nb) -> str:
    """A hash of the notebook's reference data (``metadata.course``), what the players draw."""
    course = nb.get("metadata", {}).get("course")
    return hashlib.sha256(json.dumps(course, sort_keys=True, default=str).encode()).hexdigest()


def setup_code(store: Path, nb) -> str:
    """The code the build runs silently in a kernel before ``nb``: this module, then :func:`install`."""
    source = Path(__file__).read_text(encoding="utf-8")
    return (
        "def _course_frame_cache(source, store, course):\n"
        "    namespace = {'__name__': 'course_frame_cache'}\n"
        "    exec(compile(source, 'course_frame_cache.py', 'exec'), namespace)\n"
        "    namespace['install'](get_ipython(), store, course)\n"
        f"_course_frame_cache({source!r}, {str(store)!r}, {course_hash(nb)!r})\n"
        "del _course_frame_cache\n"
    )
