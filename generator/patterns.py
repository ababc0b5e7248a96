"""Patterns: what a pattern page is made of, read from its parsed sections."""

from __future__ import annotations

import re
import unicodedata
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
    entries.sort(key=lambda e: (folded(e.name), e.kind != "pattern", folded(e.page.title), e.page.source))
    groups: dict[str, list[IndexEntry]] = {}
    for entry in entries:
        groups.setdefault(index_letter(entry.name), []).append(entry)
    return sorted(groups.items(), key=letter_order)


def folded(text: str) -> str:
    """``text`` case-folded, its Latin letters without accents: "Über" sorts with "uber"."""
    if text.isascii():
        return text.casefold()          # nothing to decompose
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def index_letter(name: str) -> str:
    """The letter an index files a name under: its first letter, upper case and without an
    accent ("Über" under U, "Встреча" under В), or "#" when it starts with no letter."""
    first = folded(name.lstrip("\"'“‘("))[:1].upper()
    return first if first.isalpha() else "#"


def letter_order(group: tuple[str, object]) -> tuple[bool, str]:
    """Letters in alphabet order, "#" last."""
    return group[0] == "#", group[0]
