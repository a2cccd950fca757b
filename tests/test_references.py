"""The reference solutions earn every point, and the untouched stubs earn none."""

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
