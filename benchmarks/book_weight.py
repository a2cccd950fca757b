"""How heavy each page of the built book is, and how long it takes to open on a slow phone.

    .venv/bin/python benchmarks/book_weight.py [--html DIR] [--baseline REV [--baseline-html DIR]]
                                               [--runs 3] [--cpu 4] [--page PATH ...]

Every page of _toc.yml (or each --page, e.g. `intro`) is opened in Debian's chromium
(Playwright, tests/browser/chromium.py) from a local server, in a fresh browser context
(empty cache) at a phone's viewport (390 x 844 CSS px), `--runs` times, and measured
(the times are the median of the runs):

  html      the page's HTML file, in bytes as built.
  weight    the page's own bytes, the number checked: its HTML plus every page-specific
            file it loads while it opens and settles, with no scrolling and no click.
            Page-specific is every file of the book's output but the shared assets, and
            the shared assets are the files under `_static/` that the book's root page
            (intro) loads too, and Sphinx's search index: so images under `_images/`,
            frames and data files count wherever they are. Bytes of the files as built
            (uncompressed); a data: URI (a base64 frame) counts inside the HTML.
  scrolled  the same once the page is then scrolled through to its end: what a reader
            of the whole page fetches when frames load as they come into view. Files a
            page loads only when a control is clicked count in neither.
  all       everything the browser loads for the page until it settles, with the shared: the
            theme's CSS, JavaScript and fonts under `_static/`, MathJax and its fonts,
            require.js, the widget manager, Font Awesome (bytes of the files).
  wire      the same as transferred (HTTP headers included): text files gzip-compressed,
            as static hosts and CDNs serve them.
  LCP       seconds from navigation to the Largest Contentful Paint, throttled (below): the
            page's largest text block or image drawn on the first screen, as chromium reports
            it to a PerformanceObserver ('largest-contentful-paint', buffered), read once the
            page has settled and before anything scrolls it (an input ends LCP).
  load      seconds from navigation to the `load` event, throttled (below).
  settled   seconds until every image the page shows is loaded and decoded, its fonts are
            loaded, MathJax has typeset the page (on a page that still loads it: the build
            typesets the math, book/typeset.py) and saved widgets have rendered
            (tests/browser/page.py's _SETTLE, plus decoding and fonts). Lazily loaded images
            are not waited for.

Throttling, through the Chrome DevTools Protocol: `Network.emulateNetworkConditions` with
Chrome DevTools' "Slow 4G" preset (called "Fast 3G" before 2024, and Lighthouse's default
mobile profile): 562.5 ms latency per request, 180,000 bytes/s down, 84,375 bytes/s up
(150 ms RTT x 3.75, 1.6 Mbit/s x 0.9 and 750 kbit/s x 0.9, DevTools' adjustment factors);
and `Emulation.setCPUThrottlingRate` 4 (DevTools' "4x slowdown", Lighthouse's mobile
default), since a phone also parses and decodes megabytes more slowly (`--cpu 1` turns it off).

What is throttled: DevTools throttling applies to requests that go through chromium's
network stack. A response that Playwright's routing makes itself (`route.fulfill`, which
tests/browser/cdn.py's Router uses for the CDN files and for every page it rewrites) is
not throttled: a 900 kB file took 5.6 s from the throttled local server, 5.6 s through
`route.continue_()`, and 0.06 s through `route.fulfill()`. So nothing measured here is
routed: the local server (tests/browser/server.py's BookServer, with LocalCdn below)
serves the book and, under `/_cdn/`, the CDN files from node_modules/ (cdn.SOURCES), and
rewrites the CDN addresses in each HTML page it serves to those. Any other request for
the internet still goes to cdn.Router (served unthrottled from node_modules/, or
aborted); the script prints such requests, and there should be none. The local server
has no latency of its own, so the figures are the throttled network's alone. One
difference from a real host remains: the CDN files come from the book's own origin, over
the same six HTTP/1.1 connections, where online they come from other hosts.

`--baseline REV` builds the book of git revision REV (`git archive` into a temporary
folder, then the strict build) and measures it in the same run, page by page alternating
with the current tree, and prints the ratios current/baseline. Without `--html` the
current tree is built too (strict, into a temporary folder); each build takes minutes.

Exit status 1 if the current tree misses a budget, or a page fails to load or settle: a
chapter page weighs over LIMIT (1,000,000 bytes, decimal, not MiB) or settles after
SETTLED_BUDGET (8 s), or any page's LCP is over LCP_BUDGET (2.5 s, web vitals' "good"); the
medians of the runs are checked. A budget is checked here, on one machine, not by a timed test.
"""

from __future__ import annotations

import argparse
import gzip
import io
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import book, cdn, chromium  # noqa: E402
from tests.browser.server import BookHandler, BookServer  # noqa: E402

LIMIT = 1_000_000  # bytes a chapter page may weigh (issue 16)
LCP_BUDGET = 2.5  # seconds to the largest contentful paint, every page: web vitals' "good" (issue 23)
SETTLED_BUDGET = 8.0  # seconds until a chapter page is settled: figures shown, math typeset (issue 23)
PHONE = {"width": 390, "height": 844}
SLOW_4G = {"offline": False, "latency": 562.5, "downloadThroughput": 180_000, "uploadThroughput": 84_375}
NO_THROTTLE = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
CPU_SLOWDOWN = 4
CDN_PATH = "/_cdn/"  # where the local server answers cdn.SOURCES[i] as /_cdn/<i>/...
COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".txt", ".map", ".mjs", ".ipynb"}
TIMEOUT_MS = 300_000

_SETTLE = r"""
async (timeoutMs) => {
  const deadline = Date.now() + timeoutMs;
  const wait = ms => new Promise(r => setTimeout(r, ms));
  // Every image the browser loads at once, and a lazy one in the first screen (book/frames.py
  // makes every figure lazy: the browser fetches those near the screen, the others on scrolling).
  const inView = i => {
    const r = i.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
  };
  const eager = [...document.images].filter(i => i.loading !== 'lazy' || inView(i));
  await Promise.all(eager.map(i => i.complete ? null : new Promise(r => {
    i.addEventListener('load', r); i.addEventListener('error', r);
  })));
  await Promise.all(eager.map(i => i.decode().catch(() => null)));
  // A page whose math the build typeset (book/typeset.py) loads no MathJax: its math is settled
  // once its fonts are. A page that loads MathJax (a build without node, or a baseline) waits for it.
  if (document.querySelector('.math') && document.querySelector('script[src*="tex-mml-chtml"]')) {
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
      if (Date.now() > deadline) return {timeout: 'MathJax never started'};
      await wait(50);
    }
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  while (views && document.querySelectorAll('.jupyter-widgets').length < views) {
    if (Date.now() > deadline) return {timeout: 'saved widgets never rendered'};
    await wait(100);
  }
  const settled = performance.now();
  const nav = performance.getEntriesByType('navigation')[0];
  const lcp = await new Promise(resolve => {  // the last candidate so far: no input has ended it yet
    new PerformanceObserver(list => resolve(list.getEntries().at(-1).startTime))
      .observe({type: 'largest-contentful-paint', buffered: true});
    setTimeout(() => resolve(null), 1000);
  });
  return {load: nav.loadEventStart, settled, lcp};
}
"""

_SCROLL_THROUGH = r"""
async () => {
  for (let y = 0; y < document.documentElement.scrollHeight; y += innerHeight / 2) {
    window.scrollTo(0, y);
    await new Promise(r => setTimeout(r, 50));
  }
}
"""


def localize(html: str) -> str:
    """The page with every CDN address of cdn.SOURCES pointing at the local server's /_cdn/<i>/."""
    html = cdn.Router.strip_integrity(html)
    for i, src in enumerate(cdn.SOURCES):
        html = html.replace(src.prefix, f"{CDN_PATH}{i}/")
    return html


def cdn_file(path: str) -> Path | None:
    """The node_modules/ file for a local /_cdn/<i>/... path, or None."""
    index, _, rest = path.removeprefix(CDN_PATH).partition("/")
    if not index.isdigit() or int(index) >= len(cdn.SOURCES):
        return None
    return cdn.local_file(cdn.SOURCES[int(index)].prefix + rest)


@lru_cache(maxsize=256)
def _body(file: Path, mtime_ns: int, compress: bool) -> bytes:
    data = file.read_bytes()
    if file.suffix == ".html":
        data = localize(data.decode("utf-8")).encode("utf-8")
    return gzip.compress(data, compresslevel=6, mtime=0) if compress else data


class LocalCdn(BookHandler):
    """The book's files, HTML with CDN addresses made local, /_cdn/ from node_modules/, text gzipped."""

    def do_GET(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        file = cdn_file(path) if path.startswith(CDN_PATH) else Path(self.translate_path(self.path))
        if file is None or not file.is_file():
            return super().do_GET()  # the 404s and directory listings of the stock server
        compress = file.suffix in COMPRESSED and "gzip" in self.headers.get("Accept-Encoding", "")
        body = _body(file, file.stat().st_mtime_ns, compress)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(file)))
        self.send_header("Content-Length", str(len(body)))
        if compress:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(body)


@dataclass
class NetworkLog:
    """The page's requests as the DevTools Protocol reports them: URL, wire bytes, done or not."""

    urls: dict[str, str] = field(default_factory=dict)
    wire: dict[str, int] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)

    def attach(self, session):
        session.on("Network.requestWillBeSent", self._sent)
        session.on("Network.loadingFinished", self._finished)
        session.on("Network.loadingFailed", lambda e: self.done.add(e["requestId"]))

    def _sent(self, event):
        if not event["request"]["url"].startswith("data:"):
            self.urls[event["requestId"]] = event["request"]["url"]

    def _finished(self, event):
        self.wire[event["requestId"]] = int(event["encodedDataLength"])
        self.done.add(event["requestId"])

    def in_flight(self) -> int:
        return len(set(self.urls) - self.done)

    def finished(self) -> list[tuple[str, int]]:
        return [(self.urls[i], self.wire.get(i, 0)) for i in self.urls if i in self.done]


@dataclass
class Visit:
    """One page opened once: the files it loaded, its bytes (see the module docstring), its times."""

    html: int = 0
    opened: set[Path] = field(default_factory=set)  # the book's files it loaded until settled
    read: set[Path] = field(default_factory=set)  # the same once scrolled through
    weight: int = 0  # the bytes of the page-specific files among them, once the shared ones are known
    scrolled: int = 0
    all: int = 0
    wire: int = 0
    lcp: float = float("nan")
    load: float = float("nan")
    settled: float = float("nan")
    unthrottled: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def file_of(url: str, origin: str, html: Path) -> tuple[Path | None, bool]:
    """The file that answered `url`, and whether it is one of the book's own (not a CDN's)."""
    if not url.startswith(origin):
        return cdn.local_file(url), False
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    if path.startswith(CDN_PATH):
        return cdn_file(path), False
    file = html / path.lstrip("/")
    return (file if file.is_file() else None), True


def book_files(log: NetworkLog, origin: str, html: Path) -> set[Path]:
    """The book's own files among the finished requests."""
    return {f for f, own in (file_of(url, origin, html) for url, _ in log.finished()) if own and f}


def shared_assets(html: Path, root: Visit) -> set[Path]:
    """The files every page loads: those under _static/ the root page loads, and the search index."""
    return {f for f in root.opened if f.is_relative_to(html / "_static")} | {html / "searchindex.js"}


def page_bytes(files: set[Path], shared: set[Path]) -> int:
    """Bytes of the page-specific files among `files`: all but the shared assets."""
    return sum(f.stat().st_size for f in files - shared)


def weigh(visit: Visit, shared: set[Path]) -> Visit:
    """Fill in the visit's weight and scrolled bytes, now that the book's shared assets are known."""
    visit.weight = page_bytes(visit.opened, shared)
    visit.scrolled = page_bytes(visit.read, shared)
    return visit


def wait_quiet(page, log: NetworkLog, quiet_ms: int = 500, most_s: float = 60) -> int:
    """Wait until no request has been in flight for `quiet_ms`, at most `most_s`; return those still in flight."""
    deadline = time.monotonic() + most_s
    calm = 0
    while calm < quiet_ms and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        calm = calm + 100 if log.in_flight() == 0 else 0
    return log.in_flight()


def visit(browser, origin: str, html: Path, page_path: str, cpu: float) -> Visit:
    """Open one page throttled in an empty context, let it settle, then scroll it through unthrottled."""
    record = Visit(html=(html / f"{page_path}.html").stat().st_size)
    router = cdn.Router(origin)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        session = context.new_cdp_session(page)
        log = NetworkLog()
        log.attach(session)
        session.send("Network.enable")
        session.send("Network.emulateNetworkConditions", SLOW_4G)
        session.send("Emulation.setCPUThrottlingRate", {"rate": cpu})
        page.route(lambda url: not url.startswith(origin), router)
        response = page.goto(f"{origin}{page_path}.html", wait_until="load", timeout=TIMEOUT_MS)
        if response is None or not response.ok:
            record.problems.append(f"the page did not load: {response and response.status}")
            return record
        times = page.evaluate(_SETTLE, TIMEOUT_MS)
        if "timeout" in times:
            record.problems.append(times["timeout"])
        else:
            record.load, record.settled = times["load"] / 1000, times["settled"] / 1000
            if times["lcp"] is None:
                record.problems.append("no largest-contentful-paint entry")
            else:
                record.lcp = times["lcp"] / 1000
        if wait_quiet(page, log):
            record.problems.append(f"{log.in_flight()} requests still in flight a minute after it settled")
        record.opened = book_files(log, origin, html)
        files = {f for f, _ in (file_of(url, origin, html) for url, _ in log.finished()) if f}
        record.all = sum(f.stat().st_size for f in files)
        record.wire = sum(wire for _, wire in log.finished())
        session.send("Network.emulateNetworkConditions", NO_THROTTLE)
        session.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        page.evaluate(_SCROLL_THROUGH)
        page.evaluate(_SETTLE, TIMEOUT_MS)
        if wait_quiet(page, log):
            record.problems.append(f"{log.in_flight()} requests still in flight a minute after scrolling")
        record.read = book_files(log, origin, html)
        record.unthrottled = router.served + router.blocked
    finally:
        context.close()
    return record


def median_visit(visits: list[Visit]) -> Visit:
    """The first visit's bytes with the median times of all of them."""
    first = visits[0]
    first.lcp = statistics.median(v.lcp for v in visits)
    first.load = statistics.median(v.load for v in visits)
    first.settled = statistics.median(v.settled for v in visits)
    first.problems = [p for v in visits for p in v.problems]
    return first


def checkout(rev: str, dest: Path) -> Path:
    """The sources of git revision `rev`, extracted into `dest` (git archive)."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev], capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as archive:
        archive.extractall(dest, filter="data")
    return dest


def built(src: Path, out: Path, label: str) -> Path:
    print(f"building {label} (strict) ...", flush=True)
    start = time.perf_counter()
    html = book.build(out, src)
    print(f"  built in {time.perf_counter() - start:.0f} s", flush=True)
    return html


def kb(n: int) -> str:
    return f"{n / 1000:,.0f}"


def ratio(after: float, before: float) -> str:
    return f"{after / before:.2f}" if before else "-"


def table(title: str, results: dict[str, Visit]):
    print(f"\n{title}")
    w = max(map(len, results), default=4)
    head = f"{'html':>7} {'weight':>7} {'scrolled':>8} {'all':>7} {'wire':>7}"
    head += f" {'LCP s':>6} {'load s':>7} {'settled s':>9}"
    print(f"{'page':<{w}} {head}")
    for path, v in results.items():
        print(
            f"{path:<{w}} {kb(v.html):>7} {kb(v.weight):>7} {kb(v.scrolled):>8} {kb(v.all):>7} {kb(v.wire):>7}"
            f" {v.lcp:>6.1f} {v.load:>7.1f} {v.settled:>9.1f}"
        )
    print("(bytes in kB of 1,000 bytes)")


def comparison(label: str, before: dict[str, Visit], after: dict[str, Visit]):
    print(f"\ncurrent tree against {label} (ratio = current / {label})")
    w = max(map(len, [*before, *after]), default=4)
    print(
        f"{'page':<{w}} {'weight kB':>17} {'ratio':>6} {'wire kB':>15} {'ratio':>6} {'LCP s':>13} {'ratio':>6}"
        f" {'load s':>13} {'ratio':>6} {'settled s':>13} {'ratio':>6}"
    )
    for path in [*after, *(p for p in before if p not in after)]:
        b, a = before.get(path), after.get(path)
        if a is None or b is None:
            print(f"{path:<{w}} only in {'the current tree' if b is None else label}")
            continue
        print(
            f"{path:<{w}} {kb(b.weight):>8}{kb(a.weight):>9} {ratio(a.weight, b.weight):>6}"
            f" {kb(b.wire):>7}{kb(a.wire):>8} {ratio(a.wire, b.wire):>6}"
            f" {b.lcp:>6.1f}{a.lcp:>7.1f} {ratio(a.lcp, b.lcp):>6}"
            f" {b.load:>6.1f}{a.load:>7.1f} {ratio(a.load, b.load):>6}"
            f" {b.settled:>6.1f}{a.settled:>7.1f} {ratio(a.settled, b.settled):>6}"
        )


def report_problems(label: str, results: dict[str, Visit]) -> bool:
    bad = False
    for path, v in results.items():
        for problem in v.problems:
            print(f"{label} {path}: {problem}")
            bad = True
        if v.unthrottled:
            print(f"{label} {path}: {len(v.unthrottled)} requests routed (unthrottled or aborted): {v.unthrottled[:3]}")
    return bad


def measure(books: dict[str, tuple[Path, list[str]]], only: list[str] | None, runs: int, cpu: float):
    """{label: {page: Visit}} for every page of every book, page by page, the books in turn."""
    from playwright.sync_api import sync_playwright  # here: chromium.unavailable() explains its absence

    results = {label: {} for label in books}
    order = [p for p in dict.fromkeys(p for _, pages in books.values() for p in pages) if p in (only or [p])]
    with sync_playwright() as p:
        browser = chromium.launch(p)
        servers = {label: BookServer(html, LocalCdn) for label, (html, _) in books.items()}
        origins = {label: server.__enter__() for label, server in servers.items()}
        try:
            for path in order:
                for label, (html, pages) in books.items():  # in turn: both books see the same machine load
                    if path in pages:
                        visits = [visit(browser, origins[label], html, path, cpu) for _ in range(runs)]
                        results[label][path] = median_visit(visits)
            for label, (html, pages) in books.items():
                root = results[label].get(pages[0]) or visit(browser, origins[label], html, pages[0], cpu)
                shared = shared_assets(html, root)
                for v in results[label].values():
                    weigh(v, shared)
        finally:
            for server in servers.values():
                server.__exit__(None, None, None)
            browser.close()
    return results


def over_budget(results: dict[str, Visit], pages: set[str], what: str, limit: float, unit: str) -> bool:
    """Print one check line: is `what` of every page of `pages` measured at most `limit`? Return yes or no."""
    measured = {p: getattr(results[p], what) for p in pages & set(results)}
    over = {p: v for p, v in measured.items() if not v <= limit}  # a NaN (never measured) is over too
    name = {"weight": "weigh", "lcp": "paint their largest content (LCP) in", "settled": "settle in"}[what]
    shown = (lambda v: f"{kb(v)} kB") if unit == "bytes" else (lambda v: f"{v:.1f} s")
    if over:
        listed = ", ".join(f"{p.rsplit('/', 1)[-1]} {shown(v)}" for p, v in over.items())
        print(f"check: {len(over)} of {len(measured)} pages measured {name} over {limit:,} {unit}: {listed}")
    else:
        print(f"check: all {len(measured)} pages measured {name} at most {limit:,} {unit}")
    return bool(over)


def check(results: dict[str, Visit]) -> bool:
    """Print the check lines for the current tree's budgets; True if every page keeps them.

    Every chapter page weighs at most LIMIT bytes and settles in SETTLED_BUDGET seconds; every
    page paints its largest content in LCP_BUDGET seconds (the medians, throttled as above).
    """
    chapters = {f"chapters/{slug}/{slug}" for slug in book.chapters()}
    print()
    over = [
        over_budget(results, chapters, "weight", LIMIT, "bytes"),
        over_budget(results, set(results), "lcp", LCP_BUDGET, "s"),
        over_budget(results, chapters, "settled", SETTLED_BUDGET, "s"),
    ]
    return not any(over)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--html", type=Path, help="an existing build of the current tree (default: build it)")
    parser.add_argument("--baseline", metavar="REV", help="also build and measure git revision REV")
    parser.add_argument("--baseline-html", type=Path, help="an existing build of REV (default: build it)")
    parser.add_argument("--runs", type=int, default=3, help="throttled loads per page; the median is shown")
    parser.add_argument("--page", action="append", help="measure only this page (e.g. intro); repeatable")
    parser.add_argument("--cpu", type=float, default=CPU_SLOWDOWN, help="CPU slowdown (1: none)")
    args = parser.parse_args(argv)
    why = chromium.unavailable()
    if why:
        print(f"cannot measure: {why}", file=sys.stderr)
        return 2
    if args.baseline_html and not args.baseline:
        parser.error("--baseline-html needs --baseline REV (for its table of contents)")
    tmp = Path(tempfile.mkdtemp(prefix="book-weight-"))
    try:
        books = {}  # label -> (its HTML folder, its pages)
        if args.baseline:
            src = checkout(args.baseline, tmp / "baseline-src")
            books[args.baseline] = (args.baseline_html or built(src, tmp / "baseline", args.baseline), book.pages(src))
        books["current"] = (args.html or built(book.ROOT, tmp / "current", "the current tree"), book.pages())
        for label, (html, _) in books.items():
            if not (html / "intro.html").is_file():
                parser.error(f"{html} holds no built book (no intro.html) for {label}")
        print(
            f"throttled: Slow 4G ({SLOW_4G['latency']} ms latency, {SLOW_4G['downloadThroughput']:,} B/s down,"
            f" {SLOW_4G['uploadThroughput']:,} B/s up), CPU {args.cpu:g}x slower;"
            f" viewport {PHONE['width']}x{PHONE['height']}, empty cache, median of {args.runs} run(s) per page",
            flush=True,
        )
        results = measure(books, args.page, args.runs, args.cpu)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for label, res in results.items():
        table(f"{label} ({books[label][0]})", res)
    if args.baseline:
        comparison(args.baseline, results[args.baseline], results["current"])
    bad = [label for label, res in results.items() if report_problems(label, res)]
    return 0 if check(results["current"]) and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
