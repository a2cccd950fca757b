"""Run a notebook in a fresh Jupyter kernel and read what each cell produced."""

from __future__ import annotations

import os
import re
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def execute(nb, cwd: Path, env: dict[str, str], cell_timeout: float = 60) -> str | None:
    """Execute ``nb`` in place, keeping going past errors.

    Returns None when every cell ran, else a short reason why the run stopped
    early (the kernel died); the cells after that point are left unexecuted.
    """
    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        interrupt_on_timeout=True,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
    )
    try:
        client.execute(env={**os.environ, **env}, cwd=str(cwd))
    except DeadKernelError:
        return "the kernel died (the notebook exited or crashed it)"
    return None


def error_of(cell) -> dict | None:
    """The first error a code cell raised, as {ename, evalue, traceback}, or None."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return {
                "ename": out.get("ename", ""),
                "evalue": strip_ansi(str(out.get("evalue", ""))),
                "traceback": strip_ansi("\n".join(out.get("traceback", []))),
            }
    return None
