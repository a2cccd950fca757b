"""A chapter's notebook, downloaded alone, shows every demo's reference view.

The book's download button hands a student `chapters/<slug>/<slug>.ipynb` and nothing else.
The reference data its demos show while the exercises are stubs travel inside it (the release
stores them in the notebook's metadata), and the notebook finds its own file: the one Jupyter
or VS Code says is open, else a notebook of the chapter in the kernel's folder, whatever its
name (browsers save a second download as "<slug> (1).ipynb").

Each chapter is run here the way a student meets it: the notebook copied alone into an empty
folder, run top to bottom. Every demo must show the reference view, and nothing may ask for a
file that is not there.
"""

from __future__ import annotations

import json
import re
import shutil

import nbformat
import pytest
from conftest import CHAPTERS

from autograder import notebooks as nbs
from autograder.execution import error_of, execute

PLAYER = 'class="animation course-player"'
SHOWN = "Reference solution shown"


def texts(cell) -> list[str]:
    """Everything a code cell's outputs say, as text or HTML."""
    out = []
    for output in cell.get("outputs", []):
        if "text" in output:
            out.append(output["text"])
        for kind in ("text/plain", "text/html"):
            if kind in output.get("data", {}):
                out.append(output["data"][kind])
    return out


def run_alone(slug: str, folder):
    """Copy the chapter's notebook alone into `folder` and run it there."""
    path = folder / f"{slug}.ipynb"
    shutil.copyfile(nbs.release_path(slug), path)
    nb = nbs.read(path)
    stopped = execute(nb, folder, {}, cell_timeout=300)
    assert stopped is None, f"{slug} stopped: {stopped}"
    assert sorted(p.name for p in folder.iterdir()) == [path.name], "running the notebook wrote files beside it"
    return nb


@pytest.mark.parametrize("slug", CHAPTERS)
def test_downloaded_notebook_alone_shows_every_reference_view(tmp_path, slug):
    nb = run_alone(slug, tmp_path)
    demos = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        error = error_of(cell)
        if error and not nbs.is_test(cell):  # (a visible test of a stub fails, as it should)
            pytest.fail(f"{slug}, cell {cell.id} raised {error['ename']}: {error['evalue']}")
        said = "\n".join(texts(cell))
        assert "reference.json" not in said and "did not find" not in said, f"{slug}, cell {cell.id}: {said[:300]}"
        players, shown = said.count(PLAYER), said.count(SHOWN)
        assert players == shown, f"{slug}, cell {cell.id}: {shown} reference notes but {players} players"
        if re.search(r"^\s*show_reference\(", cell.source, re.M):
            assert players == 1, f"{slug}, cell {cell.id}: a demo of a stub shows no reference view: {said[:300]}"
        if players:  # what JupyterLab shows a screen reader: the same player as the book's
            html = next(text for text in texts(cell) if PLAYER in text)
            for needed in ('role="group" aria-label="', 'aria-valuetext="', 'aria-live="polite"', 'class="anim-texts"'):
                assert needed in html, f"{slug}, cell {cell.id}: the player lacks {needed}"
            assert not re.search(r"\son[a-z]+=", html), f"{slug}, cell {cell.id}: the player has inline event handlers"
        demos += players
    assert demos > 0, f"{slug} shows no reference view at all"


def _lookup(slug: str):
    """The chapter's notebook cut after its reference-view helpers, plus one call of reference_data."""
    nb = nbs.read(nbs.release_path(slug))
    key = next(iter(json.loads(nb.metadata["course"]["reference"])))
    last = next(i for i, c in enumerate(nb.cells) if "def reference_data(" in c.source)
    nb.cells = nb.cells[: last + 1]
    nb.cells.append(nbformat.v4.new_code_cell(f"print('found' if reference_data({key!r}) else 'not found')"))
    return nb


@pytest.mark.parametrize(
    ("name", "metadata", "expected"),
    [
        ("05_batch_norm (1).ipynb", True, "found"),  # a browser's name for a second download
        ("05_batch_norm.ipynb", False, "not found"),  # the data stripped: the demo says so, and nothing breaks
    ],
)
def test_the_notebook_finds_its_own_data(tmp_path, name, metadata, expected):
    slug = "05_batch_norm"
    nb = _lookup(slug)
    if not metadata:
        del nb.metadata["course"]
    nbs.write(nb, tmp_path / name)
    run = nbs.read(tmp_path / name)
    # The demos are off (as while grading): only the helpers and the lookup run.
    assert execute(run, tmp_path, {"NBGRADER_EXECUTION": "autograde"}) is None
    assert [error_of(c) for c in run.cells if error_of(c) and not nbs.is_test(c)] == []
    assert texts(run.cells[-1]) == [expected + "\n"]


def test_the_reference_view_block_is_the_same_in_every_chapter():
    # One block of code, pasted into each chapter (a downloaded notebook imports nothing of ours):
    # a fix to one copy must reach every copy.
    blocks = {}
    for slug in CHAPTERS:
        code = "\n".join(c.source for c in nbs.read(nbs.source_path(slug)).cells if c.cell_type == "code")
        found = re.search(r"^# --- The reference view:.*?^# --- end of the reference view ---$", code, re.S | re.M)
        assert found, f"{slug} lacks the reference-view block"
        blocks[slug] = found.group(0)
    first = blocks[CHAPTERS[0]]
    differ = [slug for slug, block in blocks.items() if block != first]
    assert not differ, f"the reference-view block of {differ} differs from {CHAPTERS[0]}'s: copy one to the others"
