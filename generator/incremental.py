"""Incremental rebuilds for ``serve``: the same pipeline stages, redone only where a change reaches.

``build`` runs every stage once and keeps what each produced in a ``State``:
the loaded pages and their parses by source, a content hash per source, the
static files' bytes and every rendered output. ``update`` takes the paths that
changed on disk and returns a new ``State`` plus a ``Rebuild`` saying what was
done. Neither prints, writes or raises: failures become diagnostics.

What a change costs:

- a Markdown file: that file alone is read and parsed again (added and deleted
  files too); links are resolved and pages validated again (only the page and the
  pages linking to it when it kept its URL, title, tags...; else ``analyse`` for
  the whole site); the site model is refreshed where the page kept its place in it
  (``refresh_site``), else ``build_site`` runs; and only the outputs that can show the
  change are rendered again: the page itself and, when something another page
  shows of it changed, the listings (home, catalog, feed, sitemap, indexes...),
  the taxon pages of its old and new tags and categories, the pages it links to
  and the pages linking to it, its previous/next neighbours when the order or a
  title moved, every handbook page when the navigation changed, and any page
  whose links now resolve differently (a page or file appeared or went away);
- a template: a fresh Jinja environment and every output rendered again, with
  no Markdown parsed;
- a static file: that file read again (and links re-resolved if a file
  appeared or went away);
- ``site.toml``: everything from scratch.

The result of ``update`` equals what ``pipeline.run`` would give for the same
files, byte for byte.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Mapping

import jinja2

from .config import ConfigError, SiteConfig, load_config
from .content import (CATALOG, HANDBOOK, MARKDOWN_SUFFIXES, PATTERN, Page, SourceFile, content_digest, discover_all,
                      published)
from .diagnostics import Diagnostic, Severity, apply_severities, make, sort_diagnostics
from .markdown import Rendered
from .parallel import load_and_parse
from .links import Target, linked_sources, with_pages
from .pipeline import (Analysis, analyse, category_texts, git_dates, referrers, render_site, resolve_links,
                       static_files)
from .render import Interrupted, make_environment, theme_paths
from .site import NavNode, Site, build_site, refresh_site
from .urls import output_file
from .validate import check_readmes, check_taxonomies, validate_page

# What a changed path is.
CONFIG, TEMPLATE, STATIC, CONTENT, THEME = "config", "template", "static", "content", "theme"

# Outputs whose bytes depend on no page: never rendered again for a content change.
_PAGE_INDEPENDENT = frozenset({"404.html", "robots.txt"})


@dataclass(frozen=True)
class Rebuild:
    """What one build or update did."""

    kind: str                                  # "full", "content", "template", "static", "none" or "failed"
    changed: tuple[str, ...] = ()              # inputs that changed, relative to the site root when inside it
    rendered: int = 0                          # outputs rendered again
    rendered_paths: tuple[str, ...] = ()       # which ones
    parsed: int = 0                            # Markdown files parsed again
    outputs: tuple[str, ...] = ()              # output paths whose bytes changed, appeared or went away
    diagnostics: tuple[Diagnostic, ...] = ()   # every diagnostic of the site as it now is
    elapsed: float = 0.0                       # seconds
    pages: int = 0

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def css_only(self) -> bool:
        return bool(self.outputs) and all(path.endswith(".css") for path in self.outputs)


@dataclass(frozen=True)
class State:
    """Everything one build produced, by source; never changed in place (each update makes a new one)."""

    config: SiteConfig
    drafts: bool
    env: jinja2.Environment = field(compare=False, hash=False, repr=False)
    sources: Mapping[str, SourceFile] = field(default_factory=dict, hash=False, repr=False)
    hashes: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)
    pages: Mapping[str, Page] = field(default_factory=dict, hash=False, repr=False)
    rendered: Mapping[str, Rendered] = field(default_factory=dict, hash=False, repr=False)
    found: Mapping[str, tuple[Diagnostic, ...]] = field(default_factory=dict, hash=False, repr=False)
    file_urls: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)
    copies: Mapping[str, Path] = field(default_factory=dict, hash=False, repr=False)
    static: Mapping[str, bytes] = field(default_factory=dict, hash=False, repr=False)
    dates: Mapping = field(default_factory=dict, hash=False, repr=False)
    described: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)   # category texts
    analysis: Analysis | None = field(default=None, hash=False, repr=False)
    site: Site | None = field(default=None, hash=False, repr=False)
    outputs: Mapping[str, bytes] = field(default_factory=dict, hash=False, repr=False)
    checked: tuple[Diagnostic, ...] = ()       # load, parse and analysis diagnostics, severities applied
    diagnostics: tuple[Diagnostic, ...] = ()   # the above plus rendering's
    stale: bool = False                        # outputs may lag the sources: render everything next time
    pending: frozenset[str] = frozenset()      # URLs whose outputs an update left for ``finish``
    broken: bool = False                       # a stage crashed or site.toml is invalid: rebuild from scratch

    @property
    def files(self) -> dict[str, bytes]:
        """Every file of the site, as a static host would serve it: ``{output path: bytes}``."""
        merged = dict(self.static)
        merged.update(self.outputs)
        return merged


# --- reading ---------------------------------------------------------------------------------------

def _file_digest(config: SiteConfig, path: str) -> str | None:
    try:
        return content_digest((config.root / path).read_bytes())
    except OSError:
        return None


def source_digests(config: SiteConfig, sources, pages) -> dict[str, str]:
    """The content hash of each source: as its page was read, or read again for a source
    that did not load into a page."""
    hashes = {page.source: page.digest for page in pages if page.digest}
    for path in sources:
        if path not in hashes and (digest := _file_digest(config, path)) is not None:
            hashes[path] = digest
    return {path: hashes[path] for path in sources if path in hashes}


def _load(config: SiteConfig, sources: list[SourceFile], workers: int | None,
          ) -> tuple[dict[str, Page], dict[str, Rendered], dict[str, tuple[Diagnostic, ...]]]:
    """Read, load and parse files with the pipeline's own loader; diagnostics by source."""
    loaded, rendered, diagnostics = load_and_parse(config, sources, workers) if sources else ([], {}, [])
    found: dict[str, tuple[Diagnostic, ...]] = {source.path: () for source in sources}
    for diag in diagnostics:
        found[diag.path] = found.get(diag.path, ()) + (diag,)
    return {page.source: page for page in loaded}, rendered, found


def _read_static(copies: Mapping[str, Path], only: Iterable[str] | None = None,
                 previous: Mapping[str, bytes] | None = None) -> dict[str, bytes]:
    """The bytes of the static files; with ``only``, just those output paths are read again."""
    data = dict(previous or {})
    for out in list(data):
        if out not in copies:
            del data[out]
    for out in (copies if only is None else only):
        if out not in copies:
            continue
        try:
            data[out] = copies[out].read_bytes()
        except OSError:
            data.pop(out, None)
    return data


# --- whole builds ----------------------------------------------------------------------------------

def build(config: SiteConfig, *, drafts: bool = False, workers: int | None = 1) -> tuple[State, Rebuild]:
    """Every stage from the files on disk, as ``pipeline.run`` does, keeping each stage's result.

    ``workers`` is passed to the parallel loader (None: as many as pay off). Its workers are
    forked processes: only ask for more than one while this process runs no other thread.
    """
    start = time.perf_counter()
    try:
        state = _build(config, drafts, workers)
    except Exception as exc:
        state = State(config=config, drafts=drafts, env=make_environment(config), broken=True,
                      diagnostics=(_crash(exc, "building"),))
        return state, Rebuild("failed", diagnostics=state.diagnostics, elapsed=time.perf_counter() - start)
    return state, Rebuild("full", rendered=len(state.outputs), rendered_paths=tuple(sorted(state.outputs)),
                          parsed=len(state.rendered),
                          outputs=tuple(sorted(state.files)), diagnostics=state.diagnostics,
                          elapsed=time.perf_counter() - start, pages=len(state.pages))


def _build(config: SiteConfig, drafts: bool, workers: int | None) -> State:
    published_sources, hidden = published(discover_all(config))
    sources = {s.path: s for s in published_sources}
    pages, rendered, found = _load(config, list(sources.values()), workers)
    found.update(_readme_notes(hidden))
    hashes = source_digests(config, sources, pages.values())
    file_urls, copies = static_files(config)
    state = State(config=config, drafts=drafts, env=make_environment(config), sources=sources, hashes=hashes,
                  pages=pages, rendered=rendered, found=found, file_urls=file_urls, copies=copies,
                  static=_read_static(copies), dates=git_dates(config), described=category_texts(config))
    return _render(_analyse(state), everything=True)[0]


def _readme_notes(hidden) -> dict[str, tuple[Diagnostic, ...]]:
    """The ``readme-unpublished`` note of each README that is not a page, by its path."""
    return {d.path: (d,) for d in check_readmes(hidden)}


def _analyse(state: State, previous: State | None = None, changed: frozenset[str] = frozenset()) -> State:
    """Resolve, validate and build the site model: ``pipeline.analyse`` and ``site.build_site``.

    With the previous state and the sources that changed since, links are resolved and pages
    validated again only where that can differ (see ``_reanalyse``).
    """
    config = state.config
    pages = [state.pages[path] for path in sorted(state.pages)]
    analysis = _reanalyse(state, previous, changed, pages) if previous is not None else None
    moved = analysis is None              # links resolve anew: pages, files or URLs changed
    if analysis is None:
        analysis = analyse(config, pages, dict(state.rendered), dict(state.file_urls), drafts=state.drafts)
    diagnostics: list[Diagnostic] = []
    for path in sorted(state.found):
        diagnostics.extend(state.found[path])
    diagnostics += analysis.diagnostics
    checked = tuple(sort_diagnostics(apply_severities(diagnostics, config.severity_map)))
    site = None
    if not moved and previous is not None and previous.site is not None and state.drafts == previous.drafts \
            and state.dates == previous.dates and state.described == previous.described:
        site = refresh_site(previous.site, state.pages, dict(state.rendered), analysis.targets, changed)
    if site is None:
        site = build_site(config, pages, dict(state.rendered), analysis.targets, state.dates,
                          include_drafts=state.drafts, category_descriptions=dict(state.described),
                          previous=previous.site if previous is not None else None)
    return replace(state, analysis=analysis, site=site, checked=checked)


def _located(page: Page) -> tuple:
    """What of a page decides where other pages' links to it go, and which URLs exist."""
    return (page.url, page.slug, page.kind, page.status, page.tags, page.categories, page.redirects)


_SITE_WIDE = frozenset({"slug-duplicate", "taxonomy-collision"})    # checks of the whole site, not of one page


def _reanalyse(state: State, previous: State, changed: frozenset[str], pages: list[Page]) -> Analysis | None:
    """``pipeline.analyse`` for a change that moved nothing, or None when it must run whole.

    When every changed page is still there with the same URL, slug, kind, status, tags
    and categories, and no page or file came or went, the other pages' links resolve as
    before and their checks give what they gave, except for the pages linking to a changed
    page (its anchors may have come or gone) and, when a title or alias changed, the pages
    with a broken link (their "did you mean" hints name pages by title). Only the changed
    pages and those are resolved and validated again. Slug and tag checks depend on nothing
    that changed, except where a changed page's own tag report points (its header may have
    moved): then the tag checks run again.
    """
    old = previous.analysis
    if old is None or not changed or set(state.pages) != set(previous.pages) \
            or dict(state.file_urls) != dict(previous.file_urls) \
            or any(s not in state.pages for s in changed):      # a file that loads as no page
        return None
    if any(_located(state.pages[s]) != _located(previous.pages[s]) for s in changed):
        return None
    renamed = any((state.pages[s].title, state.pages[s].aliases) != (previous.pages[s].title, previous.pages[s].aliases)
                  for s in changed)
    config = state.config
    # The index as it was, but for the changed pages' new Page objects (their URLs are the same).
    index = with_pages(old.index, [state.pages[s] for s in changed])
    linked_from = old.linked_from if old.linked_from is not None else referrers(old.targets)
    linkers = set().union(*(linked_from.get(s, ()) for s in changed))
    if renamed:
        linkers |= {d.path for d in old.diagnostics if d.code == "link-broken"}
    again = [page for page in pages if page.source in changed or page.source in linkers]
    redo = {page.source for page in again}
    targets = dict(old.targets)
    targets.update(resolve_links(again, dict(state.rendered), index))
    linked_from = _relinked(linked_from, {s: old.targets.get(s, ()) for s in redo}, {s: targets[s] for s in redo})
    ids = {page.source: state.rendered[page.source].ids for page in pages}
    # Tags and categories are as they were, so the same names collide; only a changed page's
    # own report may have moved with its header.
    moved = any(d.code == "taxonomy-collision" and d.path in changed for d in old.diagnostics)
    diagnostics = [d for d in old.diagnostics if (d.path not in redo or d.code in _SITE_WIDE)
                   and not (moved and d.code == "taxonomy-collision")]
    if moved:
        diagnostics += check_taxonomies([p for p in pages if state.drafts or not p.is_draft])
    for page in again:
        try:
            diagnostics += validate_page(page, state.rendered[page.source], targets[page.source], index, ids, config)
        except Exception as exc:
            diagnostics.append(make(page.source, None, None, "internal-error",
                                    f"validation failed: {type(exc).__name__}: {exc}"))
    return Analysis(index, targets, tuple(diagnostics), linked_from)


def _relinked(linked_from: Mapping[str, frozenset[str]], before: Mapping[str, tuple[Target, ...]],
              after: Mapping[str, tuple[Target, ...]]) -> dict[str, frozenset[str]]:
    """``linked_from`` (see ``pipeline.referrers``) after the links of some sources went from
    ``before`` to ``after``."""
    result = dict(linked_from)
    for source in before.keys() | after.keys():
        was, now = linked_sources(before.get(source, ())), linked_sources(after.get(source, ()))
        for target in was - now:
            left = result.get(target, frozenset()) - {source}
            if left:
                result[target] = left
            else:
                result.pop(target, None)
        for target in now - was:
            result[target] = result.get(target, frozenset()) | {source}
    return result


def _render(state: State, *, everything: bool = False, affected: set[str] | None = None,
            previous: Site | None = None, listings: bool = True, first: frozenset[str] | None = None,
            among: set[str] | None = None, stop: Callable[[], bool] | None = None) -> tuple[State, tuple[str, ...]]:
    """Render the outputs that may have changed; returns the new state and the outputs rendered.

    With ``first``, only the outputs of those URLs are rendered now; the others that may
    have changed keep their old bytes and are listed in the state's ``pending`` for ``finish``.
    URLs already pending stay pending unless rendered now (or gone from the site).
    ``among`` renders those URLs and looks at no other, for a site whose URLs are as
    they were when its outputs were made (``finish``).
    """
    site = state.site
    assert site is not None
    old = state.outputs
    seen: set[str] = set()
    fixed: set[str] = set()
    if not everything and previous is not None:
        # Pages' own URLs; the catalog's page is rendered as the catalog, a listing.
        fixed = {p.url for p in site.pages + previous.pages if p.kind != CATALOG}
        fixed |= {t.url for t in site.tags + site.categories + previous.tags + previous.categories}
        fixed |= _PAGE_INDEPENDENT

    later: set[str] = set()
    urls: set[str] = set()
    now: set[str] = set()

    def needed(url: str) -> bool:
        if everything or output_file(url) not in old:
            return True
        return url in (affected or ()) or (listings and url not in fixed)

    def only(url: str) -> bool:
        seen.add(output_file(url))
        urls.add(url)
        if not needed(url):
            return False
        if first is not None and url not in first and output_file(url) in old:
            later.add(url)
            return False
        now.add(url)
        return True

    fresh, found = render_site(site, state.env, only, among, stop)
    diagnostics = tuple(sort_diagnostics(list(state.checked) + found))
    if found and not fresh:
        # Rendering failed part-way: keep the last outputs and render everything next time.
        return replace(state, diagnostics=diagnostics, stale=True), ()
    if among is not None:
        outputs = dict(old)
        pending = frozenset(state.pending - now)
    else:
        outputs = {path: data for path, data in old.items() if path in seen}
        pending = frozenset(later | ((state.pending & urls) - now))
    outputs.update(fresh)
    return (replace(state, outputs=outputs, diagnostics=diagnostics, stale=False, pending=pending),
            tuple(sorted(fresh)))


def _crash(exc: BaseException, doing: str) -> Diagnostic:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return make("site", None, None, "internal-error", f"{doing} failed: {type(exc).__name__}: {exc}{where}")


# --- classifying changed paths ---------------------------------------------------------------------

def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def classify(config: SiteConfig, path: Path | str) -> str | None:
    """What kind of input ``path`` is: CONFIG, TEMPLATE, STATIC, CONTENT, THEME, or None to ignore."""
    path = Path(os.path.abspath(path))
    root = config.root
    if _inside(path, config.output):
        return None
    if path == root / "site.toml":
        return CONFIG
    themes = theme_paths(config)
    if any(_inside(path, folder) for folder in themes.templates):
        return TEMPLATE
    if any(_inside(path, folder) for folder in themes.static):
        return STATIC
    for folder in (config.patterns_dir, config.handbook_dir):
        if _inside(path, root / folder):
            return CONTENT if path.suffix.lower() in MARKDOWN_SUFFIXES or path == root / folder else STATIC
    if _inside(path, root / config.static_dir):
        return STATIC
    if _inside(path, root / "themes"):
        return THEME          # e.g. a theme folder of the site appeared: lookup order may have changed
    return None


def _shown(config: SiteConfig, path: Path) -> str:
    try:
        return path.relative_to(config.root).as_posix()
    except ValueError:
        return path.as_posix()


def _content_source(config: SiteConfig, path: Path) -> SourceFile | None:
    for kind, folder in ((PATTERN, config.patterns_dir), (HANDBOOK, config.handbook_dir)):
        base = config.root / folder
        if _inside(path, base) and path != base:
            return SourceFile(path=path.relative_to(config.root).as_posix(), kind=kind,
                              rel=path.relative_to(base).as_posix())
    return None


# --- updates ---------------------------------------------------------------------------------------

def update(state: State, paths: Iterable[Path | str], *, defer: bool = False) -> tuple[State, Rebuild]:
    """Bring ``state`` up to date with the files at ``paths``, which changed, appeared or went away.

    With ``defer``, a content change renders only the changed pages' own outputs; the other
    outputs it reaches (listings, neighbours, taxon pages...) are left in the new state's
    ``pending`` until ``finish`` renders them (outputs already pending stay so). A server can
    publish the edited page first. Without ``defer``, anything pending is finished first.
    """
    start = time.perf_counter()
    if state.pending and not defer:
        state = finish(state)[0]
    config = state.config
    kinds: dict[Path, str] = {}
    for raw in paths:
        path = Path(os.path.abspath(raw))
        kind = classify(config, path)
        if kind is not None:
            kinds[path] = kind
    kinds = _prune(state, kinds)
    changed = tuple(sorted(_shown(config, p) for p in kinds))
    if not kinds:
        return state, Rebuild("none", diagnostics=state.diagnostics, pages=len(state.pages),
                              elapsed=time.perf_counter() - start)
    try:
        if CONFIG in kinds.values() or state.broken:
            new, result = _reconfigure(state)
        else:
            new, result = _update(state, kinds, defer)
    except Exception as exc:
        diagnostics = tuple(sort_diagnostics(list(state.diagnostics) + [_crash(exc, "rebuilding")]))
        new = replace(state, broken=True)
        result = Rebuild("failed", diagnostics=diagnostics, pages=len(state.pages))
    return new, replace(result, changed=changed, elapsed=time.perf_counter() - start)


def _prune(state: State, kinds: Mapping[Path, str]) -> dict[Path, str]:
    """Drop paths that are gone and never were inputs: temporary files written and renamed by editors.

    The inputs are the static files and sources read, and the template folders the outputs
    were rendered from: a theme or ``templates`` folder deleted or moved away is gone from
    the lookup, so its paths are no longer classified as templates, but its overrides must go.
    """
    known: set[Path] | None = None
    templates: tuple[Path, ...] = ()
    kept = {}
    for path, kind in kinds.items():
        if kind in (STATIC, THEME) and not path.exists():
            if known is None:
                templates = _template_folders(state.env)
                known = {Path(os.path.abspath(p)) for p in state.copies.values()}
                known |= {state.config.root / s for s in state.sources}
                known |= set(templates)
            if path not in known and not any(path in k.parents for k in known) \
                    and not any(folder in path.parents for folder in templates):
                continue
        kept[path] = kind
    return kept


def _template_folders(env: jinja2.Environment | None) -> tuple[Path, ...]:
    """The template folders an environment looks templates up in."""
    searchpath = getattr(getattr(env, "loader", None), "searchpath", ())
    return tuple(Path(os.path.abspath(folder)) for folder in searchpath)


def _reconfigure(state: State) -> tuple[State, Rebuild]:
    try:
        config = load_config(state.config.root)
    except ConfigError as exc:
        diag = make(exc.path, exc.line, None, "config-invalid", exc.message)
        return replace(state, broken=True), Rebuild("failed", diagnostics=(diag,), pages=len(state.pages))
    # Search stays off when the command line turned it off (e.g. Pagefind is not installed).
    if state.config.search is False and config.search:
        config = config.with_overrides(search=False)
    new, result = build(config, drafts=state.drafts)
    if result.kind == "failed":
        return new, result
    return new, replace(result, outputs=_diff(state.files, new.files))


def _diff(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> tuple[str, ...]:
    return tuple(sorted({p for p in old.keys() | new.keys() if old.get(p) != new.get(p)}))


def finish(state: State, limit: int | None = None, stop: Callable[[], bool] | None = None) -> tuple[State, Rebuild]:
    """Render the outputs an update with ``defer`` left pending; with ``limit``, at most that
    many of them (in a fixed order), leaving the rest pending. When ``stop()`` says so while
    they render (it is asked now and then), they are left pending and the state is returned
    as it was."""
    start = time.perf_counter()
    if not state.pending:
        return state, Rebuild("none", diagnostics=state.diagnostics, pages=len(state.pages))
    chosen = set(sorted(state.pending)[:limit] if limit is not None else state.pending)
    try:
        new, rendered_paths = _render(state, affected=chosen, listings=False, among=chosen, stop=stop)
    except Interrupted:
        return state, Rebuild("none", diagnostics=state.diagnostics, pages=len(state.pages),
                              elapsed=time.perf_counter() - start)
    except Exception as exc:
        diagnostics = tuple(sort_diagnostics(list(state.diagnostics) + [_crash(exc, "rendering")]))
        return replace(state, broken=True, pending=frozenset()), Rebuild(
            "failed", diagnostics=diagnostics, pages=len(state.pages), elapsed=time.perf_counter() - start)
    changed = tuple(path for path in rendered_paths if state.outputs.get(path) != new.outputs.get(path))
    return new, Rebuild("content", rendered=len(rendered_paths), rendered_paths=rendered_paths,
                        outputs=changed, diagnostics=new.diagnostics,
                        pages=len(new.pages), elapsed=time.perf_counter() - start)


def _update(state: State, kinds: Mapping[Path, str], defer: bool = False) -> tuple[State, Rebuild]:
    config = state.config
    template = any(k in (TEMPLATE, THEME) for k in kinds.values())
    statics = [p for p, k in kinds.items() if k in (STATIC, THEME)]
    contents = [p for p, k in kinds.items() if k == CONTENT]

    # Content: re-read only what changed; look for added and removed files when needed.
    sources, hashes, pages, found = dict(state.sources), dict(state.hashes), dict(state.pages), dict(state.found)
    rendered = dict(state.rendered)
    reload: set[str] = set()
    rescan = False
    for path in contents:
        source = _content_source(config, path)
        if source is None or source.path not in sources or not path.is_file():
            rescan = True
        else:
            reload.add(source.path)
    # A folder in a content folder (moved, deleted, created) can hide Markdown files in it.
    for path in statics:
        if _content_source(config, path) is not None and not path.is_file():
            rescan = True
    removed: set[str] = set()
    renoted = False
    if rescan:
        published_now, hidden = published(discover_all(config))
        found_now = {s.path: s for s in published_now}
        removed = set(sources) - set(found_now)
        reload |= set(found_now) - set(sources)
        sources = found_now
        # A folder handed in whole (made anew, or watched for the first time): every file in
        # it is read again (those whose bytes did not change are skipped below).
        content_folders = [config.root / config.patterns_dir, config.root / config.handbook_dir]
        for folder in (p for p in contents + statics
                       if p.is_dir() and any(_inside(p, base) for base in content_folders)):
            prefix = _shown(config, folder).rstrip("/") + "/"
            reload |= {path for path in sources if path.startswith(prefix)}
    changed_sources: set[str] = set()
    for path in removed:
        for table in (hashes, pages, found, rendered):
            table.pop(path, None)
        changed_sources.add(path)
    if rescan:
        # The notes of READMEs that are not pages: the current ones, and none for a README that
        # went or became a page (a page's own entry is its load's diagnostics).
        notes = _readme_notes(hidden)
        before = {p: d for p, d in state.found.items() if p not in state.sources}
        for path in before:
            if path not in notes and path not in sources:
                found.pop(path, None)
        found.update(notes)
        renoted = before != notes
    to_load: list[SourceFile] = []
    for path in sorted(reload):
        if path not in sources:
            continue
        digest = _file_digest(config, path)
        if digest is not None and digest == hashes.get(path) and path in pages:
            continue                      # saved without a change
        changed_sources.add(path)
        for table in (hashes, pages, found, rendered):
            table.pop(path, None)
        if digest is not None:
            hashes[path] = digest
        to_load.append(sources[path])
    loaded, fresh, loaded_found = _load(config, to_load, 1)
    pages.update(loaded)
    rendered.update(fresh)
    found.update(loaded_found)

    # Static files: re-read those that changed; links are resolved again if files came or went.
    file_urls, copies, static = state.file_urls, state.copies, state.static
    relink = False
    if statics or template:
        file_urls, copies = static_files(config)
        changed_paths = {Path(os.path.abspath(p)) for p in statics}
        # A folder handed in whole (made anew, or watched for the first time): all of its files.
        folders = {p for p in changed_paths if p.is_dir()}

        def touched(src: Path) -> bool:
            where = Path(os.path.abspath(src))
            return where in changed_paths or (bool(folders) and any(f in where.parents for f in folders))

        reread = [out for out, src in copies.items() if state.copies.get(out) != src or touched(src)]
        static = _read_static(copies, reread, state.static)
        relink = dict(file_urls) != dict(state.file_urls)

    # Category descriptions live in a Markdown file of their own (``_categories.md``).
    described = category_texts(config) if contents else state.described
    redescribed = dict(described) != dict(state.described)

    new = replace(state, sources=sources, hashes=hashes, pages=pages, rendered=rendered, found=found,
                  file_urls=file_urls, copies=copies, static=static, described=described)
    rendered_paths: tuple[str, ...] = ()
    if template:
        new = replace(new, env=make_environment(config))
    if changed_sources or relink or redescribed or renoted:
        new = _analyse(new, state, frozenset(changed_sources))
    if template or new.stale or state.site is None:
        new, rendered_paths = _render(new, everything=True)
    elif changed_sources or relink or redescribed or renoted:      # (renders what changed, if anything)
        affected, listings = affected_urls(state.site, new.site, changed_sources, relink)
        if redescribed:
            affected |= {c.url for c in new.site.categories}
        own = frozenset(p.url for p in new.site.pages if p.source in changed_sources) if defer else None
        new, rendered_paths = _render(new, affected=affected, previous=state.site,
                                      listings=listings or relink or redescribed, first=own)
    kind = "content" if changed_sources or redescribed or renoted else "template" if template else \
        "static" if statics else "none"
    return new, Rebuild(kind, rendered=len(rendered_paths), rendered_paths=rendered_paths, parsed=len(loaded),
                        outputs=_diff(state.files, new.files), diagnostics=new.diagnostics,
                        pages=len(new.pages))


# --- which outputs a content change reaches --------------------------------------------------------

def _target_key(targets) -> tuple:
    return tuple((t.kind, t.page.source if t.page is not None else None, t.url, t.fragment) for t in targets)


def _nav_shape(node: NavNode) -> tuple:
    return (node.title, node.url, node.order, node.folder, node.page.source if node.page else None,
            tuple(_nav_shape(child) for child in node.children))


def _neighbours(site: Site) -> dict[str, tuple[str | None, str | None]]:
    """Each pattern's previous and next pattern (by source)."""
    sources = [p.source for p in site.patterns]
    return dict(zip(sources, zip([None] + sources[:-1], sources[1:] + [None])))


def _listed(site: Site, pages: Mapping[str, Page], source: str) -> tuple | None:
    """What a listing (catalog, map, feed, taxon page, backlinks...) can show of one page."""
    page = pages.get(source)
    if page is None:
        return None
    rendered = site.rendered.get(source)
    info = site.info.get(source)
    return (page.kind, page.rel, page.url, page.title, page.slug, page.date, page.tags, page.categories,
            page.description, page.status, page.aliases, page.owner, page.order, page.header_style,
            tuple(sorted((str(k), repr(v)) for k, v in page.fields.items())),
            rendered.summary if rendered is not None else None,
            (info.aliases, tuple((v.name, v.id) for v in info.variants)) if info is not None else None,
            tuple(t.page.source for t in site.targets.get(source, ()) if t.page is not None))


def affected_urls(old: Site, new: Site, changed: set[str], relinked: bool = False) -> tuple[set[str], bool]:
    """The page and taxon URLs whose output may differ after the sources in ``changed`` changed,
    and whether the listings (every output that is neither a page nor a taxon page: home,
    catalog, feed, sitemap, indexes...) may differ too.

    A change that leaves what listings show of a page alone (its header, summary,
    aliases, variants and links) reaches that page's own output only, unless
    ``relinked`` says a static file came or went, so links may resolve elsewhere.
    """
    urls: set[str] = set()
    sites = (old, new)
    by_source = [{p.source: p for p in site.pages} for site in sites]
    # The changed pages themselves.
    for pages in by_source:
        urls.update(pages[s].url for s in changed if s in pages)
    moved = {s for s in changed if _listed(old, by_source[0], s) != _listed(new, by_source[1], s)}
    if not moved and not relinked:
        # Nothing another output shows of these pages changed, and no page or file came or
        # went: every link resolves as before, the order and the navigation are the same.
        return urls, False
    listings = True
    for site, pages in zip(sites, by_source):
        for source in moved:
            page = pages.get(source)
            if page is not None:
                # Taxon pages listing it, before and after.
                for taxon in [site.tag(name) for name in page.tags] + \
                        ([site.category(name) for name in page.categories] if page.kind == PATTERN else []):
                    if taxon is not None:
                        urls.add(taxon.url)
            # Pages it links to (their backlinks) and pages linking to it.
            urls.update(pages[t.page.source].url for t in site.targets.get(source, ())
                        if t.page is not None and t.page.source in pages)
            urls.update(p.url for p in site.backlinks.get(source, ()))
    # A tag or category is named as the first page in it spells it: when that changed, every
    # page showing it.
    for kind in ("tags", "categories"):
        names = {taxon.slug: taxon.name for taxon in getattr(old, kind)}
        for taxon in getattr(new, kind):
            if names.get(taxon.slug, taxon.name) != taxon.name:
                urls.add(taxon.url)
                urls.update(page.url for page in taxon.pages)
    # Pages whose links now resolve elsewhere (a page or file appeared or went away).
    for source, page in by_source[1].items():
        before_targets, after_targets = old.targets.get(source, ()), new.targets.get(source, ())
        if before_targets is not after_targets and _target_key(before_targets) != _target_key(after_targets):
            urls.add(page.url)
            listings = True
    # Previous/next neighbours when the order or a title moved.
    before, after = _neighbours(old), _neighbours(new)
    for source in before.keys() | after.keys():
        around = before.get(source), after.get(source)
        if around[0] != around[1] or any(s in moved for pair in around if pair for s in pair):
            for pages in by_source:
                if source in pages:
                    urls.add(pages[source].url)
    # The handbook navigation is on every handbook page.
    if _nav_shape(old.nav) != _nav_shape(new.nav):
        for site in sites:
            urls.update(p.url for p in site.handbook)
        urls.add("handbook/")
        listings = True
    return urls, listings
