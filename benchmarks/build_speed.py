"""How long the book takes to build, clean and cached, and what a rebuild re-executes.

    .venv/bin/python benchmarks/build_speed.py [--chapter SLUG] [--baseline REV] [--keep DIR]

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
jupyter-cache database, and the seconds against the budgets of issue 23 (clean < 30 s,
touched < 5 s, edited < 15 s). With `--touched-runs N` the touched rebuild is done N times (each
tree in turn) and the median is the figure: a single rebuild of a few seconds moves by a third
with the shared machine's load. It exits non-zero if a build fails or a rebuild executes any
notebook other than the one edited (not when a build is over its budget: the seconds follow
the machine's load, so compare within one run).

With `--baseline REV` it also builds git revision REV (`git archive` into the temporary
folder) the same three ways, each build of REV just before the same build of the current
tree, so that both see the same load, and prints the ratios current/baseline. Each copy is
built with its own `autograder/` and `book/` (PYTHONPATH is the copy).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
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
    if (ROOT / "node_modules").is_dir():  # book/typeset.py typesets the math with node_modules' MathJax
        (src / "node_modules").symlink_to(ROOT / "node_modules")
    return src


def build(src: Path, out: Path) -> tuple[float, str]:
    # The way `make book` builds the copy: `python -m book.build` where the copy has it, else jupyter-book.
    command = [sys.executable, "-m", "book.build"] if (src / "book" / "build.py").is_file() else [str(JB)]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "build", str(src), "-W", "-n", "--keep-going", "--path-output", str(out)],
        cwd=src,
        capture_output=True,
        text=True,
        # The copy's own autograder/ and book/, not those of the tree this script runs from.
        env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(src)},
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
    # A notebook executed before Sphinx reads it (in parallel, book/execution.py) is then read from the cache.
    executed = {chapter_of(p) for p in EXECUTED.findall(log)}
    return {
        "executed": sorted(executed),
        "cached": sorted({chapter_of(p) for p in CACHED.findall(log)} - executed),
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


BUDGETS = {"clean": 30.0, "touched": 5.0, "edited": 15.0}
"""Seconds each build may take on the 2-core machine (issue 23): printed beside the figures."""
PHASES = ("clean", "touched", "edited")


@dataclass
class Tree:
    """One copy of the book's sources, built three times into one output folder."""

    label: str
    src: Path
    out: Path
    slug: str
    runs: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)
    samples: dict = field(default_factory=dict)

    @property
    def notebook(self) -> Path:
        return self.src / "chapters" / self.slug / f"{self.slug}.ipynb"

    def phase(self, name: str) -> None:
        """Change the sources as phase `name` says, build, and record the figures."""
        changed = {"touched": "modification time only", "edited": "one line of code"}
        if name == "touched":
            self.notebook.touch()
        elif name == "edited":
            edit_code(self.notebook)
        seconds, log = build(self.src, self.out)
        samples = self.samples.setdefault(name, [])
        samples.append(seconds)
        before = self.runs.get(name, {}).get("executed", [])
        self.runs[name] = {"seconds": statistics.median(samples), **summary(log)}
        # What any of the repeated builds executed, so that problems_of sees every one of them.
        self.runs[name]["executed"] = sorted(set(before) | set(self.runs[name]["executed"]))
        if len(samples) > 1:
            self.runs[name]["samples"] = [round(s, 2) for s in samples]
        if name in changed:
            self.runs[name]["changed"] = f"{self.slug} ({changed[name]})"
        self.records[name] = cache_records(self.out)
        print(f"  {self.label:9s} {name:8s} {seconds:6.1f} s", flush=True)


def checkout(rev: str, dest: Path) -> Path:
    """The sources of git revision `rev`, extracted into `dest` (git archive), as `benchmarks/book_weight.py` does."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev], capture_output=True, check=True)
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as archive:
        archive.extractall(dest, filter="data")
    return dest


def report(tree: Tree) -> None:
    clean = tree.runs["clean"]["seconds"]
    print(f"\n{tree.label}: {'build':9s} {'seconds':>8s} {'ratio':>6s} {'budget':>7s}  executed / from cache")
    for name, r in tree.runs.items():
        verdict = "ok" if r["seconds"] < BUDGETS[name] else "OVER"
        print(
            f"{'':{len(tree.label) + 2}s}{name:9s} {r['seconds']:8.1f} {r['seconds'] / clean:6.2f} "
            f"{'<' + format(BUDGETS[name], 'g'):>5s} {verdict:4s} "
            f"executed {r['executed'] or 'none'}; cached {r['cached'] or 'none'}"
        )
        if "samples" in r:
            print(f"{'':{len(tree.label) + 12}s}the median of {len(r['samples'])} builds: {r['samples']} s")
    took = tree.runs["clean"]["execution_seconds"]
    print(f"  per-notebook execution in the clean build (s): {took} (sum {sum(took.values()):.1f})")
    first = {r["id"] for r in tree.records["clean"]}
    new = [r["notebook"] for r in tree.records["edited"] if r["id"] not in first]
    print(f"  jupyter-cache: {len(first)} records after the clean build, new after the edit: {new or 'none'}")


def problems_of(tree: Tree, chapters: list[str]) -> list[str]:
    runs, slug, problems = tree.runs, tree.slug, []
    if sorted(runs["clean"]["executed"]) != sorted(chapters):
        problems.append(f"{tree.label}: the clean build executed {runs['clean']['executed']}, not every chapter")
    if runs["touched"]["executed"]:
        problems.append(f"{tree.label}: touching {slug} re-executed {runs['touched']['executed']}")
    if runs["edited"]["executed"] != [slug]:
        problems.append(f"{tree.label}: editing {slug} re-executed {runs['edited']['executed']}, not just {slug}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chapter", help="the chapter to touch and edit (default: the first in _toc.yml)")
    ap.add_argument(
        "--baseline", metavar="REV", help="also build git revision REV, each build in turn with the current tree's"
    )
    ap.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary one)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument(
        "--touched-runs",
        type=int,
        default=1,
        metavar="N",
        help="touch and rebuild N times (each tree in turn) and report the median: one rebuild moves with the load",
    )
    args = ap.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="build-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        src = copy_sources(work)
        chapters = toc_chapters(src)
        if not chapters:
            raise SystemExit("_toc.yml lists no chapter")
        slug = args.chapter or chapters[0]
        if slug not in chapters:
            raise SystemExit(f"{slug} is not in _toc.yml ({', '.join(chapters)})")
        trees = [Tree("current", src, work / "out", slug)]
        if args.baseline:
            base = checkout(args.baseline, work / "baseline-src")
            if slug not in toc_chapters(base):
                raise SystemExit(f"{args.baseline} has no chapter {slug}")
            trees.insert(0, Tree(f"baseline {args.baseline}", base, work / "baseline-out", slug))
        print(f"building {len(chapters)} chapters ({', '.join(chapters)}) from a copy in {src}")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}\n")

        for name in PHASES:  # each build of one tree, then the same build of the other: same load, in turn
            for _ in range(max(1, args.touched_runs) if name == "touched" else 1):
                for tree in trees:
                    tree.phase(name)
        for tree in trees:
            report(tree)
        if args.baseline:
            print(
                "\ncurrent / baseline:",
                ", ".join(
                    f"{name} {trees[1].runs[name]['seconds'] / trees[0].runs[name]['seconds']:.2f}" for name in PHASES
                ),
            )
        print(f"load at the end {os.getloadavg()[0]:.1f}")

        if args.json:
            figures = {"chapters": chapters, "trees": {t.label: t.runs for t in trees}}
            args.json.write_text(json.dumps(figures, indent=1) + "\n")

        problems = [p for tree in trees for p in problems_of(tree, chapters)]
        for p in problems:
            print("PROBLEM:", p, file=sys.stderr)
        return 1 if problems else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
