"""The documentation cannot drift: every diagnostic code, site.toml key and CLI option is documented."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from generator.cli import build_parser
from generator.config import SCHEMA
from generator.diagnostics import CODES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _all_docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))


def test_every_diagnostic_code_is_documented_with_its_default():
    text = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    for code, (severity, _) in CODES.items():
        row = re.search(rf"^\| `{re.escape(code)}` \| (\w+) \|", text, re.MULTILINE)
        assert row, f"diagnostic code {code} is not in docs/diagnostics.md"
        assert row.group(1) == severity.value, f"{code}: documented default {row.group(1)} != {severity.value}"
    documented = set(re.findall(r"^\| `([a-z]+-[a-z]+)` \|", text, re.MULTILINE))
    assert documented <= set(CODES), f"documented but unknown codes: {documented - set(CODES)}"


def test_every_config_key_is_documented():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for key in SCHEMA:
        assert re.search(rf"^\| `{re.escape(key)}` \|", text, re.MULTILINE), f"site.toml key {key} is undocumented"


def _options(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_options(sub, f"{prefix}{name} "))
    if prefix:
        found[prefix.strip()] = {opt for action in parser._actions for opt in action.option_strings
                                 if opt.startswith("--") and opt != "--help"}
    return found


def test_every_command_and_option_is_documented():
    text = _all_docs()
    commands = _options(build_parser())
    assert {"build", "check", "linkcheck"} <= set(commands)
    for command, options in commands.items():
        assert re.search(rf"devrel-site {re.escape(command)}\b", text), f"command '{command}' is undocumented"
        for option in options:
            assert option in text, f"option {option} of '{command}' is undocumented"
