"""Rendering: the site model to output bytes with Jinja2. No file is read or written here
beyond the template loader; the result is a mapping of output path to bytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import posixpath
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from types import FunctionType
from typing import Callable, Collection

import traceback
from urllib.parse import quote

import jinja2
import jinja2.runtime
from jinja2.utils import internalcode
from markupsafe import Markup

from .config import PRUNE_ABOVE, SiteConfig
from .diagnostics import Diagnostic, make
from .content import CATALOG, PATTERN, Page
from .links import FILE, PAGE, URL, Target
from .markdown import Rendered, fill_links, unlink
from .packs import html_of
from .pattern_map import layout
from .patterns import a_to_z, index_letter, letter_order
from .search import bundles, index_count
from .site import OWN_FOLDERS, NavNode, Site, prune
from .urls import links_from, output_file, relative_url

BUILTIN_THEMES = Path(__file__).resolve().parent / "themes"
STOP_EVERY = 256          # pieces of template output between two calls of a renderer's ``stop``
if not BUILTIN_THEMES.is_dir():
    BUILTIN_THEMES = Path(__file__).resolve().parent.parent / "themes"


@dataclass(frozen=True)
class ThemePaths:
    templates: tuple[Path, ...]
    static: tuple[Path, ...]      # earlier folders win


def theme_paths(config: SiteConfig) -> ThemePaths:
    """Template and static folders in lookup order: the site's own, then the built-in theme."""
    candidates = [config.root / "themes" / config.theme, BUILTIN_THEMES / config.theme]
    if config.theme != "default":
        candidates.append(BUILTIN_THEMES / "default")
    seen = []
    for folder in candidates:
        if folder.is_dir() and folder not in seen:
            seen.append(folder)
    return ThemePaths(templates=tuple(f / "templates" for f in seen if (f / "templates").is_dir()),
                      static=tuple(f / "static" for f in seen if (f / "static").is_dir()))


class _Context(jinja2.runtime.Context):
    """Jinja's template context, calling a plain Python function (``url_for``, ``page_url``)
    directly: what ``Context.call`` does for a function that asks for no context, environment
    or evaluation context, without looking for those first (a page calls dozens)."""

    @internalcode
    def call(__self, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        if type(__obj) is not FunctionType or hasattr(__obj, "jinja_pass_arg"):
            return super().call(__obj, *args, **kwargs)
        kwargs.pop("_block_vars", None)
        kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined("value was undefined because a callable raised a"
                                                " StopIteration exception")


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Jinja's bytecode cache in a folder, where an entry that cannot be read (cut short,
    damaged) is compiled again instead of failing the build."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:
            bucket.reset()


def make_environment(config: SiteConfig, compiled: Path | None = None) -> jinja2.Environment:
    """The Jinja environment of the site's theme. With ``compiled``, a folder, the compiled
    code of each template is kept there and used again while the template's source is the
    same (Jinja's bytecode cache; each entry holds the checksum of its source)."""
    paths = theme_paths(config)
    bytecode = None
    if compiled is not None:
        try:
            compiled.mkdir(parents=True, exist_ok=True)
            bytecode = _CompiledTemplates(str(compiled))
        except OSError:
            bytecode = None           # a cache that cannot be written: compile as usual
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in paths.templates]),
        bytecode_cache=bytecode,
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,        # a template change makes a new environment (see ``incremental``)
    )
    env.context_class = _Context
    env.filters["isodate"] = lambda d: d.isoformat() if d else ""
    env.filters["longdate"] = lambda d: f"{d.day} {d.strftime('%B %Y')}" if d else ""
    return env


def compile_templates(env: jinja2.Environment) -> None:
    """Compile every template of the theme now (processes forked later inherit them); one
    that fails is left for rendering to report, with its file and line."""
    for name in env.list_templates(extensions=("html", "xml", "txt")):
        try:
            env.get_template(name)
        except Exception:
            pass


def _without_title_heading(html: str, rendered: Rendered, title: str) -> tuple[str, str | None]:
    """The template writes the page title as the page's ``<h1>``: the body's level-1 heading
    that says the same (whether the title came from it or from the header) would repeat it, so
    it is taken out, and its id goes to the template's heading so links to it still land.
    A level-1 heading with other words stays where the author put it."""
    wanted = " ".join(title.split())
    heading = next((h for h in rendered.headings if h.level == 1 and " ".join(h.text.split()) == wanted), None)
    if heading is None:
        return html, None
    opening = re.search(f'<h1 id="{re.escape(escape(heading.id, quote=True))}"[^>]*>', html)
    start = opening.start() if opening else -1
    end = html.find("</h1>", start)
    if start == -1 or end == -1:
        return html, None
    end += len("</h1>")
    if html.startswith("\n", end):
        end += 1
    return html[:start] + html[end:], heading.id


def _absolute(config: SiteConfig, url: str) -> str:
    base = config.absolute_base
    if base:
        return base + url
    return config.base_path + url


def _hrefs(page: Page, rendered: Rendered, targets: tuple[Target, ...]) -> list[str]:
    hrefs = []
    for link, target in zip(rendered.links, targets):
        # A query goes along as written (percent-encoded), before the fragment.
        query = "?" + link.raw.split("#", 1)[0].partition("?")[2] if target.query else ""
        fragment = query + (f"#{target.fragment}" if target.fragment is not None else "")
        if target.kind == PAGE and target.page is not None:
            if target.page.source == page.source and link.href.startswith("#"):
                value = fragment
            else:
                value = relative_url(page.url, target.page.url) + fragment
        elif target.kind == FILE and target.url is not None:
            # A file keeps its own name, which may hold "%", "#", "?" or spaces: percent-encoded.
            value = relative_url(page.url, quote(target.url, safe=_URL_SAFE)) + fragment
        elif target.kind == URL and target.url is not None:
            value = relative_url(page.url, target.url) + fragment
        else:
            hrefs.append(link.raw if link.kind == "html" else escape(link.raw, quote=True))
            continue
        hrefs.append(escape(value, quote=True))
    return hrefs


# Characters a URL path may hold as they are (RFC 3986 pchar and "/"); letters of other
# scripts are kept too, as browsers show them.
_URL_SAFE = "/:@!$&'()*+,;=-._~"


def edit_url(config: SiteConfig, page: Page) -> str | None:
    """The "Edit this page" link: a repository URL (a clone URL's ``.git`` dropped), the branch
    and the page's path, percent-encoded where a URL needs it."""
    if not config.repo_url:
        return None
    path = quote(page.source, safe="/", errors="surrogateescape")     # a name not UTF-8: its bytes
    if "{path}" in config.repo_url:
        return config.repo_url.replace("{path}", path)
    repo = config.repo_url.rstrip("/").removesuffix(".git")
    return f"{repo}/edit/{quote(config.repo_branch, safe='/')}/{path}"


def breadcrumbs(nav: NavNode) -> dict[str, tuple[NavNode, ...]]:
    """The way from the top of the navigation to each page in it, by the page's URL (the first
    entry for a URL that appears twice), found in one walk over the tree."""
    trails: dict[str, tuple[NavNode, ...]] = {}
    stack: list[tuple[NavNode, tuple[NavNode, ...]]] = [(nav, ())]
    while stack:
        node, above = stack.pop()
        trail = above + (node,)
        if node.url is not None:
            trails.setdefault(node.url, trail)
        stack.extend((child, trail) for child in reversed(node.children))
    return trails


class Interrupted(Exception):
    """Rendering stopped part-way because the renderer's ``stop()`` said so."""


class Renderer:
    """Renders every page kind; holds the environment and the site model, never writes.

    With ``stop``, a template is rendered piece by piece and ``stop()`` is asked now and then
    whether to go on; when it says to stop, ``Interrupted`` is raised (``serve`` leaves a
    large listing for later when a newer save is waiting).
    """

    def __init__(self, site: Site, env: jinja2.Environment, stop: Callable[[], bool] | None = None):
        self.site = site
        self.env = env
        self.config = site.config
        self.stop = stop
        self._nav_cache: dict[tuple[str, str | None], str] = {}
        self._links: dict[str, dict[str, str]] = {}       # see ``urls.links_from``

    def nav_html(self, url: str, page: Page | None = None) -> Markup:
        """The handbook navigation tree as seen from the page at ``url`` (``page``, when it is one).

        Every page in one folder sees the same tree except for which entry is current,
        so the tree is rendered once per folder, with links written from a sibling
        folder's point of view (valid from each page of the folder), and the current
        entry is marked afterwards. That keeps large handbooks linear to render. A pruned
        tree (``[handbook] nav``) opens only the folders on the way to the page.
        """
        parent = url.rstrip("/").rpartition("/")[0]
        vantage = (parent + "/" if parent else "") + "_/"
        open_folder = posixpath.dirname(page.rel) if page is not None else ""
        key = (vantage, open_folder) if self.pruned_nav else (vantage, None)
        html = self._nav_cache.get(key)
        if html is None:
            nav = prune(self.site.nav, open_folder) if self.pruned_nav else self.site.nav
            macro = self.env.get_template("macros.html").module.nav_tree
            html = str(macro(nav, None, lambda target: relative_url(vantage, target)))
            self._nav_cache[key] = html
        current = escape(relative_url(vantage, url), quote=True)
        return Markup(html.replace(f'<a href="{current}">', f'<a href="{current}" aria-current="page">', 1))

    @functools.cached_property
    def trails(self) -> dict[str, tuple[NavNode, ...]]:
        return breadcrumbs(self.site.nav)

    @functools.cached_property
    def pruned_nav(self) -> bool:
        mode = self.config.handbook_nav
        return mode == "pruned" or (mode == "auto" and len(self.site.handbook) > PRUNE_ABOVE)

    def _context(self, url: str, title: str, *, absolute: bool = False, **extra) -> dict:
        config = self.config

        if absolute:
            def url_for(target: str) -> str:
                return config.base_path + target
        else:
            url_for = links_from(url, self._links)

        def page_url(page: Page) -> str:
            return url_for(page.url)

        return {
            "site": config,
            "site_model": self.site,
            "url": url,
            "title": title,
            "url_for": url_for,
            "page_url": page_url,
            "canonical": _absolute(config, url),
            "home": url_for(""),
            "nav_sections": [
                ("Patterns", "patterns/"), ("Tags", "tags/"), ("Handbook", "handbook/"),
            ],
            "search_enabled": config.search,
            **extra,
        }

    def _render(self, template: str, context: dict) -> bytes:
        if self.stop is None:
            return self.env.get_template(template).render(**context).encode("utf-8")
        pieces = []
        for count, piece in enumerate(self.env.get_template(template).generate(**context)):
            pieces.append(piece)
            if not count % STOP_EVERY and self.stop():
                raise Interrupted(template)
        return "".join(pieces).encode("utf-8")

    def body(self, page: Page) -> str:
        rendered = self.site.rendered[page.source]
        targets = self.site.targets.get(page.source, ())
        html = html_of(rendered)
        unpublished = {link.index for link, target in zip(rendered.links, targets)
                       if link.kind == "link" and target.page is not None
                       and target.page.source not in self.site.sources}
        if unpublished:
            html = unlink(html, unpublished)
        return fill_links(html, _hrefs(page, rendered, targets))

    def pattern(self, page: Page) -> bytes:
        prev_page, next_page = self.site.neighbours(page)
        info = self.site.info[page.source]
        content, title_id = _without_title_heading(self.body(page), self.site.rendered[page.source], page.title)
        return self._render("pattern.html", self._context(
            page.url, page.title, page=page, content=content, info=info, title_id=title_id,
            rendered=self.site.rendered[page.source],
            categories=[self.site.category(c) for c in page.categories],
            tags=[self.site.tag(t) for t in page.tags],
            prev_page=prev_page, next_page=next_page,
            backlinks=self.site.backlinks.get(page.source, ()),
            outlinks=tuple(p for p in self.site.outlinks.get(page.source, ()) if p.kind == PATTERN),
            inlinks=tuple(p for p in self.site.backlinks.get(page.source, ()) if p.kind == PATTERN),
            edit_url=edit_url(self.config, page), updated=self.site.updated.get(page.source),
        ))

    def handbook(self, page: Page) -> bytes:
        rendered = self.site.rendered[page.source]
        toc = [h for h in rendered.headings if h.level in (2, 3)]
        content, title_id = _without_title_heading(self.body(page), rendered, page.title)
        return self._render("handbook.html", self._context(
            page.url, page.title, page=page, content=content, toc=toc, title_id=title_id,
            nav=self.site.nav, nav_html=self.nav_html(page.url, page), trail=list(self.trails.get(page.url, ())),
            backlinks=self.site.backlinks.get(page.source, ()),
            tags=[self.site.tag(t) for t in page.tags],
            edit_url=edit_url(self.config, page), updated=self.site.updated.get(page.source),
        ))

    def handbook_index(self) -> bytes:
        return self._render("handbook_index.html", self._context(
            "handbook/", "Handbook", nav=self.site.nav, nav_html=self.nav_html("handbook/"), trail=[]))

    def home(self) -> bytes:
        recent = sorted((p for p in self.site.patterns if p.date), key=lambda p: (p.date, p.title),
                        reverse=True)[:6]
        return self._render("home.html", self._context(
            "", self.config.title, recent=recent, categories=self.site.categories,
            nav=self.site.nav))

    def catalog(self) -> bytes:
        letters: dict[str, list[Page]] = {}
        for page in self.site.patterns:
            letters.setdefault(index_letter(page.title), []).append(page)
        uncategorised = [p for p in self.site.patterns if not p.categories]
        # The patterns folder's _index.md or index.md, when there is one: its title and text.
        intro = self.site.catalog_page
        title, content, title_id, extra = "Patterns", "", None, {}
        if intro is not None:
            rendered = self.site.rendered[intro.source]
            title = intro.title if intro.title_given else title
            content, title_id = _without_title_heading(self.body(intro), rendered, title)
            extra = {"description": intro.description or rendered.summary}
        return self._render("catalog.html", self._context(
            "patterns/", title, categories=self.site.categories, letters=sorted(letters.items(), key=letter_order),
            uncategorised=uncategorised, patterns=self.site.patterns, content=content, title_id=title_id,
            **extra))

    def a_to_z(self) -> bytes:
        groups = a_to_z(self.site.patterns, self.site.info)
        return self._render("a_z.html", self._context("patterns/a-z/", "Patterns A to Z", groups=groups))

    def pattern_map(self) -> bytes:
        outlinks = {src: tuple(p for p in pages if p.kind == PATTERN)
                    for src, pages in self.site.outlinks.items()}
        drawing = layout(self.site.patterns, outlinks, self.config.map_max_patterns)
        # The text version of the map lists thousands of links in a large catalog: written once here.
        hrefs = {p.source: escape(relative_url("patterns/map/", p.url), quote=True) for p in self.site.patterns}
        links_to = {src: Markup(", ".join(f'<a href="{hrefs[p.source]}">{escape(p.title)}</a>'
                                          for p in out if p.source in hrefs))
                    for src, out in outlinks.items() if out}
        return self._render("map.html", self._context("patterns/map/", "Pattern map", map=drawing,
                                                      outlinks=outlinks, links_to=links_to))

    def search(self) -> bytes:
        count = index_count(len(self.site.pages), self.config.search_pages_per_index)
        context = self._context("search/", "Search")
        # Each bundle's folder, relative to the search page (a link to a file in it, less its name).
        folders = [context["url_for"](b + "pagefind.js")[:-len("pagefind.js")] for b in bundles(count)]
        return self._render("search.html", dict(context, search_bundles=folders))

    def tags_index(self) -> bytes:
        return self._render("tags.html", self._context("tags/", "Tags", taxa=self.site.tags,
                                                       kind="tag"))

    def categories_index(self) -> bytes:
        return self._render("tags.html", self._context("categories/", "Categories",
                                                       taxa=self.site.categories, kind="category"))

    def taxon(self, taxon, kind: str) -> bytes:
        label = "Tag" if kind == "tag" else "Category"
        return self._render("taxon.html", self._context(
            taxon.url, f"{label}: {taxon.name}", taxon=taxon, kind=kind))

    def not_found(self) -> bytes:
        return self._render("404.html", self._context("404.html", "Page not found", absolute=True))

    def sitemap(self) -> bytes:
        entries = []
        fallback = max((p.date for p in self.site.pages if p.date), default=None)
        for page in self.site.pages:
            modified = self.site.updated.get(page.source) or page.date
            entries.append((_absolute(self.config, page.url), modified))
        listing = ["", "patterns/", "tags/", "categories/", "handbook/"]
        listing += [t.url for t in self.site.tags] + [c.url for c in self.site.categories]
        page_urls = {p.url for p in self.site.pages}
        for url in listing:
            if url not in page_urls:
                entries.append((_absolute(self.config, url), fallback))
        # By URL alone, once each: two pages may claim one URL (a slug-duplicate error that
        # --keep-going builds past), and a page without any date has None to compare.
        entries = sorted(dict(reversed(entries)).items(), key=lambda entry: entry[0])
        return self._render("sitemap.xml", {"entries": entries})

    def feed(self) -> bytes:
        dated = sorted((p for p in self.site.patterns if p.date and not p.is_draft),
                       key=lambda p: (p.date, p.title), reverse=True)[: self.config.feed_limit]
        updated = dated[0].date if dated else dt.date(1970, 1, 1)
        entries = [{"page": p, "url": _absolute(self.config, p.url),
                    "summary": p.description or self.site.rendered[p.source].summary} for p in dated]
        return self._render("feed.xml", {"site": self.config, "entries": entries, "updated": updated,
                                         "self_url": _absolute(self.config, "feed.xml"),
                                         "home_url": _absolute(self.config, "")})

    def redirect(self, page: Page, url: str) -> bytes:
        """An old URL of ``page`` (an alias written as a path), sending readers on to it."""
        target = escape(relative_url(url, page.url), quote=True)
        title = escape(page.title)
        canonical = escape(_absolute(self.config, page.url), quote=True)
        return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
                f'<link rel="canonical" href="{canonical}">\n<meta name="robots" content="noindex">\n'
                f'<meta http-equiv="refresh" content="0; url={target}">\n</head>\n<body>\n'
                f'<p>This page has moved: <a href="{target}">{title}</a>.</p>\n</body>\n</html>\n').encode("utf-8")

    def robots(self) -> bytes:
        return (f"User-agent: *\nAllow: /\n\nSitemap: {_absolute(self.config, 'sitemap.xml')}\n").encode()


def render_jobs(renderer: Renderer, only: Callable[[str], bool] | None = None,
                among: Collection[str] | None = None) -> dict[str, Callable[[], bytes]]:
    """The outputs of the site by URL, each as a function that renders it (those ``only`` keeps,
    and of those only the URLs in ``among``, when given: then ``only`` sees no other URL)."""
    site = renderer.site
    keep = only or (lambda url: True)
    if among is not None:
        keep = (lambda url, wanted=keep: url in among and wanted(url))
    jobs: dict[str, Callable[[], bytes]] = {}
    for page in site.pages:
        if page.kind != CATALOG and keep(page.url):      # the catalog's page is in the catalog
            jobs[page.url] = functools.partial(renderer.pattern if page.kind == PATTERN else renderer.handbook, page)
    fixed = [("handbook/", renderer.handbook_index), ("", renderer.home), ("patterns/", renderer.catalog),
             ("patterns/a-z/", renderer.a_to_z), ("patterns/map/", renderer.pattern_map)]
    if site.config.search:
        fixed.append(("search/", renderer.search))
    fixed += [("tags/", renderer.tags_index), ("categories/", renderer.categories_index)]
    page_urls = site_urls(site)
    for url, job in fixed:
        if url not in page_urls and keep(url):
            jobs[url] = job
    for taxon in site.tags:
        if keep(taxon.url):
            jobs[taxon.url] = functools.partial(renderer.taxon, taxon, "tag")
    for taxon in site.categories:
        if keep(taxon.url):
            jobs[taxon.url] = functools.partial(renderer.taxon, taxon, "category")
    for url, job in (("404.html", renderer.not_found), ("sitemap.xml", renderer.sitemap),
                     ("feed.xml", renderer.feed), ("robots.txt", renderer.robots)):
        if keep(url):
            jobs[url] = job
    if site.redirects:
        taken = {output_file(url) for url in set(jobs) | page_urls | {url for url, _ in fixed}
                 | {taxon.url for taxon in site.tags} | {taxon.url for taxon in site.categories}}
        for page, url in site.redirects:
            path = output_file(url)
            if path not in taken and not path.startswith(tuple(OWN_FOLDERS)) and keep(url):
                jobs[url] = functools.partial(renderer.redirect, page, url)    # a clash is an error already
                taken.add(path)
    return jobs


def site_urls(site: Site) -> frozenset[str]:
    """The URLs the site's pages render (the catalog's page is rendered as the catalog)."""
    return frozenset(p.url for p in site.pages if p.kind != CATALOG)


def render_failure(config: SiteConfig, exc: BaseException, url: str | None = None) -> Diagnostic:
    """A rendering exception as a diagnostic pointing at the template and line at fault;
    ``url`` names the output being rendered, when known."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return make(_template_path(config, exc.filename), exc.lineno, None, "template-error",
                    f"template syntax error: {exc.message}")
    path, line = _template_location(config, exc)
    if isinstance(exc, jinja2.TemplateError):
        return make(path, line, None, "template-error", f"template error: {exc}")
    what = f"rendering /{url} failed" if url is not None else "rendering failed"
    return make(path, line, None, "internal-error", f"{what}: {type(exc).__name__}: {exc}")


def _template_path(config: SiteConfig, filename: str | None) -> str:
    if not filename:
        return "themes"
    path = Path(filename)
    try:
        return path.resolve().relative_to(config.root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _template_location(config: SiteConfig, exc: BaseException) -> tuple[str, int | None]:
    """The innermost template frame of a traceback: which template, which line."""
    for frame, line in reversed(list(traceback.walk_tb(exc.__traceback__))):
        filename = frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".txt")):
            return _template_path(config, filename), line
    return "themes", None
