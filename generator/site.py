"""The site model: everything the templates need, computed once from all pages.

Pelican's lesson: gather everything first, then write. ``build_site`` is pure:
pages, their parses and link targets in; tags, categories, backlinks, the
handbook navigation and neighbours out.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import posixpath
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from .config import SiteConfig
from .content import CATALOG, HANDBOOK, PATTERN, Page, name_text
from .links import PAGE, Target, linked_sources
from .markdown import Rendered
from .patterns import PatternInfo, folded, pattern_info
from .urls import slugify

# URLs the generator writes itself; a page may not take one of them.
FIXED_URLS = ("", "patterns/", "patterns/map/", "patterns/a-z/", "tags/", "categories/", "handbook/",
              "search/", "404.html", "sitemap.xml", "feed.xml", "robots.txt")
# Output folders the build fills with files of its own: the theme's and the search index's.
OWN_FOLDERS = {"assets/": "the theme's files", "pagefind/": "the search index"}


@dataclass(frozen=True)
class Taxon:
    name: str
    slug: str
    url: str
    pages: tuple[Page, ...]
    description: str = ""


@dataclass(frozen=True)
class NavNode:
    title: str
    url: str | None
    page: Page | None
    folder: str
    children: tuple["NavNode", ...] = ()
    order: int | None = None
    collapsed: bool = False         # a folder shown without its entries (see ``prune``)

    def first_url(self) -> str | None:
        """This entry's URL, or the first one found below it."""
        if self.url is not None:
            return self.url
        return next((found for child in self.children if (found := child.first_url()) is not None), None)


def prune(node: NavNode, open_folder: str) -> NavNode:
    """The navigation as a page in ``open_folder`` shows it when pruned: every folder on the way
    to ``open_folder`` open, every other folder collapsed to one entry that leads into it (its
    index page, or its first page)."""
    children = []
    for child in node.children:
        if not child.children:
            children.append(child)
        elif open_folder == child.folder or open_folder.startswith(child.folder + "/"):
            children.append(prune(child, open_folder))
        else:
            children.append(replace(child, url=child.first_url(), children=(), collapsed=True))
    return replace(node, children=tuple(children))


@dataclass(frozen=True)
class Site:
    config: SiteConfig
    pages: tuple[Page, ...]
    patterns: tuple[Page, ...]
    handbook: tuple[Page, ...]
    rendered: Mapping[str, Rendered] = field(hash=False)
    info: Mapping[str, PatternInfo] = field(hash=False)
    targets: Mapping[str, tuple[Target, ...]] = field(hash=False)
    tags: tuple[Taxon, ...]
    categories: tuple[Taxon, ...]
    backlinks: Mapping[str, tuple[Page, ...]] = field(hash=False)
    outlinks: Mapping[str, tuple[Page, ...]] = field(hash=False)
    nav: NavNode
    updated: Mapping[str, dt.date] = field(hash=False)

    def neighbours(self, page: Page) -> tuple[Page | None, Page | None]:
        i = self.pattern_position.get(page.source)
        if page.kind != PATTERN or i is None:
            return None, None
        prev_page = self.patterns[i - 1] if i > 0 else None
        next_page = self.patterns[i + 1] if i + 1 < len(self.patterns) else None
        return prev_page, next_page

    @functools.cached_property
    def catalog_page(self) -> Page | None:
        """The page whose title and text head the catalog (see ``content.CATALOG``), if any."""
        return next((page for page in self.pages if page.kind == CATALOG), None)

    @functools.cached_property
    def redirects(self) -> tuple[tuple[Page, str], ...]:
        """Each old URL of a page (an alias written as a path), with the page it leads to."""
        return tuple((page, url) for page in self.pages for url in page.redirects)

    @functools.cached_property
    def sources(self) -> frozenset[str]:
        """The source files of the pages this site publishes (drafts only when asked)."""
        return frozenset(p.source for p in self.pages)

    @functools.cached_property
    def pattern_position(self) -> dict[str, int]:
        return {p.source: i for i, p in enumerate(self.patterns)}

    @functools.cached_property
    def _tags_by_slug(self) -> dict[str, Taxon]:
        return {t.slug: t for t in self.tags}

    @functools.cached_property
    def _categories_by_slug(self) -> dict[str, Taxon]:
        return {c.slug: c for c in self.categories}

    def tag(self, name: str) -> Taxon | None:
        return self._tags_by_slug.get(taxon_slug(name, "tags"))

    def category(self, name: str) -> Taxon | None:
        return self._categories_by_slug.get(taxon_slug(name, "categories"))


def taxon_slug(name: str, kind: str) -> str:
    """The slug of a tag (``kind`` "tags") or category ("categories") page: ``tags/<slug>/``."""
    return slugify(name) or ("tag" if kind == "tags" else "category")


def taxonomy_urls(pages: list[Page]) -> set[str]:
    urls = set()
    for page in pages:
        if page.kind == CATALOG:
            continue                      # the catalog's text is on no tag page
        for tag in page.tags:
            urls.add(f"tags/{taxon_slug(tag, 'tags')}/")
        for category in page.categories:
            urls.add(f"categories/{taxon_slug(category, 'categories')}/")
    return urls


def _sort_key(page: Page) -> tuple:
    return (folded(page.title), page.source)        # "Élan" with the E's, not after Z


def _taxa(pages: tuple[Page, ...], attr: str, prefix: str, descriptions: Mapping[str, str]) -> tuple[Taxon, ...]:
    """Tags or categories, each with its pages; ``pages`` come in title order, and so does each group."""
    groups: dict[str, list[Page]] = defaultdict(list)
    names: dict[str, str] = {}
    slugs: dict[str, str] = {}            # the same few names come up again and again
    for page in pages:
        for name in getattr(page, attr):
            slug = slugs.get(name)
            if slug is None:
                slug = slugs[name] = taxon_slug(name, prefix)
            group = groups[slug]
            if not group or group[-1] is not page:      # C++ and C# on one page: listed once
                group.append(page)
            names.setdefault(slug, name)
    lowered = {k.lower(): v for k, v in descriptions.items()}
    return tuple(
        Taxon(name=names[slug], slug=slug, url=f"{prefix}/{slug}/", pages=tuple(group),
              description=lowered.get(names[slug].lower(), ""))
        for slug, group in sorted(groups.items())
    )


def _nav(handbook: tuple[Page, ...]) -> NavNode:
    folders: dict[str, dict] = {}

    def folder(path: str) -> dict:
        if path not in folders:
            folders[path] = {"index": None, "pages": [], "subfolders": set()}
            if path:
                parent = posixpath.dirname(path)
                folder(parent)["subfolders"].add(path)
        return folders[path]

    folder("")
    for page in handbook:
        parent = posixpath.dirname(page.rel)
        if page.is_index:
            entry = folder(parent)
            if entry["index"] is None or posixpath.basename(page.rel).lower() in ("index.md", "_index.md"):
                entry["index"] = page
        else:
            folder(parent)["pages"].append(page)

    def order_key(node: NavNode) -> tuple:
        return (node.order if node.order is not None else 10**9, folded(node.title), node.folder)

    def build(path: str) -> NavNode:
        entry = folders[path]
        index = entry["index"]
        children = [NavNode(title=p.title, url=p.url, page=p, folder=path, order=p.order)
                    for p in entry["pages"]]
        children += [build(sub) for sub in entry["subfolders"]]
        children.sort(key=order_key)
        if index is not None:
            title, url, order = index.title, index.url, index.order
        else:
            words = name_text(posixpath.basename(path)).replace("-", " ").replace("_", " ")
            title = words[:1].upper() + words[1:] if path else "Handbook"
            url, order = None, None
            if not path:
                url = "handbook/"
        return NavNode(title=title, url=url, page=index, folder=path, children=tuple(children), order=order)

    return build("")


def build_site(config: SiteConfig, pages: list[Page], rendered: Mapping[str, Rendered],
               targets: Mapping[str, tuple[Target, ...]], updated: Mapping[str, dt.date],
               include_drafts: bool = False, category_descriptions: Mapping[str, str] | None = None,
               previous: Site | None = None) -> Site:
    """The site model. With the ``previous`` model of the same site, what it derived from a
    page and its parse that are both unchanged is taken over instead of derived again."""
    built = tuple(sorted((p for p in pages if include_drafts or not p.is_draft), key=lambda p: p.source))
    built_sources = {p.source for p in built}
    # Every list of pages is shown in title order: walking the pages in that order once
    # leaves each group sorted as it is made.
    by_title = sorted(built, key=_sort_key)
    patterns = tuple(p for p in by_title if p.kind == PATTERN)
    handbook = tuple(p for p in built if p.kind == HANDBOOK)
    if previous is None:
        info = {p.source: pattern_info(p, rendered[p.source]) for p in patterns}
    else:
        info = {}
        before = {p.source: p for p in previous.patterns}
        for p in patterns:
            kept, was = previous.info.get(p.source), before.get(p.source)
            if kept is None or was is None or previous.rendered.get(p.source) is not rendered[p.source] \
                    or (was.title, was.aliases) != (p.title, p.aliases):     # what pattern_info reads
                kept = pattern_info(p, rendered[p.source])
            info[p.source] = kept

    back: dict[str, dict[str, Page]] = defaultdict(dict)
    for page in by_title:
        if page.kind == CATALOG:
            continue                      # every pattern is on the catalog: no "linked from" for that
        for target in targets.get(page.source, ()):
            if target.kind == PAGE and target.page is not None and target.page.source != page.source \
                    and target.page.source in built_sources:
                back[target.page.source][page.source] = page
    # Each page's links, in title order: walk the linked pages in title order.
    outlinks: dict[str, list[Page]] = {page.source: [] for page in by_title}
    for page in by_title:
        for source in back.get(page.source, ()):
            outlinks[source].append(page)

    descriptions = dict(config.category_descriptions if category_descriptions is None else category_descriptions)
    return Site(
        config=config, pages=built, patterns=patterns, handbook=handbook, rendered=rendered, info=info,
        targets=targets,
        tags=_taxa(tuple(p for p in by_title if p.kind != CATALOG), "tags", "tags", {}),
        categories=_taxa(patterns, "categories", "categories", descriptions),
        backlinks={src: tuple(pages_.values()) for src, pages_ in back.items()},
        outlinks={src: tuple(v) for src, v in outlinks.items()},
        nav=_nav(handbook),
        updated=dict(updated),
    )


def _placed(page: Page) -> tuple:
    """What of a page decides which groups of the model it is in (as opposed to where in them)."""
    return (page.kind, page.rel, page.url, page.status, page.tags, page.categories)


def _swapped(group: tuple[Page, ...], old: Page, new: Page, key) -> tuple[Page, ...]:
    """``group`` (sorted by ``key``) with ``old`` taken out and ``new`` put where ``key`` files it."""
    pages = list(group)
    i = bisect.bisect_left(pages, key(old), key=key)
    if i == len(pages) or pages[i].source != old.source:
        raise LookupError(old.source)
    del pages[i]
    bisect.insort(pages, new, key=key)
    return tuple(pages)


def _by_source(page: Page) -> str:
    return page.source


def refresh_site(site: Site, pages: Mapping[str, Page], rendered: Mapping[str, Rendered],
                 targets: Mapping[str, tuple[Target, ...]], changed: Iterable[str]) -> Site | None:
    """The site model after the ``changed`` pages were edited: what ``build_site`` would give,
    made from ``site`` without walking every page. An edit may change a page's body and header
    fields such as its title, description or date (each list the page is in is kept in title
    order); None when it reaches further (a page that came or went, a new URL, kind, status,
    tag or category, or a link to another page added or removed), and the model must be
    built anew.
    """
    built = {p.source: p for p in site.pages}
    changed = list(changed)
    swaps: dict[str, tuple[Page, Page]] = {}
    for source in changed:
        old, new = built.get(source), pages.get(source)
        if old is None or new is None or _placed(old) != _placed(new):
            return None
        if linked_sources(targets.get(source, ())) != linked_sources(site.targets.get(source, ())):
            return None
        if old != new or old.fields != new.fields:
            swaps[source] = (old, new)
    info = dict(site.info)
    for source in changed:
        if source in info:
            info[source] = pattern_info(pages[source], rendered[source])
    if not swaps:
        return replace(site, rendered=rendered, targets=targets, info=info)
    try:
        return _with_pages(replace(site, rendered=rendered, targets=targets, info=info), swaps)
    except LookupError:          # a page not where the model files it, or a taxon named anew: build it anew
        return None


def _with_pages(site: Site, swaps: Mapping[str, tuple[Page, Page]]) -> Site:
    """``site`` with each old page of ``swaps`` replaced by its new one, every list kept in order."""
    all_pages, patterns, handbook = site.pages, site.patterns, site.handbook
    tags, categories = {t.slug: t for t in site.tags}, {c.slug: c for c in site.categories}
    backlinks, outlinks = dict(site.backlinks), dict(site.outlinks)
    for source, (old, new) in swaps.items():
        all_pages = _swapped(all_pages, old, new, _by_source)
        if old.kind == PATTERN:
            patterns = _swapped(patterns, old, new, _sort_key)
        elif old.kind == HANDBOOK:
            handbook = _swapped(handbook, old, new, _by_source)
        for linker in site.backlinks.get(source, ()):
            outlinks[linker.source] = _swapped(outlinks[linker.source], old, new, _sort_key)
        if old.kind == CATALOG:
            continue                  # the catalog's page is on no taxon page and links from it are no backlinks
        for names, taxa, prefix in ((old.tags, tags, "tags"),
                                    (old.categories if old.kind == PATTERN else (), categories, "categories")):
            for slug in {taxon_slug(name, prefix) for name in names}:
                group = _swapped(taxa[slug].pages, old, new, _sort_key)
                # A taxon is named as the first page in it spells it ("DevRel" or "devrel").
                if next(n for n in getattr(group[0], prefix) if taxon_slug(n, prefix) == slug) != taxa[slug].name:
                    raise LookupError(slug)
                taxa[slug] = replace(taxa[slug], pages=group)
        for linked in linked_sources(site.targets.get(source, ())):
            if linked != source and linked in backlinks:
                backlinks[linked] = _swapped(backlinks[linked], old, new, _sort_key)
    nav = site.nav
    if any(old.kind == HANDBOOK for old, _ in swaps.values()):
        nav = _nav(handbook)
    return replace(site, pages=all_pages, patterns=patterns, handbook=handbook,
                   tags=tuple(tags[slug] for slug in sorted(tags)),
                   categories=tuple(categories[slug] for slug in sorted(categories)),
                   backlinks=backlinks, outlinks=outlinks, nav=nav)
