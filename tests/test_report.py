"""``report``: owners, stale pages from real (backdated) git commits, orphans, tags and categories."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from conftest import pattern, run_cli, write_files

OLD_DAYS = 400
SVG = "{http://www.w3.org/2000/svg}"


def git(root: Path, *args: str, when: dt.datetime | None = None) -> None:
    env = dict(os.environ)
    if when is not None:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)


def commit(root: Path, message: str, when: dt.datetime) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, when=when)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    today = dt.date.today()
    old = dt.datetime.combine(today - dt.timedelta(days=OLD_DAYS), dt.time(12))
    now = dt.datetime.combine(today, dt.time(0, 30))
    write_files(root, {
        "site.toml": 'title = "Report Test"\n',
        "content/patterns/old-pattern.md": pattern("Old Pattern", tags="[devrel]", categories="[Social]"),
        "content/patterns/fresh-pattern.md": pattern(
            "Fresh Pattern", tags="[devrel, unique-tag]", categories="[Social, Code]",
            body_extra="See [the old one](old-pattern.md) and [the guide](../handbook/guide.md).\n\n"
                       "## Variants\n\n* **Quick**: shorter.\n"),
        "content/handbook/index.md": "---\ntitle: Handbook\nmaintainedBy: lead\n---\n# Handbook\n\n"
                                     "Read the [guide](guide.md).\n",
        "content/handbook/guide.md": "---\ntitle: Guide\nmaintainedBy: ana\n---\n# Guide\n\nText.\n",
        "content/handbook/team/notes.md": '# Team Notes\n\n<meta name="maintainedBy" value="ana">\n\n'
                                          "Back to the [guide](../guide.md).\n",
        "content/handbook/ownerless.md": "---\ntitle: Nobody's Page\n---\n# Nobody's Page\n\nText.\n",
    })
    git(root, "init", "-q")
    git(root, "config", "user.name", "Report Test")
    git(root, "config", "user.email", "report@example.org")
    git(root, "config", "commit.gpgsign", "false")
    commit(root, "old content", old)
    fresh = root / "content/patterns/fresh-pattern.md"
    fresh.write_text(fresh.read_text() + "\nA recent edit.\n", encoding="utf-8")
    (root / "content/handbook/team/notes.md").write_text(
        (root / "content/handbook/team/notes.md").read_text() + "\nMore.\n", encoding="utf-8")
    commit(root, "recent edit", now)
    write_files(root, {"content/patterns/uncommitted.md": pattern("Uncommitted", tags="[devrel]")})
    return root


def report_json(root: Path, *args: str) -> dict:
    result = run_cli("report", "--root", str(root), "--format", "json", *args)
    assert result.code == 0, result.err
    return result.json()


def sources(items: list[dict]) -> set[str]:
    return {item["source"] for item in items}


def test_stale_pages_follow_the_last_commit(repo):
    data = report_json(repo, "--stale-after", "180d")
    assert sources(data["stale"]) == {"content/patterns/old-pattern.md", "content/handbook/index.md",
                                      "content/handbook/guide.md", "content/handbook/ownerless.md"}
    old = next(s for s in data["stale"] if s["source"] == "content/patterns/old-pattern.md")
    assert old["days"] == OLD_DAYS
    assert old["changed"] == (dt.date.today() - dt.timedelta(days=OLD_DAYS)).isoformat()
    assert sources(data["untracked"]) == {"content/patterns/uncommitted.md"}
    assert data["stale_after"] == {"value": "180d", "days": 180}


@pytest.mark.parametrize("threshold, stale", [("57w", True), ("58w", False), ("13m", True), ("14m", False),
                                              ("1y", True), ("2y", False), ("399d", True), ("400d", False)])
def test_threshold_units(repo, threshold, stale):
    data = report_json(repo, "--stale-after", threshold)
    assert ("content/patterns/old-pattern.md" in sources(data["stale"])) is stale
    assert "content/patterns/fresh-pattern.md" not in sources(data["stale"])


def test_orphans_owners_sections_tags_categories(repo):
    data = report_json(repo)
    # Nothing links to these; folder index pages are reached through the navigation.
    assert sources(data["orphans"]) == {"content/patterns/fresh-pattern.md", "content/handbook/ownerless.md",
                                        "content/handbook/team/notes.md", "content/patterns/uncommitted.md"}
    assert sources(data["ownerless"]) == {"content/handbook/ownerless.md"}
    owners = {o["owner"]: sources(o["pages"]) for o in data["owners"]}
    assert owners == {"ana": {"content/handbook/guide.md", "content/handbook/team/notes.md"},
                      "lead": {"content/handbook/index.md"}}
    assert data["owners"][0]["owner"] == "ana" and data["owners"][0]["count"] == 2
    missing = {m["source"]: m["missing"] for m in data["missing_sections"]}
    assert missing == {"content/patterns/old-pattern.md": ["Also Known As", "Variants"],
                       "content/patterns/fresh-pattern.md": ["Also Known As"],
                       "content/patterns/uncommitted.md": ["Also Known As", "Variants"]}
    assert [(t["tag"], t["source"]) for t in data["single_tags"]] == \
        [("unique-tag", "content/patterns/fresh-pattern.md")]
    assert data["categories"] == [{"category": "Social", "count": 3}, {"category": "Code", "count": 1}]
    assert data["summary"]["pages"] == 7 and data["summary"]["patterns"] == 3


def test_text_report(repo):
    result = run_cli("report", "--root", str(repo), "--stale-after", "6m")
    assert result.code == 0, result.err
    text = result.out
    assert "Handbook pages without an owner (1)\n  content/handbook/ownerless.md" in text
    assert "Not changed in git for more than 6m (180 days) (4)" in text
    assert "content/patterns/old-pattern.md  last changed " in text and f"{OLD_DAYS} days ago" in text
    assert "Tags used only once (1)\n  unique-tag  content/patterns/fresh-pattern.md" in text


def test_html_report_is_self_contained_and_well_formed(repo, tmp_path):
    out = tmp_path / "reports/health.html"
    result = run_cli("report", "--root", str(repo), "--format", "html", "--out", str(out))
    assert result.code == 0, result.err
    assert result.out == ""
    html = out.read_text(encoding="utf-8")
    tree = ET.fromstring(html.split("\n", 1)[1])            # well-formed, once the doctype line is off
    assert html.startswith("<!DOCTYPE html>")
    assert tree.get("lang") == "en"
    charts = list(tree.iter(f"{SVG}svg"))
    assert len(charts) == 2
    for chart in charts:
        assert chart.get("role") == "img"
        assert chart.find(f"{SVG}title") is not None
        assert len(list(chart.iter(f"{SVG}rect"))) >= 2
    page = BeautifulSoup(html, "lxml")
    assert not page.find_all("script")
    assert not page.select("link[rel=stylesheet]") and page.find("style")
    assert "<svg" in html
    assert page.find(string="content/handbook/ownerless.md")
    categories = page.select_one("#chart-categories-desc").get_text()
    assert categories == "Social: 3; Code: 1"


def test_bad_threshold_and_outside_git(site):
    root = site({"content/patterns/a.md": pattern("A")})
    assert run_cli("report", "--root", str(root), "--stale-after", "10x").code == 2
    assert run_cli("report", "--root", str(root), "--stale-after", "180").code == 2
    assert run_cli("report", "--root", str(root), "--format", "xml").code == 2
    data = report_json(root)
    assert sources(data["untracked"]) == {"content/patterns/a.md"}
    assert data["stale"] == []
