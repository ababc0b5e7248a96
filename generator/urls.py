"""Slugs, heading ids and relative URLs: small pure helpers shared by every stage."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Callable
from urllib.parse import quote, urlsplit

_ID_DROP = re.compile(r"[^\w\- ]", re.UNICODE)


def valid_base_url(text: str) -> bool:
    """Where a site may be published: a full http(s) URL with a host (and a port that is a
    number), or a path starting with '/' (not '//', which names a host)."""
    if text.startswith("//") or any(char.isspace() for char in text):
        return False
    try:
        parts = urlsplit(text)
        parts.port                      # raises on a port that is not a number
    except ValueError:
        return False
    if parts.scheme:
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    return text.startswith("/")


@functools.lru_cache(maxsize=1 << 16)
def slugify(text: str) -> str:
    """Lower-case words joined by hyphens. Latin letters lose their accents (``Café Chat`` ->
    ``cafe-chat``); letters of other scripts are kept as they are (``Встреча`` -> ``встреча``)."""
    decomposed = unicodedata.normalize("NFKD", str(text).lower())
    kept: list[str] = []
    ascii_base = False
    for char in decomposed:
        if unicodedata.combining(char):
            if not ascii_base:          # a mark of another script's letter is part of it
                kept.append(char)
            continue
        ascii_base = char < "\x80"
        kept.append(char)
    composed = unicodedata.normalize("NFC", "".join(kept))
    words = "".join(c if c.isalnum() or unicodedata.category(c)[0] == "M" else " " for c in composed)
    return "-".join(words.split())


def same_name(name: str) -> str:
    """Tag or category names that differ only in case or spacing name the same thing."""
    return " ".join(name.split()).casefold()


def heading_id(text: str) -> str:
    """A GitHub-style heading id of a heading's text as the page shows it (an image in it
    leaves its space): lower case, punctuation dropped, spaces to hyphens. Letters,
    digits, the marks that belong to letters (as in हिन्दी, or an accent stored on its own)
    and "_" and "-" are kept."""
    lowered = text.lower()
    if lowered.isascii():
        kept = _ID_DROP.sub("", lowered)
    else:
        kept = "".join(c for c in lowered if c.isalnum() or c in "_- " or unicodedata.category(c) in _WORD_EXTRA)
    return kept.replace(" ", "-")


_WORD_EXTRA = frozenset({"Mn", "Mc", "Me", "Pc"})     # marks and connectors: word characters to GitHub


def unique_id(base: str, used: dict[str, int]) -> str:
    """De-duplicate ``base`` against ids already used on the page (``x``, ``x-1``, ``x-2``)."""
    if not base:
        base = "section"
    if base not in used:
        used[base] = 0
        return base
    while True:
        used[base] += 1
        candidate = f"{base}-{used[base]}"
        if candidate not in used:
            used[candidate] = 0
            return candidate


_URL_SAFE = re.compile(r"^[A-Za-z0-9/._~!$&'()*+,;=:@%-]*$")


def relative_url(from_url: str, to_url: str, directory_links: bool = False) -> str:
    """A relative link from the page at ``from_url`` to ``to_url``.

    Both are site-relative paths without a leading slash: ``patterns/x/`` for a
    page, ``assets/style.css`` for a file, ``""`` for the home page. Pages link
    to ``.../index.html`` unless ``directory_links`` is set, so the site also
    works opened from disk.
    """
    folder = from_url[:from_url.rfind("/") + 1]          # "patterns/x/", or "" at the top
    if folder and not to_url.startswith(folder):
        # The page's own folder cannot be part of the prefix the two share, so every page
        # in the folder beside it gets the same answer: they share one memo entry.
        folder = _beside(folder)
    return _relative(folder, to_url, directory_links)


_OWN_FOLDER = "\0/"      # no file name holds a NUL, so no URL has this folder


def _beside(folder: str) -> str:
    """What stands for a page's own ``folder`` (not "") in links to targets outside it: a
    folder no URL has, beside it, the same for every page of the folder's parent."""
    return folder[:folder.rfind("/", 0, len(folder) - 1) + 1] + _OWN_FOLDER


def links_from(from_url: str, memo: dict[str, dict[str, str]]) -> Callable[[str], str]:
    """``relative_url`` from the page at ``from_url``, as a function of the target. What all
    pages of one folder share (the link to a target outside the page's own folder, see
    ``relative_url``) is kept in ``memo``, so a large folder's pages find their common links once."""
    folder = from_url[:from_url.rfind("/") + 1]
    shared = memo.setdefault(_beside(folder) if folder else "", {})

    def link(to_url: str) -> str:
        found = shared.get(to_url)
        if found is None or (folder and to_url.startswith(folder)):
            found = relative_url(from_url, to_url)
            if not folder or not to_url.startswith(folder):
                shared[to_url] = found
        return found

    return link


@functools.lru_cache(maxsize=1 << 16)
def _relative(folder: str, to_url: str, directory_links: bool) -> str:
    fragment = ""
    if "#" in to_url:
        to_url, fragment = to_url.split("#", 1)
        fragment = "#" + fragment
    base = folder.split("/")[:-1]            # the folders of the page's own URL
    target = to_url
    if (target.endswith("/") or target == "") and not directory_links:
        target += "index.html"
    parts = target.split("/")
    common = 0
    limit = min(len(base), len(parts) - 1)
    while common < limit and base[common] == parts[common]:
        common += 1
    rel = "../" * (len(base) - common) + "/".join(parts[common:])
    if not rel:
        rel = "./"
    if not _URL_SAFE.match(rel):
        rel = quote(rel, safe="/.-_~!$&'()*+,;=:@%")
    return rel + fragment


def output_file(url: str) -> str:
    """The file a page URL is written to: ``patterns/x/`` -> ``patterns/x/index.html``."""
    if url == "" or url.endswith("/"):
        return url + "index.html"
    return url


_HTML_WHITESPACE = " \t\n\r\f"


def srcset_spans(value: str) -> list[tuple[int, int]]:
    """Where the URLs of a ``srcset`` attribute are, in order, without their descriptors.

    Follows the HTML rules closely enough for real pages: candidates are separated by
    commas, a URL ends at whitespace, and a URL that itself ends with commas has them
    removed (so URLs containing commas survive); descriptors run to the next comma outside
    parentheses.
    """
    spans: list[tuple[int, int]] = []
    position, end = 0, len(value)
    while position < end:
        while position < end and (value[position] in _HTML_WHITESPACE or value[position] == ","):
            position += 1
        if position >= end:
            break
        start = position
        while position < end and value[position] not in _HTML_WHITESPACE:
            position += 1
        stop = position
        if value[stop - 1] == ",":
            while stop > start and value[stop - 1] == ",":
                stop -= 1
        else:
            depth = 0
            while position < end:
                char = value[position]
                position += 1
                if char == "(":
                    depth += 1
                elif char == ")":
                    depth = max(0, depth - 1)
                elif char == "," and depth == 0:
                    break
        if stop > start:
            spans.append((start, stop))
    return spans
