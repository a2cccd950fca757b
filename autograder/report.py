"""What grading writes: grades.csv, tests.csv, one feedback page per notebook, a summary.

Feedback shows each test's name, points, result and message. For a visible
test that failed it also shows the traceback; of a hidden test it shows the
name, result and message only, never a line of its source.
"""

from __future__ import annotations

import csv
import html
import os
import statistics
import tempfile
from collections import Counter
from pathlib import Path

from autograder import notebooks as nbs

GRADE_COLUMNS = ["student_id", "chapter", "score", "max_score", "status", "reason"]
TEST_COLUMNS = ["student_id", "chapter", "test", "hidden", "points", "max_points", "passed", "message"]


def result(status: str, reason: str, source_nb, outcomes: dict | None = None) -> dict:
    """One notebook's row: every test of the source, scored only when the status is ok."""
    tests = []
    for cell in nbs.test_cells(source_nb):
        gid = nbs.grade_id(cell)
        outcome = dict((outcomes or {}).get(gid) or {"passed": False, "message": "not run: " + reason})
        if status != "ok" and outcome["passed"]:
            outcome = {"passed": False, "message": f"not counted: {reason}"}
        tests.append(
            {
                "test": gid,
                "hidden": nbs.is_hidden(cell),
                "max_points": nbs.points(cell),
                "points": nbs.points(cell) if outcome["passed"] and status == "ok" else 0.0,
                **outcome,
            }
        )
    return {
        "status": status,
        "reason": reason,
        "score": sum(t["points"] for t in tests),
        "max_score": nbs.max_score(source_nb),
        "tests": tests,
    }


def failed_result(job, root: Path, status: str, reason: str) -> dict:
    """The row of a notebook that could not be graded: every test 0, with the reason."""
    return result(status, reason, nbs.read(nbs.source_path(job.chapter, root)))


def _num(x: float) -> str:
    return f"{x:g}"


def progress(stream, done: int, total: int, row: dict, elapsed: float) -> None:
    """One line per notebook; on a terminal, one bar redrawn in place (and a line for every status but ok)."""
    width = 24
    bar = "#" * (width * done // total) + "-" * (width - width * done // total)
    eta = elapsed / done * (total - done)
    line = (
        f"[{bar}] {done}/{total} {elapsed:5.0f}s (~{eta:.0f}s left)  {row['student_id']}/{row['chapter']}: "
        f"{_num(row['score'])}/{_num(row['max_score'])} {row['status']}"
    )
    tty = getattr(stream, "isatty", lambda: False)()
    if tty:
        keep = row["status"] not in ("ok", "missing")
        stream.write("\r\x1b[K" + line + ("\n" if keep or done == total else ""))
    else:
        stream.write(line + "\n")
    stream.flush()


def _make_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents as 0755, whatever the umask; leave existing ones alone."""
    missing = [d for d in (folder, *folder.parents) if not d.exists()]
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        d.chmod(0o755)


def _atomic_write(path: Path, text: str) -> None:
    """Write through a temporary file so a crash never leaves half a report.

    Reports are for sharing (with TAs, published as feedback): 0644, not mkstemp's private 0600.
    """
    _make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.fchmod(fd, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def _csv(rows: list[dict], columns: list[str]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def feedback_html(row: dict) -> str:
    e = html.escape
    items = []
    for t in row["tests"]:
        mark = "passed" if t["passed"] else "failed"
        detail = ""
        if t.get("traceback") and not t["hidden"]:
            detail = f"<details><summary>traceback</summary><pre>{e(t['traceback'])}</pre></details>"
        items.append(
            f'<tr class="{mark}"><td><code>{e(t["test"])}</code>{" (hidden)" if t["hidden"] else ""}</td>'
            f"<td>{_num(t['points'])} / {_num(t['max_points'])}</td><td>{mark}</td>"
            f"<td class='message'>{e(t['message'])}{detail}</td></tr>"
        )
    status = ""
    if row["status"] != "ok":
        status = f'<p class="status">Status: <b>{e(row["status"])}</b>: {e(row["reason"])}</p>'

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(row["chapter"])}: feedback for {e(row["student_id"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4rem; text-align: left; vertical-align: top; }}
tr.passed td:nth-child(3) {{ color: #17692c; }} tr.failed td:nth-child(3) {{ color: #a4161a; font-weight: bold; }}
pre {{ white-space: pre-wrap; font-size: .85em; }} .status {{ background: #fff3cd; padding: .5rem; }}
td.message {{ white-space: pre-wrap; }}
</style></head><body>
<h1>{e(row["chapter"])}: {_num(row["score"])} / {_num(row["max_score"])}</h1>
<p>Student: <code>{e(row["student_id"])}</code></p>
{status}
<table><thead><tr><th>test</th><th>points</th><th>result</th><th>message</th></tr></thead>
<tbody>
{chr(10).join(items)}
</tbody></table>
<p>Hidden tests re-check the same properties on fresh inputs; their code is not shown.</p>
</body></html>
"""


def write_all(rows: list[dict], out: Path) -> None:
    rows = sorted(rows, key=lambda r: (r["student_id"], r["chapter"]))
    _atomic_write(out / "grades.csv", _csv(rows, GRADE_COLUMNS))
    tests = [{"student_id": r["student_id"], "chapter": r["chapter"], **t} for r in rows for t in r["tests"]]
    _atomic_write(out / "tests.csv", _csv(tests, TEST_COLUMNS))
    for r in rows:
        _atomic_write(out / "feedback" / r["student_id"] / f"{r['chapter']}.html", feedback_html(r))


def summary(rows: list[dict]) -> str:
    """A table per chapter: students, mean, median, full marks, statuses; then the most-failed tests."""
    header = ("chapter", "students", "mean", "median", "max", "full marks", "not ok")
    table, notes = [], []
    for chapter in sorted({r["chapter"] for r in rows}):
        mine = [r for r in rows if r["chapter"] == chapter]
        scores = [r["score"] for r in mine]
        full = sum(r["score"] == r["max_score"] for r in mine)
        statuses = Counter(r["status"] for r in mine if r["status"] != "ok")
        table.append(
            (
                chapter,
                str(len(mine)),
                f"{statistics.mean(scores):.1f}",
                f"{statistics.median(scores):g}",
                _num(mine[0]["max_score"]),
                str(full),
                ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "-",
            )
        )
        graded = [r for r in mine if r["status"] == "ok"]
        failed = Counter(t["test"] for r in graded for t in r["tests"] if not t["passed"])
        if failed:
            notes.append(
                f"{chapter} most failed: " + ", ".join(f"{t} ({n}/{len(graded)})" for t, n in failed.most_common(3))
            )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table, strict=True)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in [header, *table]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([*lines, *([""] if notes else []), *notes])
