"""A live JupyterLab (or Notebook 7) as a student meets it: started here, in its default settings.

`Jupyter(app, root)` starts `python -m jupyterlab` or `python -m notebook` on 127.0.0.1, a free
port and a random token, serving `root`. Everything a user could have configured is replaced
by empty temporary folders (config, settings, workspaces, runtime, data, IPython, HOME), so
nobody's own settings (a windowing mode, say) leak in; the extensions installed in this
Python's prefix, among them ipywidgets' (`share/jupyter/labextensions`), are still found.
The server does not ask the internet for news or updates.

`run_all(page)` opens a notebook, runs it with Run All from the menu, waits until every code
cell has run (it saves the notebook and reads it back, which windowing cannot hide) and
returns the saved notebook. `scroll_down(page)` then scrolls down the notebook once, as a
reader does, and reads every output and every reference player's picture as it is,
without a click.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

APPS = {"lab": "jupyterlab", "notebook": "notebook"}  # the app's name: its Python module
NOTEBOOK_URL = {"lab": "lab/tree/{}", "notebook": "notebooks/{}"}
START_TIMEOUT = 60  # seconds for the server to answer
RUN_TIMEOUT = 240  # seconds for Run All (one chapter's stubs take 30-70 s on 2 busy cores)


def unavailable(app: str) -> str | None:
    """Why `app` cannot be started here, or None."""
    if importlib.util.find_spec(APPS[app]) is None:
        return f"{APPS[app]} is not installed (pip install -r requirements.txt)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(home: Path) -> dict[str, str]:
    """This process's environment with every Jupyter and IPython user folder moved under `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    folders = {
        "HOME": "",
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "settings",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }
    for name, sub in folders.items():
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / sub)
    return env


class Jupyter:
    """`with Jupyter("lab", root) as server:` serves `root`; `server.url(path)` carries the token."""

    def __init__(self, app: str, root: Path):
        self.app, self.root = app, root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.origin = f"http://127.0.0.1:{self.port}/"
        self._home = tempfile.TemporaryDirectory(prefix="jupyter-home-")
        self._proc: subprocess.Popen | None = None
        self.log = Path(self._home.name) / "server.log"

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            APPS[self.app],
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
        ]
        if self.app == "lab":  # no request for the internet from the server: no news feed, no update check
            cmd += ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    def url(self, path: str = "") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.origin}{path}{sep}token={self.token}"

    def api(self, path: str):
        with urllib.request.urlopen(self.url(path), timeout=10) as r:
            return json.load(r)

    def __enter__(self) -> Jupyter:
        env = isolated_env(Path(self._home.name))
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(self.command(), env=env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                self.api("api/status")
                return self
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    log = self.server_log()
                    self.__exit__()
                    raise RuntimeError(f"{self.app} did not start; its log:\n{log}") from None
                time.sleep(0.2)

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def __exit__(self, *exc):
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()  # one SIGTERM: the server shuts its kernels down and exits
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._home.cleanup()


# ---------------------------------------------------------------- in the browser


def page_config(page) -> dict:
    return json.loads(page.locator("#jupyter-config-data").text_content())


def extensions(page) -> list[str]:
    """The prebuilt (federated) extensions the page loads, by package name."""
    return [e["name"] for e in page_config(page).get("federated_extensions", [])]


def _menu(page, menu: str, item: str) -> None:
    page.locator(f'.lm-MenuBar-itemLabel:text-is("{menu}")').click()
    page.locator(f'.lm-Menu-itemLabel:text-is("{item}")').click()


def _kernel(server: Jupyter, name: str) -> dict | None:
    """The kernel of the session the page opened for notebook `name`, once the page is connected to it."""
    for session in server.api("api/sessions"):
        kernel = session.get("kernel") or {}
        if session["path"] == name and kernel.get("connections", 0) > 0:
            return kernel
    return None


SAVE_ATTEMPTS = 3  # Ctrl+S presses before the notebook counts as not saved


def _wait(what: str, check, timeout: float, page):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} (waited {timeout:.0f} s)")
        page.wait_for_timeout(500)
    return result


def run_all(page, server: Jupyter, name: str):
    """Open notebook `name`, Run All, wait until every code cell has run; return the saved notebook.

    Run All only once the page is connected to an idle kernel (before that, JupyterLab asks which
    kernel to start). The kernel is idle for a moment between two cells too, so the end is when
    the notebook, saved with Ctrl+S, has an execution count in every code cell.
    """
    page.goto(server.url(NOTEBOOK_URL[server.app].format(name)))
    page.wait_for_selector(".jp-Notebook .jp-Cell")

    def idle():
        kernel = _kernel(server, name)
        return kernel if kernel and kernel["execution_state"] == "idle" else None

    _wait("the notebook's kernel did not start", idle, START_TIMEOUT, page)
    _menu(page, "Run", "Run All Cells")
    path = server.root / name

    def finished():
        if not idle():
            return None
        before = path.stat().st_mtime_ns
        for attempt in range(SAVE_ATTEMPTS):  # under a loaded machine one Ctrl+S can go unanswered for 10 s
            page.keyboard.press("Control+s")
            try:
                _wait("the notebook was not saved", lambda: path.stat().st_mtime_ns != before, 10, page)
                break
            except TimeoutError:
                if attempt == SAVE_ATTEMPTS - 1:
                    raise
        try:
            nb = nbformat.read(path, as_version=4)
        except ValueError:  # caught in the middle of the write: save again
            return None
        return nb if all(c.execution_count is not None for c in nb.cells if c.cell_type == "code") else None

    page.wait_for_timeout(1000)
    return _wait("Run All did not finish", finished, RUN_TIMEOUT, page)


# Scroll down the notebook a part of a screen at a time, as a reader does (with windowing, a cell
# is attached or laid out only near the screen), and read at each stop: every cell's rendered
# outputs, by the cell's index in the notebook, and every animation picture whose cell is on the
# screen, as it is. A picture is kept as seen with its middle on the screen when it ever was.
_SCROLL_DOWN = r"""
async () => {
  const settle = async () => {
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    await new Promise(r => setTimeout(r, 100));
  };
  let box = document.querySelector('.jp-Notebook .jp-Cell').parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) {
    box = box.parentElement;
  }
  box = box || document.scrollingElement;
  const outputs = {}, pictures = {};
  box.scrollTop = 0;
  for (let step = 0; step < 2000; step++) {
    await settle();
    const view = box.getBoundingClientRect();
    for (const cell of document.querySelectorAll('.jp-Notebook .jp-Cell[data-windowed-list-index]')) {
      const text = [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent).join('\n');
      if (text) outputs[cell.dataset.windowedListIndex] = text;
    }
    for (const img of document.querySelectorAll('.jp-Notebook div.animation img')) {
      const cell = img.closest('.jp-Cell').getBoundingClientRect();
      if (cell.height === 0 || cell.bottom <= view.top || cell.top >= view.bottom) continue;
      const r = img.getBoundingClientRect();
      const [x, y] = [r.left + r.width / 2, r.top + r.height / 2];
      const middle_on_screen = r.width > 0 && r.height > 0 && y >= view.top && y < view.bottom;
      if (pictures[img.id] && pictures[img.id].middle_on_screen && !middle_on_screen) continue;
      const hit = middle_on_screen ? document.elementFromPoint(x, y) : null;
      pictures[img.id] = {
        src: (img.getAttribute('src') || '').slice(0, 60), natural_width: img.naturalWidth,
        width: Math.round(r.width), height: Math.round(r.height), middle_on_screen, on_top: hit === img,
        hit: hit ? `${hit.tagName.toLowerCase()}.${hit.className}`.slice(0, 80) : 'no picture',
      };
    }
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 1) break;
    box.scrollTop += Math.round(box.clientHeight * 0.6);
  }
  return {outputs, pictures};
}
"""


def scroll_down(page) -> tuple[dict[int, str], dict[str, dict]]:
    """Scroll down the whole notebook once, without a click.

    Returns the text of every cell's rendered outputs, by the cell's index, and, by <img> id,
    every animation picture met on the way (see _SCROLL_DOWN).
    """
    seen = page.evaluate(_SCROLL_DOWN)
    return {int(k): v for k, v in seen["outputs"].items()}, seen["pictures"]


def animation_ids(nb) -> list[str]:
    """The <img> ids of the reference-view players in a saved notebook's outputs, in order."""
    ids = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html", "")
            ids += re.findall(r'<img\b[^>]*\bid="(player-[0-9a-f]+)"', "".join(html))
    return ids
