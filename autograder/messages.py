"""What a student reads about a test: its message, its traceback, and the cause when the grader can tell it.

Everything here runs on the trusted side, on what the runner reported
(:mod:`autograder.sandbox` sends an exception's name, its message and the
visible part of its traceback, and nothing else):

- :func:`failure` is the message of a failed test, without memory addresses
  or lines of a hidden test, cut at a line or word boundary (never inside a
  number) with a note that says it was cut;
- :func:`traceback` names each place as the student knows it (the test's
  name, "your answer cell for sgd_step", "a cell you added") instead of the
  runner's cell numbers, and leaves the message out, since the page shows it
  just above;
- :func:`untouched` and :func:`not_implemented` tell "this function is not
  written yet" apart from a wrong answer;
- :func:`misconception` is the line of a failure that names the mistake, the
  same for every student who makes it, whatever numbers their function returned.
"""

from __future__ import annotations

import ast
import functools
import re
import threading

from autograder.protocol import MESSAGE_LIMIT

LIMIT = MESSAGE_LIMIT
"""The longest message a report shows, in characters, the note that it was cut included."""

ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
RUNNER_NAME = re.compile(r"<(answer|extra|test|instructor) cell (\d+)>")
RUNNER_FILE = re.compile(r'^  File "<(answer|extra|test|instructor) cell (\d+)>", line (\d+), in (.*)$')
STUB_ERROR = "NotImplementedError"
PARTIAL_NUMBER = re.compile(r"[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d*)?$")


def cut(text: str, limit: int = LIMIT) -> str:
    """``text`` if it fits in ``limit`` characters, else its head up to a line or word boundary and a note.

    The head ends at the last line break in the second half of the room, else at the last space
    there, else inside one very long word but never inside a number; the note says it was cut.
    """
    if len(text) <= limit:
        return text
    note = f"[… cut: the message has {len(text):,} characters]"
    room = max(limit - len(note) - 1, 1)
    head = text[:room]
    line = head.rfind("\n")
    space = max(head.rfind(" "), head.rfind("\t"))
    if line >= room // 2:
        return head[:line].rstrip() + "\n" + note
    if space >= room // 2:
        return head[:space].rstrip() + " " + note
    return (PARTIAL_NUMBER.sub("", head) or head).rstrip() + " " + note


def scrub(text: str, hidden_source: str | None = None) -> str:
    """``text`` without memory addresses and without any line (8 characters or more) of a hidden test."""
    text = ADDRESS.sub("0x…", text)
    if hidden_source:
        for line in hidden_source.splitlines():
            line = line.strip()
            if len(line) >= 8 and line in text:
                text = text.replace(line, "…")
    return text


def failure(ename: str, evalue: str, hidden_source: str | None = None, cause: str = "", cells: list[dict] = ()) -> str:
    """The message of a failed test: the cause when known, else the exception's name and message."""
    if cause:
        return cut(cause)
    return cut(scrub(name_cells(f"{ename}: {evalue}".strip(": "), cells), hidden_source))


def name_cells(text: str, cells: list[dict]) -> str:
    """``text`` with the runner's file names (``<answer cell 4>``, in a SyntaxError say) as the student knows them."""

    def named(found: re.Match) -> str:
        kind, index = found.group(1), int(found.group(2))
        name = cells[index].get("name", "") if index < len(cells) else ""
        return _where(kind, name)

    return RUNNER_NAME.sub(named, text)


def _where(kind: str, name: str) -> str:
    return {
        "test": f"test {name}" if name else "a test",
        "answer": f"your answer cell for {name}" if name else "your answer cell",
        "extra": "a cell you added",
    }.get(kind, "a cell of the notebook")


def _place(kind: str, name: str, line: str, function: str) -> str:
    inside = "" if function == "<module>" else f", in {function}"
    return f"  {_where(kind, name)}, line {line}{inside}"


def traceback(text: str, cells: list[dict], secret: set[str] = frozenset()) -> str:
    """The runner's traceback in the student's terms: places named, hidden lines blanked, no message.

    ``cells`` is the plan the runner ran (kind and name of each cell, by index); ``secret`` holds
    the stripped lines of the hidden tests, which never appear, even where a visible test shares one.
    """
    out = []
    expect_code = False
    for line in str(text).splitlines():
        if line.startswith("Traceback ("):
            out.append(line)
            continue
        found = RUNNER_FILE.match(line)
        if found:
            kind, index, lineno, function = found.groups()
            index = int(index)
            name = cells[index].get("name", "") if index < len(cells) else ""
            out.append(_place(kind, name, lineno, function))
            expect_code = True
        elif expect_code and line.startswith("    "):
            out.append("    …" if line.strip() in secret else line)
            expect_code = False
        else:
            break  # the exception's own line(s): the report shows the message above the traceback
    if len(out) <= 1:
        return ""
    return ADDRESS.sub("0x…", "\n".join(out))[:4000]


def _same(a: str, b: str) -> bool:
    def norm(s: str) -> list[str]:
        return [line.rstrip() for line in s.strip().splitlines() if line.strip()]

    return norm(a) == norm(b)


def untouched(stubs: dict[str, str], answers: dict[str, str]) -> list[str]:
    """The functions whose answer cell is still the released stub (or was not handed in), in order."""
    return [gid for gid, stub in stubs.items() if gid not in answers or _same(answers[gid], stub)]


# The grader grades notebooks in threads (grade.py), and CPython 3.11's ast.parse is not safe to run
# in two threads at once: its AST constructor keeps one recursion counter per interpreter, and a
# parse that sees another's count fails with "SystemError: AST constructor recursion depth mismatch"
# (python/cpython#106905): a test run of the suite saw one notebook graded "error" by it. One parse at a time.
_PARSING = threading.Lock()


@functools.lru_cache(maxsize=512)
def _names(source: str) -> frozenset[str] | None:
    """The names a piece of code uses, or None when it does not parse (the same tests, every student)."""
    try:
        with _PARSING:
            tree = ast.parse(source)
    except SyntaxError:
        return None
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def functions_used(source: str, functions: list[str]) -> list[str]:
    """Which of ``functions`` the test's code names (comments do not count), in the order given."""
    names = _names(source)
    if names is None:
        names = {f for f in functions if re.search(rf"\b{re.escape(f)}\b", source)}
    return [f for f in functions if f in names]


def not_implemented(used: list[str], stubs: list[str], answers: dict[str, str], said: str) -> list[str]:
    """The functions a failed test needs that are not written yet.

    Only when the failure (``said``) mentions NotImplementedError: then each function the test
    uses whose answer cell is still the stub, or still raises NotImplementedError, counts.
    """
    if STUB_ERROR not in said:
        return []
    return [f for f in used if f in stubs or STUB_ERROR in answers.get(f, "")]


def not_implemented_message(functions: list[str]) -> str:
    """A failure message that says which functions are still to be written."""
    if len(functions) == 1:
        return f"{functions[0]} is not implemented yet: write it in its answer cell, then run the tests."
    names = ", ".join(functions[:-1]) + " and " + functions[-1]
    return f"{names} are not implemented yet: write them in their answer cells, then run the tests."


NUMPY_HEADER = re.compile(r"^(AssertionError:\s*)?(Not equal to tolerance .*|Arrays are not equal)?\s*$")
NUMBER = re.compile(r"(?<![\w.])[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?(?![\w])")


def headline(message: str) -> str:
    """The line of a failure message that names the mistake, as the test wrote it.

    That is the message's first line, numpy's "Not equal to tolerance" header and an exception name
    "AssertionError: " left out. A test writes there a fixed sentence naming the slip, and the
    values the student's function returned on the lines after it.
    """
    for line in message.splitlines():
        if NUMPY_HEADER.match(line):
            continue
        line = line.strip().removeprefix("AssertionError: ").strip()
        if line:
            return line
    return ""


def misconception(message: str) -> str:
    """The line of a failure message that names the misconception, the same for every student who makes it.

    That is its :func:`headline` with every number written as "#": the course's own tests keep the
    student's numbers off that line (tests/test_mistakes.py checks it), and a message that still
    reports them there (an instructor's new test, say) then groups with the others all the same.
    """
    return NUMBER.sub("#", headline(message))
