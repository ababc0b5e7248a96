"""Diagnostics: problems found in the sources or the output, as plain values.

Every stage returns ``Diagnostic`` values instead of printing or raising; only the
command line turns them into text, JSON or GitHub workflow commands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import Enum
from typing import Iterable, Mapping


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    OFF = "off"


# Every diagnostic code the project can emit, with its default severity and a
# one-line description. ``docs/diagnostics.md`` documents each of them; a test
# keeps the two in step.
CODES: dict[str, tuple[Severity, str]] = {
    "config-invalid": (Severity.ERROR, "site.toml cannot be read, or has an unknown key or a wrong type"),
    "encoding-invalid": (Severity.ERROR, "the file is not UTF-8"),
    "frontmatter-invalid": (Severity.ERROR, "the header cannot be parsed"),
    "field-missing": (Severity.ERROR, "a required field is absent"),
    "field-invalid": (Severity.ERROR, "a field has the wrong type or value"),
    "section-missing": (Severity.ERROR, "a required pattern section is absent"),
    "section-empty": (Severity.ERROR, "a required section has no content"),
    "section-duplicate": (Severity.ERROR, "the same section appears twice"),
    "section-order": (Severity.WARNING, "known sections are out of the canonical order"),
    "link-broken": (Severity.ERROR, "a link points to a page or file that does not exist"),
    "link-anchor": (Severity.ERROR, "the page exists but has no such heading or id"),
    "link-draft": (Severity.WARNING, "a published page links to a draft"),
    "link-alias": (Severity.WARNING, "a link names an old URL of a page (an alias); it goes to the page"),
    "link-unparsed": (Severity.WARNING, "text written like a link that Markdown reads as text"),
    "shortcode": (Severity.WARNING, "a Hugo or Zola shortcode, which is not run"),
    "link-external": (Severity.ERROR, "an external URL failed when checked"),
    "slug-duplicate": (Severity.ERROR, "two pages would write the same URL"),
    "readme-unpublished": (Severity.WARNING, "a folder's README.md is not published beside its index.md"),
    "taxonomy-collision": (Severity.WARNING, "two different tags or categories would share one page"),
    "owner-missing": (Severity.OFF, "a handbook page has no maintainedBy owner"),
    "template-error": (Severity.ERROR, "a theme template failed to load or render"),
    "internal-error": (Severity.ERROR, "the generator itself failed on this input"),
}


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem, pointing at a place in a file.

    ``path`` is relative to the site root with ``/`` separators (or, for output
    checks, relative to the checked folder). ``line`` and ``column`` are 1-based
    and point into the original file; either may be ``None`` when unknown.
    """

    path: str
    line: int | None
    column: int | None
    code: str
    message: str
    severity: Severity = Severity.ERROR
    hint: str | None = None

    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.column or 0, self.code, self.message)

    def location(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


def make(path: str, line: int | None, column: int | None, code: str, message: str,
         hint: str | None = None) -> Diagnostic:
    """A diagnostic with the code's default severity."""
    severity = CODES[code][0] if code in CODES else Severity.ERROR
    return Diagnostic(path, line, column, code, message, severity, hint)


def apply_severities(diagnostics: Iterable[Diagnostic],
                     overrides: Mapping[str, str]) -> list[Diagnostic]:
    """Apply per-code severities from the configuration; drop the ones turned off."""
    result = []
    for diag in diagnostics:
        level = overrides.get(diag.code)
        if level is not None:
            diag = replace(diag, severity=Severity(level))
        if diag.severity is not Severity.OFF:
            result.append(diag)
    return result


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    unique = {(d.sort_key(), d.severity, d.hint): d for d in diagnostics}
    return sorted(unique.values(), key=Diagnostic.sort_key)


def count(diagnostics: Iterable[Diagnostic]) -> tuple[int, int]:
    errors = warnings = 0
    for d in diagnostics:
        if d.severity is Severity.ERROR:
            errors += 1
        elif d.severity is Severity.WARNING:
            warnings += 1
    return errors, warnings


def exit_code(diagnostics: Iterable[Diagnostic], strict: bool = False) -> int:
    errors, warnings = count(diagnostics)
    if errors or (strict and warnings):
        return 1
    return 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary_line(diagnostics: list[Diagnostic], pages: int, noun: str = "page") -> str:
    errors, warnings = count(diagnostics)
    return f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(pages, noun)}"


def format_text(diagnostics: list[Diagnostic], pages: int, noun: str = "page",
                color: bool = False) -> str:
    lines = []
    for d in diagnostics:
        label = f"{d.severity.value}[{d.code}]"
        if color:
            tint = "\x1b[31m" if d.severity is Severity.ERROR else "\x1b[33m"
            label = f"{tint}{label}\x1b[0m"
        text = f"{d.location()}: {label}: {d.message}"
        if d.hint:
            text += f" ({d.hint})"
        lines.append(text)
    lines.append(summary_line(diagnostics, pages, noun))
    return "\n".join(lines) + "\n"


def format_json(diagnostics: list[Diagnostic], pages: int, extra: Mapping | None = None) -> str:
    errors, warnings = count(diagnostics)
    summary = {"errors": errors, "warnings": warnings, "pages": pages}
    if extra:
        summary.update(extra)
    return json.dumps({"diagnostics": [d.to_dict() for d in diagnostics], "summary": summary},
                      indent=2, ensure_ascii=False) + "\n"


def _gh_escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_escape_property(text: str) -> str:
    return _gh_escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diagnostics: list[Diagnostic], pages: int, noun: str = "page") -> str:
    lines = []
    for d in diagnostics:
        command = "error" if d.severity is Severity.ERROR else "warning"
        props = [f"file={_gh_escape_property(d.path)}"]
        if d.line is not None:
            props.append(f"line={d.line}")
        if d.column is not None:
            props.append(f"col={d.column}")
        props.append(f"title={_gh_escape_property(d.code)}")
        message = d.message + (f" ({d.hint})" if d.hint else "")
        lines.append(f"::{command} {','.join(props)}::{_gh_escape_data(message)}")
    lines.append(summary_line(diagnostics, pages, noun))
    return "\n".join(lines) + "\n"


def render(diagnostics: list[Diagnostic], fmt: str, pages: int, noun: str = "page",
           color: bool = False, extra: Mapping | None = None) -> str:
    if fmt == "json":
        return format_json(diagnostics, pages, extra)
    if fmt == "github":
        return format_github(diagnostics, pages, noun)
    return format_text(diagnostics, pages, noun, color)
