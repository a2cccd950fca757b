"""The reference solutions earn every point, and the untouched stubs earn none.

Run on the stubs, every test says which function is not implemented yet; a notebook handed
back exactly as released is `not-attempted`, and its tests say the same without running.
"""

import pytest
from conftest import CHAPTERS


@pytest.mark.parametrize("slug", CHAPTERS)
def test_reference_passes_every_test(graded, slug):
    row = graded[("reference", slug)]
    failed = {t["test"]: t["message"] for t in row["tests"] if not t["passed"]}
    assert row["status"] == "ok" and not failed, f"the reference fails {failed}"
    assert row["score"] == row["max_score"] > 0


@pytest.mark.parametrize("slug", CHAPTERS)
def test_stubs_fail_every_test(graded, slug):
    row = graded[("stubs", slug)]
    passed = [t["test"] for t in row["tests"] if t["passed"]]
    assert row["status"] == "ok"
    assert not passed, f"these tests pass on the unimplemented stubs: {passed}"
    assert row["score"] == 0


@pytest.mark.parametrize("slug", CHAPTERS)
def test_every_test_of_the_stubs_says_what_is_not_implemented(graded, slug):
    row = graded[("stubs", slug)]
    vague = {t["test"]: t["message"] for t in row["tests"] if "is not implemented yet" not in t["message"]}
    vague = {k: v for k, v in vague.items() if "are not implemented yet" not in v}
    assert not vague, f"these tests do not say that the function is still a stub: {vague}"


@pytest.mark.parametrize("slug", CHAPTERS)
def test_a_notebook_handed_back_as_released_is_not_attempted(graded, slug):
    row = graded[("blank", slug)]
    assert (row["status"], row["score"]) == ("not-attempted", 0)
    assert "as it was released" in row["reason"]
    assert all("not implemented yet" in t["message"] and not t["passed"] for t in row["tests"])
