"""Serve a built book over HTTP on 127.0.0.1 and a free port, from a background thread."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path


class BookHandler(http.server.SimpleHTTPRequestHandler):
    """Serve files quietly, with the content types a static host gives the book's files."""

    extensions_map = {  # noqa: RUF012 (the standard library's own class attribute)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".ipynb": "application/octet-stream",  # downloaded, as a static host serves it
    }

    def log_message(self, format, *args):  # the tests report failed requests themselves
        pass


class BookServer:
    """`with BookServer(html) as url:` serves `html` at `url` (ending in "/").

    `handler` is the request handler class: BookHandler, or a subclass of it that changes
    how files are served (benchmarks/book_weight.py's).
    """

    def __init__(self, html: Path, handler: type[BookHandler] = BookHandler):
        handler = functools.partial(handler, directory=str(html))
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._httpd.server_port}/"

    def __enter__(self) -> str:
        self._thread.start()
        return self.url

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
