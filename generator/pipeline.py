"""The pipeline, stage by stage: files -> load -> parse -> resolve -> validate -> site -> render.

``run`` is what ``build``, ``check`` and ``serve`` all call. It reads the sources
but writes nothing; the result holds every output file's bytes and every
diagnostic. It never raises on bad input: failures become diagnostics.
"""

from __future__ import annotations

import datetime as dt
import gc
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import jinja2

from .config import SiteConfig
from .content import MARKDOWN_SUFFIXES, Page, discover_all, published, walk_files
from .diagnostics import Diagnostic, apply_severities, make, sort_diagnostics
from .links import Target, UrlIndex, build_index, linked_sources, resolve, section_folders
from .markdown import Rendered
from .parallel import load_and_parse, render_stream
from .render import (Interrupted, Renderer, compile_templates, make_environment, render_failure, render_jobs,
                     theme_paths)
from .site import FIXED_URLS, Site, build_site, taxonomy_urls
from .urls import output_file
from .validate import check_readmes, check_redirects, check_slugs, check_taxonomies, validate_page


@dataclass(frozen=True)
class Result:
    outputs: dict = field(hash=False)          # output path -> bytes
    copies: dict = field(hash=False)           # output path -> source file to copy
    diagnostics: tuple[Diagnostic, ...] = ()
    pages: int = 0
    site: Site | None = None
    # What each stage produced, for the persistent cache: sources, pages, rendered,
    # load diagnostics, file URLs, dates, category texts and the analysis.
    parts: dict = field(default_factory=dict, hash=False)


def static_files(config: SiteConfig) -> tuple[dict[str, str], dict[str, Path]]:
    """Non-Markdown files to publish: ``{source path: output URL}`` and ``{output path: file}``."""
    urls: dict[str, str] = {}
    copies: dict[str, Path] = {}
    for static in reversed(theme_paths(config).static):
        for rel in walk_files(static):
            copies["assets/" + rel] = static / rel
    folders = ((config.static_dir, ""), (config.patterns_dir, "patterns/"), (config.handbook_dir, "handbook/"))
    for folder, prefix in folders:
        base = config.root / folder
        source_prefix = Path(folder).as_posix().rstrip("/") + "/"
        for rel in walk_files(base):
            if rel.lower().endswith(MARKDOWN_SUFFIXES):
                continue
            out = prefix + rel
            urls[source_prefix + rel] = out
            copies[out] = base / rel
    return urls, copies


def category_texts(config: SiteConfig) -> dict[str, str]:
    """Category descriptions from ``_categories.md`` in the patterns folder: a ``## Name``
    heading per category, its description in the paragraphs below. ``site.toml``'s
    ``[categories]`` table fills in the ones the file does not describe."""
    texts = dict(config.category_descriptions)
    path = config.root / config.patterns_dir / "_categories.md"
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return texts
    current, lines = None, []
    for line in source.splitlines() + ["## "]:
        if line.startswith("## "):
            if current:
                texts[current] = " ".join(" ".join(lines).split())
            current, lines = line[3:].strip(), []
        elif current is not None and not line.startswith("#"):
            lines.append(line)
    return texts


def git_dates(config: SiteConfig) -> dict[str, dt.date]:
    """Last commit date of each content file, from one ``git log`` call; empty outside git."""
    return GitDates(config).result()


class GitDates:
    """``git log`` for the content folders, started at once and read by a thread, so that a
    long history is read while the pages are parsed; ``result()`` waits for the dates."""

    def __init__(self, config: SiteConfig):
        self._out: list[str] = []
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                ["git", "-C", str(config.root), "log", "--format=%x00%cs", "--name-only", "--relative",
                 "--no-renames", "--", config.patterns_dir, config.handbook_dir],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError:
            self._proc = None
            return
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        self._out.append(self._proc.stdout.read())

    def stop(self) -> None:
        """Stop ``git log`` when its dates are not wanted after all."""
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            self._reader.join()
            self._proc.stdout.close()
            self._proc.wait()

    def result(self, timeout: float = 30) -> dict[str, dt.date]:
        if self._proc is None:
            return {}
        self._reader.join(timeout)
        if self._reader.is_alive():
            self._proc.kill()
            self._reader.join()
        self._proc.stdout.close()
        if self._proc.wait() != 0 or not self._out:
            return {}
        return _parse_git_log(self._out[0])


def _parse_git_log(text: str) -> dict[str, dt.date]:
    dates: dict[str, dt.date] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("\x00"):
            try:
                current = dt.date.fromisoformat(line[1:].strip())
            except ValueError:
                current = None
        elif line.strip() and current is not None:
            dates.setdefault(line.strip(), current)
    return dates


def resolve_links(pages: list[Page], rendered: dict[str, Rendered], index: UrlIndex) -> dict[str, tuple[Target, ...]]:
    memo: dict = {}
    return {page.source: tuple(resolve(link.raw, page, index, memo) for link in rendered[page.source].links)
            for page in pages}


@dataclass(frozen=True)
class Analysis:
    """What the whole-site stages know after loading and parsing: links resolved, problems found."""
    index: UrlIndex
    targets: dict = field(hash=False)          # source -> tuple of link targets
    diagnostics: tuple[Diagnostic, ...] = ()
    # source -> the sources with a link to it (``referrers``), kept by incremental updates; None: not made
    linked_from: Mapping[str, frozenset[str]] | None = field(default=None, hash=False, compare=False, repr=False)


def referrers(targets: Mapping[str, tuple[Target, ...]]) -> dict[str, frozenset[str]]:
    """For each page with a link to it, the sources of the pages whose links lead there."""
    found: dict[str, set[str]] = {}
    for source, links in targets.items():
        for linked in linked_sources(links):
            found.setdefault(linked, set()).add(source)
    return {source: frozenset(linkers) for source, linkers in found.items()}


def analyse(config: SiteConfig, pages: list[Page], rendered: dict[str, Rendered], file_urls: dict[str, str],
            *, drafts: bool = False) -> Analysis:
    """Resolve every link and validate every page. Cheap: no parsing, no I/O."""
    generated = set(FIXED_URLS) | taxonomy_urls([p for p in pages if drafts or not p.is_draft])
    index = build_index(pages, file_urls, generated, config.base_path,
                        section_folders(config.patterns_dir, config.handbook_dir))
    targets = resolve_links(pages, rendered, index)
    ids = {page.source: rendered[page.source].ids for page in pages}
    diagnostics: list[Diagnostic] = []
    for page in pages:
        try:
            diagnostics += validate_page(page, rendered[page.source], targets[page.source], index, ids, config)
        except Exception as exc:
            diagnostics.append(make(page.source, None, None, "internal-error",
                                    f"validation failed: {type(exc).__name__}: {exc}"))
    reserved = set(FIXED_URLS) - {"", "handbook/"}
    published = [p for p in pages if drafts or not p.is_draft]
    diagnostics += check_slugs(published, reserved)
    diagnostics += check_redirects(published, generated, index.file_outputs)
    diagnostics += check_taxonomies(published)
    return Analysis(index, targets, tuple(diagnostics))


def render_site(site: Site, env: jinja2.Environment | None = None,
                only=None, among=None, stop: Callable[[], bool] | None = None) -> tuple[dict[str, bytes], list[Diagnostic]]:
    """Render the site model in this process: every output file as ``{path: bytes}``. ``only``
    filters by output URL, ``among`` limits the URLs looked at (see ``render.render_jobs``).
    A failure becomes a diagnostic naming the output that failed, as ``render_stream``'s do.
    ``stop`` may interrupt it (``render.Interrupted`` is raised, see ``render.Renderer``)."""
    try:
        jobs = render_jobs(Renderer(site, env or make_environment(site.config), stop), only, among)
    except Exception as exc:
        return {}, [render_failure(site.config, exc)]
    outputs: dict[str, bytes] = {}
    for url, job in jobs.items():
        try:
            outputs[output_file(url)] = job()
        except Interrupted:
            raise
        except Exception as exc:
            return {}, [render_failure(site.config, exc, url)]
    return outputs, []


def run(config: SiteConfig, *, drafts: bool = False, render: bool = True,
        env: jinja2.Environment | None = None, store: Callable[[str, bytes], object] | None = None,
        workers: int | None = None, html_to: Path | None = None,
        render_if: Callable[[list[Diagnostic]], bool] | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        while_rendering: Callable[[dict, list[Diagnostic], list[str]], object] | None = None,
        while_parsing: Callable[[dict[str, Path]], object] | None = None) -> Result:
    """The whole pipeline from the files on disk to every output file's bytes.

    With ``store``, each output goes to ``store(path, data)`` as soon as it is rendered, in
    the process that rendered it (a worker when there are several), instead of being
    collected; the result's ``outputs`` then map each path to what ``store`` returned. So a
    large site is never held in memory whole, nor sent between processes.
    ``render_if`` sees the diagnostics of the checks and may decide not to render.
    ``progress(stage, done, total)`` hears how far the build has come.
    With ``html_to``, each page's HTML waits in pack files in that folder until it is
    rendered into its template (see ``packs``), instead of in memory.
    ``while_rendering(parts, diagnostics, paths)`` runs in this process while the workers
    render (see ``render_stream``): it is given what the stages made so far (the result's
    ``parts``, ``site`` and ``copies`` among them), the diagnostics so far and the output
    paths to come; what it returns is the result's ``parts["while_rendering"]``.
    ``while_parsing(copies)`` runs here while the workers parse, told the files to copy; what
    it returns is ``parts["while_parsing"]``.
    """
    tell = progress or (lambda stage, done, total: None)
    sources, hidden = published(discover_all(config))
    tell("reading", 0, len(sources))
    ready: dict = {}

    def meanwhile() -> None:
        """What needs no page, done while the workers parse."""
        ready["files"] = static_files(config)
        if while_parsing is not None:
            ready["while_parsing"] = while_parsing(ready["files"][1])
        if render:
            ready["dates"] = GitDates(config)
            ready["described"] = category_texts(config)
            if env is None:
                ready["env"] = make_environment(config)
                compile_templates(ready["env"])

    pages, rendered, diagnostics = load_and_parse(config, sources, workers, html_to=html_to, keep_html=render,
                                                  meanwhile=meanwhile)
    # What each stage makes lives until the run ends: frozen, the cycle collector leaves it
    # alone instead of scanning it again and again while later stages allocate.
    gc.freeze()
    try:
        diagnostics += check_readmes(hidden)
        loaded = list(diagnostics)
        file_urls, copies = ready["files"]
        tell("checking", len(pages), len(pages))
        analysis = analyse(config, pages, rendered, file_urls, drafts=drafts)
        gc.freeze()
        diagnostics += analysis.diagnostics
        diagnostics = sort_diagnostics(apply_severities(diagnostics, config.severity_map))
        if not render or (render_if is not None and not render_if(diagnostics)):
            return Result({}, {}, tuple(diagnostics), len(pages), None,
                          {"sources": sources, "pages": pages, "rendered": rendered, "analysis": analysis})

        dates, described = ready["dates"].result(), ready["described"]
        site = build_site(config, pages, rendered, analysis.targets, dates, include_drafts=drafts,
                          category_descriptions=described)
        gc.freeze()
        parts = {"sources": sources, "pages": pages, "rendered": rendered, "loaded": loaded, "file_urls": file_urls,
                 "dates": dates, "described": described, "analysis": analysis, "site": site, "copies": copies,
                 "while_parsing": ready.get("while_parsing")}
        outputs: dict[str, bytes] = {}
        if env is not None:
            outputs, found = render_site(site, env)
            diagnostics += found
        else:
            total, count = len(site.pages), 0
            so_far = list(diagnostics)

            def meanwhile(paths: list[str]) -> None:
                try:
                    parts["while_rendering"] = while_rendering(parts, so_far, paths)
                except Exception:        # it only saves time later: the build goes on without it
                    parts["while_rendering"] = None

            for done, found in render_stream(site, workers, store, ready.get("env"),
                                             meanwhile if while_rendering is not None else None):
                count += len(done)
                tell("rendering", min(count, total), total)
                diagnostics += found
                outputs.update(done)
    finally:
        gc.unfreeze()
        if "dates" in ready:
            ready["dates"].stop()
    return Result(outputs, copies, tuple(sort_diagnostics(diagnostics)), len(pages), site, parts)
