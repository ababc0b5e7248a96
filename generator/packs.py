"""Page HTML kept on disk: pack files hold the HTML of many parsed pages back to back.

A parse whose HTML lives in a pack carries a reference instead of the HTML
(``SPILLED`` followed by ``<file>:<offset>:<length>``), so a large site's parses stay
small in memory and cheap to send between processes or to pickle. The persistent
cache keeps its packs under ``.devrel-cache/build/html/``; a cold build writes its
parses there straight from the parsing workers.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from .markdown import Rendered

SPILLED = "\x00devrel-cache:"


def is_spilled(rendered: Rendered) -> bool:
    return rendered.html.startswith(SPILLED)


def pack_name(rendered: Rendered) -> str:
    """The file name of the pack a spilled parse refers to."""
    return os.path.basename(rendered.html[len(SPILLED):].rsplit(":", 2)[0])


def html_of(rendered: Rendered) -> str:
    """The HTML of a parse, read back from its pack file when it was spilled."""
    if not rendered.html.startswith(SPILLED):
        return rendered.html
    path, offset, length = rendered.html[len(SPILLED):].rsplit(":", 2)
    with open(path, "rb") as handle:
        handle.seek(int(offset))
        data = handle.read(int(length))
    if len(data) != int(length):
        raise OSError(f"cached HTML in '{path}' is cut short")
    return data.decode("utf-8")


def spill(folder: Path, parses: list[Rendered]) -> list[Rendered]:
    """``parses`` with their HTML written to one new pack file in ``folder``: the same parses,
    each referring to its place in the pack. Parses already spilled are left as they are."""
    fresh = [i for i, parsed in enumerate(parses) if not parsed.html.startswith(SPILLED)]
    if not fresh:
        return list(parses)
    folder.mkdir(parents=True, exist_ok=True)
    pack = folder / f"{os.getpid()}-{time.time_ns()}.pack"
    result = list(parses)
    offset = 0
    with open(pack, "xb") as handle:
        for i in fresh:
            data = parses[i].html.encode("utf-8")
            handle.write(data)
            result[i] = replace(parses[i], html=f"{SPILLED}{pack}:{offset}:{len(data)}")
            offset += len(data)
    return result
