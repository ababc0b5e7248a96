"""The ``report`` command: the health of the catalog and the handbook.

``build_report`` is pure: the site model, its diagnostics, today's date and the
staleness threshold in, a frozen ``Report`` out. ``as_text``, ``as_json`` and
``as_html`` format it; only ``cmd_report`` reads the sources and writes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from html import escape
from pathlib import Path

from .content import PATTERN, Page
from .diagnostics import Diagnostic, count
from .site import Site

FORMATS = ("text", "json", "html")
OPTIONAL_SECTIONS = ("Also Known As", "Variants")
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
_DURATION = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)


def parse_duration(text: str) -> int:
    """``180d``, ``26w``, ``6m`` (30 days each) or ``1y`` (365 days) as a number of days."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration like 180d, 26w, 6m or 1y")
    return int(match.group(1)) * _UNIT_DAYS[match.group(2).lower()]


def _duration_arg(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip().lower()


@dataclass(frozen=True)
class PageRef:
    source: str
    title: str
    kind: str
    url: str

    def to_dict(self) -> dict:
        return {"source": self.source, "title": self.title, "kind": self.kind, "url": self.url}


@dataclass(frozen=True)
class StalePage:
    page: PageRef
    changed: dt.date
    days: int

    def to_dict(self) -> dict:
        return {**self.page.to_dict(), "changed": self.changed.isoformat(), "days": self.days}


@dataclass(frozen=True)
class Owner:
    name: str
    pages: tuple[PageRef, ...]


@dataclass(frozen=True)
class MissingSections:
    page: PageRef
    sections: tuple[str, ...]


@dataclass(frozen=True)
class SingleTag:
    tag: str
    page: PageRef


@dataclass(frozen=True)
class Report:
    today: dt.date
    stale_after: str
    stale_days: int
    pages: int
    patterns: int
    handbook: int
    errors: int
    warnings: int
    owners: tuple[Owner, ...]
    ownerless: tuple[PageRef, ...]
    stale: tuple[StalePage, ...]
    untracked: tuple[PageRef, ...]
    orphans: tuple[PageRef, ...]
    missing_sections: tuple[MissingSections, ...]
    single_tags: tuple[SingleTag, ...]
    categories: tuple[tuple[str, int], ...]
    uncategorised: tuple[PageRef, ...]

    def to_dict(self) -> dict:
        return {
            "generated": self.today.isoformat(),
            "stale_after": {"value": self.stale_after, "days": self.stale_days},
            "summary": {
                "pages": self.pages, "patterns": self.patterns, "handbook": self.handbook,
                "errors": self.errors, "warnings": self.warnings,
                "owners": len(self.owners), "ownerless": len(self.ownerless), "stale": len(self.stale),
                "untracked": len(self.untracked), "orphans": len(self.orphans),
                "missing_sections": len(self.missing_sections), "single_tags": len(self.single_tags),
            },
            "owners": [{"owner": o.name, "count": len(o.pages), "pages": [p.to_dict() for p in o.pages]}
                       for o in self.owners],
            "ownerless": [p.to_dict() for p in self.ownerless],
            "stale": [s.to_dict() for s in self.stale],
            "untracked": [p.to_dict() for p in self.untracked],
            "orphans": [p.to_dict() for p in self.orphans],
            "missing_sections": [{**m.page.to_dict(), "missing": list(m.sections)}
                                 for m in self.missing_sections],
            "single_tags": [{"tag": t.tag, **t.page.to_dict()} for t in self.single_tags],
            "categories": [{"category": name, "count": n} for name, n in self.categories],
            "uncategorised": [p.to_dict() for p in self.uncategorised],
        }


def _ref(page: Page) -> PageRef:
    return PageRef(page.source, page.title, page.kind, page.url)


def _by_source(pages) -> list[Page]:
    return sorted(pages, key=lambda p: p.source)


def build_report(site: Site, diagnostics: list[Diagnostic], today: dt.date, stale_after: str) -> Report:
    days = parse_duration(stale_after)
    pages = _by_source(site.pages)

    owned: dict[str, list[PageRef]] = {}
    for page in pages:
        if page.owner:
            owned.setdefault(page.owner, []).append(_ref(page))
    owners = tuple(Owner(name, tuple(refs))
                   for name, refs in sorted(owned.items(), key=lambda item: (-len(item[1]), item[0].casefold())))

    stale, untracked = [], []
    for page in pages:
        changed = site.updated.get(page.source)
        if changed is None:
            untracked.append(_ref(page))
        elif (today - changed).days > days:
            stale.append(StalePage(_ref(page), changed, (today - changed).days))
    stale.sort(key=lambda s: (-s.days, s.page.source))

    orphans = tuple(_ref(p) for p in pages
                    if not site.backlinks.get(p.source) and not (p.kind != PATTERN and p.is_index))

    missing = []
    for page in _by_source(site.patterns):
        known = {s.known for s in site.rendered[page.source].sections}
        gaps = tuple(name for name in OPTIONAL_SECTIONS
                     if name not in known and not (name == "Also Known As" and page.aliases))
        if gaps:
            missing.append(MissingSections(_ref(page), gaps))

    single = tuple(SingleTag(t.name, _ref(t.pages[0]))
                   for t in sorted(site.tags, key=lambda t: t.name.casefold()) if len(t.pages) == 1)
    categories = tuple(sorted(((c.name, len(c.pages)) for c in site.categories),
                              key=lambda item: (-item[1], item[0].casefold())))
    errors, warnings = count(diagnostics)
    kinds = Counter(p.kind for p in pages)
    return Report(
        today=today, stale_after=stale_after, stale_days=days, pages=len(pages),
        patterns=kinds.get(PATTERN, 0), handbook=len(pages) - kinds.get(PATTERN, 0),
        errors=errors, warnings=warnings, owners=owners,
        ownerless=tuple(_ref(p) for p in pages if p.kind != PATTERN and not p.owner),
        stale=tuple(stale), untracked=tuple(untracked), orphans=orphans, missing_sections=tuple(missing),
        single_tags=single, categories=categories,
        uncategorised=tuple(_ref(p) for p in _by_source(site.patterns) if not p.categories),
    )


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def threshold_label(report: Report) -> str:
    """``180d``, or ``6m (180 days)`` when the unit is not days."""
    if report.stale_after == f"{report.stale_days}d":
        return report.stale_after
    return f"{report.stale_after} ({report.stale_days} days)"


def as_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def as_text(report: Report) -> str:
    out = [f"Catalog health report, {report.today.isoformat()}",
           f"{_plural(report.pages, 'page')}: {_plural(report.patterns, 'pattern')}, "
           f"{_plural(report.handbook, 'handbook page')}; check found "
           f"{_plural(report.errors, 'error')} and {_plural(report.warnings, 'warning')}"]

    def block(title: str, rows: list[str], empty: str = "none") -> None:
        out.append("")
        out.append(f"{title} ({len(rows)})")
        out.extend(f"  {row}" for row in rows) if rows else out.append(f"  {empty}")

    width = max((len(o.name) for o in report.owners), default=0)
    block("Pages per owner", [f"{o.name.ljust(width)}  {len(o.pages)}" for o in report.owners])
    block("Handbook pages without an owner", [f"{p.source}  {p.title}" for p in report.ownerless])
    block(f"Not changed in git for more than {threshold_label(report)}",
          [f"{s.page.source}  last changed {s.changed.isoformat()}, {s.days} days ago" for s in report.stale])
    if report.untracked:
        block("Not committed to git", [p.source for p in report.untracked])
    block("Orphan pages (no other page links to them)", [f"{p.source}  {p.title}" for p in report.orphans])
    block("Patterns missing optional sections",
          [f"{m.page.source}  {', '.join(m.sections)}" for m in report.missing_sections])
    block("Tags used only once", [f"{t.tag}  {t.page.source}" for t in report.single_tags])
    width = max((len(name) for name, _ in report.categories), default=0)
    rows = [f"{name.ljust(width)}  {n}" for name, n in report.categories]
    if report.uncategorised:
        rows.append(f"(no category)  {len(report.uncategorised)}")
    block("Patterns per category", rows)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- HTML

_CSS = """
:root { color-scheme: light dark; --fg: #1d232b; --bg: #ffffff; --muted: #505a66; --line: #d5dbe1;
  --bar: #1f5fa8; --accent: #f3f6f9; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8edf2; --bg: #14181d; --muted: #aab4bf; --line: #39424c; --bar: #77aef0; --accent: #1d232b; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.8rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
.meta { color: var(--muted); margin: 0 0 1rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem;
  list-style: none; padding: 0; margin: 1rem 0; }
.cards li { background: var(--accent); border: 1px solid var(--line); border-radius: .4rem; padding: .6rem .8rem; }
.cards strong { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; color: var(--muted); padding-bottom: .25rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: .9em; }
.chart { max-width: 100%; height: auto; }
.chart .bar { fill: var(--bar); }
.chart text { fill: var(--fg); font: 13px system-ui, sans-serif; }
.empty { color: var(--muted); font-style: italic; }
a { color: var(--bar); }
a:focus { outline: 3px solid var(--bar); outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; }
"""


def bar_chart(chart_id: str, title: str, items: list[tuple[str, int]]) -> str:
    """A horizontal bar chart as inline SVG, labelled for screen readers."""
    row, label_width, bar_width, pad = 26, 200, 380, 8
    height = max(len(items), 1) * row + pad * 2
    width = label_width + bar_width + 60
    top = max((n for _, n in items), default=0) or 1
    summary = "; ".join(f"{name}: {n}" for name, n in items) or "no data"
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" '
             f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">{escape(summary)}</desc>']
    for index, (name, n) in enumerate(items):
        y = pad + index * row
        length = max(round(bar_width * n / top), 1 if n else 0)
        shown = name if len(name) <= 28 else name[:27] + "\u2026"
        parts.append(f'<text x="{label_width - 8}" y="{y + row / 2 + 4:g}" text-anchor="end">{escape(shown)}</text>')
        parts.append(f'<rect class="bar" x="{label_width}" y="{y + 4}" width="{length}" height="{row - 8}" rx="2"/>')
        parts.append(f'<text x="{label_width + length + 6}" y="{y + row / 2 + 4:g}">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _page_table(caption: str, pages: list[PageRef], extra: list[tuple[str, list[str]]] | None = None) -> str:
    if not pages:
        return '<p class="empty">None.</p>'
    head = "".join(f'<th scope="col">{escape(name)}</th>' for name, _ in extra or [])
    rows = []
    for index, page in enumerate(pages):
        cells = "".join(f"<td>{escape(values[index])}</td>" for _, values in extra or [])
        rows.append(f'<tr><th scope="row">{escape(page.title)}</th><td><code>{escape(page.source)}</code></td>{cells}</tr>')
    return (f'<table><caption>{escape(caption)}</caption><thead><tr><th scope="col">Page</th>'
            f'<th scope="col">Source</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _count_table(caption: str, label: str, items: list[tuple[str, int]]) -> str:
    if not items:
        return '<p class="empty">None.</p>'
    rows = "".join(f'<tr><th scope="row">{escape(name)}</th><td class="n">{n}</td></tr>' for name, n in items)
    return (f'<table><caption>{escape(caption)}</caption><thead><tr><th scope="col">{escape(label)}</th>'
            f'<th scope="col" class="n">Pages</th></tr></thead><tbody>{rows}</tbody></table>')


def as_html(report: Report, site_title: str = "", language: str = "en") -> str:
    title = f"Catalog health report{': ' + site_title if site_title else ''}"
    categories = list(report.categories) + ([("(no category)", len(report.uncategorised))]
                                            if report.uncategorised else [])
    owners = [(o.name, len(o.pages)) for o in report.owners]
    cards = [("Pages", report.pages), ("Patterns", report.patterns), ("Handbook pages", report.handbook),
             ("Stale", len(report.stale)), ("Orphans", len(report.orphans)),
             ("Without owner", len(report.ownerless)), ("Errors", report.errors),
             ("Warnings", report.warnings)]
    body = [
        '<a class="skip" href="#main">Skip to the report</a>',
        f'<main id="main"><h1>{escape(title)}</h1>',
        f'<p class="meta">Generated <time datetime="{report.today.isoformat()}">{report.today.isoformat()}</time>; '
        f'pages count as stale after {escape(threshold_label(report))} without a commit.</p>',
        '<ul class="cards" aria-label="Summary">' +
        "".join(f"<li><strong>{n}</strong>{escape(name)}</li>" for name, n in cards) + "</ul>",
        '<section aria-labelledby="h-categories"><h2 id="h-categories">Patterns per category</h2>',
        bar_chart("chart-categories", "Patterns per category", categories) if categories else "",
        _count_table("Patterns per category", "Category", categories), "</section>",
        '<section aria-labelledby="h-owners"><h2 id="h-owners">Pages per owner</h2>',
        bar_chart("chart-owners", "Pages per owner", owners) if owners else "",
        _count_table("Pages per owner (maintainedBy)", "Owner", owners), "</section>",
        '<section aria-labelledby="h-ownerless"><h2 id="h-ownerless">Handbook pages without an owner</h2>',
        _page_table("Handbook pages with no maintainedBy", list(report.ownerless)), "</section>",
        '<section aria-labelledby="h-stale"><h2 id="h-stale">Not changed for more than '
        f'{escape(report.stale_after)}</h2>',
        _page_table("Pages by the date of their last commit, oldest first", [s.page for s in report.stale],
                    [("Last changed", [s.changed.isoformat() for s in report.stale]),
                     ("Days ago", [str(s.days) for s in report.stale])]), "</section>",
    ]
    if report.untracked:
        body += ['<section aria-labelledby="h-untracked"><h2 id="h-untracked">Not committed to git</h2>',
                 _page_table("Pages with no git history", list(report.untracked)), "</section>"]
    body += [
        '<section aria-labelledby="h-orphans"><h2 id="h-orphans">Orphan pages</h2>',
        _page_table("Pages no other page links to", list(report.orphans)), "</section>",
        '<section aria-labelledby="h-missing"><h2 id="h-missing">Patterns missing optional sections</h2>',
        _page_table("Patterns without Also Known As or Variants", [m.page for m in report.missing_sections],
                    [("Missing", [", ".join(m.sections) for m in report.missing_sections])]), "</section>",
        '<section aria-labelledby="h-tags"><h2 id="h-tags">Tags used only once</h2>',
        _page_table("Tags with a single page", [t.page for t in report.single_tags],
                    [("Tag", [t.tag for t in report.single_tags])]), "</section>",
        "</main>",
    ]
    return (f'<!DOCTYPE html>\n<html lang="{escape(language)}">\n<head>\n<meta charset="utf-8"/>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
            f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(part for part in body if part) + "\n</body>\n</html>\n")


# ---------------------------------------------------------------- command line

def cmd_report(args: argparse.Namespace, console) -> int:
    from .cli import _config
    from .diagnostics import apply_severities
    from .content import discover
    from .parallel import load_and_parse
    from .pipeline import analyse, category_texts, git_dates, static_files
    from .site import build_site
    config = _config(args, console)
    if config is None:
        return 2
    pages, rendered, diagnostics = load_and_parse(config, discover(config))
    file_urls, _ = static_files(config)
    analysis = analyse(config, pages, rendered, file_urls, drafts=args.drafts)
    diagnostics = apply_severities(diagnostics + list(analysis.diagnostics), config.severity_map)
    dates = git_dates(config)
    if not dates:
        console.note("note: no git history found for the content folders; every page counts as untracked")
    site = build_site(config, pages, rendered, analysis.targets, dates, include_drafts=args.drafts,
                      category_descriptions=category_texts(config))
    report = build_report(site, diagnostics, dt.date.today(), args.stale_after)
    if args.format == "json":
        text = as_json(report)
    elif args.format == "html":
        text = as_html(report, config.title, config.language)
    else:
        text = as_text(report)
    if args.output:
        target = Path(args.output)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"error: cannot write '{args.output}': {exc.strerror or exc}", file=sys.stderr)
            return 1
        console.note(f"wrote the report to {args.output}")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    report = commands.add_parser(
        "report", parents=[common], help="report on the catalog's health: owners, stale and orphan pages",
        description="Summarise owners, stale pages (by git commit date), orphans, missing optional "
                    "sections, single-use tags and categories.")
    report.add_argument("--format", choices=FORMATS, default="text", help="text, json or html (default: text)")
    report.add_argument("--stale-after", type=_duration_arg, default="180d", metavar="AGE",
                        help="pages without a commit for longer than this are stale: 180d, 26w, 6m "
                             "(30 days each) or 1y (default: 180d)")
    report.add_argument("--out", dest="output", metavar="FILE", help="write the report to FILE instead of stdout")
    report.add_argument("--drafts", action="store_true", help="include pages with status: draft")
    report.set_defaults(func=cmd_report)
