"""Shared helpers: build small sites in temporary folders and run the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

REPO = Path(__file__).resolve().parent.parent


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> CliResult:
    proc = subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def pattern(title: str, *, body_extra: str = "", tags: str = "[devrel]", categories: str = "[Social]",
            date: str = "2024-01-02", status: str = "published", sections: dict | None = None,
            extra_header: str = "") -> str:
    """A modern-format pattern page."""
    sections = sections if sections is not None else {
        "Problem": f"The problem of {title}.",
        "Context": f"The context of {title}.",
        "Solution": f"The solution of {title}.",
        "Consequences": f"The consequences of {title}.",
    }
    parts = [f"---\ntitle: {title}\ndate: {date}\ntags: {tags}\ncategories: {categories}\n"
             f"description: About {title}.\nstatus: {status}\n{extra_header}---\n"]
    for name, text in sections.items():
        parts.append(f"## {name}\n\n{text}\n")
    if body_extra:
        parts.append(body_extra)
    return "\n".join(parts)


@pytest.fixture
def site(tmp_path: Path):
    """A factory: ``site(files)`` writes the files into a fresh site root and returns it."""
    def make(files: dict[str, str | bytes], name: str = "site") -> Path:
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        return write_files(root, files)
    return make
