"""Content: find the source files and load each into a ``Page``.

``discover`` lists the Markdown files; ``load`` reads one file's header and
fields into a frozen ``Page`` plus the diagnostics for anything it could not read.
Loading never raises and never parses Markdown; that is the next stage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import posixpath
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .config import SiteConfig
from .diagnostics import Diagnostic, make
from .headers import split_header
from .urls import same_name, slugify

PATTERN = "pattern"
HANDBOOK = "handbook"
# The patterns folder's own _index.md (Hugo's section page) or index.md (MkDocs'): its title
# and text head the catalog at /patterns/.
CATALOG = "catalog"
# A handbook folder's own page: index.md, _index.md (Hugo, Zola) or README.md (GitHub), any case.
INDEX_STEMS = ("index", "_index", "readme")
FRONTMATTER = ("yaml", "toml", "json", "metadata")   # header styles of modern pages (no legacy category line)
# Page files: .md, and .markdown as Hugo and Jekyll also read it (in any case).
MARKDOWN_SUFFIXES = (".md", ".markdown")

_LEGACY_CATEGORIES = re.compile(r"^\s*([*_])(?!\1)([^*_].*?)\1\s*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class SourceFile:
    path: str        # relative to the site root, POSIX separators
    kind: str        # PATTERN, HANDBOOK or CATALOG
    rel: str         # relative to its content folder


@dataclass(frozen=True)
class Page:
    source: str                  # path relative to the site root
    kind: str
    rel: str                     # path relative to its content folder
    url: str                     # site-relative output URL, e.g. "patterns/x/"
    title: str
    slug: str
    body: str
    body_line: int               # line of the body's first line in the source file
    header_style: str
    date: dt.date | None = None
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    description: str = ""
    status: str = "published"
    aliases: tuple[str, ...] = ()
    redirects: tuple[str, ...] = ()   # old URLs (site-relative) that lead here: aliases written as paths
    owner: str | None = None
    order: int | None = None
    fields: dict = field(default_factory=dict, hash=False, compare=False)
    field_lines: dict = field(default_factory=dict, hash=False, compare=False)
    header_ok: bool = True       # False when the header could not be read at all
    digest: str = field(default="", compare=False)   # content hash of the file's bytes, for the cache
    title_given: bool = True     # False when the title is a stand-in from the file name
                                 # (a title from the first level-1 heading counts as given)

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    @property
    def is_index(self) -> bool:
        return posixpath.splitext(posixpath.basename(self.rel))[0].lower() in INDEX_STEMS

    @property
    def folder(self) -> str:
        """The handbook folder this page belongs to ('' for the top)."""
        parent = posixpath.dirname(self.rel)
        if self.is_index:
            return posixpath.dirname(parent) if parent else ""
        return parent

    def line_of(self, key: str) -> int | None:
        return self.field_lines.get(key)


def walk_files(base: Path, skip: tuple[str, ...] = (".",), keep: frozenset[str] = frozenset()) -> list[str]:
    """Paths of the files under ``base``, relative to it with ``/``, sorted; names starting
    with one of ``skip`` are left out, folders included, except files named in ``keep``
    (lower case)."""
    found: list[str] = []
    if not base.is_dir():
        return found
    top = str(base)
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith(skip)]
        rel_folder = os.path.relpath(folder, top).replace(os.sep, "/")
        prefix = "" if rel_folder == "." else rel_folder + "/"
        found.extend(prefix + name for name in files if not name.startswith(skip) or name.lower() in keep)
    found.sort()
    return found


def discover(config: SiteConfig) -> list[SourceFile]:
    """Every Markdown file under the pattern and handbook folders that is a page, sorted (see
    ``published``)."""
    return published(discover_all(config))[0]


def published(sources: list[SourceFile]) -> tuple[list[SourceFile], list[tuple[SourceFile, SourceFile]]]:
    """``sources`` less those that are not pages: the READMEs of ``unpublished`` (returned too,
    with the page that stands for their folder) and the introductions of ``pattern_folder_intros``,
    but for the patterns folder's own ``_index.md`` (else ``index.md``), which is kept as the
    catalog's page (kind ``CATALOG``)."""
    intros = pattern_folder_intros(sources)
    hidden = [pair for pair in unpublished(sources) if pair[0].path not in intros]
    paths = {readme.path for readme, _ in hidden} | intros
    if not paths:
        return sources, hidden
    catalog = catalog_source(sources)
    kept = [s for s in sources if s.path not in paths]
    if catalog is not None:
        kept = sorted(kept + [catalog], key=lambda s: s.path)
    return kept, hidden


def catalog_source(sources: list[SourceFile]) -> SourceFile | None:
    """The page of the catalog: the patterns folder's own ``_index.md``, else its ``index.md``."""
    own = {s.rel.lower(): s for s in sources if s.kind in (PATTERN, CATALOG) and "/" not in s.rel}
    for name in ("_index.md", "_index.markdown", "index.md", "index.markdown"):
        if name in own:
            return SourceFile(own[name].path, CATALOG, own[name].rel)
    return None


def pattern_folder_intros(sources: list[SourceFile]) -> set[str]:
    """Paths of the index, _index and README files in the patterns folder that introduce a
    folder rather than being a pattern: the patterns folder's own, every ``_index.md`` (a
    section page, as Hugo has it), and one in a folder that holds other patterns. An
    ``index.md`` or ``README.md`` alone in its folder is a pattern kept with its images."""
    patterns = [s for s in sources if s.kind == PATTERN]
    folders_with_pages: set[str] = set()
    for source in patterns:
        folder, _, name = source.rel.rpartition("/")
        if posixpath.splitext(name)[0].lower() in INDEX_STEMS:
            continue
        while True:                       # a page counts for its folder and every folder above it
            folders_with_pages.add(folder)
            if not folder:
                break
            folder = folder.rpartition("/")[0]
    intros = set()
    for source in patterns:
        folder, _, name = source.rel.rpartition("/")
        stem = posixpath.splitext(name)[0].lower()
        if stem in INDEX_STEMS and (not folder or stem == "_index" or folder in folders_with_pages):
            intros.add(source.path)
    return intros


def unpublished(sources: list[SourceFile]) -> list[tuple[SourceFile, SourceFile]]:
    """Each ``README.md`` that is not a page, with the page that is its folder's instead: a
    folder that has an ``index.md`` or ``_index.md`` (any case) keeps its README for readers of
    the repository, as MkDocs does."""
    pages: dict[tuple[str, str], SourceFile] = {}
    readmes: list[SourceFile] = []
    for source in sources:
        folder, _, name = source.path.rpartition("/")
        stem = posixpath.splitext(name)[0].lower()
        if stem == "readme":
            readmes.append(source)
        elif stem in INDEX_STEMS:
            pages.setdefault((source.kind, folder), source)
    return [(readme, pages[(readme.kind, readme.path.rpartition("/")[0])]) for readme in readmes
            if (readme.kind, readme.path.rpartition("/")[0]) in pages]


def discover_all(config: SiteConfig) -> list[SourceFile]:
    """Every Markdown file under the pattern and handbook folders, sorted."""
    found = []
    for kind, folder in ((PATTERN, config.patterns_dir), (HANDBOOK, config.handbook_dir)):
        prefix = Path(folder).as_posix().rstrip("/") + "/"
        # A folder's page may be an _index.md, as Hugo and Zola name a section's page (in the
        # patterns folder, only the folder's own is a page: the catalog's).
        keep = frozenset({"_index.md"})
        for rel in walk_files(config.root / folder, skip=(".", "_"), keep=keep):
            if rel.lower().endswith(MARKDOWN_SUFFIXES):
                found.append(SourceFile(path=prefix + rel, kind=kind, rel=rel))
    found.sort(key=lambda s: s.path)
    return found


def page_url(kind: str, rel: str, slug_field: str | None) -> tuple[str, str]:
    """The slug and output URL of a page from its kind, relative path and ``slug`` field."""
    stem = posixpath.splitext(posixpath.basename(rel))[0]
    folder = posixpath.dirname(rel)
    if kind == CATALOG:
        return "", "patterns/"
    if kind == PATTERN:
        # A pattern kept in a folder of its own with its images (a Hugo page bundle,
        # ``office-hours/index.md``) is named after the folder.
        name = posixpath.basename(folder) if folder and stem.lower() in INDEX_STEMS else stem
        slug = (slugify(slug_field) if slug_field else "") or slugify(name) or "pattern"
        return slug, f"patterns/{slug}/"
    parts = [slugify(part) or "page" for part in folder.split("/") if part]
    if stem.lower() in INDEX_STEMS:
        slug = parts[-1] if parts else ""
    else:
        slug = (slugify(slug_field) if slug_field else "") or slugify(stem) or "page"
        parts.append(slug)
    url = "handbook/" + "".join(p + "/" for p in parts)
    return slug, url


def is_redirect(alias: str) -> bool:
    """An alias written as a path (``/old/url/``, ``posts/x.html``) is an old URL of the page;
    any other alias is another name for it."""
    if alias.startswith("/"):
        return True
    return " " not in alias and (alias.startswith(("./", "../")) or alias.endswith("/")
                                 or alias.lower().endswith((".html", ".htm")))


def redirect_url(alias: str, section: str = "") -> str | None:
    """The site-relative URL of an alias path, read from the site's root when it starts with
    ``/``, else from the URL folder ``section`` (a folder URL ends in ``/``); None when it
    climbs out of the site, "" when it names the site's root."""
    alias = alias.strip()
    joined = alias.lstrip("/") if alias.startswith("/") else posixpath.join(section, alias)
    path = posixpath.normpath(joined) if joined else ""
    if path == ".." or path.startswith("../"):
        return None
    path = "" if path == "." else path
    if not path or path.lower().endswith((".html", ".htm", ".xml", ".txt")):
        return path
    return path + "/"


def _as_list(value, separator: str) -> list[str] | None:
    if isinstance(value, str):
        return [item.strip().strip('"') for item in value.split(separator) if item.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v).strip() for v in value if str(v).strip()]
    return None


def _distinct(names: list[str]) -> tuple[str, ...]:
    """Names in their first spelling, once each: ``DevRel`` and ``devrel`` are one tag."""
    first: dict[str, str] = {}
    for name in names:
        first.setdefault(same_name(name), name)
    return tuple(first.values())


def parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.match(value.strip()):
        text = value.strip()
        try:
            if len(text) > 10:                    # a time too: it must be a real one
                return dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1)).date()
            return dt.date.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, str):
        return _written_date(value)
    return None


_WRITTEN_DATE = re.compile(r"^\s*(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+(?P<m1>[A-Za-z]+)\.?,?|(?P<m2>[A-Za-z]+)\.?\s+"
                           r"(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?)\s+(?P<y>\d{4})\s*$")
_MONTHS = {name: number for number, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")], start=1) for name in names}


def _written_date(text: str) -> dt.date | None:
    """A date written out in English, as MkDocs and Pelican pages have them: "January 23, 2018",
    "23 January 2018", "Jan 23rd, 2018". Only with the month's name, so it is never ambiguous."""
    found = _WRITTEN_DATE.match(text)
    if found is None:
        return None
    month = _MONTHS.get((found.group("m1") or found.group("m2")).lower())
    if month is None:
        return None
    try:
        return dt.date(int(found.group("y")), month, int(found.group("d1") or found.group("d2")))
    except ValueError:
        return None


def titled_from_heading(page: Page, headings) -> Page:
    """A page whose header and ``<meta>`` tags give no title takes the text of its first
    level-1 heading (ATX or setext, found by the Markdown parse), as MkDocs does."""
    if page.title_given:
        return page
    first = next((h for h in headings if h.level == 1 and h.text.strip()), None)
    return page if first is None else replace(page, title=first.text.strip(), title_given=True)


def name_text(name: str) -> str:
    """A file or folder name as text to show: bytes that are not UTF-8 (held as surrogate
    escapes, as the file system gave them, which no output could encode) become U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace")


def _title_from_filename(rel: str) -> str:
    stem = posixpath.splitext(posixpath.basename(name_text(rel)))[0]
    if stem.lower() in INDEX_STEMS:
        stem = posixpath.basename(posixpath.dirname(name_text(rel))) or "Handbook"
    words = re.split(r"[-_\s]+", stem)
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or stem


def load_text(source: SourceFile, data: bytes) -> tuple[str, list[Diagnostic]]:
    """Decode a file as UTF-8 (a BOM is fine); other encodings are a diagnostic.

    Undecodable bytes are replaced, so the page still exists for links to it.
    """
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return data.decode("utf-8-sig", errors="replace"), [make(source.path, line, column, "encoding-invalid",
                           f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                           "save the file as UTF-8")]


def content_digest(data: bytes) -> str:
    """The hash that names a file's content in the persistent cache."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def load(source: SourceFile, text: str, digest: str = "") -> tuple[Page, list[Diagnostic]]:
    """Read the header and fields of one page. Always returns a page; ``digest`` is the
    ``content_digest`` of the bytes ``text`` was decoded from, when known."""
    path = source.path
    header = split_header(text, path)
    diagnostics: list[Diagnostic] = list(header.diagnostics)
    fields = dict(header.fields)
    lines = dict(header.field_lines)
    for key, value in header.meta.items():
        if key not in fields:
            fields[key] = value
            lines[key] = header.meta_lines[key]

    taxonomies = fields.get("taxonomies")
    if isinstance(taxonomies, dict):             # Zola's [taxonomies] table, in any header style
        for key in ("tags", "categories"):
            if key not in fields and key in taxonomies:
                fields[key] = taxonomies[key]
                if key not in lines and "taxonomies" in lines:
                    lines[key] = lines["taxonomies"]

    def invalid(key: str, message: str, hint: str | None = None) -> None:
        diagnostics.append(make(path, lines.get(key), 1 if lines.get(key) else None,
                                "field-invalid", message, hint))

    def text_field(key: str) -> str | None:
        value = fields.get(key)
        if value is None:
            return None
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value).strip()
        invalid(key, f"'{key}' must be text, not {type(value).__name__}")
        return None

    body = header.body
    body_line = header.body_line

    title = text_field("title")
    description = text_field("description") or ""
    slug_field = text_field("slug")

    date = None
    if "date" in fields and fields["date"] not in (None, ""):
        date = parse_date(fields["date"])
        if date is None:
            invalid("date", f"'date' must be a date like 2024-03-01, not {fields['date']!r}")

    status = "published"
    if "status" in fields:
        raw = fields["status"]
        if isinstance(raw, str) and raw.strip().lower() in ("published", "draft"):
            status = raw.strip().lower()
        else:
            invalid("status", f"'status' must be 'published' or 'draft', not {raw!r}")
    elif fields.get("draft") is True or str(fields.get("draft", "")).strip().lower() == "true":
        status = "draft"                          # Hugo's field, as a boolean or the text "true"

    tags: list[str] = []
    if "tags" in fields and fields["tags"] is not None:
        parsed = _as_list(fields["tags"], ",")
        if parsed is None:
            invalid("tags", "'tags' must be a list or a comma-separated string")
        else:
            tags = parsed

    categories: list[str] = []
    if "categories" in fields and fields["categories"] is not None:
        parsed = _as_list(fields["categories"], ",")
        if parsed is None:
            invalid("categories", "'categories' must be a list or a comma-separated string")
        else:
            categories = parsed
    elif source.kind == PATTERN and header.style not in FRONTMATTER:
        # Legacy catalogs: the first body line, in italics, names the categories.
        body_lines = body.split("\n")
        for index, line in enumerate(body_lines):
            if not line.strip():
                continue
            match = _LEGACY_CATEGORIES.match(line)
            if match and "](" not in line:
                categories = [c.strip() for c in match.group(2).split(",") if c.strip()]
                lines["categories"] = body_line + index
                body_lines[index] = ""
                body = "\n".join(body_lines)
            break

    aliases: list[str] = []
    if "aliases" in fields and fields["aliases"] is not None:
        parsed = _as_list(fields["aliases"], ";") if isinstance(fields["aliases"], str) else \
            _as_list(fields["aliases"], ";")
        if parsed is None:
            invalid("aliases", "'aliases' must be a list or a ';'-separated string")
        else:
            aliases = parsed
    redirect_paths = [alias for alias in aliases if is_redirect(alias)]
    aliases = [alias for alias in aliases if not is_redirect(alias)]

    order = None
    order_key = "order" if "order" in fields else "weight"      # Hugo and Zola call it weight
    if fields.get(order_key) is not None:
        raw = fields[order_key]
        if isinstance(raw, int) and not isinstance(raw, bool):
            order = raw
        elif isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
            order = int(raw.strip())
        else:
            invalid(order_key, f"'{order_key}' must be a whole number, not {raw!r}")

    owner = None
    for key in ("maintainedBy", "maintained_by", "owner"):
        if key in fields:
            owner = text_field(key) or None
            break

    title_given = bool(title)
    if not title:
        title = _title_from_filename(source.rel)       # until the parse finds a heading

    slug, url = page_url(source.kind, source.rel, slug_field)
    # Hugo and Zola write old URLs of a page as its aliases: those become redirects, not names;
    # a relative one is read from the page's section, as Hugo does.
    if any("?" in path or "#" in path for path in redirect_paths):
        invalid("aliases", "an alias path names a page, not a query or a fragment: it cannot hold '?' or '#'")
        redirect_paths = [path for path in redirect_paths if "?" not in path and "#" not in path]
    redirects = [redirect_url(path, posixpath.dirname(url.rstrip("/"))) for path in redirect_paths]
    if any(found is None for found in redirects):
        invalid("aliases", "an alias path climbs out of the site with '..'")
    redirects = [found for found in redirects if found is not None]
    page = Page(
        source=path, kind=source.kind, rel=source.rel, url=url, title=title, slug=slug,
        body=body, body_line=body_line, header_style=header.style, date=date,
        tags=_distinct(tags), categories=_distinct(categories),
        description=description, status=status, aliases=tuple(aliases), owner=owner,
        redirects=tuple(dict.fromkeys(redirects)),
        order=order, fields=fields, field_lines=lines,
        header_ok=not (header.style in FRONTMATTER and header.diagnostics),
        digest=digest, title_given=title_given,
    )
    return page, diagnostics


def read_source(root: Path, source: SourceFile, digest: bool = True) -> tuple[Page | None, list[Diagnostic]]:
    """Read one file from disk and load it; unreadable files become diagnostics. ``digest=False``
    leaves the page's ``digest`` empty (it names the content in the persistent cache only)."""
    try:
        data = (root / source.path).read_bytes()
    except OSError as exc:
        return None, [make(source.path, None, None, "encoding-invalid", f"cannot read file: {exc.strerror}")]
    text, diagnostics = load_text(source, data)
    page, more = load(source, text, content_digest(data) if digest else "")
    return page, diagnostics + more
