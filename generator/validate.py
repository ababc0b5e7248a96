"""Validation: pure checks over loaded and parsed pages, returning diagnostics."""

from __future__ import annotations

import difflib
import posixpath
from collections import defaultdict
from typing import Iterable, Mapping

from .config import KNOWN_SECTIONS, SiteConfig
from .content import CATALOG, HANDBOOK, PATTERN, Page, SourceFile
from .diagnostics import Diagnostic, make
from .links import BROKEN, PAGE, Target, UrlIndex, never_published, suggest_anchor, suggest_file, suggest_page
from .markdown import Rendered
from .site import OWN_FOLDERS, taxon_slug
from .urls import output_file, same_name

_ALWAYS_FINE_FRAGMENTS = {"", "top"}      # "#top" (in any case) is the top of any page


def check_fields(page: Page, config: SiteConfig) -> list[Diagnostic]:
    if page.kind == CATALOG:
        return []                 # the catalog's page: every field is optional
    required = config.pattern_required_fields if page.kind == PATTERN else config.handbook_required_fields
    found = []
    for name in required:
        value = page.fields.get(name)
        if value is None or (isinstance(value, (str, list)) and not value):
            if (name == "categories" and page.categories) or (name == "title" and page.title_given):
                continue
            found.append(make(page.source, 1, None, "field-missing",
                              f"required field '{name}' is missing",
                              f"add '{name}' to the page's header"))
    return found


def check_sections(page: Page, rendered: Rendered, config: SiteConfig) -> list[Diagnostic]:
    if page.kind != PATTERN:
        return []
    found = []
    seen: dict[str, int] = {}
    required = {r.lower(): r for r in config.required_sections}
    last_rank = -1
    last_name = None
    for section in rendered.sections:
        key = (section.known or section.name).lower()
        if key in seen:
            found.append(make(page.source, section.line, section.column, "section-duplicate",
                              f"section '{section.known or section.name}' appears twice",
                              f"first at line {seen[key]}"))
            continue
        seen[key] = section.line
        if key in required and section.empty:
            found.append(make(page.source, section.line, section.column, "section-empty",
                              f"section '{section.known or section.name}' has no content"))
        if section.known in KNOWN_SECTIONS:
            rank = KNOWN_SECTIONS.index(section.known)
            if rank < last_rank:
                found.append(make(page.source, section.line, section.column, "section-order",
                                  f"section '{section.known}' comes after '{last_name}'",
                                  "canonical order: " + ", ".join(KNOWN_SECTIONS)))
            else:
                last_rank, last_name = rank, section.known
    others = {section.name.lower(): section for section in rendered.sections if not section.known}
    for key, name in required.items():
        if key not in seen:
            close = difflib.get_close_matches(key, list(others), n=1, cutoff=0.8)
            if close:            # "## Solutions" for "Solution": point at it
                near = others[close[0]]
                found.append(make(page.source, near.line, near.column, "section-missing",
                                  f"required section '{name}' is missing",
                                  f"is '{near.name}' meant to be it? Rename that heading to '## {name}'"))
                continue
            other_level = next((h for h in rendered.headings if h.level != 2
                                and " ".join(h.text.split()).rstrip(":").lower() == key), None)
            if other_level is not None:      # "### Solution": a section is a level-2 heading
                found.append(make(page.source, other_level.line, None, "section-missing",
                                  f"required section '{name}' is missing",
                                  f"'{'#' * other_level.level} {other_level.text}' is a level-{other_level.level} "
                                  f"heading; a section is a level-2 one: '## {name}'"))
                continue
            found.append(make(page.source, 1, None, "section-missing",
                              f"required section '{name}' is missing",
                              f"add a '## {name}' heading or a '***{name}***:' paragraph"))
    return found


def check_links(page: Page, rendered: Rendered, targets: tuple[Target, ...], index: UrlIndex,
                ids: Mapping[str, frozenset[str]]) -> list[Diagnostic]:
    """Every cross-link and ``#anchor`` of one page must resolve."""
    found = []
    for link, target in zip(rendered.links, targets):
        if target.kind == BROKEN:
            kind = "file" if link.kind == "image" or not target.written.lower().endswith((".md", ".html", "/")) \
                and "." in target.written.rsplit("/", 1)[-1] else "page"
            hidden = never_published(target.written)
            if target.folder is not None:
                kind = "page"
                hint = (f"the folder '{target.folder}' has no index.md, _index.md or README.md: "
                        "add one, or link to a page in it")
            elif hidden:
                hint = f"'{hidden}' starts with '{hidden[0]}': such files and folders are not published"
            else:
                suggestion = (suggest_file if kind == "file" else suggest_page)(target.written, page, index)
                hint = f"did you mean '{suggestion}'?" if suggestion else None
            found.append(make(page.source, link.line, link.column, "link-broken",
                              f"no {kind} '{target.written}'", hint))
            continue
        if target.kind == PAGE and target.page is not None:
            other = target.page
            if target.via is not None:
                found.append(make(page.source, link.line, link.column, "link-alias",
                                  f"'{target.written}' is an old URL of '{other.source}' (one of its aliases)",
                                  f"link to '{posixpath.relpath(other.source, posixpath.dirname(page.source))}'"))
            if target.fragment is not None and target.fragment.lower() not in _ALWAYS_FINE_FRAGMENTS:
                other_ids = ids.get(other.source, frozenset())
                if target.fragment not in other_ids:
                    same = other.source == page.source
                    close = suggest_anchor(target.fragment, other_ids)
                    hint = f"did you mean '#{close}'?" if close else None
                    if same and target.fragment in index.slugs and close is None:
                        hint = f"did you mean the page '{target.fragment}.md'?"
                    where = "this page" if same else f"'{other.source}'"
                    found.append(make(page.source, link.line, link.column, "link-anchor",
                                      f"no heading or id '#{target.fragment}' in {where}", hint))
            if other.is_draft and not page.is_draft and other.source != page.source:
                found.append(make(page.source, link.line, link.column, "link-draft",
                                  f"published page links to draft '{other.source}'",
                                  "publish the target or remove the link"))
    return found


def check_slugs(pages: Iterable[Page], reserved: Iterable[str]) -> list[Diagnostic]:
    """Two pages must not write the same URL, nor take a generated page's URL."""
    by_url: dict[str, list[Page]] = defaultdict(list)
    for page in pages:
        if page.kind != CATALOG:          # the catalog's page is the generated catalog's text
            by_url[page.url].append(page)
    reserved_set = set(reserved)
    found = []
    for url, group in sorted(by_url.items()):
        if len(group) > 1:
            group.sort(key=lambda p: ("slug" in p.fields, p.source))
            for other in group[1:]:
                hint = "set a different 'slug' or rename the file"
                if other.is_index and group[0].is_index and other.kind == group[0].kind:
                    hint = "a folder has one page: keep its index.md or its _index.md"
                found.append(make(other.source, other.line_of("slug") or 1, None, "slug-duplicate",
                                  f"'{other.source}' and '{group[0].source}' would both write /{url}", hint))
        if url in reserved_set:
            found.append(make(group[0].source, group[0].line_of("slug") or 1, None, "slug-duplicate",
                              f"'{group[0].source}' would overwrite the generated page /{url}",
                              "set a different 'slug' or rename the file"))
    return found


def check_readmes(hidden: Iterable[tuple[SourceFile, SourceFile]]) -> list[Diagnostic]:
    """A README.md kept beside its folder's index.md or _index.md is not published: say so."""
    return [make(readme.path, 1, None, "readme-unpublished",
                 f"'{readme.path}' is not published: '{page.path}' is its folder's page",
                 "merge the two files, or rename the README to publish it as a page of its own")
            for readme, page in hidden]


def check_redirects(pages: Iterable[Page], reserved: Iterable[str], files: Iterable[str] = ()) -> list[Diagnostic]:
    """A redirect (an alias written as a path) must not write the file of a page, of a generated
    page, of a file copied from the content folders, or of another redirect, nor go into the
    theme's or the search index's folder."""
    pages = list(pages)
    taken = {output_file(page.url): f"the page '{page.source}'" for page in pages}
    taken.update({output_file(url): "a generated page" for url in reserved})
    taken.update({path: f"the file /{path}" for path in files})
    found = []
    for page in sorted(pages, key=lambda p: p.source):
        for url in page.redirects:
            path = output_file(url)
            other = taken.get(path) or taken.get(url.rstrip("/")) or next(
                (what for folder, what in OWN_FOLDERS.items() if path.startswith(folder)), None)
            if other is not None:
                found.append(make(page.source, page.line_of("aliases") or 1, None, "slug-duplicate",
                                  f"the alias /{url} would overwrite {other}", "remove the alias or change it"))
            else:
                taken[path] = f"an alias of '{page.source}'"
    return found


def check_taxonomies(pages: Iterable[Page]) -> list[Diagnostic]:
    """Two differently spelled tags (or categories) must not fall on the same page through
    their slug: ``C++`` and ``C#`` would both be ``tags/c/``, silently merged."""
    found = []
    ordered = sorted(pages, key=lambda p: p.source)
    for attr, noun in (("tags", "tag"), ("categories", "category")):
        first: dict[str, str] = {}          # slug -> the first name seen
        reported: set[tuple[str, str]] = set()
        for page in ordered:
            for name in getattr(page, attr):
                slug = taxon_slug(name, attr)
                seen = first.setdefault(slug, name)
                if same_name(seen) != same_name(name) and (slug, same_name(name)) not in reported:
                    reported.add((slug, same_name(name)))
                    found.append(make(page.source, page.line_of(attr) or 1, None, "taxonomy-collision",
                                      f"{noun} '{name}' and {noun} '{seen}' would share the page /{attr}/{slug}/",
                                      f"spell them alike if they are one {noun}, or rename one"))
    return found


def check_owner(page: Page) -> list[Diagnostic]:
    if page.kind == HANDBOOK and not page.owner:
        return [make(page.source, 1, None, "owner-missing", "handbook page has no 'maintainedBy' owner",
                     "add 'maintainedBy' to the header or a <meta name=\"maintainedBy\" value=\"...\"> tag")]
    return []


def validate_page(page: Page, rendered: Rendered, targets: tuple[Target, ...], index: UrlIndex,
                  ids: Mapping[str, frozenset[str]], config: SiteConfig) -> list[Diagnostic]:
    # A header that could not be read at all already has its diagnostic; missing fields and
    # sections would only repeat it.
    structure = check_fields(page, config) if page.header_ok else []
    if page.header_ok and rendered.ok:
        structure += check_sections(page, rendered, config)
    return structure + check_links(page, rendered, targets, index, ids) + check_owner(page) + \
        check_shortcodes(page, rendered) + check_unparsed_links(page, rendered)


def check_unparsed_links(page: Page, rendered: Rendered) -> list[Diagnostic]:
    found = []
    for line, column, written, why in rendered.unparsed:
        if why == "spaced":
            message = f"'{written}' is not a link: a link's target cannot hold a space"
            hint = "write the space as %20, or put the target in angle brackets: [text](<my page.md>)"
        else:
            message = f"'{written}' is not a link: nothing may come between ']' and '('"
            hint = "remove the space after ']'"
        found.append(make(page.source, line, column, "link-unparsed", message, hint))
    return found


def check_shortcodes(page: Page, rendered: Rendered) -> list[Diagnostic]:
    return [make(page.source, line, column, "shortcode",
                 "a Hugo or Zola shortcode ('{{< ... >}}' or '{{% ... %}}') is not run here: the page shows it as written",
                 "write the link or the HTML it stands for")
            for line, column in rendered.shortcodes]

