"""The ``new`` command: pages from archetypes, never overwriting, always passing ``check``."""

from __future__ import annotations

import datetime as dt
import re

import yaml

from conftest import run_cli, soup, write_files

SITE = {"site.toml": 'title = "Scaffold Test"\n'}


def frontmatter(text: str) -> tuple[dict, str]:
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.DOTALL)
    assert match, text
    return yaml.safe_load(match.group(1)), match.group(2)


def test_new_pattern_writes_a_draft_with_every_required_section(site):
    root = site(SITE)
    result = run_cli("new", "pattern", "Customer Check-In", "--category", "Social", "--tag", "devrel",
                     "--tag", "feedback: loop", "--root", str(root))
    assert result.code == 0, result.err
    path = root / "content/patterns/customer-check-in.md"
    assert result.out.strip().endswith("content/patterns/customer-check-in.md")
    meta, body = frontmatter(path.read_text(encoding="utf-8"))
    assert meta["title"] == "Customer Check-In"
    assert str(meta["date"]) == dt.date.today().isoformat()
    assert meta["status"] == "draft"
    assert meta["categories"] == ["Social"]
    assert meta["tags"] == ["devrel", "feedback: loop"]
    assert "description" in meta
    headings = re.findall(r"^## (.+)$", body, re.MULTILINE)
    assert headings == ["Problem", "Context", "Solution", "Consequences"]
    assert "Describe the problem this pattern solves." in body
    # Every heading has a one-line prompt under it.
    for name in headings:
        after = body.split(f"## {name}\n", 1)[1].lstrip("\n").split("\n", 1)[0]
        assert after.strip() and not after.startswith("#"), name


def test_fresh_and_filled_patterns_pass_check(site):
    root = site(SITE)
    assert run_cli("new", "pattern", "Office Hours", "--category", "Social", "--root", str(root)).code == 0
    fresh = run_cli("check", "--root", str(root))
    assert fresh.code == 0, fresh.out
    assert fresh.out.strip() == "0 errors, 0 warnings in 1 page"
    assert run_cli("check", "--root", str(root), "--drafts", "--strict").code == 0

    path = root / "content/patterns/office-hours.md"
    text = path.read_text(encoding="utf-8").replace("status: draft", "status: published")
    text = re.sub(r"(## (\w+)\n\n)[^\n]+", lambda m: f"{m.group(1)}Our own words about {m.group(2).lower()}.", text)
    path.write_text(text, encoding="utf-8")
    filled = run_cli("check", "--root", str(root), "--strict")
    assert filled.code == 0, filled.out
    built = run_cli("build", "--root", str(root), "--no-search")
    assert built.code == 0, built.out + built.err
    page = soup(root / "build/patterns/office-hours/index.html")
    assert [h2["id"] for h2 in page.select("article .prose h2")] == ["problem", "context", "solution",
                                                                      "consequences"]
    assert "Our own words about solution." in page.get_text()


def test_new_refuses_to_overwrite(site):
    root = site(SITE)
    assert run_cli("new", "pattern", "Hackathon", "--root", str(root)).code == 0
    path = root / "content/patterns/hackathon.md"
    path.write_text(path.read_text() + "\nMy edits.\n", encoding="utf-8")
    before = path.read_bytes()
    again = run_cli("new", "pattern", "Hackathon", "--root", str(root))
    assert again.code == 1
    assert "already exists" in again.err and "hackathon.md" in again.err
    assert path.read_bytes() == before


def test_new_refuses_a_title_whose_url_is_taken(site):
    root = site({**SITE, "content/patterns/legacy-name.md": "---\ntitle: Old\nslug: Live Demo\n---\n"})
    result = run_cli("new", "pattern", "Live Demo", "--root", str(root))
    assert result.code == 1
    assert "legacy-name.md" in result.err
    assert not (root / "content/patterns/live-demo.md").exists()


def test_new_handbook_page_in_nested_folder(site):
    root = site(SITE)
    result = run_cli("new", "handbook", "support/escalations", "Escalations", "--owner", "kim",
                     "--root", str(root))
    assert result.code == 0, result.err
    path = root / "content/handbook/support/escalations.md"
    assert path.is_file()
    meta, body = frontmatter(path.read_text(encoding="utf-8"))
    assert meta == {"title": "Escalations", "maintainedBy": "kim"}
    assert body.startswith("# Escalations\n")
    assert run_cli("check", "--root", str(root), "--strict").code == 0
    built = run_cli("build", "--root", str(root), "--no-search")
    assert built.code == 0, built.out
    page = soup(root / "build/handbook/support/escalations/index.html")
    assert page.select_one("h1").get_text(strip=True) == "Escalations"

    # Without --owner there is no maintainedBy; deeper folders are created too.
    assert run_cli("new", "handbook", "support/tier-2/On Call.md", "On Call", "--root", str(root)).code == 0
    meta, _ = frontmatter((root / "content/handbook/support/tier-2/on-call.md").read_text())
    assert meta == {"title": "On Call"}
    assert run_cli("new", "handbook", "support/escalations", "Again", "--root", str(root)).code == 1


def test_bad_arguments_exit_2(site):
    root = site(SITE)
    for args in (["new"], ["new", "pattern"], ["new", "widget", "X"], ["new", "pattern", "!!!"],
                 ["new", "handbook", "../outside", "Outside"], ["new", "handbook", "/abs/page", "Abs"],
                 ["new", "handbook", "support/x", "  "]):
        result = run_cli(*args, "--root", str(root)) if len(args) > 1 else run_cli(*args)
        assert result.code == 2, (args, result.out, result.err)
    assert not (root / "content").exists()


def test_a_long_title_gets_a_shortened_file_name_and_a_long_path_a_clear_error(site):
    root = site(SITE)
    title = "Why " + "very " * 80 + "long titles happen"
    result = run_cli("new", "pattern", title, "--root", str(root))
    assert result.code == 0, result.err
    path = root / result.out.strip()
    assert path.name.startswith("why-very-very") and len(path.name.encode()) <= 124
    assert yaml.safe_load(path.read_text().split("---")[1])["title"] == title
    result = run_cli("new", "handbook", "a/" + "b" * 300, "T", "--root", str(root))
    assert result.code in (1, 2) and "Traceback" not in result.err and "too long" in result.err, result.err


def test_site_archetype_and_required_sections_are_used(site):
    root = site({
        "site.toml": """
            [content]
            patterns = "catalog"

            [validate]
            required_sections = ["Problem", "Solution", "Checklist"]
        """,
    })
    assert run_cli("new", "pattern", "Swag Budget", "--root", str(root)).code == 0
    body = (root / "catalog/swag-budget.md").read_text()
    assert re.findall(r"^## (.+)$", body, re.MULTILINE) == ["Problem", "Solution", "Checklist"]
    assert run_cli("check", "--root", str(root)).code == 0

    write_files(root, {"themes/default/archetypes/pattern.md": """
        ---
        title: {{ title | yaml }}
        status: draft
        ---
        Custom archetype for {{ title }}.
        {% for s in sections %}

        ## {{ s }}

        Fill in {{ s }}.
        {% endfor %}
    """})
    assert run_cli("new", "pattern", "Sponsorship", "--root", str(root)).code == 0
    text = (root / "catalog/sponsorship.md").read_text()
    assert "Custom archetype for Sponsorship." in text
    assert "Fill in Checklist." in text
    assert run_cli("check", "--root", str(root)).code == 0


def test_broken_archetype_is_a_clear_error(site):
    root = site({**SITE, "themes/default/archetypes/handbook.md": "---\ntitle: {{ title\n---\n"})
    result = run_cli("new", "handbook", "x", "X", "--root", str(root))
    assert result.code == 2
    assert "archetype" in result.err
    assert not (root / "content/handbook/x.md").exists()


def test_options_may_come_before_the_kind_of_page(site):
    root = site(SITE)
    first = run_cli("new", "--root", str(root), "pattern", "Office Hours")
    assert first.code == 0 and (root / "content/patterns/office-hours.md").is_file(), first.err
    second = run_cli("new", "-q", "--root", str(root), "handbook", "support/desk", "Desk")
    assert second.code == 0 and (root / "content/handbook/support/desk.md").is_file(), second.err
