"""``python -m book.build build . -W -n --keep-going``: the ``jupyter-book`` command, started faster.

jupyter-book imports jsonschema (to check ``_config.yml``), and so does nbformat. jsonschema
imports ``rfc3987_syntax`` whenever it is installed (jupyter-events, a Jupyter server
dependency, installs it), only to check the ``iri`` and ``iri-reference`` string formats, and
that module compiles 38 grammars with lark as it is imported: 2 to 10 s of every build on the
2-core machine, a third of a rebuild that executes nothing (README, "Build speed"). No schema
the build validates uses a format, and none is validated with a format checker, so this
command marks the module missing before anything imports jsonschema, then runs
``jupyter-book`` with the same arguments, in this process. It also keeps sphinx-external-toc
out of the folders the book excludes (walk_less_of_the_tree), and it exits without tearing the
interpreter down once the build is done (exit_now). ``jupyter-book`` itself still works and
builds the same book, only slower.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import sys
from collections.abc import Callable, Iterator


def source_files(root: str, suffix: str, excluded: Callable[[str], bool]) -> Iterator[str]:
    """What ``glob.iglob(root/**/*suffix, recursive=True)`` yields, less the files in excluded folders.

    Like glob it skips hidden files and folders and follows symbolic links; unlike it, it does not
    walk into a folder whose path (relative to `root`, with /) `excluded` matches.
    """
    for folder, dirs, files in os.walk(root, followlinks=True):
        relative = os.path.relpath(folder, root)
        relative = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not excluded(relative + d))
        for name in sorted(files):
            if not name.startswith(".") and fnmatch.fnmatchcase(name, "*" + suffix):
                yield os.path.join(folder, name)


def walk_less_of_the_tree() -> None:
    """sphinx-external-toc's search for files the toc leaves out, without the excluded folders.

    With ``only_build_toc_files``, sphinx-external-toc globs ``**/*<suffix>`` under the book's
    folder once per source suffix, to exclude each file the toc does not list, and that walks
    every folder of node_modules (2,400 of them, which the pages' pinned JavaScript needs): 0.7 s
    of every build on the 2-core machine, an eighth of a touched rebuild. A file in a folder that
    exclude_patterns excludes is excluded already, and sphinx-external-toc skips it, so the same
    walk that does not enter those folders gives the same exclusions. Upstream:
    sphinx_external_toc/events.py, parse_toc_to_env.
    """
    from types import SimpleNamespace

    from sphinx.util.matching import Matcher
    from sphinx_external_toc import events

    parse = events.parse_toc_to_env

    def parse_toc_to_env(app, config):
        excluded = Matcher(config["exclude_patterns"])
        root = os.path.normpath(os.path.abspath(app.srcdir))

        def iglob(pattern, *, recursive=False, **options):
            head, _, name = pattern.rpartition(os.sep + "**" + os.sep)
            if (
                recursive
                and not options
                and os.path.normpath(head) == root
                and name.startswith("*")
                and os.sep not in name
            ):
                return source_files(root, name[1:], excluded)
            return glob.iglob(pattern, recursive=recursive, **options)

        events.glob = SimpleNamespace(iglob=iglob)
        try:
            return parse(app, config)
        finally:
            events.glob = glob

    events.parse_toc_to_env = parse_toc_to_env  # sphinx_external_toc.setup imports it from there


def main(argv: list[str] | None = None) -> int | str | None:
    """Run jupyter-book with `argv` (default: this command's own); what it exits with."""
    sys.modules.setdefault("rfc3987_syntax", None)  # an import of it now raises ImportError, which jsonschema expects
    walk_less_of_the_tree()
    from jupyter_book.cli.main import main as jupyter_book

    sys.argv = ["jupyter-book", *(sys.argv[1:] if argv is None else argv)]
    try:
        jupyter_book()
    except SystemExit as done:
        return done.code
    return 0


def exit_now(code: int | str | None) -> None:
    """Exit with `code` as ``sys.exit`` would, without tearing down the interpreter.

    Once the build is done, what is left is freeing the objects Sphinx built up, one by one, as
    the interpreter shuts down: about a second of every build on the 2-core machine, a fifth of a
    touched rebuild. This runs what an exit must (the ``atexit`` functions: logging's flush,
    temporary folders' cleanup) and flushes the output, then ends the process at once
    (``os._exit``), with the same status. Every file the build writes is closed by then. With a
    thread still running, or without ``atexit._run_exitfuncs``, it exits as usual.
    """
    import atexit
    import threading

    if threading.active_count() > 1 or not hasattr(atexit, "_run_exitfuncs"):
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("a message"): the message on stderr, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            status = status or 120  # what Python exits with when it cannot flush its output
    os._exit(status)


if __name__ == "__main__":
    exit_now(main())
