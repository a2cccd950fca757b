"""The book build's frame cache (book/framecache.py): a player drawn once, and again when what it draws may change.

The store's key and entries are checked in-process; the hook itself in real kernels, started
by the book build's client on a notebook made of chapter 1's own first cells (its imports and
the reference-view block with ``Player``) and one small player.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import nbformat
import pytest

from autograder import notebooks as nbs
from book import framecache

ENVIRONMENT = {"python": "3.11.7", "numpy": "2.0.0", "matplotlib": "3.9.0", "freetype": "2.6.1", "pillow": "10.0.0"}
BASE = dict(
    sources=["", "import numpy", "x = 1", "Player(fig, update, 3)"],
    course="course-hash",
    ordinal=0,
    arguments=["3"],
    init_source="def __init__(self): ...",
    environment=ENVIRONMENT,
    rc="rc",
)


def key(**changes) -> str:
    return framecache.frame_key(**{**BASE, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {"sources": ["", "import numpy", "x = 2", "Player(fig, update, 3)"]},  # an earlier cell's code
        {"sources": ["", "import numpy", "x = 1", "x = 1", "Player(fig, update, 3)"]},  # one cell more ran before
        {"course": "other-course-hash"},  # the reference data
        {"ordinal": 1},  # the second player of the run
        {"arguments": ["4"]},
        {"init_source": "def __init__(self): pass"},  # the Player block's own code
        {"environment": {**ENVIRONMENT, "matplotlib": "3.9.1"}},
        {"environment": {**ENVIRONMENT, "numpy": "2.0.1"}},
        {"environment": {**ENVIRONMENT, "pillow": "10.0.1"}},
        {"environment": {**ENVIRONMENT, "python": "3.11.8"}},
        {"rc": "rc with another dpi"},
    ],
)
def test_the_key_changes_with_everything_the_frames_depend_on(changes):
    assert key() == key(), "the key is not a function of its inputs"
    assert key(**changes) != key(), f"the key ignores {changes}"


def test_the_kernel_reads_every_version_the_key_names():
    environment = framecache.drawing_environment()
    assert set(ENVIRONMENT) <= set(environment), environment
    import matplotlib

    assert environment["matplotlib"] == matplotlib.__version__


CELL = """\
x = 1
if x:
    p = Player(
        fig, update, 3)
    y = 2
else:
    y = 3
z = 4
"""


@pytest.mark.parametrize(
    ("line", "run"),
    [
        (1, "x = 1\n"),
        (3, "".join(CELL.splitlines(keepends=True)[:4])),  # the whole statement, though it starts at line 3
        (4, "".join(CELL.splitlines(keepends=True)[:4])),
        (8, CELL),
    ],
)
def test_what_a_cell_has_run_ends_with_the_running_statement(line, run):
    assert framecache.run_so_far(CELL, line) == run


def test_a_loop_counts_whole_since_its_later_lines_ran_in_earlier_rounds():
    cell = "for i in range(3):\n    p = Player(fig, update, i)\n    x = i\nz = 1\n"
    assert framecache.run_so_far(cell, 2) == "for i in range(3):\n    p = Player(fig, update, i)\n    x = i\n"
    nested = "for i in range(3):\n    if i:\n        p = Player(fig, update, i)\n    x = i\nz = 1\n"
    assert framecache.run_so_far(nested, 3).endswith("    x = i\n")
    while_loop = "while go():\n    p = Player(fig, update, 3)\n    go = stop\n"
    assert framecache.run_so_far(while_loop, 2) == while_loop


def test_a_cell_that_does_not_parse_counts_whole():
    assert framecache.run_so_far("p = Player(\n%magic", 1) == "p = Player(\n%magic"
    assert framecache.run_so_far("x = 1\n", 7) == "x = 1\n"


STATE = {"frames": ["data:image/png;base64,AAAA", "data:image/png;base64,BBBB"], "texts": ["a", "b"], "size": (8, 4)}


def test_an_entry_gives_back_the_attributes_it_was_given(tmp_path):
    assert framecache.write_entry(tmp_path, "k1", STATE)
    back = framecache.read_entry(tmp_path, "k1")
    assert back == STATE and isinstance(back["size"], tuple), back
    assert framecache.read_entry(tmp_path, "k2") is None, "a key never stored is a hit"
    assert [p.name for p in tmp_path.iterdir()] == ["k1.json"], "a temporary file was left behind"


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # half written
        lambda data: data.replace(b"BBBB", b"BBBC"),  # a flipped byte in a frame: valid JSON, wrong checksum
        lambda data: b"",
        lambda data: b"\xff\xfe not an entry",
        lambda data: data.replace(b'"k1"', b'"k9"'),  # another key's entry under this name
    ],
)
def test_a_corrupt_entry_is_a_miss(tmp_path, damage):
    framecache.write_entry(tmp_path, "k1", STATE)
    path = framecache.entry_path(tmp_path, "k1")
    path.write_bytes(damage(path.read_bytes()))
    assert framecache.read_entry(tmp_path, "k1") is None


def test_an_unreadable_store_is_a_miss_and_not_an_error(tmp_path):
    (tmp_path / "k1.json").mkdir()  # a folder where the entry should be
    assert framecache.read_entry(tmp_path, "k1") is None
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert not framecache.write_entry(blocked / "store", "k1", STATE)  # its folder cannot be made
    assert not framecache.write_entry(tmp_path, "k1", STATE)  # written, but it cannot take the entry's place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "k1.json"], "a temporary file was left behind"


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_an_entry_gets_the_mode_of_every_other_output(tmp_path, umask):
    # A colleague building the same checkout (a course folder shared on a JupyterHub) reads what this
    # build stored: an entry is made under the umask, as the build's pages are, not private (0600).
    before = os.umask(umask)
    try:
        assert framecache.write_entry(tmp_path, "k1", STATE)
        (tmp_path / "page.html").write_text("a page", encoding="utf-8")
    finally:
        os.umask(before)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()}
    assert modes == {"k1.json": 0o666 & ~umask, "page.html": 0o666 & ~umask}, {k: oct(v) for k, v in modes.items()}


def test_what_json_cannot_keep_is_not_stored(tmp_path):
    assert not framecache.write_entry(tmp_path, "k1", {"size": ((1, 2), 3)})  # a tuple inside a tuple
    assert not framecache.write_entry(tmp_path, "k1", {"figure": object()})
    assert not list(tmp_path.iterdir())


def test_pruning_drops_old_entries_then_the_least_recently_used(tmp_path):
    now = 1_000_000_000.0
    for name, days_ago in [("new", 0), ("recent", 1), ("older", 2), ("old", 40)]:
        framecache.write_entry(tmp_path, name, STATE)
        os.utime(framecache.entry_path(tmp_path, name), (now - days_ago * 86400,) * 2)
    size = sum(framecache.entry_path(tmp_path, name).stat().st_size for name in ("new", "recent"))
    (tmp_path / ".dead.tmp").write_text("")
    os.utime(tmp_path / ".dead.tmp", (now - 7200,) * 2)
    (tmp_path / ".writing.tmp").write_text("")  # being written now: left alone
    os.utime(tmp_path / ".writing.tmp", (now,) * 2)
    assert framecache.prune(tmp_path, max_age_days=30, max_bytes=size, now=now) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [".writing.tmp", "new.json", "recent.json"]
    assert framecache.prune(tmp_path / "missing", now=now) == 0


DEMO = """\
drawn = []


def update(i):
    drawn.append(i)
    ax.cla()
    ax.plot([0, 1], [0, i])
    ax.set_title(f"slope {i}")


fig, ax = plt.subplots(figsize=(2, 1))
player = Player(fig, update, 2, interval=300, name="a test")
display(player)
print("frames drawn:", len(drawn), "figures open:", len(plt.get_fignums()))
"""

RUNS = """
import json, pathlib, sys
import nbformat
from book import execution

execution.BookClient.frame_store = pathlib.Path(sys.argv[1]) / "store"
results = []
for path in sys.argv[2:]:
    nb = nbformat.read(path, as_version=4)
    where = {"metadata": {"path": sys.argv[1]}}
    execution.BookClient(nb, timeout=120, kernel_name="python3", resources=where).execute()
    last = nb.cells[-1].outputs
    html = [o["data"]["text/html"] for o in last if o.get("output_type") == "display_data"]
    said = [o["text"] for o in last if o.get("output_type") == "stream"]
    counts = [c.execution_count for c in nb.cells]
    entries = sorted(p.name for p in (pathlib.Path(sys.argv[1]) / "store").glob("*.json"))
    results.append({"html": html, "said": said, "counts": counts, "entries": entries})
print(json.dumps(results))
"""


def demo_notebook(*extra_cells: str):
    """Chapter 1's first two code cells (imports, then the helpers with the reference view), then ``extra_cells``."""
    chapter = nbformat.read(nbs.ROOT / "chapters" / "01_challenges" / "01_challenges.ipynb", as_version=4)
    first = [cell for cell in chapter.cells if cell.cell_type == "code"][:2]
    assert "class Player" in first[1].source, "chapter 1's reference view moved: update this test"
    cells = [nbformat.v4.new_code_cell(cell.source) for cell in first]
    return nbformat.v4.new_notebook(cells=cells + [nbformat.v4.new_code_cell(c) for c in extra_cells])


def test_a_player_is_drawn_once_and_again_when_code_before_it_changes(tmp_path):
    same = demo_notebook("x = 1", DEMO)
    later = demo_notebook("x = 1", DEMO + "# a line after the player: what it draws cannot change\nx = 3\n")
    edited = demo_notebook("x = 2", DEMO)  # a cell before the player changed
    paths = []
    for name, nb in [("first", same), ("again", later), ("edited", edited)]:
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
        paths.append(str(tmp_path / f"{name}.ipynb"))
    done = subprocess.run(
        [sys.executable, "-c", RUNS, str(tmp_path), *paths], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    first, again, after_edit = json.loads(done.stdout.splitlines()[-1])

    assert first["said"] == ["frames drawn: 2 figures open: 0\n"], first["said"]
    assert len(first["entries"]) == 1, "the drawn player was not stored"
    assert again["said"] == ["frames drawn: 0 figures open: 0\n"], "the same code drew the player again"
    assert again["entries"] == first["entries"]
    assert again["html"] == first["html"] and "course-player" in first["html"][0], "a hit is not what was drawn"
    assert after_edit["said"] == ["frames drawn: 2 figures open: 0\n"], "an edit before the player reused its frames"
    assert len(after_edit["entries"]) == 2
    # The set-up runs silently: the notebook's cells are numbered as without it.
    assert first["counts"] == again["counts"] == [1, 2, 3, 4], first["counts"]
