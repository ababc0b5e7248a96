"""Link checking for a folder of HTML: our own build output, or any static site.

``check_site`` reads every ``.html`` file under a folder once, collecting the ids
it defines and the links it contains, then checks each link:

* internal links (relative, root-relative, or absolute URLs under an absolute
  ``base_url``) must point to a file inside the folder, and their ``#fragment``
  must name an ``id`` (or ``<a name>``) of the target page;
* external links (``http``, ``https`` and protocol-relative ``//host/...``) are
  collected, and requested only when ``external=True``.

Nothing is printed and nothing raises for a broken link: problems come back as
``Diagnostic`` values with the codes ``link-broken``, ``link-anchor`` and
``link-external``. ``docs/linkcheck.md`` describes the behaviour for users.

Pages are read with the standard library's ``html.parser`` tokenizer rather than
a tree builder: it reports the exact line and column of every start tag, never
builds a tree we would not use, and is several times faster than BeautifulSoup
(which, with the lxml back end, reports no line numbers at all).
"""

from __future__ import annotations

import difflib
import http.client
import json
import os
import re
import socket
import ssl
import tempfile
import threading
import time
import unicodedata
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Iterator, Mapping, NamedTuple, Sequence
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass

from . import diagnostics
from .diagnostics import Diagnostic
from .urls import srcset_spans, valid_base_url

__all__ = [
    "Link",
    "LinkcheckResult",
    "PageScan",
    "check_site",
    "compile_ignore",
    "parse_meta_refresh",
    "parse_srcset",
    "scan_html",
]

# Files read as pages; every other file is only a possible link target.
HTML_SUFFIXES = (".html", ".htm")
# Above this many pages the parsing is spread over two worker processes.
PARALLEL_THRESHOLD = 200
WORKERS = 2
# Link text longer than this is shortened in messages.
LABEL_LIMIT = 60

# Elements and the attributes of theirs that hold a URL to check.
_URL_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "a": ("href",),
    "area": ("href",),
    "link": ("href", "imagesrcset"),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "script": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "object": ("data",),
    "input": ("src",),                  # only with type="image"
    "blockquote": ("cite",),
    "q": ("cite",),
    "del": ("cite",),
    "ins": ("cite",),
    # SVG elements; inside <svg>, xlink:href is read when href is absent.
    "use": ("href",),
    "image": ("href",),
}
# Attributes holding a comma-separated list of image candidates.
_SRCSET_ATTRIBUTES = frozenset({"srcset", "imagesrcset"})
# Elements whose content is text, not markup (besides <script> and <style>,
# which HTMLParser already reads so).
_RAW_TEXT_ELEMENTS = frozenset({"textarea", "title"})
# Elements that start SVG or MathML content, where <title> holds markup.
_FOREIGN_ELEMENTS = frozenset({"svg", "math"})
# <link rel> values that name an origin to warm up, not a resource to fetch.
_HINT_RELS = frozenset({"preconnect", "dns-prefetch"})

_WHITESPACE = " \t\n\r\f"
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# A refresh's time (digits, then digits and dots, as the HTML standard reads it)
# and the separator after it; what follows is the URL part.
_META_REFRESH = re.compile(r"[ \t\n\r\f]*(?:\d|(?=\.))[\d.]*"
                           r"(?:(?=[;, \t\n\r\f])[ \t\n\r\f]*(?:[;,][ \t\n\r\f]*)?(?P<rest>.*))?",
                           re.DOTALL)
_META_REFRESH_URL = re.compile(r"url[ \t\n\r\f]*=[ \t\n\r\f]*", re.IGNORECASE)
_WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


# --------------------------------------------------------------------------
# Public values
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkcheckResult:
    diagnostics: tuple[Diagnostic, ...]   # sorted by path, line
    pages: int                            # html files checked
    links: int                            # link occurrences checked (internal + external)
    external_urls: tuple[str, ...]        # unique external URLs found (sorted)


class Link(NamedTuple):
    """One URL found in a page, where it was found, and how to name it.

    An immutable named tuple rather than a dataclass: a large site has hundreds
    of thousands of these, and tuples are much cheaper to build and to pass
    back from worker processes.
    """

    url: str            # the attribute value as written, surrounding whitespace removed
    line: int
    column: int
    label: str          # "'Link text'" for <a>, else the element, like "<img src>"


@dataclass(frozen=True)
class PageScan:
    """Everything the checker needs from one page, read in a single pass."""

    path: str                       # relative to the checked folder, '/' separators
    ids: frozenset[str]             # id attributes and <a name> values
    base_href: str | None           # the first <base href>, if any
    links: tuple[Link, ...]         # in document order
    # Where and why reading stopped early: (line, column, reason), else None.
    stopped: tuple[int, int, str] | None = None


# --------------------------------------------------------------------------
# Reading pages
# --------------------------------------------------------------------------

def parse_srcset(value: str) -> list[str]:
    """The URLs of a ``srcset`` attribute, in order, without their descriptors (see
    ``urls.srcset_spans``)."""
    return [value[start:end] for start, end in srcset_spans(value)]


def parse_meta_refresh(content: str) -> str | None:
    """The URL of a ``<meta http-equiv="refresh" content="...">``, if it names one.

    Follows the HTML standard: a time (``0``, ``1.5``), then ``;``, ``,`` or
    whitespace, then the URL, optionally after ``url=`` and in quotes (a
    quoted URL ends at its closing quote).
    """
    match = _META_REFRESH.fullmatch(content)
    url = match.group("rest") if match else None
    if not url:
        return None
    prefix = _META_REFRESH_URL.match(url)
    if prefix:
        url = url[prefix.end():]
    if url[:1] in ("'", '"'):
        url = url[1:].partition(url[0])[0]
    return url.strip(_WHITESPACE) or None


def _clean_url(value: str) -> str:
    """Strip surrounding whitespace and drop tabs and newlines, as browsers do."""
    value = value.strip(_WHITESPACE)
    if "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\t", "").replace("\n", "").replace("\r", "")
    return value


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > LABEL_LIMIT:
        text = text[: LABEL_LIMIT - 3].rstrip() + "..."
    return text


class _PageReader(HTMLParser):
    """Collects ids and links from the start tags of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.base_href: str | None = None
        # Each entry: [url, line, column, label or None]; the label of an <a> is
        # filled in when the element closes.
        self.entries: list[list] = []
        self._anchor: list | None = None        # entries of the open <a>
        self._anchor_text: list[str] = []
        self._anchor_fallback = ""
        self._foreign = 0                       # open <svg> and <math> elements
        self._templates = 0                     # open <template> elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values: dict[str, str] = {}
        for name, value in attrs:
            if value is not None and name not in values:
                values[name] = value
        if not self._templates:
            self._add_ids(tag, values)
        self._track_content(tag)
        if tag == "a":
            self._close_anchor()
        elif tag == "img" and self._anchor is not None:
            alt = values.get("alt")
            if alt:
                self._anchor_text.append(f" {alt} ")
        if tag == "base":
            if self.base_href is None and "href" in values:
                self.base_href = _clean_url(values["href"])
            return
        if tag == "meta":
            if values.get("http-equiv", "").strip().lower() == "refresh":
                url = parse_meta_refresh(values.get("content", ""))
                if url:
                    self._add(_clean_url(url), "<meta refresh>")
            return
        if tag in _URL_ATTRIBUTES and not self._ignores_urls(tag, values):
            self._add_attribute_links(tag, values)

    def _ignores_urls(self, tag: str, values: Mapping[str, str]) -> bool:
        """Elements whose URL attributes fetch nothing: an ``<input>`` that is not
        an image button, and a ``<link>`` whose every ``rel`` only names an origin."""
        if tag == "input":
            return values.get("type", "").strip().lower() != "image"
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            return bool(rels) and rels <= _HINT_RELS
        return False

    def _add_attribute_links(self, tag: str, values: Mapping[str, str]) -> None:
        for attribute in _URL_ATTRIBUTES[tag]:
            value = values.get(attribute)
            if value is None and attribute == "href" and self._foreign:
                attribute = "xlink:href"         # SVG 1.1; SVG 2 prefers href
                value = values.get(attribute)
            if value is None:
                continue
            label = None if tag == "a" else f"<{tag} {attribute}>"
            if attribute in _SRCSET_ATTRIBUTES:
                for url in parse_srcset(value):
                    self._add(_clean_url(url), label)
            else:
                url = _clean_url(value)
                if url:
                    entry = self._add(url, label)
                    if tag == "a":
                        self._anchor = entry
                        self._anchor_text = []
                        self._anchor_fallback = values.get("aria-label") or values.get("title") or ""

    def parse_html_declaration(self, i: int) -> int:
        """Read ``<![...`` as browsers do outside SVG and MathML: a bogus comment
        that ends at the next ``>``. (The base class reads it as an SGML marked
        section and raises on names it does not know, such as ``<![ x``.)"""
        if self.rawdata.startswith("<![", i):
            end = self.rawdata.find(">", i + 3)
            return -1 if end < 0 else end + 1
        return super().parse_html_declaration(i)

    def handle_data(self, data: str) -> None:
        if self._anchor is not None:
            self._anchor_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close_anchor()
        elif tag in _FOREIGN_ELEMENTS and self._foreign:
            self._foreign -= 1
        elif tag == "template" and self._templates:
            self._templates -= 1

    def _add_ids(self, tag: str, values: Mapping[str, str]) -> None:
        """The element's ``id``, and the ``name`` of an ``<a>``: fragment targets."""
        ident = values.get("id")
        if ident:
            self.ids.add(ident)
        name = values.get("name") if tag == "a" else None
        if name:
            self.ids.add(name)

    def _track_content(self, tag: str) -> None:
        """Follow SVG, MathML and ``<template>`` nesting (ids inside a template are
        not part of the document), and read the text of ``<textarea>`` and
        ``<title>`` as text, as browsers do (except an SVG ``<title>``)."""
        if tag in _FOREIGN_ELEMENTS:
            self._foreign += 1
        elif tag == "template":
            self._templates += 1
        elif tag in _RAW_TEXT_ELEMENTS and not self._foreign:
            self.set_cdata_mode(tag)

    def close(self) -> None:
        super().close()
        self._close_anchor()

    def _add(self, url: str, label: str | None) -> list:
        line, offset = self.getpos()
        entry = [url, line, offset + 1, label]
        self.entries.append(entry)
        return entry

    def _close_anchor(self) -> None:
        if self._anchor is None:
            return
        text = _shorten("".join(self._anchor_text)) or _shorten(self._anchor_fallback)
        self._anchor[3] = f"'{text}'" if text else "<a href>"
        self._anchor = None
        self._anchor_text = []


def scan_html(text: str, path: str = "") -> PageScan:
    """Read one page: the ids it defines, its ``<base href>`` and its links."""
    reader = _PageReader()
    stopped = None
    try:
        reader.feed(text)
        reader.close()
    except Exception as exc:  # a tokenizer failure on hostile markup: keep what was read
        reader._close_anchor()
        line, offset = reader.getpos()
        stopped = (line, offset + 1, f"{type(exc).__name__}: {exc}")
    links = tuple(Link(url, line, column, label or "<a href>")
                  for url, line, column, label in reader.entries)
    return PageScan(path, frozenset(reader.ids), reader.base_href, links, stopped)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from bs4.dammit import UnicodeDammit  # detects <meta charset> and friends
        guess = UnicodeDammit(data, is_html=True).unicode_markup
        return guess if guess is not None else data.decode("utf-8", errors="replace")


def _scan_file(job: tuple[str, str]) -> PageScan:
    folder, relative = job
    try:
        data = (Path(folder) / relative).read_bytes()
    except OSError:
        return PageScan(relative, frozenset(), None, ())
    return scan_html(_decode(data), relative)


def _scan_pages(folder: Path, pages: Sequence[str]) -> list[PageScan]:
    """Scan pages in order; two worker processes for large sites."""
    jobs = [(str(folder), page) for page in pages]
    if len(jobs) > PARALLEL_THRESHOLD:
        import multiprocessing
        try:
            with multiprocessing.get_context().Pool(WORKERS) as pool:
                return list(pool.imap(_scan_file, jobs, chunksize=max(8, len(jobs) // (WORKERS * 8))))
        except (OSError, AssertionError):  # no process support here (a sandbox, a
            pass                              # daemon process): read serially
    return [_scan_file(job) for job in jobs]


def _list_files(folder: Path) -> tuple[list[str], list[str]]:
    """Every file under the folder, and the pages among them: relative,
    '/'-separated, sorted.

    Symbolic links are followed, to files and to folders (a folder is not
    entered again inside itself, so link loops end). A link to nothing is not
    a file. Pages are the regular files with an HTML suffix; named pipes and
    other special files are only link targets, never read.
    """
    files: list[str] = []
    pages: list[str] = []
    pending: list[tuple[str, str, frozenset]] = [(str(folder), "", frozenset())]
    while pending:
        directory, prefix, above = pending.pop()
        try:
            info = os.stat(directory)
            entries = list(os.scandir(directory))
        except OSError:
            continue
        here = (info.st_dev, info.st_ino)
        if here in above:
            continue
        for entry in entries:
            name = prefix + entry.name
            try:
                if entry.is_dir():
                    pending.append((entry.path, name + "/", above | {here}))
                elif entry.is_file():
                    files.append(name)
                    if name.lower().endswith(HTML_SUFFIXES):
                        pages.append(name)
                elif os.path.exists(entry.path):
                    files.append(name)
            except OSError:
                continue
    return sorted(files), sorted(pages)


# --------------------------------------------------------------------------
# Resolving URLs
# --------------------------------------------------------------------------

def compile_ignore(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Compile ``ignore`` patterns (regular expressions searched in each URL).

    Raises ``ValueError`` naming the pattern when one is not a valid expression.
    """
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise ValueError(f"invalid linkcheck ignore pattern {pattern!r}: {exc}") from None
    return tuple(compiled)


@dataclass(frozen=True)
class _Location:
    """A resolved URL without its fragment. ``scheme`` and ``netloc`` are empty
    for the site itself when ``base_url`` is not absolute."""

    scheme: str
    netloc: str
    path: str       # percent-encoded, starts with '/'
    query: str = ""


@dataclass(frozen=True)
class _Site:
    scheme: str
    netloc: str
    base_path: str  # starts and ends with '/'

    def page_location(self, relative: str) -> _Location:
        """Where a file of the folder is served. A name that is not UTF-8 (held
        with surrogate escapes) is percent-encoded byte for byte."""
        return _Location(self.scheme, self.netloc,
                         self.base_path + quote(relative, safe="/", errors="surrogateescape"))


def _site_from_base_url(base_url: str) -> _Site:
    """The site a base URL names: an http(s) URL with a host, or a path that
    starts with '/'. Raises ValueError for anything else, as the configuration does."""
    text = base_url.strip()
    if not valid_base_url(text):
        raise ValueError(f"invalid base URL {base_url!r}: it must be a full URL "
                         "(https://example.org/docs/) or a path starting with '/'")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    netloc = _normal_netloc(scheme, parts.netloc) if scheme else ""
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    return _Site(scheme, netloc, path)


def _normal_netloc(scheme: str, netloc: str) -> str:
    netloc = netloc.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return netloc


def _remove_dot_segments(path: str) -> tuple[str, bool]:
    """RFC 3986 dot-segment removal for an absolute path; also tells whether a
    '..' tried to climb above the root (browsers silently stop there).

    As in the WHATWG URL standard, ``%2e`` counts as a dot in a dot segment.
    """
    if "." not in path and "%2" not in path:
        return path, False
    segments = path.split("/")[1:]
    output: list[str] = []
    escaped = False
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        dots = _dot_segment(segment)
        if dots == ".":
            if index == last:
                output.append("")
        elif dots == "..":
            if output:
                output.pop()
            else:
                escaped = True
            if index == last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output), escaped


def _dot_segment(segment: str) -> str:
    """'.' or '..' for a dot segment, written with dots or ``%2e``; else ''."""
    if len(segment) > 6 or not segment:
        return ""
    plain = segment.lower().replace("%2e", ".")
    return plain if plain in (".", "..") else ""


def _resolve_location(raw: str, base: _Location) -> tuple[_Location, str | None, bool, bool] | None:
    """Resolve ``raw`` against ``base``.

    Returns the location, the fragment (None when the URL has none), whether
    the URL named its own host (absolute or protocol-relative) and whether a
    '..' climbed above the root; None for a scheme that is not http(s).
    Raises ValueError for a URL that cannot be parsed.
    """
    parts = urlsplit(raw)
    fragment = parts.fragment if "#" in raw else None
    scheme = parts.scheme.lower()
    if scheme:
        if scheme not in _WEB_SCHEMES:
            return None
        if not parts.netloc:
            raise ValueError("no host name")
        path, _ = _remove_dot_segments(parts.path or "/")
        return _Location(scheme, _normal_netloc(scheme, parts.netloc), path, parts.query), fragment, True, False
    if raw.startswith("//"):
        if not parts.netloc:
            raise ValueError("no host name")
        scheme = base.scheme or "https"
        path, _ = _remove_dot_segments(parts.path or "/")
        return _Location(scheme, _normal_netloc(scheme, parts.netloc), path, parts.query), fragment, True, False
    if parts.path.startswith("/"):
        path, escaped = _remove_dot_segments(parts.path)
    elif not parts.path:
        query = parts.query if (parts.query or "?" in raw) else base.query
        return _Location(base.scheme, base.netloc, base.path, query), fragment, False, False
    else:
        directory = base.path[: base.path.rfind("/") + 1] or "/"
        path, escaped = _remove_dot_segments(directory + parts.path)
    return _Location(base.scheme, base.netloc, path, parts.query), fragment, False, escaped


def _external_url(raw: str, location: _Location, explicit: bool) -> str:
    """The URL requested for an external link: as written, minus its fragment."""
    if explicit:
        written = raw.partition("#")[0]
        return written if not written.startswith("//") else f"{location.scheme}:{written}"
    return urlunsplit((location.scheme, location.netloc, location.path, location.query, ""))


def _display(location: _Location, fragment: str | None) -> str:
    text = urlunsplit((location.scheme, location.netloc, location.path, location.query, ""))
    return text + ("#" + fragment if fragment is not None else "")


# --------------------------------------------------------------------------
# Internal targets
# --------------------------------------------------------------------------

def _file_candidates(relative: str) -> tuple[str, ...]:
    if relative == "" or relative.endswith("/"):
        return (relative + "index.html",)
    return (relative, relative + ".html", relative + "/index.html")


class _Targets:
    """Lookups over the files of the checked folder, built once per run.

    Holds memo tables for the run (the same broken target or missing id is
    usually linked from many pages), so it is created fresh by each call.
    """

    def __init__(self, files: Sequence[str], pages: Mapping[str, PageScan]) -> None:
        self.files = frozenset(unicodedata.normalize("NFC", name) for name in files)
        self.actual = {unicodedata.normalize("NFC", name): name for name in files}
        self.pages = {unicodedata.normalize("NFC", name): scan for name, scan in pages.items()}
        # Names a hint may suggest: files, and folders that have an index.html.
        self.children: dict[str, set[str]] = defaultdict(set)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for name in sorted(self.files):
            parent, _, leaf = name.rpartition("/")
            self.children[parent].add(leaf)
            self.by_name[leaf].append(name)
            if leaf == "index.html" and parent:
                grandparent, _, folder = parent.rpartition("/")
                self.children[grandparent].add(folder)
                self.by_name[folder].append(parent)
        self._found: dict[str, str | None] = {}
        self._file_hints: dict[str, tuple[str, ...]] = {}
        self._id_hints: dict[tuple[str, str], str | None] = {}

    def find(self, relative: str) -> str | None:
        if relative not in self._found:
            key = unicodedata.normalize("NFC", relative)
            self._found[relative] = next((c for c in _file_candidates(key) if c in self.files), None)
        return self._found[relative]

    def _as_file(self, name: str) -> str | None:
        if name in self.files:
            return name
        if name + "/index.html" in self.files:
            return name + "/index.html"
        return None

    def file_hints(self, relative: str) -> tuple[str, ...]:
        """Existing files close to a missing target, best first."""
        if relative in self._file_hints:
            return self._file_hints[relative]
        item = unicodedata.normalize("NFC", relative).rstrip("/")
        parent, _, leaf = item.rpartition("/")
        found: list[str] = []
        siblings = self.children.get(parent)
        if siblings and leaf:
            for match in difflib.get_close_matches(leaf, sorted(siblings), n=3, cutoff=0.6):
                found.append(self._as_file(f"{parent}/{match}" if parent else match))
        same_name = (self.by_name.get(leaf) or self.by_name.get(leaf + ".html")) if leaf else None
        if same_name:
            found.extend(self._as_file(match) for match in difflib.get_close_matches(item, same_name, n=3, cutoff=0.0))
        hints = tuple(dict.fromkeys(name for name in found if name is not None))
        self._file_hints[relative] = hints
        return hints

    def has_id(self, page: str, fragment: str) -> bool:
        scan = self.pages.get(page)
        return scan is not None and fragment in scan.ids

    def id_hint(self, page: str, fragment: str) -> str | None:
        key = (page, fragment)
        if key not in self._id_hints:
            ids = sorted(self.pages[page].ids) if page in self.pages else []
            match = difflib.get_close_matches(fragment, ids, n=1)
            self._id_hints[key] = match[0] if match else None
        return self._id_hints[key]


def _fragment_is_free(fragment: str) -> bool:
    """Fragments that never need a matching id."""
    return fragment == "" or fragment.lower() == "top" or fragment.startswith(":~:")


# --------------------------------------------------------------------------
# External URLs
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _UrlStatus:
    status: int | None
    ok: bool
    checked_at: float
    error: str | None = None

    @property
    def cacheable(self) -> bool:
        """Successes and definitive client errors; never timeouts or 5xx."""
        if self.ok:
            return True
        return (self.error is None and self.status is not None and 400 <= self.status < 500
                and self.status not in (408, 425, 429))

    def describe(self) -> str:
        if self.error:
            return self.error
        return f"HTTP {self.status}"

    def to_json(self) -> dict:
        return {"status": self.status, "ok": self.ok, "checked_at": self.checked_at, "error": self.error}


@dataclass(frozen=True)
class _Answer:
    """The outcome of one request (after redirects)."""

    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False         # an error that a retry cannot fix (a malformed URL)

    @property
    def transient(self) -> bool:
        if self.error is not None:
            return not self.permanent
        return self.status is not None and self.status >= 500


@dataclass(frozen=True)
class _HttpSettings:
    timeout: float
    backoff: float = 0.5            # seconds before retrying a failed request
    max_wait: float = 30.0          # longest Retry-After honoured
    max_redirects: int = 10
    user_agent: str = "devrel-site-linkcheck/0.1"


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _head_refused(status: int | None) -> bool:
    """A HEAD status that a GET may not share: any 4xx but 429 (which is retried
    after its delay), and 501 Not Implemented."""
    return status is not None and (400 <= status < 500 and status != 429 or status == 501)


class _HostSlots:
    """At most ``limit`` requests in flight per host. One per external check."""

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def hold(self, host: str) -> Iterator[None]:
        with self._lock:
            slot = self._slots.setdefault(host, threading.BoundedSemaphore(self._limit))
        with slot:
            yield


def _retry_after(value: str | None, cap: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(seconds, 0.0), cap)


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _ascii_target(text: str) -> str:
    return re.sub(r"[^\x21-\x7e]", lambda match: quote(match.group(0), safe=""), text)


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate error: {exc.verify_message or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, http.client.HTTPException):
        return f"bad HTTP response ({type(exc).__name__})"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


class _Fetcher:
    """Makes the requests of one external check (settings, TLS, proxies, slots)."""

    def __init__(self, settings: _HttpSettings, per_host: int) -> None:
        self.settings = settings
        self.slots = _HostSlots(per_host)
        self.tls = ssl.create_default_context()
        self.proxies = getproxies()

    def _connection(self, scheme: str, host: str, port: int) -> tuple[http.client.HTTPConnection, bool]:
        """A connection for the URL, and whether requests must use the full URL."""
        timeout = self.settings.timeout
        proxy = self.proxies.get(scheme)
        if proxy and not _is_loopback(host) and not proxy_bypass(host):
            proxy_parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
            proxy_host, proxy_port = proxy_parts.hostname or "", proxy_parts.port
            if scheme == "https":
                connection = http.client.HTTPSConnection(proxy_host, proxy_port, timeout=timeout,
                                                         context=self.tls)
                connection.set_tunnel(host, port)
                return connection, False
            return http.client.HTTPConnection(proxy_host, proxy_port, timeout=timeout), True
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self.tls), False
        return http.client.HTTPConnection(host, port, timeout=timeout), False

    def request(self, url: str, method: str) -> tuple[int, str | None, str | None]:
        """One request: status, Location and Retry-After. Raises on failure."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        if not host:
            raise ValueError("no host name")
        host = host.encode("idna").decode("ascii")
        port = parts.port or (443 if scheme == "https" else 80)
        target = _ascii_target((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        connection, full_url = self._connection(scheme, host, port)
        if full_url:
            target = f"{scheme}://{parts.netloc.rpartition('@')[2]}{target}"
        headers = {"User-Agent": self.settings.user_agent, "Accept": "*/*", "Connection": "close"}
        with self.slots.hold(f"{host}:{port}"):
            try:
                connection.request(method, target, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheader("Location"), response.getheader("Retry-After")
            finally:
                connection.close()

    def follow(self, url: str, method: str) -> _Answer:
        """Request ``url``, following redirects to the final status."""
        current = url
        for _ in range(self.settings.max_redirects + 1):
            try:
                status, location, retry_after = self.request(current, method)
                if status in _REDIRECTS and location:
                    current = urljoin(current, location.strip())
                    if urlsplit(current).scheme.lower() not in _WEB_SCHEMES:
                        return _Answer(status=status)
                    continue
            except (OSError, http.client.HTTPException) as exc:  # before ValueError: some
                return _Answer(error=_describe_error(exc))        # TLS errors are both
            except ValueError as exc:
                return _Answer(error=f"invalid URL ({exc})", permanent=True)
            return _Answer(status=status, retry_after=_retry_after(retry_after, self.settings.max_wait))
        return _Answer(error="too many redirects", permanent=True)

    def _with_retry(self, url: str, method: str, first: _Answer) -> _Answer:
        """Retry once: after Retry-After for 429, after a backoff when transient."""
        if first.status == 429:
            time.sleep(first.retry_after if first.retry_after is not None else self.settings.backoff)
            return self.follow(url, method)
        if first.transient:
            time.sleep(self.settings.backoff)
            return self.follow(url, method)
        return first

    def probe(self, url: str) -> _UrlStatus:
        """HEAD, then GET when HEAD fails or gets a client error (some servers
        answer HEAD with 403, 404 or 405 but GET with 200); one retry for each."""
        answer = self.follow(url, "HEAD")
        if answer.status == 429:
            answer = self._with_retry(url, "HEAD", answer)
        if answer.transient or _head_refused(answer.status):
            answer = self._with_retry(url, "GET", self.follow(url, "GET"))
        ok = answer.error is None and answer.status is not None and answer.status < 400
        return _UrlStatus(answer.status, ok, time.time(), answer.error)


def _interleave_hosts(urls: Sequence[str]) -> list[str]:
    """Order URLs round-robin by host so per-host limits do not idle workers."""
    by_host: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        by_host[(urlsplit(url).hostname or "")].append(url)
    queues = [by_host[host] for host in sorted(by_host)]
    ordered = []
    for index in range(max((len(queue) for queue in queues), default=0)):
        ordered.extend(queue[index] for queue in queues if index < len(queue))
    return ordered


def _check_urls(urls: Sequence[str], settings: _HttpSettings, concurrency: int,
                per_host: int) -> dict[str, _UrlStatus]:
    if not urls:
        return {}
    fetcher = _Fetcher(settings, per_host)
    ordered = _interleave_hosts(urls)
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(ordered)))) as pool:
        return dict(zip(ordered, pool.map(fetcher.probe, ordered)))


def _load_cache(path: Path, now: float, ttl: float) -> dict[str, _UrlStatus]:
    """Fresh entries of the cache file; an unreadable file counts as empty."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    fresh = {}
    for url, entry in data.items():
        if not isinstance(entry, dict):
            continue
        status, ok = entry.get("status"), entry.get("ok")
        checked_at, error = entry.get("checked_at"), entry.get("error")
        if not (isinstance(ok, bool)
                and (status is None or (isinstance(status, int) and not isinstance(status, bool)))
                and isinstance(checked_at, (int, float)) and not isinstance(checked_at, bool)
                and (error is None or isinstance(error, str))):
            continue
        if 0 <= now - checked_at < ttl:
            result = _UrlStatus(status, ok, float(checked_at), error)
            if result.cacheable:
                fresh[url] = result
    return fresh


def _write_cache(path: Path, entries: Mapping[str, _UrlStatus]) -> None:
    """Replace the cache file atomically; a cache that cannot be written is skipped."""
    text = json.dumps({url: entries[url].to_json() for url in sorted(entries)},
                      indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
        temporary = None
    except OSError:
        pass
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _external_statuses(urls: Sequence[str], cache_file: Path | None, cache_ttl: float,
                       settings: _HttpSettings, concurrency: int, per_host: int) -> dict[str, _UrlStatus]:
    now = time.time()
    cached = _load_cache(cache_file, now, cache_ttl) if cache_file is not None else {}
    wanted = [url for url in urls if url not in cached]
    fresh = _check_urls(wanted, settings, concurrency, per_host)
    if cache_file is not None:
        keep = dict(cached)
        keep.update((url, status) for url, status in fresh.items() if status.cacheable)
        _write_cache(cache_file, keep)
    statuses = {url: cached[url] for url in urls if url in cached}
    statuses.update(fresh)
    return statuses


def _external_hint(status: _UrlStatus) -> str | None:
    if status.status == 429:
        return "the server is rate-limiting requests; try again later"
    if status.status in (401, 403):
        return "the server refused the request; it may block automated clients (see [linkcheck] ignore)"
    if status.error == "timed out":
        return "raise [linkcheck] timeout, or ignore the URL with [linkcheck] ignore"
    return None


# --------------------------------------------------------------------------
# The check
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Verdict:
    """What a link, as written and seen from a given page base, amounts to.

    ``kind`` is 'ok', 'skip', 'external', or the code of the problem
    ('link-broken', 'link-anchor'); ``url`` is the URL to request when external.
    """

    kind: str
    url: str = ""
    reason: str = ""
    hint: str | None = None
    file_hints: tuple[str, ...] = ()    # files to suggest, best first, for a missing file


_SKIP = _Verdict("skip")


@dataclass(frozen=True)
class _Occurrence:
    page: str
    link: Link
    url: str        # the external URL to request


def _page_base(scan: PageScan, site: _Site) -> _Location:
    """Where relative links of the page resolve from, honouring ``<base href>``."""
    own = site.page_location(scan.path)
    if not scan.base_href:
        return own
    try:
        resolved = _resolve_location(scan.base_href, own)
    except ValueError:
        return own
    return resolved[0] if resolved is not None else own


def _memo_key(raw: str, base: _Location) -> tuple:
    """The parts of a page base that a link's verdict depends on, with the link.

    Root-relative and absolute links mean the same on every page; relative
    paths depend only on the page's folder; bare fragments and queries on the
    page itself.
    """
    if raw.startswith("/") or _SCHEME.match(raw):
        return (raw, base.scheme, base.netloc)
    if not raw or raw.startswith(("#", "?")):
        return (raw, base)
    return (raw, base.scheme, base.netloc, base.path[: base.path.rfind("/") + 1])


def _ignored(url: str, patterns: Sequence[re.Pattern[str]]) -> bool:
    return any(pattern.search(url) for pattern in patterns)


def _climbs_out(raw: str, base: _Location, path: str, site: _Site, explicit: bool) -> bool:
    """Whether a relative link from inside the base path resolved outside it:
    only '..' segments take a relative path there."""
    return (not explicit and not raw.startswith("/") and base.path.startswith(site.base_path)
            and not path.startswith(site.base_path))


def _judge(raw: str, base: _Location, site: _Site, targets: _Targets,
           patterns: Sequence[re.Pattern[str]]) -> _Verdict:
    """Resolve one link and check it against the folder (external ones are
    only classified here)."""
    if _ignored(raw, patterns):
        return _SKIP
    try:
        resolved = _resolve_location(raw, base)
    except ValueError as exc:
        return _Verdict("link-broken", raw, f"invalid URL ({exc})")
    if resolved is None:
        return _SKIP
    location, fragment, explicit, escaped = resolved
    internal_origin = (location.scheme, location.netloc) == (site.scheme, site.netloc)
    path = location.path
    if path + "/" == site.base_path:
        path = site.base_path
    if not internal_origin or (explicit and not path.startswith(site.base_path)):
        if location.scheme not in _WEB_SCHEMES or not location.netloc:
            return _SKIP
        url = _external_url(raw, location, explicit)
        return _SKIP if _ignored(url, patterns) else _Verdict("external", url)
    shown = _display(location, fragment)
    if _ignored(shown, patterns):
        return _SKIP
    if escaped or _climbs_out(raw, base, path, site, explicit):
        return _Verdict("link-broken", shown, "points outside the checked folder",
                        "the path has more '../' than there are folders above the page")
    if not path.startswith(site.base_path):
        return _Verdict("link-broken", shown, f"outside the site base path '{site.base_path}'",
                        f"links into this site start with '{site.base_path}'")
    encoded = path[len(site.base_path):]
    relative = unquote(encoded, errors="surrogateescape")
    page = targets.find(relative)
    if page is None:
        written = {encoded, unicodedata.normalize("NFC", relative)}
        hints = tuple(name for name in targets.file_hints(relative) if name not in written)
        return _Verdict("link-broken", shown, "no such file", file_hints=hints)
    if fragment is None or not page.lower().endswith(HTML_SUFFIXES):
        return _Verdict("ok", shown)
    decoded = unquote(fragment)
    if _fragment_is_free(decoded) or targets.has_id(page, decoded) or targets.has_id(page, fragment):
        return _Verdict("ok", shown)
    suggestion = targets.id_hint(page, decoded)
    return _Verdict("link-anchor", shown, f"no id '{decoded}' in {targets.actual.get(page, page)}",
                    f"did you mean '#{suggestion}'?" if suggestion else None)


def _link_diagnostic(page: str, link: Link, verdict: _Verdict) -> Diagnostic:
    if verdict.kind == "link-anchor":
        message = f"link {link.label} -> '{link.url}': {verdict.reason}"
    else:
        message = f"broken link {link.label} -> '{link.url}': {verdict.reason}"
    hint = verdict.hint
    if verdict.file_hints:      # the first suggestion that is not the linking page itself
        own = unicodedata.normalize("NFC", page)
        choice = next((name for name in verdict.file_hints if name != own), None)
        hint = f"did you mean '{choice}'?" if choice else None
    return diagnostics.make(page, link.line, link.column, verdict.kind, message, hint)


def _stopped_diagnostic(scan: PageScan) -> Diagnostic:
    line, column, reason = scan.stopped
    return diagnostics.make(scan.path, line, column, "internal-error",
                            f"the HTML reader stopped here ({reason}); links and ids after this point "
                            "were not checked")


def check_site(folder: Path, *, base_url: str = "/", ignore: Sequence[str] = (),
               external: bool = False, cache_file: Path | None = None,
               timeout: float = 10.0, cache_ttl: float = 86400.0,
               concurrency: int = 16, per_host: int = 4) -> LinkcheckResult:
    """Check every link of every HTML page under ``folder``.

    ``base_url`` is where the folder is published: its path maps to the folder
    root, and when it is absolute, links to URLs under it are internal.
    ``ignore`` holds regular expressions, each searched (``re.search``) in the
    link as written and in the URL it resolves to; a link matching any of them
    is skipped. External URLs are requested only when ``external`` is true,
    with results kept in ``cache_file`` (when given) for ``cache_ttl`` seconds.

    Raises ``NotADirectoryError`` when ``folder`` is not a folder, and
    ``ValueError`` for an invalid ``base_url`` or ``ignore`` pattern.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"'{folder}' is not a folder")
    patterns = compile_ignore(ignore)
    site = _site_from_base_url(base_url)
    files, pages = _list_files(folder)
    scans = _scan_pages(folder, pages)
    targets = _Targets(files, {scan.path: scan for scan in scans})

    found: list[Diagnostic] = []
    occurrences: list[_Occurrence] = []
    verdicts: dict[tuple, _Verdict] = {}
    checked = 0
    for scan in scans:
        if scan.stopped is not None:
            found.append(_stopped_diagnostic(scan))
        base = _page_base(scan, site)
        for link in scan.links:
            key = _memo_key(link.url, base)
            verdict = verdicts.get(key)
            if verdict is None:
                verdict = verdicts[key] = _judge(link.url, base, site, targets, patterns)
            if verdict.kind == "skip":
                continue
            checked += 1
            if verdict.kind == "external":
                occurrences.append(_Occurrence(scan.path, link, verdict.url))
            elif verdict.kind != "ok":
                found.append(_link_diagnostic(scan.path, link, verdict))

    external_urls = tuple(sorted({occurrence.url for occurrence in occurrences}))
    if external:
        statuses = _external_statuses(external_urls, cache_file, cache_ttl,
                                      _HttpSettings(timeout=timeout), concurrency, per_host)
        for occurrence in occurrences:
            status = statuses[occurrence.url]
            if not status.ok:
                link = occurrence.link
                found.append(diagnostics.make(
                    occurrence.page, link.line, link.column, "link-external",
                    f"external link {link.label} -> '{link.url}': {status.describe()}",
                    _external_hint(status)))

    found.sort(key=Diagnostic.sort_key)
    return LinkcheckResult(tuple(found), len(scans), checked, external_urls)
