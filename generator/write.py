"""Writing: put a finished site into the output folder atomically.

The new site is assembled in a temporary folder beside the output and swapped
in with renames, so a reader or a failed build never sees a half-written
folder. Files whose bytes did not change are hard-linked from the previous
output, keeping their modification time. Nothing outside the output folder is
ever deleted.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable


class OutputError(Exception):
    pass


def replace_file(path: Path, write: Callable[[object], None], mode: int | None = None) -> None:
    """Replace ``path`` atomically: ``write(handle)`` fills a temporary file beside it, which
    then takes its place, so a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def update_file(path: Path, data: bytes) -> bool:
    """Replace ``path`` with ``data`` unless it already holds exactly that; True when written."""
    if _same_bytes(path, data):
        return False
    replace_file(path, lambda handle: handle.write(data), mode=0o644)
    return True


# Every output folder holds this file: a folder without it was not written by a build, so a
# build never replaces it (and the files someone keeps there) with a site.
MARKER = ".devrel-site"
MARKER_TEXT = b"This folder is written by 'devrel-site build' and replaced whole by the next build.\n"


def check_output_folder(output: Path, root: Path, protected: list[Path]) -> None:
    """Refuse an output folder that is, or contains, the site root or its content, that
    overlaps a ``protected`` folder, that is not a folder, or that holds files no build wrote."""
    if output.is_symlink():
        raise OutputError(f"refusing to use '{output}' as the output folder: it is a symbolic link "
                          f"(name the folder it leads to)")
    output = output.resolve()
    root = root.resolve()
    if output == root or output in root.parents or output == Path(output.anchor):
        raise OutputError(f"refusing to use '{output}' as the output folder: it contains the site root")
    for folder in protected:
        folder = folder.resolve()
        if folder == output or output in folder.parents or folder in output.parents:
            raise OutputError(f"refusing to use '{output}' as the output folder: it overlaps '{folder}'")
    if output.exists() and not output.is_dir():
        raise OutputError(f"refusing to use '{output}' as the output folder: it exists and is not a folder")
    if output.is_dir() and not (output / MARKER).is_file() and any(output.iterdir()):
        raise OutputError(f"refusing to replace '{output}': it holds files that no build wrote (it has no "
                          f"'{MARKER}' file); empty or remove it, or choose another output folder")


def _same_bytes(path: Path | str, data: bytes) -> bool:
    try:
        if os.stat(path).st_size != len(data):
            return False
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False


def _same_file(a: Path, b: Path) -> bool:
    try:
        sa, sb = a.stat(), b.stat()
        if sa.st_size != sb.st_size:
            return False
        return a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def stage_file(folder: Path | str, previous: Path | str | None, rel: str, data: bytes) -> bool:
    """Put output ``rel`` into the staging ``folder``: a hard link to the file in the
    ``previous`` output when its bytes are equal, else written anew (then True). A plain
    function of paths, so the process that rendered the file can store it. ``previous`` is
    None when there is no previous output to compare with."""
    target = os.path.join(folder, rel)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if previous is not None:
        old = os.path.join(previous, rel)
        if _same_bytes(old, data):
            try:
                os.link(old, target)
            except OSError:
                shutil.copy2(old, target)
            return False
    with open(target, "wb") as handle:
        handle.write(data)
    return True


class Staging:
    """A new output folder being assembled beside the old one; ``commit`` swaps it in.

    Files arrive one at a time (``add``, ``copy``), so a large site never has to be
    held in memory whole.
    """

    def __init__(self, output: Path):
        self.output = output.resolve()
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self._previous = self.output.is_dir()
        self.folder = _new_folder(self.output.parent, f".{self.output.name}.new-")
        (self.folder / MARKER).write_bytes(MARKER_TEXT)
        self.changed = 0
        self.files = 0
        self._written: set[str] = set()

    def add(self, rel: str, data: bytes) -> None:
        self.record(rel, self.writer()(rel, data))

    def writer(self) -> Callable[[str, bytes], bool]:
        """``writer(rel, data)`` stages one output and says whether it was written anew.
        It may run in another process (a render worker); tell ``record`` what it did."""
        previous = str(self.output) if self._previous else None
        return functools.partial(stage_file, str(self.folder), previous)

    def record(self, rel: str, written_anew: bool) -> None:
        self.files += 1
        self._written.add(rel)
        self.changed += bool(written_anew)

    def copy(self, rel: str, source: Path) -> None:
        if rel in self._written:
            return
        self.files += 1
        self._written.add(rel)
        target = self.folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        previous = self.output / rel
        if _same_file(previous, source):
            try:
                os.link(previous, target)
                return
            except OSError:
                pass
        shutil.copy2(source, target)
        self.changed += 1

    def commit(self) -> None:
        _swap(self.folder, self.output)

    def abort(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _new_folder(parent: Path, prefix: str) -> Path:
    """A new, empty folder with a unique name, with the permissions any folder the user makes
    gets (``0777`` less the umask), so a web server running as another user can read the site."""
    while True:
        folder = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            folder.mkdir(0o777)
            return folder
        except FileExistsError:
            continue


def _swap(staging: Path, output: Path) -> None:
    if not output.exists():
        os.rename(staging, output)
        return
    if not output.is_dir() or output.is_symlink():
        raise OutputError(f"output path '{output}' exists and is not a folder")
    retired = Path(tempfile.mkdtemp(prefix=f".{output.name}.old-", dir=output.parent))
    retired.rmdir()
    os.rename(output, retired)
    try:
        os.rename(staging, output)
    except OSError:
        os.rename(retired, output)
        raise
    shutil.rmtree(retired, ignore_errors=True)
