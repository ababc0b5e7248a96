"""Page headers: YAML, TOML or JSON front matter, JBake ``key=value`` blocks and ``<meta>`` tags.

``split_header`` detects the style per file and returns the fields, the line of
each field, and the body with its first line number in the original file. It
never raises: a header it cannot read comes back as a diagnostic.
"""

from __future__ import annotations

import functools
import html
import json
import re
import tomllib
from dataclasses import dataclass, field, replace

from .diagnostics import Diagnostic, make

_YAML_OPEN = re.compile(r"^---\s*$")
_YAML_CLOSE = re.compile(r"^(---|\.\.\.)\s*$")
_TOML_FENCE = re.compile(r"^\+\+\+\s*$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*=")
_TOML_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")       # [table], [a.b], ["quoted"]
_TOML_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)")
# Zola keeps a page's tags and categories in a [taxonomies] table (``content.load`` reads
# them from there when the top level has none); their lines are found here.
_TAXONOMY_KEYS = ("tags", "categories")
_JBAKE_LINE = re.compile(r"^([A-Za-z_][\w.-]*)\s*=(.*)$")
_JBAKE_CLOSE = re.compile(r"^~{6,}\s*$")
_YAML_KEY = re.compile(r"^([^\s#:'\"][^:]*?|'[^']*'|\"[^\"]*\")\s*:(\s|$)")
_META = re.compile(
    r"""^\s*<meta\s+name\s*=\s*(["'])(?P<name>[^"']+)\1\s+(?:value|content)\s*=\s*(["'])(?P<value>.*?)\3\s*/?>\s*$""",
    re.IGNORECASE,
)
_META_REVERSED = re.compile(
    r"""^\s*<meta\s+(?:value|content)\s*=\s*(["'])(?P<value>.*?)\1\s+name\s*=\s*(["'])(?P<name>[^"']+)\3\s*/?>\s*$""",
    re.IGNORECASE,
)
_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}(?=[^`]*$)|~{3,})")   # a ``` info string has no `
_FENCE_CLOSE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*$")
_META_START = re.compile(r"<meta", re.IGNORECASE)
# Lines after which an indented line starts code: ATX headings, thematic breaks, setext underlines.
_BLOCK_BREAK = re.compile(r"^ {0,3}(#{1,6}(\s|$)|([-*_])([ \t]*\3){2,}[ \t]*$|=+[ \t]*$|-+[ \t]*$)")

# JBake keys whose values are comma-separated lists.
JBAKE_LIST_KEYS = frozenset({"tags", "categories", "aliases"})
# Fields a page header sets (JBake's own and those the site reads), lower-cased. Two leading
# ``key=value`` lines are taken for an unclosed JBake header only when the first key is one.
HEADER_KEYS = frozenset({"title", "date", "type", "tags", "categories", "description", "status",
                         "aliases", "slug", "order", "maintainedby", "maintained_by", "owner"})

@functools.lru_cache(maxsize=1)
def yaml_reader():
    """The YAML library, python-frontmatter's handler and the loader this site reads headers
    with: safe YAML without implicit timestamps (dates stay text until the date field is
    checked, so an impossible date is a field diagnostic on its own line, not a failed
    header), through libyaml when available. Imported on first use: most headers are read by
    ``_simple_yaml`` alone, and a build starts sooner without the library."""
    import yaml
    from frontmatter.default_handlers import YAMLHandler

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    Loader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return yaml, YAMLHandler(), Loader


@dataclass(frozen=True)
class Header:
    style: str                      # "yaml", "toml", "json", "jbake" or "none"
    fields: dict = field(hash=False)
    field_lines: dict = field(hash=False)   # key -> 1-based line in the file
    meta: dict = field(hash=False)          # <meta name value> tags
    meta_lines: dict = field(hash=False)
    body: str = ""
    body_line: int = 1              # line of the body's first line in the file
    diagnostics: tuple[Diagnostic, ...] = ()


_SIMPLE_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*?))? *$")
_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`+.~<=0123456789")
_RESOLVED_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null", "y", "n"})
_DECIMAL = re.compile(r"^(?:0|[1-9][0-9]*)$")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _simple_scalar(text: str):
    """A one-line YAML scalar that reads the same under any YAML 1.1 loader; ``_NOT_SIMPLE`` otherwise."""
    if text == "":
        return None
    if text[0] in "\"'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != text[0] or text[0] in inner or "\\" in inner:
            return _NOT_SIMPLE
        return inner
    if _DECIMAL.match(text):
        return int(text)
    if _DAY.match(text):
        return text                      # dates stay text (see ``yaml_reader``)
    if text[0] in _PLAIN_START or text.lower() in _RESOLVED_WORDS or text.endswith(":") \
            or ": " in text or " #" in text or "\t" in text or any(c in text for c in "[]{}"):
        return _NOT_SIMPLE
    return text


_NOT_SIMPLE = object()


def _simple_yaml(lines: list[str]) -> dict | None:
    """The frontmatter when every line is a top-level ``key: value`` of plain one-line scalars
    or a flow list of them (what most pages carry), read without the YAML library; None
    for anything else, which the library reads. The two always agree on what this accepts."""
    data: dict = {}
    for line in lines:
        if not line.isprintable():      # tabs, control characters, and what YAML takes for line breaks
            return None
        if not line or line.startswith("#"):
            continue
        match = _SIMPLE_KEY.match(line)
        if match is None or match.group(1).lower() in _RESOLVED_WORDS:
            return None
        text = match.group(2) or ""
        if text.startswith("[") and text.endswith("]"):
            inner = text[1:-1].strip()
            if any(c in inner for c in "[]{}\"'#:"):       # in a flow list, ':' starts a mapping
                return None
            items = [item.strip() for item in inner.split(",")] if inner else []
            value = [_simple_scalar(item) for item in items]
            if any(item == "" or v is _NOT_SIMPLE or v is None for item, v in zip(items, value)):
                return None
        else:
            value = _simple_scalar(text)
            if value is _NOT_SIMPLE:
                return None
        data[match.group(1)] = value
    return data


def _closing_line(lines: list[str], closing: re.Pattern) -> int | None:
    """The index of the line that closes front matter opened on the first line, if any."""
    return next((index for index in range(1, len(lines)) if closing.match(lines[index])), None)


def _never_closed(path: str, mark: str) -> list[Diagnostic]:
    return [make(path, 1, 1, "frontmatter-invalid", f"frontmatter opened with '{mark}' is never closed",
                 f"end the header with a line of '{mark}'")]


def _yaml_header(lines: list[str], path: str) -> tuple[dict, dict, int, list[Diagnostic]]:
    """Parse ``---`` frontmatter; returns fields, key lines, index of the body's first line."""
    index = _closing_line(lines, _YAML_CLOSE)
    if index is None:
        return {}, {}, len(lines), _never_closed(path, "---")
    source = "\n".join(lines[1:index])
    key_lines = {}
    for number, line in enumerate(lines[1:index], start=2):
        match = _YAML_KEY.match(line)
        if match:
            key_lines.setdefault(match.group(1).strip("'\""), number)
    try:
        data = _simple_yaml(lines[1:index])
        if data is None:
            yaml, handler, loader = yaml_reader()
            data = handler.load(source, Loader=loader) if source.strip() else {}
    except yaml_reader()[0].YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1
        column = mark.column + 1 if mark is not None else None
        if line > max(index, 2):      # found only at the end of the header: point at its last line
            line, column = max(index, 2), None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return {}, {}, index + 1, [make(path, line, column, "frontmatter-invalid",
                                        f"cannot parse YAML frontmatter: {problem}")]
    except Exception as exc:  # e.g. recursion or constructor errors inside the YAML library
        return {}, {}, index + 1, [make(path, 1, 1, "frontmatter-invalid",
                                        f"cannot parse YAML frontmatter: {exc}")]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return {}, {}, index + 1, [make(path, 2, 1, "frontmatter-invalid",
                                        f"frontmatter must be a mapping of keys to values, "
                                        f"not a {type(data).__name__}")]
    fields = {str(k): v for k, v in data.items()}
    return fields, key_lines, index + 1, []


def _looks_like_jbake(lines: list[str]) -> int | None:
    """Index of the closing ``~~~~~~`` line when the file starts with a JBake header."""
    if not lines or not _JBAKE_LINE.match(lines[0]):
        return None
    for index, line in enumerate(lines[:200]):
        if _JBAKE_CLOSE.match(line):
            return index
    return None


def _unclosed_jbake(lines: list[str]) -> int:
    """The number of leading ``key=value`` lines when they look like a JBake header that is
    never closed (three or more, or two starting with a header field such as ``title``); 0 when
    they do not, so prose that happens to start with ``a=b`` is not a header."""
    run = 0
    while run < len(lines) and _JBAKE_LINE.match(lines[run]):
        run += 1
    if run >= 3 or (run == 2 and _JBAKE_LINE.match(lines[0]).group(1).lower() in HEADER_KEYS):
        return run
    return 0


def _jbake_header(lines: list[str], close: int, path: str) -> tuple[dict, dict, list[Diagnostic]]:
    fields: dict = {}
    key_lines: dict = {}
    diagnostics = []
    for number, line in enumerate(lines[:close], start=1):
        if not line.strip():
            continue
        match = _JBAKE_LINE.match(line)
        if not match:
            diagnostics.append(make(path, number, 1, "frontmatter-invalid",
                                    f"malformed JBake header line {line.strip()[:60]!r}",
                                    "header lines must read 'key=value'"))
            continue
        key, value = match.group(1), match.group(2).strip()
        if key in JBAKE_LIST_KEYS:
            fields[key] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            fields[key] = value
        key_lines[key] = number
    return fields, key_lines, diagnostics


def _indent(line: str) -> int:
    """Columns of leading whitespace, with tab stops every four columns (as CommonMark)."""
    column = 0
    for char in line:
        if char == " ":
            column += 1
        elif char == "\t":
            column += 4 - column % 4
        else:
            break
    return column


def _closes_fence(line: str, fence: str, indent: int) -> bool:
    """Whether ``line`` closes ``fence``, opened ``indent`` columns in: the same character, at
    least as long, indented at most three columns or (in a list item) at most as far as the fence."""
    match = _FENCE_CLOSE.match(line)
    if match is None:
        return False
    marker = match.group("fence")
    return marker[0] == fence[0] and len(marker) >= len(fence) and _indent(line) <= max(indent, 3)


def code_lines(lines: list[str]) -> list[bool]:
    """Which lines are code: inside a fenced block or an indented block.

    A line scanner, not a Markdown parser. Fences open at any indentation, since in a list
    item they are indented further. A fence closes with the same character, at least as long;
    a line four columns left of the fence ends the list item and the fence with it; an
    unclosed fence runs to the end of the text. A line indented four columns or more is
    indented code unless it continues a paragraph (follows a line of text). Without list
    tracking, a list item's indented paragraph after a blank line counts as code too: when
    unsure, a line is code.
    """
    code = []
    fence = None                 # the open fence, e.g. "````", and its indentation
    fence_indent = 0
    in_paragraph = False         # the previous line is text that an indented line would continue
    for line in lines:
        blank = not line.strip()
        if fence is not None and (blank or _indent(line) >= fence_indent - 3):
            if _closes_fence(line, fence, fence_indent):
                fence = None
            code.append(True)
            in_paragraph = False
            continue
        fence = None
        indented = not blank and not in_paragraph and _indent(line) >= 4
        opening = _FENCE_OPEN.match(line)
        if opening:
            fence, fence_indent = opening.group("fence"), _indent(line)
        code.append(indented or opening is not None)
        in_paragraph = not (blank or indented or opening or _BLOCK_BREAK.match(line))
    return code


def _comment_lines(lines: list[str]) -> list[bool]:
    """Which lines are inside an HTML comment that spans lines (``<!--`` on one line, ``-->``
    on a later one): a ``<meta>`` line there is commented out."""
    inside = False
    found = []
    for line in lines:
        starts = inside
        position = 0
        while True:
            if inside:
                end = line.find("-->", position)
                if end == -1:
                    break
                inside, position = False, end + 3
            else:
                start = line.find("<!--", position)
                if start == -1:
                    break
                inside, position = True, start + 4
        found.append(starts or inside)
    return found


def _meta_tag(line: str) -> tuple[str, str] | None:
    """The name and (HTML-decoded) value of a ``<meta name=... value=...>`` line."""
    match = _META.match(line) or _META_REVERSED.match(line)
    if match is None:
        return None
    return html.unescape(match.group("name")), html.unescape(match.group("value"))


def _extract_meta(body_lines: list[str], first_line: int) -> tuple[list[str], dict, dict]:
    """Take ``<meta name=... value=...>`` lines out of the body (outside code blocks)."""
    meta: dict = {}
    meta_lines: dict = {}
    if not any(_META_START.search(line) for line in body_lines if "<" in line):
        return body_lines, meta, meta_lines
    result = []
    hidden = [code or comment for code, comment in zip(code_lines(body_lines), _comment_lines(body_lines))]
    for offset, (line, is_hidden) in enumerate(zip(body_lines, hidden)):
        tag = None if is_hidden or "<meta" not in line.lower() else _meta_tag(line)
        if tag is None:
            result.append(line)
            continue
        name, value = tag
        meta[name] = value
        meta_lines[name] = first_line + offset
        result.append("")
    return result, meta, meta_lines


def _toml_header(lines: list[str], path: str) -> tuple[dict, dict, int, list[Diagnostic]]:
    """Parse ``+++`` frontmatter (as Hugo and Zola write it); returns fields, key lines and
    the index of the body's first line."""
    index = _closing_line(lines, _TOML_FENCE)
    if index is None:
        return {}, {}, len(lines), _never_closed(path, "+++")
    try:
        data = tomllib.loads("\n".join(lines[1:index]))
    except tomllib.TOMLDecodeError as exc:
        where = _TOML_WHERE.search(str(exc))
        line, column = (int(where.group(1)) + 1, int(where.group(2))) if where else (1, None)
        if line > max(index, 2):      # found only at the end of the header: point at its last line
            line, column = max(index, 2), None
        problem = _TOML_WHERE.sub("", str(exc)).strip() or "invalid TOML"
        return {}, {}, index + 1, [make(path, line, column, "frontmatter-invalid",
                                        f"cannot parse TOML frontmatter: {problem}")]
    key_lines: dict = {}
    table = ""
    for number, line in enumerate(lines[1:index], start=2):
        opened = _TOML_TABLE.match(line)
        if opened:
            table = opened.group(1).strip().strip("'\"")
            continue
        if line.lstrip().startswith("[["):
            table = "\0"                 # an array of tables: none of its keys is a field
            continue
        match = _TOML_KEY.match(line)
        if match:
            key = match.group(1).strip("'\"")
            if not table or (table == "taxonomies" and key in _TAXONOMY_KEYS and key not in data):
                key_lines.setdefault(key, number)
    return dict(data), key_lines, index + 1, []


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _json_header(lines: list[str], path: str) -> tuple[dict, dict, int, list[Diagnostic]]:
    """Parse a JSON object at the top of the file (Hugo's JSON front matter); the body starts
    on the line after the one that closes it."""
    text = "\n".join(lines)
    try:
        data, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        return {}, {}, len(lines), [make(path, exc.lineno, exc.colno, "frontmatter-invalid",
                                         f"cannot parse JSON front matter: {exc.msg}")]
    last = text.count("\n", 0, end)            # index of the line holding the closing brace
    if not isinstance(data, dict):
        return {}, {}, last + 1, [make(path, 1, 1, "frontmatter-invalid",
                                       "JSON front matter must be an object of keys and values")]
    if text[end:].split("\n", 1)[0].strip():
        return {}, {}, last + 1, [make(path, last + 1, None, "frontmatter-invalid",
                                       "text after the JSON front matter's closing '}' on its line")]
    return {str(k): v for k, v in data.items()}, _json_key_lines(text[:end]), last + 1, []


def _json_key_lines(text: str) -> dict[str, int]:
    """The line of each key of the top-level object in JSON ``text``: the strings at depth one
    followed by a ':' (strings are skipped whole, so brackets inside them do not count)."""
    found: dict[str, int] = {}
    depth, line, index = 0, 1, 0
    while index < len(text):
        char = text[index]
        if char == '"':
            string = _JSON_STRING.match(text, index)
            if string is None:
                break
            index = string.end()
            after = text[index:index + 64].lstrip(" \t\r\n")
            if depth == 1 and after.startswith(":"):
                try:
                    found.setdefault(json.loads(string.group(0)), line)
                except ValueError:
                    pass
            line += string.group(0).count("\n")
            continue
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
        elif char == "\n":
            line += 1
        index += 1
    return found


_META_LINE = re.compile(r"^ {0,3}([A-Za-z][A-Za-z0-9_-]*):(?:[ \t]+(.*?))?[ \t]*$")
_META_MORE = re.compile(r"^(?: {4}|\t)[ \t]*(\S.*?)[ \t]*$")
# MultiMarkdown's and Pelican's names for the fields this site reads under other names.
_META_NAMES = {"category": "categories", "summary": "description", "author": "owner", "authors": "owner"}


def _metadata_header(lines: list[str]) -> tuple[dict, dict, int] | None:
    """MultiMarkdown metadata, as MkDocs and Pelican read it: ``Key: value`` lines at the very
    top, up to a blank line, a value going on over lines indented four spaces. Taken as a
    header only when every line reads so and one of the keys is ``title`` (any case), so prose
    that starts with "Note: ..." stays prose. Its fields, key lines and the body's first index."""
    fields: dict[str, str] = {}
    key_lines: dict[str, int] = {}
    key = None
    index = 0
    while index < len(lines) and lines[index].strip():
        line = lines[index]
        found = _META_LINE.match(line)
        if found:
            name = found.group(1).lower()
            key = _META_NAMES.get(name, name)
            if key in fields:
                fields[key] = f"{fields[key]} {found.group(2) or ''}".strip()
            else:
                fields[key], key_lines[key] = (found.group(2) or ""), index + 1
        else:
            more = _META_MORE.match(line)
            if more is None or key is None:
                return None
            fields[key] = f"{fields[key]} {more.group(1)}".strip()
        index += 1
    if "title" not in fields:
        return None
    return fields, key_lines, index


def _front_matter(lines: list[str]):
    """The style of front matter ``lines`` open with and its reader, or None."""
    if not lines:
        return None
    if _YAML_OPEN.match(lines[0]):
        return "yaml", _yaml_header
    if _TOML_FENCE.match(lines[0]):
        return "toml", _toml_header
    if lines[0].strip() == "{" or lines[0].startswith('{"'):
        return "json", _json_header
    return None


_FIELD_LIKE = re.compile(r"""^\s*["']?[A-Za-z_][\w .-]*["']?\s*[:=]""")


def _late_front_matter(lines: list[str], path: str) -> tuple[str, dict, dict, int, list[Diagnostic]] | None:
    """Front matter after blank lines, which Hugo skips: its style, fields, key lines, the
    index of the body's first line and its problems. Taken when it reads cleanly as fields, or
    when its first line is written like a field (then a mistake in it is reported); so a page
    that starts with a blank line, a rule and text stays a page without a header."""
    skip = 0
    while skip < len(lines) - 1 and not lines[skip].strip():
        skip += 1
    opening = _front_matter(lines[skip:]) if skip else None
    if opening is None:
        return None
    fields, key_lines, body_index, problems = opening[1](lines[skip:], path)
    first = next((line for line in lines[skip + 1:skip + 1 + 50] if line.strip()), "")
    if problems and not _FIELD_LIKE.match(first) and not (opening[0] == "json" and lines[skip].startswith('{"')):
        return None
    if not fields and not problems:
        return None
    problems = [replace(d, line=d.line + skip) if d.line is not None else d for d in problems]
    return opening[0], fields, {key: line + skip for key, line in key_lines.items()}, body_index + skip, problems


def split_header(text: str, path: str) -> Header:
    """Detect the header style of ``text`` and split it from the body."""
    if text.startswith("\ufeff"):
        text = text[1:]
    # Line breaks as Markdown counts them: CRLF, a lone CR or LF.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    fields: dict = {}
    key_lines: dict = {}
    diagnostics: list[Diagnostic] = []
    style = "none"
    body_index = 0

    opening = _front_matter(lines)
    late = _late_front_matter(lines, path) if opening is None else None
    if opening is not None:
        style = opening[0]
        fields, key_lines, body_index, diagnostics = opening[1](lines, path)
    elif late is not None:
        style, fields, key_lines, body_index, diagnostics = late
    else:
        close = _looks_like_jbake(lines)
        if close is not None:
            style = "jbake"
            fields, key_lines, diagnostics = _jbake_header(lines, close, path)
            body_index = close + 1
        else:
            run = _unclosed_jbake(lines)
            metadata = None if run else _metadata_header(lines)
            if run:
                style = "jbake"
                diagnostics = [make(path, 1, 1, "frontmatter-invalid",
                                    "JBake header is never closed",
                                    "end the header with a line of '~~~~~~'")]
                body_index = run
            elif metadata is not None:
                style = "metadata"
                fields, key_lines, body_index = metadata

    body_lines = lines[body_index:]
    body_line = body_index + 1
    body_lines, meta, meta_lines = _extract_meta(body_lines, body_line)
    return Header(style=style, fields=fields, field_lines=key_lines, meta=meta,
                  meta_lines=meta_lines, body="\n".join(body_lines), body_line=body_line,
                  diagnostics=tuple(diagnostics))
