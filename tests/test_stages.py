"""Unit tests per stage: headers, content, Markdown, links, config, URLs, map and A–Z."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from generator.config import ConfigError, parse_config
from generator.content import HANDBOOK, PATTERN, SourceFile, load, page_url, titled_from_heading
from generator.headers import split_header
from generator.links import BROKEN, PAGE, build_index, resolve
from generator.markdown import fill_links, make_parser, parse
from generator.config import SiteConfig
from generator.pattern_map import layout
from generator.patterns import a_to_z, pattern_info, split_aliases
from generator.urls import heading_id, relative_url, slugify, unique_id

MD = make_parser(SiteConfig(root=Path(".")))


def page_of(text: str, rel: str = "x.md", kind: str = PATTERN):
    folder = "content/patterns" if kind == PATTERN else "content/handbook"
    return load(SourceFile(f"{folder}/{rel}", kind, rel), text)


# headers -----------------------------------------------------------------

def test_yaml_header_fields_lines_and_body_line():
    header = split_header("---\ntitle: A\ntags: [x, y]\ndate: 2024-01-02\n---\nbody\n", "p.md")
    assert header.style == "yaml"
    assert header.fields == {"title": "A", "tags": ["x", "y"], "date": "2024-01-02"}
    assert header.field_lines == {"title": 2, "tags": 3, "date": 4}
    assert header.body_line == 6 and header.body.startswith("body")


@pytest.mark.parametrize("text,style", [
    ("\n---\ntitle: Documentation\nweight: 20\n---\nHello\n", "yaml"),
    (" \n\n+++\ntitle = \"Documentation\"\nweight = 20\n+++\nHello\n", "toml"),
    ("\n{\n\"title\": \"Documentation\",\n\"weight\": 20\n}\nHello\n", "json"),
])
def test_front_matter_after_blank_lines_is_read_as_hugo_reads_it(text, style):
    header = split_header(text, "p.md")
    assert (header.style, header.fields, header.diagnostics) == (style, {"title": "Documentation", "weight": 20}, ())
    assert header.body == "Hello\n" and header.body_line == text.count("\n")
    assert header.field_lines["weight"] == text.split("\n").index(next(l for l in text.split("\n") if "weight" in l)) + 1


def test_multimarkdown_metadata_is_a_header_as_mkdocs_and_pelican_read_it():
    header = split_header("Title:   Release notes\nSummary: What changed.\nAuthors: Ana Lima\n    Bo Chen\n"
                          "Date: March 4, 2024\nCategory: Code\nTags: docs, release\n\nThe body.\n", "p.md")
    assert header.style == "metadata" and header.body == "\nThe body.\n" and header.body_line == 8
    assert header.fields == {"title": "Release notes", "description": "What changed.", "owner": "Ana Lima Bo Chen",
                             "date": "March 4, 2024", "categories": "Code", "tags": "docs, release"}
    assert header.field_lines == {"title": 1, "description": 2, "owner": 3, "date": 5, "categories": 6, "tags": 7}
    page, found = page_of("Title: Release notes\nDate: 4th March 2024\nTags: docs, release\n\n## Problem\n")
    assert (page.title, page.date, page.tags, found) == ("Release notes", dt.date(2024, 3, 4), ("docs", "release"), [])
    # Prose that starts like a field, or a block with a line that is no field, is the body.
    for text in ("Note: read this first.\n\nBody.\n", "Title: x\nnot a field\n\nBody.\n"):
        assert split_header(text, "p.md").style == "none"


def test_a_blank_line_and_a_rule_that_hold_no_fields_stay_in_the_body():
    for text in ("\n---\n\nSome text\n\n---\nmore\n", "\n---\n", "\n---\n- a list\n---\n"):
        header = split_header(text, "p.md")
        assert (header.style, header.body, header.diagnostics) == ("none", text, ())


def test_a_mistake_in_front_matter_after_blank_lines_is_reported_on_its_line():
    header = split_header("\n\n---\ntitle: Release notes\ndescription: Note: breaking\n---\nbody\n", "p.md")
    [problem] = header.diagnostics
    assert (header.style, problem.code, problem.line) == ("yaml", "frontmatter-invalid", 5)
    assert "body" not in header.fields and header.body == "body\n"


def test_toml_header_as_hugo_and_zola_write_it():
    text = ('+++\ntitle = "A"\ndate = 2024-01-02\nweight = 3\n\n[taxonomies]\ntags = ["x", "y"]\n'
            'categories = ["Code"]\n\n[extra]\ntitle = "not the title"\n+++\n*Not categories*\n')
    header = split_header(text, "p.md")
    assert header.style == "toml"
    assert header.fields["title"] == "A" and header.fields["date"] == dt.date(2024, 1, 2)
    assert header.fields["taxonomies"] == {"tags": ["x", "y"], "categories": ["Code"]}
    assert header.field_lines == {"title": 2, "date": 3, "weight": 4, "tags": 7, "categories": 8}
    assert header.body_line == 13 and not header.diagnostics
    page, found = page_of(text)
    assert (page.title, page.date, page.order) == ("A", dt.date(2024, 1, 2), 3)
    assert page.tags == ("x", "y") and page.categories == ("Code",) and not found
    assert page.body.startswith("*Not categories*")           # a modern page has no category line


def test_toml_header_top_level_tags_win_and_errors_have_lines():
    header = split_header('+++\ntags = ["top"]\n[taxonomies]\ntags = ["zola"]\n+++\n', "p.md")
    assert header.fields["tags"] == ["top"] and header.field_lines == {"tags": 2}
    broken = split_header('+++\ntitle = "A"\ntags = [ "a",\nowner = 3\n+++\nbody\n', "p.md")
    assert [(d.code, d.line) for d in broken.diagnostics] == [("frontmatter-invalid", 4)]
    assert broken.body_line == 6
    unclosed = split_header('+++\ntitle = "A"\n', "p.md")
    assert [(d.code, d.line) for d in unclosed.diagnostics] == [("frontmatter-invalid", 1)]
    page, found = page_of('+++\ntitle = "A"\nweight = "x"\n+++\n')
    assert page.order is None and [(d.code, d.line) for d in found] == [("field-invalid", 3)]


def test_json_front_matter_as_hugo_writes_it_and_taxonomies_in_yaml():
    text = '{\n  "title": "A",\n  "tags": ["x"],\n  "draft": true,\n  "extra": {"title": "no"}\n}\n\nbody\n'
    header = split_header(text, "p.md")
    assert header.style == "json" and header.field_lines == {"title": 2, "tags": 3, "draft": 4, "extra": 5}
    assert header.body_line == 7 and header.body.strip() == "body"
    page, found = page_of(text)
    assert (page.title, page.tags, page.status, found) == ("A", ("x",), "draft", [])
    broken = split_header('{\n "title": "x",\n}\nbody\n', "p.md")
    assert [(d.code, d.line, d.column) for d in broken.diagnostics] == [("frontmatter-invalid", 3, 1)]
    assert split_header("{% include note.html %}\ntext\n", "p.md").style == "none"      # Liquid, not JSON
    tricky = split_header('{"title": "J", "extra": {"date": 1},\n "description": "like [1, 2",\n "date": "soon"\n}\n', "p.md")
    assert tricky.field_lines == {"title": 1, "extra": 1, "description": 2, "date": 3}
    page, found = page_of("---\ntitle: Y\ntaxonomies:\n  tags: [z, w]\n---\nbody\n")
    assert page.tags == ("z", "w") and page.field_lines["tags"] == 3 and not found


def test_jbake_header_lists_and_body_line():
    header = split_header("title=A\ntags=devrel, patterns\nstatus=published\n~~~~~~\n*Code*\n", "p.md")
    assert header.style == "jbake"
    assert header.fields["tags"] == ["devrel", "patterns"]
    assert header.field_lines["status"] == 3
    assert header.body_line == 5


def test_meta_tags_anywhere_are_removed_but_lines_kept():
    text = "# Title\n\ntext\n\n<meta name=\"maintainedBy\" value=\"tgauda\">\n<meta name=\"title\" value=\"🎈 Customers\">\n"
    header = split_header(text, "h.md")
    assert header.meta == {"maintainedBy": "tgauda", "title": "🎈 Customers"}
    assert header.meta_lines == {"maintainedBy": 5, "title": 6}
    assert "<meta" not in header.body
    assert header.body.count("\n") == text.count("\n")


def test_meta_inside_code_fence_is_content():
    text = "```html\n<meta name=\"title\" value=\"x\">\n```\n"
    assert split_header(text, "h.md").meta == {}


def test_bom_and_crlf_are_fine():
    header = split_header("\ufeff---\r\ntitle: A\r\n---\r\nbody\r\n", "p.md")
    assert header.fields == {"title": "A"} and not header.diagnostics


@pytest.mark.parametrize("text,line", [
    ("---\ntitle: A\n", 1),
    ("---\ntitle: [\n---\n", 2),
    ("---\n- a\n- b\n---\n", 2),
    ("title=A\nbad line\n~~~~~~\n", 2),
    ("title=A\ndate=2023\nstatus=x\nno close\n", 1),
])
def test_header_faults_are_diagnostics(text, line):
    header = split_header(text, "p.md")
    assert [d.code for d in header.diagnostics] == ["frontmatter-invalid"]
    assert header.diagnostics[0].line == line


def test_plain_markdown_has_no_header():
    header = split_header("# Hello\n\nkey=value in prose\n", "p.md")
    assert header.style == "none" and not header.diagnostics


# content -------------------------------------------------------------------

def test_pattern_fields_are_normalised():
    page, diags = page_of("---\ntitle: Café Chat\ndate: 2024-03-01\ntags: a, b\ncategories: Code, Writing\n"
                          "aliases: One; Two\nstatus: Draft\n---\nx\n", rel="cafe.md")
    assert not diags
    assert (page.slug, page.url) == ("cafe", "patterns/cafe/")
    assert page.date == dt.date(2024, 3, 1)
    assert page.tags == ("a", "b") and page.categories == ("Code", "Writing")
    assert page.aliases == ("One", "Two") and page.status == "draft"


def test_legacy_category_line_becomes_categories():
    page, diags = page_of("title=T\n~~~~~~\n*Code, Writing*\n\nIntro.\n")
    assert page.categories == ("Code", "Writing")
    assert page.field_lines["categories"] == 3
    assert "*Code" not in page.body


def test_an_italic_first_line_is_text_in_a_page_with_yaml_frontmatter():
    page, _ = page_of("---\ntitle: T\n---\n*Note: still being written, feedback welcome.*\n\nIntro.\n")
    assert page.categories == ()
    assert "*Note: still being written" in page.body
    page, _ = page_of("*Code, Writing*\n\nIntro.\n")          # no header at all: a legacy page
    assert page.categories == ("Code", "Writing")


def test_tags_spelled_alike_but_for_case_or_spacing_are_one_tag():
    page, _ = page_of("---\ntitle: T\ntags: [DevRel, devrel, ' DEVREL', Dev Rel, dev  rel]\n---\nx\n")
    assert page.tags == ("DevRel", "Dev Rel")


def test_handbook_title_fallbacks_and_urls():
    page, _ = page_of("Text only\n", rel="support/on-call_retro.md", kind=HANDBOOK)
    assert page.title == "On Call Retro" and page.url == "handbook/support/on-call-retro/"
    for text in ("# From Heading\n", "From Heading\n===\n", "<!-- note -->\n\n# From *Heading*\n",
                 "```\n# not a heading\n```\n\n# From Heading\n", "````\n```\n# inner\n```\n````\n# From Heading\n"):
        page, _ = page_of(text, rel="a.md", kind=HANDBOOK)
        assert page.title == "A" and not page.title_given            # a stand-in until the parse
        page = titled_from_heading(page, parse(MD, page.body, page.body_line, pattern=False).headings)
        assert page.title == "From Heading", text
    page, _ = page_of("# H\n<meta name=\"title\" value=\"From Meta\">\n", rel="a.md", kind=HANDBOOK)
    assert page.title == "From Meta"
    page, _ = page_of("---\ntitle: From Field\n---\n<meta name=\"title\" value=\"M\">\n", rel="a.md", kind=HANDBOOK)
    assert page.title == "From Field"
    assert page_url(HANDBOOK, "Support Team/README.md", None) == ("support-team", "handbook/support-team/")
    assert page_url(HANDBOOK, "index.md", None) == ("", "handbook/")


def test_field_invalid_points_at_key_line():
    _, diags = page_of("---\ntitle: A\norder: first\ndate: yesterday\n---\n", kind=HANDBOOK)
    assert [(d.code, d.line) for d in diags] == [("field-invalid", 4), ("field-invalid", 3)]


# markdown -------------------------------------------------------------------

def test_heading_ids_are_github_style_and_unique():
    r = parse(MD, "# Hello, World!\n## Hello, World!\n### Ünïcode & `code`\n", 1, pattern=False)
    assert [h.id for h in r.headings] == ["hello-world", "hello-world-1", "ünïcode--code"]


def test_headings_in_code_are_not_headings():
    r = parse(MD, "```\n## not a heading\n```\n## Real\n", 1, pattern=False)
    assert [h.text for h in r.headings] == ["Real"]


def test_legacy_markers_in_one_paragraph_split_into_sections():
    body = "***Problem***: one\n***Context***: two\n**Solution**: three\n**Note**: not a section\n"
    r = parse(MD, body, 10, pattern=True)
    assert [(s.known, s.line) for s in r.sections] == [("Problem", 10), ("Context", 11), ("Solution", 12)]
    assert "<strong>Note</strong>" in r.html


def test_marker_needs_a_known_name_and_only_applies_to_patterns():
    r = parse(MD, "***Problem***: x\n", 1, pattern=False)
    assert r.sections == () and "<strong>Problem</strong>" in r.html
    r = parse(MD, "***Whatever***: x\n", 1, pattern=True)
    assert r.sections == ()


def test_sections_empty_and_variants():
    body = "## Problem\n\n## Variants\n\n* **Partner Meeting**: a\n* **White Paper.** b\n* plain item\n"
    r = parse(MD, body, 1, pattern=True)
    assert [(s.name, s.empty) for s in r.sections] == [("Problem", True), ("Variants", False)]
    assert [(v.name, v.id) for v in r.variants] == [("Partner Meeting", "variant-partner-meeting"),
                                                   ("White Paper", "variant-white-paper")]


def test_links_record_position_and_fill():
    r = parse(MD, "a [one](x.md#y) and\n  ![img](p%20q.png) <a href=\"z.md\">z</a>\n", 5, pattern=False)
    assert [(l.href, l.line, l.column, l.kind) for l in r.links] == [
        ("x.md#y", 5, 3, "link"), ("p q.png", 6, 3, "image"), ("z.md", 6, 21, "html")]
    html = fill_links(r.html, ["A", "B", "C"])
    assert 'href="A"' in html and 'src="B"' in html and 'href="C"' in html


def test_fenced_code_is_highlighted_and_unknown_language_escaped():
    r = parse(MD, "```python\nx = '<b>'\n```\n```nosuchlang\n<b>\n```\n", 1, pattern=False)
    assert '<pre class="highlight" tabindex="0"><code class="language-python">' in r.html
    assert "&lt;b&gt;" in r.html and "<b>" not in r.html


def test_aliases_from_section():
    assert split_aliases('Temperature Check; "Love" (as in "It\'s time")') == ["Temperature Check", "Love"]


# links ---------------------------------------------------------------------

def _index():
    a, _ = page_of("---\ntitle: A\n---\n", rel="a.md")
    b, _ = page_of("---\ntitle: B\nslug: bee\n---\n", rel="b.md")
    h, _ = page_of("# H\n", rel="support/index.md", kind=HANDBOOK)
    c, _ = page_of("---\ntitle: C#\n---\n", rel="c#-notes.md")
    q, _ = page_of("---\ntitle: FAQ?\n---\n", rel="faq?.md")
    files = {"content/patterns/img/x.png": "patterns/img/x.png"}
    return a, b, h, build_index([a, b, h, c, q], files, {"tags/x/"}, "/devrel/")


@pytest.mark.parametrize("href,kind,url,fragment", [
    ("b.md", PAGE, "patterns/bee/", None),
    ("b.md#solution", PAGE, "patterns/bee/", "solution"),
    ("b.html", PAGE, "patterns/bee/", None),
    ("bee.html", PAGE, "patterns/bee/", None),
    ("../handbook/support/index.md", PAGE, "handbook/support/", None),
    ("../handbook/support/", PAGE, "handbook/support/", None),
    ("img/x.png", "file", "patterns/img/x.png", None),
    ("/devrel/tags/x/", "url", "tags/x/", None),
    ("#top", PAGE, "patterns/a/", "top"),
    ("missing.md", BROKEN, None, None),
    ("../../outside.md", BROKEN, None, None),
    ("https://example.org/", "external", None, None),
    ("c%23-notes.md#a%20b", PAGE, "patterns/c-notes/", "a b"),     # an encoded "#" is part of the name
    ("faq%3F.md?x=1", PAGE, "patterns/faq/", None),
    ("@/patterns/b.md#x", PAGE, "patterns/bee/", "x"),                # Zola: from the content folder
    ("@/patterns/nope.md", BROKEN, None, None),
])
def test_resolve(href, kind, url, fragment):
    a, b, h, index = _index()
    target = resolve(href, a, index)
    assert (target.kind, target.url, target.fragment) == (kind, url, fragment)


def test_a_shared_memo_resolves_every_link_as_resolving_it_alone_does():
    """Links written alike in one folder are resolved once; those whose meaning depends on
    the page itself (a bare fragment, a site URL relative to the page's own URL) never share."""
    a, b, _, index = _index()
    top, _ = page_of("# Top\n", rel="guide/index.md", kind=HANDBOOK)     # URL handbook/guide/
    deep, _ = page_of("# Deep\n", rel="guide/deep.md", kind=HANDBOOK)    # same folder, one level lower
    other, _ = page_of("# Other\n", rel="other/x.md", kind=HANDBOOK)
    pages = [a, b, top, deep, other]
    index = build_index(pages, dict(index.files), set(index.generated), index.base_path)
    hrefs = ["#top", "", "b.md", "deep.md#x", "index.md", "../../tags/x/", "../tags/x/", "x.md", "../other/x.md",
             "img/x.png", "https://example.org/", "?q=1", "deep.md?v=2#y"]
    memo: dict = {}
    for href in hrefs:
        for page in pages + pages[::-1]:
            assert resolve(href, page, index, memo) == resolve(href, page, index), (href, page.source)
    # The same words mean different pages from these two pages of one folder:
    assert resolve("../../tags/x/", top, index, memo).kind == "url"
    assert resolve("../../tags/x/", deep, index, memo).kind == BROKEN
    assert resolve("#top", top, index, memo).page is top and resolve("#top", deep, index, memo).page is deep


# config --------------------------------------------------------------------

def test_config_defaults_and_types():
    config = parse_config('title = "T"\nbase_url = "https://example.org/sub"\n[markdown]\nhard_breaks = true\n',
                          Path("/tmp"))
    assert config.title == "T" and config.hard_breaks is True
    assert config.base_path == "/sub/" and config.absolute_base == "https://example.org/sub/"
    assert SiteConfig(root=Path(".")).base_path == "/"


@pytest.mark.parametrize("text,words", [
    ("nope = 1\n", ["unknown key 'nope'"]),
    ("title = 3\n", ["'title' must be a string"]),
    ("[validate]\nrequired_sections = \"Problem\"\n", ["list of strings"]),
    ("[validate.severity]\nno-such-code = \"off\"\n", ["unknown diagnostic code"]),
    ("[validate.severity]\nlink-broken = \"fatal\"\n", ["must be 'error', 'warning' or 'off'"]),
    ("[markdown]\nbogus = true\n", ["unknown key 'markdown.bogus'"]),
    ("title = \"unterminated\n", ["cannot parse"]),
])
def test_config_errors_name_the_key(text, words):
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("/tmp"))
    for word in words:
        assert word in info.value.message


# urls ----------------------------------------------------------------------

def test_slugify_and_ids():
    assert slugify("Café Chat") == "cafe-chat"
    assert slugify("  Über--Cool!! ") == "uber-cool"
    assert slugify("Встреча с клиентом") == "встреча-с-клиентом"
    assert slugify("日本語") == "日本語" and slugify("हिन्दी भाषा") == "हिन्दी-भाषा"
    assert slugify("Straße") == "straße" and slugify("C++") == slugify("C#") == "c"
    assert heading_id("What's new?") == "whats-new"
    used: dict = {}
    assert [unique_id("a", used) for _ in range(3)] == ["a", "a-1", "a-2"]


@pytest.mark.parametrize("src,dst,expected", [
    ("patterns/x/", "patterns/y/", "../y/index.html"),
    ("patterns/x/", "", "../../index.html"),
    ("", "tags/a/", "tags/a/index.html"),
    ("patterns/x/", "assets/style.css", "../../assets/style.css"),
    ("patterns/x/", "patterns/x/#top", "index.html#top"),
    ("handbook/a/b/", "handbook/a/", "../index.html"),
])
def test_relative_url(src, dst, expected):
    assert relative_url(src, dst) == expected


# map and A–Z ---------------------------------------------------------------

def _patterns(n: int):
    pages = []
    cats = ["Code", "Writing", "Social", "Budget", "Presentation"]
    for i in range(n):
        page, _ = page_of(f"---\ntitle: Pattern {i:02d}\ncategories: [{cats[i % 5]}]\n---\n", rel=f"p{i}.md")
        pages.append(page)
    return pages


def test_map_layout_is_deterministic_without_overlaps_and_edges_once():
    pages = _patterns(40)
    links = {p.source: (pages[(i + 1) % 40], pages[(i + 7) % 40]) for i, p in enumerate(pages)}
    links[pages[1].source] = links[pages[1].source] + (pages[0],)   # 0->1 and 1->0: one edge
    first, second = layout(pages, links), layout(list(reversed(pages)), links)
    assert first == second
    assert len(first.nodes) == 40
    for i, a in enumerate(first.nodes):
        for b in first.nodes[i + 1:]:
            assert ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5 >= 2 * 7 + 4
        assert 0 <= a.x <= first.width and 0 <= a.y <= first.height
    # Labels (approximated as boxes 13 px high) never overlap each other.
    boxes = []
    for n in first.nodes:
        width = len(n.page.title) * 7.2
        left = n.label_x if n.anchor == "start" else n.label_x - width
        boxes.append((left, n.label_y - 11, left + width, n.label_y + 2))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    pairs = [(e.source, e.target) for e in first.edges]
    assert len(pairs) == len(set(pairs))
    expected = {tuple(sorted((p.source, t.source))) for p in pages for t in links[p.source]}
    assert set(pairs) == expected
    assert any(e.mutual for e in first.edges)
    # Grouped by category: nodes of one category are contiguous.
    order = [n.category for n in first.nodes]
    assert order == sorted(order, key=order.index)


def test_a_to_z_lists_aliases_and_variants():
    page, _ = page_of("---\ntitle: Customer Check-In\n---\n## Also Known As\nTemperature Check; Love\n"
                      "## Variants\n* **Partner Meeting**: x\n", rel="c.md")
    other, _ = page_of("---\ntitle: Blog Post\n---\n", rel="b.md")
    rendered = {p.source: parse(MD, p.body, p.body_line, pattern=True) for p in (page, other)}
    info = {p.source: pattern_info(p, rendered[p.source]) for p in (page, other)}
    groups = dict(a_to_z([page, other], info))
    assert sorted(groups) == ["B", "C", "L", "P", "T"]
    temp = groups["T"][0]
    assert (temp.name, temp.kind, temp.page.title) == ("Temperature Check", "alias", "Customer Check-In")
    variant = groups["P"][0]
    assert (variant.kind, variant.anchor) == ("variant", "variant-partner-meeting")


def test_slim_drops_the_body_and_section_texts_and_keeps_everything_else():
    from dataclasses import replace
    from generator.parallel import slim
    page, _ = page_of("---\ntitle: T\ntags: [a]\n---\n## Also Known As\nX; Y\n## Problem\nSome text.\n")
    rendered = parse(MD, page.body, page.body_line, pattern=True)
    small_page, small = slim(page, rendered)
    assert small_page == replace(page, body="") and small_page.fields == page.fields and small_page.body == ""
    assert [s.text for s in small.sections] == ["X; Y", ""]
    assert small == replace(rendered, sections=tuple(replace(s, text="") if s.known == "Problem" else s
                                                     for s in rendered.sections))


def test_links_to_and_from_a_page_are_listed_once_each_in_title_order():
    from generator.links import build_index
    from generator.pipeline import resolve_links
    from generator.site import build_site
    # Title order (Alpha, bravo, Charlie, Zulu) is neither file order nor link order.
    texts = {"z.md": "---\ntitle: Zulu\n---\n[c](c.md) [a](a.md) [b](b.md) [a again](a.md#x) [self](z.md)\n",
             "a.md": "---\ntitle: Charlie\n---\n[z](z.md) [b](b.md)\n", "b.md": "---\ntitle: Alpha\n---\n[z](z.md)\n",
             "c.md": "---\ntitle: bravo\n---\n[z](z.md) [a](a.md)\n"}
    pages = [page_of(text, rel=rel)[0] for rel, text in texts.items()]
    rendered = {p.source: parse(MD, p.body, p.body_line, pattern=True) for p in pages}
    targets = resolve_links(pages, rendered, build_index(pages, {}, set(), "/"))
    site = build_site(SiteConfig(root=Path(".")), pages, rendered, targets, {})

    def titles(found):
        return [p.title for p in found]
    assert titles(site.outlinks["content/patterns/z.md"]) == ["Alpha", "bravo", "Charlie"]
    assert titles(site.outlinks["content/patterns/a.md"]) == ["Alpha", "Zulu"]
    assert titles(site.backlinks["content/patterns/z.md"]) == ["Alpha", "bravo", "Charlie"]
    assert titles(site.backlinks["content/patterns/a.md"]) == ["bravo", "Zulu"]


def test_index_letters_drop_accents_keep_other_scripts_and_put_signs_last():
    from generator.patterns import folded, index_letter
    assert [index_letter(t) for t in ("Über Call", "über", "Élan", "Встреча", "“Quoted”", "42 Things", "_x")] == \
        ["U", "U", "E", "В", "Q", "#", "#"]
    pages = [page_of(f"---\ntitle: {t}\n---\nx\n", rel=f"p{i}.md")[0]
             for i, t in enumerate(["Zebra", "Über Call", "Umbrella", "Встреча", "42 Things", "Apple"])]
    groups = a_to_z(sorted(pages, key=lambda p: folded(p.title)), {})
    assert [(letter, [e.name for e in entries]) for letter, entries in groups] == [
        ("A", ["Apple"]), ("U", ["Über Call", "Umbrella"]), ("Z", ["Zebra"]), ("В", ["Встреча"]),
        ("#", ["42 Things"])]


def test_long_titles_are_cut_on_the_map_but_not_in_its_tooltip():
    from generator.pattern_map import LABEL_MAX
    long_title = "A " + "very " * 40 + "long title"
    pages = [page_of(f"---\ntitle: {t}\ncategories: [C]\n---\nx\n", rel=f"p{i}.md")[0]
             for i, t in enumerate([long_title, "Short"])]
    drawn = layout(pages, {})
    labels = {node.page.title: node.label for node in drawn.nodes}
    assert labels["Short"] == "Short" and len(labels[long_title]) == LABEL_MAX and labels[long_title].endswith("…")
    assert drawn.width < 1000          # room for the cut label, not for the 200-character title


def test_edit_links_drop_a_clone_urls_git_and_encode_branch_and_path():
    from generator.render import edit_url
    page, _ = page_of("---\ntitle: T\n---\nx\n", rel="my page.md")
    config = SiteConfig(root=Path("."), repo_url="https://github.com/org/repo.git", repo_branch="feature/a b")
    assert edit_url(config, page) == "https://github.com/org/repo/edit/feature/a%20b/content/patterns/my%20page.md"
    config = SiteConfig(root=Path("."), repo_url="https://git.example.org/x/-/edit/main/{path}")
    assert edit_url(config, page) == "https://git.example.org/x/-/edit/main/content/patterns/my%20page.md"


def test_a_heading_names_its_own_id_as_hugo_zola_and_mkdocs_read_it():
    r = parse(MD, "## Solution {#fix}\n\ntext\n\n## Notes {: #n .wide data-x=1 }\n\n## Kept \\{#k}\n\n## Set {a,b}\n",
              1, pattern=True)
    assert [(h.text, h.id) for h in r.headings] == [("Solution", "fix"), ("Notes", "n"), ("Kept {#k}", "kept-k"),
                                                    ("Set {a,b}", "set-ab")]
    assert r.sections[0].known == "Solution" and r.sections[0].id == "fix"
    assert '<h2 id="fix">Solution</h2>' in r.html and '<h2 id="n" class="wide">Notes</h2>' in r.html
    assert "data-x" not in r.html and {"fix", "n"} <= r.ids
    # Goldmark (Hugo) also takes id= and class= written as attributes; an id with a space is no id.
    r = parse(MD, '## Hugo {id="hugo-id"}\n\n## Both {class="wide big" id=b2}\n\n## Bad {id="a b"}\n', 1,
              pattern=False)
    assert [h.id for h in r.headings] == ["hugo-id", "b2", "bad"]
    assert '<h2 id="b2" class="wide big">Both</h2>' in r.html


@pytest.mark.parametrize("value,expected", [
    ("2024-02-03", dt.date(2024, 2, 3)), ("2024-02-03T10:00:00Z", dt.date(2024, 2, 3)),
    ("2024-02-03 10:00", dt.date(2024, 2, 3)), ("2024-02-03T10:00:00+02:00", dt.date(2024, 2, 3)),
    ("2024-02-03T99:99:00Z", None), ("2024-13-01", None), ("2024-02-03x", None),
    (dt.datetime(2024, 2, 3, 10, 0), dt.date(2024, 2, 3)),
])
def test_dates_with_a_time_must_be_real_ones(value, expected):
    from generator.content import parse_date
    assert parse_date(value) == expected


def test_hugo_draft_as_text_is_a_draft():
    page, found = page_of('{\n "title": "A",\n "draft": "true"\n}\n')
    assert page.status == "draft" and not found


def test_content_tabs_are_labelled_blocks_whose_links_are_checked():
    r = parse(MD, 'Intro.\n\n=== "pip"\n\n    Run [the installer](install.md).\n\n    More.\n\n===+ "From source"\n'
                  '\n        indented code\n\nAfter.\n\n    === "not a tab: code"\n', 1, pattern=False)
    assert r.html == ('<p>Intro.</p>\n<div class="tabbed-block">\n<p class="tabbed-title">pip</p>\n'
                      '<p>Run <a href="\ue0000\ue001">the installer</a>.</p>\n<p>More.</p>\n</div>\n'
                      '<div class="tabbed-block">\n<p class="tabbed-title">From source</p>\n'
                      '<pre><code>indented code\n</code></pre>\n</div>\n<p>After.</p>\n'
                      '<pre><code>=== &quot;not a tab: code&quot;\n</code></pre>\n')
    assert [(link.href, link.line, link.column) for link in r.links] == [("install.md", 5, 9)]


def test_the_same_unparsed_link_twice_is_found_at_each_place():
    r = parse(MD, "Twice [a](my page.md) and [a](my page.md).\nOnce more [a](my page.md) here.\n", 4, pattern=False)
    assert [(line, column) for line, column, _, _ in r.unparsed] == [(4, 7), (4, 27), (5, 11)]


def test_one_tilde_strikes_through_as_on_github():
    assert MD.render("~~Hi~~ Hello, ~there~ world! ~~~three~~~ stays.") == \
        "<p><s>Hi</s> Hello, <s>there</s> world! ~~~three~~~ stays.</p>\n"


def test_github_alerts_are_notes_and_their_links_are_links():
    r = parse(MD, "> [!WARNING]\n> Check [the guide](guide.md) first.\n\n> [!NOPE]\n> A quote.\n", 3, pattern=False)
    assert '<div class="markdown-alert markdown-alert-warning">\n<p class="markdown-alert-title">Warning</p>' in r.html
    assert "<blockquote>\n<p>[!NOPE]" in r.html
    assert [(link.href, link.line, link.column) for link in r.links] == [("guide.md", 4, 9)]


def test_folding_admonitions_fence_info_and_hints_for_a_folders_page():
    from generator.markdown import fence_info
    html = MD.render("??? tip \"More\"\n    Hidden.\n\n???+ note\n    Shown.\n\n!!! warning\n    Plain.\n")
    assert '<details class="admonition tip is-collapsible collapsible-closed">\n<summary class="admonition-title">More' in html
    assert '<details class="admonition note is-collapsible collapsible-open" open="">' in html
    assert '<div class="admonition warning">\n<p class="admonition-title">Warning</p>' in html
    assert [fence_info(i) for i in ("{r, echo=FALSE}", "{.python .numberLines}", 'title="x.py"', "py {linenos=true}")] \
        == ["r", "python", "", "py {linenos=true}"]
    from generator.links import suggest_page
    page, _ = page_of("# W\n", rel="guides/writing.md", kind=HANDBOOK)
    own, _ = page_of("# G\n", rel="guides/index.md", kind=HANDBOOK)
    other, _ = page_of("# Z\n", rel="zz/index.md", kind=HANDBOOK)
    index = build_index([page, own, other], {}, set(), "/")
    assert suggest_page("_index.md", page, index) == "index.md"


def test_fenced_code_keeps_its_blank_lines_when_highlighted():
    html = MD.render("```python\n\nx = 1\n\n```\n")
    assert html.startswith('<pre class="highlight" tabindex="0"><code class="language-python">\n<span')
    assert html.endswith("</span>\n\n</code></pre>\n\n")


@pytest.mark.parametrize("body", ["> | a |\n> |---|\n>", "> | a |\n> |---|\n> ", "| a |\n|---|\n| b"])
def test_a_page_that_ends_without_a_newline_in_a_table_parses(body):
    rendered = parse(MD, body, 1, pattern=False)
    assert rendered.ok and "<table" in rendered.html


def test_attribute_lists_as_mkdocs_writes_them():
    rendered = parse(MD, "Defined here.\n{: #para-id .note }\n\n[Start](x.md){ .md-button } and "
                         "![Map](map.png){ width=\"300\" onclick=\"x()\" } {not a list}\n\n"
                         "- item\n  {: #item-id }\n- two\n\n\\{: #kept }\n\n## Title [l](y.md){#title-id}\n", 1,
                     pattern=False)
    html = rendered.html
    assert '<p id="para-id" class="note">Defined here.</p>' in html
    assert 'class="md-button">Start</a>' in html and 'width="300"' in html and "onclick" not in html
    assert "{not a list}" in html and "{: #kept }" in html
    assert '<li id="item-id">item</li>' in html and '<h2 id="title-id">' in html
    assert {"para-id", "item-id", "title-id"} <= rendered.ids and "kept" not in rendered.ids
