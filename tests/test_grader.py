"""`python -m autograder grade` on the sample class, on tampered notebooks and on bad layouts."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import subprocess
import sys
import time

import nbformat
import pytest
from conftest import CHAPTERS, can_isolate, hidden_only_lines, sandbox_flags, write_submission

from autograder import notebooks as nbs
from autograder import protocol, sandbox
from autograder.grade import grade
from autograder.isolation import SIMULATE_UNAVAILABLE
from autograder.sample import build, mistakes
from autograder.worker import _reference_seconds, limit_for_test

ROOT = nbs.ROOT


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True)


def test_sample_class_is_in_sync_with_the_release(tmp_path):
    build(tmp_path / "sample_class")

    def files(folder):
        return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())

    committed, fresh = files(ROOT / "sample_class"), files(tmp_path / "sample_class")
    assert committed == fresh, "run `python -m autograder sample-class`"
    for rel in fresh:
        assert (ROOT / "sample_class" / rel).read_bytes() == (tmp_path / "sample_class" / rel).read_bytes(), (
            f"sample_class/{rel} is stale: run `python -m autograder sample-class`"
        )


@pytest.mark.parametrize("slug", CHAPTERS)
def test_sample_class_scores(sample_grades, slug):
    _, rows, _ = sample_grades
    assert set(rows) >= {(s, slug) for s in ("ada", "ben", "cleo", "dev", "eli")}
    full = float(rows[("ada", slug)]["max_score"])
    assert full > 0
    assert all(float(rows[(s, slug)]["max_score"]) == full for s in ("ada", "ben", "cleo", "dev", "eli"))
    assert (rows[("ada", slug)]["status"], float(rows[("ada", slug)]["score"])) == ("ok", full), (
        "correct answers with stderr output, warnings, plots and an extra cell must keep full marks"
    )
    ben = rows[("ben", slug)]
    assert ben["status"] == "ok" and 0 < float(ben["score"]) < full
    assert (rows[("cleo", slug)]["status"], float(rows[("cleo", slug)]["score"])) == ("not-attempted", 0), (
        "a notebook handed back as released has a status of its own, not `ok` with 0 points"
    )
    assert (rows[("dev", slug)]["status"], float(rows[("dev", slug)]["score"])) == ("unreadable", 0)
    assert "not valid JSON" in rows[("dev", slug)]["reason"]
    assert (rows[("eli", slug)]["status"], float(rows[("eli", slug)]["score"])) == ("missing", 0)


def test_every_row_has_feedback_and_a_summary_is_printed(sample_grades):
    out, rows, stdout = sample_grades
    for student, slug in rows:
        page = (out / "feedback" / student / f"{slug}.html").read_text()
        assert f"{rows[(student, slug)]['score']} / {rows[(student, slug)]['max_score']}" in page
    assert "mean" in stdout and "full marks" in stdout
    with open(out / "tests.csv", newline="") as f:
        per_test = list(csv.DictReader(f))
    assert {r["student_id"] for r in per_test} == {s for s, _ in rows}
    for r in per_test:  # each test row carries its notebook's status, as in grades.csv
        assert r["status"] == rows[(r["student_id"], r["chapter"])]["status"]


def test_the_summary_page_shows_every_chapter(sample_grades):
    out, _, stdout = sample_grades
    page = (out / "summary.html").read_text()
    for slug in CHAPTERS:
        assert f'<section id="{slug}">' in page
    assert page.count("<svg") == len(CHAPTERS)
    for status in ("missing", "unreadable", "not-attempted"):
        assert f"<td>{status}</td>" in page
    assert "summary.html" in stdout
    assert "failed by n of the m notebooks graded" in stdout, "the terminal says what (n of m) means"


def test_the_summary_groups_failures_by_misconception_with_the_courses_names(sample_grades):
    # ben makes the first mistake of each chapter's mistakes.py: summary.html names it, with a count of 1.
    out, _, _ = sample_grades
    page = (out / "summary.html").read_text()
    for slug in CHAPTERS:
        chapter = page[page.index(f'<section id="{slug}">') :]
        chapter = chapter[: chapter.index("</section>")]
        table = chapter[chapter.index("<h3>Misconceptions</h3>") : chapter.index("<h3>Notebooks not graded</h3>")]
        first = next(iter(mistakes(slug)))
        assert f"<code>{html.escape(first)}</code>" in table, f"{slug}: ben's mistake {first} is not named"
        assert "not implemented yet" not in table, "a function still to be written is no misconception"


def test_a_blank_notebook_is_told_what_to_write(sample_grades):
    out, _, _ = sample_grades
    with open(out / "tests.csv", newline="") as f:
        cleo = [r for r in csv.DictReader(f) if r["student_id"] == "cleo" and r["chapter"] == "04_initialization"]
    said = {r["test"]: r["message"] for r in cleo}
    assert said["test_sparse_init_checks_k"].startswith("sparse_init is not implemented yet")
    assert said["test_output_bias_from_marginals_rejects"].startswith("output_bias_from_marginals is not implemented")


def test_feedback_never_shows_hidden_test_source(sample_grades):
    out, _, _ = sample_grades
    pages = "\n".join(p.read_text() for p in (out / "feedback").rglob("*.html"))
    assert "(hidden)" in pages
    for slug in CHAPTERS:
        for line in hidden_only_lines(nbs.read(nbs.source_path(slug))):
            assert html.escape(line) not in pages, f"hidden test line in feedback: {line}"


def test_feedback_explains_a_failure(sample_grades):
    out, _, _ = sample_grades
    page = (out / "feedback" / "ben" / "02_momentum.html").read_text()
    assert page.count("v moved along the gradient") == 1, "the message is shown once, not again in the traceback"
    assert "Traceback" in page  # visible tests show where they failed
    assert "test test_momentum_step_one_step, line 5" in page, "the traceback names the test, not a cell number"
    assert " cell " not in page.split("Traceback", 1)[1].split("</pre>", 1)[0]


def test_a_long_message_is_cut_at_a_boundary_and_says_so(sample_grades):
    out, _, _ = sample_grades
    with open(out / "tests.csv", newline="") as f:
        said = {(r["student_id"], r["chapter"], r["test"]): r["message"] for r in csv.DictReader(f)}
    message = said[("ben", "01_challenges", "test_numerical_gradient_central_formula")]
    body, note = message.rsplit("\n", 1)
    assert note.startswith("[… cut: the message has") and len(message) <= 500
    assert body.endswith("(DESIRED)"), "cut at the end of a line, never inside a number or a word"


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    """Submissions that edit the notebook around their answers; graded once."""
    slug = "02_momentum"
    release_nb = nbs.read(nbs.release_path(slug))
    answers = nbs.reference_answers(nbs.read(nbs.source_path(slug)))
    subs = tmp_path_factory.mktemp("tampered")

    # Stubs, with every test cell blanked and renamed: the instructor's tests still run.
    nb = nbs.fill_answers(release_nb, {})
    for cell in nbs.test_cells(nb):
        cell.source = "pass"
        cell.metadata.nbgrader["grade_id"] += "_renamed"
    write_submission(subs, "blanked-tests", slug, nb)

    # Correct answers, every test cell deleted: still full marks.
    nb = nbs.fill_answers(release_nb, answers)
    nb.cells = [c for c in nb.cells if not nbs.is_test(c)]
    write_submission(subs, "deleted-tests", slug, nb)

    # Correct answers, a helper in an added cell that the answer calls.
    nb = nbs.fill_answers(release_nb, answers)
    at = next(i for i, c in enumerate(nb.cells) if nbs.grade_id(c) == "momentum_step")
    nb.cells.insert(at, nbformat.v4.new_code_cell("def _velocity(v, g, lr, alpha):\n    return alpha * v - lr * g"))
    nb.cells[
        at + 1
    ].source = "def momentum_step(theta, v, g, lr, alpha):\n    v = _velocity(v, g, lr, alpha)\n    return theta + v, v"
    write_submission(subs, "helper-cell", slug, nb)

    # A notebook that is valid but is not this chapter's.
    write_submission(subs, "wrong-notebook", slug, nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]))

    # Correct but for a syntax error in one answer cell: its tests say so, not just "NameError".
    nb = nbs.fill_answers(
        release_nb, {**answers, "momentum_step": "def momentum_step(theta, v, g, lr, alpha)\n    pass"}
    )
    write_submission(subs, "syntax-error", slug, nb)

    # The kernel exits while the answers are defined.
    nb = nbs.fill_answers(release_nb, {**answers, "momentum_step": "import os\nos._exit(0)"})
    write_submission(subs, "exits", slug, nb)

    rows = grade(subs, subs.parent / "tampered-out", jobs=2, sandbox=can_isolate(), progress=io.StringIO())
    return {r["student_id"]: r for r in rows}


def test_tests_come_from_the_instructor_not_the_submission(tampered):
    assert tampered["blanked-tests"]["score"] == 0
    assert tampered["deleted-tests"]["score"] == tampered["deleted-tests"]["max_score"]


def test_added_cells_run_where_the_student_put_them(tampered):
    row = tampered["helper-cell"]
    assert row["score"] == row["max_score"], [t for t in row["tests"] if not t["passed"]]


def test_a_notebook_of_another_chapter_scores_zero(tampered):
    row = tampered["wrong-notebook"]
    assert (row["status"], row["score"]) == ("wrong-notebook", 0)
    assert "momentum_step" in row["reason"]


def test_a_broken_answer_cell_is_named_in_its_tests(tampered):
    row = tampered["syntax-error"]
    said = {t["test"]: t["message"] for t in row["tests"] if t["test"].startswith("test_momentum_step")}
    assert said and all(
        m.startswith("momentum_step is not defined: its answer cell stopped with SyntaxError") for m in said.values()
    ), said
    assert all("(your answer cell for momentum_step, line 1)" in m for m in said.values()), said
    assert all(t["passed"] for t in row["tests"] if t["test"].startswith("test_nesterov_step"))


def test_a_cell_that_ends_the_process_costs_only_what_it_defines(tampered):
    row = tampered["exits"]
    assert (row["status"], row["reason"]) == ("ok", "your cell defining momentum_step: crashed")
    failed = {t["test"] for t in row["tests"] if not t["passed"]}
    assert failed == {t["test"] for t in row["tests"] if t["test"].startswith("test_momentum_step_")}
    assert row["score"] == sum(t["max_points"] for t in row["tests"] if t["test"].startswith("test_nesterov_step_"))


def test_the_whole_notebook_limit_keeps_the_tests_that_ran(tmp_path):
    slug = "02_momentum"
    answers = nbs.reference_answers(nbs.read(nbs.source_path(slug)))
    loops = "def nesterov_step(theta, v, grad_fn, lr, alpha):\n    while True:\n        pass"
    nb = nbs.fill_answers(nbs.read(nbs.release_path(slug)), {**answers, "nesterov_step": loops})
    write_submission(tmp_path / "subs", "slow", slug, nb)
    limits = {"cell_timeout": 30, "notebook_timeout": 10}
    row = grade(tmp_path / "subs", tmp_path / "out", sandbox=can_isolate(), progress=io.StringIO(), **limits)[0]
    assert row["status"] == "timeout"
    assert row["reason"].startswith("the notebook took longer than 10 s in all"), row["reason"]
    momentum = [t for t in row["tests"] if t["test"].startswith("test_momentum_step_")]
    assert all(t["passed"] for t in momentum) and row["score"] == sum(t["max_points"] for t in momentum)
    nesterov = [t["message"] for t in row["tests"] if t["test"].startswith("test_nesterov_step_")]
    # each nesterov test gets 5 s (its own limit) until the notebook's 10 s run out: the rest never ran
    assert nesterov[0].startswith("time limit") and nesterov[-1].startswith("not run: the notebook took longer")


@pytest.mark.parametrize(("reference", "limit"), [(None, float("inf")), (0.0001, 5.0), (0.2, 20.0), (3.0, 300.0)])
def test_a_tests_time_limit_is_a_hundred_times_the_references_and_at_least_a_few_seconds(reference, limit):
    assert limit_for_test(reference) == pytest.approx(limit)


def test_the_reference_is_timed_on_every_test():
    slug = "02_momentum"
    seconds = _reference_seconds(
        nbs.source_path(slug), nbs.release_path(slug), can_isolate(), (str(ROOT / "solutions"),), 2048, None
    )
    assert set(seconds) == {nbs.grade_id(c) for c in nbs.test_cells(nbs.read(nbs.source_path(slug)))}
    assert all(0 < s < 5 for s in seconds.values())


def test_grading_twice_gives_the_same_files(tmp_path):
    subs = tmp_path / "subs"
    release_nb = nbs.read(nbs.release_path("02_momentum"))
    write_submission(subs, "solo", "02_momentum", release_nb)
    first, second = tmp_path / "first", tmp_path / "second"
    assert cli("grade", str(subs), "--out", str(first), *sandbox_flags()).returncode == 0
    assert cli("grade", str(subs), "--out", str(second), *sandbox_flags()).returncode == 0
    for name in ("grades.csv", "tests.csv", "feedback/solo/02_momentum.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


@pytest.mark.parametrize(
    ("make", "args", "expected"),
    [
        (lambda d: None, [], "is not a folder"),
        (lambda d: d.mkdir(), [], "has no student folders"),
        (lambda d: (d.mkdir(), (d / "02_momentum.ipynb").write_text("{}")), [], "put each in its student's folder"),
        (
            lambda d: (
                d.mkdir(parents=True),
                (d / "alice").mkdir(),
                (d / "alice" / "02_momentum.ipynb").write_text("{}"),
            ),
            [],
            "each needs its chapter folder",
        ),
        (lambda d: (d.mkdir(), (d / "alice").mkdir()), ["--chapter", "99_nope"], "unknown chapter 99_nope"),
    ],
    ids=["no-folder", "empty", "loose-notebooks", "no-chapter-folder", "unknown-chapter"],
)
def test_a_wrong_layout_exits_2_and_says_how_to_fix_it(tmp_path, make, args, expected):
    folder = tmp_path / "subs"
    make(folder)
    done = cli("grade", str(folder), "--out", str(tmp_path / "out"), *args)
    assert done.returncode == 2
    assert expected in done.stderr
    assert "<student_id>/<chapter>/<chapter>.ipynb" in done.stderr or "the chapters are" in done.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_a_named_chapter_gives_every_student_a_row(tmp_path):
    subs = tmp_path / "subs"
    (subs / "nobody").mkdir(parents=True)
    done = cli("grade", str(subs), "--chapter", "02_momentum", "--out", str(tmp_path / "out"), *sandbox_flags())
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["student_id"], r["chapter"], r["status"], r["score"]) for r in rows] == [
        ("nobody", "02_momentum", "missing", "0")
    ]
    assert rows[0]["max_score"] != "0"


def test_help_explains_the_layout_and_the_statuses():
    done = cli("grade", "--help")
    assert done.returncode == 0
    for word in ("SUBMISSIONS/<student_id>/<chapter>/<chapter>.ipynb", "grades.csv", "missing", "unreadable", "--jobs"):
        assert word in done.stdout


def test_main_package_help():
    done = cli("--help")
    assert done.returncode == 0 and "release" in done.stdout and "grade" in done.stdout


def test_help_lists_every_status_and_the_sandbox_switch():
    done = cli("grade", "--help")
    words = ("timeout", "tampered", "wrong-notebook", "invalid", "--no-sandbox", "--memory", "time limit", "crashed")
    for word in (*words, "out of memory", "100 times the reference", "not-attempted", "summary.html"):
        assert word in done.stdout


def test_the_worker_grades_one_submission_by_itself(tmp_path):
    """`python -m autograder.worker JOB RESULT`: the unit a batch system runs, one per submission."""
    slug = "02_momentum"
    answers = nbs.reference_answers(nbs.read(nbs.source_path(slug)))
    nb = nbs.fill_answers(nbs.read(nbs.release_path(slug)), answers)
    path = write_submission(tmp_path / "subs", "solo", slug, nb)
    job = {
        "submission": str(path),
        "source": str(nbs.source_path(slug)),
        "release": str(nbs.release_path(slug)),
        "base": str(tmp_path / "subs"),
        "sandbox": can_isolate(),
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    done = subprocess.run(
        [sys.executable, "-m", "autograder.worker", str(tmp_path / "job.json"), str(tmp_path / "result.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert (result["status"], result["score"]) == ("ok", result["max_score"])


def test_without_the_sandbox_the_in_process_protections_still_hold(tmp_path):
    slug = "02_momentum"
    release_nb = nbs.read(nbs.release_path(slug))
    answers = nbs.reference_answers(nbs.read(nbs.source_path(slug)))
    subs = tmp_path / "subs"
    write_submission(subs, "honest", slug, nbs.fill_answers(release_nb, answers))
    patched = "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None\n" + answers["momentum_step"]
    write_submission(subs, "patcher", slug, nbs.fill_answers(release_nb, {**answers, "momentum_step": patched}))
    rows = {r["student_id"]: r for r in grade(subs, tmp_path / "out", jobs=2, sandbox=False, progress=io.StringIO())}
    assert (rows["honest"]["status"], rows["honest"]["score"]) == ("ok", rows["honest"]["max_score"])
    assert (rows["patcher"]["status"], rows["patcher"]["score"]) == ("tampered", 0)


def test_the_summary_is_a_table_per_chapter(sample_grades):
    _, _, stdout = sample_grades
    header = next(line for line in stdout.splitlines() if line.startswith("chapter"))
    for column in ("students", "mean", "median", "full marks", "not ok"):
        assert column in header
    assert "most failed:" in stdout


def test_without_namespaces_grade_stops_with_one_line_naming_the_options(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "sample_class", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, SIMULATE_UNAVAILABLE: "1"},
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    for words in ("cannot isolate student code", "as root", "user namespaces", "--no-sandbox"):
        assert words in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_run_without_the_sandbox_says_so(tmp_path):
    subs = tmp_path / "subs"
    answers = nbs.reference_answers(nbs.read(nbs.source_path("02_momentum")))
    write_submission(subs, "solo", "02_momentum", nbs.fill_answers(nbs.read(nbs.release_path("02_momentum")), answers))
    said = io.StringIO()
    rows = grade(subs, tmp_path / "out", sandbox=False, progress=said)
    assert (rows[0]["status"], rows[0]["score"]) == ("ok", rows[0]["max_score"])
    assert said.getvalue().startswith("sandbox off (--no-sandbox)")


@pytest.mark.parametrize(
    ("frames", "fault", "status"),
    [
        ([], None, "error"),  # before any cell: the grader's own runner failed
        ([("start", 0)], "crashed", "ok"),  # during a cell: that cell's fault, grading goes on
        ([("start", 0), ("end", (0, {"ok": True}))], None, "crashed"),  # between cells: a finalizer ended it
    ],
    ids=["before-any-cell", "during-a-cell", "between-cells"],
)
def test_a_runner_that_dies_is_blamed_on_what_it_was_doing(frames, fault, status):
    nonce = "n" * 32
    read_fd, write_fd = os.pipe()
    send = protocol.sender(write_fd, nonce)
    for kind, data in frames:
        send(kind, data)
    os.close(write_fd)
    cells = [{"kind": "extra", "name": "", "source": "pass", "hidden": False}] * 2
    result = sandbox.Run()
    try:
        got = sandbox._watch(cells, result, read_fd, protocol.Reader(nonce), time.monotonic() + 60, 60, 2048, None)
    finally:
        os.close(read_fd)
    assert (got[1]["fault"] if got else None, result.status) == (fault, status)
