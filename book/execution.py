"""A Sphinx extension for the book build: notebooks run in :class:`autograder.execution.HeadlessClient`, in parallel.

The book executes its notebooks through MyST-NB and jupyter-cache, which call
``nbclient.execute``; that builds an ``nbclient.client.NotebookClient``, which this replaces
with the course's subclass, so an ``interact`` demo cannot stall the build until the cell
timeout and no kernel start warns about unencrypted sockets (see that class). Loaded from
``_config.yml`` (``sphinx.local_extensions``, as ``book.execution`` from the course root).

MyST-NB executes one notebook at a time, as Sphinx reads it: five chapters, one after the
other, on a machine with several cores. So before Sphinx reads anything, this extension
finds the notebooks it is about to read whose executed version jupyter-cache does not hold
(``execute_notebooks: cache``: keyed by the notebook's code), runs those in parallel, one
kernel each (``course_execution_jobs`` at a time, default: one per core), and stores each
result in the cache exactly as MyST-NB would (``jupyter_cache.executors.utils.single_nb_execution``,
the same timeout and ``allow_errors``). MyST-NB then finds every notebook in the cache. A
notebook whose run failed is not stored: MyST-NB runs it again itself and reports the error
as it always does.

Every run, parallel or MyST-NB's own, uses :class:`BookClient`: the headless client, whose
kernels also keep the players' frames in a store beside jupyter-cache (``book/framecache.py``),
so that a notebook run again after an edit draws again only the players the edit can change.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import ClassVar

import nbclient.client
import nbformat
from sphinx.util import logging
from traitlets import default

from autograder.execution import HeadlessClient
from book import framecache

LOGGER = logging.getLogger(__name__)


class BookClient(HeadlessClient):
    """The book build's client: headless, and its kernels reuse the players' frames from ``frame_store``.

    ``frame_store`` is the folder of the frame store (set by the build, see
    :func:`use_frame_store`); while it is None, this client is the headless one. Only the book
    build uses this class: the release and the grader run :class:`HeadlessClient` itself.
    """

    frame_store: ClassVar[Path | None] = None

    @default("shutdown_kernel")
    def _stop_at_once(self) -> str:
        # Once the last cell has replied, nothing is left for the kernel to do: the book's notebooks
        # register no atexit hook and write no file at exit (the frame store's entries are written
        # as each player is made). A graceful shutdown waited 0.3 s a notebook for it to exit.
        return "immediate"

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        if self.frame_store is not None:
            await self.install_frame_cache(self.frame_store)
        return kc

    async def install_frame_cache(self, store: Path) -> bool:
        """Run the frame cache's set-up silently in the kernel (no output, no history); False if it failed."""
        assert self.kc is not None
        msg_id = self.kc.execute(framecache.setup_code(store, self.nb), silent=True, store_history=False)
        reply = await self.async_wait_for_reply(msg_id)
        ok = reply is not None and reply["content"].get("status") == "ok"
        if not ok:  # the notebook still runs, drawing every frame: a slower build, not a failed one (-W)
            LOGGER.info(f"the frame cache could not be set up in the kernel: {reply and reply['content']}")
        return ok


def use_frame_store(nb_config) -> Path:
    """Point :class:`BookClient` at the frame store beside jupyter-cache's folder; return it."""
    cache = Path(nb_config.execution_cache_path or ".jupyter_cache").resolve()
    BookClient.frame_store = cache.parent / framecache.STORE_NAME
    return BookClient.frame_store


def stale_notebooks(env, docnames, cache, nb_config) -> list[tuple[str, Path, nbformat.NotebookNode]]:
    """(docname, path, notebook) of each notebook about to be read that the cache has no executed version of."""
    stale = []
    for docname in sorted(docnames):
        path = Path(env.doc2path(docname))
        if path.suffix != ".ipynb" or not path.is_file():
            continue
        posix = PurePosixPath(path.as_posix())
        if any(posix.match(pattern) for pattern in nb_config.execution_excludepatterns):
            continue
        nb = nbformat.read(path, as_version=4)
        try:
            cache.match_cache_notebook(nb)
        except KeyError:
            stale.append((docname, path, nb))
    return stale


def jobs(app, count: int) -> int:
    """How many notebooks run at once: ``course_execution_jobs``, else one per core."""
    wanted = app.config.course_execution_jobs or os.cpu_count() or 1
    return max(1, min(int(wanted), count))


def run_notebook(nb, path: Path, nb_config):
    """Execute ``nb`` in place in its own folder, as MyST-NB's cache mode would.

    Called in a worker thread: nbclient runs its client on the thread's event loop, which
    this opens and closes (else each thread leaves an open loop behind).
    """
    from jupyter_cache.executors.utils import single_nb_execution

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return single_nb_execution(
            nb,
            cwd=str(path.parent.resolve()),
            allow_errors=nb_config.execution_allow_errors,
            timeout=nb_config.execution_timeout,
            meta_override=True,
        )
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def execute_in_parallel(app, env, docnames) -> None:
    """Fill jupyter-cache with the notebooks Sphinx is about to read, several at a time."""
    nb_config = getattr(env, "mystnb_config", None)
    if nb_config is not None:
        use_frame_store(nb_config)
    if nb_config is None or nb_config.execution_mode != "cache" or nb_config.execution_in_temp:
        return  # only the course's own setting (cache, run in the notebook's folder) is sped up
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(nb_config.execution_cache_path)
    stale = stale_notebooks(env, docnames, cache, nb_config)
    if len(stale) < 2:
        return  # nothing to gain: MyST-NB runs one notebook as fast
    workers = jobs(app, len(stale))
    LOGGER.info(f"executing {len(stale)} notebooks, {workers} at a time")
    records = {docname: cache.add_nb_to_project(str(path)) for docname, path, _ in stale}
    for docname, _, _ in stale:
        LOGGER.info("Executing notebook (in parallel)", location=docname)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda item: run_notebook(item[2], item[1], nb_config), stale)
        for (docname, _, nb), result in zip(stale, results, strict=True):
            if result.err is not None:
                LOGGER.info("Executing notebook failed: MyST-NB runs it again and reports why", location=docname)
                continue
            LOGGER.info(f"Executed notebook in {result.time:.2f} seconds", location=docname)
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, records[docname].uri, data={"execution_seconds": result.time}),
                check_validity=False,
                overwrite=True,
            )


def prune_frame_store(app, exception) -> None:
    """After a build: drop the frame store's entries unused for a month, and the oldest beyond its size cap."""
    store, BookClient.frame_store = BookClient.frame_store, None
    if store is not None:
        dropped = framecache.prune(store)
        if dropped:
            LOGGER.info(f"frame store: {dropped} old entries removed from {store}")


def setup(app) -> dict:
    nbclient.client.NotebookClient = BookClient
    if app is not None:
        app.add_config_value("course_execution_jobs", 0, "env", [int])
        app.connect("env-before-read-docs", execute_in_parallel)
        app.connect("build-finished", prune_frame_store)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
