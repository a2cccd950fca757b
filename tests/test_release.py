"""The committed student release is exactly what `python -m autograder release` makes of the source."""

import json
import shutil

import pytest
from conftest import CHAPTERS, hidden_only_lines

from autograder import notebooks as nbs
from autograder.release import LEAKS, ReleaseError, release


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    return {slug: release(slug, out_root=out) for slug in CHAPTERS}, out


def test_there_are_chapters():
    assert "02_momentum" in CHAPTERS


@pytest.mark.parametrize("slug", CHAPTERS)
def test_release_matches_committed_copy(regenerated, slug):
    # The committed copy was made by an earlier run: matching it byte for byte also shows the release is deterministic.
    written, _ = regenerated
    committed = sorted(p.name for p in (nbs.ROOT / "chapters" / slug).iterdir())
    assert committed == sorted(p.name for p in written[slug]), "chapters/ holds other files than the release makes"
    for path in written[slug]:
        mine = (nbs.ROOT / "chapters" / slug / path.name).read_bytes()
        assert mine == path.read_bytes(), (
            f"chapters/{slug}/{path.name} differs from a fresh release: run `python -m autograder release {slug}`"
        )


@pytest.mark.parametrize("slug", CHAPTERS)
def test_release_keeps_nothing_for_instructors_only(slug):
    text = nbs.release_path(slug).read_text()
    for marker in LEAKS:
        assert marker not in text
    nb = nbs.read(nbs.release_path(slug))
    assert set(nb.metadata) <= {"kernelspec", "language_info"}
    source = nbs.read(nbs.source_path(slug))
    released = {line.strip() for c in nb.cells for line in c.source.splitlines()}
    leaked = hidden_only_lines(source) & released
    assert not leaked, f"hidden test lines reached the release: {sorted(leaked)}"
    for cell in nb.cells:
        assert "instructor-only" not in nbs.tags(cell)
        assert set(cell.metadata) <= {"nbgrader", "tags", "editable", "deletable"}
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if nbs.is_answer(cell):
            assert "raise NotImplementedError()" in cell.source
    assert nbs.answer_ids(nb) == nbs.answer_ids(source)
    assert [nbs.grade_id(c) for c in nbs.test_cells(nb)] == [nbs.grade_id(c) for c in nbs.test_cells(source)]


@pytest.mark.parametrize("slug", CHAPTERS)
def test_reference_data_is_small_and_strict_json(slug):
    path = nbs.ROOT / "chapters" / slug / "reference.json"
    if path.exists():
        assert path.stat().st_size < 1_000_000
        json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in reference.json"))


@pytest.mark.parametrize("slug", CHAPTERS)
def test_source_notebooks_are_committed_without_outputs(slug):
    nb = nbs.read(nbs.source_path(slug))
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code"), (
        f"clear the outputs: python -m autograder strip solutions/{slug}/{slug}.ipynb"
    )


def test_release_refuses_a_reference_that_fails_its_own_test(tmp_path):
    slug = "02_momentum"
    shutil.copytree(nbs.ROOT / "solutions" / slug, tmp_path / "solutions" / slug)
    path = nbs.source_path(slug, tmp_path)
    nb = nbs.read(path)
    cell = next(c for c in nb.cells if nbs.grade_id(c) == "momentum_step")
    cell.source = cell.source.replace("alpha * v - lr * g", "alpha * v + lr * g")
    nbs.write(nb, path)
    with pytest.raises(ReleaseError, match="test_momentum_step_one_step"):
        release(slug, root=tmp_path)
    assert not (tmp_path / "chapters" / slug / f"{slug}.ipynb").exists()
