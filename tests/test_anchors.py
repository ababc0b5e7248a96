"""Links and anchors as a handbook written for GitHub has them: what `check` accepts must land
in the built site, and what it refuses must be broken there too."""

from __future__ import annotations

import json

from conftest import run_cli

VALID = {
    "site.toml": 'title = "Anchors"\n',
    "content/handbook/heads.md": (
        "# Heads\n\n"
        "## हिन्दी सहायता\n\ntext\n\n"
        "## ![logo](logo.png) Intro\n\ntext\n\n"
        "<a id=unquoted></a>\n\n"
        "<div id='quoted'>x</div>\n\n"
        "<!-- <a href=\"gone.md\">old</a> -->\n\n"
        "<!--\n<a href=\"gone-too.md\">old</a>\n-->\n\n"
        "<p data-href=\"nowhere.md\" data-src=\"none.png\">data attributes are not links</p>\n"),
    "content/handbook/logo.png": b"\x89PNG\r\n\x1a\n",
    "content/handbook/lower/readme.md": "# Lower\n\ntext\n",
    "content/handbook/Upper.MD": "# Upper\n\ntext\n",
    "content/handbook/intro.md": (
        "# Intro\n\n"
        "[1](heads.md#हिन्दी-सहायता) [2](heads.md#-intro) [3](heads.md#unquoted) [4](heads.md#quoted) "
        "[5](lower/) [6](lower) [7](/content/handbook/heads.md#quoted) [8](Upper.MD) [9](Upper.html)\n"),
}


def diagnostics(root) -> list[tuple]:
    result = run_cli("check", "--root", str(root), "--format", "json")
    return [(d["path"], d["line"], d["code"], d["message"]) for d in json.loads(result.out)["diagnostics"]]


def test_links_written_for_github_resolve_and_land_in_the_built_site(site):
    root = site(VALID)
    assert diagnostics(root) == []
    result = run_cli("build", "--root", str(root), "--no-search", "--linkcheck")
    assert result.code == 0, result.out + result.err
    assert (root / "build/handbook/upper/index.html").is_file()


def test_what_check_refuses_is_not_in_the_built_site_either(site):
    files = dict(VALID)
    files["content/handbook/heads.md"] += ("\n<!-- <a id=\"incomment\"></a> -->\n\n"
                                           "<form><input name=\"q\"></form>\n")
    files["content/handbook/bad.md"] = "# Bad\n\n[a](heads.md#incomment) [b](heads.md#q) [c](heads.md#logo-intro)\n"
    root = site(files)
    found = diagnostics(root)
    assert [(path, code) for path, _, code, _ in found] == [("content/handbook/bad.md", "link-anchor")] * 3, found
    # Built anyway, the output's own link check finds the same three anchors missing.
    assert run_cli("build", "--root", str(root), "--no-search", "--keep-going").code == 1
    result = run_cli("linkcheck", "--root", str(root), "--format", "json")
    broken = sorted(d["message"] for d in json.loads(result.out)["diagnostics"])
    assert result.code == 1 and len(broken) == 3, broken
    assert all("heads/index.html" in message for message in broken)
