"""Grade the same class locally and on a local Dask cluster of 2 workers; print both and the overhead.

    .venv/bin/python benchmarks/cluster_speed.py                  # 20 students x 02_momentum
    .venv/bin/python benchmarks/cluster_speed.py --students 40 --chapter 01_challenges

Needs requirements-cluster.txt. The class is the one benchmarks/grading_speed.py
makes (reference answers, listed mistakes, untouched releases, damaged files).
Locally: ``grade(..., jobs=2)``, the sandbox on. On the cluster: a scheduler and
2 workers of one thread each, separate processes on 127.0.0.1 like a real
cluster's, started before the clock (a standing cluster), then
``grade(..., scheduler=ADDRESS)`` twice: the first run also pays the workers'
first import of the grader; both include starting a warm runner on each worker.
Every run's reports must be the same bytes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from grading_speed import make_class  # noqa: E402

from autograder.grade import grade  # noqa: E402

WORKERS = 2


def start_cluster(folder: Path) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and WORKERS one-thread workers, each its own process; returns (address, processes)."""
    import distributed

    info = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # as README "Setting up the nodes": the checkout on PYTHONPATH,
    quiet = {"cwd": folder, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}  # any folder,
    dask = [str(Path(sysconfig.get_path("scripts")) / "dask")]  # and the `dask` console script
    procs = [
        subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
            **quiet,
        )
    ]
    deadline = time.monotonic() + 180
    while not (info.exists() and info.read_text()):
        if time.monotonic() > deadline:
            raise SystemExit("the scheduler did not start within 180 s")
        time.sleep(0.1)
    address = json.loads(info.read_text())["address"]
    for i in range(WORKERS):
        procs.append(
            subprocess.Popen(
                [
                    *dask,
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--local-directory",
                    str(folder / f"w{i}"),
                ],
                **quiet,
            )
        )
    with distributed.Client(address, set_as_default=False, timeout=180) as client:
        client.wait_for_workers(WORKERS, timeout=180)
    return address, procs


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=20)
    p.add_argument("--chapter", action="append", help="default: 02_momentum")
    args = p.parse_args()
    chapters = args.chapter or ["02_momentum"]
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        tmp = Path(tmp)
        subs = tmp / "submissions"
        make_class(subs, args.students, chapters)
        n = args.students * len(chapters)

        t0 = time.monotonic()
        grade(subs, tmp / "local", chapters, jobs=WORKERS, progress=io.StringIO())
        local = time.monotonic() - t0

        t0 = time.monotonic()
        address, procs = start_cluster(tmp)
        startup = time.monotonic() - t0
        try:
            remote = []
            for run in ("cluster", "again"):
                t0 = time.monotonic()
                grade(subs, tmp / run, chapters, scheduler=address, progress=io.StringIO())
                remote.append(time.monotonic() - t0)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
        same = files(tmp / "local") == files(tmp / "cluster") == files(tmp / "again")

    load = os.getloadavg()[0]
    print(f"{args.students} students x {len(chapters)} chapter(s) = {n} notebooks ({', '.join(chapters)})")
    print("| run | seconds | per notebook |\n|---|---|---|")
    print(f"| local, `--jobs {WORKERS}`, sandboxed | {local:.1f} | {local / n:.2f} s |")
    for label, seconds in zip(("first run", "second run"), remote, strict=True):
        print(f"| Dask, {WORKERS} local workers x 1 thread, sandboxed, {label} | {seconds:.1f} | {seconds / n:.2f} s |")
    print(f"overhead per notebook on the cluster, second run: {(remote[1] - local) / n:+.3f} s")
    print(f"cluster start-up (not counted above): {startup:.1f} s; load average now {load:.1f}")
    print(f"reports identical: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
