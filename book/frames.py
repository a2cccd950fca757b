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
of the bytes).

Loaded from ``_config.yml`` (``sphinx.local_extensions``, as ``book.frames``); ``benchmarks/book_weight.py``
measures what a page weighs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
from pathlib import Path

from PIL import Image

FRAMES_DIR = Path("_images") / "frames"
FRAME_LIST = re.compile(r'(<script type="application/json" class="anim-frames">)(.*?)(</script>)', re.S)
DATA_URI = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,(.*)$", re.S)
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
    """The page with every player's frame list pointing at frame files instead of holding the frames."""

    def rewrite(match: re.Match) -> str:
        frames = json.loads(match.group(2))
        urls = [frame_url(uri, outdir, page_dir) for uri in frames]
        return match.group(1) + json.dumps(urls) + match.group(3)

    return FRAME_LIST.sub(rewrite, page)


def palette_png(path: Path) -> bool:
    """Store a PNG figure with a palette of at most PALETTE_COLOURS colours when that is smaller.

    Returns True when the file was rewritten. Images that already use a palette, and images
    with transparent parts (which the palette would lose), are left alone.
    """
    with Image.open(path) as image:
        if image.format != "PNG" or image.mode == "P":
            return False
        if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] < 255:
            return False  # transparent parts: the palette would lose them
        rgb = image.convert("RGB")
    packed = io.BytesIO()
    rgb.quantize(PALETTE_COLOURS, dither=Image.Dither.NONE).save(packed, format="png", optimize=True)
    if packed.tell() >= path.stat().st_size:
        return False
    path.write_bytes(packed.getvalue())
    return True


def lighten(outdir: Path) -> tuple[int, int]:
    """Rewrite every HTML page's players and every figure under ``outdir``; (pages, figures) changed."""
    pages = 0
    for page_path in sorted(outdir.rglob("*.html")):
        text = page_path.read_text(encoding="utf-8")
        if 'class="anim-frames"' not in text:
            continue
        new = externalise_frames(text, outdir, page_path.parent)
        if new != text:
            page_path.write_text(new, encoding="utf-8")
            pages += 1
    figures = sum(palette_png(path) for path in sorted((outdir / "_images").glob("*.png")))
    return pages, figures


def _build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        lighten(Path(app.outdir))


def setup(app) -> dict:
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
