"""The grader's code stays readable: no function in autograder/ or book/ is longer than 120 lines.

A function that grows past it does several jobs; give each its own named piece (as
autograder/executor.py's runner and autograder/cli.py's parser do), rather than squeezing lines.
"""

from __future__ import annotations

import ast

import pytest

from autograder import notebooks as nbs

LIMIT = 120
FILES = sorted(p for folder in ("autograder", "book") for p in (nbs.PACKAGE_ROOT / folder).glob("*.py"))


def _long_functions(source: str, limit: int) -> list[tuple[str, int]]:
    tree = ast.parse(source)
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > limit
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_function_is_longer_than_the_limit(path):
    found = _long_functions(path.read_text(encoding="utf-8"), LIMIT)
    assert not found, f"{path.name}: " + ", ".join(f"{name} has {n} lines" for name, n in found) + f" (at most {LIMIT})"


def test_the_check_finds_a_long_function():
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    assert _long_functions(f"def long():\n{body}\n", LIMIT) == [("long", LIMIT + 1)]
    assert _long_functions(f"def short():\n{body}\n", LIMIT + 1) == []
