"""Screenshots of each chapter's key figures at desktop and phone widths, to look at.

    .venv/bin/python tests/browser/shots.py [--book _build/html] [--out /tmp/shots]

For every chapter in _toc.yml, at 1280 and 390 pixels wide, it saves
<slug>-<width>-top.png (the first screen of the page), <slug>-<width>-figure.png (the first
figure among the outputs) and <slug>-<width>-demo.png (the first static demo, a to_jshtml
animation, moved to its middle frame). Without --book it builds the book first. It prints,
per page and width, how far the page scrolls sideways and which outputs are wider than the
text column, which is what to look for at phone width. Then it writes every static figure as
built, as a reader with deuteranopia sees it and in greyscale, with its alt text, under
<out>/figures/ (tests/browser/figure_views.py, which also runs alone and needs no browser).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `browser` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from browser import book, chromium, figure_views
from browser.cdn import Router
from browser.page import _SETTLE
from browser.server import BookServer

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}

OVERFLOW = r"""
() => {
  const article = document.querySelector('main article');
  const column = article.getBoundingClientRect();
  const scrolls = el => {
    for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  const wide = [...article.querySelectorAll('div.cell_output img, div.cell_output table, div.animation, .math, pre')]
    .filter(el => !el.closest('details:not([open])') && el.getBoundingClientRect().width > 0)
    .filter(el => !scrolls(el))  // inside a table or block that scrolls by itself: fine
    .filter(el => {
      const r = el.getBoundingClientRect();
      return r.right > column.right + 1 || r.left < column.left - 1;
    })
    .map(el => `${el.tagName.toLowerCase()}.${el.className}`.slice(0, 60));
  return {sideways: document.documentElement.scrollWidth - window.innerWidth, wider_than_column: wide};
}
"""


def shoot(context, origin: str, slug: str, width: int, out: Path) -> dict:
    page = context.new_page()
    page.route("**/*", Router(origin))
    try:
        page.goto(origin + f"chapters/{slug}/{slug}.html")
        page.evaluate(_SETTLE)  # every figure loaded (they are lazy), the math typeset
        page.screenshot(path=out / f"{slug}-{width}-top.png")
        figures = page.locator("div.cell_output:not(:has(div.animation)) img")
        if figures.count():
            figures.first.scroll_into_view_if_needed()
            figures.first.screenshot(path=out / f"{slug}-{width}-figure.png")
        demos = page.locator("div.animation")
        if demos.count():
            demo = demos.first
            demo.locator('button[title="Pause"]').click()
            slider = demo.locator("input[type=range]")
            middle = int(slider.get_attribute("max") or 0) // 2
            slider.evaluate("(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", middle)
            demo.scroll_into_view_if_needed()
            demo.screenshot(path=out / f"{slug}-{width}-demo.png")
        return page.evaluate(OVERFLOW)
    finally:
        page.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--book", type=Path, help="a built book's HTML folder (default: build one)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/shots"))
    args = ap.parse_args(argv)
    reason = chromium.unavailable()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    html = args.book or book.built_book()
    args.out.mkdir(parents=True, exist_ok=True)
    with BookServer(html) as origin, sync_playwright() as p:
        browser = chromium.launch(p)
        for name, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
            for slug in book.chapters():
                report = shoot(context, origin, slug, width, args.out)
                print(
                    f"{slug:28s} {name:8s} {width}px  sideways scroll {report['sideways']}px  "
                    f"wider than the column: {report['wider_than_column'] or 'nothing'}"
                )
            context.close()
        browser.close()
    figures = figure_views.write(html, args.out / "figures")
    print(f"screenshots in {args.out}; {figures} figures with deuteranopia and greyscale views in {args.out}/figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
