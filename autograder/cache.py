"""Results already computed: a notebook graded before is not run again.

A result is kept in ``DIR/.cache/<key>.json``, where the key is a SHA-256 of everything that
decides the grade, and nothing else:

- the notebook's bytes, exactly as handed in (its file name and the student's id play no part);
- the chapter's instructor source (``solutions/<slug>/<slug>.ipynb``) and release
  (``chapters/<slug>/<slug>.ipynb``), byte for byte;
- the grader's code: every ``autograder/*.py`` of the package that runs;
- the limits: ``--timeout``, ``--cell-timeout``, ``--memory`` and whether the sandbox is on.

Change any of them and the notebook runs again. Only results that the same inputs always give
are kept: a notebook graded ``ok`` without a fault, and ``not-attempted``, ``wrong-notebook``,
``invalid`` and ``tampered``. A time limit, a crash, ``timeout`` or ``error`` depend on the
machine and its load, so those notebooks run again every time.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from autograder import notebooks as nbs
from autograder import report

FOLDER = ".cache"
KEPT = ("not-attempted", "wrong-notebook", "invalid", "tampered")


@functools.cache
def _grader_digest() -> bytes:
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def _chapter_digest(chapter: str, root: Path) -> bytes:
    digest = hashlib.sha256()
    for path in (nbs.source_path(chapter, root), nbs.release_path(chapter, root)):
        digest.update(path.read_bytes() + b"\0")
    return digest.digest()


class Cache:
    """The results kept under ``out``; :meth:`get` and :meth:`put` never raise on a damaged entry."""

    def __init__(self, out: Path, root: Path, limits: dict) -> None:
        self.folder = Path(out) / FOLDER
        self.root = root
        self.limits = json.dumps(limits, sort_keys=True).encode()
        self.chapters: dict[str, bytes] = {}

    def key(self, raw: bytes, chapter: str) -> str:
        if chapter not in self.chapters:
            self.chapters[chapter] = _chapter_digest(chapter, self.root)
        digest = hashlib.sha256(b"autograder result cache v1\0")
        for part in (hashlib.sha256(raw).digest(), self.chapters[chapter], _grader_digest(), self.limits):
            digest.update(part)
        return digest.hexdigest()

    def get(self, key: str) -> dict | None:
        try:
            result = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return result if isinstance(result, dict) and isinstance(result.get("tests"), list) else None

    def put(self, key: str, result: dict) -> None:
        if not (result["status"] == "ok" and not result["reason"]) and result["status"] not in KEPT:
            return
        report.write_atomic(self.folder / f"{key}.json", json.dumps(result, sort_keys=True))
