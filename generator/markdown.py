"""Markdown: parse a page once into HTML, headings, sections, variants and links.

The HTML keeps a placeholder where each link or image target goes, so the parse
of one page never depends on other pages: the site stage resolves the targets
and ``fill_links`` writes them in. That keeps a page's parse cacheable by the
hash of its own text.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from html import escape
from typing import Callable
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
try:                            # the paragraph rule's own trim (markdown-it-py 4); before it, str.strip
    from markdown_it.common.utils import mdTrim as _md_trim
except ImportError:             # pragma: no cover
    _md_trim = str.strip
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from .attr_lists import ATTRIBUTE_LIST, attr_lists, parse_attributes
from .autolink import autolink_literals, bare_url
from .config import KNOWN_SECTIONS, SiteConfig
from .headers import code_lines
from .tabs import content_tab
from .urls import heading_id, slugify, srcset_spans, unique_id

PLACEHOLDER_OPEN = "\ue000"
PLACEHOLDER_CLOSE = "\ue001"
_PLACEHOLDER = re.compile(f"{PLACEHOLDER_OPEN}(\\d+){PLACEHOLDER_CLOSE}")
# Attributes that hold a URL (``data`` of an ``<object>``, a video's ``poster``) or, for
# ``srcset``, a list of them: GitHub's light and dark images are ``<source srcset=...>``.
_HTML_LINK = re.compile(r"""(?<![\w-])(href|src|srcset|poster|data)\s*=\s*(?:(["'])(.*?)\2|([^\s"'=<>`]+))""",
                        re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<([a-zA-Z][\w-]*)(\s[^>]*)?>")
_HTML_ATTRIBUTE = re.compile(r"""(?<![\w-])(id|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.IGNORECASE)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_LINK_TOKENS = frozenset({"link_open", "image", "html_inline"})


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str
    line: int


@dataclass(frozen=True)
class Link:
    index: int            # placeholder number in the HTML
    href: str             # the target as written (percent-decoded)
    raw: str              # the target exactly as written in the source
    line: int
    column: int | None
    text: str
    kind: str             # "link", "image" or "html"


@dataclass(frozen=True)
class Section:
    name: str             # as written
    known: str | None     # canonical known name, e.g. "Also Known As"
    id: str
    line: int
    column: int
    empty: bool
    marker: str           # "heading" or "legacy"
    text: str             # plain text of the section's content


@dataclass(frozen=True)
class Variant:
    name: str
    id: str
    line: int


@dataclass(frozen=True)
class Rendered:
    html: str
    headings: tuple[Heading, ...]
    links: tuple[Link, ...]
    ids: frozenset[str]
    sections: tuple[Section, ...]
    variants: tuple[Variant, ...]
    summary: str          # first paragraph as plain text
    words: int
    ok: bool = True       # False when parsing failed and this is an empty stand-in
    shortcodes: tuple[tuple[int, int | None], ...] = ()   # (line, column) of Hugo/Zola shortcodes
    unparsed: tuple[tuple[int, int | None, str, str], ...] = ()   # text written like a link: line, column, text, why


@functools.lru_cache(maxsize=1)
def _pygments():
    """Pygments' highlighter, an HTML formatter and its lexer lookup, imported on first use
    (many pages have no code to highlight)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound
    return highlight, HtmlFormatter(nowrap=True), get_lexer_by_name, ClassNotFound


def _highlight(code: str, lang: str, attrs: str) -> str:
    name = (lang or "").strip().split()[0] if (lang or "").strip() else ""
    if not name:
        return ""
    highlight, formatter, get_lexer_by_name, not_found = _pygments()
    try:
        lexer = get_lexer_by_name(name, stripnl=False)     # blank lines at either end are the author's
    except not_found:
        return ""
    body = highlight(code, lexer, formatter)
    css_lang = escape(name, quote=True)
    return f'<pre class="highlight" tabindex="0"><code class="language-{css_lang}">{body}</code></pre>\n'


class FastRenderer(RendererHTML):
    """markdown-it's HTML renderer, writing the same HTML with less work per token: the
    default text rule is applied in place, and a tag without attributes skips the attribute
    pass. ``render`` and ``renderInline`` behave as the base class's for every other token."""

    def render(self, tokens, options, env) -> str:
        rules, inline, token_html = self.rules, self.renderInline, self.renderToken
        out: list[str] = []
        for i, token in enumerate(tokens):
            kind = token.type
            if kind == "inline":
                if token.children:
                    out.append(inline(token.children, options, env))
            elif kind in rules:
                out.append(rules[kind](tokens, i, options, env))
            else:
                out.append(token_html(tokens, i, options, env))
        return "".join(out)

    def renderInline(self, tokens, options, env) -> str:
        rules, token_html = self.rules, self.renderToken
        # The text rule as the base class has it, unless a plugin replaced it.
        plain_text = getattr(rules.get("text"), "__func__", None) is RendererHTML.text
        out: list[str] = []
        for i, token in enumerate(tokens):
            kind = token.type
            if kind == "text" and plain_text:
                out.append(escapeHtml(token.content))
            elif kind in rules:
                out.append(rules[kind](tokens, i, options, env))
            else:
                out.append(token_html(tokens, i, options, env))
        return "".join(out)

    def renderToken(self, tokens, idx, options, env) -> str:
        token = tokens[idx]
        if token.hidden:                  # a paragraph of a tight list
            return ""
        nesting = token.nesting
        # A block that opens after a hidden paragraph starts on a new line.
        lead = "\n" if token.block and nesting != -1 and idx and tokens[idx - 1].hidden else ""
        html = lead + ("</" if nesting == -1 else "<") + token.tag
        if token.attrs:
            html += self.renderAttrs(token)
        if nesting == 0 and options["xhtmlOut"]:
            html += " /"
        if not token.block:
            return html + ">"
        if nesting == 1 and idx + 1 < len(tokens):
            following = tokens[idx + 1]
            # No line break inside a block holding inline content, or an empty element.
            if following.type == "inline" or following.hidden \
                    or (following.nesting == -1 and following.tag == token.tag):
                return html + ">"
        return html + ">\n"

    @staticmethod
    def renderAttrs(token) -> str:
        return "".join(f' {escapeHtml(key)}="{escapeHtml(str(value))}"' for key, value in token.attrs.items())


# A link target of these characters alone, without a scheme or a host, is one markdown-it
# leaves as it is: nothing to percent-encode (``%`` is left out: a lone one is encoded),
# nothing its URL parser would take apart and put back differently.
_PLAIN_TARGET = re.compile(r"[A-Za-z0-9/._~#?=&+,;!*'()$-]+")


def _quick_normalize_link(normalize: Callable[[str], str]) -> Callable[[str], str]:
    """markdown-it's link normaliser, answering at once for a plain relative target (most
    links between pages) and remembering its answers for the others."""
    remembered = functools.lru_cache(maxsize=1 << 12)(normalize)

    def normalize_link(url: str) -> str:
        if _PLAIN_TARGET.fullmatch(url) is not None and not url.startswith("//"):
            return url
        return remembered(url)

    return normalize_link


def make_parser(config: SiteConfig) -> MarkdownIt:
    # "store_labels" keeps a reference link's label in its token: that tells it from an
    # inline link when looking for where it is written (``_locate``).
    # As GitHub (markdown-it-py 4.1 and later): "> [!NOTE]" blockquotes become notes, and a
    # single "~" strikes through as "~~" does.
    options = {"html": True, "breaks": config.hard_breaks, "typographer": config.typographer,
               "linkify": False, "store_labels": True, "alerts": True, "strikethrough_single_tilde": True}
    if config.highlight:
        options["highlight"] = _highlight
    md = MarkdownIt("commonmark", options, renderer_cls=FastRenderer).enable(["table", "strikethrough"])
    md.normalizeLink = _quick_normalize_link(md.normalizeLink)
    if config.typographer:
        md.enable(["replacements", "smartquotes"])
    # Definition lists (Hugo's default) and "!!! note" admonitions (MkDocs') besides footnotes.
    md.use(footnote_plugin).use(tasklists_plugin, enabled=False).use(deflist_plugin).use(admon_plugin)
    default_fence = md.renderer.rules["fence"]

    def fence(renderer, tokens, idx, options, env):
        tokens[idx].info = fence_info(tokens[idx].info)
        # Code blocks scroll sideways, so keyboard users must be able to focus them.
        html = default_fence(tokens, idx, options, env)
        return html.replace("<pre>", '<pre tabindex="0">', 1) if html.startswith("<pre>") else html

    md.add_render_rule("fence", fence)

    def table_open(renderer, tokens, idx, options, env):
        # A wide table scrolls sideways inside the page (see the theme), so it takes focus too.
        tokens[idx].attrSet("tabindex", "0")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("table_open", table_open)
    md.core.ruler.after("block", "folding_admonitions", _folding_admonitions)
    if set(md.inline.ruler.get_active_rules()) <= _INLINE_RULES_KNOWN \
            and set(md.inline.ruler2.get_active_rules()) <= _INLINE_AFTER_RULES_KNOWN:
        md.core.ruler.at("inline", _inline_with_plain_text_shortcut)
        md.inline.ruler.before("link", "plain_link", _plain_link)
    md.block.ruler.before("paragraph", "content_tab", content_tab)
    if set(md.block.ruler.get_active_rules()) <= _BLOCK_RULES_KNOWN:
        md.block.ruler.before(md.block.ruler.get_active_rules()[0], "plain_paragraph", _plain_paragraph)
        md.block.ruler.after("plain_paragraph", "by_first_character", _by_first_character(md))
        md.block.ruler.after("by_first_character", "plain_list", _plain_list)
    md.core.ruler.at("normalize", _normalize)
    md.core.ruler.after("inline", "attr_lists", attr_lists)
    if config.autolink:
        md.inline.ruler.before("autolink", "bare_url", bare_url)
        md.core.ruler.after("inline", "autolink_literals", autolink_literals)
    # Two plugins' passes over every token of every page, skipped when the text cannot hold
    # what they look for: a task list item starts "[ ]", "[x]" or "[X]"; footnotes need a
    # "[^label]: ..." definition or an inline "^[note]", which the footnote plugin records as
    # it parses.
    _only_when(md, "github-tasklists", lambda state: _TASK_MARK.search(state.src) is not None)
    _only_when(md, "footnote_tail", _has_footnotes)
    # The pass that joins the text of escapes and entities with the text around them: the
    # inline parser leaves no other text token beside another, and neither do the shortcuts
    # and the passes before this one.
    _only_when(md, "text_join", lambda state: "\\" in state.src or "&" in state.src)
    return md


_TASK_MARK = re.compile(r"\[[ xX]\]")


def _has_footnotes(state) -> bool:
    notes = state.env.get("footnotes", {})
    return bool(notes.get("refs") or notes.get("list"))


def _only_when(md: MarkdownIt, name: str, needed: Callable) -> None:
    """Run core rule ``name`` only when ``needed(state)``; nothing happens if there is no such rule."""
    rules = md.core.ruler.__rules__
    found = [rule for rule in rules if rule.name == name]
    if not found:
        return
    run = found[0].fn

    def guarded(state) -> None:
        if needed(state):
            run(state)

    md.core.ruler.at(name, guarded)


_FENCE_CLASS = re.compile(r"\.([A-Za-z0-9_+#-]+)")


def fence_info(info: str) -> str:
    """A fence's info string with its language first, as other tools' authors write it:
    ``{.python .numberLines}`` (Pandoc) is ``python``; ``title="x.py"`` alone (MkDocs) names
    no language; ``python {linenos=true}`` (Hugo) stays as it is."""
    text = info.strip()
    if text.startswith("{"):
        found = _FENCE_CLASS.search(text)
        bare = re.split(r"[\s,}]", text[1:].lstrip(), maxsplit=1)[0]      # "{r, echo=FALSE}" (R Markdown) is r
        if found:
            return found.group(1)
        return bare if bare and "=" not in bare and not bare.startswith(".") else ""
    first = text.split(maxsplit=1)[0] if text else ""
    return "" if "=" in first else info


def _folding_admonitions(state) -> None:
    """A "??? note" admonition folds: it becomes ``<details>`` with its title as ``<summary>``
    (open at first for "???+"), so it folds without JavaScript."""
    if "???" not in state.src:
        return
    stack: list[bool] = []
    for index, token in enumerate(state.tokens):
        if token.type == "admonition_open":
            folding = token.markup.startswith("?")
            stack.append(folding)
            if folding:
                token.tag = "details"
                if token.markup.endswith("+"):
                    token.attrSet("open", "")
        elif token.type == "admonition_close" and stack:
            if stack.pop():
                token.tag = "details"
        elif token.type in ("admonition_title_open", "admonition_title_close") and stack and stack[-1]:
            token.tag = "summary"


def _normalize(state) -> None:
    """markdown-it's first stage: line endings become "\\n" and NUL characters U+FFFD;
    text that has neither (nearly all of it) is left as it is without a pass over it."""
    text = state.src
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
    state.src = text


# The block rules this parser has. Only a paragraph goes on over lines that start with a
# letter: a table's delimiter row, a setext underline and everything that can interrupt a
# paragraph start with a mark, a digit or a space, and a definition list's term is followed by
# a line starting with ":" or "~" (right after it, or after one blank line). So at the top
# level, lines that each start with a letter, up to a blank line not followed by such a line,
# are one paragraph: ``_plain_paragraph`` makes its tokens without trying every rule on them.
_BLOCK_RULES_KNOWN = frozenset({"table", "code", "fence", "blockquote", "hr", "list", "footnote_def", "reference",
                                "html_block", "heading", "lheading", "paragraph", "deflist", "admonition",
                                "content_tab"})


# The block rules that only take a line starting with a mark of their own: ">", a fence, a
# list's bullet or number, "[" (a reference or footnote), "<" (HTML), "!!!" or "???" (an
# admonition), a rule's "*", "-" or "_", and "#" for a heading.
_NEVER_A_LETTER = frozenset({"admonition", "fence", "blockquote", "hr", "list", "footnote_def", "reference",
                             "html_block", "heading"})
_NEVER_A_HASH = _NEVER_A_LETTER - {"heading"}


def _by_first_character(md: MarkdownIt):
    """A rule that tries on a line only the block rules that can take a line starting with
    its first character, in their order, when that is a letter or "#" (most lines of a page,
    at any depth): the others would each be tried and fail first."""
    chain = [(rule.name, rule.fn) for rule in md.block.ruler.__rules__
             if rule.enabled and rule.name not in ("plain_paragraph", "by_first_character", "plain_list")]
    for_letter = tuple(fn for name, fn in chain if name not in _NEVER_A_LETTER)
    for_hash = tuple(fn for name, fn in chain if name not in _NEVER_A_HASH)

    def by_first_character(state, start: int, end: int, silent: bool) -> bool:
        if silent:
            return False
        first = state.src[state.bMarks[start] + state.tShift[start]]
        rules = for_hash if first == "#" else for_letter if first.isalpha() else None
        if rules is None:
            return False
        for rule in rules:
            if rule(state, start, end, False):
                return True
        return False

    return by_first_character


def _plain_paragraph(state, start: int, end: int, silent: bool) -> bool:
    if silent or state.parentType != "root" or state.blkIndent != 0:
        return False
    src, marks, shifts, counts, ends = state.src, state.bMarks, state.tShift, state.sCount, state.eMarks
    if counts[start] > 3 or not src[marks[start] + shifts[start]].isalpha():
        return False
    last = state.lineMax
    line = start + 1
    while line < last:
        first = marks[line] + shifts[line]
        if first >= ends[line]:
            # A blank line ends the paragraph, unless a definition follows it: then it is a term.
            after = line + 1
            if after < last and marks[after] + shifts[after] < ends[after] and src[marks[after] + shifts[after]] in ":~":
                return False
            break
        if not src[first].isalpha():
            return False                            # anything else: the rules decide
        line += 1
    content = _md_trim(state.getLines(start, line, 0, False))
    state.line = line
    token = state.push("paragraph_open", "p", 1)
    token.map = [start, line]
    token = state.push("inline", "", 0)
    token.content = content
    token.map = [start, line]
    token.children = []
    state.push("paragraph_close", "p", -1)
    return True


def _plain_list(state, start: int, end: int, silent: bool) -> bool:
    """A tight bullet list of one-line items at the top level, the commonest list of a page:
    each line ``* text`` (or ``-``, ``+``: the same mark throughout) with one space after the
    mark and text starting with a letter or ``**`` and a letter or digit, no ``|`` (a table)
    and no line between the items; after it, the end or blank lines and a line that starts
    with a letter or ``#``. Its tokens are the list rule's, made without trying every rule on
    each item; any other list is the list rule's to read."""
    if silent or state.parentType != "root" or state.blkIndent != 0:
        return False
    src, marks, shifts, counts, ends = state.src, state.bMarks, state.tShift, state.sCount, state.eMarks
    bullet = src[marks[start]]
    if bullet not in "-*+" or shifts[start] or counts[start]:
        return False
    last = state.lineMax
    line = start
    while line < last:
        begin, stop = marks[line], ends[line]
        if begin >= stop or src[begin] != bullet or shifts[line]:
            break
        if stop - begin < 3 or src[begin + 1] != " " or "|" in src[begin:stop]:
            return False
        first = src[begin + 2]
        if not (first.isalpha() or (first == "*" and src[begin + 3:begin + 4] == "*"
                                    and src[begin + 4:begin + 5].isascii() and src[begin + 4:begin + 5].isalnum())):
            return False
        line += 1
    after = line
    while after < last and marks[after] + shifts[after] >= ends[after]:
        after += 1
    if line == after and after < last:
        return False                        # a line right after an item: the list rule decides
    if after < last:
        following = src[marks[after]] if marks[after] < ends[after] else ""
        if counts[after] or not (following.isalpha() or following == "#"):
            return False
    opening = state.push("bullet_list_open", "ul", 1)
    opening.map = [start, after]
    opening.markup = bullet
    for number in range(start, line):
        item = state.push("list_item_open", "li", 1)
        item.map = [number, after if number == line - 1 else number + 1]
        item.markup = bullet
        paragraph = state.push("paragraph_open", "p", 1)
        paragraph.map = [number, number + 1]
        paragraph.hidden = True
        inline = state.push("inline", "", 0)
        inline.content = _md_trim(src[marks[number] + 2:ends[number]])
        inline.map = [number, number + 1]
        inline.children = []
        state.push("paragraph_close", "p", -1).hidden = True
        state.push("list_item_close", "li", -1).markup = bullet
    state.push("bullet_list_close", "ul", -1).markup = bullet
    state.line = after
    return True


# The inline rules this parser has, and the characters that can start anything but plain text
# for them: a backslash escape, a code span, ~~, emphasis, a link, image or footnote (each
# needs a "["), an autolink or HTML (<) and an entity (&). Line breaks are plain text's own.
_INLINE_RULES_KNOWN = frozenset({"text", "newline", "escape", "backticks", "strikethrough", "emphasis", "link",
                                 "image", "footnote_inline", "footnote_ref", "autolink", "html_inline", "entity"})
_INLINE_AFTER_RULES_KNOWN = frozenset({"balance_pairs", "strikethrough", "emphasis", "fragments_join"})
_NOT_PLAIN = re.compile(r"[\\`~*_\[<&]")


def _inline_with_plain_text_shortcut(state) -> None:
    """markdown-it's "inline" stage, which parses the text of every paragraph, heading and
    table cell; text with none of the characters that start inline markup is plain text and
    lines, and its tokens are made directly (the same tokens the inline parser makes)."""
    md = state.md
    for token in state.tokens:
        if token.type == "inline":
            if token.children is None:
                token.children = []
            if _NOT_PLAIN.search(token.content) is None:
                token.children.extend(_plain_text_tokens(token.content))
            elif (made := _plain_text_and_links(md, token.content)) is not None:
                token.children.extend(made)
            elif (made := _plain_text_and_emphasis(token.content)) is not None:
                token.children.extend(made)
            else:
                md.inline.parse(token.content, md, state.env, token.children)


# An inline link whose text has no character any inline rule acts on, and whose target has
# no space, parenthesis, escape, entity or angle bracket: ``[text](target)``. Its tokens are
# the link rule's, made without walking the text one character at a time to find the "]".
_PLAIN_LINK = re.compile(r"\[([^\[\]\\`*_~!<&^\n]+)\]\(([^\s()\\&<>\x00-\x1f\x7f]+)\)")


def _plain_link(state, silent: bool) -> bool:
    if silent:
        return False
    found = _PLAIN_LINK.match(state.src, state.pos, state.posMax)
    if found is None:
        return False
    md = state.md
    href = md.normalizeLink(found.group(2))
    if not md.validateLink(href):
        return False
    token = state.push("link_open", "a", 1)
    token.attrs = {"href": href}
    state.pending += found.group(1)
    state.push("link_close", "a", -1)
    state.pos = found.end()
    return True


def _plain_text_and_links(md: MarkdownIt, text: str) -> list[Token] | None:
    """The tokens of text that is plain but for links ``_plain_link`` makes (the commonest
    paragraph with a link), as the inline parser gives them; None for any other text."""
    tokens: list[Token] = []
    start = 0
    for found in _PLAIN_LINK.finditer(text):
        before = text[start:found.start()]
        # "![...](...)" is an image and "^[...]" an inline footnote; a bare URL may run on into
        # the link (see ``autolink.bare_url``); any other mark is the parser's to read.
        if before.endswith(("!", "^")) or "://" in before or _NOT_PLAIN.search(before) is not None:
            return None
        href = md.normalizeLink(found.group(2))
        if not md.validateLink(href):
            return None
        tokens += _plain_text_tokens(before)
        opening = Token("link_open", "a", 1)
        opening.attrs = {"href": href}
        tokens += (opening, Token("text", "", 0, content=found.group(1), level=1), Token("link_close", "a", -1))
        start = found.end()
    rest = text[start:]
    if not tokens or _NOT_PLAIN.search(rest) is not None:
        return None
    return tokens + _plain_text_tokens(rest)


# Text plain but for emphasis marked with "*" or "**" in the simplest way: each mark opens
# between a space (or the start) and a letter or digit, and closes between a letter or digit
# and a space, the end or a punctuation mark, and opening and closing marks alternate.
_NOT_PLAIN_BUT_STARS = re.compile(r"[\\`~_\[<&]|://")
_STARS = re.compile(r"\*+")
_OPENS_AFTER = frozenset(" \t\n")
_CLOSES_BEFORE = frozenset(" \t\n.,:;!?)'\"")


def _plain_text_and_emphasis(text: str) -> list[Token] | None:
    """The tokens of text plain but for simple emphasis (see above), as the inline parser
    gives them; None for any other text. Such a mark can only open, or only close, by
    CommonMark's rules for delimiter runs, so each closing mark pairs with the opening mark
    just before it, as ``*`` (em) or ``**`` (strong) by its length."""
    if "*" not in text or _NOT_PLAIN_BUT_STARS.search(text) is not None:
        return None
    tokens: list[Token] = []
    start, opened = 0, None
    for run in _STARS.finditer(text):
        mark, at, end = run.group(), run.start(), run.end()
        before, after = text[at - 1:at], text[end:end + 1]
        if len(mark) > 2:
            return None
        tag = "strong" if len(mark) == 2 else "em"
        if opened is None:
            if (before and before not in _OPENS_AFTER) or not (after.isascii() and after.isalnum()):
                return None
            tokens += _plain_text_tokens(text[start:at])
            if tag == "strong":
                tokens.append(Token("text", "", 0))      # what is left of the mark's first "*"
            tokens.append(Token(tag + "_open", tag, 1, markup=mark))
            opened = mark
        else:
            if mark != opened or not (before.isascii() and before.isalnum()) or (after and after not in _CLOSES_BEFORE):
                return None
            for inner in _plain_text_tokens(text[start:at]):
                inner.level = 1
                tokens.append(inner)
            tokens.append(Token(tag + "_close", tag, -1, markup=mark))
            if tag == "strong":
                tokens.append(Token("text", "", 0))      # what is left of the mark's last "*"
            opened = None
        start = end
    if opened is not None:
        return None
    tokens += _plain_text_tokens(text[start:])
    # Text next to text is one token, as the inline parser's last pass leaves it.
    joined: list[Token] = []
    for token in tokens:
        if token.type == "text" and joined and joined[-1].type == "text":
            joined[-1].content += token.content
        else:
            joined.append(token)
    return joined


def _plain_text_tokens(text: str) -> list[Token]:
    """Text tokens and line breaks for text without inline markup, as the inline parser gives
    them: a line ending in two spaces or more is a hard break, else a soft break, and the
    spaces around the break are dropped (one trailing space, or the whole run before a hard break)."""
    tokens: list[Token] = []
    lines = text.split("\n")
    pending = lines[0]
    for line in lines[1:]:
        kind = "softbreak"
        if pending.endswith(" "):
            if pending.endswith("  "):
                cut = len(pending) - 2
                while cut >= 1 and pending[cut - 1] == " ":
                    cut -= 1
                pending, kind = pending[:cut], "hardbreak"
            else:
                pending = pending[:-1]
        if pending:
            tokens.append(Token("text", "", 0, content=pending))
        tokens.append(Token(kind, "br", 0))
        pending = line.lstrip(" \t")
    if pending:
        tokens.append(Token("text", "", 0, content=pending))
    return tokens


_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=16)
def _name_table(section_names: tuple[str, ...]) -> dict[str, str]:
    """Known section names by their lower-case, single-spaced form."""
    return {_SPACES.sub(" ", n).lower(): n for n in section_names}


def _known_name(text: str, names: dict[str, str]) -> str | None:
    cleaned = text.strip().rstrip(":.").strip()
    if " " in cleaned or "\t" in cleaned or "\n" in cleaned:
        cleaned = _SPACES.sub(" ", cleaned)
    return names.get(cleaned.lower())


def _plain(children: list[Token] | None, images: bool = True) -> str:
    """The text of inline tokens; with ``images``, an image's alt text counts as text."""
    parts = []
    for child in children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image" and images:
            parts.append(_plain(child.children))
    return "".join(parts)


def ids_in_html(html: str) -> set[str]:
    """The ids a link's ``#fragment`` can reach in a piece of HTML: every element's ``id``, and
    the ``name`` of an ``<a>``; quoted or not; nothing inside a comment."""
    found = set()
    for tag in _HTML_TAG.finditer(_HTML_COMMENT.sub("", html)):
        for attribute in _HTML_ATTRIBUTE.finditer(tag.group(2) or ""):
            if attribute.group(1).lower() == "id" or tag.group(1).lower() == "a":
                value = attribute.group(2) or attribute.group(3) or attribute.group(4)
                if value:
                    found.add(value)
    return found


def _marker(children: list[Token], names: dict[str, str]) -> tuple[str, str, list[Token]] | None:
    """A legacy ``***Problem***: text`` marker at the start of ``children``.

    Returns the known name, the name as written, and the children after the marker.
    """
    items = [c for c in children if not (c.type == "text" and c.content == "")]
    opens = 0
    while opens < len(items) and items[opens].type in ("em_open", "strong_open"):
        opens += 1
    if not any(items[i].type == "strong_open" for i in range(opens)) or opens >= len(items):
        return None
    if items[opens].type != "text":
        return None
    written = items[opens].content
    known = _known_name(written, names)
    if known is None:
        return None
    closes = opens + 1
    while closes < len(items) and items[closes].type in ("em_close", "strong_close") and closes - opens - 1 < opens:
        closes += 1
    if closes - opens - 1 != opens:
        return None
    rest = items[closes:]
    colon = written.rstrip().endswith((":", "."))
    if rest and rest[0].type == "text":
        stripped = rest[0].content.lstrip()
        if stripped.startswith(":"):
            colon = True
            stripped = stripped[1:].lstrip()
        if not colon and stripped:
            return None
        first = Token("text", "", 0, content=stripped)
        rest = ([first] if stripped else []) + rest[1:]
    elif rest and not colon and rest[0].type not in ("softbreak", "hardbreak"):
        return None
    return known, written.strip().rstrip(":.").strip(), rest


def _split_lines(children: list[Token]) -> list[list[Token]]:
    lines: list[list[Token]] = [[]]
    for child in children:
        if child.type in ("softbreak", "hardbreak"):
            lines.append([])
        else:
            lines[-1].append(child)
    return lines


def _may_hold_markers(body: str, names: dict[str, str]) -> bool:
    """False when ``body`` cannot hold a legacy marker: a marker is strong text that starts
    with a known section name, so the source has ``**`` or ``__`` (maybe with more ``*`` and
    ``_``) right before the name's first word. An entity may spell the name, and a name of
    other than ASCII letters may change with case differently: then the tokens are looked at."""
    if "&" in body:
        return True
    after = _marker_rest(tuple(names))
    if after is None:
        return True
    for mark in ("**", "__"):
        at = body.find(mark)
        while at != -1:
            if after.match(body, at + 2):
                return True
            at = body.find(mark, at + 2)
    return False


@functools.lru_cache(maxsize=16)
def _marker_rest(names: tuple[str, ...]) -> re.Pattern | None:
    """What follows ``**`` or ``__`` in the source of a marker with one of ``names`` (lower
    case, single-spaced): more ``*`` and ``_``, then the first word of the name."""
    firsts = sorted({name.split(" ")[0] for name in names})
    if not all(first.isascii() for first in firsts):
        return None
    return re.compile(r"[*_]*(?:" + "|".join(map(re.escape, firsts)) + ")", re.IGNORECASE)


def _legacy_sections(tokens: list[Token], names: dict[str, str]) -> list[Token]:
    """Turn legacy marker paragraphs into level-2 headings plus a paragraph of the rest."""
    result: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if (token.type == "paragraph_open" and token.level == 0 and i + 2 < len(tokens)
                and tokens[i + 1].type == "inline"):
            inline = tokens[i + 1]
            children = inline.children or []
            lines = _split_lines(children) if "**" in inline.content or "__" in inline.content else []
            if any(_marker(line, names) for line in lines):
                start = token.map[0] if token.map else 0
                # Group lines into segments: a marker line starts a new segment.
                segments: list[tuple[int, list[list[Token]]]] = []
                for number, line in enumerate(lines):
                    if _marker(line, names) or not segments:
                        segments.append((number, [line]))
                    else:
                        segments[-1][1].append(line)
                for number, seg_lines in segments:
                    line_map = [start + number, start + number + len(seg_lines)]
                    marker = _marker(seg_lines[0], names)
                    body_lines = seg_lines
                    if marker:
                        known, written, rest = marker
                        h_open = Token("heading_open", "h2", 1, map=line_map, level=0, markup="##",
                                       block=True)
                        h_open.meta = {"legacy": True, "known": known}
                        h_inline = Token("inline", "", 0, map=line_map, level=1, content=written,
                                         children=[Token("text", "", 0, content=written)], block=True)
                        h_close = Token("heading_close", "h2", -1, level=0, markup="##", block=True)
                        result.extend([h_open, h_inline, h_close])
                        body_lines = ([rest] if rest else []) + seg_lines[1:]
                        body_lines = [b for b in body_lines if b] if not rest else body_lines
                    if body_lines and any(body_lines):
                        merged: list[Token] = []
                        for k, line in enumerate(body_lines):
                            if k:
                                merged.append(Token("softbreak", "br", 0))
                            merged.extend(line)
                        p_open = Token("paragraph_open", "p", 1, map=line_map, level=0, block=True)
                        p_inline = Token("inline", "", 0, map=line_map, level=1,
                                         content=inline.content, children=merged, block=True)
                        p_close = Token("paragraph_close", "p", -1, level=0, block=True)
                        result.extend([p_open, p_inline, p_close])
                i += 3
                continue
        result.append(token)
        i += 1
    return result


_MARKUP = re.compile(r"[*_~`\\]")
_SPACES_AND_QUOTES = re.compile(r"[\s>]+")


def _loosely(text: str) -> str:
    """``text`` without emphasis, code or escape marks, and with its spaces, line breaks and
    blockquote ``>`` as one space: so that a link's text as written and as parsed compare."""
    return _SPACES_AND_QUOTES.sub(" ", _MARKUP.sub("", text)).strip()


def _link_text(children: list[Token], start: int) -> str:
    """The plain text of the link whose tokens start at ``children[start]``, up to where it closes."""
    end = start
    while end < len(children) and children[end].type != "link_close":
        end += 1
    return _plain(children[start:end])


@functools.lru_cache(maxsize=32)
def _bracket_pairs(block: str) -> tuple[list[int], dict[int, int]]:
    """Every ``[`` of ``block`` that is closed, in order, and the ``]`` closing each; escaped
    brackets don't count. Kept for the few blocks last asked about: a block's links all ask."""
    closing: dict[int, int] = {}
    stack: list[int] = []
    pos, size = 0, len(block)
    while pos < size:
        char = block[pos]
        if char == "\\":
            pos += 1
        elif char == "[":
            stack.append(pos)
        elif char == "]" and stack:
            closing[stack.pop()] = pos
        pos += 1
    return sorted(closing), closing


def _opening_bracket(block: str, close: int) -> int:
    """The ``[`` that the ``]`` at ``close`` closes, skipping nested and escaped brackets."""
    start = block.rfind("[", 0, close)
    if start != -1 and block.find("]", start, close) == -1 and block[start - 1:start] != "\\":
        return start        # the usual case: no brackets inside the link's text
    depth = 0
    for pos in range(close, -1, -1):
        if pos > 0 and block[pos - 1] == "\\":
            continue
        if block[pos] == "]":
            depth += 1
        elif block[pos] == "[":
            depth -= 1
            if depth == 0:
                return pos
    start = block.rfind("[", 0, close)
    return start if start != -1 else close


_BACKTICK_RUN = re.compile(r"`+")


def _without_code_spans(text: str) -> str:
    """``text`` with every code span blanked out, newlines kept: the same length and lines,
    so a search for a link's source finds none written inside code (`` `[a](b.md)` ``).
    As CommonMark reads them: a run of backticks opens a span that the next run of the same
    length closes; a backslash before the first backtick makes that one literal."""
    if "`" not in text:
        return text
    runs = [(found.start(), found.end()) for found in _BACKTICK_RUN.finditer(text)]
    parts, copied, i = [], 0, 0
    while i < len(runs):
        start, end = runs[i]
        backslashes = len(text[:start]) - len(text[:start].rstrip("\\"))
        start += backslashes % 2               # an escaped backtick is text
        closer = next((k for k in range(i + 1, len(runs)) if runs[k][1] - runs[k][0] == end - start), None)
        if start == end or closer is None:
            i += 1
            continue
        close = runs[closer][1]
        parts += [text[copied:start], "".join("\n" if char == "\n" else " " for char in text[start:close])]
        copied, i = close, closer + 1
    return "".join(parts) + text[copied:]


def _find_by_text(block: str, cursor: int, text: str, image: bool, reference: bool, masked: str | None = None) -> int:
    """Where ``[text]`` (``![text]`` for an image), followed by ``(`` unless a reference
    link's, starts at or after ``cursor``, or -1.

    A ``[`` right after ``!`` opens an image, after ``]`` the label of a reference link.
    Brackets far longer than the text (with its markup) are not compared at all. Brackets
    are looked for in ``masked`` (the block without its code spans) when given.
    """
    wanted = _loosely(text)
    longest = 2 * len(text) + 100
    openings, closing = _bracket_pairs(masked if masked is not None else block)
    first = cursor + 1 if image else cursor        # an image's "[" comes after its "!"
    for opening in openings[bisect.bisect_left(openings, first):]:
        before = block[opening - 1] if opening else ""
        if (before == "!") != image or before == "]":
            continue
        close = closing[opening]
        if close - opening > longest or not (reference or block.startswith("(", close + 1)):
            continue
        if _loosely(block[opening + 1:close]) == wanted:
            return opening - 1 if image else opening
    return -1


def _link_start(block: str, close: int, image: bool) -> int | None:
    """Where the link whose text ends at the ``]`` at ``close`` starts: at its ``[``, an
    image at its ``!``. None when an image is there and a link wanted."""
    start = _opening_bracket(block, close)
    after_bang = start > 0 and block[start - 1] == "!" and block[start - 2:start - 1] != "\\"
    if after_bang and not image:
        return None
    return start - 1 if after_bang else start


@functools.lru_cache(maxsize=8)
def _searches(block: str) -> dict[str, tuple[int, int]]:
    """For one block, where each text was last looked for and found: ``{text: (from, at)}``.
    A block's links are looked for in order, so a text missing after one place is missing
    after every later place: a long paragraph is not searched again for each of its links."""
    return {}


def _find_from(block: str, needle: str, start: int) -> int:
    """``block.find(needle, start)``, remembering the answer for the next links of the block."""
    searches = _searches(block)
    known = searches.get(needle)
    if known is not None and known[0] <= start and (known[1] == -1 or known[1] >= start):
        return known[1]
    found = block.find(needle, start)
    searches[needle] = (start, found)
    return found


@functools.lru_cache(maxsize=8)
def _line_starts(block: str) -> list[int]:
    """Where each line of ``block`` after the first starts."""
    return [found.end() for found in re.finditer("\n", block)]


def _line_of(block: str, position: int) -> int:
    """How many lines of ``block`` come before the one holding ``position``."""
    if position < 200:
        return block.count("\n", 0, position)
    return bisect.bisect_right(_line_starts(block), position)


def _find_by_target(block: str, cursor: int, href: str, raw: str, image: bool, autolink: bool) -> int:
    """Where the first link to this target that starts at or after ``cursor`` starts, or -1."""
    starts = []
    needles = (f"<{raw}>", f"<{href}>") if autolink else (f"]({raw}", f"]( {raw}", f"](<{raw}>", f"]({href}")
    for needle in needles:
        if not needle.strip("[]()<> "):
            continue
        pos = _find_from(block, needle, cursor)
        while pos != -1:
            start = _link_start(block, pos, image) if needle.startswith("]") else pos
            # Else an image's target, or that of the link found before.
            if start is not None and start >= cursor:
                starts.append(start)
                break
            pos = _find_from(block, needle, pos + 1)
    return min(starts, default=-1)


def _locate(block: str, block_line: int, cursor: int, href: str, raw: str, text_of: Callable[[], str] | None,
            image: bool, reference: bool, masked: str | None = None) -> tuple[int, int | None, int]:
    """Line and column of a link inside ``block`` (the source lines of its block), and
    the cursor to look for the block's next link from.

    A link starts at its ``[`` (an image at its ``!``). An inline link is found by its
    target, written right after its text; when that is not there (a reference link
    ``[text][label]``, ``[label][]`` or ``[label]``, or a target on the next line), by its
    text, which ``text_of()`` gives (None for an autolink, which has none). Found by neither,
    a link is on the block's first line. With ``masked`` (the block with its code spans
    blanked out), a link written first inside code is not taken for the link.
    """
    searched = masked if masked is not None else block
    start = -1 if reference else _find_by_target(searched, cursor, href, raw, image, text_of is None)
    if start == -1 and text_of is not None:
        start = _find_by_text(block, cursor, text_of(), image, reference, masked)
    if start == -1:
        return block_line, None, cursor
    line = block_line + _line_of(block, start)
    line_start = block.rfind("\n", 0, start) + 1
    return line, start - line_start + 1, start + 1


def parse(md: MarkdownIt, body: str, body_line: int, *, pattern: bool,
          section_names: tuple[str, ...] = KNOWN_SECTIONS, render: bool = True) -> Rendered:
    """Parse one page body. ``body_line`` is the line of the body's first line in its file.

    ``render=False`` skips making the HTML, the word count and the summary (checks need only
    the rest); the ids, headings, sections, variants and links are the same either way.
    """
    names = _name_table(tuple(section_names))
    env: dict = {}
    if not body.endswith("\n"):
        # CommonMark reads the end of the text as the end of a line; the admonition plugin
        # reads past the end of a last line without one (a table in a quote ending in ">").
        body += "\n"
    if "ref" in body and "{{" in body:
        body = hugo_refs(body)
    tokens = md.parse(body, env)
    if pattern and ("**" in body or "__" in body) and _may_hold_markers(body, names):
        tokens = _legacy_sections(tokens, names)
    source_lines = body.split("\n")

    used_ids: dict[str, int] = {}
    headings: list[Heading] = []
    links: list[Link] = []
    sections: list[Section] = []
    variants: list[Variant] = []
    html_ids: set[str] = set()
    shortcodes: list[tuple[int, int | None]] = []
    unparsed: list[tuple[int, int | None, str, str]] = []
    summary = ""
    words = 0

    current_map = [0, 1]
    cursor_by_block: dict[int, int] = {}
    section_open: dict | None = None
    in_variants = False
    pending_item: Token | None = None
    previous: Token | None = None

    def close_section() -> None:
        nonlocal section_open
        if section_open is not None:
            sections.append(Section(
                name=section_open["name"], known=section_open["known"], id=section_open["id"],
                line=section_open["line"], column=section_open["column"],
                empty=not section_open["content"], marker=section_open["marker"],
                text=" ".join(section_open["text"]).strip()))
        section_open = None

    for index, token in enumerate(tokens):
        kind = token.type
        if token.map:
            current_map = token.map
        if kind == "heading_open":
            inline = tokens[index + 1]
            chosen, classes = _heading_attributes(inline)
            # As GitHub: an image's alt text is not in the id, but the space after the image is.
            written = _plain(inline.children, images=False)
            text = written.strip()
            hid = unique_id(chosen or heading_id(written), used_ids)
            token.attrSet("id", hid)
            if classes:
                token.attrSet("class", " ".join(classes))
            level = int(token.tag[1])
            line = body_line + (token.map[0] if token.map else current_map[0])
            headings.append(Heading(level, text, hid, line))
            if level <= 2:
                close_section()
                in_variants = False
            if level == 2:
                legacy = bool(token.meta.get("legacy")) if token.meta else False
                known = token.meta.get("known") if legacy else _known_name(text, names)
                raw_line = source_lines[token.map[0]] if token.map and token.map[0] < len(source_lines) else ""
                column = len(raw_line) - len(raw_line.lstrip()) + 1
                section_open = {"name": text, "known": known, "id": hid, "line": line,
                                "column": column, "content": False, "text": [],
                                "marker": "legacy" if legacy else "heading"}
                in_variants = known == "Variants"
            previous = token
            continue
        if kind == "inline":
            heading_text = previous is not None and previous.type == "heading_open"
            children = token.children or []
            if not heading_text:
                plain = _plain(children)
                if section_open is not None:
                    section_open["content"] = True
                    section_open["text"].append(plain)
                if render:                            # words and summary are for pages shown
                    words += len(plain.split())
                    if not summary and previous is not None and previous.type == "paragraph_open" \
                            and previous.level == 0:
                        summary = plain.strip()
            if pending_item is not None:
                meaningful = [c for c in children if not (c.type == "text" and not c.content.strip())]
                if meaningful and meaningful[0].type == "strong_open":
                    closing = next((k for k, c in enumerate(meaningful) if c.type == "strong_close"), None)
                    name = _plain(meaningful[1:closing]).strip().rstrip(":.").strip()
                    if name:
                        vid = unique_id("variant-" + (slugify(name) or "item"), used_ids)
                        pending_item.attrSet("id", vid)
                        pending_item.attrJoin("class", "variant")
                        line = body_line + (token.map[0] if token.map else current_map[0])
                        variants.append(Variant(name, vid, line))
                pending_item = None
            if "{{" in token.content:
                _find_shortcodes(children, source_lines, token.map or current_map, body_line, shortcodes)
            if "](" in token.content or "] (" in token.content:
                _find_unparsed_links(children, source_lines, token.map or current_map, body_line, unparsed)
            if any(c.type in _LINK_TOKENS or c.children for c in children):
                block_map = token.map or current_map
                block_key = block_map[0]
                block_text = "\n".join(source_lines[block_map[0]:block_map[1]])
                _collect_links(children, links, block_text, body_line + block_map[0], cursor_by_block,
                               block_key, html_ids, _without_code_spans(block_text))
        else:
            if section_open is not None and token.nesting != -1 and kind != "heading_close":
                section_open["content"] = True
            if kind == "list_item_open" and in_variants:
                pending_item = token
            elif kind == "html_block":
                if "{{" in token.content:
                    _find_shortcodes([token], source_lines, token.map or current_map, body_line, shortcodes)
                block_map = token.map or current_map
                _collect_html(token, links, body_line + block_map[0],
                              "\n".join(source_lines[block_map[0]:block_map[1]]), cursor_by_block, block_map[0])
                html_ids.update(ids_in_html(token.content))
        previous = token

    close_section()
    html = md.renderer.render(tokens, md.options, env) if render else ""
    ids = {h.id for h in headings} | {v.id for v in variants} | html_ids | set(env.get("attr_ids", ()))
    if env.get("footnotes", {}).get("list"):
        # The footnote plugin names its notes and references itself.
        ids |= ids_in_html(html if render else _footnote_marks(md, tokens, env))
    return Rendered(html=html, headings=tuple(headings), links=tuple(links), ids=frozenset(ids),
                    sections=tuple(sections), variants=tuple(variants), summary=summary, words=words,
                    shortcodes=tuple(shortcodes), unparsed=tuple(unparsed))


# Attributes at the end of a heading, as Hugo, Zola and MkDocs (attr_list) read them:
# "## Title {#custom-id}", "{#id .class}", "{: #id }". An id and classes are used; other
# key=value pairs are accepted and dropped, so no event handler gets into the page.
_HEADING_ATTRIBUTES = re.compile(r"[ \t]*(?<!\\)" + ATTRIBUTE_LIST + r"[ \t]*$")


def _heading_attributes(inline: Token) -> tuple[str | None, list[str]]:
    """The id and classes written at the end of a heading; they are taken out of its text."""
    children = inline.children
    if not children or children[-1].type != "text" or not children[-1].content.endswith("}"):
        return None, []
    found = _HEADING_ATTRIBUTES.search(children[-1].content)
    if found is None or _HEADING_ATTRIBUTES.search(inline.content) is None:    # "\\{#x}" is text
        return None, []
    chosen, classes, _ = parse_attributes(found.group(1))      # Goldmark's id="x" and class="a b" too
    rest = children[-1].content[:found.start()]
    if rest:
        children[-1].content = rest
    else:
        del children[-1]
    if children and children[-1].type == "text" and not rest:
        children[-1].content = children[-1].content.rstrip(" \t")
    return chosen, classes


_SHORTCODE = re.compile(r"\{\{[<%]")


def _find_shortcodes(tokens: list[Token], source_lines: list[str], block_map: list[int], body_line: int,
                     found: list[tuple[int, int | None]]) -> None:
    """Where Hugo or Zola shortcodes (``{{< ref "x" >}}``, ``{{% notice %}}``) are written in text
    or raw HTML (not in code): they are not run, so the page would show them as written."""
    if not any(t.type == "text" and _SHORTCODE.search(t.content)
               or t.type in ("html_inline", "html_block") and _SHORTCODE.search(_HTML_COMMENT.sub("", t.content))
               for t in tokens):
        return                                  # in code, or in an HTML comment the page never shows
    for number in range(block_map[0], min(block_map[1], len(source_lines))):
        mark = _SHORTCODE.search(source_lines[number])
        if mark is not None:
            found.append((body_line + number, mark.start() + 1))
            return
    found.append((body_line + block_map[0], None))


# Text that an author meant as a link but that CommonMark (and GitHub) reads as text: a target
# with a space in it, "[a](my page.md)", or a space between the brackets and the parentheses,
# "[a] (https://example.org)" (flagged only when what is in the parentheses is a URL or a page).
_SPACED_TARGET = re.compile(r"\[([^\[\]\n]+)\]\(([^()\n]*\s[^()\n]*)\)")
_LOOKS_LIKE_TARGET = re.compile(r"[./#]\S|^\s*(?:https?:|mailto:)", re.IGNORECASE)
_SPACE_BEFORE_TARGET = re.compile(
    r"\[([^\[\]\n]+)\][ \t]+\(((?:https?://|mailto:)[^\s()]+|[^\s()]+\.(?:md|markdown|html?)(?:#[^\s()]*)?)\)",
    re.IGNORECASE)


def _find_unparsed_links(tokens: list[Token], source_lines: list[str], block_map: list[int], body_line: int,
                         found: list[tuple[int, int | None, str, str]]) -> None:
    """Where the text of a paragraph holds something written like a link that is not one (see
    above). Only text counts, not code; a bracket escaped in the source (``\\[a](b c)``) was
    meant as text."""
    block = source_lines[block_map[0]:block_map[1]]
    if _may_hold_unparsed_links("\n".join(block)):
        _unparsed_links(tokens, block, block_map, body_line, found)


def _may_hold_unparsed_links(source: str) -> bool:
    """False when the source of a block cannot hold what ``_unparsed_links`` reports: it reports
    text found as written on one of the block's lines, which matches one of the patterns."""
    return _SPACED_TARGET.search(source) is not None or _SPACE_BEFORE_TARGET.search(source) is not None


def _unparsed_links(tokens: list[Token], block: list[str], block_map: list[int], body_line: int,
                    found: list[tuple[int, int | None, str, str]]) -> None:
    # Runs of text, a bare URL made a link counting as text: "[site] (https://x.org)".
    runs, current = [], []
    for token in tokens:
        if token.type == "text":
            current.append(token.content)
        elif token.markup != "linkify":
            runs.append("".join(current))
            current = []
    runs.append("".join(current))
    after: dict[str, tuple[int, int]] = {}       # where the same text was last found: the next is past it
    for run in runs:
        for pattern, why in ((_SPACED_TARGET, "spaced"), (_SPACE_BEFORE_TARGET, "gap")):
            for match in pattern.finditer(run):
                if why == "spaced" and not _LOOKS_LIKE_TARGET.search(match.group(2)):
                    continue             # "[0, 1](open interval)": prose, not a link
                if why == "gap" and match.group(1).strip().isdigit():
                    continue             # "Smith et al. [12] (https://...)": a citation
                written = match.group(0)
                first_line, start = after.get(written, (0, 0))
                for number in range(first_line, len(block)):
                    line = block[number]
                    column = line.find(written, start if number == first_line else 0)
                    while column > 0 and line[column - 1] == "\\":
                        column = line.find(written, column + 1)
                    if column != -1:
                        found.append((body_line + block_map[0] + number, column + 1, written, why))
                        after[written] = (number, column + 1)
                        break


# Hugo's ref and relref shortcodes where a link's target goes: "[x]({{< ref "y.md" >}})",
# "[x]: {{< relref "y" >}}", or an HTML href or src.
_REF = r"""\{\{[<%]\s*(?:rel)?ref\s+(?:path\s*=\s*)?"([^"]*)"(?:\s+[A-Za-z]+\s*=\s*"[^"]*")*\s*[>%]\}\}"""
_REF_IN_LINK = re.compile(r"(\]\(\s*|^\s{0,3}\[[^\]]+\]:\s*)" + _REF)
_REF_IN_HTML = re.compile(r"""((?<![\w-])(?:href|src)\s*=\s*)(["'])""" + _REF + r"\2")


def hugo_refs(body: str) -> str:
    """``body`` with Hugo's ``ref``/``relref`` shortcodes in link targets replaced by the path
    they name, as this site's links write it: ``/handbook/x.md`` (from the content folder) as
    ``@/handbook/x.md``, a name without an extension as ``name.md`` (from the content folder,
    a page or a section's page, as Hugo finds it). ``{{< ref path="x" >}}`` and other
    parameters are read too. Code, fenced or inline, is left as written."""
    lines = body.split("\n")
    code = masked = None
    for number, line in enumerate(lines):
        if "{{" not in line or "ref" not in line:
            continue
        code = code if code is not None else code_lines(lines)
        if code[number]:
            continue
        masked = masked if masked is not None else _without_code_spans_by_paragraph(lines, code)
        blank = masked[number]

        def outside_code(found: re.Match, rewritten: str) -> str:
            return found.group(0) if blank[found.start()] != line[found.start()] else rewritten

        line = _REF_IN_LINK.sub(lambda found: outside_code(found, found.group(1) + _ref_path(found.group(2))), line)
        lines[number] = _REF_IN_HTML.sub(
            lambda found: outside_code(found, f'{found.group(1)}"{_ref_path(found.group(3))}"'), line)
    return "\n".join(lines)


def _without_code_spans_by_paragraph(lines: list[str], code: list[bool]) -> list[str]:
    """``lines`` with their inline code spans blanked out, paragraph by paragraph (a span never
    runs past a blank line or into a code block)."""
    masked, run = [], []
    for line, is_code in zip(lines + [""], code + [True]):
        if is_code or not line.strip():
            if run:
                masked += _without_code_spans("\n".join(run)).split("\n")
                run = []
            masked.append(line)
        else:
            run.append(line)
    return masked[:len(lines)]


def _ref_path(target: str) -> str:
    path, mark, fragment = target.strip().partition("#")
    name = path.rsplit("/", 1)[-1]
    if path.startswith("/"):
        path = "@" + path                 # from the content folder, as Zola's @/ links
    elif path and not path.endswith("/") and "." not in name:
        path += ".md"                     # Hugo finds "about" as about.md
    return path.replace(" ", "%20") + mark + fragment


def _footnote_marks(md: MarkdownIt, tokens: list[Token], env: dict) -> str:
    """The HTML of a parse's footnote references and notes only, made by the footnote
    plugin's own rules: where its ids are, without rendering the whole page."""
    rules, options, parts = md.renderer.rules, md.options, []
    for index, token in enumerate(tokens):
        if token.type == "footnote_open":
            parts.append(rules["footnote_open"](tokens, index, options, env))
        elif token.type == "inline" and token.children:
            children = token.children
            for k, child in enumerate(children):
                if child.type == "footnote_ref":
                    parts.append(rules["footnote_ref"](children, k, options, env))
    return "".join(parts)


def _collect_links(children: list[Token], links: list[Link], block_text: str, block_line: int,
                   cursors: dict[int, int], block_key: int, html_ids: set[str], masked: str | None = None) -> None:
    """Record the links among ``children`` (an inline token's, from the block whose source is
    ``block_text``; ``masked`` is that source without its code spans) with their places."""
    for position, child in enumerate(children):
        if child.type == "link_open" or child.type == "image":
            attr = "href" if child.type == "link_open" else "src"
            value = child.attrGet(attr)
            if value is None:
                continue
            href = str(value)
            decoded = unquote(href)
            image = child.type == "image"
            text = _plain(child.children) if image else ""
            if child.markup == "autolink":          # <https://...> has no [text]
                text_of = None
            else:
                text_of = (lambda: text) if image else functools.partial(_link_text, children, position + 1)
            reference = "label" in (child.meta or {})
            cursor = cursors.get(block_key, 0)
            line, column, cursor = _locate(block_text, block_line, cursor, href, decoded, text_of,
                                           image, reference, masked)
            cursors[block_key] = cursor
            number = len(links)
            links.append(Link(number, decoded, href, line, column, text, "image" if image else "link"))
            child.attrSet(attr, f"{PLACEHOLDER_OPEN}{number}{PLACEHOLDER_CLOSE}")
            child.meta = dict(child.meta or {}, original=href)
        elif child.type == "html_inline":
            _collect_html(child, links, block_line, masked if masked is not None else block_text, cursors, block_key)
            html_ids.update(ids_in_html(child.content))
        if child.children and child.type != "image":
            _collect_links(child.children, links, block_text, block_line, cursors, block_key, html_ids, masked)


def _collect_html(token: Token, links: list[Link], line: int, block_text: str | None = None,
                  cursors: dict[int, int] | None = None, block_key: int = 0) -> None:
    """Record the targets of ``href``, ``src``, ``srcset``, ``poster`` and ``data`` in raw HTML and
    put placeholders in their place; a commented-out link is no link."""
    comments = [(found.start(), found.end()) for found in _HTML_COMMENT.finditer(token.content)]

    content = token.content

    def replace(match: re.Match) -> str:
        quoted = match.group(2) is not None
        value = match.group(3) if quoted else match.group(4)
        if PLACEHOLDER_OPEN in value or any(start <= match.start() < end for start, end in comments):
            return match.group(0)
        if not _an_attribute(content, match.start()):
            return match.group(0)           # "href=x" in text, or inside another attribute's value
        where, column = line + token.content.count("\n", 0, match.start()), None
        if block_text is not None and cursors is not None:
            pos = block_text.find(match.group(0), cursors.get(block_key, 0))
            if pos != -1:
                cursors[block_key] = pos + 1
                tag_start = block_text.rfind("<", 0, pos)
                start = tag_start if tag_start != -1 else pos
                where = line + _line_of(block_text, start)
                column = start - (block_text.rfind("\n", 0, start) + 1) + 1
        spans = srcset_spans(value) if match.group(1).lower() == "srcset" else [(0, len(value))]
        parts, copied = [], 0
        for start, end in spans:
            url = value[start:end]
            parts += [value[copied:start], f"{PLACEHOLDER_OPEN}{len(links)}{PLACEHOLDER_CLOSE}"]
            links.append(Link(len(links), unquote(url), url, where, column, "", "html"))
            copied = end
        quote = match.group(2) or '"'
        return f"{match.group(1)}={quote}{''.join(parts)}{value[copied:]}{quote}"
    token.content = _HTML_LINK.sub(replace, token.content)


def _an_attribute(html: str, position: int) -> bool:
    """Whether ``position`` in raw HTML starts an attribute of a tag: inside ``<...>`` and not
    inside another attribute's quoted value (``alt="src=x.png"`` holds no ``src``)."""
    start = html.rfind("<", 0, position)
    if start == -1 or html.rfind(">", 0, position) > start:
        return False
    quote, previous = None, ""
    for char in html[start:position]:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "\"'" and previous == "=":        # a value's quotes follow its "="
            quote = char
        if not char.isspace():
            previous = char
    return quote is None


_PLACEHOLDER_ANCHOR = re.compile(f'<a href="{PLACEHOLDER_OPEN}(\\d+){PLACEHOLDER_CLOSE}"[^>]*>(.*?)</a>', re.DOTALL)


def unlink(html: str, numbers: set[int]) -> str:
    """``html`` with the Markdown links of those placeholder ``numbers`` reduced to their text:
    links to pages that are not published (drafts), so the site has no dead links."""
    def replace(match: re.Match) -> str:
        return match.group(2) if int(match.group(1)) in numbers else match.group(0)
    return _PLACEHOLDER_ANCHOR.sub(replace, html)


def fill_links(html: str, targets: list[str] | tuple[str, ...]) -> str:
    """Write each link's final target (already HTML-escaped) into the placeholders of ``html``."""
    def replace(match: re.Match) -> str:
        number = int(match.group(1))
        return targets[number] if number < len(targets) else ""
    return _PLACEHOLDER.sub(replace, html)
