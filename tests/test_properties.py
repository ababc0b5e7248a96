"""Property-based tests: random headers and Markdown always give diagnostics, never an exception."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.config import SiteConfig
from generator.content import PATTERN, SourceFile, load, load_text
from generator.diagnostics import CODES
from generator.markdown import make_parser, parse
from generator.pipeline import run
from generator.urls import _relative, relative_url

MD = make_parser(SiteConfig(root=Path(".")))

header_lines = st.one_of(
    st.sampled_from(["---", "~~~~~~", "title: A", "title=A", "tags: [a, b", "tags=a, b", "date: 2024-02-30",
                     "date=2024-01-01", "status: draft", "status=published", "categories: {x: 1}", "- item",
                     "slug: ''", "order: x", "<meta name=\"title\" value=\"T\">", "key: &a [*a]", "title: !!python/none x",
                     ": :", "'''", "aliases: 3"]),
    st.text(max_size=30),
)
body_lines = st.one_of(
    st.sampled_from(["## Problem", "## Context", "## Solution", "## Consequences", "## Variants", "***Problem***: x",
                     "**Solution**:", "* **Name**: t", "* **Name.** t", "[a](b.md)", "[a](#x)", "![i](i.png)",
                     "[a](other.html#y)", "```", "~~~", "| a | b |", "|---|---|", "> quote", "[^1]", "[^1]: n",
                     "<a href=\"x.md\">x</a>", "*Code, Writing*", "# Title", "- [ ] task", "[ref]: ../x.md", "[ref]",
                     "<div>", "</div>", "    indented", "\t", ""]),
    st.text(max_size=40),
)


@st.composite
def documents(draw) -> str:
    head = draw(st.lists(header_lines, max_size=8))
    body = draw(st.lists(body_lines, max_size=20))
    return "\n".join(head + body)


@given(documents())
@settings(max_examples=300, deadline=None)
def test_load_and_parse_never_raise(text):
    source = SourceFile("content/patterns/x.md", PATTERN, "x.md")
    page, diagnostics = load(source, text)
    assert all(d.code in CODES and d.path == source.path for d in diagnostics)
    assert all(d.line is None or d.line >= 1 for d in diagnostics)
    rendered = parse(MD, page.body, page.body_line, pattern=True)
    lines = len(re.split(r"\r\n|\r|\n", text))
    for link in rendered.links:
        assert 1 <= link.line <= lines
    for section in rendered.sections:
        assert 1 <= section.line <= lines


footnote_lines = st.sampled_from(["Text[^1] and[^1] again[^note].", "[^1]: One <a id=\"in-note\">x</a>",
                                  "[^note]: Two[^1].", "Inline^[an inline note] here.", "## Notes", "`id='x'`",
                                  "<p id=\"raw\">", "- **Variant A**: t", "## Variants"])


@given(st.lists(st.one_of(footnote_lines, body_lines), max_size=20), st.booleans())
@settings(max_examples=300, deadline=None)
def test_a_parse_without_html_finds_what_a_full_parse_finds(lines, pattern):
    body = "\n".join(lines)
    full = parse(MD, body, 1, pattern=pattern)
    bare = parse(make_parser(SiteConfig(root=Path("."))), body, 1, pattern=pattern, render=False)
    assert bare.html == ""
    assert (bare.ids, bare.headings, bare.links, bare.sections, bare.variants) == \
        (full.ids, full.headings, full.links, full.sections, full.variants)
    assert {i for i in full.ids if i.startswith("fn")} == set(re.findall(r' id="(fn[^"]*)"', full.html))


@given(st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_any_bytes_decode_or_give_encoding_diagnostic(data):
    source = SourceFile("content/patterns/x.md", PATTERN, "x.md")
    text, diagnostics = load_text(source, data)
    assert isinstance(text, str)
    assert all(d.code == "encoding-invalid" for d in diagnostics)


@given(st.lists(documents(), min_size=1, max_size=4))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_whole_pipeline_reports_problems_without_crashing(texts):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for i, text in enumerate(texts):
            kind = "patterns" if i % 2 == 0 else "handbook"
            path = root / "content" / kind / f"p{i}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8", errors="replace"))
        result = run(SiteConfig(root=root, search=False))
        codes = [d.code for d in result.diagnostics]
        assert "internal-error" not in codes, [d for d in result.diagnostics if d.code == "internal-error"]
        assert "template-error" not in codes
        assert result.outputs


# The frontmatter fast path reads what the YAML library reads ---------------------------------------

import yaml  # noqa: E402

from generator.headers import _simple_yaml, yaml_reader  # noqa: E402

_Loader = yaml_reader()[2]

_tricky = st.sampled_from([
    "yes", "No", "ON", "off", "true", "False", "null", "~", "", "y", "n", "0", "7", "007", "-1", "+1", "1_000", "0x1F",
    "1.5", ".5", "1e3", ".inf", ".NaN", "12:30", "190:20:30", "2024-03-01", "2024-3-1", "2024-03-01 10:00:00", "=",
    "<<", "a: b", "a:b", "http://x.org/a?b=c", "C#", "a #b", "a#b", "it's", "say \"hi\"", "'q'", "\"q\"", "'it''s'",
    "\"a\\tb\"", "[a, b]", "[]", "[ ]", "[a,]", "[a, [b]]", "[yes, 1]", "[a:b]", "[2024-01-01, x]", "{a: 1}", "&x a",
    "*x", "!t a", "|", ">", "%x", "@x", "`x`", "a\tb", "a\u2028b", "a\u00a0b", "Ünïcode title", "x:", "?", "- a",
])
_values = st.one_of(_tricky, st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
                    st.builds(lambda items: "[" + ", ".join(items) + "]", st.lists(_tricky, max_size=3)))
_keys = st.one_of(st.sampled_from(["title", "tags", "date", "order", "yes", "Null", "a-b", "_x", "x1", "on"]),
                  st.text(alphabet="abcXYZ_-:. #'\"", min_size=1, max_size=6))
_header_lines = st.one_of(st.builds(lambda k, v, gap: f"{k}:{gap}{v}", _keys, _values, st.sampled_from([" ", "  ", ""])),
                          st.sampled_from(["", "# comment", "  - item", "  nested: 1", "   "]))


@given(st.lists(_header_lines, max_size=6))
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_the_frontmatter_fast_path_agrees_with_the_yaml_library(lines):
    fast = _simple_yaml(lines)
    if fast is None:
        return
    text = "\n".join(lines)
    expected = yaml.load(text, Loader=_Loader) if text.strip() else {}
    assert fast == (expected or {})
    assert [type(v) for v in fast.values()] == [type(v) for v in (expected or {}).values()]


def test_the_frontmatter_fast_path_takes_ordinary_headers():
    lines = ["title: Customer Check-In", "tags: [devrel, customer success]", "categories: [Social]",
             "date: 2024-03-01", "order: 2", "description: Talk to partners, early and often.", "status: draft"]
    assert _simple_yaml(lines) == yaml.load("\n".join(lines), Loader=_Loader)
    assert _simple_yaml(["title: |", "  text"]) is None and _simple_yaml(["title: yes"]) is None


url_parts = st.sampled_from(["patterns", "a", "b", "tags", "x y", "é", "index.html", "style.css"])


@st.composite
def site_urls(draw) -> str:
    url = "/".join(draw(st.lists(url_parts, max_size=4)))
    if url and draw(st.booleans()):
        url += "/"
    if draw(st.booleans()):
        url += "#" + draw(st.sampled_from(["top", "a b"]))
    return url


@given(site_urls(), site_urls(), st.booleans())
@settings(max_examples=500, deadline=None)
def test_relative_urls_lead_to_their_target(from_url, to_url, directory_links):
    from urllib.parse import unquote, urljoin
    from_url = from_url.split("#")[0]
    rel = relative_url(from_url, to_url, directory_links)
    # The shared memo entry gives what the page's own folder would.
    assert rel == _relative(from_url[:from_url.rfind("/") + 1], to_url, directory_links)
    target = to_url.split("#")[0]
    if (target == "" or target.endswith("/")) and not directory_links:
        target += "index.html"
    assert unquote(urljoin("http://h/" + from_url, rel.split("#")[0])) == "http://h/" + target


@given(st.lists(st.tuples(site_urls(), site_urls()), max_size=12))
@example([("patterns/a/", "patterns/b/x.png"), ("patterns/b/", "patterns/b/x.png")])
@settings(max_examples=500, deadline=None)
def test_links_shared_by_the_pages_of_a_folder_are_each_pages_own(pairs):
    """The links a page's templates make (``links_from``, whose answers the pages of a folder
    share) are the ones ``relative_url`` gives that page, whatever pages asked before."""
    from generator.urls import links_from
    memo: dict = {}
    for from_url, to_url in pairs:
        from_url = from_url.split("#")[0]
        assert links_from(from_url, memo)(to_url) == relative_url(from_url, to_url)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30))
@settings(max_examples=300, deadline=None)
def test_slugs_of_ascii_names_are_lower_case_words_joined_by_hyphens(name):
    from generator.urls import slugify
    assert slugify(name) == "-".join(re.sub(r"[^a-z0-9]+", " ", name.lower()).split())


def _markdown_it_inline(md):
    """``md`` with markdown-it's own inline stage and link rule instead of our shortcuts (plain
    text, plain links, simple emphasis)."""
    from markdown_it.rules_core.inline import inline
    md.core.ruler.at("inline", inline)
    md.inline.ruler.disable("plain_link")
    return md


def _markdown_it_blocks(md):
    """``md`` with markdown-it's own first stage and block rules instead of our shortcuts (the
    plain-paragraph and plain-list rules, rules chosen by a line's first character)."""
    from markdown_it.rules_core.normalize import normalize
    md.block.ruler.disable(["plain_paragraph", "by_first_character", "plain_list"])
    md.core.ruler.at("normalize", normalize)
    return md


def _without_shortcut(config: SiteConfig):
    return _markdown_it_inline(make_parser(config))


plain_text = st.lists(st.sampled_from(list("ab Zé1 \t\n.,:;'\"-!?()#>|=+$%@{}]^") + ["  \n", "\n\n", "- ", "1. ",
                                                                                      "# ", "---", "(c) ", "..."]),
                      max_size=60).map("".join)


def _with_markdown_it_block_rules(config: SiteConfig):
    return _markdown_it_blocks(make_parser(config))


# Lines that start with a letter after up to 5 spaces or a tab, beside lines that start with
# every kind of block mark, and the line ends and characters the first stage rewrites.
block_starts = st.sampled_from(["", " ", "  ", "   ", "    ", "     ", "\t", " \t"])
block_marks = st.sampled_from(["", "Word", "é", "日本", "x|y", "a | b", "- ", "* ", "+ ", "- a", "* b", "+ é", "* **B**: t",
                               "- **9", "* *a*", "-  a", "*\ta", "* a | b", "* 1. a", "* # a", "1. ", "1) ", "2. ", "# ", "###### ",
                               "> ", "```", "~~~", "***", "---", "___", "===", "--", "|---|", "| a |", ":--", "<div>",
                               "<!-- c -->", "<a href=\"x\">", "[r]: /u", "[^1]: n", "[a](b)", "\\", "&amp;", "\u00a0",
                               ": ", "~ ", ":", "!!! note", "??? tip \"T\"", "!!!", "=== \"Tab\"", "===+ \"T\""])
block_line = st.tuples(block_starts, block_marks, st.sampled_from(["", "text", " end  ", "|", " \t"])).map("".join)


@given(st.lists(block_line, max_size=14), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans())
@example(["Term", "", ": a definition after a blank line"], "\n", False)
@example(["Word", "more", "===", "", "!!! note", "    Word"], "\r\n", True)
@example(["# a | b", "|---|---|", "- Term", "  : not a definition", "> Quote", "> ===", "1. Word", "   ---"], "\n", False)
@example(["* **B**: t", "* b", "", "Word", "- a", "- a", "", "", "  x", "+ é", "+ é", "", "- a"], "\n", False)
@settings(max_examples=600, deadline=None)
def test_the_block_shortcuts_make_the_tokens_the_block_rules_make(lines, newline, nul):
    config = SiteConfig(root=Path("."))
    fast, slow = make_parser(config), _with_markdown_it_block_rules(config)
    text = newline.join(lines) + ("\0 x" if nul else "")
    assert fast.parse(text) == slow.parse(text)
    assert fast.render(text) == slow.render(text)
    for pattern in (True, False):
        assert parse(fast, text, 1, pattern=pattern) == parse(slow, text, 1, pattern=pattern)


@st.composite
def _with_one_of(draw, safe: list[str], risky: list[str]) -> str:
    """Text of ``safe`` pieces, with at most one ``risky`` piece somewhere in it."""
    pieces = draw(st.lists(st.sampled_from(safe), max_size=6))
    if draw(st.booleans()):
        pieces.insert(draw(st.integers(0, len(pieces))), draw(st.sampled_from(risky)))
    return "".join(pieces)


link_labels = _with_one_of(list("ab Z1é-:.,'\"()#$%@{}=+|/"),
                           ["[", "]", "\\", "\\.", "\\]", "`", "*", "_", "~", "!", "<", "&", "^", "\n", "&amp;",
                            "**x**", "[b](c)", "<b>", "`]`"])
link_targets = _with_one_of(list("ab/.#?=%-_~:1*!") + ["é", "%zz", "x.md", "javascript:", "data:"],
                            [" ", "(", ")", "\\", "\\)", "&", "&amp;", "<", ">", "\t", "\x01", " \"t\"", "()"])
inline_links = st.tuples(st.sampled_from(["", "!", "[", "*", "`", "\\", "x "]), link_labels, link_targets,
                         st.sampled_from(["", ")", "]", "*", "`", " y"])
                         ).map(lambda p: f"{p[0]}[{p[1]}]({p[2]}){p[3]}")


@given(st.lists(st.one_of(inline_links, plain_text, st.sampled_from(["[r]", "[r]: /ref", "\n\n", "[^1]: n"])),
                max_size=6), st.booleans())
@settings(max_examples=600, deadline=None)
def test_the_plain_link_rule_makes_the_tokens_the_link_rule_makes(parts, typographer):
    config = SiteConfig(root=Path("."), typographer=typographer)
    fast = make_parser(config)
    slow = make_parser(config)
    slow.inline.ruler.disable("plain_link")
    text = "".join(parts)
    assert fast.parse(text) == slow.parse(text)
    assert fast.render(text) == slow.render(text)
    assert parse(fast, text, 1, pattern=True) == parse(slow, text, 1, pattern=True)


def _with_plugin_passes_unguarded(config: SiteConfig):
    """The parser with the task-list, footnote and text-joining passes run on every page, as
    the plugins and markdown-it do."""
    from markdown_it import MarkdownIt
    from markdown_it.rules_core.text_join import text_join
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.footnote.index import footnote_tail
    from mdit_py_plugins.tasklists import tasklists_plugin
    plain = MarkdownIt().use(tasklists_plugin, enabled=False)
    tasks = next(rule.fn for rule in plain.core.ruler.__rules__ if rule.name == "github-tasklists")
    assert footnote_plugin is not None
    md = make_parser(config)
    md.core.ruler.at("github-tasklists", tasks)
    md.core.ruler.at("footnote_tail", footnote_tail)
    md.core.ruler.at("text_join", text_join)
    return md


note_pieces = st.sampled_from(["Text", " ", "\n", "\n\n", "- ", "  ", "[ ] ", "[x] ", "[X] ", "[ ]", "[y] ", "[^1]",
                               "[^1]: note", "[^a]: ", "^[inline]", "^[", "[", "]", "(b.md)", "!!! note\n    x\n",
                               "??? tip \"T\"\n    y\n", "???+ note\n    z\n", "> ", "1. ", "**b**", "`c`", "\\*",
                               "&amp;", "&#42;", "{.c}", "{#i}", "\n{: .c}", "www.x.org", "a@b.org", "http://x.org/",
                               "![i](j.png)", "![a\\*b](j.png)", "[x](y.md)", "*e*", "_u_", "~s~"])


@given(st.lists(note_pieces, max_size=16), st.booleans())
@example(["Text", "^[inline]"], False)
@example(["- ", "[ ] ", "Text"], True)
@example(["Text", "[^1]", "\n\n", "[^1]: note"], False)
@settings(max_examples=500, deadline=None)
def test_skipping_the_plugin_passes_changes_nothing(pieces, pattern):
    """Task lists and footnotes are looked for only in text that can hold them; the pages come
    out as when the plugins look through every page."""
    config = SiteConfig(root=Path("."))
    fast, slow = make_parser(config), _with_plugin_passes_unguarded(config)
    text = "".join(pieces)
    assert fast.render(text) == slow.render(text)
    assert parse(fast, text, 1, pattern=pattern) == parse(slow, text, 1, pattern=pattern)


def _with_markdown_it_renderer(config: SiteConfig):
    """The parser with markdown-it's own HTML renderer instead of ``FastRenderer``."""
    from markdown_it.renderer import RendererHTML
    md = make_parser(config)
    rules = md.renderer.rules
    md.renderer = RendererHTML(md)
    md.renderer.rules.update({name: getattr(rule, "__func__", rule).__get__(md.renderer)
                              for name, rule in rules.items()})
    return md


@given(st.lists(st.one_of(block_line, note_pieces, inline_links, plain_text, body_lines,
                          st.sampled_from(["\n", "\n\n", "  - a\n\n  - b\n", "- a\n  > q\n- b\n", "<br>", "| a | b |\n|--|--|\n| c | d |\n",
                                           "Term\n: def\n", "```py\nx = 1\n```\n", "![alt *e*](i.png \"t\")", "Text {#id .c}\n"])),
                max_size=12), st.booleans(), st.booleans())
@example(["- a\n\n  > q\n- b\n"], False, True)
@settings(max_examples=500, deadline=None)
def test_the_fast_renderer_writes_what_markdown_it_writes(pieces, xhtml, typographer):
    config = SiteConfig(root=Path("."), typographer=typographer)
    fast, slow = make_parser(config), _with_markdown_it_renderer(config)
    fast.options["xhtmlOut"] = slow.options["xhtmlOut"] = xhtml
    text = "".join(pieces)
    assert type(slow.renderer) is not type(fast.renderer)
    assert fast.render(text) == slow.render(text)
    assert parse(fast, text, 1, pattern=True).html == parse(slow, text, 1, pattern=True).html


@given(st.lists(st.sampled_from(list("aZ09/._~#?=&+,;!*'()$-") + ["//", ":", "%", "%2F", " ", "@", "é", "\\", "[",
                                                                  "http:", "mailto:", "xn--"]), max_size=20).map("".join))
@example("//host/a")
@example("a%b")
@settings(max_examples=800, deadline=None)
def test_the_quick_link_normaliser_answers_as_markdown_it(target):
    from markdown_it.common.normalize_url import normalizeLink
    md = make_parser(SiteConfig(root=Path(".")))
    assert md.normalizeLink(target) == normalizeLink(target)


emphasised = st.lists(st.one_of(
    st.tuples(st.sampled_from(["*", "**", "***", ""]), st.sampled_from(["a", "b1", "x y", "é", "9", "a-b", "q.r"]))
    .map(lambda marked: marked[0] + marked[1] + marked[0]),
    st.sampled_from([" ", "\n", ": ", ". ", "  \n", " \n", "\t", ", ", "\n  ", ") ", " (", "!", "?", "'", "\"",
                     "\u00a0", "-", "/", "*", "**", "_", "é", "“", "#"])), max_size=12).map("".join)


@given(st.lists(st.one_of(plain_text, body_lines, inline_links, emphasised, st.sampled_from([
    "http://example.com/a_b", "https://x.org/p?q=1#f", "http://x.org/p", "ftp://x.org", "see http:", "www.", " www.example.com ", "[r]", "[r]: /ref", "a@b.co", "\n\n",
    "!", " ! ", "  \n", "\n   ", "]", ")", "(", "`", "*", "&amp;"])), max_size=8), st.booleans(), st.booleans())
@example(["x ", "[a](b)", "  \n", "y"], False, False)
@example(["!", "[a](b)"], False, False)
@example(["x [a](b)", "   \n", "y"], False, False)
@example(["^", "[0](0)"], False, False)
@example(["see http://x.com/", "[a](b)"], False, False)
@example(["www.http://x.org/p"], False, False)
@example(["a@b.http://x.org/p"], False, False)
@example(["**Name**: t", "\n", "x *a*  \n*b*."], True, False)
@example(["**a**", "\u00a0", "b"], False, False)
@settings(max_examples=800, deadline=None)
def test_the_inline_shortcuts_make_the_tokens_the_inline_parser_makes(parts, typographer, breaks):
    """Plain text, and text plain but for inline links or simple emphasis, get the tokens
    markdown-it's inline parser (without our plain-link rule) gives them."""
    config = SiteConfig(root=Path("."), typographer=typographer, hard_breaks=breaks)
    fast, slow = make_parser(config), _without_shortcut(config)
    text = "".join(parts)
    assert fast.parse(text) == slow.parse(text)
    assert fast.render(text) == slow.render(text)
    assert parse(fast, text, 1, pattern=True) == parse(slow, text, 1, pattern=True)


marker_pieces = st.sampled_from([
    "***Problem***: x", "**Problem**", "__Context__:", "*__Solution__*", "**_Consequences_**:", "**&#80;roblem**:",
    "**PROBLEM**:", "**Also Known As**: A; B", "**Also  Known\tAs**:", "** Problem**", "\\**Problem**",
    "`**Problem**`", "**Lösung**:", "**LÖSUNG**", "Problem", "Lösung", "**Variants**", "***", "___", "_", "*", "**",
    "__", ":", " ", "\n", "\n\n", "> ", "- ", "x", "&amp;", "<b>", "[a](b.md)"])


@given(st.lists(marker_pieces, max_size=16), st.booleans())
@example(["**&#80;roblem**:", " x"], False)
@example(["*__Solution__*", ": x"], False)
@example(["**LÖSUNG**", ": x"], True)
@settings(max_examples=600, deadline=None)
def test_pages_passed_over_for_legacy_markers_hold_none(pieces, custom):
    """A pattern page whose source cannot hold a legacy marker skips looking through its
    tokens for one: looking would have changed nothing."""
    from generator.markdown import _legacy_sections, _may_hold_markers, _name_table
    from generator.parallel import section_names
    config = SiteConfig(root=Path("."))
    names = _name_table(section_names(config) + (("Lösung",) if custom else ()))
    text = "".join(pieces) + "\n"
    tokens = MD.parse(text)
    if not _may_hold_markers(text, names):
        assert _legacy_sections(tokens, names) == tokens


unparsed_pieces = st.sampled_from([
    "[a](b c)", "[a](my page.md)", "[a] (https://x.org)", "[a]\t(x.md#f)", "[a]  (x.html)", "\\[a](b c)",
    "[12] (https://x.org)", "`[a](b c)`", "&#91;a](b c)", "[a](b\nc)", "[0, 1](open interval)", "[a](b.md)",
    "[a]", "(x.md)", "[", "]", "(", ")", " ", "\t", "\n", "text", "**b**", "<https://x.org>", "https://x.org",
    "mailto:a@b.org", "(./c d.md)", "[a](./c d.md)", "#"])


@given(st.lists(unparsed_pieces, max_size=16))
@example(["[a](b", "\n", "c)"])
@example(["&#91;a](b c)"])
@settings(max_examples=600, deadline=None)
def test_blocks_passed_over_for_unparsed_links_hold_none(pieces):
    """A block whose source cannot hold a link CommonMark reads as text (``[a](my page.md)``,
    ``[a] (https://x.org)``) skips looking through its text for one: looking would find none."""
    from generator.markdown import _may_hold_unparsed_links, _unparsed_links
    text = "".join(pieces) + "\n"
    lines = text.split("\n")
    for token in MD.parse(text):
        if token.type != "inline" or not token.map:
            continue
        block = lines[token.map[0]:token.map[1]]
        if not _may_hold_unparsed_links("\n".join(block)):
            found: list = []
            _unparsed_links(token.children or [], block, token.map, 1, found)
            assert found == []
