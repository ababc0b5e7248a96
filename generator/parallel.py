"""Both cores: load-and-parse and rendering spread over this process and forked workers.

The stages themselves stay plain functions (``content.read_source``, ``markdown.parse``,
the ``Renderer`` methods); this module only hands them out in chunks and gathers the
results in order, so the output is the same as a single-process run. With N processes,
N - 1 workers are forked and this process works beside them: each takes the next chunk
when it is free, so what this process does itself is never sent between processes.
Workers are forked after the site model exists, so they inherit it instead of
receiving a copy.
"""

from __future__ import annotations

import gc
import multiprocessing
from contextlib import contextmanager
import os
from pathlib import Path
from typing import Callable, Iterator

import jinja2

from .config import SiteConfig
from .content import Page, SourceFile, read_source, titled_from_heading
from .diagnostics import Diagnostic, make
from . import packs
from .markdown import Rendered, make_parser, parse
from .render import Renderer, make_environment, render_failure, render_jobs
from .site import Site
from .urls import output_file

MIN_ITEMS = 64          # below this, one process is faster than starting workers
CHUNKS_PER_WORKER = 6
MIN_CHUNK = 16

# State of one worker process, set by its initializer (never used in the parent).
_worker: dict = {}


@contextmanager
def _quiet_gc():
    """While workers run: the objects that exist now are long-lived, so move them out of the
    collector's way (fewer full scans here, and forked workers do not copy pages just to scan
    them), and collect nothing while results stream in. Restored afterwards; when the caller
    had already frozen objects (the pipeline does between stages), they stay frozen for it."""
    was_enabled = gc.isenabled()
    caller_froze = gc.get_freeze_count() > 0
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        # The results that came in meanwhile are long-lived too: moved aside with the rest,
        # they are not all scanned by the first collection once the collector runs again.
        gc.freeze()
        if not caller_froze:
            gc.unfreeze()
        if was_enabled:
            gc.enable()


@contextmanager
def _collector_paused():
    """Inside a worker, for one chunk: parsing and rendering allocate many short-lived
    objects and almost no reference cycles (none from a parse, about two per rendered
    page), so the cycle collector only costs time there. It runs once per chunk, before
    it: by then the previous chunk's results have been sent and freed, so it has little
    to look through (after the chunk, it would scan every object of its results)."""
    gc.collect()
    gc.disable()
    yield


def _claim(counter, total: int) -> int | None:
    """The number of the next chunk nobody has taken yet, or None when all are taken."""
    with counter.get_lock():
        index = counter.value
        if index >= total:
            return None
        counter.value = index + 1
    return index


def _together(count: int, chunks: list, initializer, initargs: tuple, task,
              here: Callable[[list], object], meanwhile: Callable[[], None] | None = None,
              failed: Callable[[object], bool] = lambda result: False) -> Iterator[tuple[int, object]]:
    """``(chunk number, result)`` for every chunk, done by ``count - 1`` forked workers and
    this process together, in the order they finish. A worker runs ``task``, which claims
    a chunk (see ``_next_chunk``); this process runs ``here(chunk)`` on the chunks it
    claims, after ``meanwhile()``. The workers inherit ``chunks``: only results travel.
    Once a result of this process is ``failed``, nobody claims another chunk (a worker's
    task does the same for its own). Leaving the loop early stops the workers."""
    context = multiprocessing.get_context("fork")
    counter = context.Value("l", 0)
    total = len(chunks)
    with _quiet_gc(), context.Pool(count - 1, initializer=_init_shared,
                                   initargs=(initializer, initargs, chunks, counter)) as pool:
        remote = pool.imap(task, range(total))
        if meanwhile is not None:
            meanwhile()
        while (index := _claim(counter, total)) is not None:
            result = here(chunks[index])
            if failed(result):
                _claim_all(counter, total)
            yield index, result
        for item in remote:
            if item is not None:
                yield item


def _claim_all(counter, total: int) -> None:
    """Leave no chunk to claim: the work stops after the chunks already taken."""
    with counter.get_lock():
        counter.value = total


def _init_shared(initializer, initargs: tuple, chunks: list, counter) -> None:
    initializer(*initargs)
    _worker["chunks"] = chunks
    _worker["counter"] = counter


def _next_chunk() -> tuple[int, list] | None:
    """In a worker: the next chunk nobody has taken, with its number."""
    chunks = _worker["chunks"]
    index = _claim(_worker["counter"], len(chunks))
    return None if index is None else (index, chunks[index])


def _in_order(items: Iterator[tuple[int, object]]) -> Iterator[object]:
    """The results of ``_together`` in chunk order, each as soon as those before it are in."""
    waiting: dict[int, object] = {}
    expected = 0
    for index, result in items:
        waiting[index] = result
        while expected in waiting:
            yield waiting.pop(expected)
            expected += 1


def worker_count(items: int, requested: int | None = None) -> int:
    """How many processes to use for ``items`` pieces of work (1 means: do it here)."""
    if requested is not None:
        return max(1, requested)
    if items < MIN_ITEMS or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def _chunks(items: list, workers: int) -> list[list]:
    """``items`` in consecutive chunks for ``workers`` processes: at most 1/(workers x
    CHUNKS_PER_WORKER) of them each, smaller towards the end (down to MIN_CHUNK), so that
    the workers finish close together instead of one waiting on another's last big chunk."""
    if not items:
        return []
    count = max(1, min(len(items), workers * CHUNKS_PER_WORKER))
    size = -(-len(items) // count)
    if workers == 1:
        return [items[i:i + size] for i in range(0, len(items), size)]
    chunks, start = [], 0
    while start < len(items):
        step = max(MIN_CHUNK, min(size, (len(items) - start) // (3 * workers)))
        chunks.append(items[start:start + step])
        start += step
    return chunks


def section_names(config: SiteConfig) -> tuple[str, ...]:
    return tuple(dict.fromkeys(("Also Known As", "Problem", "Context", "Solution", "Consequences",
                                "Variants") + tuple(config.required_sections)))


def load_and_parse_one(config: SiteConfig, md, names: tuple[str, ...], source: SourceFile,
                       render: bool = True) -> tuple[Page | None, Rendered | None, list[Diagnostic]]:
    """Read, load and parse one file; failures of ours become ``internal-error`` diagnostics.
    ``render=False`` leaves the parse without HTML and the page without the digest of its
    content, for runs that only check."""
    try:
        page, diagnostics = read_source(config.root, source, digest=render)
    except Exception as exc:
        return None, None, [make(source.path, None, None, "internal-error",
                                 f"loading failed: {type(exc).__name__}: {exc}")]
    if page is None:
        return None, None, diagnostics
    try:
        rendered = parse(md, page.body, page.body_line, pattern=page.kind == "pattern", section_names=names,
                         render=render)
    except Exception as exc:
        diagnostics = diagnostics + [make(page.source, None, None, "internal-error",
                                          f"Markdown parsing failed: {type(exc).__name__}: {exc}")]
        rendered = Rendered("", (), (), frozenset(), (), (), "", 0, ok=False)
    return slim(titled_from_heading(page, rendered.headings), rendered) + (diagnostics,)


def slim(page: Page, rendered: Rendered) -> tuple[Page, Rendered]:
    """Drop what no later stage reads, so a large site fits in memory: the Markdown source
    (the HTML is kept) and the plain text of sections other than Also Known As."""
    sections = tuple(s if s.known == "Also Known As" or not s.text else _changed(s, text="")
                     for s in rendered.sections)
    return _changed(page, body=""), _changed(rendered, sections=sections)


def _changed(record, **fields):
    """A copy of a frozen dataclass with ``fields`` changed: what ``dataclasses.replace``
    gives for these classes (no ``__post_init__``, nothing derived), without its per-field work."""
    copy = object.__new__(type(record))
    copy.__dict__.update(record.__dict__, **fields)
    return copy


def _init_loader(config: SiteConfig, html_to: Path | None, keep_html: bool) -> None:
    _worker["config"] = config
    _worker["md"] = make_parser(config)
    _worker["names"] = section_names(config)
    _worker["html"] = (html_to, keep_html)


def _load_many(config: SiteConfig, md, names: tuple[str, ...], sources: list[SourceFile],
               html_to: Path | None, keep_html: bool) -> list[tuple]:
    results = [load_and_parse_one(config, md, names, source, keep_html) for source in sources]
    if not keep_html or html_to is None:
        return results
    kept = [i for i, (_, parsed, _) in enumerate(results) if parsed is not None and parsed.ok]
    spilled = packs.spill(html_to, [results[i][1] for i in kept])
    for i, parsed in zip(kept, spilled):
        results[i] = (results[i][0], parsed, results[i][2])
    return results


def _load_next(_task: int) -> tuple[int, list[tuple]] | None:
    claimed = _next_chunk()
    if claimed is None:
        return None
    index, sources = claimed
    with _collector_paused():
        return index, _load_many(_worker["config"], _worker["md"], _worker["names"], sources, *_worker["html"])


def load_and_parse(config: SiteConfig, sources: list[SourceFile], workers: int | None = None, *,
                   html_to: Path | None = None, keep_html: bool = True,
                   meanwhile: Callable[[], None] | None = None
                   ) -> tuple[list[Page], dict[str, Rendered], list[Diagnostic]]:
    """Every source loaded and parsed, in the order given.

    With ``html_to``, the HTML of the parses goes to pack files in that folder (see
    ``packs``) as soon as it is made, so it is neither sent back from the workers nor
    held in memory; ``keep_html=False`` drops it (for checks that render nothing).
    ``meanwhile()`` runs here while the workers parse: work of this process that does
    not need the pages (with one process, it runs first).
    """
    count = worker_count(len(sources), workers)
    md, names = make_parser(config), section_names(config)

    def here(chunk: list[SourceFile]) -> list[tuple]:
        return _load_many(config, md, names, chunk, html_to, keep_html)

    if count == 1:
        if meanwhile is not None:
            meanwhile()
        results = [item for chunk in _chunks(sources, 1) for item in here(chunk)]
    else:
        done = _together(count, _chunks(sources, count), _init_loader, (config, html_to, keep_html),
                         _load_next, here, meanwhile)
        results = [item for chunk in _in_order(done) for item in chunk]
    pages, rendered, diagnostics = [], {}, []
    for page, parsed, found in results:
        diagnostics.extend(found)
        if page is not None:
            pages.append(page)
            rendered[page.source] = parsed
    return pages, rendered, diagnostics


def _init_renderer(jobs: dict, config: SiteConfig, store) -> None:
    _worker["jobs"] = jobs
    _worker["config"] = config
    _worker["store"] = store


def _render_urls(jobs: dict, config: SiteConfig, store, urls: list[str]) -> tuple[list[tuple], list[Diagnostic]]:
    done, failures = [], []
    for url in urls:
        try:
            path, data = output_file(url), jobs[url]()
            done.append((path, store(path, data) if store is not None else data))
        except Exception as exc:
            failures.append(render_failure(config, exc, url))
            break
    return done, failures


def _render_next(_task: int) -> tuple[int, tuple[list[tuple], list[Diagnostic]]] | None:
    claimed = _next_chunk()
    if claimed is None:
        return None
    index, urls = claimed
    with _collector_paused():
        done, failures = _render_urls(_worker["jobs"], _worker["config"], _worker["store"], urls)
    if failures:
        _claim_all(_worker["counter"], len(_worker["chunks"]))
    return index, (done, failures)


def render_stream(site: Site, workers: int | None = None, store: Callable[[str, bytes], object] | None = None,
                  env: jinja2.Environment | None = None, meanwhile: Callable[[list[str]], None] | None = None
                  ) -> Iterator[tuple[list[tuple], list[Diagnostic]]]:
    """Rendered outputs in chunks, in a stable order, with any rendering failures.

    Each chunk lists ``(output path, bytes)``; with ``store``, the process that rendered a
    file hands it to ``store(path, bytes)`` at once, and the chunk lists ``(output path,
    store's answer)`` instead, so the bytes never travel between processes. The workers
    inherit the renderer made here, with ``env``'s templates compiled as far as they are.
    ``meanwhile(paths)``, told the output paths to come, runs in this process once the
    workers have started, before it renders its own share (with one process, first).
    """
    try:
        jobs = render_jobs(Renderer(site, env or make_environment(site.config)))
    except Exception as exc:
        yield [], [render_failure(site.config, exc)]
        return
    urls = list(jobs)
    count = worker_count(len(urls), workers)
    told = None if meanwhile is None else (lambda: meanwhile([output_file(url) for url in urls]))
    if count == 1:
        if told is not None:
            told()
        for chunk in _chunks(urls, 1):
            done, failures = _render_urls(jobs, site.config, store, chunk)
            yield done, failures
            if failures:
                return
        return
    # Listings (the catalog, the map, tag pages) cost far more each than a page does: they go
    # out first, in chunks of their own, so no worker is left with them at the end.
    pages = {page.url for page in site.pages}
    listings = [url for url in urls if url not in pages]
    chunks = _chunks(listings, count) + _chunks([url for url in urls if url in pages], count)
    done = _together(count, [chunk for chunk in chunks if chunk], _init_renderer, (jobs, site.config, store),
                     _render_next, lambda chunk: _render_urls(jobs, site.config, store, chunk), told,
                     failed=lambda result: bool(result[1]))
    try:
        for rendered, failures in _in_order(done):
            yield rendered, failures
            if failures:
                return
    finally:
        done.close()          # stops the workers when rendering stopped early
