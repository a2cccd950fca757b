"""A Sphinx extension for the book build: light pages, with the same demos.

A chapter's static demos are players (the ``Player`` of each chapter's reference-view block):
the first frame is an ``<img>`` in the page, and every frame is a data URI in a JSON list
(``<script type="application/json" class="anim-frames">``) that the player reads when the reader
opens the demo (points at it, focuses or touches it). In Jupyter that list stays inline. In the
book it would make a chapter page several megabytes, most of it frames a reader may never look
at, so after the build this extension writes each frame to ``_images/frames/<hash>.png`` (named
by its content: a frame two demos share is stored once) and puts the file's URL in the list.
The page then carries only each demo's first frame, and a demo fetches the rest when it is opened.

It also stores the book's other PNG figures with a palette of at most 256 colours where that
is smaller (matplotlib's line plots use few colours: the figures look the same at about a third
of the bytes). The figures it rewrote are kept in ``_build/.palette_cache`` under a hash of the
figure, so a rebuild that copies a page's figures again does not quantize them again.

Two more savings for a phone on a slow link, which change nothing a reader sees:

- Every figure and every player's first frame is an ``<img>`` with its ``width`` and ``height``
  and ``loading="lazy"``: the browser fetches the pictures near the screen first, and those far
  below it only as the reader scrolls towards them, so they do not compete with the first screen
  for the link (the sizes keep the page from jumping when they arrive; ``course.css`` scales them).
- In highlighted code, Pygments wraps every name, punctuation mark and space in a ``<span>``
  whose only rule is the code block's own text colour: a third of a chapter's code markup. Those
  spans are dropped, for the token classes whose colour equals the block's in every colour mode
  of the build's ``pygments.css`` (read from it, so another Pygments style keeps its colours).

Loaded from ``_config.yml`` (``sphinx.local_extensions``, as ``book.frames``); ``benchmarks/book_weight.py``
measures what a page weighs.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import re
from pathlib import Path

from PIL import Image

from book import framecache

FRAMES_DIR = Path("_images") / "frames"
FRAME_LIST = re.compile(r'(<script type="application/json" class="anim-frames">)(.*?)(</script>)', re.S)
DATA_URI = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,(.*)$", re.S)
PLAYER_IMG = re.compile(r'(<img id="player-[0-9a-f]+" src=")(data:image/[a-z]+;base64,[^"]*)(")')
IMG_TAG = re.compile(r'<img\b[^>]*?\ssrc="(?!data:|[a-z]+:|/)([^"]+)"[^>]*>')
# A rule of Sphinx's pygments.css: [html[data-theme="MODE"] ].highlight[ .TOKEN] { BODY }
STYLE_RULE = re.compile(r'^((?:html\[data-theme="\w+"\] )?)\.highlight(?: \.(\w+))? \{([^}]*)\}', re.M)
CODE_BLOCK = re.compile(r'<div class="highlight"><pre>.*?</pre></div>', re.S)
PALETTE_COLOURS = 256


def frame_url(uri: str, outdir: Path, page_dir: Path) -> str:
    """Write the frame a data URI holds under ``outdir/FRAMES_DIR``; return its URL from ``page_dir``."""
    found = DATA_URI.match(uri)
    if not found:
        return uri  # already a URL (a page rewritten by an earlier build)
    data = base64.b64decode(found.group(2))
    path = outdir / FRAMES_DIR / f"{hashlib.sha256(data).hexdigest()[:24]}.{found.group(1)}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return Path(os.path.relpath(path, page_dir)).as_posix()


def externalise_frames(page: str, outdir: Path, page_dir: Path) -> str:
    """The page with every player's frames as files: its frame list, and its first frame's ``<img>``."""

    def rewrite(match: re.Match) -> str:
        frames = json.loads(match.group(2))
        urls = [frame_url(uri, outdir, page_dir) for uri in frames]
        return match.group(1) + json.dumps(urls) + match.group(3)

    def first_frame(match: re.Match) -> str:
        return match.group(1) + frame_url(match.group(2), outdir, page_dir) + match.group(3)

    return PLAYER_IMG.sub(first_frame, FRAME_LIST.sub(rewrite, page))


def lazy_images(page: str, outdir: Path, page_dir: Path) -> str:
    """Every ``<img>`` of a file in the book's output, with its size and ``loading="lazy"``.

    An image that already says how it loads, or whose file is not under ``outdir``, is left alone.
    """

    def lazy(match: re.Match) -> str:
        tag = match.group(0)
        if " loading=" in tag:
            return tag
        path = (page_dir / html.unescape(match.group(1))).resolve()
        if not path.is_relative_to(outdir.resolve()) or not path.is_file():
            return tag
        size = ""
        if " width=" not in tag:
            try:
                with Image.open(path) as image:
                    size = f' width="{image.width}" height="{image.height}"'
            except (OSError, ValueError):  # not a raster image Pillow reads (an SVG logo): left as it is
                return tag
        return tag[:-1].rstrip("/ ") + f'{size} loading="lazy" decoding="async">'

    return IMG_TAG.sub(lazy, page)


def plain_token_classes(pygments_css: str) -> set[str]:
    """The Pygments token classes styled with nothing but the code block's own colour, in every colour mode."""
    base, styled = {}, {}
    for mode, token, body in STYLE_RULE.findall(pygments_css):
        body = body.strip().rstrip(";").strip()
        if token:
            styled.setdefault(token, {})[mode] = body
        elif (colour := re.fullmatch(r"(?:background: [^;]+; )?color: (#[0-9A-Fa-f]+)", body)) is not None:
            base[mode] = f"color: {colour.group(1)}"
    if not base:
        return set()
    return {token for token, rules in styled.items() if all(rules.get(mode) == body for mode, body in base.items())}


def plain_code(page: str, classes: set[str]) -> str:
    """The page with the ``<span>`` of every token of ``classes`` in its highlighted code dropped (text kept)."""
    if not classes:
        return page
    token = re.compile(r'<span class="(?:' + "|".join(map(re.escape, sorted(classes))) + r')">([^<]*)</span>')
    return CODE_BLOCK.sub(lambda block: token.sub(r"\1", block.group(0)), page)


def palette_png(path: Path, store: Path | None = None) -> bool:
    """Store a PNG figure with a palette of at most PALETTE_COLOURS colours when that is smaller.

    Returns True when the file was rewritten. Images that already use a palette, and images
    with transparent parts (which the palette would lose), are left alone. With a `store` (a
    folder), the result is also kept there under the hash of the figure as it came, and a figure
    that comes again (Sphinx copies a rewritten page's figures anew) is taken from it.
    """
    original = path.read_bytes()
    key = hashlib.sha256(f"{PALETTE_COLOURS}:{Image.__version__}:".encode() + original).hexdigest()
    if store is not None:
        try:
            stored = (store / f"{key}.png").read_bytes()
            os.utime(store / f"{key}.png")  # recently used: pruned last
        except OSError:
            stored = None
        if stored is not None and stored.startswith(b"\x89PNG") and stored.endswith(b"IEND\xaeB`\x82"):
            path.write_bytes(stored)
            return True
    with Image.open(path) as image:
        if image.format != "PNG" or image.mode == "P":
            return False
        if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] < 255:
            return False  # transparent parts: the palette would lose them
        rgb = image.convert("RGB")
    packed = io.BytesIO()
    rgb.quantize(PALETTE_COLOURS, dither=Image.Dither.NONE).save(packed, format="png", optimize=True)
    if packed.tell() >= len(original):
        return False
    path.write_bytes(packed.getvalue())
    if store is not None:
        framecache.write_aside(store, f"{key}.png", packed.getvalue())
    return True


def lighten(outdir: Path, store: Path | None = None) -> tuple[int, int]:
    """Rewrite every HTML page's players and every figure under ``outdir``; (pages, figures) changed.

    `store`: where palette_png keeps the figures it rewrote, for the next build.
    """
    figures = sum(palette_png(path, store) for path in sorted((outdir / "_images").glob("*.png")))
    pages = 0
    for page_path in sorted(outdir.rglob("*.html")):
        text = page_path.read_text(encoding="utf-8")
        new = externalise_frames(text, outdir, page_path.parent) if 'class="anim-frames"' in text else text
        new = lazy_images(new, outdir, page_path.parent)
        if new != text:
            page_path.write_text(new, encoding="utf-8")
            pages += 1
    return pages, figures


def plain_code_in_pages(outdir: Path) -> int:
    """Drop the code spans that style nothing (:func:`plain_code`) from every page under ``outdir``; pages changed."""
    css = outdir / "_static" / "pygments.css"
    classes = plain_token_classes(css.read_text(encoding="utf-8")) if css.is_file() else set()
    pages = 0
    for page_path in sorted(outdir.rglob("*.html")) if classes else ():
        text = page_path.read_text(encoding="utf-8")
        new = plain_code(text, classes)
        if new != text:
            page_path.write_text(new, encoding="utf-8")
            pages += 1
    return pages


PALETTE_STORE = ".palette_cache"  # beside the HTML folder: _build/.palette_cache
PALETTE_STORE_MAX_BYTES = 32 * 2**20  # the book's figures take 3 MB


def _build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        store = Path(app.outdir).parent / PALETTE_STORE
        lighten(Path(app.outdir), store)
        framecache.prune(store, max_bytes=PALETTE_STORE_MAX_BYTES, pattern="*.png")


def _code_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        plain_code_in_pages(Path(app.outdir))


def setup(app) -> dict:
    app.connect("build-finished", _build_finished)
    # After the theme's own build-finished handler, which writes the light and dark colours into
    # pygments.css (pydata-sphinx-theme): the classes are read from what the reader gets.
    app.connect("build-finished", _code_finished, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
