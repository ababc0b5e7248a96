"""Where a link is: its own line and the column of its ``[`` (an image's ``!``), for every
form of link, so that a broken one is reported at ``path:line:col``."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli
from generator.config import SiteConfig
from generator.markdown import make_parser, parse

MD = make_parser(SiteConfig(root=Path(".")))
HEADER = "---\ntitle: A\n---\n"            # the body starts on line 4
SECTIONS = "\n## Problem\np\n## Context\nc\n## Solution\ns\n## Consequences\nc\n"


def broken(site, body: str) -> list[tuple[str, int, int | None]]:
    """The broken links of a pattern page with ``body``: (message, line, column)."""
    root = site({"content/patterns/a.md": HEADER + body + SECTIONS})
    result = run_cli("check", "--root", str(root), "--format", "json")
    assert result.code in (0, 1), result.err
    return [(d["message"], d["line"], d["column"]) for d in result.json()["diagnostics"]
            if d["code"] == "link-broken"]


def test_reference_links_on_two_lines_point_at_their_text(site):
    root = site({"content/patterns/a.md": HEADER + "See the [guide][g] and\nalso the [other guide][h].\n\n"
                                          "[g]: missing-one.md\n[h]: missing-two.md\n" + SECTIONS})
    result = run_cli("check", "--root", str(root))
    assert result.out.splitlines()[:2] == [
        "content/patterns/a.md:4:9: error[link-broken]: no page 'missing-one.md'",
        "content/patterns/a.md:5:10: error[link-broken]: no page 'missing-two.md'",
    ]


def test_target_on_the_next_line(site):
    assert broken(site, "Intro [a](\ngone1.md) and\n[b](\ngone2.md)\n") == [
        ("no page 'gone1.md'", 4, 7), ("no page 'gone2.md'", 6, 1)]


def test_collapsed_and_shortcut_references(site):
    body = "First line.\nThen [gone][] and\n  [Gone] again.\n\n[gone]: gone.md\n"
    assert broken(site, body) == [("no page 'gone.md'", 5, 6), ("no page 'gone.md'", 6, 3)]


def test_same_target_several_times_in_one_block_keeps_order(site):
    body = "[x](gone.md) and [y][r]\nthen [x](gone.md), [z][r] and ![pic](gone.png) [r].\n\n[r]: gone.md\n"
    assert broken(site, body) == [
        ("no page 'gone.md'", 4, 1), ("no page 'gone.md'", 4, 18), ("no page 'gone.md'", 5, 6),
        ("no page 'gone.md'", 5, 20), ("no file 'gone.png'", 5, 31), ("no page 'gone.md'", 5, 48)]


def test_links_in_tables_lists_blockquotes_and_headings(site):
    body = ("# Head [h][r]\n\n"
            "| a | b |\n|---|---|\n| [t][r] | [u](table.md) |\n\n"
            "- one [l](list.md) and\n  [multi\n  line][r]\n\n"
            "> quote [a\n> b][r] and <a href=\"html.md\">x</a>\n\n"
            "[r]: gone.md\n")
    assert broken(site, body) == [
        ("no page 'gone.md'", 4, 8), ("no page 'gone.md'", 8, 3), ("no page 'table.md'", 8, 12),
        ("no page 'list.md'", 10, 7), ("no page 'gone.md'", 11, 3), ("no page 'gone.md'", 14, 9),
        ("no page 'html.md'", 15, 13)]


def test_link_text_with_markup(site):
    body = "See [**bold** text][r], [`code`][r]\nand [*b*](gone.md) [*b*](gone.md).\n\n[r]: gone.md\n"
    assert broken(site, body) == [
        ("no page 'gone.md'", 4, 5), ("no page 'gone.md'", 4, 25), ("no page 'gone.md'", 5, 5),
        ("no page 'gone.md'", 5, 20)]


def locations(body: str, pattern: bool = False) -> list[tuple[str, int, int | None]]:
    return [(link.raw, link.line, link.column) for link in parse(MD, body, 1, pattern=pattern).links]


@pytest.mark.parametrize("body, expected", [
    ("See the [guide][g] and\nalso the [other guide][h].\n\n[g]: one.md\n[h]: two.md\n",
     [("one.md", 1, 9), ("two.md", 2, 10)]),
    ("[a](\nx.md) [b](  \n  <y.md>)", [("x.md", 1, 1), ("y.md", 2, 7)]),
    # A label is not a shortcut reference; an empty text is not the "[]" of a collapsed one.
    ("[see][g] and [g], [g][] and [](x.md)\n\n[g]: g.md", [("g.md", 1, 1), ("g.md", 1, 14), ("g.md", 1, 19),
                                                          ("x.md", 1, 29)]),
    # The same target by reference and inline, in order.
    ("[x][r] and [x](same.md)\n\n[r]: same.md", [("same.md", 1, 1), ("same.md", 1, 12)]),
    # Text that is not a link is not taken for one.
    ("[x] then [x](x.md) and [y][r]\n\n[r]: r.md", [("x.md", 1, 10), ("r.md", 1, 24)]),
    # Escaped text is found by the target, nested images inside their link.
    ("[a\\_b](x.md) and [a_b](y.md) [![alt](img.png)](page.md)",
     [("x.md", 1, 1), ("y.md", 1, 18), ("page.md", 1, 30), ("img.png", 1, 31)]),
    ("![pic][p] and ![pic](a.png) [pic][p]\n\n[p]: p.png", [("p.png", 1, 1), ("a.png", 1, 15), ("p.png", 1, 29)]),
    ("<https://example.com/x> and <a href=\"y.md\">y</a>\n[z][r] <img src=\"i.png\">\n\n[r]: z.md",
     [("https://example.com/x", 1, 1), ("y.md", 1, 29), ("z.md", 2, 1), ("i.png", 2, 8)]),
    ("> x [*a*\n> b][r]\n\n[r]: r.md", [("r.md", 1, 5)]),
    ("[a  \nb][r] [c\\\nd][r]\n\n[r]: r.md", [("r.md", 1, 1), ("r.md", 2, 7)]),
])
def test_parse_locates_each_link(body, expected):
    assert locations(body) == expected


def test_legacy_section_markers_keep_link_lines():
    body = "***Problem***: see [g][r]\nmore [h][r]\n\n***Context***: x\n[i][r] and [j](j.md)\n\n[r]: r.md"
    assert locations(body, pattern=True) == [("r.md", 1, 20), ("r.md", 2, 6), ("r.md", 5, 1), ("j.md", 5, 12)]



def test_a_link_written_first_in_a_code_span_is_found_where_it_is_a_link(site):
    body = ("Write `[a](gone.md)` as [a](gone.md), and ``[b][r] or `![i](gone.png)` `` as [b][r].\n"
            "Spans go over lines: `[c](\ngone.md)` then [c](gone.md) and ![i](gone.png).\n"
            "A lone \\` is no span: [d](gone.md) and `<a href=\"gone.md\">` <a href=\"gone.md\">x</a>\n\n"
            "[r]: gone.md\n")
    assert broken(site, body) == [
        ("no page 'gone.md'", 4, 25), ("no page 'gone.md'", 4, 78), ("no page 'gone.md'", 6, 16),
        ("no file 'gone.png'", 6, 33), ("no page 'gone.md'", 7, 23), ("no page 'gone.md'", 7, 61)]


def test_links_in_html_blocks_have_their_columns_too(site):
    body = ("- item\n\n  <p align=\"center\"><img src=\"gone.png\"></p>\n\n"
            "> <div><a href=\"gone.md\">x</a></div>\n\n"
            "<p><img src=\"gone.png\"><img src=\"gone.png\"></p>\n")
    assert broken(site, body) == [
        ("no file 'gone.png'", 6, 21), ("no page 'gone.md'", 8, 8), ("no file 'gone.png'", 10, 4),
        ("no file 'gone.png'", 10, 24)]


def test_srcset_poster_and_object_data_are_checked_and_rewritten(site):
    root = site({
        "site.toml": 'title = "T"\n',
        "content/patterns/.keep": "",
        "content/handbook/img/dark.png": "", "content/handbook/img/light.png": "",
        "content/handbook/guide/picture.md": (
            "# Picture\n\n<picture>\n"
            "  <source media=\"(prefers-color-scheme: dark)\" srcset=\"../img/dark.png\">\n"
            "  <img alt=\"logo\" src=\"../img/light.png\">\n</picture>\n"
            "<img src=\"../img/light.png\" srcset=\"../img/light.png 1x, ../img/dark.png 2x, "
            "https://example.org/x.png 3x\">\n"
            "<video src=\"../img/light.png\" poster=\"../img/dark.png\"></video>\n"
            "<object data=\"../img/light.png\" data-other=\"nope.md\"></object>\n"),
    })
    assert run_cli("build", "--root", str(root)).code == 0
    html = (root / "build/handbook/guide/picture/index.html").read_text()
    assert 'srcset="../../img/dark.png"' in html
    assert 'srcset="../../img/light.png 1x, ../../img/dark.png 2x, https://example.org/x.png 3x"' in html
    assert 'poster="../../img/dark.png"' in html and 'data="../../img/light.png"' in html
    assert 'data-other="nope.md"' in html
    page = root / "content/handbook/guide/picture.md"
    page.write_text(page.read_text().replace("../img/dark.png 2x", "../img/missing.png 2x")
                    .replace('poster="../img/dark.png"', 'poster="../img/none.png"'))
    result = run_cli("check", "--root", str(root))
    assert result.code == 1
    assert result.out.splitlines()[:2] == [
        "content/handbook/guide/picture.md:7:1: error[link-broken]: no file '../img/missing.png' "
        "(did you mean '../img/light.png'?)",
        "content/handbook/guide/picture.md:8:1: error[link-broken]: no file '../img/none.png' "
        "(did you mean '../img/dark.png'?)"]


def test_every_link_of_a_long_paragraph_is_on_its_own_line(site):
    body = "".join(f"Line {i}: see [gone {i}](gone{i % 7}.md) or ![i](<gone{i % 3}.png>).\n" for i in range(300))
    found = broken(site, body)
    assert [(line, column) for _, line, column in found] == \
        [(4 + i, column) for i in range(300) for column in (12 + len(str(i)), 33 + 2 * len(str(i)))]
