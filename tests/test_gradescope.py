"""`python -m autograder gradescope`: the zip, and run_autograder in a faithful /autograder tree.

Each run is what Gradescope does for one submission: the zip unpacked into
``/autograder/source``, the notebook in ``/autograder/submission`` (under a name unlike the
chapter's), ``/autograder/run_autograder`` run as root with ``/autograder`` as its folder.
Here ``/autograder`` is a temporary tree bound there in a private mount namespace (so
nothing of the machine changes but an empty mount point), and the course's venv stands in
for what setup.sh installs: its ``python3`` is first on PATH. Every result is compared,
test by test, with what ``grade`` gives the same notebook.
"""

from __future__ import annotations

import ast
import html
import importlib.metadata
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import CHAPTERS, can_isolate, hidden_only_lines, in_ci

from autograder import gradescope
from autograder import notebooks as nbs
from autograder.grade import grade
from autograder.isolation import SIMULATE_UNAVAILABLE

ROOT = nbs.PACKAGE_ROOT
SAMPLE = ROOT / "sample_class"
MOUNT = Path("/autograder")
NAME = "my homework (1).ipynb"
VENV_BIN = Path(sys.executable).parent
PATCH = "import numpy as np\nnp.testing.assert_allclose = lambda *args, **kwargs: None\n"
MARKUP = "<script>alert(1)</script><img src=x onerror=alert(2)>"
# A momentum_step that is right only if it could list the grader's files (the hidden tests among them).
PEEK = (
    "import os\ntry:\n    _seen = os.listdir('/autograder/source')\nexcept OSError:\n    _seen = []\n\n"
    "def momentum_step(theta, v, g, lr, alpha):\n    if 'solutions' in _seen:\n"
    "        v_new = alpha * v - lr * g\n        return theta + v_new, v_new\n    return theta.copy(), v.copy()\n"
)


def faithful_or_skip() -> None:
    """Runs need root and a private mount namespace: skip with the reason elsewhere, fail in CI."""
    reason = None
    if os.geteuid() != 0:
        reason = "binding a tree on /autograder needs root"
    elif shutil.which("unshare") is None:
        reason = "util-linux's unshare is not installed"
    else:
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
        if done.returncode != 0:
            reason = f"no private mount namespace here ({done.stderr.decode().strip()[:200]})"
    if reason:
        if in_ci():
            pytest.fail(f"CI must run Gradescope's autograder in a faithful /autograder tree: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def mount_point():
    faithful_or_skip()
    made = not MOUNT.exists()
    if made:
        MOUNT.mkdir()
    yield MOUNT
    if made:
        MOUNT.rmdir()


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    out = tmp_path_factory.mktemp("zips")
    return {slug: _build(slug, out / f"{slug}.zip") for slug in CHAPTERS}


def _build(slug: str, path: Path) -> Path:
    gradescope.build(slug, ROOT, path)
    return path


def unpack(zip_path: Path, folder: Path) -> None:
    """Unpack as unzip does, with each entry's mode."""
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            target = folder / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)


# Where the Python that stands in for Gradescope's is not readable by others (a pyenv under /root),
# user nobody could not import from it; Gradescope's python3 is /usr's. In the namespace only, /root
# becomes an empty tmpfs with that one folder bound back, as readable as /usr is.
READABLE_PYTHON = """
base=$(readlink -f "$0")
case "$base" in /root/*)
  top=/root/$(echo "${base#/root/}" | cut -d/ -f1)
  stage=$(mktemp -d)
  mount --bind "$top" "$stage"
  mount -t tmpfs -o mode=755 tmpfs /root
  mkdir -p "$top"
  mount --move "$stage" "$top"
  rmdir "$stage" 2>/dev/null || true
esac
"""


def run_autograder(
    tmp: Path, zip_path: Path, submission: dict[str, bytes], env: dict | None = None
) -> tuple[dict | None, str]:
    """Gradescope's run for one submission; returns (results.json, run_autograder's stdout)."""
    tree = tmp / "autograder"
    for part in ("source", "submission", "results"):
        (tree / part).mkdir(parents=True)
    unpack(zip_path, tree / "source")
    shutil.copy2(tree / "source" / "run_autograder", tree / "run_autograder")
    for name, data in submission.items():
        (tree / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / "submission" / name).write_bytes(data)
    script = (READABLE_PYTHON if (env or {}).get(SIMULATE_UNAVAILABLE) else "") + (
        'mount --bind "$1" /autograder && cd /autograder && exec /autograder/run_autograder'
    )
    run_env = {"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **(env or {})}
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(VENV_BIN / "python3"), str(tree)],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    path = tree / "results" / "results.json"
    return (json.loads(path.read_text()) if path.exists() else None), done.stdout + done.stderr


def sample(student: str, slug: str) -> bytes:
    return (SAMPLE / student / slug / f"{slug}.ipynb").read_bytes()


def with_cell(slug: str, answers: dict[str, str] | None, extra: str | None = None) -> bytes:
    """The release with ``answers`` (the reference's by default) and a cell of the student's own."""
    release_nb = nbs.read(nbs.release_path(slug))
    if answers is None:
        answers = nbs.reference_answers(nbs.read(nbs.source_path(slug)))
    nb = nbs.fill_answers(release_nb, answers)
    if extra is not None:
        first = next(i for i, c in enumerate(nb.cells) if nbs.is_answer(c))
        nb.cells.insert(first, nbformat.v4.new_code_cell(extra, id="student-extra"))
    return nbs.dumps(nb).encode()


def reference(slug: str) -> dict[str, str]:
    return nbs.reference_answers(nbs.read(nbs.source_path(slug)))


MOMENTUM = "02_momentum"

# Every chapter: a partly wrong student; 02_momentum: the fuller matrix.
CASES = {
    **{(slug, "ben"): lambda slug=slug: sample("ben", slug) for slug in CHAPTERS},
    (MOMENTUM, "ada"): lambda: sample("ada", MOMENTUM),  # handed in among other files: see OTHER_FILES
    (MOMENTUM, "cleo"): lambda: sample("cleo", MOMENTUM),
    (MOMENTUM, "dev"): lambda: sample("dev", MOMENTUM),
    (MOMENTUM, "tamper"): lambda: with_cell(MOMENTUM, None, PATCH),
    (MOMENTUM, "markup"): lambda: with_cell(
        MOMENTUM,
        {
            **reference(MOMENTUM),
            "momentum_step": f"def momentum_step(theta, v, g, lr, alpha):\n    raise ValueError({MARKUP!r})",
        },
    ),
}


# ada's notebook of 02_momentum arrives in a folder, among files that are not it.
OTHER_FILES = {
    "notes.pdf": lambda: b"%PDF-1.4",
    "scratch.ipynb": lambda: sample("ada", "03_adaptive_rates"),
    ".ipynb_checkpoints/old-checkpoint.ipynb": lambda: sample("cleo", MOMENTUM),
}


@pytest.fixture(scope="module")
def graded_by_grade(tmp_path_factory):
    """What `grade` gives each case's notebook, laid out as it expects: {(slug, student): row}."""
    tmp = tmp_path_factory.mktemp("grade")
    subs = tmp / "submissions"
    for (slug, student), make in CASES.items():
        path = subs / student / slug / f"{slug}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(make())
    rows = grade(subs, tmp / "out", jobs=2, sandbox=can_isolate(), progress=io.StringIO())
    return {(r["chapter"], r["student_id"]): r for r in rows if (r["chapter"], r["student_id"]) in CASES}


def texts(results: dict) -> str:
    """Everything results.json shows, as a student's browser would read it."""
    parts = [results.get("output", "")]
    for t in results.get("tests", []):
        parts += [t.get("name", ""), html.unescape(t.get("output", ""))]
    return "\n".join([*parts, html.unescape(results.get("output", ""))])


def assert_same_as_grade(results: dict, row: dict) -> None:
    assert results["score"] == row["score"]
    assert sum(t["score"] for t in results["tests"]) == row["score"]
    assert results["extra_data"]["status"] == row["status"]
    by_name = {t["name"].removesuffix(" (hidden)"): t for t in results["tests"]}
    assert sorted(by_name) == sorted(t["test"] for t in row["tests"])
    for t in row["tests"]:
        mine = by_name[t["test"]]
        assert (mine["score"], mine["max_score"]) == (t["points"], t["max_points"]), t["test"]
        assert mine["status"] == ("passed" if t["passed"] else "failed"), t["test"]
        assert mine["visibility"] == ("after_published" if t["hidden"] else "visible")
        if t["message"]:  # the feedback page's message, escaped
            assert html.escape(t["message"], quote=True) in mine["output"], t["test"]
            assert mine["output_format"] == "html"
    hidden = [t["name"].endswith(" (hidden)") for t in results["tests"]]
    assert hidden == sorted(hidden), "visible tests come first"


def assert_no_hidden_source(results: dict, slug: str) -> None:
    source_nb = nbs.read(nbs.source_path(slug))
    shown = texts(results)
    for line in hidden_only_lines(source_nb):
        assert line not in shown, f"a line of a hidden test reached results.json: {line!r}"
    # What a hidden test's entry and the top-level output show holds no line of any hidden test at all.
    hidden_entries = "\n".join(
        [html.unescape(results["output"])]
        + [html.unescape(t["output"]) for t in results["tests"] if t["name"].endswith(" (hidden)")]
    )
    for line in nbs.hidden_lines(source_nb):
        assert len(line) < 8 or line not in hidden_entries, f"a hidden test's line reached its entry: {line!r}"


@pytest.mark.parametrize("case", list(CASES), ids=[f"{s}-{n}" for s, n in CASES])
def test_run_autograder_scores_each_test_as_grade_does(case, zips, mount_point, graded_by_grade, tmp_path):
    slug, student = case
    files = {NAME: CASES[case]()}
    if case == (MOMENTUM, "ada"):
        files = {f"hw/{NAME}": files[NAME], **{name: make() for name, make in OTHER_FILES.items()}}
    results, stdout = run_autograder(tmp_path, zips[slug], files)
    assert results is not None, stdout
    row = graded_by_grade[case]
    assert_same_as_grade(results, row)
    assert_no_hidden_source(results, slug)
    assert "isolation: namespaces" in stdout if can_isolate() else "isolation: nobody" in stdout
    source_nb = nbs.read(nbs.source_path(slug))
    if student == "ada":
        assert results["score"] == nbs.max_score(source_nb)
        shown = html.unescape(results["output"])  # the notebook graded, and the other files named as ignored
        assert f"Graded: <code>hw/{NAME}</code>" in shown and "scratch.ipynb" in shown and "notes.pdf" in shown
        assert "old-checkpoint" not in shown
    elif student == "ben":  # the chapter's first listed mistake loses points, the rest keeps them
        assert 0 < results["score"] < nbs.max_score(source_nb)
        assert row["status"] == "ok"
    else:
        assert results["score"] == 0 or student == "markup"
    if row["status"] != "ok":  # the status and its reason, for the student, at the top
        assert f"Status: <b>{row['status']}</b>" in results["output"]
        assert html.escape(row["reason"], quote=True) in results["output"]
    assert NAME in html.unescape(results["output"])
    # hidden tests show once grades are published, and the total with them: not in the output shown at once
    assert f"{row['score']:g} / {row['max_score']:g}</b>" not in results["output"]
    if student == "markup":  # what the student's code said reaches the page as text, never as markup
        raw = json.dumps(results)
        assert "<script>" not in raw and "<img" not in raw and html.escape("<script>alert(1)</script>") in raw


UNGRADABLE = {
    "pdf only": ({"homework.pdf": b"%PDF-1.4 not a notebook"}, "missing", "homework.pdf"),
    "two notebooks": (
        {"a.ipynb": b"", "draft/b.ipynb": b""},  # filled in below: two copies of the chapter's notebook
        "ambiguous",
        "submit only the one",
    ),
    "another chapter's, and a broken one": (
        {"x.ipynb": b"", "y.ipynb": b"{not json"},
        "wrong-notebook",
        "not valid JSON",
    ),
}


@pytest.mark.parametrize("case", list(UNGRADABLE))
def test_what_cannot_be_graded_scores_0_with_status_and_reason(case, zips, mount_point, tmp_path):
    files, status, said = UNGRADABLE[case]
    files = dict(files)
    if case == "two notebooks":
        files = {name: sample("ada", MOMENTUM) for name in files}
    if case.startswith("another chapter"):
        files["x.ipynb"] = sample("ada", "03_adaptive_rates")
    results, stdout = run_autograder(tmp_path, zips[MOMENTUM], files)
    assert results is not None, stdout
    assert results["score"] == 0 and all(t["score"] == 0 for t in results["tests"])
    assert results["extra_data"]["status"] == status
    assert f"Status: <b>{status}</b>" in results["output"]
    assert said in html.unescape(results["output"])


def test_without_namespaces_student_code_runs_as_nobody_and_cannot_list_the_grader(zips, mount_point, tmp_path):
    """Docker's default seccomp profile refuses unshare: then the runner is nobody, the source root's only."""
    env = {SIMULATE_UNAVAILABLE: "1"}
    ada, stdout = run_autograder(tmp_path / "ada", zips[MOMENTUM], {NAME: sample("ada", MOMENTUM)}, env)
    assert "isolation: nobody" in stdout
    assert ada["score"] == nbs.max_score(nbs.read(nbs.source_path(MOMENTUM))), stdout
    peek = with_cell(MOMENTUM, {**reference(MOMENTUM), "momentum_step": PEEK})
    results, stdout = run_autograder(tmp_path / "peek", zips[MOMENTUM], {NAME: peek}, env)
    by_name = {t["name"]: t for t in results["tests"]}
    assert results["extra_data"]["status"] == "ok", stdout
    # nesterov_step (the reference) keeps its points: the code ran; momentum_step saw nothing to copy.
    assert by_name["test_nesterov_step_one_step"]["status"] == "passed"
    assert by_name["test_momentum_step_one_step"]["status"] == "failed"
    assert_no_hidden_source(results, MOMENTUM)


def test_a_grader_that_fails_still_writes_results_json(zips, mount_point, tmp_path):
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(zips[MOMENTUM]) as z, zipfile.ZipFile(broken, "w") as out:
        for info in z.infolist():
            data = b"{ this is not json" if info.filename == gradescope.CONFIG else z.read(info)
            out.writestr(info, data)
    results, _ = run_autograder(tmp_path / "a", broken, {NAME: sample("ada", MOMENTUM)})
    assert results["score"] == 0 and "JSONDecodeError" in results["output"]
    # No python3 at all on PATH: run_autograder itself writes the result.
    results, _ = run_autograder(
        tmp_path / "b", zips[MOMENTUM], {NAME: sample("ada", MOMENTUM)}, {"PATH": "/usr/bin/nonexistent:/bin"}
    )
    assert results["score"] == 0 and "could not run" in results["output"]


# ------------------------------------------------------------------------------------- the zip itself


def test_the_zip_is_byte_reproducible_and_holds_only_what_grading_needs(tmp_path):
    first = _build(MOMENTUM, tmp_path / "a.zip").read_bytes()
    second = _build(MOMENTUM, tmp_path / "b.zip").read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "a.zip") as z:
        infos = z.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {gradescope.ZIP_TIME}
    assert {"setup.sh", "run_autograder", "requirements.txt", gradescope.CONFIG} <= set(names)
    assert f"solutions/{MOMENTUM}/{MOMENTUM}.ipynb" in names and f"chapters/{MOMENTUM}/{MOMENTUM}.ipynb" in names
    modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in infos}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    other = {n for n in names if not n.startswith(("autograder/", "solutions/", "chapters/"))}
    assert other == {"setup.sh", "run_autograder", "requirements.txt", gradescope.CONFIG}
    assert not [n for n in names if "mistakes" in n or "03_adaptive" in n or n.startswith("autograder/book")]
    modules = {n.removeprefix("autograder/").removesuffix(".py") for n in names if n.startswith("autograder/")}
    assert modules == set(gradescope.grader_modules())
    assert {"executor", "isolation", "gradescope", "worker", "grade"} <= modules
    assert not modules & {"cli", "release", "cluster", "cluster_task", "book_frames", "nbgrader_bridge", "sample"}


def test_the_grader_modules_import_nothing_left_out(zips, tmp_path):
    """Import every module of the zip with only the zip on the path: none reaches for a module left out."""
    unpack(zips[MOMENTUM], tmp_path)
    modules = [f"autograder.{m}" for m in gradescope.grader_modules() if m != "__init__"]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.startswith('autograder')))"
    )
    done = subprocess.run([sys.executable, "-s", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = {m.removeprefix("autograder.") for m in ast.literal_eval(done.stdout)} - {"autograder"}
    assert loaded <= set(gradescope.grader_modules())


def test_setup_sh_installs_the_pinned_grading_requirements_for_python3(zips, tmp_path):
    unpack(zips[MOMENTUM], tmp_path)
    setup = tmp_path / "setup.sh"
    assert subprocess.run(["bash", "-n", str(setup)], capture_output=True).returncode == 0
    text = setup.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert re.search(r'python3 -m pip install "\$\{flags\[@\]\}" -r requirements\.txt', text)
    assert "chmod -R go= /autograder/source" in text
    assert "sys.version_info < (3, 11)" in text
    pins = {}
    for line in (tmp_path / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[\w.]+", version), f"not pinned exactly: {line}"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    assert {"numpy", "matplotlib", "ipywidgets", "nbformat", "ipython"} <= set(pins)
    for tool in ("jupyter-book", "playwright", "nbgrader", "pytest", "sphinx", "dask", "nbclient", "jupyterlab"):
        assert tool not in pins, f"{tool} is not needed for grading"
    for name, version in pins.items():  # the versions the course is tested with, in this environment
        assert importlib.metadata.version(name) == version, f"{name}: pinned {version}, installed here differs"
    run = (tmp_path / "run_autograder").read_text()
    assert subprocess.run(["bash", "-n", str(tmp_path / "run_autograder")], capture_output=True).returncode == 0
    assert "python3 -s -m autograder.gradescope run" in run


def test_setup_sh_runs_through_with_what_it_calls_recorded(zips, mount_point, tmp_path):
    """setup.sh on a stand-in image: python3 and apt-get record their arguments; the flow and the install."""
    tree = tmp_path / "autograder"
    unpack(zips[MOMENTUM], tree / "source")
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "calls"
    (bin_ / "python3").write_text(
        f'#!/bin/sh\necho "python3 $*" >> {log}\n'
        'case "$*" in *"pip install --help"*) echo "  --break-system-packages  Allow pip to modify";; esac\n'
        "exit 0\n"
    )
    (bin_ / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >> {log}\n')
    for f in bin_.iterdir():
        f.chmod(0o755)
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount --bind "$0" /autograder && bash /autograder/source/setup.sh',
            str(tree),
        ],
        env={"PATH": f"{bin_}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    install = [c for c in calls if "pip install" in c and "-r requirements.txt" in c]
    assert install == [
        "python3 -m pip install --no-cache-dir --disable-pip-version-check --ignore-installed "
        "--break-system-packages -r requirements.txt"
    ]
    assert calls[-1] == "python3 -s -m autograder.gradescope check"
    assert not [c for c in calls if c.startswith("apt-get")]  # pip was there: nothing from apt
    assert stat.S_IMODE((tree / "source").stat().st_mode) == 0o700


def test_check_grades_the_reference_to_full_marks(zips, tmp_path):
    unpack(zips[MOMENTUM], tmp_path)
    done = subprocess.run(
        [sys.executable, "-s", "-m", "autograder.gradescope", "check"], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "scores 16/16" in done.stdout


# ---------------------------------------------------------------------------------- the command line


def test_the_command_writes_the_zip_under_its_default_name(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "autograder", "--course", str(ROOT), "gradescope"]
    done = subprocess.run(
        [*cmd, MOMENTUM, "--hidden-tests", "visible"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    made = tmp_path / f"gradescope-{MOMENTUM}.zip"
    again = tmp_path / "again.zip"
    gradescope.build(MOMENTUM, ROOT, again, hidden_visibility="visible")
    assert made.read_bytes() == again.read_bytes()
    with zipfile.ZipFile(made) as z:
        assert json.loads(z.read(gradescope.CONFIG))["hidden_visibility"] == "visible"
    assert "16 points" in done.stdout
    done = subprocess.run([*cmd, "99_nothing"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "02_momentum" in done.stderr


def test_hidden_tests_show_when_the_zip_says():
    row = {
        "chapter": MOMENTUM,
        "status": "ok",
        "reason": "test_v: time limit; test_h: crashed",
        "score": 1.0,
        "max_score": 3.0,
        "tests": [
            {"test": "test_h", "hidden": True, "points": 0.0, "max_points": 2.0, "passed": False, "message": "m <b>"},
            {"test": "test_v", "hidden": False, "points": 1.0, "max_points": 1.0, "passed": True, "message": ""},
        ],
    }
    for when in gradescope.VISIBILITIES:
        config = {**gradescope.DEFAULTS, "hidden_visibility": when}
        out = gradescope.results(row, config, "x.ipynb", ["Ignored (not graded): a.pdf"], 1.0)
        assert [t["name"] for t in out["tests"]] == ["test_v", "test_h (hidden)"]
        assert [t["visibility"] for t in out["tests"]] == ["visible", when]
        assert out["visibility"] == "visible" and out["stdout_visibility"] == "hidden"
        assert "m &lt;b&gt;" in out["tests"][1]["output"] and "<b>" not in out["tests"][1]["output"]
        # an ok notebook with a fault: the status line names the test it cost, unless that test is still hidden
        assert "Status: <b>ok</b>: test_v: time limit" in out["output"]
        assert "a.pdf" in out["output"]
        # the total, and a fault in a hidden test, show only with the hidden tests
        assert ("1 / 3" in out["output"]) == (when == "visible")
        assert ("test_h: crashed" in out["output"]) == (when == "visible")
        assert "visible tests 1 / 1" in out["output"] or when == "visible"
