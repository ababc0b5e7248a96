"""The persistent build cache in ``.devrel-cache/``: warm builds redo only what changed.

A build leaves two files behind:

- ``build/manifest.pickle``: small. The cache key (generator version and code, cache format,
  configuration, theme files, drafts flag), a digest of the content files' git dates, the
  size and modification time of every input and of every output file as written, and the
  diagnostics. When nothing
  differs, a build is done after reading only this.
- ``build/state.pickle``: the incremental state of ``incremental.py`` (pages, parses,
  analysis, site model) with each output reduced to a marker and each page's HTML moved
  to a pack file in ``build/html/``, read back only for the pages rendered again. When inputs changed, it is
  loaded and ``incremental.update`` re-parses and re-renders only what the change reaches,
  exactly as ``serve`` does.
- ``build/delta.pickle``: after a warm build, the new state written against the last full
  one: its pages, parses, link targets and the like that did not change are written as
  references into ``state.pickle`` instead of again, so a one-page edit writes a small
  file. A cold build, or a delta grown past half the full state, writes the full state again.

An entry is trusted only when its key matches; a file that cannot be read is discarded
with a warning and the build runs cold. The output folder is checked against the manifest,
so a touched or deleted output also means a cold build. Deleting ``.devrel-cache/`` is
always safe.
"""

from __future__ import annotations

import fcntl
import functools
import gc
import hashlib
import io
import os
import pickle
import secrets
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Mapping

from . import __version__, packs
from .config import SiteConfig
from .content import discover_all
from .diagnostics import Diagnostic
from .render import theme_paths
from .write import replace_file

CACHE_FORMAT = 3
FOLDER = ".devrel-cache"


class CacheLocked(Exception):
    pass


@dataclass(frozen=True)
class Manifest:
    key: str
    inputs: dict = field(hash=False)       # site-relative input path -> (mtime_ns, size)
    outputs: dict = field(hash=False)      # output path -> (mtime_ns, size) as written
    diagnostics: tuple[Diagnostic, ...] = ()
    pages: int = 0
    dates: str = ""                        # digest of the git dates of the content files
    folders: dict = field(default_factory=dict, hash=False)   # output folder -> mtime_ns, after the build


def cache_folder(config: SiteConfig) -> Path:
    return config.root / FOLDER / "build"


def template_folder(config: SiteConfig) -> Path:
    """Where the cache keeps the compiled code of the theme's templates (per Jinja version)."""
    import jinja2
    return cache_folder(config) / f"templates-{jinja2.__version__}"


def pack_folder(config: SiteConfig) -> Path:
    """Where the cache keeps page HTML (see ``packs``)."""
    return cache_folder(config) / "html"


def _stat(path: Path | str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def cache_key(config: SiteConfig, drafts: bool) -> str:
    """Everything that, when changed, makes every cached entry worthless."""
    digest = hashlib.blake2b(digest_size=16)
    settings = {k: v for k, v in vars(config).items() if k != "root"}
    digest.update(repr((__version__, CACHE_FORMAT, sys.version_info[:2], sorted(settings.items()), drafts,
                        str(config.root))).encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):     # the generator's own code
        digest.update(module.name.encode())
        digest.update(module.read_bytes())
    paths = theme_paths(config)
    for folder in paths.templates + paths.static:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(str(path).encode())
                try:
                    digest.update(path.read_bytes())
                except OSError:
                    digest.update(b"?")
    return digest.hexdigest()


def dates_digest(dates) -> str:
    """The git "last updated" dates, reduced to a digest: a commit that touches content changes it."""
    return hashlib.blake2b(repr(sorted(dates.items())).encode(), digest_size=16).hexdigest()


def input_stats(config: SiteConfig, copies: Mapping[str, Path]) -> dict[str, tuple[int, int]]:
    """Size and modification time of every Markdown file (a README that is not a page too:
    its note goes when it does) and every copied file."""
    stats: dict[str, tuple[int, int]] = {}
    root = str(config.root) + os.sep
    for source in discover_all(config):
        found = _stat(root + source.path)
        if found is not None:
            stats[source.path] = found
    for out, path in copies.items():
        found = _stat(path)
        if found is not None:
            stats["copy:" + out + ":" + str(path)] = found
    categories = config.root / config.patterns_dir / "_categories.md"
    found = _stat(categories)
    if found is not None:
        stats[categories.relative_to(config.root).as_posix()] = found
    return stats


def output_stats(output: Path, paths) -> dict[str, tuple[int, int]]:
    stats = {}
    folder = str(output) + os.sep
    for rel in paths:
        found = _stat(folder + rel)
        if found is not None:
            stats[rel] = found
    return stats


def folder_stats(output: Path, paths) -> dict[str, int]:
    """The modification time of every folder holding an output (the output folder itself
    too): a file added to one, or taken away, changes it."""
    folders = {rel.rpartition("/")[0] for rel in paths} | {""}
    for rel in list(folders):
        while rel:
            rel = rel.rpartition("/")[0]
            if rel in folders:
                break
            folders.add(rel)
    stats = {}
    base = str(output) + os.sep
    for rel in folders:
        try:
            stats[rel] = os.stat(base + rel if rel else output).st_mtime_ns
        except OSError:
            pass
    return stats


def outputs_intact(output: Path, manifest: Manifest) -> bool:
    """True when every output the manifest lists is on disk as it was written, and no file
    was added beside them (a warm build must give what a full one gives)."""
    folder = str(output) + os.sep
    for rel, recorded in manifest.outputs.items():
        if _stat(folder + rel) != recorded:
            return False
    for rel, recorded in manifest.folders.items():
        try:
            if os.stat(folder + rel if rel else output).st_mtime_ns != recorded:
                return False
        except OSError:
            return False
    return True


def changed_inputs(config: SiteConfig, before: Mapping[str, tuple], now: Mapping[str, tuple]) -> list[Path]:
    """Absolute paths of inputs that appeared, went away or changed since the manifest."""
    changed = []
    for key in before.keys() | now.keys():
        if before.get(key) != now.get(key):
            if key.startswith("copy:"):
                changed.append(Path(key.split(":", 2)[2]))
            else:
                changed.append(config.root / key)
    return sorted(changed)


def _atomic_pickle(path: Path, value) -> None:
    replace_file(path, lambda handle: pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL))


def _read_pickle(path: Path, kind: type) -> tuple[object | None, str | None]:
    """The object in ``path``, or None and a reason when the file is missing or unusable."""
    if not path.exists():
        return None, None
    enabled = gc.isenabled()
    gc.disable()          # unpickling creates many objects and no garbage
    try:
        value = pickle.loads(path.read_bytes())
    except Exception as exc:  # truncated, corrupted, or written by another version
        return None, f"cache file '{path}' cannot be read ({type(exc).__name__}); building without it"
    finally:
        if enabled:
            gc.enable()
    if not isinstance(value, kind):
        return None, f"cache file '{path}' holds something else; building without it"
    return value, None


def load_manifest(config: SiteConfig) -> tuple[Manifest | None, str | None]:
    return _read_pickle(cache_folder(config) / "manifest.pickle", Manifest)   # type: ignore[return-value]


@dataclass
class Base:
    """The full state a delta is written against: its token and the objects it holds, which
    a delta refers to by number (see ``_shared``)."""
    token: str
    objects: list
    size: int

    @functools.cached_property
    def numbers(self) -> dict[int, int]:
        numbers: dict[int, int] = {}
        for i, obj in enumerate(self.objects):
            numbers.setdefault(id(obj), i)
        return numbers


def _shared(state) -> list:
    """The objects of a full state a delta may refer to, in an order fixed by the state alone."""
    objects: list = []
    for table in (state.sources, state.pages, state.rendered, state.found, state.hashes):
        objects += [table[key] for key in sorted(table)]
    for key in sorted(state.rendered):           # the parts of a parse the site model reuses
        objects += [state.rendered[key].sections, state.rendered[key].variants]
    if state.analysis is not None:
        objects += [state.analysis.targets[key] for key in sorted(state.analysis.targets)]
        index = state.analysis.index
        objects += [state.analysis.targets, index, index.by_source, index.by_url, index.slugs, index.folders,
                    index.stems, index.redirects, index.files]
    if state.site is not None:
        site = state.site
        objects += [site.info[key] for key in sorted(site.info)]
        # The site model as a whole and in parts: an edit that changes a page's body or title
        # leaves most of them as they were (see ``site.refresh_site``).
        objects += [site, site.pages, site.patterns, site.handbook, site.tags, site.categories, site.backlinks,
                    site.outlinks, site.nav, site.updated, site.info]
        objects += [site.backlinks[key] for key in sorted(site.backlinks)]
        objects += [site.outlinks[key] for key in sorted(site.outlinks)]
        objects += list(site.tags) + list(site.categories)
    return objects


class _DeltaPickler(pickle.Pickler):
    def __init__(self, handle, numbers: dict[int, int]):
        super().__init__(handle, protocol=pickle.HIGHEST_PROTOCOL)
        self._numbers = numbers

    def persistent_id(self, obj):
        return self._numbers.get(id(obj))


class _DeltaUnpickler(pickle.Unpickler):
    def __init__(self, handle, objects: list):
        super().__init__(handle)
        self._objects = objects

    def persistent_load(self, number):
        return self._objects[number]


def load_state(config: SiteConfig):
    """The cached state (the full one, brought up to date by the delta when there is one) and
    the ``Base`` to write the next delta against; or None, None and a reason.

    What is loaded lives as long as the build: it is frozen for the cycle collector, which
    would otherwise walk every loaded object at its next run (the caller unfreezes)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_state(config)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _load_state(config: SiteConfig):
    from .incremental import State
    folder = cache_folder(config)
    stored, problem = _read_pickle(folder / "state.pickle", tuple)
    if stored is None:
        return None, None, problem
    if len(stored) != 2 or not isinstance(stored[1], State):
        return None, None, f"cache file '{folder / 'state.pickle'}' holds something else; building without it"
    token, state = stored
    base = Base(token, _shared(state), _size(folder / "state.pickle"))
    delta = folder / "delta.pickle"
    if not delta.exists():
        return state, base, None
    try:
        written_for, newer = _DeltaUnpickler(io.BytesIO(delta.read_bytes()), base.objects).load()
    except Exception as exc:
        return None, None, f"cache file '{delta}' cannot be read ({type(exc).__name__}); building without it"
    if written_for != token or not isinstance(newer, State):
        return None, None, f"cache file '{delta}' does not belong to '{folder / 'state.pickle'}'; building without it"
    return newer, base, None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _spill(state, folder: Path):
    """The state with each page's HTML moved out to a pack file under ``html/``, so the
    state file stays small. A cold build's workers already wrote their parses there; a warm
    build writes one pack with the HTML of the pages it parsed again."""
    store = folder / "html"
    sources = list(state.rendered)
    rendered = dict(zip(sources, packs.spill(store, [state.rendered[s] for s in sources])))
    site = state.site
    if site is not None:
        site = replace(site, rendered={source: rendered.get(source, parsed) for source, parsed in site.rendered.items()})
    return replace(state, rendered=rendered, site=site)


def _remove_unused_packs(state, folder: Path) -> None:
    """Delete the packs no page of ``state`` (spilled) refers to any more."""
    store = folder / "html"
    remove_packs(store, pack_names(store) - {packs.pack_name(parsed) for parsed in state.rendered.values()})


def pack_names(folder: Path) -> set[str]:
    try:
        return {entry.name for entry in os.scandir(folder)}
    except OSError:
        return set()


def remove_packs(folder: Path, names) -> None:
    for name in names:
        try:
            os.unlink(folder / name)
        except OSError:
            pass


@dataclass(frozen=True)
class Prepared:
    """A full state already written to a file of its own (see ``prepare``), and the state."""
    path: Path
    state: object


def prepare(config: SiteConfig, state) -> Prepared | None:
    """Write ``state`` as a full state file beside the cache's ``state.pickle``, without taking
    its place: ``save`` puts it there once the build succeeded (``abandon`` removes it when not).
    A cold build does this while its pages render, so the state is not pickled after them."""
    folder = cache_folder(config)
    enabled = gc.isenabled()
    gc.disable()          # pickling a large state allocates a lot and frees nothing
    try:
        state = replace(_spill(state, folder), env=None)
        folder.mkdir(parents=True, exist_ok=True)
        for stray in folder.glob(".state.*.new"):       # left by a build that was killed
            stray.unlink()
        fd, temp = tempfile.mkstemp(prefix=".state.", suffix=".new", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((secrets.token_hex(8), state), handle, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError:
        return None
    finally:
        if enabled:
            gc.enable()
    return Prepared(Path(temp), state)


def abandon(prepared: Prepared | None) -> None:
    if prepared is not None:
        try:
            prepared.path.unlink()
        except OSError:
            pass


def save(config: SiteConfig, manifest: Manifest, state, base: Base | None = None,
         prepared: Prepared | None = None) -> None:
    """Write the state and the manifest; the state first, so a manifest never points at a
    missing state. With the ``base`` the state was loaded from, only a delta is written,
    unless it grows past half the full state. With ``prepared``, the state is the one
    ``prepare`` wrote already, which takes the place of the state file."""
    folder = cache_folder(config)
    enabled = gc.isenabled()
    gc.disable()          # pickling a large state allocates a lot and frees nothing
    try:
        if prepared is not None:
            _remove_unused_packs(prepared.state, folder)
            try:
                (folder / "delta.pickle").unlink()
            except FileNotFoundError:
                pass
            os.replace(prepared.path, folder / "state.pickle")
        else:
            _save_state(folder, state, base)
        _atomic_pickle(folder / "manifest.pickle", manifest)
    finally:
        if enabled:
            gc.enable()
    gitignore = config.root / FOLDER / ".gitignore"
    if not gitignore.exists():
        try:
            gitignore.write_text("*\n", encoding="utf-8")
        except OSError:
            pass


def _save_state(folder: Path, state, base: Base | None) -> None:
    state = replace(_spill(state, folder), env=None)
    _remove_unused_packs(state, folder)
    delta = folder / "delta.pickle"
    if base is not None and base.size and (folder / "state.pickle").exists():
        data = io.BytesIO()
        _DeltaPickler(data, base.numbers).dump((base.token, state))
        if data.tell() * 2 < base.size:
            replace_file(delta, lambda handle: handle.write(data.getbuffer()))
            return
    try:
        delta.unlink()
    except FileNotFoundError:
        pass
    _atomic_pickle(folder / "state.pickle", (secrets.token_hex(8), state))


def discard(config: SiteConfig) -> None:
    for name in ("manifest.pickle", "state.pickle", "delta.pickle"):
        try:
            (cache_folder(config) / name).unlink()
        except OSError:
            pass
    import shutil
    shutil.rmtree(pack_folder(config), ignore_errors=True)


@contextmanager
def build_lock(config: SiteConfig, on_wait=None) -> Iterator[None]:
    """One build of a site at a time: a second one waits for the first (``on_wait`` is told)."""
    folder = config.root / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(f"another build of this site is running (lock: {folder / 'lock'}); waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
