"""Patterns: what a pattern page is made of, read from its parsed sections."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .config import KNOWN_SECTIONS
from .content import Page
from .markdown import Rendered, Section, Variant

_PARENTHETICAL = re.compile(r"\s*\([^()]*\)\s*$")


@dataclass(frozen=True)
class PatternInfo:
    aliases: tuple[str, ...]
    variants: tuple[Variant, ...]
    sections: tuple[Section, ...]


def split_aliases(text: str) -> list[str]:
    """Names from an "Also Known As" section: ``A; "B" (a remark)`` -> ``A``, ``B``."""
    names = []
    for part in text.split(";"):
        name = _PARENTHETICAL.sub("", part.strip()).strip()
        name = name.strip("\"'“”‘’ ").strip().rstrip(".")
        if name:
            names.append(name)
    return names


def pattern_info(page: Page, rendered: Rendered) -> PatternInfo:
    aliases = list(page.aliases)
    for section in rendered.sections:
        if section.known == "Also Known As":
            aliases.extend(split_aliases(section.text))
    unique = tuple(dict.fromkeys(a for a in aliases if a.lower() != page.title.lower()))
    variants = tuple(v for v in rendered.variants)
    return PatternInfo(aliases=unique, variants=variants, sections=rendered.sections)


def canonical_order(name: str) -> int:
    return KNOWN_SECTIONS.index(name) if name in KNOWN_SECTIONS else -1
