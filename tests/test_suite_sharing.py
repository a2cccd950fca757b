"""The suite's own machinery: what once_per_run (tests/conftest.py) shares between xdist workers."""

from __future__ import annotations

import threading

import pytest
from conftest import once_per_run


class Worker:
    """Stands for one xdist worker's tmp_path_factory: its own folder inside the run's shared one."""

    def __init__(self, run, name):
        self.base = run / f"popen-{name}"
        self.base.mkdir()

    def getbasetemp(self):
        return self.base


def test_two_workers_make_it_once_and_both_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    calls, results = [], {}
    gate = threading.Event()

    def make(folder):
        calls.append(folder)
        gate.wait(5)  # the other worker asks meanwhile, and must wait for this one
        (folder / "built.txt").write_text("book")
        return folder / "built.txt"

    workers = [Worker(tmp_path, f"gw{i}") for i in range(2)]
    threads = [
        threading.Thread(target=lambda w=w: results.update({w.base.name: once_per_run(w, "book", make)}))
        for w in workers
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1, f"made {len(calls)} times"
    assert set(results.values()) == {tmp_path / "book" / "built.txt"}
    assert len(results) == 2 and (tmp_path / "book" / "built.txt").read_text() == "book"


def test_a_failure_reaches_the_other_workers_without_a_second_try(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    calls = []

    def make(folder):
        calls.append(folder)
        raise RuntimeError("the strict build failed")

    first, second = Worker(tmp_path, "gw0"), Worker(tmp_path, "gw1")
    with pytest.raises(RuntimeError, match="the strict build failed"):
        once_per_run(first, "book", make)
    with pytest.raises(AssertionError, match="on another worker: RuntimeError: the strict build failed"):
        once_per_run(second, "book", make)
    assert len(calls) == 1
