"""One visit of a built page in chromium, gathered into a record the tests assert on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .cdn import NODE_MODULES, Router

# The errors a stock Jupyter Book 1 page logs by itself, matched exactly (see known_noise).
THEBE_TWICE = "Identifier 'THEBE_JS_URL' has already been declared"  # sphinx-thebe's config script, included twice
THEME_MODE = re.compile(r"^Got invalid theme mode: .*\. Resetting to auto\.?$")  # first visit, pydata theme
WIDGET_FONTS = NODE_MODULES / "@jupyter-widgets" / "html-manager" / "dist"
# Its webpack-hashed icon fonts, which it asks for at the site's root instead of beside itself.
WIDGET_FONT = re.compile(r"/@jupyter-widgets/html-manager/dist/([0-9a-f]{20}\.(?:woff2|woff|ttf|eot|svg))$")

# Everything measured in the page, in one evaluation once math, images and widgets have settled.
_GATHER = r"""
async () => {
  const article = document.querySelector('main article') || document.querySelector('main') || document.body;
  const outputs = [...article.querySelectorAll('div.cell_output')];
  const snippet = el => el.outerHTML.slice(0, 300);
  const textOf = el => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll('mjx-container, code, pre, script, style, .cell_input').forEach(x => x.remove());
    return copy.textContent;
  };
  const imgOk = img => img.complete && img.naturalWidth > 0;
  const problems = [];
  for (const out of outputs) {
    const text = out.textContent;
    for (const bad of ['Traceback', 'NotImplementedError', 'Error displaying widget']) {
      if (text.includes(bad)) problems.push(`an output shows ${bad}: ` + snippet(out));
    }
    for (const box of out.querySelectorAll('.output.traceback, .output.stderr, .output.error')) {
      problems.push(`an error box (${box.className}): ` + snippet(box));
    }
  }
  for (const box of article.querySelectorAll('.system-message, .problematic, .admonition.error')) {
    problems.push(`a build error on the page (${box.className}): ` + snippet(box));
  }
  const empty = outputs.filter(out => {
    if (out.textContent.replace(/\s/g, '') !== '') return false;
    if ([...out.querySelectorAll('img')].some(imgOk)) return false;
    return !out.querySelector('svg, canvas, video, iframe, .jupyter-widgets');
  }).map(snippet);
  const silentDemos = [...article.querySelectorAll('div.cell')]
    .filter(cell => !cell.querySelector('div.cell_output'))
    .filter(cell => !cell.className.includes('tag_remove-output'))
    .filter(cell => /^(if|elif) DEMOS\b/m.test((cell.querySelector('.cell_input') || cell).textContent))
    .map(cell => (cell.querySelector('.cell_input') || cell).textContent.trim().slice(0, 120));
  // MathJax's parse errors, and the red \macro names of its noundefined extension, read from each
  // formula's assistive MathML: the same whether the build typeset it (book/typeset.py) or MathJax
  // did in the browser (a build without node).
  const texErrors = () => [...article.querySelectorAll('mjx-container')].flatMap(box => {
    const mml = box.querySelector('mjx-assistive-mml math');
    if (!mml) return [];
    const undefinedMacro = mml.querySelector('mtext[mathcolor="red"]');
    const why = mml.querySelector('merror') ? 'error' : undefinedMacro ? 'undefined macro' : null;
    return why ? [`${why} in ${mml.textContent.slice(0, 120)}`] : [];
  });
  const maths = [...article.querySelectorAll('.math')];
  const rawTex = [...article.querySelectorAll('p, li, dd, dt, td, th, h1, h2, h3, h4, figcaption')]
    .map(textOf)
    .filter(t => /\$[^$]*\\[A-Za-z]+[^$]*\$|\\\(|\\\[/.test(t))
    .map(t => t.trim().slice(0, 200));
  return {
    title: document.title,
    n_outputs: outputs.length,
    output_problems: problems,
    empty_outputs: empty,
    silent_demos: silentDemos,
    math_total: maths.length,
    math_untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 120)),
    math_errors: texErrors(),
    math_without_mml: [...article.querySelectorAll('mjx-container')]
      .filter(m => !m.querySelector('mjx-assistive-mml math')).length,
    raw_tex: rawTex,
    n_images: article.querySelectorAll('img').length,
    n_output_images: article.querySelectorAll('div.cell_output img').length,
    broken_images: [...article.querySelectorAll('img')].filter(i => !imgOk(i)).map(i => (i.src || '').slice(0, 120)),
    n_animations: article.querySelectorAll('div.animation').length,
    image_alts: [...article.querySelectorAll('img')].map(i => ({
      src: (i.getAttribute('src') || '').slice(0, 120), alt: i.getAttribute('alt'),
      demo: !!i.closest('div.animation'), figure: !!i.closest('div.cell_output')})),
    widget_views: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
    widgets_rendered: document.querySelectorAll('.jupyter-widgets').length,
  };
}
"""

_SETTLE = r"""
async () => {
  // The build makes every figure lazy (book/frames.py): the browser would fetch the ones far below
  // the screen only on scrolling. A visit checks that every image loads, so it asks for all of them.
  const imgs = [...document.images];
  for (const i of imgs) if (i.loading === 'lazy') i.loading = 'eager';
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  // Math typeset at build time (book/typeset.py) is there already; a build without node loads MathJax.
  if (document.querySelector('.math') && document.querySelector('script[src*="tex-mml-chtml"]')) {
    const t0 = Date.now();
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise) && Date.now() - t0 < 15000) {
      await new Promise(r => setTimeout(r, 50));
    }
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  }
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  const t1 = Date.now();
  while (views && document.querySelectorAll('.jupyter-widgets').length < views && Date.now() - t1 < 15000) {
    await new Promise(r => setTimeout(r, 100));
  }
}
"""


@dataclass
class Visit:
    path: str
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    noise: list[str] = field(default_factory=list)  # the stock JB1 errors, kept apart
    failed_requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # requests for the internet no route could serve
    facts: dict = field(default_factory=dict)


# Errors that are not stock noise but have a known cause: the test failure says so.
HINTS = {
    "Cannot read properties of undefined (reading 'Queue')": (
        "the widget manager (@jupyter-widgets/base typeset) typesets widget labels with MathJax 2's "
        "MathJax.Hub.Queue, and the book loads MathJax 3: saved widget state with labels hits this"
    ),
}


def hints(errors: list[str]) -> list[str]:
    return [f"({why})" for text, why in HINTS.items() if any(text in e for e in errors)]


def known_noise(text: str, url: str = "") -> bool:
    """Is this one of the errors every stock JB1 page logs (and nothing else)?"""
    if text == THEBE_TWICE or THEME_MODE.match(text):
        return True
    return widget_font_404(url) and text.startswith(
        "Failed to load resource: the server responded with a status of 404"
    )


def widget_font_404(url: str) -> bool:
    """A request for one of the widget manager's own icon fonts, at a URL where it is not."""
    m = WIDGET_FONT.search(re.sub(r"[?#].*$", "", url))
    return bool(m) and (WIDGET_FONTS / m.group(1)).is_file()


def visit(context, origin: str, path: str) -> Visit:
    """Open `origin + path` in a new tab, let it settle, and gather everything the tests check."""
    record = Visit(path)
    router = Router(origin)
    page = context.new_page()
    try:
        page.route("**/*", router)

        def on_console(msg):
            if msg.type != "error":
                return
            url = (msg.location or {}).get("url", "")
            text = f"{msg.text} [{url}]" if "Failed to load resource" in msg.text else msg.text
            (record.noise if known_noise(msg.text, url) else record.errors).append(text)

        def on_pageerror(exc):
            text = exc.message if hasattr(exc, "message") else str(exc)
            (record.noise if known_noise(text) else record.errors).append(f"uncaught: {text}")

        def on_response(response):
            if response.status >= 400 and not widget_font_404(response.url):
                record.failed_requests.append(f"{response.status} {response.url}")

        def on_failed(request):
            if request.url not in router.blocked and not widget_font_404(request.url):
                record.failed_requests.append(f"{request.failure} {request.url}")

        page.on("console", on_console)
        page.on("pageerror", on_pageerror)
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        response = page.goto(origin + path, wait_until="load")
        if response is None or not response.ok:
            record.errors.append(f"the page itself did not load: {response and response.status}")
        page.evaluate(_SETTLE)
        record.facts = page.evaluate(_GATHER)
        record.blocked = list(router.blocked)
    finally:
        page.close()
    return record
