"""A Sphinx extension for the book build: a rebuild does not redo what it did last time.

A touched rebuild (a notebook saved, nothing executed) re-reads one page and writes it and the
pages that link to it, in a fresh process each time. Two of the costs it paid were the same
work as the build before, done again for the same input (README, "Build speed"):

- *Highlighting code* with Pygments: 66 code blocks on a chapter and the intro, 0.6 s, most of
  it compiling the lexers' regular expressions, which a new process does again. Each block's
  HTML is kept in ``_build/.highlight_cache``, keyed on the block (source, language, options)
  and on what highlights it (the formatter and its arguments, and the versions of Pygments,
  Sphinx and the packages that register the course's lexers). A block whose highlighting
  warned is not stored, so a rebuild warns again.
- *Compiling the theme's templates* with Jinja: Jinja's own bytecode cache
  (``jinja2.FileSystemBytecodeCache``, keyed on each template's name and a checksum of its
  source, and on the Python that compiled it) in ``_build/.jinja_cache``, in a folder named by
  Jinja's and Sphinx's versions and the environment's settings (another one replaces it).

It also copies MyST-NB's stylesheet into ``_static`` before the pages are written, so that a
clean build names it as a rebuild does and the first rebuild after it does not rewrite every
page it writes (``_env_updated``).

Both stores sit beside the HTML folder, like the frame store (``book/framecache.py``): entries
are written aside and renamed into place, an unreadable entry is a miss, never an error, and
the highlight store is pruned after each build. The book comes out byte for byte the same
(``tests/test_rebuild.py`` checks a highlighted block and a template, stored and not).

Loaded from ``_config.yml`` (``sphinx.local_extensions``, as ``book.rebuild``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib import metadata
from pathlib import Path

from book import framecache

HIGHLIGHT_STORE = ".highlight_cache"  # beside the HTML folder: _build/.highlight_cache
HIGHLIGHT_MAX_BYTES = 32 * 2**20  # the book's blocks take about 1 MB
JINJA_STORE = ".jinja_cache"
# The settings of a Jinja environment that change the code it compiles a template to.
JINJA_OPTIONS = [
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "autoescape",
    "optimized",
]
# Whose code turns a block into HTML: Pygments and its formatter, Sphinx's bridge to it, and the
# packages that register the lexers the course's pages use (ipython3, myst-ansi).
HIGHLIGHT_PACKAGES = ["pygments", "sphinx", "myst-nb", "ipython-pygments-lexers", "ipython"]


def versions(packages: list[str] = HIGHLIGHT_PACKAGES) -> dict[str, str | None]:
    found = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def described_value(value) -> str:
    """`value` as text that is the same in every process: a class or function by its name, not its address."""
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return repr(value)


def highlighter_key(highlighter) -> str:
    """What, besides the block, decides the HTML `highlighter` (Sphinx's PygmentsBridge) writes."""
    formatter_args = {name: described_value(value) for name, value in highlighter.formatter_args.items()}
    described = {
        "formatter": f"{highlighter.formatter.__module__}.{highlighter.formatter.__qualname__}",
        "formatter_args": formatter_args,
        "dest": highlighter.dest,
        "latex_engine": getattr(highlighter, "latex_engine", None),
        "versions": versions(),
    }
    return json.dumps(described, sort_keys=True)


def block_key(tools: str, source, lang: str, opts, force: bool, kwargs: dict) -> str | None:
    """The store key of one block, or None when its arguments are not plain data (then it is not stored)."""
    if not isinstance(source, str):
        return None
    try:
        described = json.dumps([tools, source, lang, opts, force, kwargs], sort_keys=True)
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(described.encode()).hexdigest()


def keep_highlighting(app, highlighter, store: Path) -> None:
    """Make `highlighter.highlight_block` answer from `store` the blocks it highlighted before."""
    highlight = highlighter.highlight_block
    tools = highlighter_key(highlighter)

    def highlight_block(source, lang, opts=None, force=False, location=None, **kwargs):
        key = block_key(tools, source, lang, opts, force, kwargs)
        if key is None:
            return highlight(source, lang, opts, force, location, **kwargs)
        entry = framecache.read_entry(store, key)
        if entry is not None and isinstance(entry.get("html"), str):
            return entry["html"]
        warnings = getattr(app, "_warncount", None)
        html = highlight(source, lang, opts, force, location, **kwargs)
        if warnings is not None and getattr(app, "_warncount", None) == warnings and isinstance(html, str):
            framecache.write_entry(store, key, {"html": html})
        return html

    highlighter.highlight_block = highlight_block


def _builder_inited(app) -> None:
    if app.builder.format != "html":
        return
    build = Path(app.outdir).parent
    highlighter = getattr(app.builder, "highlighter", None)
    if highlighter is not None:
        keep_highlighting(app, highlighter, build / HIGHLIGHT_STORE)
    templates = getattr(app.builder, "templates", None)
    environment = getattr(templates, "environment", None)
    if environment is not None and environment.bytecode_cache is None:
        keep_templates(environment, build / JINJA_STORE)


def jinja_key(environment) -> str:
    """What, besides a template's source (Jinja's own check), its compiled code depends on."""
    described = {
        "versions": versions(["jinja2", "sphinx"]),
        "environment": type(environment).__qualname__,
        "extensions": sorted(environment.extensions),
        "options": [described_value(getattr(environment, name, None)) for name in JINJA_OPTIONS],
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


def keep_templates(environment, store: Path) -> None:
    """Jinja's bytecode cache for `environment`, in a folder of `store` named by jinja_key (others go)."""
    from jinja2 import FileSystemBytecodeCache

    folder = store / jinja_key(environment)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for other in store.iterdir():
            if other != folder and other.is_dir():
                shutil.rmtree(other, ignore_errors=True)
    except OSError:
        return  # no store: the templates are compiled, as before
    environment.bytecode_cache = FileSystemBytecodeCache(str(folder))


def _env_updated(app, env) -> None:
    """Copy MyST-NB's stylesheet into ``_static`` before any page is written.

    MyST-NB copies it only once the build has finished (``add_global_html_resources``), so the
    pages of a clean build were written before it was there, and Sphinx named it without the
    ``?v=`` digest it gives a file it finds; every later build named it with one. The first
    rebuild after a clean build therefore changed every page it wrote, and typeset them again
    (2.5 s, the typeset store missed). Copied now, the file is named the same way by every build.
    """
    if app.builder.format != "html":
        return
    try:
        from myst_nb.sphinx_ext import add_global_html_resources
    except ImportError:  # another MyST-NB: its pages are as before, a rebuild after a clean build is slower
        return
    Path(app.outdir, "_static").mkdir(parents=True, exist_ok=True)
    add_global_html_resources(app, None)


def _build_finished(app, exception) -> None:
    if app.builder.format == "html":
        framecache.prune(Path(app.outdir).parent / HIGHLIGHT_STORE, max_bytes=HIGHLIGHT_MAX_BYTES)


def setup(app) -> dict:
    app.connect("builder-inited", _builder_inited)
    app.connect("env-updated", _env_updated)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
