"""Content tabs as MkDocs Material writes them, shown without JavaScript.

    === "Python"

        pip install devrel-site

    === "From source"

        make site

Each tab is a labelled block, ``<div class="tabbed-block">`` with its title in
``<p class="tabbed-title">`` and its content (indented four spaces under the ``=== "Title"``
line, blank lines allowed) parsed as Markdown inside it. The tabs follow one another on the
page, so every tab can be read and printed, and nothing needs a script. ``===+`` (the tab
open at first) and ``===!`` (a new set of tabs) are read as ``===``.

``content_tab`` is a markdown-it block rule; it does not interrupt a paragraph.
"""

from __future__ import annotations

import re

_OPENING = re.compile(r'===[+!]?[ \t]+"([^"\n]*)"[ \t]*$')
INDENT = 4


def content_tab(state, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False                     # an indented code block
    begin = state.bMarks[start_line] + state.tShift[start_line]
    line = state.src[begin:state.eMarks[start_line]]
    if not line.startswith("==="):
        return False
    opening = _OPENING.match(line)
    if opening is None:
        return False
    if silent:
        return True

    indent = state.sCount[start_line] + INDENT
    last = start_line + 1
    next_line = start_line + 1
    while next_line < end_line:
        blank = state.isEmpty(next_line)
        if not blank and state.sCount[next_line] < indent:
            break
        if not blank:
            last = next_line + 1
        next_line += 1
    # The tab ends after its last indented line; blank lines after it belong to the page.
    old = state.parentType, state.lineMax, state.blkIndent
    state.parentType, state.lineMax, state.blkIndent = "content_tab", last, indent

    token = state.push("tab_open", "div", 1)
    token.markup, token.block, token.map = "===", True, [start_line, last]
    token.attrSet("class", "tabbed-block")
    token = state.push("tab_title_open", "p", 1)
    token.map = [start_line, start_line + 1]
    token.attrSet("class", "tabbed-title")
    token = state.push("inline", "", 0)
    token.content, token.map, token.children = opening.group(1).strip(), [start_line, start_line + 1], []
    state.push("tab_title_close", "p", -1)
    state.md.block.tokenize(state, start_line + 1, last)
    token = state.push("tab_close", "div", -1)
    token.markup, token.block = "===", True

    state.parentType, state.lineMax, state.blkIndent = old
    state.line = last
    return True
