"""The ``import jbake`` command: turn a legacy JBake catalog into modern Markdown pages.

A legacy page has a ``key=value`` header closed by ``~~~~~~``, an italic first line
naming its categories, ``***Problem***:`` section markers and ``other.html`` links.
The converted page has YAML frontmatter, ``## Problem`` headings and ``other.md``
links; every other byte of the body is kept.

Conversion is pure (``convert``) and checks itself (``compare``): the converted page,
read by the pipeline, must have the same sections, metadata, variants and links as
the legacy page read directly. Only ``cmd_import`` reads folders, writes and prints.
"""

from __future__ import annotations

import argparse
import difflib
import posixpath
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt

from .config import KNOWN_SECTIONS, SiteConfig
from .content import HANDBOOK, PATTERN, SourceFile, load, titled_from_heading
from .headers import split_header
from .markdown import make_parser, parse
from .patterns import pattern_info, split_aliases
from .scaffold import yaml_value

MARKDOWN_SUFFIXES = (".md", ".markdown")
# JBake content in a markup we do not convert; other files (images, downloads) are copied.
OTHER_CONTENT_SUFFIXES = (".html", ".htm", ".adoc", ".asciidoc", ".ad")
FIRST_KEYS = ("title", "date", "tags", "categories", "description", "status", "aliases")
DROPPED_KEYS = frozenset({"type"})

_CATEGORY_LINE = re.compile(r"^\s*([*_])(?!\1)([^*_].*?)\1\s*$")
_MARKER = re.compile(
    r"^(?P<lead>[ \t]*)(?P<open>\*\*\*|\*\*_|_\*\*|\*__|__\*|___|\*\*|__)"
    r"(?P<name>[^*_\s](?:[^*_]*[^*_\s])?)"
    r"(?P<close>\*\*\*|\*\*_|_\*\*|\*__|__\*|___|\*\*|__)(?P<rest>.*)$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_INLINE_DEST = re.compile(r"(\]\(\s*)(<[^>\n]*>|[^\s()<>]+)")
_REFERENCE_DEST = re.compile(r"^([ ]{0,3}\[[^\]\n]+\]:[ \t]*)(<[^>\n]*>|\S+)")
_HTML_DEST = re.compile(r"""(\b(?:href|src)\s*=\s*(["']))(.*?)(\2)""", re.IGNORECASE)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


@dataclass(frozen=True)
class Conversion:
    """What to do with one file of the legacy catalog."""
    source: str                  # relative to the legacy folder, POSIX separators
    target: str                  # relative to the destination folder
    text: str | None = None      # the converted page; None when it is copied or not converted
    original: str | None = None  # the legacy text, for previews
    copy: bool = False           # a non-page file copied as it is
    problems: tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        return self.copy or self.text is not None


@dataclass(frozen=True)
class Marker:
    name: str            # as written, without the trailing colon
    known: str | None    # the canonical section name, or None for an unknown marker
    rest: str            # text after the marker on the same line
    emphasis: str        # the opening emphasis characters


def section_names(config: SiteConfig) -> dict[str, str]:
    names = tuple(dict.fromkeys(KNOWN_SECTIONS + tuple(config.required_sections)))
    return {_normal(name): name for name in names}


def _normal(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().rstrip(":.").strip()).lower()


def read_marker(line: str, names: dict[str, str]) -> Marker | None:
    """A ``***Name***: text`` marker at the start of ``line``, known or not; None for plain text."""
    match = _MARKER.match(line.rstrip("\r"))
    if not match or match.group("close") != match.group("open")[::-1]:
        return None
    written = match.group("name")
    colon = written.rstrip().endswith((":", "."))
    rest = match.group("rest").lstrip()
    if rest.startswith(":"):
        colon = True
        rest = rest[1:].lstrip()
    if not colon and rest:
        return None
    return Marker(written.strip().rstrip(":.").strip(), names.get(_normal(written)), rest,
                  match.group("open"))


def _is_legacy_marker_style(marker: Marker) -> bool:
    """``***Name***`` style (bold and italic): an unknown name there is most likely a section."""
    return len(marker.emphasis) == 3


def link_target(dest: str, source: str, pages: frozenset[str]) -> str | None:
    """The ``.md`` form of a relative ``x.html`` link to a page of the catalog, or None to keep it."""
    if not dest or dest.startswith(("#", "/", "//")) or _SCHEME.match(dest):
        return None
    path, hash_mark, fragment = dest.partition("#")
    path, question, query = path.partition("?")
    lower = path.lower()
    suffix = ".html" if lower.endswith(".html") else ".htm" if lower.endswith(".htm") else None
    if suffix is None:
        return None
    stem = path[: -len(suffix)]
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source), unquote(stem)))
    if joined.startswith("..") or joined + ".md" not in pages:
        return None
    return stem + ".md" + question + query + hash_mark + fragment


def _code_lines(tokens) -> set[int]:
    lines: set[int] = set()
    for token in tokens:
        if token.type in ("fence", "code_block") and token.map:
            lines.update(range(token.map[0], token.map[1]))
    return lines


def _rewrite_line(line: str, rewrite, html_only: bool) -> tuple[str, int]:
    """Rewrite the link destinations of one source line; returns the line and how many changed."""
    spans = [m.span() for m in _CODE_SPAN.finditer(line)]
    changed = 0

    def outside_code(pos: int) -> bool:
        return not any(start <= pos < end for start, end in spans)

    def swap(match: re.Match, prefix_group: int, dest_group: int, suffix_group: int | None) -> str:
        nonlocal changed
        dest = match.group(dest_group)
        if not outside_code(match.start()):
            return match.group(0)
        angle = dest.startswith("<") and dest.endswith(">")
        new = rewrite(dest[1:-1] if angle else dest)
        if new is None:
            return match.group(0)
        changed += 1
        new = f"<{new}>" if angle else new
        return match.group(prefix_group) + new + (match.group(suffix_group) if suffix_group else "")

    if not html_only:
        line = _INLINE_DEST.sub(lambda m: swap(m, 1, 2, None), line)
        line = _REFERENCE_DEST.sub(lambda m: swap(m, 1, 2, None), line)
    line = _HTML_DEST.sub(lambda m: swap(m, 1, 3, 4), line)
    return line, changed


def convert(text: str, source: str, pages: frozenset[str], kind: str, md: MarkdownIt,
            names: dict[str, str]) -> tuple[str | None, list[str], list[str]]:
    """Convert one legacy page.

    Returns the new text (None when the file cannot be converted), the reasons it could
    not be converted cleanly, and notes that make it unclean but still worth writing.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    header = split_header(text, source)
    if header.style == "none":
        return None, ["no JBake header (the file must start with key=value lines closed by '~~~~~~')"], []
    if header.style in ("yaml", "toml", "json"):
        return None, [f"already has {header.style.upper()} frontmatter; nothing to convert"], []
    if header.diagnostics:
        return None, [f"line {d.line}: {d.message}" for d in header.diagnostics], []

    newline = "\r\n" if "\r\n" in text else "\n"
    raw = text.split("\n")[header.body_line - 1:]
    view = header.body.split("\n")          # the body as the pipeline sees it (meta tags blanked)
    notes: list[str] = []

    fields = dict(header.fields)
    categories = fields.get("categories")
    drop: set[int] = set()
    if kind == PATTERN and categories is None:
        for index, line in enumerate(view):
            if not line.strip():
                continue
            match = _CATEGORY_LINE.match(line)
            if match and "](" not in line:
                categories = [c.strip() for c in match.group(2).split(",") if c.strip()]
                drop.add(index)
                view[index] = ""
            break

    tokens = md.parse("\n".join(view), {})
    code = _code_lines(tokens)
    html_lines: set[int] = set()
    paragraphs: list[tuple[int, int]] = []
    for token in tokens:
        if token.type == "html_block" and token.map:
            html_lines.update(range(token.map[0], token.map[1]))
        if token.type == "paragraph_open" and token.level == 0 and token.map:
            paragraphs.append((token.map[0], token.map[1]))

    def rewrite(dest: str) -> str | None:
        return link_target(dest, source, pages)

    lines = list(raw)
    for index, line in enumerate(lines):
        if index in code or index in drop:
            continue
        lines[index], _ = _rewrite_line(line, rewrite, html_only=index in html_lines)

    replacements: dict[int, list[str]] = {}
    if kind == PATTERN:
        for start, end in paragraphs:
            for index in range(start, end):
                marker = read_marker(lines[index], names)
                if marker is None:
                    continue
                if marker.known is None:
                    if _is_legacy_marker_style(marker):
                        notes.append(f"line {header.body_line + index}: unknown section marker "
                                     f"'{marker.emphasis}{marker.name}{marker.emphasis[::-1]}' "
                                     "kept as bold text (known sections: " +
                                     ", ".join(dict.fromkeys(names.values())) + ")")
                    continue
                ending = "\r" if lines[index].endswith("\r") else ""
                new = ([ending] if index > start else []) + [f"## {marker.name}{ending}"]
                if marker.rest or index + 1 < end:
                    new.append(ending)
                if marker.rest:
                    new.append(marker.rest.rstrip("\r") + ending)
                replacements[index] = new

    body: list[str] = []
    for index, line in enumerate(lines):
        if index in drop:
            continue
        body.extend(replacements.get(index, [line]))
    if drop:
        # The category line goes; so do the blank lines around it at the top of the body.
        while body and not body[0].strip():
            body.pop(0)

    front = _frontmatter(fields, categories, kind, md, view, header.body_line, names)
    return "---" + newline + newline.join(front) + newline + "---" + newline + "\n".join(body), [], notes


def _frontmatter(fields: dict, categories, kind: str, md: MarkdownIt, view: list[str], body_line: int,
                 names: dict[str, str]) -> list[str]:
    values: dict = {}
    for key, value in fields.items():
        if key not in DROPPED_KEYS:
            values[key] = value
    if categories is not None:
        values["categories"] = categories
    if kind == PATTERN:
        rendered = parse(md, "\n".join(view), body_line, pattern=True, section_names=tuple(names.values()))
        aliases = list(values.get("aliases") or [])
        for section in rendered.sections:
            if section.known == "Also Known As":
                aliases.extend(split_aliases(section.text))
        if aliases:
            values["aliases"] = list(dict.fromkeys(aliases))
    ordered = [key for key in FIRST_KEYS if key in values] + [key for key in values if key not in FIRST_KEYS]
    lines = []
    for key in ordered:
        value = values[key]
        if key == "date" and isinstance(value, str) and _ISO_DATE.match(value):
            lines.append(f"{key}: {value}")
        else:
            lines.append(f"{key}: {yaml_value(value)}")
    return lines


def compare(original: str, converted: str, source: str, target_source: str, rel: str, kind: str,
            pages: frozenset[str], md: MarkdownIt, names: dict[str, str]) -> list[str]:
    """What a reader would see differently in the converted page; empty when they match."""
    file = SourceFile(path=target_source, kind=kind, rel=rel)
    before, _ = load(file, original.lstrip("\ufeff"))
    after, _ = load(file, converted)
    section_list = tuple(names.values())
    old = parse(md, before.body, before.body_line, pattern=kind == PATTERN, section_names=section_list)
    new = parse(md, after.body, after.body_line, pattern=kind == PATTERN, section_names=section_list)
    before, after = titled_from_heading(before, old.headings), titled_from_heading(after, new.headings)
    differences = []
    for attr in ("title", "url", "date", "tags", "categories", "description", "status", "owner", "order"):
        if getattr(before, attr) != getattr(after, attr):
            differences.append(f"{attr} {getattr(before, attr)!r} became {getattr(after, attr)!r}")
    if kind == PATTERN:
        if pattern_info(before, old).aliases != pattern_info(after, new).aliases:
            differences.append("the aliases changed")
    if [(s.id, s.name, s.text, s.empty) for s in old.sections] != \
            [(s.id, s.name, s.text, s.empty) for s in new.sections]:
        differences.append("the sections changed")
    if [(h.level, h.id, h.text) for h in old.headings] != [(h.level, h.id, h.text) for h in new.headings]:
        differences.append("the headings changed")
    if [(v.name, v.id) for v in old.variants] != [(v.name, v.id) for v in new.variants]:
        differences.append("the variants changed")
    expected = [link_target(link.raw, source, pages) or link.raw for link in old.links]
    if expected != [link.raw for link in new.links]:
        differences.append("the links changed")
    if old.summary != new.summary:
        differences.append("the summary changed")
    if not differences and old.html != new.html:
        differences.append("the rendered HTML changed")
    return differences


def list_files(folder: Path) -> list[str]:
    """Every file under ``folder`` except hidden ones, relative and sorted."""
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in rel.split("/")):
            found.append(rel)
    return sorted(found)


def target_name(rel: str) -> str:
    stem, suffix = posixpath.splitext(rel)
    return stem + ".md" if suffix.lower() in MARKDOWN_SUFFIXES else rel


def plan(files: dict[str, bytes | None], kind: str, into_source: str, md: MarkdownIt,
         names: dict[str, str]) -> list[Conversion]:
    """Decide what happens to every file of the legacy folder. ``files`` maps each relative path to
    its bytes (None for a file that is only copied)."""
    pages = frozenset(target_name(rel) for rel in files if rel.lower().endswith(MARKDOWN_SUFFIXES))
    result: list[Conversion] = []
    taken: dict[str, str] = {}
    for rel, data in files.items():
        target = target_name(rel)
        suffix = posixpath.splitext(rel)[1].lower()
        if target in taken:
            result.append(Conversion(rel, target, problems=(f"'{taken[target]}' already becomes '{target}'",)))
            continue
        taken[target] = rel
        if suffix in OTHER_CONTENT_SUFFIXES:
            result.append(Conversion(rel, target, problems=(
                f"'{suffix}' pages cannot be converted; only Markdown pages are imported",)))
            continue
        if suffix not in MARKDOWN_SUFFIXES:
            result.append(Conversion(rel, target, copy=True))
            continue
        try:
            original = (data or b"").decode("utf-8")
        except UnicodeDecodeError as exc:
            result.append(Conversion(rel, target, problems=(
                f"not valid UTF-8 (byte 0x{(data or b'')[exc.start]:02x} at offset {exc.start})",)))
            continue
        text, problems, notes = convert(original, rel, pages, kind, md, names)
        if text is None:
            result.append(Conversion(rel, target, original=original, problems=tuple(problems)))
            continue
        differences = compare(original, text, rel, posixpath.join(into_source, target), target, kind,
                              pages, md, names)
        if differences:
            result.append(Conversion(rel, target, original=original, problems=(
                "the converted page would not match the original: " + "; ".join(differences),)))
            continue
        result.append(Conversion(rel, target, text=text, original=original, problems=tuple(notes)))
    return result


def preview(conversion: Conversion, source_label: str, target_label: str) -> str:
    """A unified diff from the legacy file to the converted one."""
    if conversion.text is None or conversion.original is None:
        return ""
    diff = difflib.unified_diff(conversion.original.lstrip("\ufeff").splitlines(keepends=True),
                                conversion.text.splitlines(keepends=True),
                                fromfile=source_label, tofile=target_label)
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def cmd_import(args: argparse.Namespace, console) -> int:
    from .cli import _config
    config = _config(args, console)
    if config is None:
        return 2
    src = Path(args.src)
    if not src.is_dir():
        print(f"error: '{args.src}' is not a folder", file=sys.stderr)
        return 2
    into = Path(args.into or config.patterns_dir)
    into = into if into.is_absolute() else config.root / into
    into = into.resolve()
    handbook = (config.root / config.handbook_dir).resolve()
    kind = HANDBOOK if into == handbook or into.is_relative_to(handbook) else PATTERN
    try:
        into_source = into.relative_to(config.root.resolve()).as_posix()
    except ValueError:
        into_source = into.as_posix()

    files: dict[str, bytes | None] = {}
    for rel in list_files(src):
        if rel.lower().endswith(MARKDOWN_SUFFIXES):
            try:
                files[rel] = (src / rel).read_bytes()
            except OSError as exc:
                print(f"error: cannot read '{_shown(src / rel)}': {exc.strerror}", file=sys.stderr)
                return 1
        else:
            files[rel] = None
    if not any(rel.lower().endswith(MARKDOWN_SUFFIXES) for rel in files):
        print(f"error: no Markdown pages (*.md, *.markdown) in '{args.src}'", file=sys.stderr)
        return 1

    conversions = plan(files, kind, into_source, make_parser(config), section_names(config))
    failed: list[tuple[str, str]] = []
    written = 0
    for conversion in conversions:
        source_path = src / conversion.source
        target_path = into / conversion.target
        label = _shown(target_path)
        for problem in conversion.problems:
            failed.append((_shown(source_path), problem))
        if not conversion.writes:
            continue
        if target_path.exists() and not args.force:
            failed.append((_shown(source_path), f"'{label}' exists; use --force to overwrite it"))
            continue
        verb = "copy" if conversion.copy else "write"
        if args.dry_run:
            print(f"would {verb} {label} (from {_shown(source_path)})")
            if conversion.text is not None:
                sys.stdout.write(preview(conversion, _shown(source_path), label))
            continue
        try:
            target_path.parent.mkdir(parents=True, exist_ok=True)
            if conversion.copy:
                shutil.copyfile(source_path, target_path)
            else:
                with open(target_path, "w", encoding="utf-8", newline="") as handle:
                    handle.write(conversion.text)
        except OSError as exc:
            failed.append((_shown(source_path), f"cannot write '{label}': {exc.strerror or exc}"))
            continue
        written += 1
        if not console.quiet:
            print(f"{'copied' if conversion.copy else 'wrote'} {label}")

    if failed:
        print(f"{len({path for path, _ in failed})} of {len(conversions)} files were not imported cleanly:")
        for path, reason in failed:
            print(f"  {path}: {reason}")
    if args.dry_run:
        console.note("dry run: nothing was written")
    else:
        console.note(f"imported {written} of {len(conversions)} files into {_shown(into)}")
    return 1 if failed else 0


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    command = commands.add_parser("import", help="convert pages from another format",
                                  description="Convert a legacy catalog into this site's format.")
    formats = command.add_subparsers(dest="source_format", metavar="FORMAT", required=True)
    jbake = formats.add_parser(
        "jbake", parents=[common], help="a JBake catalog: key=value headers and ***Section***: markers",
        description="Convert every Markdown page of SRC_DIR (JBake headers, category lines, "
                    "***Section***: markers, other.html links) into YAML frontmatter, ## headings "
                    "and other.md links. Other files are copied.")
    jbake.add_argument("src", metavar="SRC_DIR", help="the folder of legacy pages")
    jbake.add_argument("--into", metavar="DIR",
                       help="destination folder, relative to the site root (default: the patterns folder)")
    jbake.add_argument("--dry-run", action="store_true", help="print what would be written, with a diff; write nothing")
    jbake.add_argument("--force", action="store_true", help="overwrite files that already exist")
    jbake.set_defaults(func=cmd_import, command="import")
