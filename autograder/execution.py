"""Run a notebook in a fresh Jupyter kernel and read what each cell produced.

The book build runs its notebooks through the same client library (nbclient, from MyST-NB
and jupyter-cache); :mod:`book.execution` (the book's extension) gives it :class:`HeadlessClient` too.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import zmq
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbclient.output_widget import OutputWidget
from traitlets import default

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class QuietOutputWidget(OutputWidget):
    """nbclient's stand-in for an ipywidgets Output widget, minus the echo back to the kernel.

    nbclient captures what a cell prints into an Output widget (every ``interact`` has one)
    and then sends the widget's new outputs to the kernel, on the shell socket it is waiting
    on for the cell's reply. When that send and the reply cross, the reply is left unread in
    the socket until the wait times out (the cell's whole timeout, then it carries on as if
    nothing happened): jupyter/nbclient#312. On a loaded 2-core machine most runs of a
    chapter stalled so at least once, with ipykernel 6 and 7 alike
    (benchmarks/execution_stalls.py). The echo only keeps the
    kernel's copy of the outputs current, which a headless run never reads; the outputs still
    go into the notebook's widget state.
    """

    def sync_state(self) -> None:
        pass


class EncryptedKernelManager(AsyncKernelManager):
    """A local kernel whose sockets are encrypted (CurveZMQ) whenever the kernel supports it.

    ipykernel 7.4 logs "Kernel is running over TCP without encryption" at every start
    unless the manager hands it keys, which jupyter_client does only when asked
    (``transport_encryption``, "disabled" by default).
    """

    @default("transport_encryption")
    def _encrypt_when_possible(self) -> str:
        return "auto" if zmq.has("curve") else "disabled"


class HeadlessClient(NotebookClient):
    """nbclient's client for the runs nobody watches: quiet Output widgets, encrypted kernel sockets."""

    @default("kernel_manager_class")
    def _encrypted_kernel(self) -> type:
        return EncryptedKernelManager

    def __init__(self, nb, km=None, **kw) -> None:
        super().__init__(nb, km=km, **kw)
        self.widget_registry["@jupyter-widgets/output"]["OutputModel"] = QuietOutputWidget


def client(nb, cwd: Path, cell_timeout: float) -> HeadlessClient:
    """The notebook client for one release run: errors kept as outputs."""
    return HeadlessClient(
        nb,
        timeout=cell_timeout,
        interrupt_on_timeout=True,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
    )


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def execute(nb, cwd: Path, env: dict[str, str], cell_timeout: float = 60) -> str | None:
    """Execute ``nb`` in place, keeping going past errors.

    Returns None when every cell ran, else a short reason why the run stopped
    early (the kernel died); the cells after that point are left unexecuted.
    """
    try:
        client(nb, cwd, cell_timeout).execute(env={**os.environ, **env}, cwd=str(cwd))
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
