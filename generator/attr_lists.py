"""Attribute lists as MkDocs (Python-Markdown's ``attr_list``) and Hugo write them.

``{: #id .class }`` (the colon may be left out) on the last line of a paragraph gives the
paragraph that id and those classes (in a tight list, its list item); right after a link or an image, ``[Start](x.md){ .md-button }``
or ``![Map](map.png){ width="300" }``, it gives them to the link or image. The list is taken
out of the text. Of ``key=value`` pairs only those that change no behaviour are kept (sizes,
``title``, ``loading``, ``target``, ``rel``, ``align``; ``id`` and ``class``), so no event handler
gets into a page. Headings' own lists are read with the heading (see ``markdown``).

``attr_lists`` is a markdown-it core rule that runs after the inline stage; the ids it gives
are listed in ``env["attr_ids"]``, where links to ``#id`` find them.
"""

from __future__ import annotations

import re

from markdown_it.token import Token

# One attribute: "#id", ".class" or key=value; a list of them in braces, "{: ...}" or "{...}"
# (headings' lists, read with the heading in ``markdown``, are the same).
_ATTRIBUTE = r"""(?:#[^\s{}#.="'<>]+|\.[A-Za-z_][\w-]*|[A-Za-z_][\w-]*=(?:"[^"{}]*"|'[^'{}]*'|[^\s{}"'=<>]+))"""
ATTRIBUTE_LIST = r"\{:?[ \t]*(" + _ATTRIBUTE + r"(?:[ \t]+" + _ATTRIBUTE + r")*)[ \t]*\}"
_WHOLE = re.compile(ATTRIBUTE_LIST + r"[ \t]*$")
_AT_START = re.compile(ATTRIBUTE_LIST)
_PART = re.compile(_ATTRIBUTE)
_KEPT = frozenset({"width", "height", "title", "loading", "target", "rel", "align"})


def parse_attributes(written: str) -> tuple[str | None, list[str], dict[str, str]]:
    """The id, classes and kept ``key=value`` pairs of an attribute list's inside."""
    chosen, classes, pairs = None, [], {}
    for part in _PART.findall(written):
        if part.startswith("#"):
            chosen = part[1:]
        elif part.startswith("."):
            classes.append(part[1:])
        else:
            key, _, value = part.partition("=")
            value = value[1:-1] if value[:1] in "\"'" and len(value) > 1 else value
            key = key.lower()
            if key == "id" and value and not re.search(r"[\s#.<>]", value):
                chosen = value
            elif key == "class":
                classes.extend(re.findall(r"[A-Za-z_][\w-]*", value))
            elif key in _KEPT:
                pairs[key] = value
    return chosen, classes, pairs


def _apply(token: Token, written: str, ids: list[str]) -> None:
    chosen, classes, pairs = parse_attributes(written)
    if chosen:
        token.attrSet("id", chosen)
        ids.append(chosen)
    if classes:
        token.attrJoin("class", " ".join(classes))
    for key, value in pairs.items():
        token.attrSet(key, value)


def attr_lists(state) -> None:
    if "{" not in state.src:
        return
    ids: list[str] = state.env.setdefault("attr_ids", [])
    tokens = state.tokens
    for index, block in enumerate(tokens):
        if block.type != "inline" or not block.children or "{" not in block.content:
            continue
        children = block.children
        # On the last line of a paragraph: the paragraph's.
        last = children[-1]
        if last.type == "text" and len(children) >= 2 and children[-2].type == "softbreak" and index > 0 \
                and tokens[index - 1].type == "paragraph_open" and not _escaped(block.content):
            found = _WHOLE.match(last.content)
            holder = _shown_block(tokens, index - 1)
            if found is not None and holder is not None:
                _apply(holder, found.group(1), ids)
                del children[-2:]
        # Right after a link or an image: the link's or the image's (a heading's own list,
        # at its end, is the heading's).
        if "\\{" in block.content or (index > 0 and tokens[index - 1].type == "heading_open"):
            continue
        for position in range(len(children) - 1, 0, -1):
            child = children[position]
            if child.type != "text" or not child.content.startswith("{"):
                continue
            before = children[position - 1]
            if before.type == "image":
                target = before
            elif before.type == "link_close":
                target = _opening(children, position - 1)
            else:
                continue
            found = _AT_START.match(child.content)
            if target is None or found is None:
                continue
            _apply(target, found.group(1), ids)
            rest = child.content[found.end():]
            if rest:
                child.content = rest
            else:
                del children[position]


def _shown_block(tokens: list[Token], opening: int) -> Token | None:
    """The token that shows the paragraph opened at ``opening``: itself, or, in a tight list,
    where paragraphs are not shown, its list item."""
    paragraph = tokens[opening]
    if not paragraph.hidden:
        return paragraph
    for position in range(opening - 1, -1, -1):
        if tokens[position].type == "list_item_open" and tokens[position].level == paragraph.level - 1:
            return tokens[position]
    return None


def _escaped(content: str) -> bool:
    """Whether the paragraph's last line starts with an escaped brace (``\\{: #x }`` is text)."""
    return content.rsplit("\n", 1)[-1].lstrip().startswith("\\{")


def _opening(children: list[Token], close: int) -> Token | None:
    """The ``link_open`` of the ``link_close`` at ``close``."""
    depth = 0
    for position in range(close, -1, -1):
        kind = children[position].type
        if kind == "link_close":
            depth += 1
        elif kind == "link_open":
            depth -= 1
            if depth == 0:
                return children[position]
    return None
