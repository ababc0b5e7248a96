"""Validation: every diagnostic code, its exact place, the output formats and the exit codes."""

from __future__ import annotations

import json
import re

import pytest

from conftest import pattern, run_cli

GOOD = {
    "content/patterns/triage.md": pattern("Triage"),
    "content/patterns/escalation.md": pattern("Escalation", body_extra="See [triage](triage.md#solution).\n"),
}


def diagnostics_of(root, *args) -> list[dict]:
    result = run_cli("check", "--root", str(root), "--format", "json", *args)
    assert result.code in (0, 1), result.err
    return result.json()["diagnostics"]


def only(diags: list[dict], code: str) -> list[tuple]:
    return [(d["path"], d["line"], d["column"], d["severity"]) for d in diags if d["code"] == code]


def test_good_site_is_clean(site):
    root = site(GOOD)
    result = run_cli("check", "--root", str(root))
    assert result.code == 0, result.out
    assert result.out.strip() == "0 errors, 0 warnings in 2 pages"


# code -> (files, expected (path, line, column, severity) list)
CASES = {
    "encoding-invalid": (
        {"content/handbook/latin.md": b"# Caf\xe9\n\nok\n"},
        [("content/handbook/latin.md", 1, 6, "error")]),
    "frontmatter-invalid": (
        {"content/patterns/a.md": "---\ntitle: [unclosed\ndate: 2024-01-01\n---\nbody\n",
         "content/patterns/b.md": "---\ntitle: B\n## Problem\n",
         "content/patterns/c.md": "title=C\ndate=2023-01-01\nthis line is wrong\n~~~~~~\n***Problem***: p\n\n"
                                  "***Context***: c\n\n***Solution***: s\n\n***Consequences***: x\n"},
        [("content/patterns/a.md", 3, 5, "error"), ("content/patterns/b.md", 1, 1, "error"),
         ("content/patterns/c.md", 3, 1, "error")]),
    "field-missing": (
        {"content/patterns/a.md": "---\ndate: 2024-01-01\n---\n## Problem\np\n## Context\nc\n## Solution\ns\n"
                                  "## Consequences\nx\n"},
        [("content/patterns/a.md", 1, None, "error")]),
    "field-invalid": (
        {"content/patterns/a.md": pattern("A", date="2024-02-30", status="live", tags="{a: 1}")},
        [("content/patterns/a.md", 3, 1, "error"), ("content/patterns/a.md", 4, 1, "error"),
         ("content/patterns/a.md", 7, 1, "error")]),
    "section-missing": (
        {"content/patterns/a.md": pattern("A", sections={"Problem": "p", "Context": "c", "Solution": "s"})},
        [("content/patterns/a.md", 1, None, "error")]),
    "section-empty": (
        {"content/patterns/a.md": pattern("A", sections={"Problem": "p", "Context": "", "Solution": "s",
                                                          "Consequences": "x"})},
        [("content/patterns/a.md", 14, 1, "error")]),
    "section-duplicate": (
        {"content/patterns/a.md": pattern("A", body_extra="## Problem\n\nagain\n")},
        [("content/patterns/a.md", 26, 1, "error")]),
    "section-order": (
        {"content/patterns/a.md": pattern("A", sections={"Problem": "p", "Solution": "s", "Context": "c",
                                                          "Consequences": "x"})},
        [("content/patterns/a.md", 18, 1, "warning")]),
    "link-broken": (
        {**GOOD, "content/patterns/x.md": pattern("X", body_extra="Go [there](triage-guide.md) or "
                                                  "![pic](img/none.png).\n")},
        [("content/patterns/x.md", 26, 4, "error"), ("content/patterns/x.md", 26, 32, "error")]),
    "link-anchor": (
        {**GOOD, "content/patterns/x.md": pattern("X", body_extra="[a](triage.md#solutoin) [b](#nowhere)\n")},
        [("content/patterns/x.md", 26, 1, "error"), ("content/patterns/x.md", 26, 25, "error")]),
    "link-draft": (
        {**GOOD, "content/patterns/d.md": pattern("D", status="draft"),
         "content/patterns/x.md": pattern("X", body_extra="\nSee [d](d.md).\n")},
        [("content/patterns/x.md", 27, 5, "warning")]),
    "link-unparsed": (
        {**GOOD, "content/handbook/h.md": "# H\n\nSee [the guide](setup guide.md), [ok](<a b.md>), [ok](a%20b.md).\n\n"
                                          "- Also [the site] (https://example.org) and [sic] (not a link).\n\n"
                                          "`[in](code span)` and \\[escaped](on purpose) and [a](a%20b.md \"title\")\n\n"
                                          "```\n[in](a fence)\n```\n\n"
                                          "Prose: [0, 1](open interval), f[x](t s), Smith et al. [12] (https://doi.org/x).\n",
         "content/handbook/a b.md": "# A B\n"},
        [("content/handbook/h.md", 3, 5, "warning"), ("content/handbook/h.md", 5, 8, "warning")]),
    "shortcode": (
        {**GOOD, "content/handbook/h.md": "# H\n\nSee {{< figure src=\"b.png\" >}}, [z](@/patterns/triage.md).\n\n"
                                          "```\n{{< in code >}}\n```\n\nAnd `{{% inline code %}}`.\n\n"
                                          "{{% notice %}}\ntext\n{{% /notice %}}\n\n<!-- {{< commented >}} -->\n"},
        [("content/handbook/h.md", 3, 5, "warning"), ("content/handbook/h.md", 11, 1, "warning")]),
    "slug-duplicate": (
        {**GOOD, "content/patterns/x.md": pattern("X", extra_header="slug: triage\n")},
        [("content/patterns/x.md", 8, None, "error")]),
    "taxonomy-collision": (
        {"content/patterns/a.md": pattern("A", tags="[C++, devrel]", categories="[Code]"),
         "content/patterns/b.md": pattern("B", tags="[DevRel, 'C#']", categories="[code]"),
         "content/patterns/c.md": pattern("C", tags="['c#', 'C #']", categories="['Code!']")},
        [("content/patterns/b.md", 4, None, "warning"), ("content/patterns/c.md", 4, None, "warning"),
         ("content/patterns/c.md", 5, None, "warning")]),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_code_at_its_exact_place(site, code):
    files, expected = CASES[code]
    root = site(files)
    diags = diagnostics_of(root)
    assert only(diags, code) == expected, json.dumps(diags, indent=1)
    result = run_cli("check", "--root", str(root))
    want = 1 if any(e[3] == "error" for e in expected) else 0
    assert result.code == want


def test_a_section_heading_close_to_a_required_one_is_pointed_at(site):
    root = site({"content/patterns/a.md": pattern("A", sections={"Problem": "p", "Context": "c", "Solutions": "s",
                                                                 "Resulting Context": "r", "Consequences": "x"})})
    [missing] = [d for d in diagnostics_of(root) if d["code"] == "section-missing"]
    assert (missing["line"], missing["column"]) == (18, 1)
    assert missing["message"] == "required section 'Solution' is missing"
    assert missing["hint"] == "is 'Solutions' meant to be it? Rename that heading to '## Solution'"


def test_a_required_section_written_at_another_heading_level_is_pointed_at(site):
    body = ("---\ntitle: A\n---\n# A\n\n## Problem\n\np\n\n## Context\n\nc\n\n"
            "### Solution:\n\ns\n\n#### consequences\n\nx\n")
    root = site({"content/patterns/a.md": body})
    missing = [(d["line"], d["message"], d["hint"]) for d in diagnostics_of(root) if d["code"] == "section-missing"]
    assert missing == [
        (14, "required section 'Solution' is missing",
         "'### Solution:' is a level-3 heading; a section is a level-2 one: '## Solution'"),
        (18, "required section 'Consequences' is missing",
         "'#### consequences' is a level-4 heading; a section is a level-2 one: '## Consequences'"),
    ]


def test_owner_missing_is_off_by_default_and_configurable(site):
    files = {"content/handbook/a.md": "# A\n\ntext\n"}
    root = site(files)
    assert only(diagnostics_of(root), "owner-missing") == []
    (root / "site.toml").write_text('[validate.severity]\nowner-missing = "error"\n')
    assert only(diagnostics_of(root), "owner-missing") == [("content/handbook/a.md", 1, None, "error")]
    (root / "site.toml").write_text('[validate.severity]\nowner-missing = "warning"\n')
    assert run_cli("check", "--root", str(root)).code == 0
    assert run_cli("check", "--root", str(root), "--strict").code == 1


def test_severity_and_required_sections_are_configurable(site):
    files = {"site.toml": '[validate]\nrequired_sections = ["Problem", "Solution"]\n'
                          'pattern_fields = ["title", "date", "categories"]\n'
                          '[validate.severity]\nsection-order = "off"\n',
             "content/patterns/a.md": "---\ntitle: A\ndate: 2024-01-01\n---\n## Solution\ns\n## Problem\np\n"}
    root = site(files)
    diags = diagnostics_of(root)
    assert [(d["code"], d["message"]) for d in diags] == [
        ("field-missing", "required field 'categories' is missing")]


def test_hints_suggest_the_closest_page_and_heading(site):
    root = site({**GOOD, "content/patterns/x.md": pattern(
        "X", body_extra="[a](triage-guide.md) [b](triage.md#solutoin) [c](#triage)\n")})
    diags = {d["message"]: d["hint"] for d in diagnostics_of(root)}
    assert diags["no page 'triage-guide.md'"] == "did you mean 'triage.md'?"
    assert diags["no heading or id '#solutoin' in 'content/patterns/triage.md'"] == "did you mean '#solution'?"
    assert diags["no heading or id '#triage' in this page"] == "did you mean the page 'triage.md'?"


def test_a_missing_file_is_matched_with_files_only(site):
    root = site({**GOOD, "content/patterns/img/flow-diagram.png": b"png",
                 "content/patterns/x.md": pattern("X", body_extra="![a](img/flow-diagam.png) ![b](../triage.jpg) "
                                                                  "[c](notes/triage.pdf)\n")})
    diags = {d["message"]: d["hint"] for d in diagnostics_of(root)}
    assert diags["no file 'img/flow-diagam.png'"] == "did you mean 'img/flow-diagram.png'?"
    assert diags["no file '../triage.jpg'"] is None                  # not the page triage.md
    assert diags["no file 'notes/triage.pdf'"] is None


def test_text_format_matches_compiler_style(site):
    root = site({**GOOD, "content/patterns/x.md": pattern("X", body_extra="[a](triage-guide.md)\n")})
    result = run_cli("check", "--root", str(root))
    lines = result.out.splitlines()
    assert lines[0] == ("content/patterns/x.md:26:1: error[link-broken]: no page 'triage-guide.md' "
                        "(did you mean 'triage.md'?)")
    assert lines[-1] == "1 error, 0 warnings in 3 pages"


def test_json_format_schema(site):
    root = site({**GOOD, "content/patterns/x.md": pattern("X", sections={"Problem": "p"})})
    result = run_cli("check", "--root", str(root), "--format", "json")
    data = result.json()
    assert set(data) == {"diagnostics", "summary"}
    assert data["summary"] == {"errors": 3, "warnings": 0, "pages": 3}
    for diag in data["diagnostics"]:
        assert set(diag) == {"path", "line", "column", "severity", "code", "message", "hint"}
        assert "\\" not in diag["path"] and not diag["path"].startswith("/")


def test_github_format_is_workflow_commands(site):
    root = site({**GOOD, "content/patterns/x.md": pattern("X", body_extra="[a](nope.md)\n"),
                 "content/patterns/y.md": pattern("Y", sections={"Problem": "p", "Solution": "s",
                                                                 "Context": "c", "Consequences": "x"})})
    result = run_cli("check", "--root", str(root), "--format", "github")
    commands = [line for line in result.out.splitlines() if line.startswith("::")]
    assert commands[0] == "::error file=content/patterns/x.md,line=26,col=1,title=link-broken::no page 'nope.md'"
    assert re.fullmatch(r"::warning file=content/patterns/y\.md,line=18,col=1,title=section-order::.+", commands[1])


def test_many_faults_at_once_all_reported_sorted(site):
    files = {f"content/patterns/p{i}.md": pattern(f"P{i}", body_extra=f"[x](missing{i}.md)\n")
             for i in range(5)}
    files["content/patterns/bad.md"] = "---\ntitle: [\n---\n"
    files["content/handbook/bin.md"] = b"\x80\x81"
    root = site(files)
    diags = diagnostics_of(root)
    assert [d["path"] for d in diags] == sorted(d["path"] for d in diags)
    assert len([d for d in diags if d["code"] == "link-broken"]) == 5
    assert {d["code"] for d in diags} == {"link-broken", "frontmatter-invalid", "encoding-invalid"}


def test_config_errors_exit_2_naming_the_key(site, tmp_path):
    root = site({"site.toml": 'title = "x"\ncolour = "red"\n'})
    result = run_cli("check", "--root", str(root))
    assert result.code == 2
    assert "site.toml:2" in result.err and "'colour'" in result.err
    (root / "site.toml").write_text('[markdown]\nhard_breaks = "yes"\n')
    result = run_cli("check", "--root", str(root))
    assert result.code == 2 and "'markdown.hard_breaks' must be a boolean" in result.err
    (root / "site.toml").write_text('title = \n')
    assert run_cli("check", "--root", str(root)).code == 2
    assert run_cli("check", "--root", str(tmp_path / "missing")).code == 2
    assert run_cli("check", "--bogus-option").code == 2


@pytest.mark.parametrize("toml,key,line", [
    ('[content]\npatterns = "content/typo"\n', "'content.patterns'", 3),
    ('[content]\npatterns = "content"\n', "overlap", 3),
    ('[content]\nhandbook = "content/patterns"\n', "overlap", 3),
    ('[content]\nstatic = "content/handbook/img"\n', "overlap", 3),
    ('[content]\npatterns = ""\n', "inside the site", 3),
    ('[content]\nhandbook = "../elsewhere"\n', "inside the site", 3),
    ('[linkcheck]\ntimeout = -1\n', "above 0", 3),
    ('[linkcheck]\ntimeout = nan\n', "above 0", 3),
    ('[validate]\nrequired_sections = ["", "Problem"]\n', "empty name", 3),
    ('[categories.Code]\ndescripton = "x"\n', "'descripton'", 2),
    ('base_url = "example.org/devrel/"\n', "'base_url' must be a full URL", 2),
    ('base_url = "https://[bad/"\n', "'base_url' must be a full URL", 2),
    ('base_url = "https://example.org:port/"\n', "'base_url' must be a full URL", 2),
    ('repo_branch = ""\n', "'repo_branch'", 2),
    ('[validate.severity]\nowner-missing = "warn"\n', "'validate.severity.owner-missing'", 3),
    ('[validate]\nseverity = { owner-missing = "bogus" }\n', "'validate.severity.owner-missing'", 3),
    ('content.patterns = 5\n', "'content.patterns'", 2),
])
def test_config_mistakes_that_used_to_pass_are_errors_with_their_line(site, toml, key, line):
    root = site({**GOOD, "site.toml": 'title = "x"\n' + toml})
    result = run_cli("check", "--root", str(root))
    assert result.code == 2 and key in result.err and f"site.toml:{line}:" in result.err, result.err
    result = run_cli("check", "--root", str(root), "--format", "json")
    assert result.code == 2 and result.json()["diagnostics"][0]["code"] == "config-invalid"
    result = run_cli("check", "--root", str(root), "--format", "github")
    assert result.code == 2 and result.out.startswith(f"::error file=site.toml,line={line}")


def test_a_folder_that_is_not_a_site_root_is_refused(site):
    root = site(GOOD)
    for folder in (root / "content/patterns", root / "content"):
        for command in ("check", "build"):
            result = run_cli(command, "--root", str(folder))
            assert result.code == 2 and "no content here" in result.err, (folder, command, result.err)
    assert not (root / "content/patterns/build").exists() and not (root / "content/build").exists()


def test_failed_build_leaves_previous_output_untouched(site):
    root = site(GOOD)
    assert run_cli("build", "--root", str(root), "--no-search").code == 0
    before = {p: p.read_bytes() for p in (root / "build").rglob("*") if p.is_file()}
    (root / "content/patterns/escalation.md").write_text(pattern("Escalation", body_extra="[x](gone.md)\n"))
    result = run_cli("build", "--root", str(root), "--no-search")
    assert result.code == 1
    assert "link-broken" in result.out
    after = {p: p.read_bytes() for p in (root / "build").rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in root.iterdir()) == [".devrel-cache", "build", "content"]  # no temporary folders
    result = run_cli("build", "--root", str(root), "--no-search", "--keep-going")
    assert result.code == 1
    assert b"gone.md" in (root / "build/patterns/escalation/index.html").read_bytes()


def test_check_writes_nothing(site):
    root = site(GOOD)
    run_cli("check", "--root", str(root))
    assert sorted(p.name for p in root.iterdir()) == ["content"]


def test_links_to_the_content_folders_reach_their_generated_pages(site):
    """The patterns folder (and its README, which is no pattern) is the catalog; the handbook
    folder without an index page is the handbook's index; a path from the repository root
    reaches files as it reaches pages, as on GitHub."""
    root = site({
        "content/patterns/README.md": "# Patterns\n\nRead [office hours](office-hours.md).\n",
        "content/patterns/office-hours.md": pattern("Office Hours", body_extra="See [all](./) and [its README](README.md).\n"),
        "content/handbook/img/light.png": b"",
        "content/handbook/guide/deep/page.md": (
            "# Deep\n\n[All](../../../patterns/) [readme](../../../patterns/README.md#x) [home](../../)\n"
            "![logo](/content/handbook/img/light.png) ![again](/content/handbook/../handbook/img/light.png)\n"
            "[gone](/content/handbook/img/none.png) [sub](../../../patterns/sub/)\n"),
    })
    diags = diagnostics_of(root)
    assert [(d["line"], d["column"], d["message"]) for d in diags if d["code"] == "link-broken"] == [
        (5, 1, "no file '/content/handbook/img/none.png'"), (5, 40, "no page '../../../patterns/sub/'")]
    page = root / "content/handbook/guide/deep/page.md"
    page.write_text(page.read_text().replace("[gone](/content/handbook/img/none.png) [sub](../../../patterns/sub/)", ""))
    assert run_cli("build", "--root", str(root), "--no-search").code == 0
    html = (root / "build/handbook/guide/deep/page/index.html").read_text()
    for href in ('href="../../../../patterns/index.html"', 'href="../../../../patterns/index.html#x"',
                 'href="../../../index.html"', 'src="../../../img/light.png"'):
        assert href in html, href
    assert 'href="../index.html">all</a>' in (root / "build/patterns/office-hours/index.html").read_text()


def test_a_broken_link_to_a_readme_or_a_hidden_file_says_why(site):
    root = site({
        "content/handbook/support/index.md": "# Support\n",
        "content/handbook/support/README.md": "# Support, for the repository\n",
        "content/handbook/_shared/glossary.md": "# Glossary\n",
        "content/handbook/links.md": "# Links\n\n[a](support/README.md) [b](_shared/glossary.md#glossary) "
                                     "![c](.hidden/x.png)\n",
    })
    hints = [(d["message"], d["hint"]) for d in diagnostics_of(root) if d["code"] == "link-broken"]
    assert hints == [
        ("no page 'support/README.md'", "did you mean 'support/index.md'?"),
        ("no page '_shared/glossary.md'", "'_shared' starts with '_': such files and folders are not published"),
        ("no file '.hidden/x.png'", "'.hidden' starts with '.': such files and folders are not published")]


def test_a_link_to_a_folder_without_a_page_is_broken_not_the_page_itself(site):
    """``./`` in a folder without an index or README page names the folder (as on GitHub), not
    the page the link is in (as a URL relative to the page would)."""
    root = site({
        "content/handbook/team/one.md": "# One\n\n[here](./) [again](../team/) [pics](img/) [up](../) [two](two.md)\n",
        "content/handbook/team/two.md": "# Two\n",
        "content/handbook/team/img/a.png": b"",
        "content/handbook/ops/README.md": "# Ops\n\n[here](./) [team](../team/)\n",
    })
    found = [(d["path"], d["column"], d["message"], d["hint"]) for d in diagnostics_of(root) if d["code"] == "link-broken"]
    no_index = "has no index.md, _index.md or README.md: add one, or link to a page in it"
    assert found == [
        ("content/handbook/ops/README.md", 12, "no page '../team/'", f"the folder 'content/handbook/team' {no_index}"),
        ("content/handbook/team/one.md", 1, "no page './'", f"the folder 'content/handbook/team' {no_index}"),
        ("content/handbook/team/one.md", 12, "no page '../team/'", f"the folder 'content/handbook/team' {no_index}"),
        ("content/handbook/team/one.md", 30, "no page 'img/'", f"the folder 'content/handbook/team/img' {no_index}")]


def test_a_link_to_an_id_from_an_attribute_list_is_fine(site):
    root = site({"content/handbook/a.md": "# A\n\nDefined here.\n{: #para-id }\n\n[there](#para-id) [no](#nowhere)\n"})
    assert [(d["code"], d["message"]) for d in diagnostics_of(root)] == [
        ("link-anchor", "no heading or id '#nowhere' in this page")]


def test_top_is_the_top_in_any_case_and_a_fragment_in_other_case_gets_a_hint(site):
    root = site({"content/handbook/a.md": "# A\n\n## FAQ\n\n[up](#TOP) [up](#top) [faq](#FAQ)\n"})
    assert [(d["code"], d["hint"]) for d in diagnostics_of(root)] == [("link-anchor", "did you mean '#faq'?")]
