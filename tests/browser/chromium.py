"""Debian's chromium, driven by Playwright from PyPI: no browser is downloaded."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def executable() -> Path | None:
    """CHROMIUM=<path> if set, else /usr/bin/chromium, else a chromium on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements.txt)"
    if executable() is None:
        return "chromium is not installed (apt-get install chromium; .ci/run does it in CI)"
    from .cdn import NODE_MODULES, missing_packages

    missing = missing_packages()
    if not (NODE_MODULES / "axe-core" / "axe.min.js").is_file():  # the accessibility audits (axe.py)
        missing.append("axe-core")
    if missing:
        return f"node_modules/ lacks {', '.join(missing)} (run `npm ci`; `make install` does it)"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(executable()), args=ARGS)
