"""Headless notebook runs (the release's and the book build's): no stall on an Output widget, no warning.

nbclient mimics a front end's Output widget and, by default, sends every output it captures
back to the kernel on the shell socket it is waiting on for the cell's reply; when the two
cross, the reply stays unread until the cell's timeout (jupyter/nbclient#312). Every
``interact`` demo has an Output widget. These tests drive nbclient's widget handling with
the messages a kernel sends for such a demo and record what the client sends back.
"""

from __future__ import annotations

import pathlib
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


def test_only_the_book_build_stops_its_kernels_at_once(book_extension, monkeypatch):
    """The book's kernels are killed once the last cell replied; the release's and the grader's
    kernels still shut down gracefully (a student's notebook may register atexit hooks)."""
    built = []
    monkeypatch.setattr(execution.HeadlessClient, "execute", lambda self, **kw: built.append(self))
    nbclient.execute(nbformat.v4.new_notebook())
    assert built[0].shutdown_kernel == "immediate"
    assert execution.client(nbformat.v4.new_notebook(), pathlib.Path("."), 60).shutdown_kernel == "graceful"


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


RENDEZVOUS = """
import pathlib, time
here, other = pathlib.Path({mine!r}), pathlib.Path({other!r})
here.touch()
for _ in range(1200):  # each notebook waits for the other: it finishes only if both run at once
    if other.exists():
        break
    time.sleep(0.05)
else:
    raise RuntimeError("the other notebook did not start while this one ran")
print("met")
"""


PREFILL = """
import pathlib, sys
from types import SimpleNamespace
from myst_nb.core.config import NbParserConfig
from book import execution

folder, docnames = pathlib.Path(sys.argv[1]), sys.argv[2:]


class Env:  # the parts of a Sphinx build environment the book's parallel execution reads
    mystnb_config = NbParserConfig(execution_mode="cache", execution_cache_path=str(folder / "cache"),
                                   execution_timeout=120)

    def doc2path(self, docname):
        return str(folder / docname) + (".ipynb" if docname.startswith("nb") else ".md")


execution.setup(app=None)
execution.execute_in_parallel(SimpleNamespace(config=SimpleNamespace(course_execution_jobs=3)), Env(), docnames)
"""


def prefill(folder, *docnames) -> None:
    # In a process of its own, as in a build: nbclient leaves event loops of its kernels' threads behind.
    done = subprocess.run([sys.executable, "-c", PREFILL, str(folder), *docnames], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_book_build_executes_stale_notebooks_at_once_into_the_cache(tmp_path):
    from jupyter_cache import get_cache

    for name, other in [("nb_a", "nb_b"), ("nb_b", "nb_a")]:
        code = RENDEZVOUS.format(mine=str(tmp_path / f"{name}.flag"), other=str(tmp_path / f"{other}.flag"))
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), tmp_path / f"{name}.ipynb")
    failing = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")])
    nbformat.write(failing, tmp_path / "nb_fails.ipynb")
    (tmp_path / "page.md").write_text("# not a notebook\n")

    prefill(tmp_path, "nb_a", "nb_b", "nb_fails", "page")

    cache = get_cache(str(tmp_path / "cache"))
    for name in ("nb_a", "nb_b"):  # what MyST-NB then asks the cache for: the notebook as it is on disk
        record = cache.match_cache_notebook(nbformat.read(tmp_path / f"{name}.ipynb", as_version=4))
        outputs = cache.get_cache_bundle(record.pk).nb.cells[0].outputs
        assert [o.get("text") for o in outputs] == ["met\n"], f"{name} ran one at a time, or not at all: {outputs}"
    with pytest.raises(KeyError):  # a failed run is left to MyST-NB, which runs it again and reports the error
        cache.match_cache_notebook(failing)
    # Nothing stale: nothing runs (the flags would be written again).
    for flag in tmp_path.glob("*.flag"):
        flag.unlink()
    prefill(tmp_path, "nb_a", "nb_b")
    assert not list(tmp_path.glob("*.flag"))


def test_the_book_build_and_the_grader_leave_out_only_what_no_schema_uses():
    # book/build.py keeps jsonschema from importing rfc3987_syntax, which checks only the "iri"
    # string formats: safe while no schema the build validates names a format.
    import json
    from pathlib import Path

    import jupyter_book
    import nbformat as nbf

    schemas = [Path(jupyter_book.__file__).with_name("config_schema.json")]
    schemas += sorted((Path(nbf.__file__).parent / "v4").glob("*.schema.json"))
    for schema in schemas:

        def formats(node) -> list[str]:
            found = [node["format"]] if isinstance(node, dict) and isinstance(node.get("format"), str) else []
            children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
            return found + [f for child in children for f in formats(child)]

        assert formats(json.loads(schema.read_text())) == [], f"{schema.name} now uses a string format"
    code = (
        "import sys\n"
        "from book import build\n"
        "sys.argv = ['jupyter-book', '--version']\n"
        "try:\n    build.main()\nexcept SystemExit:\n    pass\n"
        "assert sys.modules['rfc3987_syntax'] is None\n"
        "import jsonschema\n"
        "assert 'iri' not in jsonschema.FormatChecker.checkers, 'jsonschema checked iri formats all the same'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # The grader does the same (autograder/__init__.py): every `python -m autograder` reads notebooks.
    code = "import sys, autograder, nbformat\nassert sys.modules['rfc3987_syntax'] is None, 'grammars compiled'\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
