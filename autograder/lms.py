"""What an LMS hands over, taken in: Canvas and Moodle downloads, zipped or not, and student folders.

``grade SUBMISSIONS`` reads, besides nbgrader's layout (:mod:`autograder.grade`):

- a Canvas "Download Submissions" zip, or that zip unzipped: one file per upload, named
  ``<name>[_late]_<user id>_<file id>_<file name>`` (Canvas reads the first two all-digit parts
  as the ids; the late marker is ``late`` or ``LATE``, depending on the Canvas version);
- a Moodle "Download all submissions" zip, or that zip unzipped, with a folder per student
  ``<Full name>_<participant id>_assignsubmission_file_/`` or with that as each file's prefix;
- a folder with one folder per student (its name is the student's id) holding the student's
  notebooks under any names, at any depth.

Each entry is read (within :data:`autograder.worker.MAX_BYTES`, counted while it streams, never
trusted from a zip's header) and its chapter is read from the notebook itself
(:func:`autograder.notebooks.chapter_of`), never from its name. Of several notebooks of one
chapter from one student, the one uploaded last counts (Canvas: the larger file id; Moodle and
folders: the later timestamp; then a copy's number, ``x-1.ipynb`` or ``x (1).ipynb``; then the
name) and the others are ``superseded``. The notebooks that count are then written in nbgrader's
layout into a staging folder inside the output folder, and graded exactly as nbgrader's layout
would be: every score is the one the same notebook earns there.

A download is untrusted: an entry whose path climbs out (``..``) or is absolute, a link, an
entry that inflates past the size limit, a name that is not valid UTF-8 or holds control
characters is refused, with its reason in ``intake.csv``; nothing is written outside ``--out``
and the download itself is only read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder import notebooks as nbs
from autograder import report, worker

KINDS = ("canvas", "moodle")
INTAKE_COLUMNS = ["student_id", "name", "late", "entry", "chapter", "outcome", "reason", "download"]
STAGING = ".intake"
MOODLE = re.compile(r"^(?P<name>.+)_(?P<id>[0-9]+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<rest>.*)$", re.S)
COPY = re.compile(r"(?: \((?P<paren>[0-9]+)\)|-(?P<dash>[0-9]+))$")
ODD = re.compile(r"[\x00-\x1f\x7f]")


class IntakeError(Exception):
    """SUBMISSIONS cannot be taken in as it is; the message says what was found and what is expected."""


def expected_layouts(where: str) -> str:
    return (
        "Expected one of: nbgrader's layout "
        f"{where}/<student_id>/<chapter>/<chapter>.ipynb (each needs its chapter folder there); "
        f"a folder per student, {where}/<student_id>/<any name>.ipynb; "
        'a Canvas "Download Submissions" zip (files named <name>_<user id>_<file id>_<file name>) or a Moodle '
        '"Download all submissions" zip (<Full name>_<participant id>_assignsubmission_file_...), '
        "zipped or unzipped (--lms canvas|moodle says which)."
    )


@dataclass
class Entry:
    """One entry of a download and what became of it."""

    name: str  # its path inside the download, as the LMS named it
    student: str = ""
    student_name: str = ""
    late: bool | str = ""  # Canvas's late flag; "" where the LMS does not say
    order: tuple = ()  # sorts the uploads of one student, the last one last
    prefix: str = ""  # what a feedback file's name starts with so the LMS returns it to the student
    chapter: str = ""
    outcome: str = ""
    reason: str = ""
    raw: bytes | None = field(default=None, repr=False)  # only while the entry is read and classified
    digest: str = ""  # SHA-256 of its bytes: staging reads them again and checks them against it
    source: object = field(default=None, repr=False)  # its ZipInfo, or its path in an unzipped download

    def row(self, kind: str) -> dict:
        return {
            "student_id": self.student,
            "name": self.student_name,
            "late": self.late,
            "entry": self.name,
            "chapter": self.chapter,
            "outcome": self.outcome,
            "reason": self.reason,
            "download": kind,
        }


# ------------------------------------------------------------------ names


def canvas_name(name: str) -> dict | None:
    """The parts of a Canvas download's file name: name, late, user id, file id, prefix; None if not one."""
    parts = name.split("_")
    ids = [i for i, p in enumerate(parts) if re.fullmatch(r"[0-9]+", p)][:2]
    if len(ids) < 2 or ids[0] < 1 or ids[1] != ids[0] + 1 or ids[1] + 1 >= len(parts):
        return None
    head = parts[: ids[0]]
    late = len(head) > 1 and head[-1] in ("late", "LATE")
    return {
        "name": "_".join(head[:-1] if late else head),
        "late": late,
        "student": parts[ids[0]],
        "file_id": int(parts[ids[1]]),
        "prefix": "_".join(parts[: ids[1] + 1]) + "_",
        "file": "_".join(parts[ids[1] + 1 :]),
    }


def moodle_name(name: str) -> dict | None:
    """The parts of a Moodle download's entry: name, participant id, prefix (the folder); None if not one."""
    first, sep, rest = name.partition("/")
    m = MOODLE.match(first)
    if not m:
        return None
    prefix = first[: len(first) - len(m["rest"])]
    return {"name": m["name"], "student": m["id"], "prefix": prefix, "file": rest if sep else m["rest"]}


def copy_number(file_name: str) -> int:
    """1 for ``x-1.ipynb`` or ``x (1).ipynb`` (a browser's or Canvas's second copy), 0 for ``x.ipynb``."""
    m = COPY.search(Path(file_name).stem)
    return int(m["paren"] or m["dash"]) if m else 0


def _odd_path(name: str) -> str | None:
    """Why a path inside a download is refused, or None."""
    if ODD.search(name):
        return "its name holds control characters"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "its path climbs out of the download (..)"
    return None


# ------------------------------------------------------------------ reading


class _Overlay:
    """A zip file, read as it is except for a few bytes of its central directory (see :func:`_open_zip`)."""

    def __init__(self, f, patches: dict[int, int]) -> None:
        self.f, self.patches = f, patches

    def seek(self, *args):
        return self.f.seek(*args)

    def tell(self):
        return self.f.tell()

    def seekable(self):
        return True

    def read(self, n=-1):
        start = self.f.tell()
        data = self.f.read(n)
        hits = {at - start: byte for at, byte in self.patches.items() if start <= at < start + len(data)}
        if not hits:
            return data
        data = bytearray(data)
        for at, byte in hits.items():
            data[at] = byte
        return bytes(data)

    def close(self):
        self.f.close()


def _false_utf8_flags(f) -> dict[int, int]:
    """Central-directory records marked UTF-8 whose name is not: the offset of each flag byte, bit 11 cleared.

    Python's zipfile cannot open a zip holding one such name at all; with the mark cleared, the
    name reads as bytes and the entry is refused by name like any other (zip64 archives aside).
    """
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(max(0, size - 65557))
    tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return {}
    count, length, offset = struct.unpack("<H2L", tail[at + 10 : at + 20])
    f.seek(offset)
    directory = f.read(length)
    patches, pos = {}, 0
    for _ in range(count):
        if directory[pos : pos + 4] != b"PK\x01\x02" or len(directory) < pos + 46:
            break
        flags = struct.unpack("<H", directory[pos + 8 : pos + 10])[0]
        name_len, extra_len, comment_len = struct.unpack("<3H", directory[pos + 28 : pos + 34])
        name = directory[pos + 46 : pos + 46 + name_len]
        if flags & 0x800:
            try:
                name.decode("utf-8")
            except UnicodeDecodeError:
                patches[offset + pos + 9] = (flags >> 8) & ~0x08 & 0xFF
        pos += 46 + name_len + extra_len + comment_len
    return patches


class _OwnZip(zipfile.ZipFile):
    """A ZipFile on an :class:`_Overlay`, which it closes (ZipFile leaves a file object it was given open)."""

    def close(self):
        try:
            super().close()
        finally:
            self.fp_owned.close()

    def __init__(self, overlay: _Overlay) -> None:
        self.fp_owned = overlay
        super().__init__(overlay)


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(f"{path} cannot be read as a zip ({exc}). {expected_layouts(str(path))}") from exc
    except UnicodeDecodeError:
        pass
    f = open(path, "rb")  # noqa: SIM115 - the ZipFile below owns it
    try:
        return _OwnZip(_Overlay(f, _false_utf8_flags(f)))
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:
        f.close()
        raise IntakeError(f"{path} cannot be read as a zip ({exc}). {expected_layouts(str(path))}") from exc


def _read_zip(path: Path) -> Iterator[tuple[Entry, datetime | None]]:
    """Every file entry of a zip, read within the size limit (or refused with the reason), one at a time."""
    with _open_zip(path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            entry = Entry(info.filename, source=info)
            when = datetime(*info.date_time) if info.date_time[0] >= 1980 else None
            if not info.flag_bits & 0x800:  # not marked UTF-8: the bytes as stored must be UTF-8 all the same
                try:
                    entry.name = info.orig_filename.encode("cp437").decode("utf-8")
                except UnicodeError:
                    entry.name = info.orig_filename.encode("cp437").decode("utf-8", "replace")
                    entry.outcome, entry.reason = "refused", "its name is not valid UTF-8"
                    yield entry, when
                    continue
            mode = info.external_attr >> 16
            why = _odd_path(entry.name) or ("a symbolic link" if stat.S_ISLNK(mode) else None)
            if why is None and info.flag_bits & 0x1:
                why = "encrypted"
            if why:
                entry.outcome, entry.reason = "refused", why
            else:
                entry.raw = _read_member(archive, info, entry)
            yield entry, when


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, entry: Entry) -> bytes | None:
    """An entry's bytes, counted as they inflate: past MAX_BYTES it is refused, whatever its header says."""
    limit = worker.MAX_BYTES
    try:
        with archive.open(info) as f:
            chunks, size = [], 0
            while size <= limit:
                chunk = f.read(min(1 << 20, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        entry.outcome, entry.reason = "unreadable", f"the zip entry is damaged ({exc})"
        return None
    if size > limit:
        entry.outcome = "refused"
        entry.reason = f"inflates past {limit >> 20} MB, the most a notebook may be: not read further"
        return None
    return b"".join(chunks)


def _read_folder(folder: Path) -> Iterator[tuple[Entry, datetime | None]]:
    """Every file under ``folder`` (hidden ones left out), read without following links, within the limit."""
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted([*files, *(d for d in dirs if os.path.islink(os.path.join(here, d)))]):
            if name.startswith("."):
                continue
            path = Path(here) / name
            entry = Entry(path.relative_to(folder).as_posix(), source=path)
            try:
                info = os.lstat(path)
            except OSError as exc:
                entry.outcome, entry.reason = "unreadable", f"cannot be read ({exc.strerror})"
                yield entry, None
                continue
            when = datetime.fromtimestamp(info.st_mtime)
            if stat.S_ISLNK(info.st_mode):
                entry.outcome, entry.reason = "refused", "a symbolic link"
            elif not stat.S_ISREG(info.st_mode):
                entry.outcome, entry.reason = "refused", "not a regular file"
            elif ODD.search(entry.name):
                entry.outcome, entry.reason = "refused", "its name holds control characters"
            else:
                raw = worker.read_bytes(path, folder)
                if isinstance(raw, tuple):
                    big = info.st_size > worker.MAX_BYTES
                    entry.outcome, entry.reason = ("refused" if big else raw[0]), raw[1]
                else:
                    entry.raw = raw
            yield entry, when
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(here, d))]


# ------------------------------------------------------------------ which layout


def _names(submissions: Path) -> list[str]:
    if submissions.is_file():
        try:
            with _open_zip(submissions) as z:
                return [i.filename for i in z.infolist() if not i.is_dir()]
        except IntakeError:
            return []
    return [p.name for p in submissions.iterdir() if not p.name.startswith(".")]


def _is_nbgrader(submissions: Path, root: Path) -> bool:
    known = set(nbs.chapter_slugs(root))
    return any(
        (student / slug).is_dir()
        for student in submissions.iterdir()
        if student.is_dir() and not student.name.startswith((".", "_"))
        for slug in known
    )


def layout(submissions: Path, given: str | None, root: Path) -> str:
    """``nbgrader``, ``canvas``, ``moodle`` or ``folders`` (a folder per student), told from the names inside."""
    if given:
        if not submissions.exists():
            raise IntakeError(f"{submissions} does not exist")
        return given
    if not submissions.exists():
        return "nbgrader"  # grade.plan says what is wrong
    if submissions.is_file():
        names = _names(submissions)
        if not zipfile.is_zipfile(submissions):
            raise IntakeError(f"{submissions} is a file, not a folder or a zip. {expected_layouts('SUBMISSIONS')}")
    else:
        if _is_nbgrader(submissions, root):
            return "nbgrader"
        names = _names(submissions)
    firsts = [n.split("/", 1)[0] for n in names]
    moodle = sum(bool(moodle_name(n)) for n in firsts)
    canvas = sum(bool(canvas_name(n)) for n in firsts if "/" not in n)
    if moodle and moodle >= canvas:
        return "moodle"
    if canvas:
        return "canvas"
    if submissions.is_file():
        shown = ", ".join(names[:5]) or "nothing"
        raise IntakeError(
            f"{submissions}: no entry is named as Canvas or Moodle name submissions (found {shown}). "
            + expected_layouts("SUBMISSIONS")
        )
    student_dirs = [p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    if any(f.is_file() for d in student_dirs for f in d.rglob("*") if not f.name.startswith(".")):
        return "folders"
    return "nbgrader"


# ------------------------------------------------------------------ taking it in


@dataclass
class Download:
    """A download taken in: its entries (each with its outcome) and what to grade."""

    kind: str
    entries: list[Entry]
    chapters: list[str]
    students: dict[str, dict]  # id -> {"name", "late" (of the notebooks graded)}
    source: Path  # the zip, or the folder

    def stage(self, folder: Path) -> None:
        """Write the notebooks that count in nbgrader's layout under ``folder`` (inside --out).

        Each is read from the download again (so a class's notebooks are never all held in memory)
        and must be the bytes that were classified; one that changed since is ``unreadable``.
        """
        if folder.exists():
            shutil.rmtree(folder)
        archive = _open_zip(self.source) if self.source.is_file() else None
        try:
            for entry in self.entries:
                if entry.outcome == "graded":
                    self._put(archive, entry, [entry.chapter], folder)
            # A student whose only notebooks cannot be read: the row says unreadable, as in nbgrader's layout.
            for entry in self.entries:
                if entry.outcome == "unreadable" and entry.digest and entry.student:
                    self._put(archive, entry, self.chapters, folder)
        finally:
            if archive is not None:
                archive.close()

    def _put(self, archive, entry: Entry, chapters: list[str], folder: Path) -> None:
        paths = [folder / entry.student / c / f"{c}.ipynb" for c in chapters]
        paths = [p for p in paths if not p.exists()]
        if not paths:
            return
        raw = (
            _read_member(archive, entry.source, Entry("")) if archive else worker.read_bytes(entry.source, self.source)
        )
        if not isinstance(raw, bytes) or hashlib.sha256(raw).hexdigest() != entry.digest:
            entry.outcome, entry.reason = "unreadable", "it changed while the download was being read"
            return
        for path in paths:
            report._make_dirs(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(raw)

    def why_missing(self, student: str, chapter: str) -> tuple[str, str] | None:
        """(status, reason) of a student of the download with no notebook of ``chapter`` to grade.

        ``unreadable`` when an entry was refused or unreadable (the student handed something in that could not be
        taken), else ``missing``; the reason lists what the student did hand in.
        """
        mine = [e for e in self.entries if e.student == student]
        if not mine:
            return None
        listed = "; ".join(
            f"{e.name.rsplit('/', 1)[-1]}: {e.outcome}" + (f" ({e.reason})" if e.reason else "") for e in mine[:3]
        )
        status = "unreadable" if any(e.outcome in ("refused", "unreadable") for e in mine) else "missing"
        return status, f"no notebook of {chapter} that could be graded; handed in: {listed}"

    def rows(self) -> list[dict]:
        return [e.row(self.kind) for e in self.entries]


def _identify(entry: Entry, kind: str, when: datetime | None) -> None:
    """Fill in the entry's student, name, late flag, upload order and feedback prefix from its name."""
    stamp = when.timestamp() if when else 0.0
    if kind == "canvas":
        got = canvas_name(entry.name.rsplit("/", 1)[-1])
        if got:
            entry.student, entry.student_name, entry.late = got["student"], got["name"], got["late"]
            entry.order = (got["file_id"], copy_number(got["file"]), entry.name)
            entry.prefix = got["prefix"]
    elif kind == "moodle":
        got = moodle_name(entry.name)
        if got:
            entry.student, entry.student_name = got["student"], got["name"]
            entry.order = (stamp, copy_number(got["file"]), entry.name)
            entry.prefix = got["prefix"]
    else:
        first, sep, rest = entry.name.partition("/")
        if sep and not first.startswith(("_", ".")):
            entry.student = first
            entry.order = (stamp, copy_number(rest.rsplit("/", 1)[-1]), entry.name)
    if not entry.student and not entry.outcome:
        entry.outcome = "refused"
        entry.reason = {
            "canvas": "not named as Canvas names a submission (<name>_<user id>_<file id>_<file name>)",
            "moodle": "not named as Moodle names a submission (<Full name>_<id>_assignsubmission_file_)",
            "folders": "not in a student's folder",
        }[kind]


def _classify(entry: Entry, root: Path) -> None:
    """Is the entry a notebook of this course, and of which chapter? (From its content alone.)"""
    if entry.outcome:
        return
    is_ipynb = entry.name.lower().endswith(".ipynb")
    try:
        data = json.loads(entry.raw.decode("utf-8"))
        chapter = nbs.chapter_of(data, root) if isinstance(data, dict) else None
    except (UnicodeDecodeError, ValueError, RecursionError, AttributeError, TypeError):
        data, chapter = None, None
    if chapter:
        entry.chapter, entry.outcome = chapter, "graded"
        return
    if is_ipynb and not isinstance(data, dict):
        parsed = worker.parse_submission(entry.raw)
        entry.outcome = "unreadable"
        entry.reason = parsed[1] if isinstance(parsed, tuple) else "not a notebook"
        return
    entry.outcome = "not a notebook of this course"
    suffix = Path(entry.name).suffix.lower()
    entry.reason = (
        "a notebook that holds none of this course's answer cells"
        if isinstance(data, dict) and data.get("cells") is not None
        else f"a {suffix} file, not a notebook"
        if suffix
        else "not a notebook"
    )
    entry.raw = None


def take_in(submissions: Path, kind: str, chapters: list[str] | None, root: Path) -> Download:
    """Read a download, decide what each entry is and which notebooks count; raise IntakeError when none does."""
    found = _read_zip(submissions) if submissions.is_file() else _read_folder(submissions)
    entries = []
    for entry, when in found:
        _identify(entry, kind, when)
        _classify(entry, root)
        if entry.raw is not None:
            entry.digest = hashlib.sha256(entry.raw).hexdigest()
            entry.raw = None
        entries.append(entry)
    known = nbs.chapter_slugs(root)
    unknown = [c for c in chapters or [] if c not in known]
    if unknown:
        raise IntakeError(f"unknown chapter {', '.join(unknown)}; the chapters are: {', '.join(known)}.")
    notebooks = [e for e in entries if e.outcome == "graded"]
    handed_in = [c for c in known if any(e.chapter == c for e in notebooks)]
    wanted = list(dict.fromkeys(chapters)) if chapters else handed_in
    if not any(e.chapter in wanted for e in notebooks):
        raise IntakeError(_nothing_to_grade(submissions, kind, entries, wanted, handed_in))
    for e in notebooks:
        if e.chapter not in wanted:
            e.outcome, e.reason = "not graded", f"a notebook of {e.chapter}; graded now: {', '.join(wanted)}"
    latest: dict[tuple[str, str], Entry] = {}
    for e in sorted((e for e in notebooks if e.outcome == "graded"), key=lambda e: e.order):
        latest[(e.student, e.chapter)] = e
    for e in notebooks:
        last = latest.get((e.student, e.chapter))
        if e.outcome == "graded" and last is not e:
            e.outcome, e.reason = "superseded", f"uploaded before {last.name}, which counts"
    students: dict[str, dict] = {}
    for e in sorted((e for e in entries if e.student), key=lambda e: e.order):
        info = students.setdefault(e.student, {"name": e.student_name, "late": ""})
        if e.outcome == "graded":
            info["late"] = e.late if info["late"] == "" else (info["late"] or e.late)
    return Download(kind, entries, wanted, dict(sorted(students.items())), submissions)


def _nothing_to_grade(submissions: Path, kind: str, entries: list[Entry], wanted, handed_in) -> str:
    what = {"canvas": "a Canvas download", "moodle": "a Moodle download", "folders": "a folder per student"}[kind]
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.outcome] = counts.get(e.outcome, 0) + 1
    tally = ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "no file at all"
    shown = "; ".join(f"{e.name} ({e.outcome}{': ' + e.reason if e.reason else ''})" for e in entries[:4])
    if handed_in:
        return (
            f"{submissions} ({what}) holds no notebook of {', '.join(wanted)}: its notebooks are of "
            f"{', '.join(handed_in)}. Grade those (leave out --chapter), or download the right assignment."
        )
    return (
        f"{submissions} ({what}) holds no notebook of this course: {len(entries)} entries, {tally}"
        f"{': ' + shown if shown else ''}. Nothing was graded (every student would be `missing`). "
        + expected_layouts("SUBMISSIONS")
    )


def intake_rows(download: Download, out: Path) -> list[dict]:
    """intake.csv's rows: this download's entries, and those of earlier runs for students not in it."""
    new = download.rows()
    students = {str(report.csv_cell(r["student_id"])) for r in new} | {""}
    old = [r for r in report.read_report(out / "intake.csv", INTAKE_COLUMNS) if r["student_id"] not in students]
    return sorted([*old, *new], key=lambda r: (str(r["student_id"]), str(r["entry"])))


def intake_csv(download: Download, out: Path) -> str:
    return report._csv(intake_rows(download, out), INTAKE_COLUMNS)
