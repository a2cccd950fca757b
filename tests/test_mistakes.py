"""Each listed mistake loses points, and every test catches at least one mistake.

The mistakes live beside each chapter's source in solutions/<slug>/mistakes.py.
"""

import pytest
from conftest import CHAPTERS

from autograder import messages, misconceptions
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
