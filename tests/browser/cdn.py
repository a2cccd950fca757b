"""The CDN files a Jupyter Book 1 page asks for, served from the npm packages of the same libraries.

The test machines have no internet. A built page loads MathJax (Sphinx's `mathjax_path`),
require.js and the widget manager (MyST-NB's `nb_ipywidgets_js`, on pages with saved widget
state) and Font Awesome 4 (the icons of matplotlib's `to_jshtml` animations) from public CDNs.
`package.json` pins those packages at the versions the URLs name (`npm ci` in `make install`
puts them in node_modules/), and `Router` answers each CDN request from there through
Playwright's request routing. The book itself stays the stock JB1 output, so readers online
get the CDNs as usual; nothing is vendored into the repository.

Every other request that leaves the local server is aborted and recorded, so a page that
starts to need something new from the internet fails its test instead of silently losing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"


@dataclass(frozen=True)
class Source:
    prefix: str  # the CDN URL, or the start of it for a whole folder
    local: str  # the file, or folder, under node_modules/
    same_bytes: bool = True  # False: the CDN serves a different build (minified) of the same version


SOURCES = [
    # Sphinx's default mathjax_path, https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js,
    # and the fonts and extensions MathJax loads from beside it. package.json pins 3.2.2, the
    # latest 3.x, which is what `mathjax@3` resolves to.
    Source("https://cdn.jsdelivr.net/npm/mathjax@3/", "mathjax"),
    # MyST-NB's widget loader. cdnjs serves the minified build, with a subresource-integrity hash;
    # npm's requirejs 2.3.4 has the unminified one, so the hash on the page cannot match it (see
    # Router.strip_integrity).
    Source(
        "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js",
        "requirejs/require.js",
        same_bytes=False,
    ),
    # The widget manager, its chunks and its icon fonts.
    Source("https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/", "@jupyter-widgets/html-manager"),
    # matplotlib's to_jshtml links Font Awesome 4.4.0 for the animation's buttons; 4.7.0, the
    # version npm has, is the same icon set plus later icons, with the same file layout.
    Source("https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/", "font-awesome"),
]


def local_file(url: str) -> Path | None:
    """The file under node_modules/ that answers a CDN `url`, or None."""
    bare = re.sub(r"[?#].*$", "", url)
    for src in SOURCES:
        if bare == src.prefix or (src.prefix.endswith("/") and bare.startswith(src.prefix)):
            path = NODE_MODULES / src.local / bare[len(src.prefix) :]
            return path if path.is_file() else None
    return None


def missing_packages() -> list[str]:
    """The packages of SOURCES absent from node_modules/ (run `npm ci`)."""
    return [s.local for s in SOURCES if not (NODE_MODULES / s.local).exists()]


@dataclass
class Router:
    """Playwright route handler: local pages pass, CDN files come from node_modules/, the rest is aborted."""

    origin: str  # the local server, "http://127.0.0.1:PORT/"
    served: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def __call__(self, route):
        url = route.request.url
        if url.startswith(self.origin):
            if route.request.resource_type == "document":
                return self._document(route)
            return route.continue_()
        if url.startswith("data:"):
            return route.continue_()
        path = local_file(url)
        if path is None:
            self.blocked.append(url)
            return route.abort("internetdisconnected")
        self.served.append(url)
        return route.fulfill(path=str(path), headers={"Access-Control-Allow-Origin": "*"})

    def _document(self, route):
        response = route.fetch()
        body = response.text()
        stripped = self.strip_integrity(body)
        if stripped == body:
            return route.fulfill(response=response)
        return route.fulfill(response=response, body=stripped)

    @staticmethod
    def strip_integrity(html: str) -> str:
        """Drop the integrity attribute of script tags whose CDN file npm only has in another build.

        Only the tags that load such a file (same_bytes=False) are touched: their hash names
        bytes that are not available offline, and the browser would block the file. Every
        other tag, and every other integrity hash, is left as the book wrote it.
        """
        for src in SOURCES:
            if src.same_bytes:
                continue
            loads_it = re.compile(r'<script\b[^>]*\bsrc="' + re.escape(src.prefix) + r'"[^>]*>')
            html = loads_it.sub(lambda tag: re.sub(r'\s+integrity="[^"]*"', "", tag.group(0)), html)
        return html
