"""The parser's own shortcuts change nothing: on every example of the CommonMark spec, and
on text made by mixing pieces of them, a parse with all of them gives what a parse through
markdown-it's own stages, rules, link normaliser and renderer gives (HTML, headings, links,
sections, ids, line numbers). The spec's examples come from the ``commonmark-spec`` package
that ``make test`` installs into ``tests/node_modules``."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.config import SiteConfig
from generator.markdown import make_parser, parse
from test_properties import _markdown_it_blocks, _markdown_it_inline, _with_markdown_it_renderer

SPEC = Path(__file__).parent / "node_modules" / "commonmark-spec" / "spec.txt"
_EXAMPLE = re.compile(r"^`{32} example\n(.*?)^\.\n.*?^`{32}$", re.MULTILINE | re.DOTALL)


@functools.lru_cache(maxsize=1)
def spec_examples() -> tuple[str, ...]:
    if not SPEC.exists():
        pytest.fail(f"{SPEC} is missing: run 'make test', which installs it with npm")
    return tuple(source.replace("\u2192", "\t") for source in _EXAMPLE.findall(SPEC.read_text(encoding="utf-8")))


def markdown_it_only(config: SiteConfig):
    """The parser with none of our shortcuts: markdown-it's first stage, block rules, inline
    stage and rules, link normaliser and HTML renderer (our plugins and rules stay)."""
    from markdown_it.common.normalize_url import normalizeLink
    from markdown_it.rules_core.text_join import text_join
    md = _markdown_it_blocks(_markdown_it_inline(_with_markdown_it_renderer(config)))
    md.core.ruler.at("text_join", text_join)
    md.normalizeLink = normalizeLink
    return md


CONFIG = SiteConfig(root=Path("."))
FAST, SLOW = make_parser(CONFIG), markdown_it_only(CONFIG)


def same_parse(text: str) -> None:
    assert FAST.render(text) == SLOW.render(text)
    for pattern in (True, False):
        assert parse(FAST, text, 1, pattern=pattern) == parse(SLOW, text, 1, pattern=pattern)


def test_the_spec_has_its_examples():
    assert len(spec_examples()) == 652


def test_every_spec_example_parses_the_same_with_the_shortcuts():
    differ = []
    for number, text in enumerate(spec_examples(), 1):
        try:
            same_parse(text)
        except AssertionError:
            differ.append(number)
    assert differ == []


# What pattern and handbook pages hold besides the spec's examples: links between pages, bare
# URLs, footnotes, admonitions, definition lists, tables, legacy section markers.
EXTRAS = ["See [a](b.md#c). ", "x ^", "http://x.org/p", "![i](j.png)", "- item\n", "  ", "\n", "\n\n", "# H\n",
          "Word ", "[r]: /u\n", "!!! note\n    x\n", "Term\n: def\n", "| a | b |\n|---|---|\n", "***Problem***:\n",
          "*Code, Writing*\n", "{#id}", "^[n]", "[^1]", "[^1]: f\n", "www.x.com ", "a@b.co ", "=== \"Tab\"\n    t\n"]


@st.composite
def mixed_text(draw) -> str:
    """Pieces of spec examples and page text, some cut short, run together."""
    examples = spec_examples()
    pieces = draw(st.lists(st.one_of(st.sampled_from(examples), st.sampled_from(EXTRAS)), min_size=1, max_size=6))
    cuts = draw(st.lists(st.floats(0, 1), min_size=len(pieces), max_size=len(pieces)))
    return "".join(piece[:round(len(piece) * cut)] if cut < 0.3 else piece for piece, cut in zip(pieces, cuts))


@given(mixed_text())
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mixed_spec_examples_parse_the_same_with_the_shortcuts(text):
    same_parse(text)
