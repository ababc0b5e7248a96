"""Site configuration: ``site.toml`` read into a frozen ``SiteConfig``.

Every key has a default, so a missing ``site.toml`` is fine. An unknown key or a
value of the wrong type raises ``ConfigError`` naming the key and its line.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .diagnostics import CODES
from .urls import valid_base_url

KNOWN_SECTIONS = ("Also Known As", "Problem", "Context", "Solution", "Consequences", "Variants")
DEFAULT_REQUIRED_SECTIONS = ("Problem", "Context", "Solution", "Consequences")


class ConfigError(Exception):
    """site.toml is unreadable or invalid; the message names the key."""

    def __init__(self, message: str, path: str = "site.toml", line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line


HANDBOOK_NAV_MODES = ("auto", "full", "pruned")
PRUNE_ABOVE = 200           # handbook pages past which "auto" navigation is pruned


@dataclass(frozen=True)
class SiteConfig:
    root: Path
    title: str = "DevRel Patterns"
    description: str = ""
    base_url: str = "/"
    repo_url: str = ""
    repo_branch: str = "main"
    language: str = "en"
    theme: str = "default"
    editor_url: str = ""
    patterns_dir: str = "content/patterns"
    handbook_dir: str = "content/handbook"
    static_dir: str = "static"
    output_dir: str = "build"
    hard_breaks: bool = False
    autolink: bool = True
    highlight: bool = True
    typographer: bool = False
    required_sections: tuple[str, ...] = DEFAULT_REQUIRED_SECTIONS
    pattern_required_fields: tuple[str, ...] = ("title",)
    handbook_required_fields: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()
    linkcheck_ignore: tuple[str, ...] = ()
    linkcheck_timeout: float = 10.0
    linkcheck_cache_ttl: float = 86400.0
    linkcheck_concurrency: int = 16
    linkcheck_per_host: int = 4
    search: bool = True
    search_pages_per_index: int = 2000
    feed_limit: int = 20
    map_max_patterns: int = 500
    handbook_nav: str = "auto"
    category_descriptions: tuple[tuple[str, str], ...] = ()

    @property
    def output(self) -> Path:
        return (self.root / self.output_dir).resolve()

    @property
    def severity_map(self) -> dict[str, str]:
        return dict(self.severity)

    @property
    def base_path(self) -> str:
        """The path part of ``base_url``, always starting and ending with ``/``."""
        match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*(.*)$", self.base_url)
        path = match.group(1) if match else self.base_url
        if not path.startswith("/"):
            path = "/" + path
        if not path.endswith("/"):
            path += "/"
        return path

    @property
    def absolute_base(self) -> str:
        """``base_url`` when it is absolute (has a scheme), else the empty string."""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", self.base_url):
            return self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return ""

    def with_overrides(self, **changes: Any) -> "SiteConfig":
        from dataclasses import replace
        return replace(self, **changes)


# The schema: TOML key path -> (attribute, expected type, documentation).
# ``docs/configuration.md`` documents every key; a test keeps them in step.
_STR, _BOOL, _INT, _NUM, _STRLIST, _TABLE = "string", "boolean", "integer", "number", "list of strings", "table"

SCHEMA: dict[str, tuple[str, str]] = {
    "title": ("title", _STR),
    "description": ("description", _STR),
    "base_url": ("base_url", _STR),
    "repo_url": ("repo_url", _STR),
    "repo_branch": ("repo_branch", _STR),
    "language": ("language", _STR),
    "theme": ("theme", _STR),
    "editor_url": ("editor_url", _STR),
    "content.patterns": ("patterns_dir", _STR),
    "content.handbook": ("handbook_dir", _STR),
    "content.static": ("static_dir", _STR),
    "output.dir": ("output_dir", _STR),
    "markdown.hard_breaks": ("hard_breaks", _BOOL),
    "markdown.autolink": ("autolink", _BOOL),
    "markdown.highlight": ("highlight", _BOOL),
    "markdown.typographer": ("typographer", _BOOL),
    "validate.required_sections": ("required_sections", _STRLIST),
    "validate.pattern_fields": ("pattern_required_fields", _STRLIST),
    "validate.handbook_fields": ("handbook_required_fields", _STRLIST),
    "validate.severity": ("severity", _TABLE),
    "linkcheck.ignore": ("linkcheck_ignore", _STRLIST),
    "linkcheck.timeout": ("linkcheck_timeout", _NUM),
    "linkcheck.cache_ttl": ("linkcheck_cache_ttl", _NUM),
    "linkcheck.concurrency": ("linkcheck_concurrency", _INT),
    "linkcheck.per_host": ("linkcheck_per_host", _INT),
    "search.enabled": ("search", _BOOL),
    "search.pages_per_index": ("search_pages_per_index", _INT),
    "feed.limit": ("feed_limit", _INT),
    "map.max_patterns": ("map_max_patterns", _INT),
    "handbook.nav": ("handbook_nav", _STR),
    "categories": ("category_descriptions", _TABLE),
}

_TABLES = {key.split(".")[0] for key in SCHEMA if "." in key}


def _key_line(text: str, key: str) -> int | None:
    """Best-effort line of a key in the TOML source, for error messages: the key's own line,
    else (a key inside an inline table or a dotted key) the line of the key holding it."""
    found = _own_line(text, key)
    if found is None and "." in key:
        return _key_line(text, key.rsplit(".", 1)[0])
    return found


def _own_line(text: str, key: str) -> int | None:
    leaf = key.split(".")[-1]
    table = key.rsplit(".", 1)[0] if "." in key else None
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.match(r"^\[+\s*([^\]]+?)\s*\]+", stripped)
        if header:
            current = header.group(1)
            if key == current or key.startswith(current + ".") and key.count(".") == current.count("."):
                return number
            continue
        if re.match(rf'^"?{re.escape(leaf)}"?\s*=', stripped) and (current == table or
                                                                   (table is None and current is None)):
            return number
        if current is None and re.match(rf"^{re.escape(key)}\s*=", stripped):     # a dotted key: content.x = 1
            return number
    return None


def _check_type(key: str, value: Any, kind: str) -> Any:
    if kind == _STR and isinstance(value, str):
        return value
    if kind == _BOOL and isinstance(value, bool):
        return value
    if kind == _INT and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == _NUM and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == _STRLIST and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if kind == _TABLE and isinstance(value, dict):
        return value
    raise TypeError(f"'{key}' must be a {kind}, not {type(value).__name__} ({value!r})")


def parse_config(text: str, root: Path, source: str = "site.toml") -> SiteConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = None
        match = re.search(r"line (\d+)", str(exc))
        if match:
            line = int(match.group(1))
        raise ConfigError(f"cannot parse {source}: {exc}", source, line) from None

    values: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in _TABLES and key != "categories":
            if not isinstance(value, dict):
                raise ConfigError(f"'{key}' must be a table", source, _key_line(text, key))
            for sub, subvalue in value.items():
                flat[f"{key}.{sub}"] = subvalue
        else:
            flat[key] = value

    for key, value in flat.items():
        if key not in SCHEMA:
            known = ", ".join(sorted(SCHEMA))
            raise ConfigError(f"unknown key '{key}' (known keys: {known})", source, _key_line(text, key))
        attr, kind = SCHEMA[key]
        try:
            checked = _check_type(key, value, kind)
        except TypeError as exc:
            raise ConfigError(str(exc), source, _key_line(text, key)) from None
        if key == "validate.severity":
            pairs = []
            for code, level in checked.items():
                if code not in CODES:
                    raise ConfigError(f"unknown diagnostic code '{code}' in 'validate.severity'",
                                      source, _key_line(text, f"validate.severity.{code}"))
                if level not in ("error", "warning", "off"):
                    raise ConfigError(f"'validate.severity.{code}' must be 'error', 'warning' or 'off', "
                                      f"not {level!r}", source, _key_line(text, f"validate.severity.{code}"))
                pairs.append((code, level))
            checked = tuple(sorted(pairs))
        elif key == "categories":
            pairs = []
            for name, description in checked.items():
                if isinstance(description, dict):
                    unknown = sorted(set(description) - {"description"})
                    if unknown:
                        raise ConfigError(f"unknown key '{unknown[0]}' in 'categories.{name}' (the only key is "
                                          "'description')", source, _key_line(text, f"categories.{name}"))
                    description = description.get("description", "")
                if not isinstance(description, str):
                    raise ConfigError(f"'categories.{name}' must be a string (the category's description)",
                                      source, _key_line(text, f"categories.{name}"))
                pairs.append((name, description))
            checked = tuple(sorted(pairs))
        elif key == "linkcheck.ignore":
            for pattern in checked:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ConfigError(f"'linkcheck.ignore' has an invalid regular expression {pattern!r}: {exc}",
                                      source, _key_line(text, key)) from None
        elif key == "handbook.nav" and checked not in HANDBOOK_NAV_MODES:
            raise ConfigError(f"'handbook.nav' must be one of {', '.join(HANDBOOK_NAV_MODES)}, not {checked!r}",
                              source, _key_line(text, key))
        elif key == "base_url" and not valid_base_url(checked):
            raise ConfigError(f"'base_url' must be a full URL (https://example.org/docs/) or a path starting "
                              f"with '/', not {checked!r}", source, _key_line(text, key))
        elif key == "repo_branch" and not checked.strip():
            raise ConfigError("'repo_branch' must name a branch", source, _key_line(text, key))
        elif key == "theme" and not re.fullmatch(r"[A-Za-z0-9_.-]+", checked):
            raise ConfigError(f"'theme' must be a folder name, not {checked!r}", source, _key_line(text, key))
        elif kind == _INT and checked < 1:
            raise ConfigError(f"'{key}' must be at least 1", source, _key_line(text, key))
        elif kind == _NUM and not (0 < checked < float("inf")):
            raise ConfigError(f"'{key}' must be a number of seconds above 0, not {value!r}", source,
                              _key_line(text, key))
        elif kind == _STRLIST and key != "linkcheck.ignore" and any(not item.strip() for item in checked):
            raise ConfigError(f"'{key}' has an empty name in it", source, _key_line(text, key))
        values[attr] = checked

    config = SiteConfig(root=root, **values)
    _check_folders(config, text, source)
    return config


def _check_folders(config: SiteConfig, text: str, source: str) -> None:
    """The content and static folders must be distinct folders inside the site."""
    folders = {"content.patterns": config.patterns_dir, "content.handbook": config.handbook_dir,
               "content.static": config.static_dir}
    normal = {}
    for key, folder in folders.items():
        clean = posixpath.normpath(folder.replace("\\", "/")) if folder.strip() else "."
        if clean in (".", "") or clean.startswith(("/", "../")) or clean == ".." or re.match(r"^[A-Za-z]:", clean):
            raise ConfigError(f"'{key}' must name a folder inside the site, not {folder!r}", source,
                              _key_line(text, key))
        normal[key] = clean
    keys = list(normal)
    for i, first in enumerate(keys):
        for second in keys[i + 1:]:
            a, b = normal[first], normal[second]
            if a == b or a.startswith(b + "/") or b.startswith(a + "/"):
                raise ConfigError(f"'{first}' ({folders[first]!r}) and '{second}' ({folders[second]!r}) "
                                  "overlap: each must be a folder of its own", source,
                                  _own_line(text, second) or _key_line(text, first))


def check_content_exists(config: SiteConfig) -> None:
    """For the commands that read the content: a content folder named in site.toml must exist,
    and at least one content folder must (else this is not a site root)."""
    text = ""
    path = config.root / "site.toml"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        pass
    defaults = SiteConfig(root=config.root)
    for key, folder, default in (("content.patterns", config.patterns_dir, defaults.patterns_dir),
                                 ("content.handbook", config.handbook_dir, defaults.handbook_dir)):
        if folder != default and not (config.root / folder).is_dir():
            raise ConfigError(f"'{key}' names the folder {folder!r}, which does not exist in {config.root}",
                              "site.toml", _key_line(text, key))
    if not (config.root / config.patterns_dir).is_dir() and not (config.root / config.handbook_dir).is_dir():
        where = "site.toml" if path.exists() else str(config.root)
        raise ConfigError(f"no content here: neither '{config.patterns_dir}' nor '{config.handbook_dir}' exists in "
                          f"{config.root}; run from the site's root folder or pass --root", where)


def load_config(root: Path) -> SiteConfig:
    """Read ``site.toml`` under ``root``; missing file means all defaults."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"site root '{root}' is not a folder", str(root))
    path = root / "site.toml"
    if not path.exists():
        return SiteConfig(root=root.resolve())
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read site.toml: {exc}") from None
    return parse_config(text, root.resolve())
