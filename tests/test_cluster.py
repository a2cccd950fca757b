"""`grade --scheduler`: a class graded on a real local Dask cluster, against the same class graded locally.

Each cluster is a scheduler and workers started as separate processes (the
`dask` command line, on 127.0.0.1 only, one thread per worker, no nanny so that
a killed worker stays dead). Grading runs through the command line, locally
(`--jobs 2`) and with `--scheduler`, and every file the two runs write must be
the same bytes. The class is chapter 02 with hostile students from
tests/test_adversarial.py, so the sandbox is shown to hold on the workers too.
Needs requirements-cluster.txt (`make test` installs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from test_adversarial import BASE, FAULTS, FULL, HOSTILE, REFERENCE, SLUG, WRONG, _fill, notebook

from autograder import cluster, report
from autograder import notebooks as nbs
from autograder.sandbox import available

try:
    import distributed
except ImportError:
    if os.environ.get("CI"):  # CI runs `make test`, which installs it: missing there is a failure
        raise
    pytest.skip("needs requirements-cluster.txt (make test installs it)", allow_module_level=True)

# Generous: the development machine has 2 cores shared by several jobs.
START_SECONDS = 180
GRADE_SECONDS = 600
LIMITS = ["--cell-timeout", "10", "--timeout", "60"]
HELD = ["patch-assert-allclose", "read-solutions", "write-output", "see-other-student"]
LOOPS = "loops-while-defining"  # an endless loop: it holds its worker slot for --cell-timeout only
SLEEPER = "import time\ntime.sleep(4)  # a slow honest student: still being graded when its worker is killed"

NO_SANDBOX = available()
pytestmark = pytest.mark.skipif(bool(NO_SANDBOX), reason=f"no sandbox on this machine: {NO_SANDBOX}")


def _wait_for(check, what: str, seconds: float = START_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up after {seconds} s waiting for {what}")


@contextlib.contextmanager
def local_cluster(folder: Path, workers: int):
    """A scheduler and ``workers`` workers, each its own process; yields (address, {worker pid: process})."""
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(nbs.ROOT)}
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        with open(folder / f"{name}.log", "wb") as log:
            cmd = [sys.executable, "-m", "dask", *args, "--no-dashboard"]
            procs.append(subprocess.Popen(cmd, cwd=nbs.ROOT, env=env, stdout=log, stderr=log))
        return procs[-1]

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(info))
        address = _wait_for(lambda: info.exists() and json.loads(info.read_text() or "{}").get("address"), "scheduler")
        pool = {}
        for i in range(workers):
            args = ["--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--local-directory", str(folder / f"w{i}")]
            proc = start(f"worker{i}", "worker", address, "--name", f"w{i}", *args)
            pool[proc.pid] = proc
        if workers:
            with distributed.Client(address, set_as_default=False, timeout=START_SECONDS) as client:
                client.wait_for_workers(workers, timeout=START_SECONDS)
        yield address, pool
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def grade_cli(subs: Path, out: Path, *extra: str, wait: float | None = None, background: bool = False):
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), *LIMITS, *extra]
    env = dict(os.environ)
    if wait is not None:
        env["DASK_AUTOGRADER__NO_WORKER_WAIT"] = str(wait)
    if background:
        return subprocess.Popen(cmd, cwd=nbs.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(cmd, cwd=nbs.ROOT, env=env, capture_output=True, text=True, timeout=GRADE_SECONDS)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def reports(out: Path) -> dict[str, bytes]:
    """Every file a grading run wrote: relative path -> bytes."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def grades(out: Path) -> dict[str, tuple[str, float]]:
    import csv

    with open(out / "grades.csv", newline="") as f:
        return {r["student_id"]: (r["status"], float(r["score"])) for r in csv.DictReader(f)}


def write(subs: Path, student: str, nb) -> None:
    nbs.write(nb, subs / student / SLUG / f"{SLUG}.ipynb")


def hostile_class(subs: Path, out: Path) -> dict[str, tuple[str, float]]:
    """Honest, wrong, hostile and broken students of chapter 02; returns student -> (status, score) expected."""
    paths = {
        "solution": str(nbs.source_path(SLUG)),
        "solutions": str(nbs.source_path(SLUG).parent.parent),
        "other": str(subs / "honest" / SLUG / f"{SLUG}.ipynb"),
        "submissions": str(subs),
        "out": str(out),
    }
    write(subs, "honest", notebook(REFERENCE))
    write(subs, "wrong", notebook(WRONG))
    write(subs, "blank", nbs.read(nbs.release_path(SLUG)))
    expected = {"honest": ("ok", FULL), "wrong": ("ok", BASE), "blank": ("not-attempted", 0.0)}
    for student in HELD:
        answers, status, score = HOSTILE[student]
        write(subs, student, notebook({k: _fill(v, paths) for k, v in answers.items()}))
        expected[student] = (status, float(score))
    answers, extra, score, _ = FAULTS[LOOPS]
    write(subs, LOOPS, notebook(answers, extra))
    expected[LOOPS] = ("ok", float(score))
    (subs / "damaged" / SLUG).mkdir(parents=True)
    (subs / "damaged" / SLUG / f"{SLUG}.ipynb").write_bytes(b'{"cells": [')
    (subs / "linked" / SLUG).mkdir(parents=True)
    (subs / "linked" / SLUG / f"{SLUG}.ipynb").symlink_to(nbs.source_path(SLUG))
    (subs / "absent").mkdir()
    expected.update({"damaged": ("unreadable", 0.0), "linked": ("unreadable", 0.0), "absent": ("missing", 0.0)})
    return expected


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    with local_cluster(tmp_path_factory.mktemp("cluster"), workers=2) as (address, pool):
        yield address, pool


def test_cluster_reports_are_the_local_reports_byte_for_byte_and_hostile_code_is_held(two_workers, tmp_path):
    address, _ = two_workers
    subs = tmp_path / "submissions"
    expected = hostile_class(subs, tmp_path / "remote")
    grade_cli(subs, tmp_path / "local", "--jobs", "2")
    done = grade_cli(subs, tmp_path / "remote", "--scheduler", address)
    assert grades(tmp_path / "remote") == expected  # held as locally: hostile code scores what it must
    local, remote = reports(tmp_path / "local"), reports(tmp_path / "remote")
    assert {"grades.csv", "tests.csv", "summary.html", f"feedback/honest/{SLUG}.html"} <= set(remote)
    assert remote == local
    assert not (tmp_path / "remote" / "pwned.txt").exists()
    assert f"{len(expected)}/{len(expected)}" in done.stderr  # the progress bar reached the end
    assert "most failed" in done.stdout  # and the summary was printed


def test_a_worker_killed_mid_run_loses_no_notebook(tmp_path):
    subs = tmp_path / "submissions"
    expected = {}
    for i in range(4):  # sorted first, so both workers start on one
        write(subs, f"a-slow-{i}", notebook(REFERENCE, SLEEPER))
        expected[f"a-slow-{i}"] = ("ok", FULL)
    write(subs, "honest", notebook(REFERENCE))
    write(subs, "wrong", notebook(WRONG))
    expected.update({"honest": ("ok", FULL), "wrong": ("ok", BASE)})
    grade_cli(subs, tmp_path / "local", "--jobs", "2")
    with local_cluster(tmp_path / "cluster", workers=2) as (address, pool):
        run = grade_cli(subs, tmp_path / "remote", "--scheduler", address, background=True)
        with distributed.Client(address, set_as_default=False) as client:
            pids = client.run(os.getpid)

            def grading_a_slow_one():
                busy = client.processing()
                return next((w for w, keys in busy.items() if any("a-slow" in str(k) for k in keys)), None)

            victim = _wait_for(grading_a_slow_one, "a worker to start on a slow notebook")
            assert pids[victim] in pool  # one of the processes this test started
            os.kill(pids[victim], signal.SIGKILL)
            _, stderr = run.communicate(timeout=GRADE_SECONDS)
        assert run.returncode == 0, stderr[-3000:]
        assert pool[pids[victim]].wait(timeout=30) == -signal.SIGKILL
    assert grades(tmp_path / "remote") == expected
    assert reports(tmp_path / "remote") == reports(tmp_path / "local")


def test_a_worker_on_another_commit_grades_nothing(two_workers):
    from autograder.cluster_task import CourseMismatch, fingerprint
    from autograder.cluster_task import grade as task

    address, _ = two_workers
    raw = nbs.dumps(notebook(REFERENCE)).encode()
    settings = {"cell_timeout": 10, "notebook_timeout": 60, "sandbox": True, "hide": []}
    with distributed.Client(address, set_as_default=False) as client:
        # No plugin of that name (as after a scheduler restart): the task starts its own runner.
        right = client.submit(task, "no-such-plugin", SLUG, raw, settings, fingerprint(SLUG), pure=False)
        other = client.submit(task, "no-such-plugin", SLUG, raw, settings, "0" * 64, pure=False)
        assert cluster.checked(right.result(timeout=GRADE_SECONDS), SOURCE)["score"] == FULL
        with pytest.raises(CourseMismatch, match="check out the same commit there"):
            other.result(timeout=GRADE_SECONDS)


def test_with_no_worker_left_every_row_is_still_written(tmp_path):
    subs = tmp_path / "submissions"
    write(subs, "honest", notebook(REFERENCE))
    (subs / "absent").mkdir()
    with local_cluster(tmp_path / "cluster", workers=0) as (address, _):
        grade_cli(subs, tmp_path / "out", "--scheduler", address, wait=3)
    assert grades(tmp_path / "out") == {"honest": ("error", 0.0), "absent": ("missing", 0.0)}
    reason = (tmp_path / "out" / "grades.csv").read_text()
    assert f"the Dask scheduler at {address} had no worker for 3 s" in reason


def test_without_dask_scheduler_says_what_to_install(tmp_path):
    (tmp_path / "subs" / "alice" / SLUG).mkdir(parents=True)
    code = (
        "import sys; sys.modules['distributed'] = None\n"  # as if requirements-cluster.txt were not installed
        "from autograder.cli import main\n"
        f"sys.exit(main(['grade', {str(tmp_path / 'subs')!r}, '--scheduler', 'tcp://127.0.0.1:1']))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=nbs.ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "pip install -r requirements-cluster.txt" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_scheduler_exits_2_with_a_message(tmp_path, monkeypatch):
    (tmp_path / "subs" / "alice" / SLUG).mkdir(parents=True)
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 2)
    from autograder.cli import main

    with socket_nobody_listens() as port:
        assert main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--scheduler", port]) == 2
    assert not (tmp_path / "out").exists()


@contextlib.contextmanager
def socket_nobody_listens():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, never listening: a connection is refused
        yield f"tcp://127.0.0.1:{s.getsockname()[1]}"


# -- The check of a worker's result, here where grade runs -------------------------------------------------------

SOURCE = nbs.read(nbs.source_path(SLUG))


def genuine() -> dict:
    tests = [nbs.grade_id(c) for c in nbs.test_cells(SOURCE)]
    outcomes = {
        t: {"passed": i % 2 == 0, "message": "" if i % 2 == 0 else "AssertionError: no"} for i, t in enumerate(tests)
    }
    return report.result("ok", "", SOURCE, outcomes)


def test_a_genuine_result_is_taken_as_it_is():
    result = genuine()
    assert 0 < result["score"] < result["max_score"]
    assert cluster.checked(json.loads(json.dumps(result)), SOURCE) == result


def _forged(change) -> dict:
    result = genuine()
    change(result)
    return result


FORGED = {
    "points a test does not have": lambda r: r["tests"][0].update(points=100.0),
    "a higher score": lambda r: r.update(score=r["max_score"] + 1),
    "another max score": lambda r: r.update(max_score=1.0),
    "a test the course lacks": lambda r: r["tests"].append({**r["tests"][0], "test": "test_bonus"}),
    "a test left out": lambda r: r["tests"].pop(),
    "a hidden test shown as visible": lambda r: [t.update(hidden=False) for t in r["tests"]],
    "points while tampered": lambda r: r.update(status="tampered", reason="x"),
    "a status that is markup": lambda r: r.update(status="<b>ok</b>"),
    "passed as a string": lambda r: r["tests"][0].update(passed="yes"),
    "a message that is not text": lambda r: r["tests"][1].update(message=["<b>", "x"]),
    "an empty result": lambda r: r.clear(),
}


@pytest.mark.parametrize("forgery", FORGED)
def test_a_forged_result_is_refused(forgery):
    with pytest.raises(ValueError):
        cluster.checked(_forged(FORGED[forgery]), SOURCE)


def test_a_changed_course_changes_the_fingerprint(tmp_path):
    from autograder.cluster_task import fingerprint

    for part in ("autograder", "solutions", "chapters"):
        subprocess.run(["cp", "-r", str(nbs.ROOT / part), str(tmp_path / part)], check=True)
    before = fingerprint(SLUG, tmp_path)
    assert before == fingerprint(SLUG, nbs.ROOT)
    release = nbs.release_path(SLUG, tmp_path)
    nb = nbs.read(release)
    nb.cells.append(nbformat.v4.new_markdown_cell("an erratum"))
    nbs.write(nb, release)
    assert fingerprint(SLUG, tmp_path) != before
