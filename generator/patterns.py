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
    return PatternInfo(aliases=unique, variants=rendered.variants, sections=rendered.sections)


def canonical_order(name: str) -> int:
    return KNOWN_SECTIONS.index(name) if name in KNOWN_SECTIONS else -1


@dataclass(frozen=True)
class IndexEntry:
    name: str
    kind: str              # "pattern", "alias" or "variant"
    page: Page
    anchor: str = ""       # fragment within the page, for variants


def a_to_z(patterns: tuple[Page, ...] | list[Page], info: dict[str, PatternInfo]) -> list[tuple[str, list[IndexEntry]]]:
    """Every pattern name, alias and variant name, grouped by first letter."""
    entries: list[IndexEntry] = []
    for page in patterns:
        entries.append(IndexEntry(page.title, "pattern", page))
        details = info.get(page.source)
        if details is None:
            continue
        for alias in details.aliases:
            entries.append(IndexEntry(alias, "alias", page))
        for variant in details.variants:
            entries.append(IndexEntry(variant.name, "variant", page, variant.id))
    entries.sort(key=lambda e: (e.name.casefold(), e.kind != "pattern", e.page.title.casefold(), e.page.source))
    groups: dict[str, list[IndexEntry]] = {}
    for entry in entries:
        first = entry.name.lstrip("\"'“‘(")[:1].upper()
        letter = first if first.isalpha() and first.isascii() else "#"
        groups.setdefault(letter, []).append(entry)
    return sorted(groups.items(), key=lambda item: (item[0] == "#", item[0]))
