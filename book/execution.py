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
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import nbclient.client
import nbformat
from sphinx.util import logging

from autograder.execution import HeadlessClient

LOGGER = logging.getLogger(__name__)


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


def setup(app) -> dict:
    nbclient.client.NotebookClient = HeadlessClient
    if app is not None:
        app.add_config_value("course_execution_jobs", 0, "env", [int])
        app.connect("env-before-read-docs", execute_in_parallel)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
