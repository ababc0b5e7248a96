"""Links between sources: map what an author wrote to the page or file it means.

Authors write ``other.md``, ``../handbook/x.md#heading``, legacy ``other.html``,
a file next to the page (``img/diagram.png``), a root-relative site URL
(``/tags/devrel/``) or a fragment (``#solution``). ``resolve`` turns each into a
``Target`` without touching the filesystem: the ``UrlIndex`` holds what exists.
"""

from __future__ import annotations

import difflib
import posixpath
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Iterable
from urllib.parse import unquote

from .content import INDEX_STEMS, MARKDOWN_SUFFIXES, PATTERN, Page

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")

EXTERNAL, PAGE, FILE, URL, BROKEN, SKIP = "external", "page", "file", "url", "broken", "skip"


@dataclass(frozen=True)
class UrlIndex:
    by_source: dict = field(hash=False)      # source path -> Page (every loaded page, drafts too)
    by_url: dict = field(hash=False)         # output URL -> Page
    files: dict = field(hash=False)          # source path of a non-Markdown file -> output URL
    generated: frozenset = frozenset()       # URLs of generated pages (tags, catalog, ...)
    slugs: dict = field(default_factory=dict, hash=False)   # pattern slug -> Page
    base_path: str = "/"
    file_outputs: frozenset = frozenset()    # output URLs of the non-Markdown files
    folders: dict = field(default_factory=dict, hash=False)  # source folder -> its index or README page
    stems: dict = field(default_factory=dict, hash=False)    # source path less .md/.markdown (any case) -> Page
    sections: dict = field(default_factory=dict, hash=False)  # content folder -> URL of its generated page
    redirects: dict = field(default_factory=dict, hash=False)  # old URL of a page (an alias written as a path) -> Page
    source_folders: frozenset = frozenset()  # every folder holding a page or file, and the folders above it


@dataclass(frozen=True)
class Target:
    kind: str                     # one of EXTERNAL, PAGE, FILE, URL, BROKEN, SKIP
    page: Page | None = None
    url: str | None = None        # site-relative output URL
    fragment: str | None = None
    written: str = ""             # the path part as the author wrote it
    query: str = ""               # "?a=b" as written, kept in the link
    via: str | None = None        # the old URL (an alias of ``page``) the link names, when it names one
    folder: str | None = None     # for a broken link: the folder of the sources without a page it names


def linked_sources(targets: Iterable[Target]) -> set[str]:
    """The sources of the pages that ``targets`` (a page's resolved links) lead to."""
    return {target.page.source for target in targets if target.page is not None}


def _nfc(path: str) -> str:
    """One spelling of a path: "é" may be one character or "e" and an accent (as some file
    systems store names); links find the file either way."""
    return path if path.isascii() else unicodedata.normalize("NFC", path)


def section_folders(patterns_dir: str, handbook_dir: str) -> dict[str, str]:
    """The content folders whose pages the site generates: the patterns folder's is the
    catalog, the handbook folder's the handbook's index (unless a page of its own is)."""
    return {posixpath.normpath(patterns_dir.replace("\\", "/")): "patterns/",
            posixpath.normpath(handbook_dir.replace("\\", "/")): "handbook/"}


def build_index(pages: list[Page], files: dict[str, str], generated: set[str], base_path: str,
                sections: dict[str, str] | None = None) -> UrlIndex:
    by_source = {p.source: p for p in pages}
    by_source.update({_nfc(p.source): p for p in pages if not p.source.isascii()})
    files = {**files, **{_nfc(source): url for source, url in files.items() if not source.isascii()}}
    by_url: dict[str, Page] = {}
    slugs: dict[str, Page] = {}
    redirects: dict[str, Page] = {}
    for page in pages:
        by_url.setdefault(page.url, page)
        if page.kind == PATTERN:
            slugs.setdefault(page.slug, page)
        for url in page.redirects:
            redirects.setdefault(url, page)
    folders: dict[str, Page] = {}
    for source, page in by_source.items():
        folder, _, name = source.rpartition("/")
        name = posixpath.splitext(name.lower())[0]
        if name in ("index", "_index"):
            folders[folder] = page
        elif name == "readme":
            folders.setdefault(folder, page)            # an index.md wins over a README
    stems: dict[str, Page] = {}
    for source, page in sorted(by_source.items(), key=lambda item: (not item[0].endswith(".md"), item[0])):
        stem, dot, suffix = source.rpartition(".")
        if dot and "." + suffix.lower() in MARKDOWN_SUFFIXES:
            stems.setdefault(stem, page)      # "x.md" first, then "x.MD", "x.markdown"...
    source_folders: set[str] = set()
    for source in list(by_source) + list(files):
        folder = source.rpartition("/")[0]
        while folder and folder not in source_folders:
            source_folders.add(folder)
            folder = folder.rpartition("/")[0]
    return UrlIndex(by_source=by_source, by_url=by_url, files=dict(files),
                    generated=frozenset(generated), slugs=slugs, base_path=base_path,
                    file_outputs=frozenset(files.values()), folders=folders, stems=stems,
                    sections={folder: url for folder, url in (sections or {}).items() if url in generated},
                    redirects=redirects, source_folders=frozenset(source_folders))


def with_pages(index: UrlIndex, pages: Iterable[Page]) -> UrlIndex:
    """``index`` with the entries of ``pages`` replaced by those pages, for pages that kept their
    source, URL, slug and kind (edited, say, in their title): what ``build_index`` would give."""
    tables = {name: getattr(index, name) for name in ("by_source", "by_url", "slugs", "folders", "stems", "redirects")}
    copied: set[str] = set()
    for page in pages:
        old = index.by_source.get(page.source)
        if old is None or (old.url, old.slug, old.kind) != (page.url, page.slug, page.kind):
            raise ValueError(f"{page.source} is not in the index as it is")
        if old == page and old.fields == page.fields:
            continue                  # read again unchanged (a body edit): the indexed page serves
        for name, table in tables.items():
            for key in [k for k in _keys(name, page) if table.get(k) is old]:
                if name not in copied:
                    table = tables[name] = dict(table)
                    copied.add(name)
                table[key] = page
    return replace(index, **tables) if copied else index


def _keys(table: str, page: Page) -> tuple[str, ...]:
    """Where ``build_index`` may have filed ``page`` in one of its tables."""
    if table == "by_source":
        return (page.source, _nfc(page.source))
    if table == "by_url":
        return (page.url,)
    if table == "slugs":
        return (page.slug,)
    if table == "folders":
        return (page.source.rpartition("/")[0],)
    if table == "redirects":
        return page.redirects
    stem = page.source.rpartition(".")[0]
    return (stem, _nfc(stem))


def _section_for(path: str, index: UrlIndex) -> str | None:
    """The URL of the generated page that stands for a content folder (``../patterns/``), or
    for the index or README file in it that is no page (the patterns folder's README)."""
    path = path.rstrip("/")
    if path in index.sections:
        return index.sections[path]
    folder, _, name = path.rpartition("/")
    if folder in index.sections and posixpath.splitext(name.lower())[0] in INDEX_STEMS \
            and name.lower().endswith(MARKDOWN_SUFFIXES):
        return index.sections[folder]
    return None


def _page_for(path: str, index: UrlIndex) -> Page | None:
    """The page of a source path, or of a folder: its index or README page, in any case."""
    page = index.by_source.get(path)
    if page is not None:
        return page
    return index.folders.get(path)


def resolve(href: str, page: Page, index: UrlIndex, memo: dict | None = None) -> Target:
    """Where ``href``, written in ``page`` (percent-encoded, as in the page's HTML), points.
    It is split at its ``?`` and ``#`` before decoding, so ``c%23.md`` is the file ``c#.md``.
    With ``memo`` (a dict kept across calls with the same ``index``), a link written the same
    way in the same folder is resolved once."""
    href = href.strip()
    folder = page.source.rpartition("/")[0]          # posixpath.dirname, for a normalised path
    if memo is None:
        found = _resolve_in_folder(href, folder, index)
    else:
        key = (href, folder)
        found = memo.get(key, memo)
        if found is memo:
            found = memo[key] = _resolve_in_folder(href, folder, index)
    return found if found is not None else _resolve_from_page(href, page, index)


def _split(href: str) -> tuple[str, str | None, str]:
    """The decoded path, the decoded fragment (None without a ``#``) and the query of a link."""
    path, _, fragment = href.partition("#")
    path, mark, query = path.partition("?")
    return _nfc(unquote(path)), unquote(fragment) if "#" in href else None, "?" + query if mark else ""


def _with_query(target: Target, query: str) -> Target:
    return replace(target, query=query) if query and target.kind in (PAGE, FILE, URL) else target


def _resolve_in_folder(href: str, folder: str, index: UrlIndex) -> Target | None:
    """What ``href`` means in any page of ``folder``; None when that depends on the page."""
    if not href:
        return Target(SKIP)
    if href.startswith("//") or _SCHEME.match(href):
        return Target(EXTERNAL)
    path, fragment, query = _split(href)
    if not path:
        return None
    target = _resolve(path, fragment, folder, index)
    return None if target is None else _with_query(target, query)


def _resolve_from_page(href: str, page: Page, index: UrlIndex) -> Target:
    """The links whose meaning depends on the page they are in: a fragment alone, and a site
    URL written relative to the page's own output URL, e.g. "../../tags/devrel/"."""
    path, fragment, query = _split(href)
    if not path:
        return _with_query(Target(PAGE, page, page.url, fragment, ""), query)
    site_path = posixpath.normpath(posixpath.join(page.url or ".", path))
    if not site_path.startswith(".."):
        found = _resolve_url(site_path if site_path != "." else "", index, fragment, path)
        if found.kind != BROKEN:
            return _with_query(found, query)
    return Target(BROKEN, written=path, fragment=fragment)


def _resolve(path: str, fragment_value: str | None, folder: str, index: UrlIndex) -> Target | None:
    """``path`` (not empty) from a page in ``folder``; None when only the page's own URL can tell."""
    if path.startswith("@/"):                  # Zola's link to a file of the content folder
        source = posixpath.normpath("content/" + path[2:])
        name = posixpath.basename(source)
        if not name.lower().endswith(MARKDOWN_SUFFIXES) and "." not in name:
            # Hugo's ref "/handbook/guide": the page guide.md, else the folder's own page
            page = index.by_source.get(source + ".md") or _page_for(source, index)
            if page is not None:
                return Target(PAGE, page, page.url, fragment_value, path)
            section = _section_for(source, index)
            if section is not None:
                return Target(URL, url=section, fragment=fragment_value, written=path)
        return replace(_resolve("/content/" + path[2:], fragment_value, folder, index), written=path)
    if path.startswith("/"):
        # A source path from the site root, as GitHub reads "/" in a repository: "/content/x.md".
        source = posixpath.normpath(path)[1:]
        if path.lower().endswith(MARKDOWN_SUFFIXES) and source in index.by_source:
            target = index.by_source[source]
            return Target(PAGE, target, target.url, fragment_value, path)
        if source in index.files:
            return Target(FILE, url=index.files[source], fragment=fragment_value, written=path)
        section = _section_for(source, index) if source else None
        if section is not None:
            return Target(URL, url=section, fragment=fragment_value, written=path)
        site_path = path[len(index.base_path):] if path.startswith(index.base_path) else path.lstrip("/")
        return _resolve_url(site_path, index, fragment_value, path)

    if "/" in path or path.startswith("."):
        joined = posixpath.normpath(posixpath.join(folder, path))
    else:                                      # a plain name: what normpath would give
        joined = f"{folder}/{path}" if folder else path
    if joined.startswith("../") or joined == "..":
        return Target(BROKEN, written=path, fragment=fragment_value)
    lower = path.lower()
    if lower.endswith(MARKDOWN_SUFFIXES):
        target = index.by_source.get(joined)
        if target is not None:
            return Target(PAGE, target, target.url, fragment_value, path)
        section = _section_for(joined, index)
        if section is not None:
            return Target(URL, url=section, fragment=fragment_value, written=path)
        return Target(BROKEN, written=path, fragment=fragment_value)
    if lower.endswith((".html", ".htm")):
        stem = joined.rsplit(".", 1)[0]
        target = index.stems.get(stem)          # the page written as x.md, x.MD or x.markdown
        if target is None and posixpath.basename(stem) in ("index",):
            target = _page_for(posixpath.dirname(stem), index)
        if target is None and "/" not in path:
            target = index.slugs.get(posixpath.basename(stem))
        if target is not None:
            return Target(PAGE, target, target.url, fragment_value, path)
        if joined in index.files:
            return Target(FILE, url=index.files[joined], fragment=fragment_value, written=path)
        return Target(BROKEN, written=path, fragment=fragment_value)
    if joined in index.files:
        return Target(FILE, url=index.files[joined], fragment=fragment_value, written=path)
    target = _page_for(joined.rstrip("/"), index)
    if target is not None:
        return Target(PAGE, target, target.url, fragment_value, path)
    section = _section_for(joined, index)
    if section is not None:
        return Target(URL, url=section, fragment=fragment_value, written=path)
    if joined.rstrip("/") in index.source_folders:
        # A folder of the sources without an index or README page: read as a URL relative to
        # the page, "./" would be the page itself.
        return Target(BROKEN, written=path, fragment=fragment_value, folder=joined.rstrip("/"))
    return None


def _resolve_url(site_path: str, index: UrlIndex, fragment: str | None, written: str) -> Target:
    """A path relative to the site's base (no leading slash) to a page, generated page or file."""
    clean = site_path
    if clean.endswith("index.html"):
        clean = clean[: -len("index.html")]
    if clean and not clean.endswith("/") and "." not in posixpath.basename(clean):
        clean += "/"
    if clean in index.by_url:
        page = index.by_url[clean]
        return Target(PAGE, page, page.url, fragment, written)
    if clean in index.generated:
        return Target(URL, url=clean, fragment=fragment, written=written)
    if site_path in index.file_outputs:
        return Target(FILE, url=site_path, fragment=fragment, written=written)
    page = index.redirects.get(clean)
    if page is not None:           # an old URL of the page: the link goes to where it is now
        return Target(PAGE, page, page.url, fragment, written, via=clean)
    return Target(BROKEN, written=written, fragment=fragment)


def suggest_page(written: str, page: Page, index: UrlIndex) -> str | None:
    """The closest existing page to a broken link, written the way the author would write it:
    a README kept beside its folder's index page gives that page."""
    folder = posixpath.dirname(page.source)
    path = unquote(written.partition("#")[0].partition("?")[0])
    if path and not path.startswith("/") and posixpath.splitext(posixpath.basename(path).lower())[0] in INDEX_STEMS:
        stands_for = index.folders.get(posixpath.dirname(posixpath.normpath(posixpath.join(folder, path))))
        if stands_for is not None:
            return posixpath.relpath(stands_for.source, folder)
    candidates: dict[str, str] = {}
    for source, other in index.by_source.items():
        rel = posixpath.relpath(source, folder)
        candidates[rel] = rel
        if posixpath.splitext(posixpath.basename(source))[0].lower() not in INDEX_STEMS:
            candidates[posixpath.basename(source)] = rel      # many folders have an index.md
        candidates[other.slug + ".md"] = rel
        candidates[other.slug + ".html"] = rel
        candidates[other.title.lower()] = rel
        for alias in other.aliases:
            candidates[alias.lower()] = rel
    key = written.lower() if not written.lower().endswith((".md", ".html")) else written
    match = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    if not match:
        base = posixpath.basename(written)
        match = difflib.get_close_matches(base, list(candidates), n=1, cutoff=0.6)
    if match:
        return candidates[match[0]]
    return None


def never_published(written: str) -> str | None:
    """The part of a link's path that no page or file of the site can be under: a file or
    folder whose name starts with ``_`` or ``.`` (but ``_index.md``, ``.`` and ``..``)."""
    for part in unquote(written.partition("#")[0].partition("?")[0]).split("/"):
        if part.startswith((".", "_")) and part not in (".", "..") \
                and posixpath.splitext(part.lower())[0] != "_index":
            return part
    return None


def suggest_file(written: str, page: Page, index: UrlIndex) -> str | None:
    """The closest existing file (not a page) to a broken link to a file, written relative to
    ``page`` as the author would write it."""
    folder = posixpath.dirname(page.source)
    candidates: dict[str, str] = {}
    for source in index.files:
        rel = posixpath.relpath(source, folder)
        candidates.setdefault(rel, rel)
        candidates.setdefault(posixpath.basename(source), rel)
    match = difflib.get_close_matches(written, list(candidates), n=1, cutoff=0.6) or \
        difflib.get_close_matches(posixpath.basename(written), list(candidates), n=1, cutoff=0.6)
    return candidates[match[0]] if match else None


def suggest_anchor(fragment: str, ids: frozenset[str] | set[str]) -> str | None:
    """The id closest to a fragment that names none: the same in other case first."""
    same = sorted(i for i in ids if i.lower() == fragment.lower())
    if same:
        return same[0]
    match = difflib.get_close_matches(fragment, sorted(ids), n=1, cutoff=0.6)
    return match[0] if match else None
