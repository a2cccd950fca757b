"""A chapter's student notebook in a live JupyterLab and Notebook 7, run the way a student runs it.

For each app the test starts the server itself (tests/browser/lab.py: 127.0.0.1, a free port, a
token, empty user folders, so the app's default settings), copies what `chapters/<CHAPTER>/`
holds into an empty folder, opens the notebook in chromium and runs it with Run All. Then,
without a click: every reference animation (the player of the chapter's reference-view block) shows its picture, at a
sensible size, once scrolled into view; no output shows a traceback outside the exercise
checks, a widget error or a missing file; moving a player's slider changes its picture; and
the page asks the internet for nothing (tests/browser/cdn.py serves the CDN files offline).

CHAPTER is the chapter whose stubs show the most reference animations, most of them off the
screen when they render (the case that once left them at 0x0 pixels until clicked).

Outside CI a machine without chromium, playwright, node_modules/ or the app skips with the
reason; in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pytest
from browser import book, chromium, lab
from browser.cdn import Router

CHAPTER = "04_initialization"
DESKTOP = {"width": 1280, "height": 900}
MIN_PICTURE = (200, 100)  # a reference frame is a figure several hundred pixels wide: smaller is broken
WIDGETS = "@jupyter-widgets/jupyterlab-manager"  # ipywidgets' extension for JupyterLab and Notebook 7


def skip_or_fail(reason: str):
    if chromium.in_ci():
        pytest.fail(f"the JupyterLab browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@dataclass
class Run:
    """One Run All of the chapter's notebook in one app, and what was seen before any click."""

    app: str
    server: lab.Jupyter
    page: object
    router: Router
    notebook: object  # the notebook as the app saved it after Run All
    rendered: dict[int, str]  # cell index -> the text of its rendered outputs
    pictures: dict[str, dict | None]  # img id -> the picture as seen while scrolling down (None: never seen)

    def cell_of(self, img_id: str) -> int:
        return next(i for i, c in enumerate(self.notebook.cells) if img_id in str(c.get("outputs", "")))


@pytest.fixture(scope="module", params=list(lab.APPS))
def run(request, chromium_browser, tmp_path_factory):
    app = request.param
    reason = lab.unavailable(app)
    if reason:
        skip_or_fail(reason)
    root = tmp_path_factory.mktemp(f"{app}-student")
    for f in (book.ROOT / "chapters" / CHAPTER).iterdir():  # the notebook, and whatever else is released beside it
        shutil.copy2(f, root / f.name)
    with lab.Jupyter(app, root) as server:
        context = chromium_browser.new_context(viewport=DESKTOP)  # the session's chromium (tests/conftest.py)
        context.set_default_timeout(30_000)
        page = context.new_page()
        router = Router(server.origin)
        page.route(lambda url: not url.startswith(server.origin), router)  # the app's own requests go through untouched
        try:
            notebook = lab.run_all(page, server, f"{CHAPTER}.ipynb")
        except Exception as exc:
            context.close()
            raise RuntimeError(f"{app}: Run All failed ({exc}); the server's log:\n{server.server_log()}") from exc
        rendered, seen = lab.scroll_down(page)
        pictures = {img_id: seen.get(img_id) for img_id in lab.animation_ids(notebook)}
        yield Run(app, server, page, router, notebook, rendered, pictures)
        context.close()


def reference_demos(nb) -> list[int]:
    """The cells that call show_reference (its definition aside): each must show a player in the stub state."""
    return [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "show_reference(" in c.source and "def show_reference" not in c.source
    ]


def is_check(cell) -> bool:
    """An exercise's test cell: it fails, and shows its traceback, until the student's code is in."""
    return "raises-exception" in cell.metadata.get("tags", [])


def test_the_app_runs_in_its_default_settings_with_ipywidgets(run):
    settings = run.server.api("lab/api/settings/@jupyterlab/notebook-extension:tracker")
    assert not settings["settings"], f"{run.app}: user settings leaked into the test: {settings['settings']}"
    assert WIDGETS in lab.extensions(run.page), f"{run.app} did not load ipywidgets' extension ({WIDGETS})"


def test_run_all_shows_a_player_for_every_reference_demo(run):
    demos = reference_demos(run.notebook)
    assert demos, f"{CHAPTER} calls show_reference nowhere: pick another CHAPTER"
    with_player = sorted({run.cell_of(i) for i in run.pictures})
    assert with_player == demos, (
        f"{run.app}: the reference demos are cells {demos}, the players are in cells {with_player}"
    )


def test_every_reference_picture_shows_without_a_click(run):
    broken = []
    for img_id, seen in run.pictures.items():
        where = f"cell {run.cell_of(img_id)}"
        if seen is None:
            broken.append(f"{where}: its player never came on the screen")
        elif not (seen["natural_width"] > 0 and seen["width"] >= MIN_PICTURE[0] and seen["height"] >= MIN_PICTURE[1]):
            broken.append(
                f"{where}: the picture is {seen['width']}x{seen['height']} px on the page "
                f"(its frame is {seen['natural_width']} px wide, src {seen['src']!r}…)"
            )
        elif not seen["on_top"]:
            broken.append(f"{where}: at the picture's middle the page shows {seen['hit']}")
    assert not broken, (
        f"{run.app}: after Run All, scrolling down the notebook without a click, reference pictures do not show:\n"
        + "\n".join(broken)
    )


def test_outputs_show_no_error_and_ask_for_no_file(run):
    problems = [
        f"cell {i} raised {out.ename}: {out.evalue}"
        for i, cell in enumerate(run.notebook.cells)
        if not is_check(cell)
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]
    for i, text in run.rendered.items():
        bad = ["Error displaying widget", "reference.json"]
        if not is_check(run.notebook.cells[i]):
            bad.append("Traceback")
        problems += [f"cell {i} shows {b!r}: {text[:200]!r}" for b in bad if b in text]
    assert not problems, f"{run.app}:\n" + "\n".join(problems)


def test_moving_a_slider_changes_the_picture(run):
    img_id = next(iter(run.pictures))
    img = run.page.locator(f"#{img_id}")
    slider = run.page.locator(f"#{img_id}-slider")
    slider.scroll_into_view_if_needed()
    before = img.get_attribute("src")
    slider.focus()
    slider.press("End")
    assert slider.input_value() == slider.get_attribute("max") != "0", f"{run.app}: the slider did not move"
    assert img.get_attribute("src") != before, f"{run.app}: moving the slider does not change the picture"
    box = img.bounding_box()
    assert box and box["width"] >= MIN_PICTURE[0], f"{run.app}: the moved picture has no size ({box})"


def test_nothing_asks_the_internet(run):
    assert not run.router.blocked, (
        f"{run.app} asks the internet for files no route serves (tests/browser/cdn.py):\n"
        + "\n".join(run.router.blocked)
    )
