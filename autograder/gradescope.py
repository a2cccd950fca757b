"""Grading on Gradescope: one chapter's autograder zip, and what it runs for each submission.

``python -m autograder gradescope SLUG`` writes ``gradescope-SLUG.zip`` (:func:`build`):

- ``setup.sh`` and ``run_autograder`` at its root (what Gradescope looks for);
- ``requirements.txt``: the grader's own pinned requirements (``requirements-gradescope.txt``:
  numpy, matplotlib and ipywidgets for the student's code, nbformat and IPython for the
  grader, and what they depend on; no book toolchain, no browser, no nbgrader);
- ``autograder/``: the grader's modules that grading imports (:func:`grader_modules`);
- ``solutions/SLUG/SLUG.ipynb`` (the instructor's source: the hidden tests) and
  ``chapters/SLUG/SLUG.ipynb`` (the release), laid out as in the course, so the grader
  finds them where ``grade`` does;
- ``gradescope.json``: the chapter, the limits and when hidden tests are shown.

The zip is the same bytes every time it is built from the same files: entries sorted,
fixed timestamps and permissions.

Gradescope unpacks it into ``/autograder/source``, runs ``setup.sh`` once as root when it
builds the image, then ``run_autograder`` (``python3 -m autograder.gradescope run``,
:func:`run`) for each submission, in a fresh container, as root. That finds the course
notebook in ``/autograder/submission`` (any file name: the chapter is read from the
notebook, :func:`choose`), grades it with :func:`autograder.grade.run_job`, the code path
of ``grade``, and writes ``/autograder/results/results.json`` (:func:`results`): one
entry per test with its points, passed or failed, and the message the feedback page
shows; visible tests first; hidden tests by name, result and message only. A notebook
that cannot be graded scores 0 with its status and reason; a grader that fails still
leaves a ``results.json`` that says so (:func:`main`, and ``run_autograder`` itself if
Python cannot start).

Isolation (:func:`isolation_mode`): where the container lets the grader create
namespaces, student code runs in the same sandbox as ``grade``; Docker's default seccomp
profile, which Gradescope's containers are expected to have, refuses ``unshare`` without
``CAP_SYS_ADMIN``, and then student code runs as user ``nobody`` (no capabilities,
no-new-privs), with ``/autograder/source`` (the grader and the hidden tests) readable by
root only; the in-process protections (audit hook, integrity checks, limits) apply in
every case. What the container gave is printed on ``run_autograder``'s standard output,
which Gradescope shows to instructors only.
"""

from __future__ import annotations

import ast
import html
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from autograder import grade, isolation, report, sandbox, worker
from autograder import notebooks as nbs

PACKAGE = Path(__file__).resolve().parent
REQUIREMENTS = nbs.PACKAGE_ROOT / "requirements-gradescope.txt"
CONFIG = "gradescope.json"
AUTOGRADER = Path("/autograder")
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
ENTRY_POINTS = ("gradescope", "executor", "isolation")  # run as modules: run_autograder, the runner, the probe
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: the same bytes on every build
DEFAULTS = {
    "hidden_visibility": "after_published",
    "cell_timeout": 60.0,
    # Gradescope stops a run after 10 minutes by default (its troubleshooting page): the notebook's own
    # limit ends first, so the tests that ran keep their points instead of the whole run scoring 0.
    "notebook_timeout": 480.0,
    "memory_mb": 2048,
}

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
# It installs the grader's pinned requirements (requirements.txt) for the image's python3,
# the python3 that run_autograder uses, and nothing else.
set -euo pipefail
cd /autograder/source

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup.sh: the grader needs Python 3.11 or newer, and this image's python3 is $(python3 -V 2>&1)." >&2
  echo "Choose the Ubuntu 24.04 base image (Python 3.12) in the assignment's Configure Autograder page." >&2
  exit 1
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip
fi
flags=(--no-cache-dir --disable-pip-version-check --ignore-installed)
# Ubuntu 24.04 marks its python3 as externally managed (PEP 668); this image is the grader's alone.
if python3 -m pip install --help | grep -- --break-system-packages >/dev/null; then
  flags+=(--break-system-packages)
fi
python3 -m pip install "${flags[@]}" -r requirements.txt

# The grader and the hidden tests: root only (student code runs as nobody where namespaces are refused).
chmod -R go= /autograder/source
# Grade the chapter's reference solution once: a broken image fails here, not on the first student.
python3 -s -m autograder.gradescope check
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission, as root, in a fresh container: it grades the
# notebook in /autograder/submission and writes /autograder/results/results.json.
cd /autograder/source && python3 -s -m autograder.gradescope run
code=$?
if [ ! -s /autograder/results/results.json ]; then
  # Python itself could not run the grader: the student still gets a result that says so.
  mkdir -p /autograder/results
  printf '{"score": 0, "output": "The autograder could not run (exit code %s). Your notebook was not graded: \
tell your instructor.", "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", \
"tests": []}\\n' "$code" > /autograder/results/results.json
fi
exit 0
"""


class GradescopeError(Exception):
    """The autograder cannot be built as asked; the message says why."""


# --------------------------------------------------------------------------------------------------
# Building the zip (on the instructor's machine).


def _imports(path: Path) -> set[str]:
    """The ``autograder`` modules a module imports when it is imported (not those a function imports later)."""
    found: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if isinstance(node, ast.ImportFrom) and node.module == "autograder":
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograder."):
                found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("autograder."))
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, []))

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def grader_modules(package: Path = PACKAGE) -> list[str]:
    """The grader's modules that grading on Gradescope runs: the entry points and what they import."""
    todo, seen = list(ENTRY_POINTS), {"__init__"}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += sorted(_imports(package / f"{name}.py"))
    return sorted(seen)


def files(slug: str, root: Path, settings: dict) -> dict[str, tuple[bytes, int]]:
    """Name in the zip -> (bytes, mode) of everything the autograder needs, and nothing else."""
    if slug not in nbs.chapter_slugs(root):
        raise GradescopeError(f"no chapter {slug} in {root}; the chapters are: {', '.join(nbs.chapter_slugs(root))}")
    release = nbs.release_path(slug, root)
    if not release.is_file():
        raise GradescopeError(f"no release {release.relative_to(root)}: run `python -m autograder release {slug}`")
    config = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}, "chapter": slug}
    for key, kind in (("cell_timeout", float), ("notebook_timeout", float), ("memory_mb", int)):
        config[key] = kind(config[key])  # the same file whether a limit came as 480 or 480.0
    if config["hidden_visibility"] not in VISIBILITIES:
        raise GradescopeError(f"hidden-test visibility must be one of {', '.join(VISIBILITIES)}")
    out = {
        "setup.sh": (SETUP_SH.encode(), 0o755),
        "run_autograder": (RUN_AUTOGRADER.encode(), 0o755),
        "requirements.txt": (REQUIREMENTS.read_bytes(), 0o644),
        CONFIG: ((json.dumps(config, indent=1, sort_keys=True) + "\n").encode(), 0o644),
        f"solutions/{slug}/{slug}.ipynb": (nbs.source_path(slug, root).read_bytes(), 0o644),
        f"chapters/{slug}/{slug}.ipynb": (release.read_bytes(), 0o644),
    }
    for name in grader_modules():
        out[f"autograder/{name}.py"] = ((PACKAGE / f"{name}.py").read_bytes(), 0o644)
    return out


def zip_bytes(entries: dict[str, tuple[bytes, int]]) -> bytes:
    """A zip of ``entries``, byte for byte the same for the same entries: sorted, fixed times and modes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in sorted(entries):
            data, mode = entries[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix: the modes below are kept by unzip
            info.external_attr = (0o100000 | mode) << 16
            z.writestr(info, data, compresslevel=9)
    return buf.getvalue()


def build(slug: str, root: Path, out: Path, **settings) -> dict:
    """Write the chapter's autograder zip to ``out``; returns what the instructor needs to know."""
    entries = files(slug, root, settings)
    data = zip_bytes(entries)
    report.write_atomic(Path(out), data)
    source_nb = nbs.read(nbs.source_path(slug, root))
    return {"files": len(entries), "bytes": len(data), "max_score": nbs.max_score(source_nb)}


# --------------------------------------------------------------------------------------------------
# Inside Gradescope's container.


def settings(source: Path) -> dict:
    return {**DEFAULTS, **json.loads((source / CONFIG).read_text(encoding="utf-8"))}


def isolation_mode() -> tuple[str, str]:
    """How student code is kept apart here: ``namespaces``, ``nobody`` or ``in-process``, and why."""
    why = isolation.available()
    if why is None:
        return "namespaces", (
            "student code runs in the sandbox of `grade`: network, mount and PID namespaces, user nobody"
        )
    if os.geteuid() == 0:
        return "nobody", (
            f"no namespaces in this container ({why.split('. Options:')[0]}); student code runs as user "
            "nobody with no capabilities, the grader and the hidden tests readable by root only, "
            "and the in-process protections"
        )
    return "in-process", (
        f"no namespaces and not root ({why.split('. Options:')[0]}): student code runs as this user, "
        "with the in-process protections only"
    )


def _describe(path: Path, submission: Path, root: Path, slug: str) -> tuple[bool, str]:
    """Whether a file is this chapter's notebook, and what it is, in a few words."""
    raw = worker.read_bytes(path, submission)
    if isinstance(raw, tuple):
        return False, raw[1]
    nb = worker.parse_submission(raw)
    if isinstance(nb, tuple):
        return False, nb[1]
    if nbs.chapter_of(nb, root) == slug:
        return True, f"the {slug} notebook"
    return False, f"not the {slug} notebook"


def _listing(paths: list[Path], submission: Path, limit: int = 5) -> str:
    names = [str(p.relative_to(submission)) for p in paths]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def choose(submission: Path, slug: str, root: Path) -> tuple[Path | None, str, str, list[str]]:
    """The notebook to grade, or (None, status, reason) when there is none to grade; and notes for the student.

    Every ``.ipynb`` under ``submission`` is looked at (a zip or a repository arrives unpacked),
    hidden files, ``.ipynb_checkpoints`` and ``__MACOSX`` left out, links never followed. The
    chapter's notebook is the one whose cells say it is (:func:`autograder.notebooks.chapter_of`),
    whatever its name. One such notebook: it is graded, and any other file is ignored and
    named. None, but a single ``.ipynb``: that one is graded, so the student reads why it is
    not gradable (damaged, another chapter's, ...) exactly as ``grade`` would say it. Two or
    more of the chapter: none is graded (status ``ambiguous``): the student resubmits one,
    since a guess could grade the wrong draft.
    """
    notebooks, others = [], []
    for folder, dirs, names in os.walk(submission):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(folder, name)
            (notebooks if name.lower().endswith(".ipynb") else others).append(path)
    if not notebooks:
        found = f" It holds {_listing(others, submission)}." if others else " It is empty."
        return None, "missing", f"no Jupyter notebook (.ipynb file) in your submission.{found}", []
    described = [(p, *_describe(p, submission, root, slug)) for p in notebooks]
    mine = [p for p, ok, _ in described if ok]
    ignored = [f"{p.relative_to(submission)} ({what})" for p, ok, what in described if not ok]
    ignored += [f"{p.relative_to(submission)}" for p in others]
    if len(mine) == 1:
        notes = [f"Ignored (not graded): {', '.join(ignored[:5])}{' …' if len(ignored) > 5 else ''}"] if ignored else []
        return mine[0], "", "", notes
    if len(mine) > 1:
        return (
            None,
            "ambiguous",
            f"{len(mine)} notebooks of {slug} in your submission ({_listing(mine, submission)}): "
            "submit only the one to be graded",
            [],
        )
    if len(notebooks) == 1:
        return notebooks[0], "", "", [f"Ignored (not graded): {_listing(others, submission)}"] if others else []
    return (
        None,
        "wrong-notebook",
        f"none of the {len(notebooks)} notebooks in your submission is the {slug} notebook: "
        + "; ".join(f"{p.relative_to(submission)}: {what}" for p, _, what in described[:5]),
        [],
    )


def _escape(text) -> str:
    return html.escape(str(text), quote=True)


def _test_output(test: dict) -> str:
    """What the feedback page shows of a test: the message, and a visible test's traceback; escaped HTML."""
    parts = []
    if test["message"]:
        parts.append(f"<pre>{_escape(test['message'])}</pre>")
    elif test["passed"]:
        parts.append("<p>passed</p>")
    if test.get("traceback") and not test["hidden"]:
        parts.append(f"<p>Traceback:</p><pre>{_escape(test['traceback'])}</pre>")
    if test["hidden"]:
        parts.append("<p>Hidden test: it re-checks the same property on fresh inputs; its code is not shown.</p>")
    return "\n".join(parts)


def _num(x: float) -> str:
    return f"{x:g}"


def results(row: dict, config: dict, notebook: str | None, notes: list[str], seconds: float) -> dict:
    """The row of one notebook in Gradescope's results.json format (its autograder specification)."""
    hidden_when = config["hidden_visibility"]
    tests = sorted(row["tests"], key=lambda t: t["hidden"])  # visible tests first, each group in notebook order
    hidden = {t["test"] for t in tests if t["hidden"]}
    reason = row["reason"]
    if hidden and hidden_when != "visible":
        # The top-level output shows at once: nothing in it may tell a hidden test's result before its time,
        # neither the total nor a fault that cost a hidden test (the test's own entry says it, when it shows).
        shown = [t for t in tests if not t["hidden"]]
        total = f"visible tests {_num(sum(t['points'] for t in shown))} / {_num(sum(t['max_points'] for t in shown))}"
        if row["status"] == "ok":
            reason = "; ".join(r for r in reason.split("; ") if r.split(":")[0] not in hidden)
    else:
        total = f"{_num(row['score'])} / {_num(row['max_score'])}"
    head = [f"<p><b>{_escape(row['chapter'])}: {total}</b></p>"]
    if notebook:
        head.append(f"<p>Graded: <code>{_escape(notebook)}</code></p>")
    if row["status"] != "ok" or reason:
        head.append(f"<p>Status: <b>{_escape(row['status'])}</b>: {_escape(reason)}</p>")
    head += [f"<p>{_escape(note)}</p>" for note in notes]
    if hidden and hidden_when != "visible":
        when = {
            "after_due_date": "after the due date",
            "after_published": "once grades are published",
            "hidden": "to your instructor only",
        }[hidden_when]
        points = _num(sum(t["max_points"] for t in tests if t["hidden"]))
        head.append(
            f"<p>Hidden tests ({points} points) re-check the same properties on fresh inputs; their results "
            f"show {when}, and with them your total.</p>"
        )
    return {
        "score": row["score"],
        "execution_time": round(seconds),
        "output": "\n".join(head),
        "output_format": "html",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"chapter": row["chapter"], "status": row["status"], "notebook": notebook or ""},
        "tests": [
            {
                "name": t["test"] + (" (hidden)" if t["hidden"] else ""),
                "score": t["points"],
                "max_score": t["max_points"],
                "status": "passed" if t["passed"] else "failed",
                "output": _test_output(t),
                "output_format": "html",
                "visibility": hidden_when if t["hidden"] else "visible",
            }
            for t in tests
        ],
    }


def failure(reason: str) -> dict:
    """results.json when the grader itself failed: 0, and a reason the student can pass on."""
    return {
        "score": 0,
        "output": f"The autograder failed; your notebook was not graded. Tell your instructor: {reason}",
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def write_results(data: dict, results_dir: Path) -> Path:
    """results.json, whole or not at all (a temporary file renamed), readable by everyone."""
    path = results_dir / "results.json"
    report.write_atomic(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return path


def grade_submission(autograder: Path, source: Path, log=sys.stdout) -> dict:
    """Grade what ``autograder/submission`` holds, as ``grade`` would; returns results.json's content."""
    start = time.monotonic()
    config = settings(source)
    slug = config["chapter"]
    submission = autograder / "submission"
    path, status, reason, notes = choose(submission, slug, source)
    if path is None:
        row = report.result(status, reason, nbs.read(nbs.source_path(slug, source)))
    else:
        mode, how = isolation_mode()
        print(f"isolation: {mode}: {how}", file=log, flush=True)
        if mode == "nobody":
            os.chmod(source, 0o700)  # the grader and the hidden tests: root only, whatever setup.sh left
            (autograder / "results").mkdir(exist_ok=True)
            os.chmod(autograder / "results", 0o755)  # results.json: root's to write
            sandbox.AS_NOBODY_WITHOUT_NAMESPACES = True
        row = grade.run_job(
            grade.Job("gradescope", slug, path),
            source,
            float(config["cell_timeout"]),
            float(config["notebook_timeout"]),
            isolate=mode == "namespaces",
            hide=tuple(str(p.resolve()) for p in (autograder, autograder / "results", submission, source)),
            base=submission.resolve(),
            memory_mb=int(config["memory_mb"]),
        )
    row = {"student_id": "gradescope", "chapter": slug, **row}
    name = str(path.relative_to(submission)) if path is not None else None
    data = results(row, config, name, notes, time.monotonic() - start)
    print(
        f"{slug}: {_num(row['score'])}/{_num(row['max_score'])} {row['status']} {row['reason']}".rstrip(),
        file=log,
        flush=True,
    )
    return data


def check(source: Path, log=sys.stdout) -> int:
    """Grade the chapter's reference solution here (setup.sh's last step): 0 when it gets full marks."""
    config = settings(source)
    slug = config["chapter"]
    source_nb = nbs.read(nbs.source_path(slug, source))
    reference = nbs.fill_answers(nbs.read(nbs.release_path(slug, source)), nbs.reference_answers(source_nb))
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp)
        nbs.write(reference, tree / "submission" / "reference.ipynb")
        data = grade_submission(tree, source, log)
    full = data["score"] == nbs.max_score(source_nb)
    print(f"check: the reference solution scores {_num(data['score'])}/{_num(nbs.max_score(source_nb))}", file=log)
    return 0 if full else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope run|check`` (what run_autograder and setup.sh call)."""
    args = sys.argv[1:] if argv is None else argv
    source = nbs.PACKAGE_ROOT
    if args == ["check"]:
        return check(source)
    if args != ["run"]:
        print("usage: python -m autograder.gradescope run|check (inside Gradescope's container)", file=sys.stderr)
        return 2
    results_dir = AUTOGRADER / "results"
    try:
        data = grade_submission(AUTOGRADER, source)
    except BaseException as exc:  # whatever happened, the student gets a results.json that says so
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        data = failure(f"{type(exc).__name__}: {first}")
        import traceback

        traceback.print_exc(file=sys.stdout)
    write_results(data, results_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
