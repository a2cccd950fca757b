"""The built book, checked the way students see it: in a real browser (Playwright driving Debian's chromium).

One strict build and one browser per session. The book is served on 127.0.0.1; the files a
page loads from public CDNs (MathJax, require.js, the widget manager, Font Awesome) are
served from node_modules/ (`npm ci`), and any other request for the internet fails the page's
test (tests/browser/cdn.py says why and how). Pages and chapters come from _toc.yml, so a
chapter the lead adds there is checked without touching this file.

Outside CI a machine without chromium, playwright or node_modules/ skips these tests with the
reason; in CI (CI=true) that is a failure, because .ci/run installs chromium.

BOOK_HTML=<folder> reuses an existing build (for example `_build/html`) instead of building.

The grader's summary.html (of the sample class, graded once) is checked here too: opened from
disk with the network cut off, it must log no error, fetch nothing and draw every chapter.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from browser import axe, book
from browser.cdn import Router
from browser.page import _SETTLE, hints, known_noise, visit
from browser.server import BookServer

PAGES = book.pages()
CHAPTERS = book.chapters()
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


# How long one action (a page load, a click, a wait for an element) may take before its test fails.
# A chapter page loads in about 5 s here when the machine is quiet; on the shared 2-core machine
# with other builds running it took over 20 s, so the limit is generous: it only catches a hang.
WAIT_MS = 60_000


def html_path(page: str) -> str:
    return page + ".html"


def is_chapter(page: str) -> bool:
    return page.startswith("chapters/") and page.split("/")[1] in CHAPTERS


@pytest.fixture(scope="session")
def browser_context(chromium_browser):
    context = chromium_browser.new_context(viewport=DESKTOP, accept_downloads=True)
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


@pytest.fixture(scope="session")
def origin(browser_context, book_html):
    """The URL of the built book, served for the whole session (the browser is checked first)."""
    with BookServer(book_html) as url:
        yield url


@pytest.fixture(scope="session")
def visits(browser_context, origin):
    """Each page visited once; every check below reads the same visit."""
    cache = {}

    def get(page: str):
        if page not in cache:
            cache[page] = visit(browser_context, origin, html_path(page))
        return cache[page]

    return get


@pytest.fixture
def tab(browser_context, origin):
    """A fresh tab whose CDN requests are served from node_modules/."""
    page = browser_context.new_page()
    page.route("**/*", Router(origin))
    yield page
    page.close()


@pytest.fixture
def phone_tab(browser_context, origin):
    """The same at a phone's width (390 CSS pixels, an iPhone 12 to 15)."""
    context = browser_context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.route("**/*", Router(origin))
    yield page
    context.close()


# ---------------------------------------------------------------- every page


@pytest.mark.parametrize("page", PAGES)
def test_page_logs_no_console_error(visits, page):
    v = visits(page)
    assert not v.errors, f"{page}: console errors (besides the stock JB1 ones {v.noise}):\n" + "\n".join(
        v.errors + hints(v.errors)
    )


@pytest.mark.parametrize("page", PAGES)
def test_page_gets_every_file_it_asks_for(visits, page):
    v = visits(page)
    assert not v.blocked, (
        f"{page} asks the internet for files no route serves (add them to tests/browser/cdn.py "
        "and package.json, or stop the page needing them):\n" + "\n".join(v.blocked)
    )
    assert not v.failed_requests, f"{page}: requests that failed:\n" + "\n".join(v.failed_requests)


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(visits, page):
    f = visits(page).facts
    problems = [f"MathJax left this as TeX: {m}" for m in f["math_untypeset"]]
    problems += [f"MathJax reports an {m}" for m in f["math_errors"]]
    problems += [f"TeX in the prose that is not marked as math: {t}" for t in f["raw_tex"]]
    assert not problems, f"{page}:\n" + "\n".join(problems[:10])
    if is_chapter(page):
        assert f["math_total"] > 0, f"{page}: a chapter with no typeset math at all"
    # Equations are out of the Tab order (_config.yml), not out of reach: MathJax's MathML for screen readers.
    missing = f["math_without_mml"]
    assert missing == 0, f"{page}: {missing} equations have no MathML for assistive technology"


@pytest.mark.parametrize("page", PAGES)
def test_images_load(visits, page):
    f = visits(page).facts
    assert not f["broken_images"], f"{page}: images that did not load: {f['broken_images']}"
    if is_chapter(page):
        assert f["n_output_images"] > 0, f"{page}: a chapter whose outputs show no figure"


@pytest.mark.parametrize("page", PAGES)
def test_outputs_show_no_error(visits, page):
    f = visits(page).facts
    assert not f["output_problems"], f"{page}:\n" + "\n".join(f["output_problems"])
    assert f["widgets_rendered"] >= f["widget_views"], (
        f"{page}: {f['widget_views']} saved widgets, only {f['widgets_rendered']} rendered"
    )


@pytest.mark.parametrize("page", PAGES)
def test_no_output_is_empty(visits, page):
    f = visits(page).facts
    assert not f["empty_outputs"], f"{page}: empty output boxes:\n" + "\n".join(f["empty_outputs"])
    assert not f["silent_demos"], f"{page}: demo cells that show nothing:\n" + "\n".join(f["silent_demos"])
    if is_chapter(page):
        assert f["n_outputs"] > 0, f"{page}: a chapter page with no output at all"


# ---------------------------------------------------------------- navigation


def test_navigation_reaches_every_chapter(tab, origin):
    """From the front page, the sidebar opens every chapter, and "next" walks the whole book in order."""
    tab.goto(origin)  # index.html redirects to the root page
    tab.wait_for_url(re.compile(re.escape(html_path(PAGES[0])) + "$"))
    for slug in CHAPTERS:
        tab.goto(origin + html_path(PAGES[0]))
        link = tab.locator(f'nav.bd-docs-nav a[href$="chapters/{slug}/{slug}.html"]').first
        link.click()
        tab.wait_for_url(re.compile(rf"chapters/{slug}/{slug}\.html$"))
        assert tab.locator("main article h1").count() == 1, f"the sidebar link to {slug} opened a page with no title"

    tab.goto(origin + html_path(PAGES[0]))
    walked = [PAGES[0]]
    while tab.locator("a.right-next").count():
        tab.locator("a.right-next").click()
        tab.wait_for_load_state()
        walked.append(tab.url.removeprefix(origin).removesuffix(".html"))
        assert len(walked) <= len(PAGES), f"the next buttons loop: {walked}"
    assert walked == PAGES, f'"next" walks {walked}, the table of contents lists {PAGES}'


# ---------------------------------------------------------------- chapters


@pytest.mark.parametrize("slug", CHAPTERS)
def test_download_button_gives_the_student_notebook(tab, origin, slug, tmp_path):
    tab.goto(origin + html_path(f"chapters/{slug}/{slug}"))
    tab.click('button[aria-label="Download this page"]')
    link = tab.locator("a.btn-download-source-button")
    assert link.get_attribute("href").endswith(f"{slug}.ipynb"), "the download offers something else than the notebook"
    with tab.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{slug}.ipynb"
    nb = nbformat.read(saved, as_version=4)
    nbformat.validate(nb)
    committed = book.ROOT / "chapters" / slug / f"{slug}.ipynb"
    assert saved.read_bytes() == committed.read_bytes(), (
        f"the download is not {committed.relative_to(book.ROOT)} (or it changed after the book was built)"
    )
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "### BEGIN SOLUTION" not in code and "BEGIN HIDDEN TESTS" not in code, "the download holds the solutions"
    assert "raise NotImplementedError" in code, "the download has no exercise left to do"


@pytest.mark.parametrize("slug", CHAPTERS)
def test_static_demo_moves_without_a_kernel(tab, origin, slug):
    """Every to_jshtml animation on the chapter: the step button and the slider change the picture."""
    tab.goto(origin + html_path(f"chapters/{slug}/{slug}"))
    animations = tab.locator("div.animation")
    assert animations.count() > 0, (
        f"{slug} has no static demo (a to_jshtml animation) that works without a kernel; see CONTRIBUTING.md, 'Demo'"
    )
    for i in range(animations.count()):
        anim = animations.nth(i)
        anim.scroll_into_view_if_needed()
        img, slider = anim.locator("img").first, anim.locator("input[type=range]").first
        anim.locator('button[title="Pause"]').click()
        anim.locator('button[title="First frame"]').click()
        first = img.get_attribute("src")
        anim.locator('button[title="Next frame"]').click()
        second = img.get_attribute("src")
        assert second != first, f"{slug}, animation {i + 1}: the next-frame button does not change the picture"
        slider.focus()
        slider.press("End")
        last = img.get_attribute("src")
        assert slider.input_value() == slider.get_attribute("max"), (
            f"{slug}, animation {i + 1}: the slider did not move"
        )
        assert last not in (first, second), f"{slug}, animation {i + 1}: moving the slider does not change the picture"
        img.evaluate(  # a frame file loading (the picture is lazy: book/frames.py)
            "i => { i.loading = 'eager'; return i.complete || new Promise(r => { i.onload = i.onerror = r; }); }"
        )
        assert img.evaluate("i => i.complete && i.naturalWidth > 0"), (
            f"{slug}, animation {i + 1}: a frame does not load"
        )


@pytest.mark.parametrize("slug", CHAPTERS)
def test_demo_frames_load_when_a_demo_is_opened(tab, origin, slug):
    """The page loads each demo's first frame only; pointing at a demo fetches its other frames.

    (book/frames.py moves the frames out of the page: a chapter weighs a few hundred
    KB instead of megabytes, and `make bench-book` measures it.)
    """
    fetched = []
    tab.on("request", lambda request: "/_images/frames/" in request.url and fetched.append(request.url))
    tab.goto(origin + html_path(f"chapters/{slug}/{slug}"), wait_until="load")
    tab.wait_for_timeout(300)
    firsts = tab.eval_on_selector_all("div.animation > img", "imgs => imgs.map(i => i.getAttribute('src'))")
    early = {url.rsplit("/", 1)[1] for url in fetched} - {url.rsplit("/", 1)[1] for url in firsts}
    assert not early, f"{slug}: before any demo was opened the page fetched {len(early)} frames besides first frames"
    anim = tab.locator("div.animation").first
    urls = anim.locator("script.anim-frames").evaluate("s => JSON.parse(s.textContent)")
    assert all("/_images/frames/" in url or url.startswith("../") for url in urls), "frames left inside the page"
    anim.scroll_into_view_if_needed()
    anim.hover()
    own = sorted({url.rsplit("/", 1)[1] for url in urls})
    tab.wait_for_function(  # every frame of the opened demo fetched
        "own => { const got = new Set(performance.getEntriesByType('resource').map(r => r.name.split('/').pop()));"
        " return own.every(name => got.has(name)); }",
        arg=own,
    )
    # Scrolling to the demo may bring other demos' first frames (lazy pictures) near the screen, but no other frame.
    others = {url.rsplit("/", 1)[1] for url in fetched} - set(own) - {url.rsplit("/", 1)[1] for url in firsts}
    assert not others, f"{slug}: opening one demo fetched {len(others)} frames of other demos"


_PHONE_LAYOUT = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const column = document.querySelector('main article').getBoundingClientRect();
  const sticksOut = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && (r.right > column.right + 1 || r.left < column.left - 1);
  };
  return {
    sideways: document.documentElement.scrollWidth - window.innerWidth,
    controls: [...document.querySelectorAll('div.animation .anim-controls > *, div.animation img')]
      .filter(sticksOut).map(el => el.className || el.tagName),
  };
}
"""


@pytest.mark.parametrize("slug", CHAPTERS)
def test_phone_width_needs_no_sideways_scrolling(phone_tab, origin, slug):
    """At 390 px the page does not scroll sideways, and every demo's picture and controls fit the column."""
    phone_tab.goto(origin + html_path(f"chapters/{slug}/{slug}"))
    layout = phone_tab.evaluate(_PHONE_LAYOUT)
    assert layout["sideways"] <= 0, (
        f"{slug} scrolls {layout['sideways']} px sideways on a phone (tests/browser/shots.py)"
    )
    assert not layout["controls"], f"{slug}: demo parts wider than a phone's column: {layout['controls']}"


# ---------------------------------------------------------------- accessibility (WCAG 2.1 AA)


@pytest.fixture(scope="session")
def mode_contexts(chromium_browser):
    """One browser context per colour mode of the theme (light, dark), for the axe audits."""
    contexts = {}
    for mode in axe.MODES:
        context = chromium_browser.new_context(viewport=DESKTOP)
        context.set_default_timeout(WAIT_MS)
        axe.set_mode(context, mode)
        contexts[mode] = context
    yield contexts
    for context in contexts.values():
        context.close()


def _axe_failures(tab, origin: str, page: str, mode: str) -> list[dict]:
    tab.route("**/*", Router(origin))
    tab.goto(origin + html_path(page), wait_until="load")
    tab.evaluate(_SETTLE)
    shown = tab.evaluate("document.documentElement.dataset.theme || document.documentElement.dataset.mode")
    assert shown == mode, f"{page}: asked for the {mode} mode, the page shows {shown}"
    return [v for v in axe.audit(tab) if axe.failing(v)]


@pytest.mark.parametrize("mode", axe.MODES)
@pytest.mark.parametrize("page", [*PAGES, "search", "genindex"])
def test_page_passes_axe(mode_contexts, origin, page, mode):
    """axe-core finds no WCAG 2.0/2.1 A or AA violation and nothing critical or serious (tests/browser/axe.py)."""
    tab = mode_contexts[mode].new_page()
    try:
        found = _axe_failures(tab, origin, page, mode)
    finally:
        tab.close()
    assert not found, f"{page} ({mode} mode) fails axe-core:\n" + "\n".join(axe.describe(found))


@pytest.mark.parametrize("slug", CHAPTERS)
def test_chapter_passes_axe_at_phone_width(phone_tab, origin, slug):
    """At 390 px more equations and every figure scroll sideways: each must still be reachable by keyboard."""
    found = _axe_failures(phone_tab, origin, f"chapters/{slug}/{slug}", "light")
    assert not found, f"{slug} at a phone's width fails axe-core:\n" + "\n".join(axe.describe(found))


@pytest.mark.parametrize("slug", CHAPTERS)
def test_screen_readers_get_every_heading_without_scrolling(phone_tab, origin, slug):
    """A screen reader lists a page's headings from the browser's accessibility tree: every heading
    of a chapter must be in it as the page opens, not only those near the screen. (CSS that skips
    rendering far sections, content-visibility: auto, takes theirs out of chromium's tree: tried for
    speed and left out, README "Page weight".)"""
    phone_tab.goto(origin + html_path(f"chapters/{slug}/{slug}"), wait_until="load")
    phone_tab.evaluate(_SETTLE)
    cdp = phone_tab.context.new_cdp_session(phone_tab)
    try:
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        selector = ", ".join(f"article.bd-article h{level}" for level in range(1, 7))
        headings = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]
        in_page = {cdp.send("DOM.describeNode", {"nodeId": n})["node"]["backendNodeId"]: n for n in headings}
        told = {
            node.get("backendDOMNodeId")
            for node in cdp.send("Accessibility.getFullAXTree")["nodes"]
            if node.get("role", {}).get("value") == "heading" and not node.get("ignored")
        }
    finally:
        cdp.detach()
    missing = [backend for backend in in_page if backend not in told]
    names = phone_tab.evaluate(
        f"[...document.querySelectorAll({selector!r})].map(h => h.textContent.replace(/#$/, '').trim())"
    )
    assert len(in_page) > 5 and not missing, (
        f"{slug}: {len(missing)} of {len(in_page)} headings a screen reader is not told of, "
        f"among them {[names[list(in_page).index(b)] for b in missing[:5]]}"
    )


FILE_NAME = re.compile(r"(\.(png|jpe?g|svg|gif|webp)\b|_images/|^data:|^\.\./)", re.I)


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_says_what_it_shows(visits, page):
    """Every picture has a text alternative in words (axe only checks that one exists)."""
    problems = []
    for image in visits(page).facts["image_alts"]:
        alt = (image["alt"] or "").strip()
        if not alt or FILE_NAME.search(alt):
            problems.append(f"alt {image['alt']!r} on {image['src']}")
        elif (image["figure"] or image["demo"]) and len(alt.split()) < 8:
            problems.append(f"alt {alt!r} is too short to say what the figure shows ({image['src']})")
    assert not problems, (
        f"{page}: figures without a text alternative that says what they show "
        + ("(set it in the source cell's metadata, mystnb: {image: {alt: ...}}; a demo's from its Player):\n")
        + "\n".join(problems)
    )


_DEMO_STATE = """
box => ({
  alt: box.querySelector('img').alt,
  src: box.querySelector('img').getAttribute('src'),
  valuetext: box.querySelector('input[type=range]').getAttribute('aria-valuetext'),
  label: box.querySelector('input[type=range]').getAttribute('aria-label'),
  status: (box.querySelector('[aria-live]') || {}).textContent,
  live: (box.querySelector('[aria-live]') || {getAttribute: () => null}).getAttribute('aria-live'),
})
"""


@pytest.mark.parametrize("slug", CHAPTERS)
def test_demo_tells_its_frame_in_words(tab, origin, slug):
    """Each demo's picture says what its frame shows, the slider reads out its setting, a change is announced."""
    tab.goto(origin + html_path(f"chapters/{slug}/{slug}"))
    animations = tab.locator("div.animation")
    labels = []
    for i in range(animations.count()):
        anim = animations.nth(i)
        anim.scroll_into_view_if_needed()
        anim.locator('button[title="Pause"]').click()
        anim.locator('button[title="First frame"]').click()
        first = anim.evaluate(_DEMO_STATE)
        anim.locator('button[title="Next frame"]').click()
        second = anim.evaluate(_DEMO_STATE)
        where = f"{slug}, demo {i + 1}"
        assert second["alt"] != first["alt"], f"{where}: the alt stays {first['alt']!r} when the frame changes"
        assert second["live"] == "polite" and "frame 2 of" in second["status"], (
            f"{where}: the change of frame is not announced politely (live region says {second['status']!r})"
        )
        assert second["valuetext"] and second["valuetext"] != first["valuetext"], (
            f"{where}: the slider's aria-valuetext does not say what the frame shows ({second['valuetext']!r})"
        )
        labels.append(second["label"])
    assert len(set(labels)) == len(labels) and all(labels), f"{slug}: the demos' sliders share a label: {labels}"


TAB_BUDGET = 60  # presses of Tab from the top of chapter 2 to its first demo (issue 26: 268 before)


def test_tab_reaches_the_first_demo_of_chapter_2_soon(tab, origin):
    tab.goto(origin + html_path("chapters/02_momentum/02_momentum"))
    tab.evaluate(_SETTLE)
    presses = 0
    while presses < TAB_BUDGET:
        tab.keyboard.press("Tab")
        presses += 1
        if tab.evaluate("!!(document.activeElement && document.activeElement.closest('div.animation'))"):
            print(f"Tab reaches chapter 2's first demo in {presses} presses")
            return
    stops = tab.evaluate("document.activeElement && document.activeElement.outerHTML.slice(0, 200)")
    pytest.fail(f"{TAB_BUDGET} presses of Tab do not reach chapter 2's first demo (at: {stops})")


@pytest.mark.parametrize("slug", CHAPTERS)
def test_demos_raise_no_error_under_keyboard_and_pointer(browser_context, origin, slug):
    """Tab into every demo, hover it again and again, press every button and the slider's keys: no page error.

    (Each player once had inline handlers that called the player's own state object, which
    threw "coursePlayer is not a function" on every later hover or focus.)
    """
    errors = []
    page = browser_context.new_page()
    page.on("pageerror", lambda exc: not known_noise(exc.message) and errors.append(f"uncaught: {exc.message}"))
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not known_noise(m.text, (m.location or {}).get("url", ""))
            and errors.append(f"console: {m.text}")
        ),
    )
    try:
        page.route("**/*", Router(origin))
        page.goto(origin + html_path(f"chapters/{slug}/{slug}"), wait_until="load")
        page.evaluate(_SETTLE)
        animations = page.locator("div.animation")
        for i in range(animations.count()):
            anim = animations.nth(i)
            anim.scroll_into_view_if_needed()
            for _ in range(2):  # the second visit is the one that used to throw
                anim.hover()
                page.mouse.move(0, 0)
                anim.locator("input[type=range]").focus()
                page.keyboard.press("ArrowRight")
                page.keyboard.press("End")
                page.keyboard.press("Home")
                for _ in range(7):  # from the slider through the six buttons, each pressed by key
                    page.keyboard.press("Tab")
                    if page.evaluate("document.activeElement.tagName") == "BUTTON":
                        page.keyboard.press("Enter")
                        page.keyboard.press(" ")
            anim.locator('button[title="Pause"]').click()
        page.wait_for_timeout(200)
    finally:
        page.close()
    assert not errors, f"{slug}: errors while using the demos:\n" + "\n".join(errors[:10])


# ---------------------------------------------------------------- the grader's summary.html


@pytest.fixture(scope="session")
def sample_summary(browser_context, sample_grades):
    """The summary.html of the sample class, graded once per run (tests/conftest.py, shared with test_grader.py)."""
    out, _, _ = sample_grades
    return out / "summary.html"


def _open_offline(context, path):
    """Open a local file in a fresh tab with the network cut off; returns the tab and what went wrong."""
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda d: (problems.append(f"a dialog opened: {d.message}"), d.dismiss()))

    def offline(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            problems.append(f"asked the network for {route.request.url}")
            route.abort()

    page.route("**/*", offline)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def test_the_class_summary_loads_offline_and_shows_every_chapter(browser_context, sample_summary):
    page, problems = _open_offline(browser_context, sample_summary)
    try:
        assert not problems, "\n".join(problems)
        assert page.locator("h1").inner_text() == "Grading summary"
        for slug in CHAPTERS:
            section = page.locator(f'section[id="{slug}"]')
            assert section.is_visible(), f"no visible section for {slug}"
            chart = section.locator("svg.histogram")
            box = chart.bounding_box()
            assert box and box["width"] > 200 and box["height"] > 50, f"{slug}: the histogram is not drawn ({box})"
            assert chart.locator("rect").count() > 0, f"{slug}: the histogram has no bars"
            assert "not-attempted" in section.inner_text(), f"{slug}: the blank notebook's status is not listed"
    finally:
        page.close()


def test_student_markup_in_the_summary_stays_text(browser_context, tmp_path):
    """Markup that would run if it were not escaped: no dialog, no image, no script, and the text is shown."""
    from autograder import report

    evil = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    test = {"test": "test_x", "hidden": False, "points": 0.0, "max_points": 1.0, "passed": False, "message": evil}
    rows = [
        {
            "student_id": s,
            "chapter": "02_momentum",
            "score": 0.0,
            "max_score": 1.0,
            "status": st,
            "reason": r,
            "tests": [test],
        }
        for s, st, r in (("ada", "ok", ""), (evil, "tampered", evil))
    ]
    report.write_all(rows, tmp_path)
    for path in (tmp_path / "summary.html", tmp_path / "feedback" / "ada" / "02_momentum.html"):
        page, problems = _open_offline(browser_context, path)
        try:
            assert not problems, f"{path.name}: " + "\n".join(problems)
            assert page.locator("img, script").count() == 0, f"{path.name}: student markup became elements"
            assert "<script>alert(2)</script>" in page.locator("body").inner_text()
        finally:
            page.close()
