"""Bare URLs become links, as GitHub, Hugo (Goldmark) and most handbook readers expect.

This follows GitHub Flavored Markdown's "autolinks (extension)": ``www.example.org``,
``https://example.org/path``, ``http://...`` and ``ftp://...`` written in text, and e-mail
addresses (``team@example.org``, ``mailto:team@example.org``), become links, shown as
written. A ``www.`` link or an address starts a line or follows a space or one of ``*``,
``_``, ``~`` and ``(``; an ``http(s)://`` or ``ftp://`` link follows anything but an ASCII
letter or digit (so text in other scripts may run right up to it). An address's domain ends
in a name (``org``), so ``react@18.2.0`` and ``tool@2.1.0-beta`` are versions, not
addresses. What ends a link is the standard's too: trailing punctuation (``?!.,:*_~`` and
quotes) is left out, and so is a ``)`` that has no ``(`` in the link, and a ``;`` at its
end, with the entity-like ``&name`` before it if there is one. Text inside a link, code and
raw HTML is left alone.

``bare_url`` is an inline rule: at the ``:`` of ``http://``, ``https://`` or ``ftp://`` in text that goes
through the inline parser, it takes the whole link at once, as GitHub does, so that
``__init__`` or ``**`` inside a URL is part of it, not emphasis (unless a ``www.`` link or an
address that began before the scheme runs over it: ``www.http://x.org``). ``autolink_literals`` is a
core rule that runs after the inline stage, before the typographer's replacements: it finds
the rest (``www.`` links, addresses, and links in text that had no inline markup at all) in
the text tokens. Known difference from GitHub: a ``www.`` link or an address holding ``__``
pairs, an escape or an entity is cut where the emphasis or escape begins.
"""

from __future__ import annotations

import re

from markdown_it.token import Token

_URL = re.compile(r"(?:((?i:https?|ftp)://)(?:[^\s@/<]+@)?|www\.)([\w-]+(?:\.[\w-]+)*)([^\s<]*)")
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_BEFORE = frozenset(" \t\n*_~(")
_TRAILING = "?!.,:*_~'\""
_ENTITY_AT_END = re.compile(r"&[A-Za-z0-9]+;$")
_MAILTO = "mailto:"
_TOP_LEVEL = re.compile(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z]")     # "org", "xn--p1ai": not "0-beta"
_LINK_OPEN = re.compile(r"<a[\s>]", re.IGNORECASE)
_LINK_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)


def _valid_domain(domain: str, periods: int) -> bool:
    """At least ``periods`` periods, no empty part, and no underscore in the last two parts."""
    parts = domain.split(".")
    if len(parts) - 1 < periods or not all(parts):
        return False
    return "_" not in "".join(parts[-2:])


def _trim(link: str) -> str:
    """``link`` less what GFM leaves out of its end."""
    while link:
        if link[-1] in _TRAILING:
            link = link[:-1]
        elif link[-1] == ")" and link.count(")") > link.count("("):
            link = link[:-1]
        elif link[-1] == ";":
            entity = _ENTITY_AT_END.search(link)
            link = link[:entity.start()] if entity else link[:-1]
        else:
            return link
    return link


def find_links(text: str) -> list[tuple[int, int, str]]:
    """Each bare URL or e-mail address in ``text``: its start, its end and the link's target.

    A ``www.`` link or an address must start the text or follow a space or one of ``*_~(``;
    an ``http(s)://`` or ``ftp://`` link must not follow an ASCII letter or digit (``xhttp://``
    is no link). ``mailto:`` before an address is part of its link."""
    found: list[tuple[int, int, str]] = []
    position = 0
    while position < len(text):
        url = _URL.search(text, position)
        mail = _EMAIL.search(text, position) if "@" in text else None
        match = min((m for m in (url, mail) if m is not None), key=lambda m: m.start(), default=None)
        if match is None:
            break
        start = match.start()
        scheme = match.group(1) if match is url else None
        mailto = match is mail and text[max(0, start - len(_MAILTO)):start].lower() == _MAILTO
        if mailto:
            start -= len(_MAILTO)
        before = text[start - 1] if start > 0 else " "
        if (before.isascii() and before.isalnum() if scheme else before not in _BEFORE):
            position = match.start() + 1
            continue
        if match is url:
            if not _valid_domain(match.group(2), 0):
                position = match.end(2)
                continue
            written = _trim(match.group(0))
            if scheme and len(written) <= len(scheme):
                position = match.end()
                continue
            target = written if scheme else "http://" + written
        else:
            address = match.group(0).rstrip(".")
            domain = address.partition("@")[2]
            if not _valid_domain(domain, 1) or not _TOP_LEVEL.fullmatch(domain.rpartition(".")[2]):
                position = match.end()
                continue
            written = text[start:match.start()] + address
            target = "mailto:" + address
        found.append((start, start + len(written), target))
        position = start + len(written)
    return found


_SCHEME_BEFORE = re.compile(r"(?i:https?|ftp)$")


def bare_url(state, silent: bool) -> bool:
    """At the ``:`` of a bare ``http(s)://`` link: the link, whole (see the module's docstring)."""
    pos = state.pos
    src = state.src
    if src[pos] != ":" or not src.startswith("//", pos + 1) or state.linkLevel > 0:
        return False
    scheme = _SCHEME_BEFORE.search(state.pending)
    if scheme is None:
        return False
    start = pos - (len(state.pending) - scheme.start())
    if start > 0 and src[start - 1].isascii() and src[start - 1].isalnum() or _inside_html_link(state.tokens):
        return False
    head = state.pending[:scheme.start()]
    if ("www." in head or "@" in head) \
            and any(begin < len(head) < end for begin, end, _ in find_links(head + src[start:state.posMax])):
        return False          # a "www." link or an address begun before runs over the scheme, as
        #                       ``autolink_literals`` reads the text
    links = find_links(src[start:state.posMax])
    if not links or links[0][0] != 0:
        return False
    _, end, target = links[0]
    md = state.md
    url = md.normalizeLink(target)
    if not md.validateLink(url):
        return False
    if not silent:
        state.pending = state.pending[:scheme.start()]
        state.push("link_open", "a", 1).attrs = {"href": url}
        state.tokens[-1].markup, state.tokens[-1].info = "linkify", "auto"
        state.push("text", "", 0).content = src[start:start + end]         # as written, as on GitHub
        closing = state.push("link_close", "a", -1)
        closing.markup, closing.info = "linkify", "auto"
    state.pos = start + end
    return True


def _html_link_step(token: Token) -> int:
    """1 for a raw ``<a ...>``, -1 for a raw ``</a>``, else 0."""
    if token.type != "html_inline":
        return 0
    return 1 if _LINK_OPEN.match(token.content) else -1 if _LINK_CLOSE.match(token.content) else 0


def _inside_html_link(tokens: list[Token]) -> bool:
    """Whether the inline tokens so far leave a raw ``<a ...>`` open."""
    return sum(_html_link_step(token) for token in tokens) > 0


def autolink_literals(state) -> None:
    """Make links of the bare URLs in every inline token's text (see the module's docstring)."""
    src = state.src
    if "://" not in src and "www." not in src and "@" not in src:
        return
    md = state.md
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for child in block.children:
            if child.type == "link_open":
                in_link += 1
            elif child.type == "link_close":
                in_link -= 1
            else:
                in_link += _html_link_step(child)
            if child.type != "text" or in_link > 0:
                children.append(child)
                continue
            links = find_links(child.content)
            if not links:
                children.append(child)
                continue
            text, cursor, level = child.content, 0, child.level
            for start, end, target in links:
                url = md.normalizeLink(target)
                if not md.validateLink(url):
                    continue
                if start > cursor:
                    children.append(_text(text[cursor:start], level))
                opening = Token("link_open", "a", 1, attrs={"href": url}, markup="linkify", info="auto",
                                level=level)
                children.append(opening)
                children.append(_text(text[start:end], level + 1))          # as written, as on GitHub
                children.append(Token("link_close", "a", -1, markup="linkify", info="auto", level=level))
                cursor = end
            if cursor < len(text):
                children.append(_text(text[cursor:], level))
        block.children = children


def _text(content: str, level: int) -> Token:
    return Token("text", "", 0, content=content, level=level)
