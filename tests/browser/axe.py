"""axe-core, run in a page of the built book: WCAG 2.0/2.1 A and AA, and anything critical or serious.

axe-core is pinned in package.json (`npm ci` puts it in node_modules/, like the other files the
browser tests serve). `audit(page)` injects it into a loaded page that has settled (MathJax
typeset, widgets drawn) and returns the violations that fail the course's bar:

- every violation of a rule tagged wcag2a, wcag2aa, wcag21a or wcag21aa, whatever its impact;
- every violation whose impact is critical or serious, whatever its tags (best practices too).

`python tests/browser/axe.py [--book _build/html]` prints the counts per page and mode, and every
node that fails, for an audit by hand.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `browser` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from browser.cdn import NODE_MODULES

AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("critical", "serious")
MODES = ("light", "dark")

# Every rule runs (best practices too), so a serious best-practice finding fails as well.
_RUN = r"""
async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, tags: v.tags, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200), impact: n.impact,
                              summary: n.failureSummary}))
  }));
}
"""


def failing(violation: dict) -> bool:
    """Does this violation break the course's bar (WCAG A/AA, or critical/serious)?"""
    return bool(set(violation["tags"]) & set(WCAG_TAGS)) or violation["impact"] in FAILING_IMPACTS


def audit(page) -> list[dict]:
    """Every axe violation on the loaded `page` (failing or not; see `failing`)."""
    page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(_RUN)


def set_mode(context, mode: str) -> None:
    """Pages opened in `context` from now on start in the theme's light or dark mode."""
    # pydata-sphinx-theme reads the reader's choice from localStorage ("mode"; "theme" in older releases).
    store = f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');"
    context.add_init_script(f"try {{ {store} }} catch (e) {{}}")


def describe(violations: list[dict]) -> list[str]:
    lines = []
    for v in violations:
        wcag = ", ".join(t for t in v["tags"] if t.startswith("wcag"))
        lines.append(f"{v['id']} ({v['impact']}; {wcag}): {v['help']}")
        lines += [f"    {n['target']}: {n['html']}" for n in v["nodes"][:5]]
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return lines


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    from browser import book, chromium
    from browser.cdn import Router
    from browser.page import _SETTLE
    from browser.server import BookServer

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--book", type=Path, help="a built book's HTML folder (default: build one)")
    ap.add_argument("--verbose", action="store_true", help="print every failing node")
    args = ap.parse_args(argv)
    html = args.book or book.built_book()
    totals, failures = Counter(), 0
    with BookServer(html) as origin, sync_playwright() as p:
        browser = chromium.launch(p)
        for mode in MODES:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            set_mode(context, mode)
            for name in book.pages():
                page = context.new_page()
                page.route("**/*", Router(origin))
                page.goto(origin + name + ".html", wait_until="load")
                page.evaluate(_SETTLE)
                found = audit(page)
                page.close()
                counts = Counter()
                for v in found:
                    for n in v["nodes"]:
                        counts[n["impact"] or v["impact"]] += 1
                totals.update(counts)
                bad = [v for v in found if failing(v)]
                failures += sum(len(v["nodes"]) for v in bad)
                print(f"{mode:5s} {name:40s} {dict(counts) or 'no violation'}")
                if args.verbose and bad:
                    print("\n".join("      " + line for line in describe(bad)))
            context.close()
        browser.close()
    print(f"all pages, both modes: {dict(totals)}; {failures} nodes fail the bar (WCAG A/AA, critical, serious)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
