"""A Sphinx extension for the book build: its notebook runs use the quiet Output widget.

The book executes its notebooks through MyST-NB and jupyter-cache, which build their own
nbclient clients; this swaps the Output widget stand-in they get for
:class:`autograder.execution.QuietOutputWidget`, so an ``interact`` demo cannot stall the build
until the cell timeout (see that class). Loaded from ``_config.yml`` (``extra_extensions``).
"""

from __future__ import annotations

import nbclient.client

from autograder.execution import QuietOutputWidget


def setup(app) -> dict:
    nbclient.client.OutputWidget = QuietOutputWidget
    return {"parallel_read_safe": True, "parallel_write_safe": True}
