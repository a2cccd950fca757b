"""Headless notebook runs (the release's and the book build's): no stall on an Output widget, no warning.

nbclient mimics a front end's Output widget and, by default, sends every output it captures
back to the kernel on the shell socket it is waiting on for the cell's reply; when the two
cross, the reply stays unread until the cell's timeout (jupyter/nbclient#312). Every
``interact`` demo has an Output widget. These tests drive nbclient's widget handling with
the messages a kernel sends for such a demo and record what the client sends back.
"""

from __future__ import annotations

import subprocess
import sys

import nbclient
import nbclient.client
import nbformat
import pytest
from jupyter_client.session import Session
from nbclient import NotebookClient

from autograder import execution
from book import execution as book_execution

COMM = "c0ffee"


class Recorder:
    """A kernel client that records what is sent on its shell channel."""

    def __init__(self) -> None:
        self.session = Session()
        self.sent: list[dict] = []
        self.shell_channel = self

    def send(self, msg: dict) -> None:
        self.sent.append(msg)


def kernel_msg(msg_type: str, content: dict, parent: str = "cell-1") -> dict:
    header = {"msg_type": msg_type, "msg_id": f"{msg_type}-1"}
    return {"header": header, "msg_type": msg_type, "content": content, "parent_header": {"msg_id": parent}}


def run_interact_output(client: NotebookClient) -> Recorder:
    """What an `interact` demo's Output widget makes the kernel send, through the client's handlers."""
    kc = client.kc = Recorder()
    client.reset_execution_trackers()
    state = {"_model_module": "@jupyter-widgets/output", "_model_name": "OutputModel", "outputs": [], "msg_id": ""}
    open_msg = kernel_msg("comm_open", {"comm_id": COMM, "target_name": "jupyter.widget", "data": {"state": state}})
    client.handle_comm_msg([], open_msg, 0)
    capture = kernel_msg("comm_msg", {"comm_id": COMM, "data": {"method": "update", "state": {"msg_id": "cell-1"}}})
    client.handle_comm_msg([], capture, 0)
    figure = kernel_msg("display_data", {"data": {"text/plain": "<Figure>"}, "metadata": {}, "transient": {}})
    client.output([], figure, None, 0)
    return kc


def test_stock_nbclient_writes_outputs_back_to_the_kernel():
    # The behaviour the fix removes; if nbclient stops doing this, the fix can go.
    kc = run_interact_output(NotebookClient(nbformat.v4.new_notebook()))
    assert [m["msg_type"] for m in kc.sent] == ["comm_msg"]


def test_the_release_runs_output_widgets_quietly(tmp_path):
    client = execution.client(nbformat.v4.new_notebook(), tmp_path, cell_timeout=10)
    kc = run_interact_output(client)
    assert kc.sent == []
    # The captured output still goes into the notebook's widget state.
    assert client.widget_state[COMM]["outputs"] == [
        {"output_type": "display_data", "data": {"text/plain": "<Figure>"}, "metadata": {}}
    ]


@pytest.fixture
def book_extension():
    stock = nbclient.client.NotebookClient
    book_execution.setup(app=None)
    yield
    nbclient.client.NotebookClient = stock


def test_the_book_build_runs_output_widgets_quietly(book_extension, monkeypatch):
    # MyST-NB (through jupyter-cache) calls nbclient.execute, which builds the client.
    built = []
    monkeypatch.setattr(execution.HeadlessClient, "execute", lambda self, **kw: built.append(self))
    nbclient.execute(nbformat.v4.new_notebook())
    kc = run_interact_output(built[0])
    assert kc.sent == []


def test_kernels_start_without_the_encryption_warning(tmp_path):
    code = (
        "import nbformat, pathlib\n"
        "from autograder.execution import execute\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('print(6 * 7)')])\n"
        f"assert execute(nb, pathlib.Path({str(tmp_path)!r}), {{}}) is None\n"
        "assert nb.cells[0].outputs[0].text == '42\\n', nb.cells[0].outputs\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "without encryption" not in done.stderr, done.stderr


def test_the_book_loads_the_extension():
    import yaml

    from autograder import notebooks as nbs

    config = yaml.safe_load((nbs.ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["sphinx"]["local_extensions"]["book.execution"] == "./"
