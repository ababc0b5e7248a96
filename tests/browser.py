"""Shared helpers for the browser tests: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import functools
import http.server
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium); .ci/run installs it")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def static_server(folder: Path, prefix: str = ""):
    """A real HTTP server on 127.0.0.1 serving ``folder`` under the path ``/<prefix>/``;
    yields the site's URL."""
    root = folder
    if prefix:
        root = Path(tempfile.mkdtemp(prefix="devrel-serve-"))
        (root / prefix).symlink_to(folder.resolve(), target_is_directory=True)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/" + (prefix + "/" if prefix else "")
    finally:
        server.shutdown()
        server.server_close()
        if prefix:
            shutil.rmtree(root, ignore_errors=True)
