"""The ``new`` command: start a pattern or handbook page from the theme's archetype.

An archetype is a Jinja2 template under ``themes/<theme>/archetypes/``; the site's
own theme folder wins over the built-in one. Rendering is pure (``render_archetype``);
only ``cmd_new`` touches the disk and prints.
"""

from __future__ import annotations

import argparse
import datetime as dt
import posixpath
import sys
from dataclasses import dataclass
from pathlib import Path

import jinja2
import yaml

from .config import SiteConfig
from .urls import slugify

KINDS = ("pattern", "handbook")

# One-line prompts for the sections a new pattern starts with; any other required
# section gets a generic prompt.
SECTION_PROMPTS = {
    "Also Known As": "List other names for this pattern, separated by semicolons.",
    "Problem": "Describe the problem this pattern solves.",
    "Context": "Describe when and where the pattern applies: who is involved and what is already true.",
    "Solution": "Describe what to do, step by step, and what good looks like.",
    "Consequences": "Describe what changes once the pattern is in place: the benefits, the costs and the risks.",
    "Variants": "List variations as '* **Name**: how it differs'.",
}


class ScaffoldError(Exception):
    """A new page cannot be made; ``usage`` tells a bad argument (exit 2) from a refusal (exit 1)."""

    def __init__(self, message: str, usage: bool = False):
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True)
class NewPage:
    path: Path          # where the file goes
    text: str           # what the file holds
    archetype: Path     # the template it came from


def prompt_for(section: str) -> str:
    return SECTION_PROMPTS.get(section, f"Write the {section} section of this pattern.")


def yaml_value(value) -> str:
    """A value as one line of YAML: plain where that reads back the same, quoted where not."""
    if isinstance(value, (list, tuple)):
        return yaml.safe_dump(list(value), default_flow_style=True, allow_unicode=True,
                              width=10**6).strip()
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    if text.endswith("\n...\n"):
        text = text[: -len("\n...\n")]
    return text.strip()


def archetype_folders(config: SiteConfig) -> tuple[Path, ...]:
    """Folders searched for archetypes, first match wins: the site's theme, then the built-in ones."""
    from .render import BUILTIN_THEMES
    candidates = [config.root / "themes" / config.theme / "archetypes",
                  BUILTIN_THEMES / config.theme / "archetypes",
                  BUILTIN_THEMES / "default" / "archetypes"]
    seen: list[Path] = []
    for folder in candidates:
        if folder not in seen:
            seen.append(folder)
    return tuple(seen)


def find_archetype(config: SiteConfig, kind: str) -> Path | None:
    for folder in archetype_folders(config):
        candidate = folder / f"{kind}.md"
        if candidate.is_file():
            return candidate
    return None


def render_archetype(template_text: str, context: dict) -> str:
    """Render an archetype; raises ``ScaffoldError`` for a broken template."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters["yaml"] = yaml_value
    env.globals["prompt_for"] = prompt_for
    try:
        text = env.from_string(template_text).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise ScaffoldError(f"archetype line {exc.lineno}: {exc.message}", usage=True) from None
    except jinja2.TemplateError as exc:
        raise ScaffoldError(f"archetype cannot be rendered: {exc}", usage=True) from None
    return text if text.endswith("\n") else text + "\n"


def handbook_location(path: str) -> str:
    """``Support/Escalations.md`` -> ``support/escalations.md``; raises for paths that leave the handbook."""
    cleaned = path.strip().replace("\\", "/")
    if not cleaned or cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        raise ScaffoldError(f"handbook path {path!r} must be relative to the handbook folder, "
                            "like 'support/escalations'", usage=True)
    if cleaned.lower().endswith(".md"):
        cleaned = cleaned[:-3]
    parts = [part for part in cleaned.split("/") if part not in ("", ".")]
    if not parts or any(part == ".." for part in parts):
        raise ScaffoldError(f"handbook path {path!r} must name a page inside the handbook folder, "
                            "like 'support/escalations'", usage=True)
    slugs = []
    for part in parts:
        slug = slugify(part)
        if not slug:
            raise ScaffoldError(f"handbook path {path!r}: {part!r} has no letters or digits to name "
                                "a file with", usage=True)
        slugs.append(slug)
    return posixpath.join(*slugs) + ".md"


SLUG_BYTES = 120     # a file name from a long title stays well under the 255 bytes file systems allow


def _short(slug: str) -> str:
    """``slug`` cut to SLUG_BYTES of UTF-8 at most, at a hyphen when there is one to cut at."""
    if len(slug.encode("utf-8")) <= SLUG_BYTES:
        return slug
    cut = slug.encode("utf-8")[:SLUG_BYTES].decode("utf-8", "ignore")
    return cut.rsplit("-", 1)[0] if "-" in cut else cut


def plan_pattern(config: SiteConfig, title: str, categories: list[str], tags: list[str],
                 today: dt.date, template_text: str, archetype: Path) -> NewPage:
    title = title.strip()
    slug = _short(slugify(title))
    if not slug:
        raise ScaffoldError(f"title {title!r} has no letters or digits to name the file with", usage=True)
    context = {
        "kind": "pattern", "title": title, "slug": slug, "date": today.isoformat(),
        "categories": _unique(categories), "tags": _unique(tags),
        "sections": list(config.required_sections), "owner": None,
    }
    path = config.root / config.patterns_dir / f"{slug}.md"
    return NewPage(path, render_archetype(template_text, context), archetype)


def plan_handbook(config: SiteConfig, where: str, title: str, owner: str | None, today: dt.date,
                  template_text: str, archetype: Path) -> NewPage:
    title = title.strip()
    if not title:
        raise ScaffoldError("the title must not be empty", usage=True)
    rel = handbook_location(where)
    context = {
        "kind": "handbook", "title": title, "slug": posixpath.splitext(posixpath.basename(rel))[0],
        "date": today.isoformat(), "owner": (owner or "").strip() or None, "path": rel,
        "categories": [], "tags": [], "sections": [],
    }
    path = config.root / config.handbook_dir / rel
    return NewPage(path, render_archetype(template_text, context), archetype)


def _unique(values: list[str] | None) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values or [] if v and v.strip()))


def _clashes(config: SiteConfig, new: NewPage) -> str | None:
    """An existing page that would publish at the same URL as ``new``, if any."""
    from .content import load, discover, SourceFile, HANDBOOK, PATTERN, page_url
    root = config.root
    rel_path = new.path.relative_to(root).as_posix()
    patterns = (root / config.patterns_dir).resolve()
    kind = PATTERN if new.path.resolve().is_relative_to(patterns) else HANDBOOK
    base = root / (config.patterns_dir if kind == PATTERN else config.handbook_dir)
    _, url = page_url(kind, new.path.relative_to(base).as_posix(), None)
    for source in discover(config):
        if source.path == rel_path or source.kind != kind:
            continue
        try:
            text = (root / source.path).read_text(encoding="utf-8-sig", errors="replace")
        except OSError:
            continue
        page, _ = load(SourceFile(source.path, source.kind, source.rel), text)
        if page.url == url:
            return source.path
    return None


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def cmd_new(args: argparse.Namespace, console) -> int:
    from .cli import _config
    config = _config(args, console)
    if config is None:
        return 2
    kind = args.kind
    archetype = find_archetype(config, kind)
    if archetype is None:
        print(f"error: no '{kind}.md' archetype in " +
              ", ".join(str(f) for f in archetype_folders(config)), file=sys.stderr)
        return 2
    try:
        template_text = archetype.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read archetype '{archetype}': {exc}", file=sys.stderr)
        return 2
    today = dt.date.today()
    try:
        if kind == "pattern":
            new = plan_pattern(config, args.title, args.category, args.tag, today, template_text, archetype)
        else:
            new = plan_handbook(config, args.path, args.title, args.owner, today, template_text, archetype)
    except ScaffoldError as exc:
        where = f"{_shown(archetype)}: " if exc.message.startswith("archetype") else ""
        print(f"error: {where}{exc.message}", file=sys.stderr)
        return 2 if exc.usage else 1

    try:
        exists = new.path.exists()
    except OSError as exc:           # a name the file system refuses (a handbook path given whole)
        print(f"error: cannot use '{_shown(new.path)}': {exc.strerror or exc}", file=sys.stderr)
        return 2
    if exists:
        print(f"error: '{_shown(new.path)}' already exists; not overwriting it "
              "(pick another title or path, or delete the file first)", file=sys.stderr)
        return 1
    clash = _clashes(config, new)
    if clash:
        print(f"error: '{clash}' already publishes at the URL '{_shown(new.path)}' would take; "
              "pick another title or path", file=sys.stderr)
        return 1
    try:
        new.path.parent.mkdir(parents=True, exist_ok=True)
        with open(new.path, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(new.text)
    except FileExistsError:
        print(f"error: '{_shown(new.path)}' already exists; not overwriting it", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write '{_shown(new.path)}': {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(_shown(new.path))
    console.detail(f"from the archetype {_shown(new.archetype)}")
    return 0


def add_parser(commands, common: argparse.ArgumentParser) -> None:
    new = commands.add_parser("new", parents=[common], help="start a new pattern or handbook page from an archetype",
                              description="Write a new page from the theme's archetype. "
                                          "Never overwrites an existing file.")
    kinds = new.add_subparsers(dest="kind", metavar="KIND", required=True)

    pattern = kinds.add_parser("pattern", parents=[common], help="a new pattern in the catalog",
                               description="Write <patterns folder>/<slug of TITLE>.md as a draft with "
                                           "every required section.")
    pattern.add_argument("title", metavar="TITLE", help='the pattern\'s name, e.g. "Customer Check-In"')
    pattern.add_argument("--category", action="append", default=[], metavar="NAME",
                         help="a category (repeat for more)")
    pattern.add_argument("--tag", action="append", default=[], metavar="NAME", help="a tag (repeat for more)")
    pattern.set_defaults(func=cmd_new, command="new")

    handbook = kinds.add_parser("handbook", parents=[common], help="a new handbook page",
                                description="Write <handbook folder>/PATH.md; folders are created as needed.")
    handbook.add_argument("path", metavar="PATH", help="where in the handbook, e.g. support/escalations")
    handbook.add_argument("title", metavar="TITLE", help='the page title, e.g. "Escalations"')
    handbook.add_argument("--owner", metavar="NAME", help="who maintains the page (maintainedBy)")
    handbook.set_defaults(func=cmd_new, command="new")
