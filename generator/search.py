"""Search: a full-text index of the built site, made with Pagefind at build time.

The index lives in ``pagefind/`` inside the output and is read by the search
page in the browser; no server is needed.

A large site is indexed in parts: with more pages than ``[search] pages_per_index``,
its HTML files are shared out among several indexes (``pagefind/0/``, ``pagefind/1/``...)
by a hash of their path, and the search page merges them. An edit then changes the
files of one part or a few, and a warm build indexes only those again; Pagefind itself
has no incremental mode. A site within the limit has one index in ``pagefind/``. An index
made again is written over the last one, which Pagefind does far faster than writing a
new one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FOLDER = "pagefind"


def available() -> bool:
    return importlib.util.find_spec("pagefind") is not None


def index_count(pages: int, per_index: int) -> int:
    """How many indexes a site of ``pages`` pages is shared out among."""
    return max(1, -(-pages // max(1, per_index)))


def bundles(count: int) -> list[str]:
    """The site-relative folders of the indexes, the first one the main bundle."""
    return [f"{FOLDER}/"] if count == 1 else [f"{FOLDER}/{k}/" for k in range(count)]


def part_of(path: str, count: int) -> int:
    """The index an HTML file (its path in the output) belongs to: fixed while ``count`` is."""
    if count == 1:
        return 0
    return int.from_bytes(hashlib.blake2b(path.encode("utf-8"), digest_size=8).digest(), "big") % count


def html_files(folder: Path) -> list[str]:
    """The HTML files of a built site, by output path, the index's own files left out."""
    found = []
    for base, dirs, files in os.walk(folder):
        rel = os.path.relpath(base, folder).replace(os.sep, "/")
        if rel == ".":
            dirs[:] = [d for d in dirs if d != FOLDER]
            prefix = ""
        else:
            prefix = rel + "/"
        found.extend(prefix + name for name in files if name.endswith((".html", ".htm")))
    return sorted(found)


def _file_count(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def parts_present(folder: Path, count: int) -> bool:
    """Whether ``folder`` holds an index laid out for ``count`` parts."""
    root = folder / FOLDER
    if count == 1:
        return (root / "pagefind-entry.json").is_file()
    present = {entry.name for entry in os.scandir(root)} if root.is_dir() else set()
    return present == {str(k) for k in range(count)} and \
        all((root / str(k) / "pagefind-entry.json").is_file() for k in range(count))


def index_site(folder: Path, count: int = 1, only: set[int] | None = None) -> str | None:
    """Index ``folder`` in place, in ``count`` parts (only the parts in ``only``, when given,
    and only when the index already has that layout); returns a problem, or None on success."""
    if not available():
        return None
    again = only is not None and parts_present(folder, count)
    if not again:
        shutil.rmtree(folder / FOLDER, ignore_errors=True)
    if count == 1:
        return _pagefind(folder, folder / FOLDER, again, len(html_files(folder)) if again else 0)
    parts = only if again and only is not None else set(range(count))
    members: dict[int, list[str]] = {k: [] for k in parts}
    for path in html_files(folder):
        part = part_of(path, count)
        if part in members:
            members[part].append(path)
    # Pagefind uses both cores for one index, but not fully: two at a time finish sooner.
    with ThreadPoolExecutor(max_workers=2) as pool:
        problems = list(pool.map(lambda k: _index_part(folder, k, members[k], again), sorted(members)))
    return next((problem for problem in problems if problem), None)


def _index_part(folder: Path, part: int, paths: list[str], again: bool) -> str | None:
    """One part: its files, hard-linked into a scratch folder beside the site with their
    paths kept (so their URLs are the same), indexed into ``pagefind/<part>/``."""
    target = folder / FOLDER / str(part)
    scratch = Path(tempfile.mkdtemp(prefix=f".search-{part}-", dir=folder.parent))
    try:
        for path in paths:
            link = scratch / path
            link.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(folder / path, link)
            except OSError:
                shutil.copyfile(folder / path, link)
        return _pagefind(scratch, target, again, len(paths))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _pagefind(site: Path, output: Path, again: bool = False, pages: int = 0) -> str | None:
    """Run Pagefind over ``site`` into ``output``. ``again``: ``output`` holds this index as the
    last build left it; Pagefind then writes only the files whose content changed (it names
    files by their content and keeps those already there), far fewer than a fresh index. The
    files it no longer refers to stay behind, unused; once they would outnumber the pages,
    the index is made afresh. Without ``again``, ``output`` is made afresh."""
    if not again or _file_count(output) > 2 * pages + 100:
        shutil.rmtree(output, ignore_errors=True)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pagefind", "--site", str(site), "--output-path", str(output), "--silent"],
            capture_output=True, text=True, timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"search indexing failed: {exc}"
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        return "search indexing failed: " + (detail[-1] if detail else f"exit code {proc.returncode}")
    return None
