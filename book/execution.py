"""A Sphinx extension for the book build: its notebooks run in :class:`autograder.execution.HeadlessClient`.

The book executes its notebooks through MyST-NB and jupyter-cache, which call
``nbclient.execute``; that builds an ``nbclient.client.NotebookClient``, which this replaces
with the course's subclass, so an ``interact`` demo cannot stall the build until the cell
timeout and no kernel start warns about unencrypted sockets (see that class). Loaded from
``_config.yml`` (``sphinx.local_extensions``, as ``book.execution`` from the course root).
"""

from __future__ import annotations

import nbclient.client

from autograder.execution import HeadlessClient


def setup(app) -> dict:
    nbclient.client.NotebookClient = HeadlessClient
    return {"parallel_read_safe": True, "parallel_write_safe": True}
