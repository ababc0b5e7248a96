"""``<meta>`` tags in page bodies (never inside code, HTML-decoded) and unclosed JBake headers."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import pattern, run_cli, soup
from generator import headers
from generator.config import SiteConfig
from generator.headers import split_header
from generator.markdown import make_parser

SITE_TOML = 'title = "Meta Test"\n'

# The handbook page that documents <meta> tags: both examples are code, not fields.
HOW_TO = textwrap.dedent("""\
    # How to write handbook pages

    Give the page an owner by adding this line:

        <meta name="maintainedBy" value="your-github-handle">

    1. Or, in a list:

        ```html
        <meta name="title" value="Example Title">
        ```
    """)


def meta_of(body: str) -> dict:
    return split_header(body, "h.md").meta


# <meta> inside code -------------------------------------------------------------

def test_meta_examples_in_code_are_not_fields_and_stay_in_the_page():
    header = split_header(HOW_TO, "h.md")
    assert header.meta == {} and header.meta_lines == {}
    assert header.body == HOW_TO


@pytest.mark.parametrize("body", [
    "Text\n\n    <meta name=\"title\" value=\"x\">\n",                 # indented code after a blank line
    "Text\n\n\t<meta name=\"title\" value=\"x\">\n",                   # a tab is four columns
    "  \t<meta name=\"title\" value=\"x\">\n",                          # at the start of the body
    "# Heading\n    <meta name=\"title\" value=\"x\">\n",              # a heading is not a paragraph
    "    code\n    <meta name=\"title\" value=\"x\">\n",               # continues indented code
    "    code\n\n    <meta name=\"title\" value=\"x\">\n",             # across a blank line
    # Fences in list items are indented by more than three columns.
    "1. item\n\n    ~~~\n    <meta name=\"title\" value=\"x\">\n    ~~~\n",
    "- a\n  - b\n\n        ```\n        <meta name=\"title\" value=\"x\">\n        ```\n",
    "- a\n\n    ````md\n    ```\n    <meta name=\"title\" value=\"x\">\n    ```\n    ````\n",  # ``` inside ````
    "- a\n\n    ~~~\n    ```\n    <meta name=\"title\" value=\"x\">\n    ~~~\n",  # ``` does not close ~~~
    "- a\n\n    ````\n    <meta name=\"title\" value=\"x\">\n    ```\n",           # shorter does not close
    "- a\n\n    ```\n    <meta name=\"title\" value=\"x\">\n          ```\n"       # too far right to close
    "    <meta name=\"title\" value=\"y\">\n",
    "- a\n\n    ```html\n    <meta name=\"title\" value=\"x\">\n",                 # unclosed: to the end
    "1. a\n\n    ```\n    <meta name=\"title\" value=\"x\">\n```\n"               # the item ends, ``` opens
    "<meta name=\"title\" value=\"y\">\n",
])
def test_meta_in_code_is_content(body):
    header = split_header(body, "h.md")
    assert header.meta == {}
    assert header.body == body


# A real <meta> line, then an example of one in indented code.
EXAMPLE = "\nFor example:\n\n    <meta name=\"title\" value=\"example\">\n"


@pytest.mark.parametrize("body,line", [
    ("```\ncode\n```\n<meta name=\"title\" value=\"T\">\n", 4),       # after a closed fence
    ("- a\n\n    ````md\n    ```\n    ````\n\n<meta name=\"title\" value=\"T\">\n", 7),  # the ```` closed
    ("```not a fence```\n\n<meta name=\"title\" value=\"T\">\n", 3),    # inline code, not a fence
    ("Text\n\n  <meta name=\"title\" value=\"T\">\n", 3),               # indented less than four
    ("Some text\n    <meta name=\"title\" value=\"T\">\n", 2),          # continues the paragraph
    ("    code\n\nText\n<meta name=\"title\" value=\"T\">\n", 4),       # indented code has ended
    ("1. item\n\n    ```\n    code\nText\n\n<meta name=\"title\" value=\"T\">\n", 7),  # fence ends with the item
])
def test_meta_outside_code_is_a_field(body, line):
    header = split_header(body + EXAMPLE, "h.md")
    assert header.meta == {"title": "T"}
    assert header.meta_lines == {"title": line}
    assert header.body.count("<meta") == 1


MD = make_parser(SiteConfig(root=Path(".")))


def markdown_code_lines(text: str) -> set[int]:
    """0-based lines the site's Markdown parser puts in code blocks."""
    lines = set()
    for token in MD.parse(text, {}):
        if token.type in ("fence", "code_block") and token.map:
            lines.update(range(*token.map))
    return lines


@pytest.mark.parametrize("body", [
    HOW_TO,
    "# T\n\n- step\n\n  ```\n  <meta name=\"a\" value=\"1\">\n  ```\n\n<meta name=\"b\" value=\"2\">\n",
    "Intro\n\n    <meta name=\"a\" value=\"1\">\n\n    <meta name=\"b\" value=\"2\">\nText\n<meta name=\"c\" value=\"3\">\n",
    "`````\n````\n<meta name=\"a\" value=\"1\">\n````\n`````\n<meta name=\"b\" value=\"2\">\n",
    "1. item\n\n    ```\n    code\nText\n\n<meta name=\"a\" value=\"1\">\n",
    "> quote\n\n~~~~\n<meta name=\"a\" value=\"1\">\n~~~\n~~~~~\n\n<meta name=\"b\" value=\"2\">\n",
])
def test_fields_are_the_meta_lines_the_markdown_parser_does_not_put_in_code(body):
    body += EXAMPLE
    code = markdown_code_lines(body)
    expected = {line for line, text in enumerate(body.split("\n")) if "<meta" in text and line not in code}
    header = split_header(body, "h.md")
    assert {line - 1 for line in header.meta_lines.values()} == expected


def test_without_meta_the_body_is_not_scanned(monkeypatch):
    def scan(lines):
        raise AssertionError("scanned a body without <meta>")
    monkeypatch.setattr(headers, "code_lines", scan)
    text = "# T\n\n```\ncode\n```\n\n    indented\n"
    assert split_header(text, "h.md").body == text


def test_build_keeps_meta_examples_as_code(site):
    root = site({"site.toml": SITE_TOML, "content/handbook/how-to.md": HOW_TO})
    result = run_cli("build", "--root", str(root))
    assert result.code == 0, result.out + result.err
    page = soup(root / "build/handbook/how-to/index.html")
    assert page.find("h1").get_text() == "How to write handbook pages"
    assert "Example Title" not in page.title.get_text()
    assert "Maintained by" not in page.get_text()
    code = [c.get_text() for c in page.select("pre code")]
    assert code == ['<meta name="maintainedBy" value="your-github-handle">\n',
                    '<meta name="title" value="Example Title">\n']


# HTML-decoded values --------------------------------------------------------------

def test_meta_name_and_value_are_html_decoded():
    header = split_header('<meta name="title" value="A &amp; B &quot;C&quot; &#x1F388;">\n'
                          "<meta content='Kim &lt;kim@example.org&gt;' name='maintained&#66;y'>\n", "h.md")
    assert header.meta == {"title": 'A & B "C" \U0001F388', "maintainedBy": "Kim <kim@example.org>"}
    assert header.meta_lines == {"title": 1, "maintainedBy": 2}


def test_build_shows_decoded_meta_title_and_owner(site):
    root = site({"site.toml": SITE_TOML, "content/handbook/faq.md": """
        Questions and answers.

        <meta name="title" value="Q &amp; A">
        <meta name="maintainedBy" value="Ops &amp; Support">
    """})
    result = run_cli("build", "--root", str(root))
    assert result.code == 0, result.out + result.err
    page = soup(root / "build/handbook/faq/index.html")
    assert page.title.get_text().startswith("Q & A")
    assert "Maintained by Ops & Support" in " ".join(page.get_text().split())
    assert "&amp;" not in page.get_text()


# Unclosed JBake headers ------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "title=X\ndate=2023-01-01\n\nbody text",
    "title=X\ndate=2023-01-01\n",
    "date=2023-01-01\ntitle=X\n\n# X\n",
    "status=published\nsomething=else\nbody\n",
    "Title=X\nDate=2023-01-01\n\nbody\n",
])
def test_unclosed_jbake_header_is_frontmatter_invalid(text):
    header = split_header(text, "p.md")
    assert header.style == "jbake"
    assert [(d.code, d.line, d.column, d.message) for d in header.diagnostics] == \
        [("frontmatter-invalid", 1, 1, "JBake header is never closed")]
    assert header.body_line == 3


# Guards: what was (or was not) an unclosed header before stays so.

def test_three_key_value_lines_of_any_keys_are_still_an_unclosed_header():
    header = split_header("a=1\nb=2\nc=3\n\nbody\n", "p.md")
    assert [d.code for d in header.diagnostics] == ["frontmatter-invalid"] and header.body_line == 4


@pytest.mark.parametrize("text", [
    "a=b\nc=d\n\nSome prose.\n",               # two lines, but not header fields
    "E=mc^2\nF=ma\n",
    "title=X\n\nbody\n",                        # one line is not a header
    "x=1 is the answer\nsee below\n",
    "# Hello\n\ntitle=X\ndate=2023-01-01\n",     # not at the start
])
def test_prose_with_equals_is_not_a_header(text):
    header = split_header(text, "p.md")
    assert header.style == "none" and not header.diagnostics
    assert header.body == text


def test_closed_two_line_jbake_header_is_fine():
    header = split_header("title=X\ndate=2023-01-01\n~~~~~~\nbody\n", "p.md")
    assert header.style == "jbake" and not header.diagnostics
    assert header.fields == {"title": "X", "date": "2023-01-01"} and header.body_line == 4


def test_check_reports_unclosed_two_line_header(site):
    body = pattern("Unused").split("---\n", 2)[2]
    root = site({"site.toml": SITE_TOML,
                 "content/patterns/short.md": "title=Short\ndate=2023-01-01\n\n" + body,
                 "content/handbook/sums.md": "a=1\nb=2\n\nArithmetic.\n"})
    result = run_cli("check", "--root", str(root), "--format", "json")
    assert result.code == 1, result.out + result.err
    found = [(d["path"], d["line"], d["column"], d["code"]) for d in result.json()["diagnostics"]]
    assert ("content/patterns/short.md", 1, 1, "frontmatter-invalid") in found
    assert not [f for f in found if f[0] == "content/handbook/sums.md"]


def test_import_refuses_unclosed_two_line_header(site, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "short.md").write_text("title=Short\ndate=2023-01-01\n\n***Problem***: p\n", encoding="utf-8")
    root = site({"site.toml": SITE_TOML})
    result = run_cli("import", "jbake", str(src), "--root", str(root))
    assert result.code == 1
    assert "short.md: line 1: JBake header is never closed" in result.out


def test_meta_in_a_comment_that_spans_lines_is_commented_out():
    body = ("# T\n\n<!--\n<meta name=\"title\" value=\"Hidden\">\n-->\n<meta name=\"maintainedBy\" value=\"ops\">\n"
            "<!-- a note --> text\n<meta name=\"owner\" value=\"x\">\n<!-- open\nstill open -->\n")
    header = split_header(body, "h.md")
    assert header.meta == {"maintainedBy": "ops", "owner": "x"}
    assert '<meta name="title" value="Hidden">' in header.body
