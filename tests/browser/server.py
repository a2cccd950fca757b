"""Serve a built book over HTTP on 127.0.0.1 and a free port, from a background thread."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 (the standard library's own class attribute)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".ipynb": "application/octet-stream",  # downloaded, as a static host serves it
    }

    def log_message(self, format, *args):  # the tests report failed requests themselves
        pass


class BookServer:
    """`with BookServer(html) as url:` serves `html` at `url` (ending in "/")."""

    def __init__(self, html: Path):
        handler = functools.partial(_Quiet, directory=str(html))
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
