"""How long the book takes to build, clean and cached, and what a rebuild re-executes.

    .venv/bin/python benchmarks/build_speed.py [--chapter SLUG] [--keep DIR]

The book executes its notebooks at build time with `execute_notebooks: cache`: jupyter-cache
keys each executed notebook by a hash of its code cells (and kernel), so a rebuild runs again
only the notebooks whose code changed. This script measures that, in one run, on a copy of
the book's sources in a temporary folder (the working tree is left alone):

1. clean       a build from nothing (every chapter executed);
2. touched     the same build after `touch`ing one chapter's notebook (its modification time
               changes, its content does not: Sphinx re-reads the page, the cache answers);
3. edited      the same build after changing one line of code in that chapter (only that
               chapter is executed again).

Each build is the strict one (`-W -n --keep-going`), into one output folder so the cache
carries over. It prints, per build, the seconds, the ratio to the clean build, and which
notebooks were executed and which came from the cache, read from the build log (MyST-NB's
"Executing notebook" and "Using cached notebook" lines) and checked against the
jupyter-cache database. It exits non-zero if a build fails or a rebuild executes any
notebook other than the one edited.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
JB = Path(sys.executable).with_name("jupyter-book")
SKIP = {".git", ".venv", "_build", "node_modules", "sample_class", "grading-output", "__pycache__", ".ruff_cache"}

EXECUTED = re.compile(r"(\S+\.ipynb): Executing notebook")
CACHED = re.compile(r"(\S+\.ipynb): Using cached notebook")
TOOK = re.compile(r"(\S+\.ipynb): Executed notebook in ([0-9.]+) seconds")


def toc_chapters(src: Path) -> list[str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import book  # the same reading of _toc.yml as the browser tests

    old, book.ROOT = book.ROOT, src
    try:
        return book.chapters()
    finally:
        book.ROOT = old


def copy_sources(dest: Path) -> Path:
    src = dest / "book-src"
    shutil.copytree(ROOT, src, ignore=lambda d, names: [n for n in names if n in SKIP])
    return src


def build(src: Path, out: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [str(JB), "build", str(src), "-W", "-n", "--keep-going", "--path-output", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    seconds = time.perf_counter() - start
    log = done.stdout + done.stderr
    if done.returncode != 0:
        print(log[-4000:], file=sys.stderr)
        raise SystemExit(f"the build failed (exit {done.returncode})")
    return seconds, log


def chapter_of(path: str) -> str:
    return Path(path).stem


def summary(log: str) -> dict:
    return {
        "executed": sorted({chapter_of(p) for p in EXECUTED.findall(log)}),
        "cached": sorted({chapter_of(p) for p in CACHED.findall(log)}),
        "execution_seconds": {chapter_of(p): float(s) for p, s in TOOK.findall(log)},
    }


def cache_records(out: Path) -> list[dict]:
    """What jupyter-cache holds after a build: one record per executed notebook version."""
    from jupyter_cache import get_cache

    cache = get_cache(out / "_build" / ".jupyter_cache")
    return [
        {"id": r.pk, "notebook": Path(r.uri).stem, "created": r.created.isoformat(timespec="seconds")}
        for r in cache.list_cache_records()
    ]


def edit_code(notebook: Path) -> None:
    """Change one line of code (a comment at the end of the last code cell): the cache key changes."""
    nb = nbformat.read(notebook, as_version=4)
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    last.source += f"\n# edited by benchmarks/build_speed.py at {time.time():.0f}"
    nbformat.write(nb, notebook)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chapter", help="the chapter to touch and edit (default: the first in _toc.yml)")
    ap.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary one)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="build-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        src = copy_sources(work)
        out = work / "out"
        chapters = toc_chapters(src)
        if not chapters:
            raise SystemExit("_toc.yml lists no chapter")
        slug = args.chapter or chapters[0]
        if slug not in chapters:
            raise SystemExit(f"{slug} is not in _toc.yml ({', '.join(chapters)})")
        notebook = src / "chapters" / slug / f"{slug}.ipynb"
        print(f"building {len(chapters)} chapters ({', '.join(chapters)}) from a copy in {src}")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}\n")

        runs = {}
        seconds, log = build(src, out)
        runs["clean"] = {"seconds": seconds, **summary(log)}
        after_clean = cache_records(out)

        notebook.touch()
        seconds, log = build(src, out)
        runs["touched"] = {"seconds": seconds, "changed": f"{slug} (modification time only)", **summary(log)}

        edit_code(notebook)
        seconds, log = build(src, out)
        runs["edited"] = {"seconds": seconds, "changed": f"{slug} (one line of code)", **summary(log)}
        after_edit = cache_records(out)

        clean = runs["clean"]["seconds"]
        print(f"{'build':9s} {'seconds':>8s} {'ratio':>6s}  executed / from cache")
        for name, r in runs.items():
            print(
                f"{name:9s} {r['seconds']:8.1f} {r['seconds'] / clean:6.2f}  "
                f"executed {r['executed'] or 'none'}; cached {r['cached'] or 'none'}"
            )
        new_records = [r for r in after_edit if r["id"] not in {c["id"] for c in after_clean}]
        print(
            f"\njupyter-cache: {len(after_clean)} records after the clean build, "
            f"new after the edit: {[r['notebook'] for r in new_records] or 'none'}"
        )
        print(f"per-notebook execution in the clean build (s): {runs['clean']['execution_seconds']}")

        if args.json:
            args.json.write_text(json.dumps({"chapters": chapters, "runs": runs}, indent=1) + "\n")

        problems = []
        if sorted(runs["clean"]["executed"]) != sorted(chapters):
            problems.append(f"the clean build executed {runs['clean']['executed']}, not every chapter")
        if runs["touched"]["executed"]:
            problems.append(f"touching {slug} re-executed {runs['touched']['executed']}")
        if runs["edited"]["executed"] != [slug]:
            problems.append(f"editing {slug} re-executed {runs['edited']['executed']}, not just {slug}")
        for p in problems:
            print("PROBLEM:", p, file=sys.stderr)
        return 1 if problems else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
