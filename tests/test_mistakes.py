"""Each listed mistake loses points, and every test catches at least one mistake.

The mistakes live beside each chapter's source in solutions/<slug>/mistakes.py.
"""

import pytest
from conftest import CHAPTERS

from autograder import messages, misconceptions
from autograder import notebooks as nbs
from autograder.sample import mistakes

CASES = [(slug, name) for slug in CHAPTERS for name in mistakes(slug)]


def test_every_chapter_lists_mistakes():
    for slug in CHAPTERS:
        assert len(mistakes(slug)) >= 2, f"{slug} has no solutions/{slug}/mistakes.py with at least two mistakes"


@pytest.mark.parametrize(("slug", "name"), CASES, ids=[f"{s}-{n}" for s, n in CASES])
def test_mistake_loses_points_on_its_own_function(graded, slug, name):
    mistake = mistakes(slug)[name]
    row = graded[(f"mistake-{name}", slug)]
    assert row["status"] == "ok", row["reason"]
    assert row["score"] < row["max_score"], f"{mistake['why']}: earned full marks"
    failed = [t["test"] for t in row["tests"] if not t["passed"]]
    own = [t for t in failed if t.startswith(f"test_{mistake['function']}_")]
    assert own, f"{mistake['why']}: no test of {mistake['function']} failed"
    # A mistake may only cost points elsewhere through a declared dependency (e.g. a backward pass
    # tested on the cache of the student's own forward pass).
    allowed = tuple(f"test_{f}_" for f in mistake.get("also_fails", ()))
    others = [t for t in failed if t not in own and not t.startswith(allowed)]
    assert not others, f"a mistake in {mistake['function']} also failed other functions' tests: {others}"


@pytest.mark.parametrize("slug", CHAPTERS)
def test_every_test_is_failed_by_some_mistake(graded, slug):
    caught = {
        t["test"] for name in mistakes(slug) for t in graded[(f"mistake-{name}", slug)]["tests"] if not t["passed"]
    }
    every = {t["test"] for t in graded[("reference", slug)]["tests"]}
    assert every - caught == set(), f"no listed mistake fails these tests: {sorted(every - caught)}"


@pytest.mark.parametrize(
    ("slug", "name", "test", "cause"),
    [
        ("01_challenges", "sgd_step_in_place", "test_sgd_step_hidden", "sgd_step changed its input theta or g"),
        ("01_challenges", "clip_in_place", "test_clip_gradient_norm_hidden", "clip_gradient_norm changed its input g"),
        ("01_challenges", "numerical_gradient_mutates_theta", "test_numerical_gradient_hidden", "changed theta"),
    ],
)
def test_a_hidden_test_names_the_cause_it_can_tell(graded, slug, name, test, cause):
    """An input changed in place: the hidden test says so, not "expected theta - lr * g"."""
    row = graded[(f"mistake-{name}", slug)]
    said = {t["test"]: t["message"] for t in row["tests"]}
    assert cause in said[test], said[test]


@pytest.mark.parametrize("slug", CHAPTERS)
def test_summary_names_every_mistake_by_the_course_name(graded, slug):
    """summary.html groups failures by misconception and names each group after mistakes.py: every mistake,
    graded as a student's notebook, fails some test with a line the catalogue names after it."""
    names = misconceptions.catalogue(slug)
    assert names, f"no misconception catalogue for {slug}"
    unnamed = []
    for name in mistakes(slug):
        row = graded[(f"mistake-{name}", slug)]
        lines = {(t["test"], messages.misconception(t["message"])) for t in row["tests"] if not t["passed"]}
        if not any(name in names.get(line, []) for line in lines):
            unnamed.append(name)
    assert not unnamed, f"summary.html would not name these mistakes of {slug}: {unnamed}"


def unwritten_numbers(line: str, source: str) -> list[str]:
    """The numbers of ``line`` that ``source`` does not write (compared by value: 1e-5 is 1e-05)."""

    def value(token: str) -> float:
        return abs(float(token.replace("_", "")))

    written = {value(m.group(0)) for m in messages.NUMBER.finditer(source)}
    return [m.group(0) for m in messages.NUMBER.finditer(line) if value(m.group(0)) not in written]


def test_unwritten_numbers_are_the_ones_a_test_computed():
    source = 'assert err < 1e-7, f"dH is wrong for delta = 0.1 (relative error {err:.1e})"'
    assert unwritten_numbers("dH is wrong for delta = 0.1 (relative error 3.9e-01)", source) == ["3.9e-01"]
    assert unwritten_numbers("accurate to 1e-07 for delta = .1", source) == []


@pytest.mark.parametrize("slug", CHAPTERS)
def test_a_failure_names_its_misconception_on_a_line_without_the_students_numbers(graded, slug):
    """summary.html counts students by the first line of a failure (messages.misconception), so that line
    must be the same for every student who makes the mistake. Every number on it must be one the test's
    source writes (a tolerance, an input, "3.16 = no bias correction"); a number it does not write was
    computed, from what the student's function returned (a variance, a relative error, a shape) or from
    fresh inputs, and belongs on the next line. Checked on every listed mistake, graded as a student's
    notebook; a failure raised by the student's own code (a ValueError they wrote) is their text, not
    the test's. Masking numbers as "#" would hide such a line; this test looks at the raw line, so a
    message like "the entries' variance is 0.0025, ..." fails it (as 32 tests' did before this check)."""
    sources = {nbs.grade_id(c): c.source for c in nbs.test_cells(nbs.read(nbs.source_path(slug)))}
    found = []
    for name in mistakes(slug):
        for t in graded[(f"mistake-{name}", slug)]["tests"]:
            if t["passed"] or not t["message"].startswith("AssertionError"):
                continue
            line = messages.headline(t["message"])
            extra = unwritten_numbers(line, sources[t["test"]])
            if extra:
                found.append(f"{name} / {t['test']}: {extra} in {line[:120]!r}")
    assert not found, "first lines with numbers the test computed:\n" + "\n".join(found)
