"""What goes back to the LMS: its own gradebook import, filled in, and the feedback pages, named for it.

``--roster FILE`` takes the LMS's own export and ``DIR/lms/grades-import.csv`` is that file again,
byte for byte (its byte-order mark, quoting and line endings included), with only the cells that
carry this run's scores changed:

- Canvas (Grades → Export): ``Student,ID,SIS User ID,SIS Login ID,Section,<assignment> (<id>),...``,
  then a ``Points Possible`` row. The score, scaled to the assignment's Points Possible, goes
  into the assignment's column: the one named with ``--assignment``, else the one whose name
  contains the chapter's title or slug. Canvas's Test Student (the teacher's Student View,
  ``Student, Test``) is not a student: graded when it handed something in, never given a 0.
- Moodle (the assignment's "Download grading worksheet"): ``Identifier,Full name,...,Grade,
  Maximum Grade,...,Feedback comments``, ``Identifier`` being ``Participant <id>``. The score,
  scaled to Maximum Grade, goes into Grade and a line into Feedback comments; one assignment,
  so one chapter.

A student on the roster who handed nothing in scores 0 (``missing``) and gets a row in
``grades.csv`` too. ``DIR/lms/feedback.zip`` holds each feedback page named so the LMS returns it:
Canvas's "Re-upload submissions" reads the ``<name>[_late]_<user id>_<file id>_`` prefix of the
downloaded file; Moodle's "Upload multiple feedback files in a zip" reads the folder
``<Full name>_<participant id>_assignsubmission_file_``.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from autograder import lms
from autograder import notebooks as nbs
from autograder.report import csv_cell

BOM = b"\xef\xbb\xbf"
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Section", "Root Account")
TEST_STUDENT = ("student, test", "test student")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class RosterError(Exception):
    """The roster cannot be used as it is; the message says why and what to do."""


# ------------------------------------------------------------------ CSV, cell by cell, byte for byte


def split_csv(text: str) -> list[tuple[list[str], str]]:
    """Records as (raw fields, line ending): each field exactly as written, quotes included."""
    records, fields, cell = [], [], []
    quoted, i, n = False, 0, len(text)
    while i < n:
        ch = text[i]
        if quoted:
            if ch == '"' and text.startswith('""', i):
                cell.append('""')
                i += 2
                continue
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == ",":
            fields.append("".join(cell))
            cell = []
            i += 1
            continue
        elif ch in "\r\n":
            end = "\r\n" if text.startswith("\r\n", i) else ch
            fields.append("".join(cell))
            records.append((fields, end))
            fields, cell = [], []
            i += len(end)
            continue
        cell.append(ch)
        i += 1
    if cell or fields:
        fields.append("".join(cell))
        records.append((fields, ""))
    return records


def value(raw: str) -> str:
    """A raw field's text."""
    raw = raw.strip(" ")
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1].replace('""', '"')
    return raw


def field_text(text: str, like: str = "", words: bool = False) -> str:
    """``text`` as a raw field, quoted when the field it replaces was or when it must be.

    ``words``: text no spreadsheet may run as a formula (see :func:`autograder.report.csv_cell`).
    """
    if words:
        text = str(csv_cell(text))
    if like.strip(" ").startswith('"') or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def number(x: float, comma: bool = False) -> str:
    """A score as a gradebook shows it: at most two decimals, rounded half up, no trailing zeros."""
    text = str(Decimal(repr(x)).quantize(Decimal("0.01"), ROUND_HALF_UP))
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return text.replace(".", ",") if comma else text


def parse_number(text: str) -> float | None:
    text = text.strip()
    if re.fullmatch(r"[0-9]+,[0-9]+", text):
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


@dataclass
class Roster:
    """A gradebook export read for writing back: its records and where each student's cells are."""

    path: Path
    kind: str  # canvas or moodle
    bom: bool
    records: list[tuple[list[str], str]]
    header: list[str]
    students: dict[str, int]  # student id -> record index
    names: dict[str, str]
    columns: dict[str, int] = field(default_factory=dict)  # chapter -> column (Canvas)
    points: dict[str, float] = field(default_factory=dict)  # chapter -> Points Possible (Canvas)
    test_students: set[str] = field(default_factory=set)
    not_handed_in: set[str] = field(default_factory=set)

    def name(self, student: str) -> str:
        return self.names.get(student, "")

    def missing_students(self, students: list[str]) -> list[str]:
        """Roster students with no submission (the Test Student excepted): they get a `missing` row."""
        have = set(students)
        self.not_handed_in = {s for s in self.students if s not in have and s not in self.test_students}
        return sorted(self.not_handed_in, key=lambda s: self.students[s])

    def cell(self, record: int, column: int) -> str:
        fields = self.records[record][0]
        return value(fields[column]) if column < len(fields) else ""

    def set(self, record: int, column: int, text: str, words: bool = False) -> None:
        fields = self.records[record][0]
        fields.extend([""] * (column + 1 - len(fields)))
        fields[column] = field_text(text, fields[column], words)

    def text(self) -> bytes:
        body = "".join(",".join(fields) + end for fields, end in self.records)
        return (BOM if self.bom else b"") + body.encode("utf-8", "surrogateescape")


def _title(chapter: str, root: Path) -> str:
    for cell in nbs.read(nbs.source_path(chapter, root)).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return chapter


def read_roster(path: Path, chapters: list[str], root: Path, assignment: str | None = None) -> Roster:
    """Read a Canvas gradebook export or a Moodle grading worksheet and find where each chapter's score goes."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise RosterError(f"--roster {path}: cannot be read ({exc.strerror})") from exc
    bom = raw.startswith(BOM)
    records = split_csv(raw[len(BOM) if bom else 0 :].decode("utf-8", "surrogateescape"))
    if not records:
        raise RosterError(f"--roster {path} is empty")
    header = [value(f) for f in records[0][0]]
    if "Student" in header and "ID" in header:
        return _canvas(path, bom, records, header, chapters, root, assignment)
    if "Identifier" in header and "Grade" in header:
        return _moodle(path, bom, records, header, chapters, assignment)
    raise RosterError(
        f"--roster {path} is neither a Canvas gradebook export (Grades → Export: columns Student, ID, "
        'SIS User ID, ...) nor a Moodle grading worksheet (the assignment\'s "Download grading worksheet": '
        f"columns Identifier, Full name, ..., Grade, ...). Its columns: {', '.join(header[:8])}"
    )


def _canvas(path, bom, records, header, chapters, root, assignment) -> Roster:
    sid, sname = header.index("ID"), header.index("Student")
    roster = Roster(Path(path), "canvas", bom, records, header, {}, {})
    points_row = None
    for index, (fields, _) in enumerate(records[1:], 1):
        first = value(fields[0]) if fields else ""
        if first.strip() == "Points Possible":
            points_row = index
            continue
        student = value(fields[sid]) if sid < len(fields) else ""
        if re.fullmatch(r"[0-9]+", student):
            roster.students[student] = index
            roster.names[student] = value(fields[sname]) if sname < len(fields) else ""
            if roster.names[student].lower() in TEST_STUDENT:
                roster.test_students.add(student)
    assignments = []
    for column, name in enumerate(header):
        if name in CANVAS_IDENTITY:
            continue
        possible = parse_number(roster.cell(points_row, column)) if points_row else None
        if points_row is None or possible is not None:
            assignments.append((column, name, possible))
    shown = "; ".join(name for _, name, _ in assignments) or "none"
    if assignment and len(chapters) > 1:
        raise RosterError(f"--assignment names one column, and {len(chapters)} chapters are graded: name one --chapter")
    for chapter in chapters:
        if assignment:
            want = assignment.strip().lower()
            found = [a for a in assignments if want in (a[1].lower(), re.sub(r"\s*\([0-9]+\)$", "", a[1]).lower())]
            asked = f"--assignment {assignment!r}"
        else:
            words = (chapter.lower(), _title(chapter, root).lower())
            found = [a for a in assignments if any(w in a[1].lower() for w in words)]
            asked = f"a column whose name contains {_title(chapter, root)!r} or {chapter!r}"
        if len(found) != 1:
            how = "no column matches" if not found else f"{len(found)} columns match"
            raise RosterError(
                f"--roster {path}: {how} {asked}. The assignment columns: {shown}. "
                "Name the column with --assignment NAME."
            )
        column, name, possible = found[0]
        if not possible:
            raise RosterError(f"--roster {path}: the column {name!r} has no Points Possible (the export's second row)")
        roster.columns[chapter], roster.points[chapter] = column, possible
    return roster


def _moodle(path, bom, records, header, chapters, assignment) -> Roster:
    if len(chapters) != 1:
        raise RosterError(
            f"--roster {path} is a Moodle grading worksheet, which holds one assignment, and "
            f"{len(chapters)} chapters are graded ({', '.join(chapters)}): name one with --chapter"
        )
    for needed in ("Maximum Grade", "Feedback comments"):
        if needed not in header:
            raise RosterError(f"--roster {path}: a Moodle grading worksheet has a column {needed!r}; this one has not")
    roster = Roster(Path(path), "moodle", bom, records, header, {}, {})
    ident, name = header.index("Identifier"), header.index("Full name") if "Full name" in header else None
    for index, (fields, _) in enumerate(records[1:], 1):
        m = re.fullmatch(r"\D*?([0-9]+)", value(fields[ident]) if ident < len(fields) else "")
        if m:
            roster.students[m[1]] = index
            roster.names[m[1]] = value(fields[name]) if name is not None and name < len(fields) else ""
    return roster


# ------------------------------------------------------------------ writing back


def _comment(row: dict) -> str:
    score = f"{float(row['score']):g}/{float(row['max_score']):g}"
    if row["status"] == "missing":
        return f"{row['chapter']}: nothing handed in, {score}."
    said = "" if row["status"] == "ok" else f" ({row['status']})"
    return f"{row['chapter']}: {score} points{said}. Each test's result is in the feedback file."


def grades_import(roster: Roster, rows: list[dict]) -> bytes:
    """The roster again, byte for byte, with each graded student's score (and, in Moodle, a comment) in place."""
    by_key = {(str(r["student_id"]), r["chapter"]): r for r in rows}
    header = roster.header
    for student, record in roster.students.items():
        if roster.kind == "canvas":
            for chapter, column in roster.columns.items():
                row = by_key.get((student, chapter))
                if row is not None:
                    scaled = float(row["score"]) / float(row["max_score"]) * roster.points[chapter]
                    roster.set(record, column, number(scaled))
            continue
        chapter = next(iter({c for _, c in by_key} or {""}))
        row = by_key.get((student, chapter))
        if row is None:
            continue
        if "Grade can be changed" in header and roster.cell(record, header.index("Grade can be changed")) == "No":
            continue
        maximum_text = roster.cell(record, header.index("Maximum Grade"))
        maximum = parse_number(maximum_text) or 100.0
        scaled = float(row["score"]) / float(row["max_score"]) * maximum
        roster.set(record, header.index("Grade"), number(scaled, comma="," in maximum_text))
        roster.set(record, header.index("Feedback comments"), _comment(row), words=True)
    return roster.text()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip of ``members``, the same bytes every time: sorted names, fixed timestamps, 0644."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            z.writestr(info, members[name])
    return buf.getvalue()


def feedback_zip(out: Path, rows: list[dict], intake: list[dict], pages: dict[Path, str | bytes]) -> bytes | None:
    """Each student's feedback page named so the LMS returns it (only the students of a Canvas or Moodle download)."""
    members: dict[str, bytes] = {}
    for row in rows:
        student, chapter = str(row["student_id"]), row["chapter"]
        mine = [r for r in intake if r["student_id"] == student and r["download"] in lms.KINDS]
        graded = [r for r in mine if r["outcome"] == "graded" and r["chapter"] == chapter]
        entry = (graded or mine or [None])[-1]
        if entry is None:
            continue
        page_path = out / "feedback" / student / f"{chapter}.html"
        page = pages.get(page_path)
        if page is None:
            try:
                page = page_path.read_bytes()
            except OSError:
                continue
        name = f"{chapter}-feedback.html"
        if entry["download"] == "canvas":
            got = lms.canvas_name(entry["entry"].rsplit("/", 1)[-1])
            member = got["prefix"] + name if got else None
        else:
            got = lms.moodle_name(entry["entry"])
            member = f"{got['prefix']}/{name}" if got else None
        if member:
            members[member] = page.encode("utf-8") if isinstance(page, str) else page
    return zip_bytes(members) if members else None


def exports(
    out: Path, rows: list[dict], download, roster: Roster | None, pages: dict[Path, str | bytes]
) -> dict[Path, str | bytes]:
    """``lms/grades-import.csv`` (with a roster) and ``lms/feedback.zip`` (from a Canvas or Moodle download)."""
    files: dict[Path, str | bytes] = {}
    if roster is not None:
        files[out / "lms" / "grades-import.csv"] = grades_import(roster, rows)
    if download is not None and download.kind in lms.KINDS:
        intake = lms.intake_rows(download, out)
        packed = feedback_zip(out, rows, intake, pages)
        if packed:
            files[out / "lms" / "feedback.zip"] = packed
    return files
