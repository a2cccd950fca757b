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


# ------------------------------------------------------------------ the same class, as an LMS hands it over

LMS_CHAPTER = "02_momentum"
CANVAS_ROSTER = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Chapter 1: Challenges in optimization (3101),"
    "Chapter 2: Momentum (3102),Assignments Current Score,Assignments Unposted Current Score,"
    "Current Score,Unposted Current Score\r\n"
    "    Points Possible,,,,,20.00,10.00,(read only),(read only),(read only),(read only)\r\n"
    '"Lovelace, Ada",101,s101,ada@example.edu,Section A,18.00,,90.00,90.00,90.00,90.00\r\n'
    '"Baker, Ben",102,s102,ben@example.edu,Section A,15.50,,77.50,77.50,77.50,77.50\r\n'
    '"Clark, Cleo",103,s103,cleo@example.edu,Section B,0.00,,0.00,0.00,0.00,0.00\r\n'
    '"Davis, Dev",104,s104,dev@example.edu,Section B,12.00,,60.00,60.00,60.00,60.00\r\n'
    '"Evans, Eli",105,s105,eli@example.edu,Section B,,,,,,\r\n'
    '"Student, Test",106,,,Section A,,,,,,\r\n'
)
MOODLE_ROSTER = (
    "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
    "Last modified (submission),Last modified (grade),Feedback comments\n"
    "Participant 201,Ada Lovelace,ada@example.edu,Submitted for grading,,100.00,Yes,"
    '"Thursday, 1 October 2026, 10:00 AM",-,\n'
    "Participant 202,Ben Baker,ben@example.edu,Submitted for grading,,100.00,Yes,"
    '"Saturday, 3 October 2026, 11:30 PM",-,\n'
    "Participant 203,Cleo Clark,cleo@example.edu,Submitted for grading,,100.00,Yes,"
    '"Friday, 2 October 2026, 9:00 AM",-,\n'
    "Participant 204,Dev Davis,dev@example.edu,Submitted for grading,,100.00,Yes,"
    '"Thursday, 1 October 2026, 4:15 PM",-,\n'
    "Participant 205,Eli Evans,eli@example.edu,No submission,,100.00,Yes,-,-,\n"
)


def lms_notebooks(root: Path = nbs.ROOT) -> dict[str, bytes]:
    """The sample class's chapter-2 notebooks, as bytes: right (ada), one mistake (ben), blank (cleo)."""
    release_nb = nbs.read(nbs.release_path(LMS_CHAPTER, root))
    answers = nbs.reference_answers(nbs.read(nbs.source_path(LMS_CHAPTER, root)))
    wrong = dict(answers)
    first = next(iter(mistakes(LMS_CHAPTER, root).values()))
    wrong[first["function"]] = first["source"].strip("\n")
    return {
        "right": nbs.dumps(nbs.fill_answers(release_nb, answers)).encode(),
        "wrong": nbs.dumps(nbs.fill_answers(release_nb, wrong)).encode(),
        "blank": nbs.dumps(release_nb).encode(),
    }


PDF = b"%PDF-1.4\n% notes a student uploaded beside the notebook\n%%EOF\n"


def _zip(members: list[tuple[str, tuple, bytes]]) -> bytes:
    """A zip, the same bytes every time: entries sorted by name, their timestamps as given, 0644."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, when, data in sorted(members):
            info = zipfile.ZipInfo(name, date_time=when)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            z.writestr(info, data)
    return buf.getvalue()


def canvas_members(root: Path = nbs.ROOT) -> list[tuple[str, tuple, bytes]]:
    """Canvas's "Download Submissions" of chapter 2: ``<name>[_late]_<user id>_<file id>_<file name>``."""
    nb = lms_notebooks(root)
    when = (2026, 10, 5, 12, 0, 0)  # Canvas stamps every entry with the time of the download
    return [
        ("lovelaceada_101_5001_02_momentum.ipynb", when, nb["right"]),
        ("bakerben_late_102_5007_02_momentum.ipynb", when, nb["wrong"]),  # handed in after the due date
        ("clarkcleo_103_5002_02_momentum.ipynb", when, nb["blank"]),  # first upload: the blank release
        ("clarkcleo_103_5009_02_momentum-1.ipynb", when, nb["right"]),  # resubmitted: Canvas renames it -1
        ("davisdev_104_5003_02_momentum (1).ipynb", when, nb["wrong"]),  # the browser's second download
        ("davisdev_104_5004_notes.pdf", when, PDF),
    ]


def moodle_members(root: Path = nbs.ROOT) -> list[tuple[str, tuple, bytes]]:
    """Moodle's "Download all submissions" of chapter 2, a folder per student; entries carry upload times."""
    nb = lms_notebooks(root)
    folder = "{}_{}_assignsubmission_file_/{}".format
    return [
        (folder("Ada Lovelace", 201, "02_momentum.ipynb"), (2026, 10, 1, 10, 0, 0), nb["right"]),
        (folder("Ben Baker", 202, "momentum homework.ipynb"), (2026, 10, 3, 23, 30, 0), nb["wrong"]),  # renamed
        (folder("Cleo Clark", 203, "02_momentum.ipynb"), (2026, 9, 30, 18, 0, 0), nb["blank"]),  # superseded
        (folder("Cleo Clark", 203, "02_momentum (1).ipynb"), (2026, 10, 2, 9, 0, 0), nb["right"]),
        (folder("Dev Davis", 204, "02_momentum.ipynb"), (2026, 10, 1, 16, 15, 0), nb["wrong"]),
        (folder("Dev Davis", 204, "notes.pdf"), (2026, 10, 1, 16, 14, 0), PDF),
    ]


def build_lms(out: Path, root: Path = nbs.ROOT) -> None:
    """``sample_lms/``: the class's chapter 2 as Canvas and Moodle hand it over, with their gradebook exports.

    The same bytes on every run (sorted entries, fixed timestamps), so the committed copy can be
    compared with a fresh one. Canvas's export starts with a byte-order mark and ends lines with
    CRLF, as Canvas writes it; eli is on both rosters and handed nothing in; Canvas's Test
    Student is on its roster only.
    """
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "canvas-submissions.zip").write_bytes(_zip(canvas_members(root)))
    (out / "canvas-gradebook.csv").write_bytes(b"\xef\xbb\xbf" + CANVAS_ROSTER.encode())
    (out / "moodle-submissions.zip").write_bytes(_zip(moodle_members(root)))
    (out / "moodle-grading-worksheet.csv").write_bytes(MOODLE_ROSTER.encode())
