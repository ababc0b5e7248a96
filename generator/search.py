"""Search: a full-text index of the built site, made with Pagefind at build time.

The index lives in ``pagefind/`` inside the output and is read by the search
page in the browser; no server is needed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path


def available() -> bool:
    return importlib.util.find_spec("pagefind") is not None


def index_site(folder: Path) -> str | None:
    """Index ``folder`` in place; returns a problem description, or None on success."""
    if not available():
        return None
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pagefind", "--site", str(folder), "--output-subdir", "pagefind",
             "--silent"],
            capture_output=True, text=True, timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"search indexing failed: {exc}"
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        return "search indexing failed: " + (detail[-1] if detail else f"exit code {proc.returncode}")
    return None
