"""What grading writes: grades.csv, tests.csv, one feedback page per notebook, summary.html.

summary.html groups the failures of each chapter by misconception: one test and the line of its
message that names the mistake (:func:`autograder.messages.misconception`, the numbers left out),
so that every student who makes the same mistake counts in one group, named after the course's
own list of slips where one of them fails that way (:mod:`autograder.misconceptions`).

Feedback shows each test's name, points, result and message. For a visible
test that failed it also shows the traceback; of a hidden test it shows the
name, result and message only, never a line of its source.

Students control much of the text in these files (exception names and
messages, the reasons a notebook was not graded). Every HTML page escapes it;
every CSV cell of text that a spreadsheet would read as a formula is
neutralized with a leading apostrophe, as OWASP recommends for CSV injection
(see :func:`csv_cell`). Numbers the grader computed are written as numbers.
"""

from __future__ import annotations

import contextlib
import csv
import html
import os
import re
import statistics
import tempfile
from collections import Counter
from pathlib import Path

from autograder import messages
from autograder import notebooks as nbs

GRADE_COLUMNS = ["student_id", "chapter", "score", "max_score", "status", "reason"]
TEST_COLUMNS = ["student_id", "chapter", "test", "hidden", "points", "max_points", "passed", "status", "message"]
QUIET = ("ok", "missing", "not-attempted")  # statuses a terminal's progress bar does not print a line for
# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection"), full-width forms included.
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
CONTROL_START = ("\t", "\r", "\n")


def result(status: str, reason: str, source_nb, outcomes: dict | None = None) -> dict:
    """One notebook's row: every test of the source; a test that ran keeps its result unless tampered."""
    tests = []
    for cell in nbs.test_cells(source_nb):
        gid = nbs.grade_id(cell)
        outcome = dict((outcomes or {}).get(gid) or {"passed": False, "message": "not run: " + reason})
        if status == "tampered" and outcome["passed"]:
            outcome = {"passed": False, "message": f"not counted: {reason}"}
        tests.append(
            {
                "test": gid,
                "hidden": nbs.is_hidden(cell),
                "max_points": nbs.points(cell),
                "points": nbs.points(cell) if outcome["passed"] and status != "tampered" else 0.0,
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
        keep = row["status"] not in QUIET
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


def _write_aside(path: Path, content: str | bytes) -> str:
    """Write ``content`` to a temporary file beside ``path``; return its name (see :func:`commit`).

    Reports are for sharing (with TAs, published as feedback): 0644, not mkstemp's private 0600.
    """
    _make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o644)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write through a temporary file, renamed into place: a crash never leaves half a file (0644)."""
    os.replace(_write_aside(path, text), path)


def csv_cell(value) -> str | int | float | bool:
    """One CSV cell: a number as the grader wrote it, text neutralized so no spreadsheet runs it.

    Text whose first character (after any leading spaces) starts a formula, or that starts
    with a tab, carriage return or line feed, gets a leading apostrophe: spreadsheets show
    it as text. NUL characters, which some readers stop at, become U+FFFD. :func:`_csv`
    then quotes every text cell (quotes inside doubled, RFC 4180), so a separator inside it,
    a ``;`` for a spreadsheet in a locale that splits on it, never starts a new cell.
    Numbers (and True/False) are left unquoted: a spreadsheet reads them as numbers.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        number = float(_num(float(value)))
        return int(number) if number.is_integer() else number
    text = str(value).replace("\x00", "\ufffd")
    if text.startswith(CONTROL_START) or text.lstrip().startswith(FORMULA_START):
        return "'" + text
    return text


def _csv(rows: list[dict], columns: list[str]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items() if k in columns})
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
    if row["status"] != "ok" or row["reason"]:  # ok with a reason: faults that cost some tests
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


NUMBERS = ("score", "max_score", "points", "max_points")
FLAGS = ("hidden", "passed", "late")
LMS_COLUMNS = ["name", "late"]  # grades.csv's extra columns for a download from an LMS


def _typed(column: str, text: str):
    """A cell read back from a report this module wrote, as the value it was written from."""
    if column in NUMBERS:
        return float(text)
    if column in FLAGS and text in ("True", "False"):
        return text == "True"
    return text


def read_report(path: Path, required: list[str]) -> list[dict]:
    """The rows of a CSV report written here (values typed back), [] when there is none.

    Written back with :func:`_csv`, they give the same bytes: every cell was already neutralized
    and numbers went through ``_num``. A file without the ``required`` columns was not written by
    this grader: ValueError, rather than overwrite what someone else keeps there.
    """
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} lacks the columns {', '.join(missing)}: it was not written by this grader")
        return [{k: _typed(k, v or "") for k, v in row.items() if k is not None} for row in reader]


def _unneutralized(text):
    """The text a student wrote, from its CSV cell (the summary page shows it escaped, not with a ')."""
    if isinstance(text, str) and text.startswith("'") and csv_cell(text[1:]) == text:
        return text[1:]
    return text


def key(row: dict) -> tuple[str, str]:
    """A row's (student, chapter) as its CSV cells say them: what a new row replaces."""
    return str(csv_cell(row["student_id"])), str(csv_cell(row["chapter"]))


def merged(rows: list[dict], out: Path) -> tuple[list[dict], list[dict]]:
    """The rows and test rows of ``out`` once ``rows`` are in: theirs replace the same (student, chapter).

    Every other row already in ``out`` is kept as it was, so grading one student (or the
    late submissions) into a folder that holds a class's results adds to them.
    """
    new = {key(r) for r in rows}
    old = [r for r in read_report(out / "grades.csv", GRADE_COLUMNS) if key(r) not in new]
    old_tests = [t for t in read_report(out / "tests.csv", TEST_COLUMNS) if key(t) not in new]
    tests = [
        {"student_id": r["student_id"], "chapter": r["chapter"], "status": r["status"], **t}
        for r in rows
        for t in r["tests"]
    ]
    by_key: dict[tuple, list] = {}
    for t in old_tests:
        by_key.setdefault(key(t), []).append({k: _unneutralized(v) for k, v in t.items()})
    for r in old:
        r["tests"] = by_key.get(key(r), [])
    all_rows = sorted([*old, *rows], key=key)
    all_tests = sorted([*old_tests, *tests], key=key)  # stable: each notebook's tests stay in order
    return all_rows, all_tests


def reports(rows: list[dict], out: Path, names: dict | None = None) -> tuple[dict[Path, str | bytes], list[dict]]:
    """The files to write (path -> content) and the rows ``out`` then holds (see :func:`merged`).

    Feedback pages are written for ``rows`` only: the other students' pages stay as they are.
    ``names`` (chapter -> :func:`autograder.misconceptions.catalogue`) names the misconceptions
    of summary.html.
    """
    all_rows, all_tests = merged(rows, out)
    extra = [c for c in LMS_COLUMNS if any(c in r for r in all_rows)]
    files: dict[Path, str | bytes] = {
        out / "grades.csv": _csv(all_rows, GRADE_COLUMNS + extra),
        out / "tests.csv": _csv(all_tests, TEST_COLUMNS),
        out / "summary.html": summary_html([{**r, "reason": _unneutralized(r["reason"])} for r in all_rows], names),
    }
    for r in rows:
        files[out / "feedback" / r["student_id"] / f"{r['chapter']}.html"] = feedback_html(r)
    return files, all_rows


def commit(files: dict[Path, str | bytes]) -> None:
    """Write every file aside, then rename them all into place: all or nothing.

    A failure (or a kill) while the files are written leaves every report as it was; only
    the renames, which cannot fail halfway through a file, come after. ``grades.csv`` is
    renamed last, so whatever it lists has its feedback page and test rows.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, content in sorted(files.items(), key=lambda item: item[0].name == "grades.csv"):
            staged.append((_write_aside(path, content), path))
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)


def write_all(rows: list[dict], out: Path, names: dict | None = None) -> list[dict]:
    """grades.csv, tests.csv, summary.html and feedback/<student>/<chapter>.html under ``out``.

    Adds to what ``out`` already holds (see :func:`merged`); returns the rows it then holds.
    """
    files, all_rows = reports(rows, out, names)
    commit(files)
    return all_rows


def _most_failed(graded: list[dict], n: int) -> list[tuple[str, int]]:
    """The ``n`` tests failed by most of the notebooks graded ok: (test, how many failed it)."""
    failed = Counter(t["test"] for r in graded for t in r["tests"] if not t["passed"])
    return failed.most_common(n)


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
        failed = _most_failed(graded, 3)
        if failed:
            notes.append(f"{chapter} most failed: " + ", ".join(f"{t} ({n} of {len(graded)})" for t, n in failed))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table, strict=True)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in [header, *table]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if notes:
        notes.insert(0, "Most failed tests: (n of m) = failed by n of the m notebooks graded (status ok).")
    return "\n".join([*lines, *([""] if notes else []), *notes])


# ---------------------------------------------------------------- summary.html

BINS = 10
WIDTH, HEIGHT, PAD = 560, 200, 28


def _bins(max_score: float) -> list[tuple[int, int]]:
    """At most BINS ranges of whole points (first, last), together covering 0 to max_score."""
    top = int(max_score)
    width = max(1, -(-(top + 1) // BINS))
    return [(lo, min(lo + width - 1, top)) for lo in range(0, top + 1, width)]


def _bin_of(score: float, bins: list[tuple[int, int]]) -> int:
    """The range a score falls in (a fractional score counts with its whole part)."""
    whole = int(score // 1)
    return next((i for i, (lo, hi) in enumerate(bins) if lo <= whole <= hi), len(bins) - 1)


def _label(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}–{hi}"


def histogram_svg(mine: list[dict]) -> str:
    """The chapter's scores as an inline SVG bar chart: graded notebooks in blue, the others in grey."""
    e = html.escape
    max_score = float(mine[0]["max_score"])
    bins = _bins(max_score)
    graded, other = [0] * len(bins), [0] * len(bins)
    for r in mine:
        (graded if r["status"] == "ok" else other)[_bin_of(float(r["score"]), bins)] += 1
    tallest = max(max(g + o for g, o in zip(graded, other, strict=True)), 1)
    slot = (WIDTH - 2 * PAD) / len(bins)
    bars, labels = [], []
    for i, ((lo, hi), g, o) in enumerate(zip(bins, graded, other, strict=True)):
        x = PAD + i * slot
        label = _label(lo, hi)
        y = HEIGHT - PAD
        for count, css, what in ((g, "ok", "graded"), (o, "other", "not graded (missing, blank, ...)")):
            if not count:
                continue
            h = count / tallest * (HEIGHT - 2 * PAD)
            y -= h
            bars.append(
                f'<rect class="{css}" x="{x + 2:.1f}" y="{y:.1f}" width="{slot - 4:.1f}" height="{h:.1f}">'
                f"<title>{e(label)} points: {count} {what}</title></rect>"
            )
        if g + o:
            bars.append(f'<text x="{x + slot / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{g + o}</text>')
        labels.append(f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - PAD + 14}" text-anchor="middle">{e(label)}</text>')
    summary = ", ".join(
        f"{_label(lo, hi)}: {g + o}" for (lo, hi), g, o in zip(bins, graded, other, strict=True) if g + o
    )
    return (
        f'<svg class="histogram" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{e("students per score range, " + summary)}">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" class="axis"/>'
        + "".join(bars)
        + "".join(labels)
        + f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT - 2}" text-anchor="middle" class="caption">'
        f"score (points, out of {_num(max_score)})</text></svg>"
    )


NUMPY_HEADER = re.compile(r"^(AssertionError:\s*)?(Not equal to tolerance .*|Arrays are not equal)?\s*$")


def _gist(message: str, limit: int = 160) -> str:
    """A message in one short line: numpy's "Not equal to tolerance" header and the blank lines left out."""
    lines = [line.strip() for line in message.splitlines() if not NUMPY_HEADER.match(line)]
    text = " ".join(line for line in lines if line).removeprefix("AssertionError: ")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


NOT_WRITTEN = ("is not implemented yet", "are not implemented yet")
"""What the grader says of a function still to be written: not a misconception."""


def misconception_groups(graded: list[dict], names: dict | None = None) -> list[dict]:
    """Failures grouped by misconception, most students first.

    A group is one test and one misconception line (:func:`autograder.messages.misconception`):
    students whose messages differ only in their numbers fall in the same group. Each group has
    ``test``, ``line``, ``names`` (the chapter's mistakes that fail this way, from ``names``, the
    chapter's :func:`autograder.misconceptions.catalogue`), ``students`` (how many) and
    ``example`` (one of the messages, in one short line).
    """
    groups: dict[tuple[str, str], dict] = {}
    for r in graded:
        for t in r["tests"]:
            if t["passed"] or any(w in t["message"] for w in NOT_WRITTEN):
                continue
            line = messages.misconception(t["message"])
            group = groups.setdefault(
                (t["test"], line),
                {"test": t["test"], "line": line, "names": (names or {}).get((t["test"], line), []), "students": set()},
            )
            group["students"].add(r["student_id"])
            group.setdefault("example", _gist(t["message"]))
    found = [{**g, "students": len(g["students"])} for g in groups.values()]
    return sorted(found, key=lambda g: (-g["students"], g["test"], g["line"]))


def _misconceptions_html(graded: list[dict], names: dict | None) -> str:
    e = html.escape
    groups = misconception_groups(graded, names)
    if not groups:
        return "<p>No graded notebook failed a test with a wrong answer.</p>"
    rows = "".join(
        f"<tr><td>{', '.join(f'<code>{e(n)}</code>' for n in g['names']) or '(unnamed)'}</td>"
        f"<td><code>{e(g['test'])}</code></td><td>{g['students']}</td><td>{e(g['example']) or '(no message)'}</td></tr>"
        for g in groups[:15]
    )
    return (
        "<table><thead><tr><th>misconception</th><th>test</th><th>students</th><th>what the test said "
        f"(one student's message)</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _chapter_html(chapter: str, mine: list[dict], names: dict | None = None) -> str:
    e = html.escape
    graded = [r for r in mine if r["status"] == "ok"]
    scores = [float(r["score"]) for r in graded]
    stats = (
        f"{len(mine)} students; {len(graded)} notebooks graded: mean {statistics.mean(scores):.1f}, "
        f"median {statistics.median(scores):g}, full marks {sum(s == float(mine[0]['max_score']) for s in scores)}"
        if graded
        else f"{len(mine)} students, none graded"
    )
    failed_rows = []
    for test, n in _most_failed(graded, 5):
        info = next(t for t in graded[0]["tests"] if t["test"] == test)
        said = Counter(_gist(t["message"]) for r in graded for t in r["tests"] if t["test"] == test and not t["passed"])
        common = "".join(
            f"<li>{e(m) or '(no message)'} <span class=n>× {k}</span></li>" for m, k in said.most_common(2)
        )
        failed_rows.append(
            f"<tr><td><code>{e(test)}</code>{' (hidden)' if info['hidden'] else ''}</td>"
            f"<td>{_num(info['max_points'])}</td><td>{n} of {len(graded)}</td><td><ul>{common}</ul></td></tr>"
        )
    failed = (
        "<table><thead><tr><th>test</th><th>points</th><th>failed by</th><th>most common messages</th></tr></thead>"
        f"<tbody>{''.join(failed_rows)}</tbody></table>"
        if failed_rows
        else "<p>No graded notebook failed a test.</p>"
    )
    others = sorted((r for r in mine if r["status"] != "ok"), key=lambda r: (r["status"], r["student_id"]))
    status_rows = "".join(
        f"<tr><td>{e(r['status'])}</td><td><code>{e(r['student_id'])}</code></td><td>{e(r['reason'])}</td></tr>"
        for r in others
    )
    statuses = (
        f"<table><thead><tr><th>status</th><th>student</th><th>reason</th></tr></thead><tbody>{status_rows}</tbody></table>"
        if others
        else "<p>Every notebook was graded (status ok).</p>"
    )
    return (
        f'<section id="{e(chapter)}"><h2>{e(chapter)}</h2><p>{e(stats)}</p>'
        f"<figure>{histogram_svg(mine)}<figcaption>Students per score range: "
        '<span class="key ok"></span> graded, <span class="key other"></span> not graded (see below).'
        "</figcaption></figure>"
        f"<h3>Tests most failed</h3><p class=note>failed by <i>n</i> of <i>m</i>: of the <i>m</i> notebooks "
        f"graded (status ok), <i>n</i> failed the test.</p>{failed}"
        "<h3>Misconceptions</h3><p class=note>Failures grouped by the mistake they show: students whose "
        "messages differ only in their numbers count together. The name is the course's own for that slip "
        f"(solutions/&lt;chapter&gt;/mistakes.py), where one makes the test fail this way.</p>"
        f"{_misconceptions_html(graded, names)}"
        f"<h3>Notebooks not graded</h3>{statuses}</section>"
    )


def summary_html(rows: list[dict], names: dict | None = None) -> str:
    """One self-contained page for the whole class: per chapter a histogram, the hardest tests, the
    misconceptions with how many students show each, the statuses.

    ``names`` maps a chapter to its :func:`autograder.misconceptions.catalogue`.
    """
    chapters = sorted({r["chapter"] for r in rows})
    names = names or {}
    body = "".join(_chapter_html(c, [r for r in rows if r["chapter"] == c], names.get(c)) for c in chapters)
    students = len({r["student_id"] for r in rows})
    toc = " · ".join(f'<a href="#{html.escape(c)}">{html.escape(c)}</a>' for c in chapters)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Grading summary</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1rem; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4rem; text-align: left; vertical-align: top; }}
td ul {{ margin: 0; padding-left: 1.1rem; }} .n, .note {{ color: #555; }} .note {{ font-size: .9em; }}
svg.histogram {{ width: 100%; max-width: 560px; height: auto; font-size: 11px; }}
svg rect.ok, .key.ok {{ fill: #2b6cb0; background: #2b6cb0; }}
svg rect.other, .key.other {{ fill: #a0aec0; background: #a0aec0; }}
svg .axis {{ stroke: #444; }} svg .caption {{ fill: #444; }}
.key {{ display: inline-block; width: .8em; height: .8em; vertical-align: middle; }}
section {{ border-top: 2px solid #ddd; margin-top: 2rem; }}
</style></head><body>
<h1>Grading summary</h1>
<p>{students} students, {len(chapters)} chapters, {len(rows)} notebooks. Scores are in grades.csv, each test in
tests.csv, what each student sees in feedback/. {toc}</p>
{body}
</body></html>
"""
