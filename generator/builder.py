"""The ``build`` command's work: a cold build through the whole pipeline, or a warm one that
reuses the persistent cache, then the output written safely.

Cold: every stage runs, outputs stream into a staging folder that is swapped in whole only
when the checks passed. Warm (the cache key matches and the output folder is as the last
build left it): only changed inputs are re-read, through ``incremental.update``, and only
files whose bytes changed are replaced, each atomically; unchanged files keep their
modification time. Nothing here prints: notes go to ``note``.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from . import cache
from .config import SiteConfig
from .diagnostics import Diagnostic, apply_severities, exit_code, make, sort_diagnostics
from .incremental import State, source_digests, update
from .pipeline import Result, run
from .render import make_environment
from .write import Staging, replace_file, update_file

CACHED = ""          # stands for an output's bytes that are on disk, not in memory


@dataclass(frozen=True)
class Outcome:
    diagnostics: tuple[Diagnostic, ...]
    pages: int
    kind: str              # "cold", "warm", "unchanged" or "failed"
    written: bool          # the output folder was (re)written
    files: int = 0
    changed: int = 0
    elapsed: float = 0.0
    reason: str = ""       # why the build stopped, when it did
    # What the build made (a cold build's ``Result``, a warm build's states): a caller about
    # to end the process may keep it to the end instead of spending time freeing it object
    # by object.
    made: object = field(default=None, repr=False, compare=False)


def _state_from(config: SiteConfig, drafts: bool, result: Result, outputs: list[str]) -> State:
    return _state_of(config, drafts, result.parts, result.diagnostics, outputs)


def _state_of(config: SiteConfig, drafts: bool, parts: dict, diagnostics, outputs: list[str]) -> State:
    """The state a cold build leaves for the next one: what its stages made (``parts``), its
    diagnostics and the paths of the outputs it rendered."""
    sources = {s.path: s for s in parts["sources"]}
    found: dict[str, tuple[Diagnostic, ...]] = {path: () for path in sources}
    for diag in parts["loaded"]:
        found[diag.path] = found.get(diag.path, ()) + (diag,)
    checked = [d for path in sorted(found) for d in found[path]] + list(parts["analysis"].diagnostics)
    hashes = source_digests(config, sources, parts["pages"])
    return State(
        config=config, drafts=drafts, env=None, sources=sources, hashes=hashes,
        pages={p.source: p for p in parts["pages"]}, rendered=dict(parts["rendered"]), found=found,
        file_urls=dict(parts["file_urls"]), copies=dict(parts["copies"]), static={}, dates=parts["dates"],
        described=parts["described"], analysis=parts["analysis"], site=parts["site"],
        outputs={path: CACHED for path in outputs},
        checked=tuple(sort_diagnostics(apply_severities(checked, config.severity_map))),
        diagnostics=tuple(diagnostics))


def _post_process(config: SiteConfig, folder: Path, linkcheck: bool, strict: bool,
                  found: list[Diagnostic], pages: int = 0, parts: set[int] | None = None) -> bool:
    """Search index and link check on a finished folder; False when the link check failed.
    ``pages`` is the number of pages the site has; ``parts``, the search indexes to make
    again (all of them when None)."""
    if config.search:
        from .search import index_count, index_site
        problem = index_site(folder, index_count(pages, config.search_pages_per_index), parts)
        if problem:
            found.append(make("search", None, None, "internal-error", problem))
    if linkcheck:
        from .linkcheck import check_site
        checked = check_site(folder, base_url=config.base_url, ignore=config.linkcheck_ignore,
                             timeout=config.linkcheck_timeout)
        found.extend(checked.diagnostics)
        if exit_code(checked.diagnostics, strict):
            return False
    return True


def build(config: SiteConfig, *, drafts: bool = False, keep_going: bool = False, strict: bool = False,
          linkcheck: bool = False, use_cache: bool = True, note: Callable[[str], None] = lambda _: None,
          progress: Callable[[str, int, int], None] | None = None) -> Outcome:
    start = time.perf_counter()
    try:
        return _build(config, drafts, keep_going, strict, linkcheck, use_cache, note, progress, start)
    finally:
        gc.unfreeze()


def _build(config: SiteConfig, drafts: bool, keep_going: bool, strict: bool, linkcheck: bool, use_cache: bool,
           note: Callable[[str], None], progress, start: float) -> Outcome:
    with cache.build_lock(config, on_wait=note):
        key = cache.cache_key(config, drafts) if use_cache else ""
        if use_cache and not linkcheck:
            manifest, problem = cache.load_manifest(config)
            if problem:
                note(f"warning: {problem}")
            if manifest is not None and manifest.key == key and config.output.is_dir() \
                    and cache.outputs_intact(config.output, manifest):
                outcome = _warm(config, drafts, keep_going, strict, manifest, key, note)
                if outcome is not None:
                    return _timed(outcome, start)
        outcome = _cold(config, drafts, keep_going, strict, linkcheck, key if use_cache else None, progress)
        return _timed(outcome, start)


def _timed(outcome: Outcome, start: float) -> Outcome:
    return replace(outcome, elapsed=time.perf_counter() - start)


def _cold(config: SiteConfig, drafts: bool, keep_going: bool, strict: bool, linkcheck: bool,
          key: str | None, progress: Callable[[str, int, int], None] | None = None) -> Outcome:
    def worth_rendering(found: list[Diagnostic]) -> bool:
        return keep_going or exit_code(found, strict) == 0

    staging = Staging(config.output)
    # Page HTML waits on disk between parsing and rendering: in the cache's pack folder,
    # where the cache keeps it, or in a temporary folder when there is no cache.
    scratch = tempfile.TemporaryDirectory(prefix="devrel-html-") if key is None else None
    html_to = cache.pack_folder(config) if scratch is None else Path(scratch.name)
    packs_before = cache.pack_names(html_to)
    swapped = False

    def prepare_cache(parts: dict, found: list[Diagnostic], paths: list[str]):
        """While the pages render: the state this build leaves, as it will be if rendering
        adds no diagnostic, written beside the cache's own (see ``cache.prepare``)."""
        if exit_code(found) != 0:
            return None           # a build with errors leaves no cache
        state = _state_of(config, drafts, parts, tuple(sort_diagnostics(found)), paths)
        return cache.prepare(config, state), tuple(sort_diagnostics(found)), set(paths)

    prepared = None
    try:
        result = run(config, drafts=drafts, store=staging.writer(), render_if=worth_rendering, progress=progress,
                     html_to=html_to, while_rendering=prepare_cache if key is not None else None,
                     while_parsing=(lambda copies: cache.input_stats(config, copies)) if key is not None else None)
        early = result.parts.get("while_rendering")
        if early is not None:
            prepared, expected_diagnostics, expected_paths = early
            if prepared is not None and (result.diagnostics != expected_diagnostics
                                         or set(result.outputs) != expected_paths):
                cache.abandon(prepared)           # rendering changed the state: it is written anew
                prepared = None
        written = list(result.outputs)
        for path, written_anew in result.outputs.items():
            staging.record(path, written_anew)
        diagnostics = list(result.diagnostics)
        if exit_code(diagnostics, strict) != 0 and not keep_going:
            staging.abort()
            return Outcome(tuple(diagnostics), result.pages, "failed", False, reason="checks")
        for rel, source in result.copies.items():
            staging.copy(rel, source)
        pages = len(result.site.pages) if result.site is not None else 0
        if not _post_process(config, staging.folder, linkcheck, strict, diagnostics, pages) and not keep_going:
            staging.abort()
            return Outcome(tuple(sort_diagnostics(diagnostics)), result.pages, "failed", False, reason="linkcheck")
        staging.commit()
        swapped = True
    except BaseException:
        staging.abort()
        raise
    finally:
        if scratch is not None:
            scratch.cleanup()
        elif not swapped:         # the last good build's cache stays as it was
            cache.abandon(prepared)
            cache.remove_packs(html_to, cache.pack_names(html_to) - packs_before)
    if key is not None and result.site is not None:
        gc.freeze()           # everything built so far lives to the end (``build`` unfreezes)
        if exit_code(result.diagnostics) == 0:
            tracked = written + [rel for rel in result.copies if rel not in written]
            # The inputs as they were while the pages were read: one changed since then is
            # read again by the next build.
            inputs = result.parts.get("while_parsing") or cache.input_stats(config, result.copies)
            manifest = cache.Manifest(key, inputs,
                                      cache.output_stats(config.output, tracked),
                                      tuple(result.diagnostics), result.pages,
                                      cache.dates_digest(result.parts["dates"]),
                                      cache.folder_stats(config.output, tracked))
            try:
                if prepared is not None:
                    cache.save(config, manifest, None, prepared=prepared)
                else:
                    cache.save(config, manifest, _state_from(config, drafts, result, written))
            except OSError:
                pass
        else:
            cache.abandon(prepared)
            cache.discard(config)
    return Outcome(tuple(sort_diagnostics(diagnostics)), result.pages, "cold", True, staging.files,
                   staging.changed, made=result)


def _copy_into(source: Path, handle) -> None:
    with open(source, "rb") as reader:
        shutil.copyfileobj(reader, handle)


def _remove_empty_folders(output: Path, folder: Path) -> None:
    """Remove ``folder`` and its parents while they are empty, never leaving the output folder."""
    output = output.resolve()
    folder = folder.resolve()
    while folder != output and output in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _warm(config: SiteConfig, drafts: bool, keep_going: bool, strict: bool, manifest: cache.Manifest,
          key: str, note: Callable[[str], None]) -> Outcome | None:
    """A build from the cache; None when the cache cannot serve it (then the build runs cold)."""
    from .pipeline import git_dates, static_files
    if cache.dates_digest(git_dates(config)) != manifest.dates:
        return None           # a commit changed "last updated" dates: build in full
    _, copies = static_files(config)
    inputs = cache.input_stats(config, copies)
    changed = cache.changed_inputs(config, manifest.inputs, inputs)
    if not changed:
        return Outcome(manifest.diagnostics, manifest.pages, "unchanged", False,
                       files=len(manifest.outputs))
    state, base, problem = cache.load_state(config)      # frozen for the collector; ``build`` unfreezes
    if problem:
        note(f"warning: {problem}")
    if state is None or state.config != config or state.drafts != drafts:
        return None
    state = replace(state, env=make_environment(config, cache.template_folder(config)))
    new, rebuild = update(state, changed)
    if rebuild.kind == "failed" or new.broken or new.stale:
        return None
    diagnostics = tuple(rebuild.diagnostics)
    if exit_code(diagnostics, strict) != 0 and not keep_going:
        return Outcome(diagnostics, rebuild.pages, "failed", False, reason="checks")

    output = config.output
    written_stats = dict(manifest.outputs)
    changed_files = 0
    touched: set[str] = set()             # files written anew or removed, for the search index
    for rel, data in new.outputs.items():
        if isinstance(data, bytes):
            if update_file(output / rel, data):
                changed_files += 1
                touched.add(rel)
            written_stats[rel] = cache._stat(output / rel)
    changed_set = {str(p) for p in changed}
    for rel, source in new.copies.items():
        if rel in new.outputs:
            continue
        target = output / rel
        if rel not in manifest.outputs or str(source) in changed_set or state.copies.get(rel) != source:
            replace_file(target, lambda handle, src=source: _copy_into(src, handle))
            shutil.copystat(source, target)
            changed_files += 1
            touched.add(rel)
        written_stats[rel] = cache._stat(target)
    keep = set(new.outputs) | set(new.copies)
    for rel in list(written_stats):
        if rel not in keep:
            try:
                (output / rel).unlink()
                changed_files += 1
                touched.add(rel)
            except OSError:
                pass
            del written_stats[rel]
            _remove_empty_folders(output, (output / rel).parent)
    if config.search:
        # Pagefind has no incremental mode: the indexes holding a changed page are made again.
        from .search import index_count, part_of, parts_present
        pages = len(new.site.pages) if new.site is not None else 0
        count = index_count(pages, config.search_pages_per_index)
        parts = {part_of(rel, count) for rel in touched if rel.endswith((".html", ".htm"))}
        if parts or not parts_present(output, count):
            found: list[Diagnostic] = []
            _post_process(config, output, False, strict, found, pages, parts)
            diagnostics = tuple(sort_diagnostics(list(diagnostics) + found))

    stored = replace(new, outputs={rel: CACHED for rel in new.outputs}, static={})
    outputs = {k: v for k, v in written_stats.items() if v is not None}
    manifest = cache.Manifest(key, inputs, outputs, diagnostics, rebuild.pages, manifest.dates,
                              cache.folder_stats(output, outputs))
    try:
        cache.save(config, manifest, stored, base)
    except OSError:
        cache.discard(config)
    # The loaded state and what was made from it go with the outcome, so that returning does
    # not free them object by object (0.1 s at 10,000 pages) when the process is about to end.
    return Outcome(diagnostics, rebuild.pages, "warm", True, files=len(keep), changed=changed_files,
                   made=(state, new, stored, base, manifest))


def cached_check(config: SiteConfig, drafts: bool) -> tuple[tuple[Diagnostic, ...], int] | None:
    """The diagnostics of the last build when no input changed since (a warm ``check``), else None."""
    from .pipeline import git_dates, static_files
    manifest, _ = cache.load_manifest(config)
    if manifest is None or manifest.key != cache.cache_key(config, drafts):
        return None
    _, copies = static_files(config)
    if cache.changed_inputs(config, manifest.inputs, cache.input_stats(config, copies)):
        return None
    if cache.dates_digest(git_dates(config)) != manifest.dates:
        return None
    checks = tuple(d for d in manifest.diagnostics if d.code not in ("template-error",) and d.path != "search")
    return checks, manifest.pages
