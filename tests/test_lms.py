"""Grading what an LMS hands over: Canvas and Moodle downloads in, their imports and feedback out.

The bundled example (`sample_lms/`, chapter 2) is graded once per module for each LMS; the
variants (unzipped, flat, a folder per student, hostile entries, regrading) reuse those results
through the cache, so only notebooks whose bytes are new run again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import can_isolate, sandbox_flags, write_submission

from autograder import lms, lms_export, report, sample
from autograder import notebooks as nbs
from autograder.grade import LayoutError, grade

ROOT = nbs.ROOT
SAMPLE = ROOT / "sample_lms"
SLUG = sample.LMS_CHAPTER


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True)


def run(submissions: Path, out: Path, **options) -> list[dict]:
    return grade(submissions, out, jobs=2, sandbox=can_isolate(), progress=io.StringIO(), **options)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def by_student(out: Path) -> dict[str, dict]:
    return {r["student_id"]: r for r in read_csv(out / "grades.csv")}


def per_test(out: Path, student: str) -> dict[str, str]:
    return {r["test"]: r["passed"] for r in read_csv(out / "tests.csv") if r["student_id"] == student}


def seeded(out: Path, cache_from: Path) -> Path:
    """A fresh --out that already knows the results of ``cache_from`` (and nothing else)."""
    shutil.copytree(cache_from / ".cache", out / ".cache")
    return out


@pytest.fixture(scope="module")
def nbgrader_layout(tmp_path_factory):
    """The sample's three notebooks graded in nbgrader's layout: what every LMS score must equal."""
    tmp = tmp_path_factory.mktemp("nbgrader")
    for kind, raw in sample.lms_notebooks().items():
        path = tmp / "subs" / kind / SLUG / f"{SLUG}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(raw)
    run(tmp / "subs", tmp / "out")
    return tmp / "out"


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    out = tmp_path_factory.mktemp("canvas") / "out"
    zipped = SAMPLE / "canvas-submissions.zip"
    before = hashlib.sha256(zipped.read_bytes()).hexdigest()
    rows = run(zipped, out, roster=SAMPLE / "canvas-gradebook.csv")
    assert hashlib.sha256(zipped.read_bytes()).hexdigest() == before, "the download is only read"
    return out, rows


@pytest.fixture(scope="module")
def moodle(tmp_path_factory):
    out = tmp_path_factory.mktemp("moodle") / "out"
    rows = run(SAMPLE / "moodle-submissions.zip", out, roster=SAMPLE / "moodle-grading-worksheet.csv")
    return out, rows


# ------------------------------------------------------------------ the bundled example


def test_the_bundled_downloads_are_a_fresh_generation(tmp_path):
    sample.build_lms(tmp_path / "a")
    sample.build_lms(tmp_path / "b")
    names = sorted(p.name for p in SAMPLE.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "a").iterdir())
    for name in names:
        fresh = (tmp_path / "a" / name).read_bytes()
        assert fresh == (tmp_path / "b" / name).read_bytes(), f"{name} is not reproducible"
        assert (SAMPLE / name).read_bytes() == fresh, (
            f"sample_lms/{name} is stale: run `python -m autograder sample-class`"
        )


# ------------------------------------------------------------------ Canvas


def test_canvas_scores_equal_nbgrader_layout(canvas, nbgrader_layout):
    out, _ = canvas
    got, ref = by_student(out), by_student(nbgrader_layout)
    expected = {"101": "right", "102": "wrong", "103": "right", "104": "wrong"}
    for student, kind in expected.items():
        assert (got[student]["score"], got[student]["status"]) == (ref[kind]["score"], ref[kind]["status"])
        assert per_test(out, student) == per_test(nbgrader_layout, kind)
    assert float(ref["wrong"]["score"]) < float(ref["right"]["score"]) == float(ref["right"]["max_score"]), (
        "the wrong answer loses points, the right one keeps them all"
    )


def test_canvas_late_flag_names_resubmissions_and_renamed_files(canvas):
    out, _ = canvas
    rows = by_student(out)
    assert rows["102"]["late"] == "True" and rows["101"]["late"] == "False"
    assert rows["101"]["name"] == "Lovelace, Ada", "the roster's name"
    assert rows["103"]["status"] == "ok", "cleo's resubmission (-1) counts, not her first, blank upload"
    assert rows["104"]["status"] == "ok", "a file renamed `02_momentum (1).ipynb` is graded"
    intake = {r["entry"]: r for r in read_csv(out / "intake.csv")}
    assert intake["clarkcleo_103_5002_02_momentum.ipynb"]["outcome"] == "superseded"
    assert "clarkcleo_103_5009_02_momentum-1.ipynb" in intake["clarkcleo_103_5002_02_momentum.ipynb"]["reason"]
    assert intake["davisdev_104_5004_notes.pdf"]["outcome"] == "not a notebook of this course"
    assert len(intake) == len(sample.canvas_members()), "every entry of the download is accounted for"


def test_canvas_roster_student_with_nothing_scores_0_and_test_student_is_left_alone(canvas):
    out, _ = canvas
    rows = by_student(out)
    assert (rows["105"]["score"], rows["105"]["status"]) == ("0", "missing")
    assert "106" not in rows, "Canvas's Test Student (the teacher's Student View) is not a student of the class"


def _records(raw: bytes) -> list[tuple[list[str], str]]:
    return lms_export.split_csv(raw.removeprefix(lms_export.BOM).decode("utf-8"))


def test_canvas_import_keeps_every_other_byte(canvas):
    out, _ = canvas
    exported = (SAMPLE / "canvas-gradebook.csv").read_bytes()
    imported = (out / "lms" / "grades-import.csv").read_bytes()
    assert imported.startswith(lms_export.BOM) and imported.count(b"\r\n") == exported.count(b"\r\n")
    before, after = _records(exported), _records(imported)
    assert len(before) == len(after)
    column = [lms_export.value(f) for f in before[0][0]].index("Chapter 2: Momentum (3102)")
    assert after[0] == before[0] and after[1] == before[1], "the header and the Points Possible row as exported"
    written = {}
    for (old, end_old), (new, end_new) in zip(before[2:], after[2:], strict=True):
        assert end_old == end_new and len(old) == len(new)
        assert [c for i, c in enumerate(new) if i != column] == [c for i, c in enumerate(old) if i != column]
        written[lms_export.value(new[1])] = new[column]
    # 10 points possible: 16/16 -> 10, 9/16 -> 5.625 -> 5.63; eli handed nothing in; the Test Student untouched
    assert written == {"101": "10", "102": "5.63", "103": "10", "104": "5.63", "105": "0", "106": ""}


def test_canvas_feedback_zip_names_each_page_for_its_student(canvas):
    out, _ = canvas
    with zipfile.ZipFile(out / "lms" / "feedback.zip") as z:
        names = sorted(z.namelist())
        page = z.read("bakerben_late_102_5007_02_momentum-feedback.html")
    assert names == [
        "bakerben_late_102_5007_02_momentum-feedback.html",
        "clarkcleo_103_5009_02_momentum-feedback.html",
        "davisdev_104_5003_02_momentum-feedback.html",
        "lovelaceada_101_5001_02_momentum-feedback.html",
    ]
    assert page == (out / "feedback" / "102" / f"{SLUG}.html").read_bytes()


# ------------------------------------------------------------------ Moodle


def test_moodle_scores_equal_nbgrader_layout(moodle, nbgrader_layout):
    out, _ = moodle
    got, ref = by_student(out), by_student(nbgrader_layout)
    for student, kind in {"201": "right", "202": "wrong", "203": "right", "204": "wrong"}.items():
        assert (got[student]["score"], got[student]["status"]) == (ref[kind]["score"], ref[kind]["status"])
        assert per_test(out, student) == per_test(nbgrader_layout, kind)
    assert (got["205"]["status"], got["205"]["score"], got["205"]["name"]) == ("missing", "0", "Eli Evans")
    intake = {r["entry"].split("/")[-1] + r["student_id"]: r["outcome"] for r in read_csv(out / "intake.csv")}
    assert intake["02_momentum.ipynb203"] == "superseded" and intake["02_momentum (1).ipynb203"] == "graded"
    assert intake["momentum homework.ipynb202"] == "graded", "a renamed notebook is known by its content"


def test_moodle_worksheet_gets_grade_and_feedback_and_keeps_the_rest(moodle):
    out, _ = moodle
    before = _records((SAMPLE / "moodle-grading-worksheet.csv").read_bytes())
    after = _records((out / "lms" / "grades-import.csv").read_bytes())
    header = [lms_export.value(f) for f in before[0][0]]
    grade_col, comment_col = header.index("Grade"), header.index("Feedback comments")
    assert after[0] == before[0]
    grades = {}
    for (old, end_old), (new, end_new) in zip(before[1:], after[1:], strict=True):
        assert end_old == end_new
        assert [c for i, c in enumerate(new) if i not in (grade_col, comment_col)] == [
            c for i, c in enumerate(old) if i not in (grade_col, comment_col)
        ]
        grades[lms_export.value(new[0])] = (new[grade_col], lms_export.value(new[comment_col]))
    assert grades["Participant 201"][0] == "100" and grades["Participant 202"][0] == "56.25"
    assert grades["Participant 205"] == ("0", f"{SLUG}: nothing handed in, 0/16.")
    assert "9/16" in grades["Participant 202"][1]
    with zipfile.ZipFile(out / "lms" / "feedback.zip") as z:
        assert "Ben Baker_202_assignsubmission_file_/02_momentum-feedback.html" in z.namelist()


# ------------------------------------------------------------------ the same downloads, unzipped or laid out otherwise


def _unzip(zipped: Path, folder: Path) -> Path:
    """Unzip as an unzip tool does: each file with the entry's timestamp."""
    with zipfile.ZipFile(zipped) as z:
        for info in z.infolist():
            path = folder / info.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(z.read(info))
            stamp = time.mktime((*info.date_time, 0, 0, -1))
            os.utime(path, (stamp, stamp))
    return folder


def _same_grades(a: Path, b: Path) -> None:
    assert (a / "grades.csv").read_bytes() == (b / "grades.csv").read_bytes()
    assert (a / "tests.csv").read_bytes() == (b / "tests.csv").read_bytes()


@pytest.mark.parametrize("lms_name", ["canvas", "moodle"])
def test_an_unzipped_download_grades_the_same(lms_name, canvas, moodle, tmp_path):
    graded = {"canvas": canvas, "moodle": moodle}[lms_name][0]
    roster = {"canvas": "canvas-gradebook.csv", "moodle": "moodle-grading-worksheet.csv"}[lms_name]
    folder = _unzip(SAMPLE / f"{lms_name}-submissions.zip", tmp_path / "download")
    out = seeded(tmp_path / "out", graded)
    run(folder, out, roster=SAMPLE / roster)
    _same_grades(out, graded)
    assert (out / "lms" / "grades-import.csv").read_bytes() == (graded / "lms" / "grades-import.csv").read_bytes()


def test_moodle_without_a_folder_per_student(moodle, tmp_path):
    graded, _ = moodle
    flat = [(name.replace("_/", "_"), when, data) for name, when, data in sample.moodle_members()]
    zipped = tmp_path / "flat.zip"
    zipped.write_bytes(sample._zip(flat))
    out = seeded(tmp_path / "out", graded)
    run(zipped, out, roster=SAMPLE / "moodle-grading-worksheet.csv")
    _same_grades(out, graded)
    with zipfile.ZipFile(out / "lms" / "feedback.zip") as z:
        assert "Cleo Clark_203_assignsubmission_file_/02_momentum-feedback.html" in z.namelist()


def test_a_folder_per_student_with_any_names(nbgrader_layout, tmp_path):
    nb = sample.lms_notebooks()
    subs = tmp_path / "subs"
    for student, name, kind in [("ana", "homework.ipynb", "right"), ("bo", "Untitled (2).ipynb", "wrong")]:
        (subs / student).mkdir(parents=True)
        (subs / student / name).write_bytes(nb[kind])
    (subs / "bo" / "old").mkdir()
    (subs / "bo" / "old" / "02_momentum.ipynb").write_bytes(nb["blank"])
    os.utime(subs / "bo" / "old" / "02_momentum.ipynb", (1, 1))  # uploaded long before
    (subs / "cy").mkdir()
    (subs / "cy" / "mine.ipynb").write_bytes(nb["right"][: len(nb["right"]) // 2])  # damaged, as dev's in sample_class
    (subs / "ana" / "answers.ipynb").symlink_to(nbs.source_path(SLUG))  # followed, it would hand in the solutions
    (subs / "bo" / "linked").symlink_to(nbs.source_path(SLUG).parent, target_is_directory=True)
    out = seeded(tmp_path / "out", nbgrader_layout)
    run(subs, out)
    rows, ref = by_student(out), by_student(nbgrader_layout)
    assert rows["ana"]["score"] == ref["right"]["score"] and rows["bo"]["score"] == ref["wrong"]["score"]
    assert (rows["cy"]["status"], rows["cy"]["score"]) == ("unreadable", "0") and "not valid JSON" in rows["cy"][
        "reason"
    ]
    outcomes = {r["entry"]: r["outcome"] for r in read_csv(out / "intake.csv")}
    assert outcomes == {
        "ana/answers.ipynb": "refused",
        "ana/homework.ipynb": "graded",
        "bo/linked": "refused",
        "bo/Untitled (2).ipynb": "graded",
        "bo/old/02_momentum.ipynb": "superseded",
        "cy/mine.ipynb": "unreadable",
    }


# ------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("doejane_101_5001_02_momentum.ipynb", ("doejane", False, "101", 5001, "02_momentum.ipynb")),
        ("doejane_late_101_5001_x.ipynb", ("doejane", True, "101", 5001, "x.ipynb")),
        ("doejane_LATE_101_5001_x_2_3.ipynb", ("doejane", True, "101", 5001, "x_2_3.ipynb")),
        ("doe_jane_101_5001_x.ipynb", ("doe_jane", False, "101", 5001, "x.ipynb")),
        ("02_momentum.ipynb", None),
        ("jane_101_x.ipynb", None),
    ],
)
def test_canvas_file_names(name, expected):
    got = lms.canvas_name(name)
    assert ((got and (got["name"], got["late"], got["student"], got["file_id"], got["file"])) or None) == expected


def test_copy_numbers():
    assert [lms.copy_number(n) for n in ("a.ipynb", "a-1.ipynb", "a (2).ipynb", "a-copy.ipynb")] == [0, 1, 2, 0]


# ------------------------------------------------------------------ hostile downloads


def _raw_zip(entries: list[dict]) -> bytes:
    """A zip written by hand, so that it can lie: names as bytes, any flags, sizes and file modes."""
    local, central, offset = b"", b"", 0
    for e in entries:
        name, data = e["name"], e["data"]
        flags, method, crc, size = e.get("flags", 0), e.get("method", 0), e["crc"], e["size"]
        head = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(data), size, len(name), 0)
        central += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            0x031E,
            20,
            flags,
            method,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(name),
            0,
            0,
            0,
            0,
            e.get("mode", 0o100644) << 16,
            offset,
        )
        central += name
        local += head + name + data
        offset += len(head) + len(name) + len(data)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), offset, 0)
    return local + central + end


def _stored(name: bytes, data: bytes, **extra) -> dict:
    return {"name": name, "data": data, "crc": zlib.crc32(data), "size": len(data), **extra}


def _bomb(name: bytes) -> dict:
    """1 GiB of zeros, deflated to about 1 MB: one compressed MiB, repeated (a full flush makes blocks independent)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    mib = b"\0" * (1 << 20)
    block = z.compress(mib) + z.flush(zlib.Z_FULL_FLUSH)
    assert z.compress(mib) + z.flush(zlib.Z_FULL_FLUSH) == block
    data = block * 1024 + z.flush()
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(mib, crc)
    return {"name": name, "data": data, "crc": crc, "size": 1 << 30, "method": 8}


def test_hostile_entries_are_refused_and_the_rest_graded(canvas, tmp_path):
    graded, _ = canvas
    right = sample.lms_notebooks()["right"]
    entries = [
        _stored(b"goodgus_301_6001_02_momentum.ipynb", right),
        _stored(b"../climbgus_302_6002_02_momentum.ipynb", right),
        _stored(b"/abs/absgus_303_6003_02_momentum.ipynb", right),
        _stored(b"linkgus_304_6004_02_momentum.ipynb", b"/etc/passwd", mode=stat.S_IFLNK | 0o777),
        _bomb(b"bombgus_305_6005_02_momentum.ipynb"),
        _stored(b"bad\xffgus_306_6006_02_momentum.ipynb", right),  # not marked UTF-8, and not UTF-8
        _stored(b"ctrl\ngus_307_6007_02_momentum.ipynb", right),
        _stored(b"flag\xfegus_308_6008_02_momentum.ipynb", right, flags=0x800),  # marked UTF-8, and not UTF-8
    ]
    zipped = tmp_path / "download" / "submissions.zip"
    zipped.parent.mkdir()
    zipped.write_bytes(_raw_zip(entries))
    before = hashlib.sha256(zipped.read_bytes()).hexdigest()
    with pytest.raises(UnicodeDecodeError):  # what Python's zipfile makes of one false UTF-8 mark: nothing
        zipfile.ZipFile(zipped)
    with lms._open_zip(zipped) as z:
        assert z.getinfo("bombgus_305_6005_02_momentum.ipynb").file_size == 1 << 30
    out = seeded(tmp_path / "work" / "out", graded)
    run(zipped, out, lms_kind="canvas")
    assert hashlib.sha256(zipped.read_bytes()).hexdigest() == before
    intake = read_csv(out / "intake.csv")
    said = {r["entry"][:8]: (r["outcome"], r["reason"]) for r in intake}
    assert said["goodgus_"] == ("graded", "")
    assert said["../climb"] == ("refused", "its path climbs out of the download (..)")
    assert said["/abs/abs"] == ("refused", "an absolute path")
    assert said["linkgus_"] == ("refused", "a symbolic link")
    assert said["bombgus_"][0] == "refused" and "inflates past 20 MB" in said["bombgus_"][1]
    assert said["bad\ufffdgus_"] == ("refused", "its name is not valid UTF-8")
    assert said["ctrl\ngus"] == ("refused", "its name holds control characters")
    assert said["flag\ufffdgus"] == ("refused", "its name is not valid UTF-8")
    assert len(intake) == len(entries)
    rows = by_student(out)
    assert (rows["301"]["score"], rows["301"]["status"]) == ("16", "ok")
    assert {s: (r["status"], r["score"]) for s, r in rows.items() if s != "301"} == {
        s: ("unreadable", "0") for s in ("302", "303", "304", "305", "306", "307", "308")
    }, "a student whose upload was refused has a row that says so"
    assert "inflates past 20 MB" in rows["305"]["reason"]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    outside = [p for p in written if out not in p.parents and p != zipped]
    assert outside == [], "nothing is written outside --out"
    assert max(p.stat().st_size for p in written if p != zipped) < 1 << 20, "the 1 GiB entry never reaches the disk"
    assert not (out / lms.STAGING).exists(), "the staging folder is gone once graded"


# ------------------------------------------------------------------ near misses: never a class of `missing`


def refusal(submissions: Path, out: Path, **options) -> str:
    """What grade says when it will not grade (in-process: each CLI start costs seconds; one test uses the CLI)."""
    with pytest.raises(LayoutError) as caught:
        grade(submissions, out, progress=io.StringIO(), **options)
    assert not out.exists(), "nothing written"
    return str(caught.value)


def test_a_chapter_nobody_handed_in_is_an_error_not_a_class_of_missing(tmp_path):
    said = refusal(SAMPLE / "moodle-submissions.zip", tmp_path / "out", chapters=["03_adaptive_rates"])
    assert "holds no notebook of 03_adaptive_rates" in said and "its notebooks are of 02_momentum" in said


def test_a_download_with_no_course_notebook_says_what_it_found(tmp_path):
    subs = tmp_path / "subs"
    (subs / "ana").mkdir(parents=True)
    (subs / "ana" / "essay.pdf").write_bytes(sample.PDF)
    (subs / "ana" / "other.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    said = refusal(subs, tmp_path / "out")
    for words in ("holds no notebook of this course", "essay.pdf", "a .pdf file", "Canvas", "Moodle", "--lms"):
        assert words in said


def test_nbgrader_layout_with_files_in_the_wrong_place_is_an_error(tmp_path):
    subs = tmp_path / "subs"
    (subs / "ana" / SLUG).mkdir(parents=True)
    (subs / "ana" / SLUG / "02_momentum (1).ipynb").write_text("{}")
    said = refusal(subs, tmp_path / "out", chapters=[SLUG])
    assert "02_momentum (1).ipynb" in said and "every student would be" in said


def test_a_zip_of_something_else_is_refused(tmp_path):
    zipped = tmp_path / "photos.zip"
    zipped.write_bytes(sample._zip([("holiday.jpg", lms_export.ZIP_TIME, b"\xff\xd8")]))
    said = refusal(zipped, tmp_path / "out")
    assert "holiday.jpg" in said and "Canvas" in said


# ------------------------------------------------------------------ rosters


CANVAS_HEAD = "Student,ID,SIS User ID,SIS Login ID,Section,{}\n    Points Possible,,,,,{}\n"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ("Chapter 1 (1),Essay (2)", "no column matches"),
        ("Momentum part 1 (1),Momentum part 2 (2)", "2 columns match"),
    ],
)
def test_a_canvas_roster_without_one_column_for_the_chapter_lists_the_columns(tmp_path, columns, message):
    roster = tmp_path / "grades.csv"
    roster.write_text(CANVAS_HEAD.format(columns, "10,10") + '"Doe, Jane",101,,,A,,\n')
    with pytest.raises(lms_export.RosterError) as caught:
        lms_export.read_roster(roster, [SLUG], ROOT)
    assert message in str(caught.value) and columns.split(",")[1] in str(caught.value)
    assert "--assignment" in str(caught.value)
    chosen = lms_export.read_roster(roster, [SLUG], ROOT, assignment=columns.split(",")[1].rsplit(" (", 1)[0])
    assert chosen.columns == {SLUG: 6}


def test_the_test_student_is_graded_when_it_handed_something_in(tmp_path):
    roster = tmp_path / "grades.csv"
    roster.write_text(CANVAS_HEAD.format("Momentum (1)", "10") + '"Student, Test",106,,,A,\n"Doe, Jane",101,,,A,\n')
    book = lms_export.read_roster(roster, [SLUG], ROOT)
    assert book.missing_students([]) == ["101"], "the Test Student is not given a 0"
    assert book.missing_students(["106"]) == ["101"]
    rows = [{"student_id": "106", "chapter": SLUG, "score": 8.0, "max_score": 16.0, "status": "ok"}]
    assert lms_export.grades_import(book, rows).decode().splitlines()[2] == '"Student, Test",106,,,A,5'


# ------------------------------------------------------------------ regrading: adding to what --out holds


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_regrading_one_student_keeps_every_other(canvas, tmp_path):
    graded, _ = canvas
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    before = _snapshot(out)
    wrong = sample.lms_notebooks()["wrong"]
    zipped = tmp_path / "late.zip"
    zipped.write_bytes(sample._zip([("clarkcleo_103_5020_02_momentum-2.ipynb", lms_export.ZIP_TIME, wrong)]))
    rows = run(zipped, out, roster=SAMPLE / "canvas-gradebook.csv")
    assert [(r["student_id"], r["score"]) for r in rows] == [("103", 9.0)], "only cleo is graded now"
    after = _snapshot(out)
    old_grades = (before["grades.csv"]).decode().splitlines()
    new_grades = after["grades.csv"].decode().splitlines()
    assert len(new_grades) == len(old_grades) == 6
    changed = [(a, b) for a, b in zip(old_grades, new_grades, strict=True) if a != b]
    assert [b.split(",")[:3] for _, b in changed] == [['"103"', '"02_momentum"', "9"]]
    others = [r for r in read_csv(out / "tests.csv") if r["student_id"] != "103"]
    with open(graded / "tests.csv", newline="", encoding="utf-8") as f:
        assert others == [r for r in csv.DictReader(f) if r["student_id"] != "103"]
    assert after["tests.csv"].count(b'"103",') == before["tests.csv"].count(b'"103",')
    for student in ("101", "102", "104", "105"):
        page = f"feedback/{student}/{SLUG}.html"
        assert after[page] == before[page]
    assert after[f"feedback/103/{SLUG}.html"] != before[f"feedback/103/{SLUG}.html"]
    assert "5.63" in after["lms/grades-import.csv"].decode().splitlines()[4], "cleo's new score goes back"
    with zipfile.ZipFile(out / "lms" / "feedback.zip") as z:
        assert "clarkcleo_103_5020_02_momentum-feedback.html" in z.namelist()
        assert "lovelaceada_101_5001_02_momentum-feedback.html" in z.namelist(), "the others' pages stay in the zip"


def test_a_failure_while_writing_leaves_the_previous_results_whole(canvas, tmp_path, monkeypatch):
    graded, _ = canvas
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    before = _snapshot(out)
    real, calls = report._write_aside, []

    def failing(path, content):
        calls.append(path)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        return real(path, content)

    monkeypatch.setattr(report, "_write_aside", failing)
    with pytest.raises(OSError):
        run(SAMPLE / "canvas-submissions.zip", out, roster=SAMPLE / "canvas-gradebook.csv")
    assert len(calls) == 4
    assert _snapshot(out) == before, "every report as it was, and no temporary file left"


def test_a_run_killed_midway_leaves_the_previous_results_whole(canvas, tmp_path):
    graded, _ = canvas
    out = tmp_path / "out"
    shutil.copytree(graded, out)
    shutil.rmtree(out / ".cache")  # so that the run has notebooks to grade
    before = {k: v for k, v in _snapshot(out).items()}
    args = ["grade", str(SAMPLE / "canvas-submissions.zip"), "--out", str(out), "--jobs", "1", *sandbox_flags()]
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        line = b""
        while not re.search(rb"\] 1/4 ", line):  # the first notebook is graded: the run is midway
            line = proc.stderr.readline()
            assert line, "the run ended before its first notebook"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    after = _snapshot(out)
    assert {k: v for k, v in after.items() if not k.startswith((".cache/", lms.STAGING))} == before


# ------------------------------------------------------------------ the cache


def test_a_notebook_graded_before_is_not_run_again(tmp_path, monkeypatch):
    from autograder import grade as grade_module

    subs, out = tmp_path / "subs", tmp_path / "out"
    nb = nbs.read(nbs.release_path(SLUG))
    answers = nbs.reference_answers(nbs.read(nbs.source_path(SLUG)))
    write_submission(subs, "ana", SLUG, nbs.fill_answers(nb, answers))
    ran = []
    real = grade_module.run_job
    monkeypatch.setattr(grade_module, "run_job", lambda job, *a: ran.append(job.student) or real(job, *a))
    first = run(subs, out)
    again = run(subs, out)
    assert ran == ["ana"] and first == again, "the same bytes, release and grader: taken from the cache"
    path = subs / "ana" / SLUG / f"{SLUG}.ipynb"
    path.write_bytes(path.read_bytes().replace(b"v_new = alpha * v - lr * g", b"v_new = alpha * v + lr * g"))
    changed = run(subs, out)
    assert ran == ["ana", "ana"], "changed bytes run again"
    assert changed[0]["score"] < first[0]["score"], "and the wrong answer loses its points"
    assert run(subs, out, cell_timeout=30) and ran == ["ana", "ana", "ana"], "other limits run again"


# ------------------------------------------------------------------ the command line


def test_grade_help_names_the_lms_downloads():
    done = cli("grade", "--help")
    for words in ("Canvas", "Moodle", "--roster", "--lms", "intake.csv", "grades-import.csv", "feedback.zip"):
        assert words in done.stdout


def test_layout_errors_are_layout_errors(tmp_path):
    with pytest.raises(LayoutError, match="not a folder or a zip"):
        grade(SAMPLE / "canvas-gradebook.csv", tmp_path / "out", progress=io.StringIO())


def test_a_roster_from_another_lms_is_refused_before_anyone_gets_a_0(tmp_path):
    done = cli(
        "grade",
        str(SAMPLE / "canvas-submissions.zip"),
        "--roster",
        str(SAMPLE / "moodle-grading-worksheet.csv"),
        "--out",
        str(tmp_path / "out"),
    )
    assert done.returncode == 2 and "share no student id" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_moodle_worksheet_keeps_a_locked_grade_and_its_decimal_comma(tmp_path):
    head = "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,Feedback comments\r\n"
    rows = 'Participant 7,"Ng, Al",a@x,Submitted,,"10,00",Yes,\r\nParticipant 8,Bo,b@x,Submitted,4,"10,00",No,old\r\n'
    sheet = tmp_path / "worksheet.csv"
    sheet.write_bytes(head.encode() + rows.encode())
    book = lms_export.read_roster(sheet, [SLUG], ROOT)
    graded = [{"student_id": s, "chapter": SLUG, "score": 9.0, "max_score": 16.0, "status": "ok"} for s in ("7", "8")]
    lines = lms_export.grades_import(book, graded).decode().split("\r\n")
    comment = "02_momentum: 9/16 points. Each test's result is in the feedback file."
    assert lines[1] == f'Participant 7,"Ng, Al",a@x,Submitted,"5,63","10,00",Yes,{comment}', "quoted only where needed"
    assert lines[2] == 'Participant 8,Bo,b@x,Submitted,4,"10,00",No,old', (
        "a grade Moodle will not change is left as it is"
    )


def test_a_moodle_roster_grades_one_chapter(tmp_path):
    sheet = tmp_path / "worksheet.csv"
    sheet.write_bytes((SAMPLE / "moodle-grading-worksheet.csv").read_bytes())
    with pytest.raises(lms_export.RosterError, match="one assignment"):
        lms_export.read_roster(sheet, [SLUG, "03_adaptive_rates"], ROOT)


def test_split_csv_keeps_every_byte():
    text = 'a,"b, ""c""",\r\n"multi\nline",x\n\nlast'
    records = lms_export.split_csv(text)
    assert "".join(",".join(fields) + end for fields, end in records) == text
    assert [lms_export.value(f) for f in records[0][0]] == ["a", 'b, "c"', ""]
    assert lms_export.value(records[1][0][0]) == "multi\nline"
