"""The bundled sample class: a few made-up students who show what grading does.

``python -m autograder sample-class`` regenerates ``sample_class/`` from the
release and the reference solutions, for every chapter:

- ``ada``: every answer right, with noise that must cost nothing (prints to
  stderr, a warning, a plot, a helper in a cell of her own);
- ``ben``: right except for one function, which has the first mistake listed
  in the chapter's ``solutions/<slug>/mistakes.py``;
- ``cleo``: handed in the notebook untouched;
- ``dev``: handed in a file that is not valid JSON (it must get a row, status
  ``unreadable``, score 0);
- ``eli``: has a folder but handed nothing in (status ``missing``).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import nbformat

from autograder import notebooks as nbs

NOISE = """import sys, warnings
import matplotlib.pyplot as plt
print("debugging output on stderr", file=sys.stderr)
warnings.warn("a warning from the student's own cell")
plt.plot([0, 1], [1, 0]); plt.close("all")


def _my_helper(x):
    return x
"""


def mistakes(slug: str, root: Path = nbs.ROOT) -> dict:
    path = root / "solutions" / slug / "mistakes.py"
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location(f"mistakes_{slug}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MISTAKES


def build(out: Path, root: Path = nbs.ROOT) -> None:
    if out.exists():
        shutil.rmtree(out)
    for slug in nbs.chapter_slugs(root):
        release_nb = nbs.read(nbs.release_path(slug, root))
        answers = nbs.reference_answers(nbs.read(nbs.source_path(slug, root)))

        ada = nbs.fill_answers(release_nb, answers)
        first = next(i for i, c in enumerate(ada.cells) if nbs.is_answer(c))
        ada.cells.insert(first, nbformat.v4.new_code_cell(NOISE, id="ada-noise"))
        nbs.write(ada, out / "ada" / slug / f"{slug}.ipynb")

        wrong = dict(answers)
        listed = mistakes(slug, root)
        if listed:
            first_mistake = next(iter(listed.values()))
            wrong[first_mistake["function"]] = first_mistake["source"].strip("\n")
        nbs.write(nbs.fill_answers(release_nb, wrong), out / "ben" / slug / f"{slug}.ipynb")

        nbs.write(release_nb, out / "cleo" / slug / f"{slug}.ipynb")

        broken = nbs.dumps(nbs.fill_answers(release_nb, answers))
        path = out / "dev" / slug / f"{slug}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(broken[: len(broken) // 2], encoding="utf-8")

        (out / "eli" / slug).mkdir(parents=True, exist_ok=True)
        (out / "eli" / slug / ".gitkeep").write_text("")
