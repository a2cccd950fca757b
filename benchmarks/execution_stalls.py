"""Run a chapter many times, several at once, with nbclient's own client and with the course's; count stalls.

    .venv/bin/python benchmarks/execution_stalls.py                          # 01_challenges, 12 runs each, 4 at once
    .venv/bin/python benchmarks/execution_stalls.py --chapter 04_initialization --runs 6

A stall is nbclient's bug with Output widgets (jupyter/nbclient#312; see
autograder/execution.py, QuietOutputWidget): after an ``interact`` demo the cell's reply is
left unread until the cell timeout, and the run then carries on as if nothing happened, so
it shows only as lost time. This script finds it from the kernel's own timestamps: a gap of
more than half the timeout between one cell's reply and the next cell's start. Each run is
the source notebook with its answers, in a process of its own, with ``--timeout`` per cell.
Stalls are likelier on a loaded machine; run something else at the same time to see more.
It prints, per client, the runs, the stalls and the mean seconds per run, and exits non-zero
if the course's client stalled. Use it before dropping the workaround for a new nbclient.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import notebooks as nbs  # noqa: E402

ONE_RUN = """
import json, sys, time
import nbformat
from nbclient import NotebookClient
from autograder.execution import HeadlessClient

path, timeout, kind = sys.argv[1], float(sys.argv[2]), sys.argv[3]
nb = nbformat.read(path, as_version=4)
cls = HeadlessClient if kind == "course" else NotebookClient
start = time.monotonic()
cls(nb, timeout=timeout, allow_errors=True, kernel_name="python3", record_timing=True).execute()
times = [c.metadata.get("execution", {}) for c in nb.cells if c.cell_type == "code"]
print(json.dumps({"seconds": time.monotonic() - start, "times": times}))
"""


def stalls(times: list[dict], timeout: float) -> int:
    """Gaps longer than half the timeout between a cell's reply and the next cell's start (kernel clock)."""

    def at(stamp: str) -> float:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()

    ran = [t for t in times if "iopub.status.busy" in t and "shell.execute_reply" in t]
    return sum(
        at(b["iopub.status.busy"]) - at(a["shell.execute_reply"]) > timeout / 2 for a, b in itertools.pairwise(ran)
    )


def one_run(path: Path, timeout: float, kind: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", ONE_RUN, str(path), str(timeout), kind],
        capture_output=True,
        text=True,
        cwd=path.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    return {"kind": kind, "seconds": result["seconds"], "stalls": stalls(result["times"], timeout)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chapter", default="01_challenges")
    p.add_argument("--runs", type=int, default=12, help="runs per client (default: %(default)s)")
    p.add_argument("--parallel", type=int, default=4, help="runs at once (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=60, help="seconds per cell (default: %(default)s)")
    args = p.parse_args()
    path = nbs.source_path(args.chapter)
    kinds = ["nbclient", "course"] * args.runs  # interleaved: both see the same load
    with ThreadPoolExecutor(args.parallel) as pool:
        results = list(pool.map(lambda kind: one_run(path, args.timeout, kind), kinds))
    failed = False
    for kind in ("nbclient", "course"):
        mine = [r for r in results if r["kind"] == kind]
        runs_stalled = sum(r["stalls"] > 0 for r in mine)
        print(
            f"{kind:9s} {len(mine)} runs, {runs_stalled} with a stall ({sum(r['stalls'] for r in mine)} stalls), "
            f"{statistics.mean(r['seconds'] for r in mine):.1f} s per run"
        )
        failed |= kind == "course" and runs_stalled > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
