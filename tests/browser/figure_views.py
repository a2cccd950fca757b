"""Every static figure of the built book as a colour-blind reader and a greyscale print see it.

    .venv/bin/python tests/browser/figure_views.py [--book _build/html] [--out /tmp/shots/figures]

For each chapter in _toc.yml, each figure among its outputs (not the demos' frames) is written
three times: <slug>-<n>.png as built, <slug>-<n>-deuteranopia.png (Machado, Oliveira & Fernandes
2009, full severity, the commonest colour blindness: red and green look alike) and
<slug>-<n>-grey.png (luminance only). index.html shows them side by side with each figure's alt
text, so an author can check that no figure tells its series apart by colour alone and that the
alt text says what the figure shows. `make shots` writes them too (tests/browser/shots.py).
Without --book it builds the book first. No browser is needed.
"""

from __future__ import annotations

import argparse
import html as html_text
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as a script: make `browser` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from browser import book

# Machado et al. (2009), deuteranomaly at severity 1.0, applied to linear RGB.
DEUTERANOPIA = np.array(
    [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]
)
_CELL = re.compile(r'<div class="cell(?:[ "])')
_IMG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def figures(page: str) -> list[tuple[str, str]]:
    """(src, alt) of every figure among a chapter page's cell outputs, demos' frames left out."""
    found = []
    for cell in _CELL.split(page)[1:]:
        if 'class="animation' in cell:
            continue
        output = cell.split('class="cell_output', 1)
        if len(output) < 2:
            continue
        for tag in _IMG.findall(output[1]):
            attrs = dict(_ATTR.findall(tag))
            if attrs.get("src", "").endswith(".png"):
                found.append((attrs["src"], html_text.unescape(attrs.get("alt", ""))))
    return found


def _linear(srgb: np.ndarray) -> np.ndarray:
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def deuteranopia(image: Image.Image) -> Image.Image:
    rgb = np.asarray(image.convert("RGB"), dtype=float) / 255.0
    seen = _srgb(_linear(rgb) @ DEUTERANOPIA.T)
    return Image.fromarray(np.round(seen * 255).astype(np.uint8), "RGB")


def greyscale(image: Image.Image) -> Image.Image:
    return image.convert("L")


def write(html: Path, out: Path) -> int:
    """Write every chapter's figures and their two simulated views to `out`; returns how many figures."""
    out.mkdir(parents=True, exist_ok=True)
    rows, count = [], 0
    for slug in book.chapters():
        page_path = html / "chapters" / slug / f"{slug}.html"
        for n, (src, alt) in enumerate(figures(page_path.read_text(encoding="utf-8")), start=1):
            with Image.open((page_path.parent / src).resolve()) as image:
                image = image.convert("RGB")
                names = [f"{slug}-{n}.png", f"{slug}-{n}-deuteranopia.png", f"{slug}-{n}-grey.png"]
                image.save(out / names[0])
                deuteranopia(image).save(out / names[1])
                greyscale(image).save(out / names[2])
            count += 1
            cells = "".join(f'<td><img src="{name}" alt="" width="420"></td>' for name in names)
            said = html_text.escape(alt)
            rows.append(f"<tr><th>{slug}, figure {n}</th>{cells}</tr><tr><td colspan=4>{said}</td></tr>")
    (out / "index.html").write_text(
        '<!doctype html><html lang="en"><meta charset="utf-8"><title>Figures as seen</title>'
        "<table><tr><th>figure</th><th>as built</th><th>deuteranopia</th><th>greyscale</th></tr>"
        + "".join(rows)
        + "</table></html>",
        encoding="utf-8",
    )
    return count


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--book", type=Path, help="a built book's HTML folder (default: build one)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/shots/figures"))
    args = ap.parse_args(argv)
    count = write(args.book or book.built_book(), args.out)
    print(f"{count} figures, each as built, with deuteranopia and in greyscale: {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
