"""Bare URLs and e-mail addresses become links, as GitHub Flavored Markdown's extended autolinks."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_cli
from generator.autolink import find_links
from generator.config import SiteConfig
from generator.markdown import make_parser

MD = make_parser(SiteConfig(root=Path(".")))
PLAIN = make_parser(SiteConfig(root=Path("."), autolink=False))


@pytest.mark.parametrize("text,links", [
    ("Read www.example.org/guide today.", [("www.example.org/guide", "http://www.example.org/guide")]),
    ("See https://example.org/a?b=1&c=2, then go.", [("https://example.org/a?b=1&c=2", None)]),
    ("(https://example.org/pull/81).", [("https://example.org/pull/81", None)]),
    ("https://en.example.org/wiki/Term_(sense)) and", [("https://en.example.org/wiki/Term_(sense)", None)]),
    ("www.example.org/q?x=(a))+b", [("www.example.org/q?x=(a))+b", "http://www.example.org/q?x=(a))+b")]),
    ("www.example.org/q?x=y&amp;", [("www.example.org/q?x=y", "http://www.example.org/q?x=y")]),
    ("www.example.org/a<b", [("www.example.org/a", "http://www.example.org/a")]),
    ("Mail team+devrel@example.org.", [("team+devrel@example.org", "mailto:team+devrel@example.org")]),
    ("x@y.example- and x@y.example_", []),
    ("www.under_score.org, http://a.b_c.org", []),
    ("see:https://example.org and xhttps://example.org", [("https://example.org", None)]),
    ('Said "see https://example.org/guide". "https://example.org/q"',
     [("https://example.org/guide", None), ("https://example.org/q", None)]),
    ("http://localhost:8000/ and https://user@example.com/path", [("http://localhost:8000/", None),
                                                                   ("https://user@example.com/path", None)]),
    ("Pin react@18.2.0, node@20.11.1 or tool@2.1.0-beta; ask a.b@example.org.",
     [("a.b@example.org", "mailto:a.b@example.org")]),
    ("ftp://example.org and https:// and www.", [("ftp://example.org", None)]),
    ("See https://example.org/a%20b; or https://example.org/q&amp;, then ftp://files.example.org/pub.",
     [("https://example.org/a%20b", None), ("https://example.org/q", None), ("ftp://files.example.org/pub", None)]),
    ("中文https://example.com 和 Ωhttps://example.org, not 1https://example.net", [("https://example.com", None),
                                                                                 ("https://example.org", None)]),
    ("mailto:foo@bar.baz, amailto:a@b.org (MAILTO:x@y.org)", [("mailto:foo@bar.baz", None),
                                                               ("MAILTO:x@y.org", "mailto:x@y.org")]),
    ("*https://example.org* and ~www.example.org~", [("https://example.org", None), ("www.example.org", "http://www.example.org")]),
])
def test_bare_links_are_found_as_github_finds_them(text, links):
    found = [(text[start:end], target) for start, end, target in find_links(text)]
    assert found == [(written, target or written) for written, target in links]


def test_a_bare_link_shows_its_url_as_written():
    page = BeautifulSoup(MD.render("Go to https://example.org/a%20b/%C3%A9t%C3%A9 or https://example.org/q_(x)\n"),
                         "html.parser")
    assert [(a["href"], a.get_text()) for a in page.select("a")] == [
        ("https://example.org/a%20b/%C3%A9t%C3%A9", "https://example.org/a%20b/%C3%A9t%C3%A9"),
        ("https://example.org/q_(x)", "https://example.org/q_(x)")]


def test_links_code_and_raw_html_are_left_alone():
    html = MD.render("[a](https://a.example.org) <https://b.example.org> `https://c.example.org` "
                     '<a href="x">https://d.example.org</a>\n\n```\nhttps://e.example.org\n```\n')
    page = BeautifulSoup(html, "html.parser")
    assert [a["href"] for a in page.find_all("a")] == ["https://a.example.org", "https://b.example.org", "x"]


def test_a_bare_link_is_a_checked_link_of_the_page(site):
    root = site({
        "site.toml": 'title = "T"\n',
        "content/handbook/index.md": "# Home\n\nAsk at www.example.org/help or help@example.org, not "
                                     "[here] (https://example.org/old).\n",
    })
    result = run_cli("check", "--root", str(root), "--format", "json")
    assert [(d["code"], d["line"], d["column"]) for d in result.json()["diagnostics"]] == [("link-unparsed", 3, 54)]
    assert run_cli("build", "--root", str(root)).code == 0
    page = BeautifulSoup((root / "build/handbook/index.html").read_text(), "html.parser")
    hrefs = [a["href"] for a in page.select("main a")]
    assert {"http://www.example.org/help", "mailto:help@example.org", "https://example.org/old"} <= set(hrefs)
    (root / "site.toml").write_text('title = "T"\n[markdown]\nautolink = false\n')
    assert run_cli("build", "--root", str(root)).code == 0
    page = BeautifulSoup((root / "build/handbook/index.html").read_text(), "html.parser")
    assert not any(a["href"].startswith(("http", "mailto")) for a in page.select("main a"))


# An entity, an escape, a code span or a link written inside an http(s) link is part of that
# link as written, as on GitHub (see the test below), so the pieces hold none.
pieces = st.sampled_from(["https://", "http://", "www.", "example", ".org", ".", "/", "?q=", "(", ")", "&",
                          ";", "_", "*", "~", "@", "+", "-", " ", "\n", "x", "é", "<", ">", ",", ":", "!", "**", "__"])


@given(st.lists(pieces, max_size=24))
@settings(max_examples=500, deadline=None)
def test_making_links_never_changes_the_text(parts):
    """A bare link only wraps text that is there: the page reads the same, letter for letter,
    but for emphasis marks, which an http(s) link takes into itself when they are in it."""
    text = "".join(parts)

    def letters(html: str) -> str:
        return BeautifulSoup(html, "html.parser").get_text().translate({ord(c): None for c in "_*~"})

    assert letters(MD.render(text)) == letters(PLAIN.render(text))


def test_an_http_link_is_taken_whole_before_emphasis_as_github_takes_it():
    html = MD.render("See https://docs.python.org/3/library/main.html#module-__main__ and "
                     "https://example.org/__a__/b?x=1&amp;y=2, or **https://example.org/c**.\n")
    page = BeautifulSoup(html, "html.parser")
    assert [a["href"] for a in page.select("a")] == [
        "https://docs.python.org/3/library/main.html#module-__main", "https://example.org/__a__/b?x=1&amp;y=2",
        "https://example.org/c"]
    assert page.select_one("strong a")["href"] == "https://example.org/c"
    assert page.get_text().startswith("See https://docs.python.org/3/library/main.html#module-__main__ and")
    inside = BeautifulSoup(MD.render('<a href="x">https://example.org/__z__</a> [t](https://example.org/__t__)\n'),
                           "html.parser")
    assert [a["href"] for a in inside.select("a")] == ["x", "https://example.org/__t__"]


@pytest.mark.parametrize("written, target", [("www.http://x.org/p", "http://www.http://x.org/p"),
                                             ("a@b.http://x.org/p", "mailto:a@b.http")])
def test_a_link_begun_before_a_scheme_runs_over_it_whatever_markup_the_text_holds(written, target):
    """``www.http://x.org/p`` is one ``www.`` link in plain text, and ``a@b.http://x.org/p``
    holds the address ``a@b.http``; markup elsewhere in the paragraph (which sends the text
    through the inline parser) does not make a link start at the scheme instead."""
    for text in (f"{written}\n", f"*a* {written}\n", f"[a](b) {written}\n"):
        page = BeautifulSoup(MD.render(text), "html.parser")
        assert [a["href"] for a in page.select("a")][-1] == target, text


def test_the_typographer_leaves_a_bare_link_as_written():
    md = make_parser(SiteConfig(root=Path("."), typographer=True))
    html = md.render('"Quoted" -- see https://example.org/a--b/c... now\n')
    assert '<a href="https://example.org/a--b/c">https://example.org/a--b/c</a>… now' in html
    assert "“Quoted” – see" in html
