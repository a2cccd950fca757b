"""The committed student release is what `python -m autograder release` makes of the source, on any machine.

The release notebooks must match byte for byte. The demos' reference data are
floating-point results whose last bits depend on the machine (the BLAS kernel
numpy picks, the CPU's vector instructions, the thread count), so they must
match within the release's tolerance, and no demo may be so unstable that its
numbers move by more than that when its inputs move by one unit in the last
place: such a demo would give every machine different reference data.

The reference data travel in the release notebook's metadata, so the notebook is all a student
downloads; `test_downloaded_notebook_alone_shows_every_reference_view` runs it that way.
"""

import json
import os
import platform
import shutil
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from conftest import CHAPTERS, hidden_only_lines

from autograder import misconceptions
from autograder import notebooks as nbs
from autograder import release as rel
from autograder.release import (
    LEAKS,
    ReleaseError,
    describe_differences,
    dumps_reference,
    reference_differences,
    reference_text,
    release,
    released_reference,
    run_reference,
    student_version,
)

# Injected before the instructor-only export cell of a copy of the source notebook: every float
# drawn from a numpy Generator made by default_rng, and every float array passed to or returned
# by a function defined in the notebook, is multiplied by 1 + 2**-52, one unit in the last place.
# A stable demo moves by far less than the release's tolerance; a chaotic one by 1e-2 or more,
# as it does between two machines.
LAST_BIT_NOISE = """
import functools as _functools
import types as _types

import numpy as _np

_ULP = 1.0 + 2.0**-52


def _nudge(value):
    if isinstance(value, _np.ndarray) and value.dtype.kind == "f":
        return value * _ULP
    if type(value) is dict:
        return {key: _nudge(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_nudge(item) for item in value)
    return value


class _NudgedGenerator(_np.random.Generator):
    def normal(self, *args, **kwargs):
        return _nudge_draw(super().normal(*args, **kwargs))

    def standard_normal(self, *args, **kwargs):
        return _nudge_draw(super().standard_normal(*args, **kwargs))

    def uniform(self, *args, **kwargs):
        return _nudge_draw(super().uniform(*args, **kwargs))


def _nudge_draw(value):
    return value * _ULP if isinstance(value, float) else _nudge(value)


def _default_rng(seed=None):
    return seed if isinstance(seed, _np.random.Generator) else _NudgedGenerator(_np.random.PCG64(seed))


def _nudged(function):
    @_functools.wraps(function)
    def call(*args, **kwargs):
        return _nudge(function(*_nudge(args), **_nudge(kwargs)))

    return call


_np.random.default_rng = _default_rng
for _name, _value in list(globals().items()):
    if isinstance(_value, _types.FunctionType) and _value.__module__ == "__main__" and not _name.startswith("_"):
        globals()[_name] = _nudged(_value)
"""


def machine() -> str:
    """What decides the last bits here: CPU architecture, numpy's BLAS, its kernel and threads settings."""
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    settings = ", ".join(f"{k}={os.environ[k]}" for k in sorted(os.environ) if k.startswith(("OPENBLAS_", "OMP_")))
    return (
        f"{platform.machine()}, numpy {np.__version__} with {blas.get('name', '?')} {blas.get('version', '')}"
        f" ({settings or 'no OPENBLAS_* or OMP_* settings'})"
    )


@pytest.fixture(scope="module")
def fresh():
    """Each chapter's source notebook and raw reference data, computed once on this machine."""
    made = {}
    for slug in CHAPTERS:
        source = nbs.read(nbs.source_path(slug))
        made[slug] = source, run_reference(source, nbs.source_path(slug).parent)
    return made


def test_there_are_chapters():
    assert "02_momentum" in CHAPTERS


@pytest.mark.parametrize("slug", CHAPTERS)
def test_release_notebook_matches_committed_copy(fresh, slug):
    # The committed copy was made by an earlier run: matching it byte for byte also shows the release is deterministic.
    # (The reference data it carries are compared within the tolerance, by the next test.)
    source, reference = fresh[slug]
    committed = {p.name for p in (nbs.ROOT / "chapters" / slug).iterdir()}
    assert committed == {f"{slug}.ipynb"}, "chapters/ holds other files than the release makes"
    carried = released_reference(nbs.release_path(slug))
    assert (carried is None) == (reference is None), "the notebook's reference data are missing or left over"
    text = nbs.dumps(student_version(source, slug, carried))
    assert nbs.release_path(slug).read_text(encoding="utf-8") == text, (
        f"chapters/{slug}/{slug}.ipynb differs from a fresh release of solutions/{slug}: "
        f"run `python -m autograder release {slug}` and commit the result"
    )


@pytest.mark.parametrize("slug", CHAPTERS)
def test_reference_data_match_committed_copy(fresh, slug):
    # Within the tolerance the release keeps the committed file: a fresh release leaves the checkout clean.
    source, reference = fresh[slug]
    if reference is None:
        pytest.skip(f"{slug} exports no reference data")
    committed = released_reference(nbs.release_path(slug))
    differences = reference_differences(json.loads(committed), reference)
    same_notebook = nbs.release_path(slug).read_text(encoding="utf-8") == nbs.dumps(
        student_version(source, slug, committed)
    )
    if differences and same_notebook:
        pytest.fail(
            f"On this machine ({machine()}) the demos of {slug} compute {len(differences)} number(s) that differ "
            f"from those chapters/{slug}/{slug}.ipynb carries by more than last-bit differences can explain "
            f"(relative {rel.RTOL:g}), although solutions/{slug} matches its release. A demo is numerically "
            "unstable here (chaotic, or hinging on the last bit): make it stable in the source notebook. "
            "Regenerating the release would only move this failure to the machine it was made on. "
            f"Committed -> this machine:\n{describe_differences(differences)}"
        )
    assert not differences, (
        f"solutions/{slug} changed since chapters/{slug} was made: run `python -m autograder release {slug}`"
        f" and commit. Committed -> fresh:\n{describe_differences(differences)}"
    )
    assert reference_text(committed, reference) == (committed, [])


@pytest.mark.parametrize("slug", CHAPTERS)
def test_reference_data_survive_last_bit_noise(fresh, slug):
    # Another machine rounds differently: one-ulp noise on every demo's inputs, on one BLAS thread
    # (OMP_NUM_THREADS; this run's other settings are left as they are), must not move any number
    # beyond the tolerance. A chaotic demo fails here on every machine.
    _, reference = fresh[slug]
    if reference is None:
        pytest.skip(f"{slug} exports no reference data")
    source = nbs.read(nbs.source_path(slug))
    first_export = next(i for i, c in enumerate(source.cells) if nbs.INSTRUCTOR_TAG in nbs.tags(c))
    source.cells.insert(first_export, nbformat.v4.new_code_cell(LAST_BIT_NOISE))
    noisy = run_reference(source, nbs.source_path(slug).parent, env={"OMP_NUM_THREADS": "1"})
    differences = reference_differences(json.loads(dumps_reference(reference)), noisy)
    if differences:
        pytest.fail(
            f"{len(differences)} number(s) of {slug}'s reference data move beyond the release's tolerance "
            f"(relative {rel.RTOL:g}) when the demos' inputs change by one unit in the last place: those demos are "
            "chaotic or hinge on the last bit, so every machine would compute different reference data. Make them "
            f"numerically stable in solutions/{slug}. Unperturbed -> perturbed:\n{describe_differences(differences)}"
        )


def test_last_bit_noise_catches_a_chaotic_demo(tmp_path):
    # The perturbation reaches a demo's numbers: iterating the logistic map x -> 4x(1-x), chaotic, from a
    # drawn start moves by far more than the tolerance, while a contracting map x -> x/2 + 1/4 does not.
    define = nbformat.v4.new_code_cell(
        "import json, os\nimport numpy as np\n\n"
        "def iterate(x, r, steps=60):\n"
        "    for _ in range(steps):\n"
        "        x = r * x * (1 - x) if r == 4.0 else x / 2 + 0.25\n"
        "    return x\n"
    )
    export = nbformat.v4.new_code_cell(
        "x0 = np.random.default_rng(0).uniform(0.2, 0.8, 4)\n"
        "data = {'chaotic': iterate(x0, 4.0).tolist(), 'stable': iterate(x0, 0.5).tolist()}\n"
        "open(os.environ['COURSE_REFERENCE_OUT'], 'w').write(json.dumps(data))\n",
        metadata={"tags": [nbs.INSTRUCTOR_TAG]},
    )
    clean = run_reference(nbformat.v4.new_notebook(cells=[define, export]), tmp_path)
    noisy = run_reference(
        nbformat.v4.new_notebook(cells=[define, nbformat.v4.new_code_cell(LAST_BIT_NOISE), export]), tmp_path
    )
    moved = {path.split("/")[0] for path, _, _ in reference_differences(json.loads(dumps_reference(clean)), noisy)}
    assert moved == {"chaotic"}


def test_rounding_boundaries_and_last_bits_keep_the_committed_file():
    # Today's failure: 6-digit rounding flipped on last-bit differences. The tolerance absorbs both.
    here, there = 1.2345650000000001, 1.2345649999999998
    assert f"{here:.6g}" != f"{there:.6g}"  # the two sides of a rounding boundary, a few ulps apart
    data = {"curve": [here, 0.1, -3.0e-20, float("nan")], "n": 3, "label": "x"}
    committed = dumps_reference(data)
    moved = {"curve": [there, 0.1 * (1 + 1e-9), 2.0e-20, float("inf")], "n": 3, "label": "x"}
    assert reference_text(committed, moved) == (committed, [])


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["curve"].__setitem__(1, 0.1 * (1 + 3e-5)), "curve/1"),
        (lambda d: d["curve"].__setitem__(0, float("nan")), "curve/0"),
        (lambda d: d["curve"].append(1.0), "curve"),
        (lambda d: d.update(n=4), "n"),
        (lambda d: d.update(n=3.0), "n"),
        (lambda d: d.update(label="y"), "label"),
        (lambda d: d.update(extra=1), "/"),
    ],
)
def test_a_real_change_rewrites_the_file_and_says_where(change, where):
    data = {"curve": [1.5, 0.1, 2.0], "n": 3, "label": "x"}
    committed = dumps_reference(data)
    change(data)
    text, differences = reference_text(committed, data)
    assert text == dumps_reference(data) != committed
    assert [d[0] for d in differences] == [where]
    assert where in describe_differences(differences)


def test_release_keeps_or_rewrites_the_reference_data(tmp_path, monkeypatch):
    # The release itself: agreeing data leave the committed text untouched; moved data are written and reported.
    slug = "02_momentum"
    shutil.copytree(nbs.ROOT / "solutions" / slug, tmp_path / "solutions" / slug)
    committed = dumps_reference({"curve": [1.5, 0.25]})
    out = nbs.release_path(slug, tmp_path)
    out.parent.mkdir(parents=True)
    (out.parent / "reference.json").write_text(committed)  # left by an older release: removed
    nbs.write(student_version(nbs.read(nbs.source_path(slug, tmp_path)), slug, committed), out)
    said = []
    monkeypatch.setattr(rel, "run_reference", lambda nb, cwd: {"curve": [1.5 * (1 + 1e-12), 0.25]})
    assert release(slug, root=tmp_path, say=said.append) == [out]
    assert released_reference(out) == committed and said == []
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    monkeypatch.setattr(rel, "run_reference", lambda nb, cwd: {"curve": [1.5, 0.26]})
    release(slug, root=tmp_path, say=said.append)
    assert json.loads(released_reference(out)) == {"curve": [1.5, 0.26]}
    assert nbs.read(out).metadata["course"]["chapter"] == slug
    assert len(said) == 1 and "curve/1: 0.25 -> 0.26" in said[0]
    out.write_text("{ a release notebook broken by hand")  # nothing to compare with: written afresh
    release(slug, root=tmp_path, say=said.append)
    assert json.loads(released_reference(out)) == {"curve": [1.5, 0.26]} and len(said) == 1


@pytest.mark.parametrize("slug", CHAPTERS)
def test_misconception_catalogue_matches_committed_copy(slug):
    # grade reads solutions/<slug>/misconceptions.json instead of running every mistake: it must be what
    # running them gives now, under the key of the chapter as committed.
    committed = misconceptions.path(slug).read_text(encoding="utf-8")
    fix = f"run `python -m autograder release {slug}` and commit solutions/{slug}/{misconceptions.FILE}"
    assert json.loads(committed)["key"] == misconceptions.key(slug), (
        f"solutions/{slug} (its notebook or mistakes.py) or autograder/messages.py changed since the "
        f"catalogue was written: {fix}"
    )
    fresh = misconceptions.compute(slug)
    assert fresh, f"the mistakes of {slug} could not be run against its tests"
    assert committed == misconceptions.dumps(slug, fresh), f"the committed catalogue differs from a fresh one: {fix}"


def test_catalogue_is_read_while_current_and_computed_when_stale(tmp_path, monkeypatch):
    slug = "02_momentum"
    shutil.copytree(nbs.ROOT / "solutions" / slug, tmp_path / "solutions" / slug)
    files = sorted(p.name for p in (tmp_path / "solutions" / slug).iterdir())
    runs = []
    monkeypatch.setattr(misconceptions, "compute", lambda s, root: runs.append(s) or [["test_x", "a line", "a_slip"]])
    assert misconceptions.catalogue(slug, tmp_path) == misconceptions.catalogue(slug) != {}
    assert misconceptions.write(slug, tmp_path) is None and runs == []  # up to date: nothing run, nothing written
    mistakes = misconceptions.mistakes_path(slug, tmp_path)
    mistakes.write_text(mistakes.read_text() + "\n# edited after the release\n")
    assert misconceptions.catalogue(slug, tmp_path) == {("test_x", "a line"): ["a_slip"]} and runs == [slug]
    assert misconceptions.write(slug, tmp_path) == misconceptions.path(slug, tmp_path) and runs == [slug, slug]
    assert misconceptions.stored(slug, tmp_path) == [["test_x", "a line", "a_slip"]]
    assert sorted(p.name for p in mistakes.parent.iterdir()) == files  # written aside and renamed: nothing left
    monkeypatch.setattr(misconceptions, "compute", lambda s, root: None)
    mistakes.write_text(mistakes.read_text() + "# and again\n")
    with pytest.raises(misconceptions.CatalogueError, match="could not run the mistakes"):
        misconceptions.write(slug, tmp_path)
    assert misconceptions.catalogue(slug, tmp_path) == {}


@pytest.mark.parametrize("slug", CHAPTERS)
def test_release_keeps_nothing_for_instructors_only(slug):
    text = nbs.release_path(slug).read_text()
    for marker in LEAKS:
        assert marker not in text
    nb = nbs.read(nbs.release_path(slug))
    assert set(nb.metadata) <= {"kernelspec", "language_info", "course"}
    if "course" in nb.metadata:
        assert nb.metadata["course"].keys() == {"chapter", "reference"} and nb.metadata["course"]["chapter"] == slug
    source = nbs.read(nbs.source_path(slug))
    released = {line.strip() for c in nb.cells for line in c.source.splitlines()}
    leaked = hidden_only_lines(source) & released
    assert not leaked, f"hidden test lines reached the release: {sorted(leaked)}"
    for cell in nb.cells:
        assert "instructor-only" not in nbs.tags(cell)
        assert set(cell.metadata) <= {"nbgrader", "tags", "editable", "deletable", "mystnb"}
        if "mystnb" in cell.metadata:  # a figure's alt text and caption, as the source sets them
            assert cell.metadata["mystnb"] == next(c for c in source.cells if c.id == cell.id).metadata["mystnb"]
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if nbs.is_answer(cell):
            assert "raise NotImplementedError()" in cell.source
    assert nbs.answer_ids(nb) == nbs.answer_ids(source)
    assert [nbs.grade_id(c) for c in nbs.test_cells(nb)] == [nbs.grade_id(c) for c in nbs.test_cells(source)]


@pytest.mark.parametrize("slug", CHAPTERS)
def test_reference_data_is_small_and_strict_json(slug):
    text = released_reference(nbs.release_path(slug))
    if text is not None:
        assert len(text.encode()) < 1_000_000, "the reference data make the student's notebook heavy"
        json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the reference data"))


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


STUB_RUNNER = """
import json, os, sys
import numpy as np
from autograder import notebooks as nbs

path, tests = sys.argv[1], json.loads(sys.stdin.read())
os.environ["NBGRADER_EXECUTION"] = "autograde"  # as when grading: the demos skip
os.chdir(os.path.dirname(path))
namespace, raised = {"__name__": "__main__"}, {}
with np.errstate(all="ignore"):
    for cell in nbs.read(path).cells:
        if cell.cell_type != "code":
            continue
        gid = nbs.grade_id(cell)
        code = compile(tests.get(gid, cell.source), f"<{gid or cell.get('id')}>", "exec")
        if not nbs.is_test(cell):
            exec(code, namespace)  # setup, stubs and demos must run on stubs without an error
            continue
        try:
            exec(code, namespace)
            raised[gid] = None
        except Exception as err:
            raised[gid] = type(err).__name__
print(json.dumps(raised))
"""


def _run_stub_notebook(path, tests=None):
    """Run a release notebook in a fresh Python as the grader does (demos off): each test's exception name.

    ``tests`` maps a test's id to the code the grader runs for it (the source's, hidden tests included).
    """
    done = subprocess.run(
        [sys.executable, "-c", STUB_RUNNER, str(path)],
        input=json.dumps(tests or {}),
        capture_output=True,
        text=True,
        cwd=nbs.ROOT,
        env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(nbs.ROOT)},
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{path} did not run on its stubs:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("slug", CHAPTERS)
def test_every_test_of_a_released_stub_fails_with_not_implemented(slug):
    # "Doing the exercises" promises that an unattempted exercise shows NotImplementedError in every test,
    # visible or hidden.
    source = nbs.read(nbs.source_path(slug))
    tests = {nbs.grade_id(c): c.source for c in nbs.test_cells(source)}  # hidden tests as graded
    failures = _run_stub_notebook(nbs.release_path(slug), tests)
    assert failures, f"chapters/{slug} has no test cells"
    wrong = {test: raised for test, raised in failures.items() if raised != "NotImplementedError"}
    assert not wrong, (
        f"on the released stubs of {slug} these tests do not fail with NotImplementedError (test: what it raised, "
        f"None if it passed): {wrong}. A test that catches exceptions must re-raise NotImplementedError."
    )


def test_a_test_that_swallows_not_implemented_is_caught(tmp_path):
    # The check above can fail: a test catching every exception turns the stub's error into an AssertionError.
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("def f(k):\n    raise NotImplementedError()"),
        nbformat.v4.new_code_cell(
            "try:\n    f(0)\nexcept ValueError:\n    pass\nexcept Exception as err:\n    raise AssertionError(err)",
            metadata={"nbgrader": {"grade": True, "grade_id": "test_f", "points": 1, "solution": False}},
        ),
    ]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert _run_stub_notebook(path) == {"test_f": "AssertionError"}


def _links(nb):
    return [m.group(2) for c in nb.cells if c.cell_type == "markdown" for m in rel.LINK.finditer(c.source)]


def _page_of(url, base):
    """The repository file a link into the published book stands for, or None if it is not one of its pages."""
    path = url[len(base) :].partition("#")[0]
    stem, ext = os.path.splitext(path)
    if ext != ".html":
        return None
    for suffix in (".md", ".ipynb"):
        if (nbs.ROOT / (stem + suffix)).is_file():
            return nbs.ROOT / (stem + suffix)
    return None


@pytest.mark.parametrize("slug", CHAPTERS)
def test_every_link_of_a_release_works_when_the_notebook_is_downloaded_alone(slug):
    # No relative link (it breaks once the notebook stands alone); every link into the book names a real page.
    base = rel.book_url()
    links = _links(nbs.read(nbs.release_path(slug)))
    for link in links:
        assert rel.SCHEME.match(link) or link.startswith("#"), (
            f"chapters/{slug} links to {link!r}, a relative address that breaks in a downloaded notebook"
        )
        if link.startswith(base):
            assert _page_of(link, base), f"chapters/{slug} links to {link!r}, which is no page of the book"
    source_links = _links(nbs.read(nbs.source_path(slug)))
    assert len(links) == len(source_links), "the release lost or gained a link"


def test_relative_links_become_the_books_address_set_once_in_the_config(tmp_path):
    base = rel.book_url()
    assert base.startswith("https://") and base.endswith("/")
    text = "[Doing the exercises](../../exercises.md), [a section](#top), [x](https://example.org/a.md)"
    out = rel.absolute_links(text, "02_momentum", base)
    assert out == f"[Doing the exercises]({base}exercises.html), [a section](#top), [x](https://example.org/a.md)"
    assert _page_of(base + "exercises.html", base) == nbs.ROOT / "exercises.md"
    assert _page_of(base + "nowhere.html", base) is None
    with pytest.raises(ReleaseError, match="leaves the book"):
        rel.absolute_link("../../../secret.md", "02_momentum", base)
    (tmp_path / "_config.yml").write_text("html:\n  use_download_button: true\n")
    with pytest.raises(ReleaseError, match="baseurl"):
        rel.book_url(tmp_path)
