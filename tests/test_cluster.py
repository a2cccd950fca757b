"""`grade --scheduler`: a class graded on a real local Dask cluster, against the same class graded locally.

Each cluster is a scheduler and workers started as separate processes with
the README's own commands (read from README.md, "Setting up the nodes"): the
`dask` console script, from a folder outside the repository, with the course
under test on PYTHONPATH; the test adds only where they listen (127.0.0.1, a
free port), one thread per worker, and no nanny where a killed worker must stay
dead. Grading runs through the command line, locally (`--jobs 2`) and with
`--scheduler`, and every file the two runs write must be the same bytes: for
the sample class, and for chapter 02 with hostile students from
tests/test_adversarial.py, so the sandbox is shown to hold on the workers too.
Nodes that cannot import the course (a Python without it) stop `grade` with one
line.
Needs requirements-cluster.txt (`make test` installs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
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


COURSE = nbs.PACKAGE_ROOT  # the checkout under test: the nodes are given this one, not whatever is installed
DASK = Path(sysconfig.get_path("scripts")) / "dask"  # the console script `pip install dask` puts next to python
HOST = "tcp://HOST:8786"


def readme_commands() -> dict[str, list[str]]:
    """The README's commands that start a Dask node with the checkout on PYTHONPATH: role -> words after `dask`.

    Read from the bash block of "Setting up the nodes"; the installed form (`.../.venv/bin/dask`)
    must give the same words, so both stay what this module runs.
    """
    text = (COURSE / "README.md").read_text()
    block = next(b for b in re.findall(r"```bash\n(.*?)```", text, re.S) if "dask scheduler" in b)
    found: dict[tuple[str, str], list[str]] = {}
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["PYTHONPATH=/srv/course"]:
            form, words = "pythonpath", words[1:]
        elif words[:1] == ["/srv/course/.venv/bin/dask"]:
            form = "installed"
        else:
            continue
        assert Path(words[0]).name == "dask", line  # the console script, never `python -m dask`
        found[form, words[1]] = words[1:]
    for role in ("scheduler", "worker"):
        assert found["installed", role] == found["pythonpath", role], f"the README's two ways to start a {role} differ"
    assert HOST in found["pythonpath", "worker"]
    return {role: found["pythonpath", role] for role in ("scheduler", "worker")}


README = readme_commands()


def node(
    role: str,
    folder: Path,
    name: str,
    *extra: str,
    address: str = "",
    python: Path | None = None,
    course: Path | None = COURSE,
):
    """A Dask node started as the README says, from ``folder`` (outside the repository); logs in ``folder``.

    ``course`` goes on PYTHONPATH (None: PYTHONPATH unset); ``python`` runs the same console
    script with another interpreter (one that cannot import the course).
    """
    assert DASK.is_file(), f"no `dask` console script at {DASK}: install requirements-cluster.txt into this Python"
    args = [address if word == HOST else word for word in README[role]]
    cmd = [*([str(python)] if python else []), str(DASK), *args, *extra, "--no-dashboard"]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if course is not None:
        env["PYTHONPATH"] = str(course)
    with open(folder / f"{name}.log", "wb") as log:
        return subprocess.Popen(cmd, cwd=folder, env=env, stdout=log, stderr=log)


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def scheduler(folder: Path, procs: list[subprocess.Popen], **how) -> str:
    """Start a scheduler (appended to ``procs``; ``how``: see :func:`node`) and return its address."""
    info = folder / "scheduler.json"
    listen = ["--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(info)]
    procs.append(node("scheduler", folder, "scheduler", *listen, **how))
    return _wait_for(lambda: info.exists() and json.loads(info.read_text() or "{}").get("address"), "scheduler")


def workers(folder: Path, address: str, names: list[str], procs, *extra: str, wait: bool = True, **how) -> dict:
    """Start one worker per name (appended to ``procs``; ``how``: see :func:`node`); {pid: process}.

    With ``wait``, returns once the scheduler has as many workers as ``names``.
    """
    pool = {}
    for name in names:
        where = ["--host", "127.0.0.1", "--nthreads", "1", "--name", name, "--local-directory", str(folder / name)]
        proc = node("worker", folder, name, *where, *extra, address=address, **how)
        procs.append(proc)
        pool[proc.pid] = proc
    if wait:
        joined(address, len(names))
    return pool


def joined(address: str, n: int) -> None:
    """Wait until the scheduler has exactly ``n`` workers."""
    with distributed.Client(address, set_as_default=False, timeout=START_SECONDS) as client:
        _wait_for(lambda: len(client.nthreads()) == n or None, f"{n} workers")


@contextlib.contextmanager
def local_cluster(folder: Path, n: int, nanny: bool = True):
    """A scheduler and ``n`` workers, each its own process; yields (address, {worker pid: process})."""
    folder.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    try:
        address = scheduler(folder, procs)
        pool = workers(folder, address, [f"w{i}" for i in range(n)], procs, *([] if nanny else ["--no-nanny"]))
        yield address, pool
    finally:
        stop(procs)


def grade_cli(subs: Path, out: Path, *extra: str, wait: float | None = None, background: bool = False, code: int = 0):
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), *LIMITS, *extra]
    env = dict(os.environ)
    if wait is not None:
        env["DASK_AUTOGRADER__NO_WORKER_WAIT"] = str(wait)
    if background:
        return subprocess.Popen(cmd, cwd=nbs.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(cmd, cwd=nbs.ROOT, env=env, capture_output=True, text=True, timeout=GRADE_SECONDS)
    assert done.returncode == code, done.stderr[-3000:]
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
    with local_cluster(tmp_path_factory.mktemp("cluster"), 2) as (address, pool):
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


def test_nodes_started_as_the_readme_says_grade_the_sample_class_as_a_local_run_does(two_workers, tmp_path):
    import pkgutil

    address, _ = two_workers
    subs = tmp_path / "submissions"
    chapters = ["02_momentum", "03_adaptive_rates"]
    for student in sorted((COURSE / "sample_class").iterdir()):
        for chapter in chapters:
            shutil.copytree(student / chapter, subs / student.name / chapter, symlinks=True)
    with distributed.Client(address, set_as_default=False) as client:  # every node has the course under test
        roots = [client.run_on_scheduler(pkgutil.resolve_name, cluster.PROBE)]
        roots += client.run(pkgutil.resolve_name, cluster.PROBE).values()
    assert roots == [COURSE] * 3
    grade_cli(subs, tmp_path / "local", "--jobs", "2")
    grade_cli(subs, tmp_path / "remote", "--scheduler", address)
    statuses = {status for status, _ in grades(tmp_path / "remote").values()}
    assert "ok" in statuses and "error" not in statuses
    assert reports(tmp_path / "remote") == reports(tmp_path / "local")


@pytest.fixture(scope="module")
def python_without_course(tmp_path_factory) -> Path:
    """A Python with this environment's packages (Dask included) that cannot import the course.

    A venv whose site-packages points at ours by a .pth line: the packages are found, but our
    site-packages' own .pth files (an editable install of the course) are not run.
    """
    folder = tmp_path_factory.mktemp("no-course")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")], check=True, timeout=120)
    python = folder / "venv" / "bin" / "python"
    here = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], capture_output=True, text=True
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    Path(here, "packages-under-test.pth").write_text("".join(f"{path}\n" for path in ours))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    probe = "import distributed\ntry:\n    import autograder\nexcept ImportError:\n    print('no course')"
    done = subprocess.run([python, "-c", probe], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout == "no course\n", f"this Python must have Dask and not the course: {done.stderr[-2000:]}"
    return python


def previous_reports(out: Path) -> dict[str, bytes]:
    """Reports of an earlier run, which a run that cannot grade must leave as they are."""
    from autograder.report import GRADE_COLUMNS, TEST_COLUMNS

    header = {"grades.csv": GRADE_COLUMNS, "tests.csv": TEST_COLUMNS}  # a grader's own, so grade would merge
    for name in ("grades.csv", "tests.csv", "summary.html", "feedback/ada/02_momentum.html"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        first = ",".join(f'"{c}"' for c in header[name]) if name in header else f"an earlier run's {name}"
        (out / name).write_text(first + "\n")
    return reports(out)


def one_line(done: subprocess.CompletedProcess) -> str:
    """The one line `grade` printed on stderr; no traceback, nothing else."""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    return lines[0]


def test_a_worker_that_cannot_import_or_find_the_course_stops_grade_with_one_line(tmp_path, python_without_course):
    subs, out, folder = tmp_path / "submissions", tmp_path / "out", tmp_path / "cluster"
    write(subs, "honest", notebook(REFERENCE))
    before = previous_reports(out)
    folder.mkdir()
    procs: list[subprocess.Popen] = []
    try:
        address = scheduler(folder, procs)
        bare = {"python": python_without_course, "course": None}
        no_course = workers(folder, address, ["no-course"], procs, wait=False, **bare)
        # The grader without the chapters beside it, as a wheel installs it: it imports, it cannot grade.
        grader_only = tmp_path / "grader-only"
        skip = shutil.ignore_patterns("__pycache__", "_nbgrader")
        shutil.copytree(COURSE / "autograder", grader_only / "autograder", ignore=skip)
        workers(folder, address, ["grader-only"], procs, wait=False, course=grader_only)
        joined(address, 2)
        cannot_import = one_line(grade_cli(subs, out, "--scheduler", address, code=2))
        stop(list(no_course.values()))
        joined(address, 1)
        cannot_grade = one_line(grade_cli(subs, out, "--scheduler", address, code=2))
    finally:
        stop(procs)
    assert cannot_import.startswith("error: the Dask worker no-course (tcp://127.0.0.1:"), cannot_import
    assert "cannot import the course (ModuleNotFoundError: No module named 'autograder')" in cannot_import
    assert "`pip install -e .`" in cannot_import and "PYTHONPATH" in cannot_import
    assert cannot_grade.startswith("error: the Dask worker grader-only (tcp://127.0.0.1:"), cannot_grade
    assert f"{grader_only / 'autograder'}, with no solutions/ and chapters/ beside it" in cannot_grade
    assert "`pip install -e .`, not a wheel" in cannot_grade
    assert reports(out) == before


def test_a_scheduler_that_cannot_import_the_course_stops_grade_with_one_line(tmp_path, python_without_course):
    subs, out, folder = tmp_path / "submissions", tmp_path / "out", tmp_path / "cluster"
    write(subs, "honest", notebook(REFERENCE))
    before = previous_reports(out)
    folder.mkdir()
    procs: list[subprocess.Popen] = []
    try:
        address = scheduler(folder, procs, python=python_without_course, course=None)
        done = grade_cli(subs, out, "--scheduler", address, code=2)
    finally:
        stop(procs)
    line = one_line(done)
    assert line.startswith(f"error: the Dask scheduler at {address} cannot import the course"), line
    assert "`dask scheduler`" in line and "`pip install -e .`" in line and "PYTHONPATH" in line
    assert reports(out) == before


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
    with local_cluster(tmp_path / "cluster", 2, nanny=False) as (address, pool):
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
    with local_cluster(tmp_path / "cluster", 0) as (address, _):
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


class OldClient:
    """What `_named` asks of a client, as distributed before 2025.4 answers (no n_workers)."""

    def scheduler_info(self, **ask):
        if ask:
            raise TypeError("identity() got an unexpected keyword argument 'n_workers'")
        workers = {f"tcp://10.0.0.{i}:4000": {"name": f"w{i}"} for i in range(5)}
        return {"workers": {**workers, "tcp://10.0.0.9:4000": {"name": "tcp://10.0.0.9:4000"}}}


def test_a_node_that_cannot_grade_is_named_by_its_name_and_address():
    client = OldClient()
    assert cluster._named(client, ["tcp://10.0.0.3:4000"]) == "the Dask worker w3 (tcp://10.0.0.3:4000)"
    assert cluster._named(client, ["tcp://10.0.0.9:4000"]) == "the Dask worker tcp://10.0.0.9:4000"  # no --name
    everyone = cluster._named(client, [f"tcp://10.0.0.{i}:4000" for i in range(5)])
    shown = "w0 (tcp://10.0.0.0:4000), w1 (tcp://10.0.0.1:4000), w2 (tcp://10.0.0.2:4000)"
    assert everyone == f"the Dask workers {shown} and 2 more"
