"""End-to-end: the real CLI builds small sites; the HTML is read back with BeautifulSoup."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

from conftest import pattern, run_cli, soup, write_files

LEGACY = """\
title=Partner Summit
date=2023-02-20
type=page
tags=devrel, events
status=published
description=Bring partners together once a year.
~~~~~~
*Social, Budget*

A yearly gathering of partners.

***Also Known As***: Partner Day; "Summit" (the short name)

***Problem***: Partners drift apart from the roadmap. See [the check-in](customer-check-in.html#solution).

***Context***: You have a dozen partners.

***Solution***: Invite them to one day of talks.

A second solution paragraph.

***Consequences***: Partners feel heard.

***Variants***:

* **Virtual Summit**: Held online.
* **Regional Summit.** Held in each region.
"""

MODERN_EQUIVALENT = """\
---
title: Partner Summit Modern
date: 2023-02-21
tags: [devrel, events]
categories: [Social, Budget]
description: Bring partners together once a year.
---
A yearly gathering of partners.

## Also Known As

Partner Day; "Summit" (the short name)

## Problem

Partners drift apart from the roadmap. See [the check-in](customer-check-in.md#solution).

## Context

You have a dozen partners.

## Solution

Invite them to one day of talks.

A second solution paragraph.

## Consequences

Partners feel heard.

## Variants

* **Virtual Summit**: Held online.
* **Regional Summit.** Held in each region.
"""


def sample_files() -> dict[str, str]:
    return {
        "site.toml": """
            title = "Test Catalog"
            base_url = "https://example.org/devrel/"
            repo_url = "https://example.org/repo"
        """,
        "content/patterns/customer-check-in.md": pattern(
            "Customer Check-In", tags="[devrel, feedback]", categories="[Social]",
            body_extra="See [the handbook](../handbook/support/escalation.md#when-to-escalate) and "
                       "[summit](partner-summit.md) and [café](cafe-chat.md).\n"),
        "content/patterns/partner-summit.md": LEGACY,
        "content/patterns/partner-summit-modern.md": MODERN_EQUIVALENT,
        "content/patterns/cafe-chat.md": pattern("Café Chat", tags="devrel, coffee", categories="[Social]",
                                                 extra_header="slug: Café Chat\n"),
        "content/patterns/xss.md": pattern("Demo <script>alert(1)</script>", categories="[Code]",
                                           date="2023-06-01", sections={
                                               "Problem": "p", "Context": "c", "Solution": "s",
                                               "Consequences": "c"}),
        "content/patterns/secret.md": pattern("Secret Draft", status="draft", categories="[Writing]",
                                              tags="[hidden-tag]"),
        "content/handbook/index.md": """
            ---
            title: The Handbook
            maintainedBy: lead
            ---
            # The Handbook

            Start with [support](support/index.md).
        """,
        "content/handbook/support/index.md": """
            # Support

            How we support customers.

            <meta name="maintainedBy" value="sam">
            <meta name="title" value="Support Process">
        """,
        "content/handbook/support/escalation.md": """
            ---
            order: 1
            maintainedBy: alex
            ---
            # Escalation

            ## When to escalate

            Escalate [early](../index.md).

            ## When to escalate

            Twice, to test de-duplication.

            ### Code

            ```python
            def escalate(ticket):
                return ticket.priority > 2
            ```

            | Level | Time |
            |-------|------|
            | P1 | 1 h |

            - [x] done item
            - [ ] open item

            ~~gone~~ and a footnote[^1].

            [^1]: The footnote.
        """,
        "content/handbook/support/after-hours.md": """
            ---
            title: After Hours
            order: 0
            ---
            Nothing special here.
        """,
        "content/handbook/support/zeta.md": "Untitled page body.\n",
    }


def build(site_factory, files=None, *args) -> tuple[Path, object]:
    root = site_factory(files or sample_files())
    result = run_cli("build", "--root", str(root), "--no-search", *args)
    return root, result


def test_every_contract_url_exists(site):
    root, result = build(site)
    assert result.code == 0, result.out + result.err
    out = root / "build"
    for rel in [
        "index.html", "patterns/index.html", "patterns/customer-check-in/index.html",
        "patterns/partner-summit/index.html", "patterns/cafe-chat/index.html", "tags/index.html",
        "tags/devrel/index.html", "tags/coffee/index.html", "categories/social/index.html",
        "categories/budget/index.html", "handbook/index.html", "handbook/support/index.html",
        "handbook/support/escalation/index.html", "handbook/support/after-hours/index.html",
        "sitemap.xml", "feed.xml", "404.html", "robots.txt", "assets/style.css",
    ]:
        assert (out / rel).is_file(), rel


def test_pattern_sections_ids_and_metadata(site):
    root, result = build(site)
    page = soup(root / "build/patterns/customer-check-in/index.html")
    ids = [h2.get("id") for h2 in page.select("article .prose h2")]
    assert ids[:4] == ["problem", "context", "solution", "consequences"]
    assert page.select_one("h1").get_text() == "Customer Check-In"
    tag_links = {a.get_text(): a["href"] for a in page.select("a[rel=tag]")}
    assert tag_links == {"devrel": "../../tags/devrel/index.html", "feedback": "../../tags/feedback/index.html"}
    assert page.select_one("time")["datetime"] == "2024-01-02"
    assert page.select_one("title").get_text() == "Customer Check-In | Test Catalog"
    assert page.select_one("link[rel=canonical]")["href"] == \
        "https://example.org/devrel/patterns/customer-check-in/"


def test_base_url_from_the_command_line_is_used_for_that_build_only(site):
    root, result = build(site, None, "--base-url", "https://preview.example.net/pr-7/")
    assert result.code == 0, result.out + result.err
    page = soup(root / "build/patterns/customer-check-in/index.html")
    assert page.select_one("link[rel=canonical]")["href"] == "https://preview.example.net/pr-7/patterns/customer-check-in/"
    assert "https://preview.example.net/pr-7/patterns/customer-check-in/" in (root / "build/sitemap.xml").read_text()
    # The next build without it is the site of site.toml again (the cache is not reused across).
    assert run_cli("build", "--root", str(root), "--no-search").code == 0
    page = soup(root / "build/patterns/customer-check-in/index.html")
    assert page.select_one("link[rel=canonical]")["href"] == "https://example.org/devrel/patterns/customer-check-in/"
    bad = run_cli("build", "--root", str(root), "--no-search", "--base-url", "preview.example.net")
    assert bad.code == 2 and "--base-url must be a full URL" in bad.err


def _section_texts(page) -> dict[str, str]:
    texts = {}
    for h2 in page.select("article .prose h2"):
        parts = []
        for sibling in h2.find_next_siblings():
            if sibling.name == "h2":
                break
            parts.append(sibling.get_text(" ", strip=True))
        texts[h2["id"]] = " ".join(parts)
    return texts


def test_legacy_page_renders_like_modern(site):
    root, result = build(site)
    legacy = soup(root / "build/patterns/partner-summit/index.html")
    modern = soup(root / "build/patterns/partner-summit-modern/index.html")
    assert _section_texts(legacy) == _section_texts(modern)
    assert list(_section_texts(legacy)) == ["also-known-as", "problem", "context", "solution",
                                            "consequences", "variants"]
    for page in (legacy, modern):
        variants = page.select("li.variant")
        assert [v["id"] for v in variants] == ["variant-virtual-summit", "variant-regional-summit"]
        categories = [a.get_text() for a in page.select("dd[data-pagefind-meta=category] a")]
        assert categories == ["Social", "Budget"]
        aka = [dt.find_next("dd").get_text() for dt in page.select("dt") if dt.get_text() == "Also known as"]
        assert aka == ["Partner Day; Summit"]
        link = page.find("a", string="the check-in")
        assert link["href"] == "../customer-check-in/index.html#solution"
    # The legacy category line is metadata, not a paragraph.
    assert "*Social, Budget*" not in legacy.get_text()
    assert legacy.find(string=re.compile("Social, Budget")) is None


def test_links_are_rewritten_and_resolve(site):
    root, result = build(site)
    out = root / "build"
    page = soup(out / "patterns/customer-check-in/index.html")
    assert page.find("a", string="the handbook")["href"] == \
        "../../handbook/support/escalation/index.html#when-to-escalate"
    assert page.find("a", string="café")["href"] == "../cafe-chat/index.html"
    # Every relative link in every page points at a file that exists.
    for html in out.rglob("*.html"):
        rel_dir = posixpath.dirname(html.relative_to(out).as_posix())
        for tag in soup(html).select("a[href], link[href], img[src], script[src]"):
            href = tag.get("href") or tag.get("src")
            parts = urlsplit(href)
            if parts.scheme or href.startswith(("#", "/")):
                continue
            target = posixpath.normpath(posixpath.join(rel_dir, unquote(parts.path)))
            assert (out / target).exists(), f"{html.relative_to(out)}: {href}"
            if parts.fragment and target.endswith(".html"):
                target_soup = soup(out / target)
                assert target_soup.find(id=parts.fragment), f"{html.relative_to(out)}: {href}"


def test_escaping_holds(site):
    root, result = build(site)
    page = soup(root / "build/patterns/xss/index.html")
    assert page.select_one("h1").get_text() == "Demo <script>alert(1)</script>"
    assert "alert(1)" not in "".join(s.get_text() for s in page.find_all("script"))
    raw = (root / "build/patterns/index.html").read_text()
    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw


def test_drafts_are_left_out_unless_asked(site):
    root, result = build(site)
    out = root / "build"
    assert not (out / "patterns/secret").exists()
    assert not (out / "tags/hidden-tag").exists()
    assert "Secret Draft" not in (out / "patterns/index.html").read_text()
    assert "secret" not in (out / "sitemap.xml").read_text()
    result = run_cli("build", "--root", str(root), "--drafts", "--no-search")
    assert result.code == 0
    assert (out / "patterns/secret/index.html").is_file()


def test_two_builds_are_byte_identical(site):
    root, result = build(site)
    first = {p.relative_to(root / "build"): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in (root / "build").rglob("*") if p.is_file()}
    run_cli("build", "--root", str(root), "--no-search", "--out", str(root / "again"))
    second = {p.relative_to(root / "again"): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in (root / "again").rglob("*") if p.is_file()}
    assert first == second


def test_handbook_navigation_breadcrumbs_toc_owner(site):
    root, result = build(site)
    out = root / "build"
    page = soup(out / "handbook/support/escalation/index.html")
    tree = page.select_one("nav.sidebar")
    links = [(a.get_text(), a["href"]) for a in tree.select(".nav-tree a")]
    # Folder index stands for its folder; order field first, then title.
    assert links == [
        ("Support Process", "../index.html"),
        ("After Hours", "../after-hours/index.html"),
        ("Escalation", "../escalation/index.html"),
        ("Zeta", "../zeta/index.html"),
    ]
    assert tree.select_one("[aria-current=page]").get_text() == "Escalation"
    crumbs = [li.get_text(strip=True) for li in page.select(".breadcrumbs li")]
    assert crumbs == ["The Handbook", "Support Process", "Escalation"]
    toc = [(a.get_text(), a["href"]) for a in page.select(".toc a")]
    assert toc == [("When to escalate", "#when-to-escalate"), ("When to escalate", "#when-to-escalate-1"),
                   ("Code", "#code")]
    assert "alex" in page.select_one(".facts-inline").get_text()
    edit = page.find("a", string="Edit this page")
    assert edit["href"] == "https://example.org/repo/edit/main/content/handbook/support/escalation.md"
    # Markdown extensions.
    assert page.select_one("pre.highlight code.language-python span")
    assert page.select_one("table th").get_text() == "Level"
    assert len(page.select("input[type=checkbox]")) == 2
    assert page.select_one("s, del").get_text() == "gone"
    assert page.select_one("section.footnotes")
    # Meta tags are metadata, not content.
    support = soup(out / "handbook/support/index.html")
    assert support.select_one("title").get_text() == "Support Process | Test Catalog"
    assert not support.select("article meta")
    assert "sam" in support.select_one(".facts-inline").get_text()


def test_sitemap_and_feed(site):
    root, result = build(site)
    out = root / "build"
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    urls = [e.text for e in ET.parse(out / "sitemap.xml").getroot().findall("s:url/s:loc", ns)]
    assert "https://example.org/devrel/patterns/customer-check-in/" in urls
    assert "https://example.org/devrel/handbook/support/escalation/" in urls
    feed = ET.parse(out / "feed.xml").getroot()
    atom = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.text for e in feed.findall("a:entry/a:title", atom)]
    assert titles[0] == "Customer Check-In"       # newest first
    assert "Secret Draft" not in titles


def test_a_catalog_past_map_max_patterns_gets_its_map_as_a_list(site):
    files = sample_files()
    root, result = build(site, files)
    drawn = soup(root / "build/patterns/map/index.html")
    assert len(drawn.select("svg .map-node")) == 5 and drawn.select(".map-legend .swatch")
    files["site.toml"] += "\n[map]\nmax_patterns = 4\n"
    root, result = build(site, files)
    assert result.code == 0, result.out + result.err
    listed = soup(root / "build/patterns/map/index.html")
    assert not listed.select("svg") and not listed.select(".swatch")
    assert "too large to draw" in listed.select_one(".lede").get_text()
    # The list is the same either way.
    assert [str(li) for li in listed.select("#map-as-list ~ ul li")] == \
        [str(li) for li in drawn.select("#map-as-list ~ ul li")]
    assert len(listed.select("#map-as-list ~ ul li")) == 5


def _handbook_files(nav: str) -> dict[str, str]:
    page = "---\ntitle: {t}\nmaintainedBy: ops\n---\nText of {t}.\n"
    files = {"site.toml": f'title = "Nav"\n[handbook]\nnav = "{nav}"\n'}
    for rel, title in [("index.md", "Handbook"), ("intro.md", "Intro"), ("ops/index.md", "Operations"),
                       ("ops/oncall.md", "On-call"), ("ops/deep/runbook.md", "Runbook"),
                       ("sales/deals.md", "Deals"), ("sales/quotes.md", "Quotes")]:
        files[f"content/handbook/{rel}"] = page.format(t=title)
    return files


def test_a_pruned_handbook_navigation_opens_only_the_way_to_the_page(site):
    root, result = build(site, _handbook_files("pruned"))
    assert result.code == 0, result.out + result.err
    tree = soup(root / "build/handbook/ops/oncall/index.html").select_one(".sidebar")
    entries = [(a.get_text(), a["href"], a.get("class"), a.get("aria-current")) for a in tree.select(".nav-tree a")]
    assert entries == [("Intro", "../../intro/index.html", None, None),
                       ("Operations", "../index.html", None, None),
                       ("Deep", "../deep/runbook/index.html", ["nav-tree__collapsed"], None),
                       ("On-call", "../oncall/index.html", None, "page"),
                       ("Sales", "../../sales/deals/index.html", ["nav-tree__collapsed"], None)]
    deep = soup(root / "build/handbook/ops/deep/runbook/index.html").select_one(".sidebar")
    assert [a.get_text() for a in deep.select(".nav-tree a")] == ["Intro", "Operations", "Runbook", "On-call", "Sales"]
    assert [f.get_text() for f in deep.select(".nav-tree__folder")] == ["Deep"]
    assert deep.select_one("[aria-current=page]").get_text() == "Runbook"
    # The full tree lists every page; "auto" is the full tree for a handbook this small.
    for mode in ("full", "auto"):
        root, result = build(site, _handbook_files(mode))
        tree = soup(root / "build/handbook/ops/oncall/index.html").select_one(".sidebar")
        assert [a.get_text() for a in tree.select(".nav-tree a")] == [
            "Intro", "Operations", "Runbook", "On-call", "Deals", "Quotes"]
        assert not tree.select(".nav-tree__collapsed")
    # Past 200 handbook pages, "auto" prunes.
    files = _handbook_files("auto")
    files.update({f"content/handbook/sales/deal-{i:03d}.md": f"---\ntitle: Deal {i}\nmaintainedBy: ops\n---\nx\n"
                  for i in range(200)})
    root, result = build(site, files)
    assert result.code == 0, result.out + result.err
    tree = soup(root / "build/handbook/ops/oncall/index.html").select_one(".sidebar")
    assert [a.get_text() for a in tree.select(".nav-tree__collapsed")] == ["Deep", "Sales"]
    root, result = build(site, _handbook_files("folded"))
    assert result.code == 2 and "'handbook.nav' must be one of auto, full, pruned" in result.err


def test_site_theme_overrides_a_template(site):
    files = sample_files()
    files["themes/default/templates/taxon.html"] = "<!doctype html><title>{{ taxon.name }}</title>CUSTOM {{ taxon.pages | length }}\n"
    root, result = build(site, files)
    assert result.code == 0, result.out + result.err
    assert "CUSTOM 5" in (root / "build/tags/devrel/index.html").read_text()
    assert "skip-link" in (root / "build/patterns/index.html").read_text()


def test_hard_breaks_option(site):
    files = {"site.toml": "[markdown]\nhard_breaks = true\n",
             "content/handbook/a.md": "# A\n\nline one\nline two\n"}
    root, result = build(site, files)
    assert result.code == 0, result.out + result.err
    assert soup(root / "build/handbook/a/index.html").select_one(".prose p br")
    files["site.toml"] = ""
    root, result = build(site, files)
    assert not soup(root / "build/handbook/a/index.html").select_one(".prose p br")


def test_missing_site_toml_and_out_option(site, tmp_path):
    root = site({"content/patterns/a.md": pattern("Alpha")})
    result = run_cli("build", "--root", str(root), "--no-search", "--out", str(tmp_path / "elsewhere"))
    assert result.code == 0, result.out + result.err
    assert (tmp_path / "elsewhere/patterns/a/index.html").is_file()
    assert not (root / "build").exists()


def test_an_output_folder_holding_other_files_is_never_replaced(site, tmp_path):
    root = site({"content/patterns/a.md": pattern("Alpha")})
    kept = write_files(tmp_path / "notes", {"thesis.txt": "precious", "drafts/one.md": "one"})
    result = run_cli("build", "--root", str(root), "--no-search", "--out", str(kept))
    assert result.code == 2 and "refusing to replace" in result.err and "Traceback" not in result.err
    assert sorted(p.relative_to(kept).as_posix() for p in kept.rglob("*")) == ["drafts", "drafts/one.md",
                                                                             "thesis.txt"]
    (root / ".git").mkdir()
    (root / ".git/HEAD").write_text("ref: refs/heads/main\n")
    for folder in (".git", "static", "themes", ".devrel-cache"):
        result = run_cli("build", "--root", str(root), "--no-search", "--out", str(root / folder))
        assert result.code == 2 and "refusing" in result.err, (folder, result.err)
    assert (root / ".git/HEAD").read_text() == "ref: refs/heads/main\n"
    (tmp_path / "a-file").write_text("x")
    result = run_cli("build", "--root", str(root), "--no-search", "--out", str(tmp_path / "a-file"))
    assert result.code == 2 and "not a folder" in result.err and "Traceback" not in result.err
    # An empty folder, and a folder an earlier build wrote, are fine.
    (tmp_path / "empty").mkdir()
    for _ in range(2):
        result = run_cli("build", "--root", str(root), "--no-search", "--out", str(tmp_path / "empty"))
        assert result.code == 0, result.err
    assert (tmp_path / "empty/patterns/a/index.html").is_file()


def test_the_output_folder_gets_the_usual_permissions(site):
    root = site({"content/patterns/a.md": pattern("Alpha")})
    proc = subprocess.run([sys.executable, "-m", "generator", "build", "--root", str(root), "--no-search"],
                          capture_output=True, text=True, timeout=120, preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    for folder in (root / "build", root / "build/patterns", root / "build/patterns/a"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
    assert stat.S_IMODE((root / "build/patterns/a/index.html").stat().st_mode) == 0o644


def test_names_in_other_scripts_keep_their_own_urls(site):
    root = site({"content/patterns/встреча.md": pattern("Встреча", tags="[поддержка]", categories="[Код]"),
                 "content/patterns/звонок.md": pattern("Звонок", tags="[встреча]", categories="[Обучение]",
                                                       body_extra="See [the meeting](встреча.md).\n"),
                 "content/handbook/руководство/поддержка.md": "# Поддержка\n\ntext\n",
                 "content/handbook/руководство/эскалация.md": "# Эскалация\n\ntext\n"})
    result = run_cli("build", "--root", str(root), "--no-search")
    assert result.code == 0, result.out + result.err
    out = root / "build"
    for rel in ("patterns/встреча", "patterns/звонок", "tags/поддержка", "tags/встреча", "categories/код",
                "categories/обучение", "handbook/руководство/поддержка", "handbook/руководство/эскалация"):
        assert (out / rel / "index.html").is_file(), rel
    page = soup(out / "patterns/звонок/index.html")
    link = page.select_one(".prose a")
    assert unquote(link["href"]) == "../встреча/index.html"
    assert [a.get_text() for a in soup(out / "tags/поддержка/index.html").select("main .card__title")] == ["Встреча"]


def test_headings_named_like_the_themes_own_sections_keep_their_ids_and_no_id_repeats(site):
    headings = "\n## Main\n\nm\n\n## Related Patterns\n\nr\n\n## Referenced By\n\nb\n\n## On this page\n\no\n"
    root = site({"content/patterns/a.md": pattern("Alpha", body_extra=headings + "\nSee [b](b.md).\n"),
                 "content/patterns/b.md": pattern("Beta", body_extra="[a](a.md#related-patterns) "
                                                  "[h](../handbook/h.md#on-this-page)\n"),
                 "content/handbook/h.md": "# H\n" + headings + "\nSee [a](../patterns/a.md#main).\n"})
    result = run_cli("build", "--root", str(root))
    assert result.code == 0, result.out + result.err
    for rel in ("patterns/a/index.html", "patterns/b/index.html", "handbook/h/index.html"):
        ids = [tag["id"] for tag in soup(root / "build" / rel).select("[id]")]
        assert len(ids) == len(set(ids)), (rel, sorted(ids))
    page = soup(root / "build/patterns/a/index.html")
    assert page.select_one("#related-patterns").get_text() == "Related Patterns"
    assert page.select_one("#main").name == "h2"
    assert soup(root / "build/handbook/h/index.html").select_one("#on-this-page").get_text() == "On this page"


def test_a_handbook_page_has_one_h1_and_every_heading_anchor_lands(site):
    root = site({
        "content/handbook/h.md": "Setext Title\n============\n\ntext\n",
        "content/handbook/a.md": "---\ntitle: Field Title\n---\n# Body Title\n\ntext\n",
        "content/handbook/s.md": "---\ntitle: Same Title\n---\n# Same  Title\n\ntext\n",
        "content/handbook/c.md": "```\n# not a heading\n```\n\n# Real\n\ntext\n",
        "content/handbook/b.md": "Some text first.\n\n# Late Heading\n\ntext\n",
        "content/handbook/f.md": "````\n```\n# inner\n```\n````\n\n# Outer\n",
        "content/handbook/z.md": "# Links\n\n[1](h.md#setext-title) [2](a.md#body-title) [3](s.md#same--title) "
                                 "[4](c.md#real) [5](b.md#late-heading) [6](f.md#outer)\n",
    })
    result = run_cli("build", "--root", str(root), "--no-search", "--linkcheck")
    assert result.code == 0, result.out + result.err
    titles = {"h": ["Setext Title"], "a": ["Field Title", "Body Title"], "s": ["Same Title"], "c": ["Real"],
              "b": ["Late Heading"], "f": ["Outer"], "z": ["Links"]}
    for name, h1s in titles.items():
        page = soup(root / f"build/handbook/{name}/index.html")
        assert [h.get_text() for h in page.select("h1")] == h1s, name
        assert page.title.get_text().startswith(h1s[0])


def test_a_link_to_a_draft_is_its_text_until_the_draft_is_published(site):
    files = {"content/patterns/d.md": pattern("Draft One", status="draft"),
             "content/patterns/x.md": pattern("X", body_extra="\nSee [the *draft*](d.md#solution) and "
                                              "[itself](x.md).\n")}
    root = site(files)
    result = run_cli("build", "--root", str(root), "--no-search", "--linkcheck")
    assert result.code == 0 and "link-draft" in result.out, result.out + result.err
    prose = soup(root / "build/patterns/x/index.html").select_one(".prose")
    assert "See the draft and itself." in prose.get_text()
    assert [a.get_text() for a in prose.select("a")] == ["itself"]
    assert prose.select_one("em").get_text() == "draft"
    (root / "content/patterns/d.md").write_text(pattern("Draft One"), encoding="utf-8")
    result = run_cli("build", "--root", str(root), "--no-search")          # warm
    assert result.code == 0 and "link-draft" not in result.out, result.out + result.err
    warm = (root / "build/patterns/x/index.html").read_bytes()
    assert [a["href"] for a in soup(root / "build/patterns/x/index.html").select(".prose a")] == \
        ["../d/index.html#solution", "index.html"]
    result = run_cli("build", "--root", str(root), "--no-search", "--no-cache", "--out", str(root / "cold"))
    assert result.code == 0 and (root / "cold/patterns/x/index.html").read_bytes() == warm
    # And back to a draft: the warm build takes the link out again.
    (root / "content/patterns/d.md").write_text(pattern("Draft One", status="draft"), encoding="utf-8")
    result = run_cli("build", "--root", str(root), "--no-search")
    assert result.code == 0 and "from the cache" in result.err, result.err
    assert [a.get_text() for a in soup(root / "build/patterns/x/index.html").select(".prose a")] == ["itself"]


def test_links_keep_their_query_and_find_files_named_in_either_unicode_form(site):
    import unicodedata
    decomposed = unicodedata.normalize("NFD", "café")
    root = site({f"content/patterns/{decomposed}.md": pattern("Cafe"),
                 "content/patterns/x.md": pattern("X", body_extra="\n[q](café.md?view=a%20b#solution) "
                                                  "[r](café.md) [s](x.md?print=1)\n")})
    result = run_cli("build", "--root", str(root), "--no-search", "--linkcheck")
    assert result.code == 0, result.out + result.err
    hrefs = [a["href"] for a in soup(root / "build/patterns/x/index.html").select(".prose a")]
    assert hrefs == ["../cafe/index.html?view=a%20b#solution", "../cafe/index.html", "index.html?print=1"]


def test_keep_going_past_two_pages_on_one_url_reports_only_that(site):
    root = site({"content/handbook/support.md": "# Support overview\n\ntext\n",
                 "content/handbook/support/index.md": "---\ntitle: Support\ndate: 2024-01-01\n---\ntext\n",
                 "content/patterns/a.md": pattern("A", extra_header="slug: b\n"),
                 "content/patterns/b.md": pattern("B").replace("date: 2024-01-02\n", "")})
    result = run_cli("build", "--root", str(root), "--no-search", "--keep-going", "--format", "json")
    assert result.code == 1
    assert {d["code"] for d in result.json()["diagnostics"]} == {"slug-duplicate"}, result.out
    sitemap = (root / "build/sitemap.xml").read_text()
    assert sitemap.count("/handbook/support/</loc>") == 1 and sitemap.count("/patterns/b/</loc>") == 1


def test_help_lists_commands():
    for args in (["--help"],):
        result = run_cli(*args)
        assert result.code == 0
        for command in ("build", "check", "linkcheck", "serve"):
            assert command in result.out


def test_a_warm_build_updates_the_search_index_in_place_and_clears_it_once_stale_files_pile_up(site):
    root = site(sample_files())
    result = run_cli("build", "--root", str(root))
    assert result.code == 0, result.out + result.err
    index = root / "build" / "pagefind"
    entry = index / "pagefind-entry.json"
    kept = {p: p.stat().st_mtime_ns for p in index.rglob("*.pf_fragment")}
    assert kept
    page = root / "content" / "patterns" / "customer-check-in.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    before = entry.read_bytes()
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and "from the cache" in result.err, result.out + result.err
    assert entry.read_bytes() != before                         # the index knows the edit
    assert sum(p.stat().st_mtime_ns == stamp for p, stamp in kept.items()) >= len(kept) - 2   # the rest was left
    # Files the index no longer refers to are left behind, until they outnumber the pages.
    junk = [index / "fragment" / f"en_junk{i}.pf_fragment" for i in range(400)]
    for path in junk:
        path.write_bytes(b"x")
    page.write_text(page.read_text(encoding="utf-8") + "\nAnd another.\n", encoding="utf-8")
    result = run_cli("build", "--root", str(root))
    assert result.code == 0, result.out + result.err
    assert not any(path.exists() for path in junk) and entry.is_file()


def test_a_readme_beside_its_folders_index_page_stays_in_the_repository(site):
    """As MkDocs: a folder's index.md (or _index.md) is its page, and a README.md kept beside it for
    readers of the repository is neither published nor checked; a warning says so. A README
    alone is the folder's page."""
    root = site({
        "site.toml": 'title = "T"\n',
        "content/handbook/index.md": "# Home\n\nSee [tools](tools/) and [guide](guide/).\n",
        "content/handbook/tools/index.md": "# Tools\n",
        "content/handbook/tools/README.md": "# Tools (repository)\n\nSee [the contributing guide](../../../CONTRIBUTING.md).\n",
        "content/handbook/guide/README.md": "# Guide\n",
        "content/handbook/sales/_index.md": "# Sales\n",
        "content/handbook/sales/readme.MD": "# Sales repository notes\n",
    })
    result = run_cli("build", "--root", str(root))
    assert result.code == 0, result.out + result.err
    assert [line for line in result.out.splitlines() if "readme-unpublished" in line] == [
        "content/handbook/sales/readme.MD:1: warning[readme-unpublished]: 'content/handbook/sales/readme.MD' is not "
        "published: 'content/handbook/sales/_index.md' is its folder's page (merge the two files, or rename the "
        "README to publish it as a page of its own)",
        "content/handbook/tools/README.md:1: warning[readme-unpublished]: 'content/handbook/tools/README.md' is not "
        "published: 'content/handbook/tools/index.md' is its folder's page (merge the two files, or rename the "
        "README to publish it as a page of its own)"]
    out = root / "build" / "handbook"
    assert soup(out / "tools" / "index.html").h1.get_text(strip=True) == "Tools"
    assert soup(out / "sales" / "index.html").h1.get_text(strip=True) == "Sales"
    assert soup(out / "guide" / "index.html").h1.get_text(strip=True) == "Guide"
    assert "repository" not in (out / "tools" / "index.html").read_text() + (out / "sales" / "index.html").read_text()
    check = run_cli("check", "--root", str(root), "--no-cache")
    assert check.code == 0 and check.out.count("readme-unpublished") == 2
    # A warm build after the index page goes: the README is the folder's page again, and its link is checked.
    (root / "content/handbook/tools/index.md").unlink()
    result = run_cli("build", "--root", str(root))
    assert result.code == 1 and "no page '../../../CONTRIBUTING.md'" in result.out
    assert result.out.count("readme-unpublished") == 1
    (root / "content/handbook/tools/README.md").write_text("# Tools\n")
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and result.out.count("readme-unpublished") == 1
    assert soup(out / "tools" / "index.html").h1.get_text(strip=True) == "Tools"
    # And when the README goes too, so does its note.
    (root / "content/handbook/sales/readme.MD").unlink()
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and "readme-unpublished" not in result.out
    # A README that was its folder's page gets its note in a warm build when an index.md arrives.
    (root / "content/handbook/guide/index.md").write_text("# Guide home\n")
    for command in ("build", "build", "check"):
        result = run_cli(command, "--root", str(root))
        assert result.code == 0 and result.out.count("readme-unpublished") == 1, (command, result.out)
        assert "content/handbook/guide/README.md:1: warning[readme-unpublished]" in result.out
    assert soup(out / "guide" / "index.html").h1.get_text(strip=True) == "Guide home"


def test_hugo_and_zola_section_pages_named_index_are_folder_pages(site):
    root = site({
        "site.toml": 'title = "T"\n',
        "content/handbook/_index.md": "+++\ntitle = \"Our Handbook\"\n+++\n\nSee [support](support/_index.md).\n",
        "content/handbook/support/_index.md": "---\ntitle: Support\nweight: 2\n---\n\nThe support section.\n",
        "content/handbook/support/escalation.md": "# Escalation\n\nBack to [support](_index.md#top), on to "
                                                  "[the guide](guide.markdown).\n",
        "content/handbook/support/guide.markdown": "# Guide\n",
        "content/handbook/support/_drafts.md": "# Not a page\n",
        "content/handbook/sales/index.md": "# Sales\n",
        "content/handbook/sales/_index.md": "# Sales again\n",
    })
    result = run_cli("build", "--root", str(root), "--keep-going")
    assert result.code == 1 and [line for line in result.out.splitlines() if "error[" in line] == [
        "content/handbook/sales/index.md:1: error[slug-duplicate]: 'content/handbook/sales/index.md' and "
        "'content/handbook/sales/_index.md' would both write /handbook/sales/ (a folder has one page: keep its "
        "index.md or its _index.md)"]
    out = root / "build" / "handbook"
    assert soup(out / "index.html").h1.get_text(strip=True) == "Our Handbook"
    assert soup(out / "support" / "index.html").h1.get_text(strip=True) == "Support"
    assert not (out / "support" / "drafts").exists() and not (out / "support" / "_index").exists()
    assert (out / "support" / "guide" / "index.html").is_file() and not (out / "support" / "guide.markdown").exists()
    home = soup(out / "index.html")
    assert home.select_one('main a[href="support/index.html"]') is not None    # the link found the folder page
    nav = [a.get_text(strip=True) for a in soup(out / "support" / "escalation" / "index.html").select("#__handbook-nav a")]
    assert "Support" in nav and "Escalation" in nav


def test_a_pattern_in_a_folder_of_its_own_is_named_after_it_and_titled_by_its_heading(site):
    body = "\n".join(f"## {name}\n\nText.\n" for name in ("Problem", "Context", "Solution", "Consequences"))
    root = site({
        "site.toml": 'title = "T"\n',
        "content/patterns/check-in/index.md": "---\ncategories: [Social]\n---\n\n# Check In\n\n![flow](flow.png)\n\n" + body,
        "content/patterns/check-in/flow.png": b"png",
        "content/patterns/office-hours.md": "---\ntitle: Office Hours\ncategories: [Social]\n---\n\n# Office Hours\n\n"
                                            "See [check-in](check-in.html).\n\n" + body,
        "content/patterns/untitled.md": "---\ncategories: [Social]\n---\n\n" + body,
    })
    result = run_cli("build", "--root", str(root), "--keep-going")
    assert [line for line in result.out.splitlines() if "error[" in line] == [
        "content/patterns/untitled.md:1: error[field-missing]: required field 'title' is missing "
        "(add 'title' to the page's header)"], result.out
    page = soup(root / "build/patterns/check-in/index.html")
    assert [h.get_text() for h in page.find_all("h1")] == ["Check In"] and page.h1["id"] == "check-in"
    assert page.select_one('img[src="flow.png"]') is not None and (root / "build/patterns/check-in/flow.png").is_file()
    other = soup(root / "build/patterns/office-hours/index.html")
    assert [h.get_text() for h in other.find_all("h1")] == ["Office Hours"]
    assert other.select_one('a[href="../check-in/index.html"]') is not None


def test_readme_and_index_files_that_introduce_pattern_folders_are_not_patterns(site):
    """A pattern repository's README (listing the patterns for readers of the repository), a
    folder's README beside the patterns in it, and Hugo's _index.md introduce folders: they
    are not patterns; the patterns folder's own _index.md heads the catalog, the rest are not
    published. An index.md alone in its folder is still a pattern."""
    body = "\n".join(f"## {name}\n\nText.\n" for name in ("Problem", "Context", "Solution", "Consequences"))
    root = site({
        "site.toml": 'title = "T"\n',
        "content/patterns/README.md": "# Patterns\n\n* [Trusted Committer](2-structured/trusted-committer.md)\n",
        "content/patterns/_index.md": "---\ntitle: Catalog\n---\nAll of them.\n",
        "content/patterns/index.md": "# The catalog\n",
        "content/patterns/2-structured/README.md": "# Structured\n\nPatterns proven in several places.\n",
        "content/patterns/2-structured/trusted-committer.md": "---\ntitle: Trusted Committer\n---\n" + body,
        "content/patterns/check-in/index.md": "---\ntitle: Check In\n---\n" + body,
    })
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and "0 errors, 0 warnings in 3 pages" in result.out, result.out
    out = root / "build" / "patterns"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["a-z", "check-in", "map", "trusted-committer"]
    catalog = soup(out / "index.html")
    assert {a.get_text(strip=True) for a in catalog.select("main .card__title")} == {"Check In", "Trusted Committer"}
    assert catalog.select_one("h1").get_text() == "Catalog" and "All of them." in catalog.select_one(".prose").get_text()


def test_unquoted_raw_html_links_are_checked_and_rewritten(site):
    root = site({
        "site.toml": 'title = "T"\n',
        "content/handbook/guide/page.md": "# Page\n\n<img src=img/a.png alt=diagram>\n\nSee <a href=../other.md>other</a>, "
                                          "<a href=gone.md>gone</a>.\n\n<div>\nset href=x in text\n</div>\n\n"
                                          "<img alt=\"src=nope.png\" src=\"img/a.png\"> <a title='it\"s href=no.md' "
                                          "href=\"../other.md\">o</a>\n",
        "content/handbook/guide/img/a.png": b"png",
        "content/handbook/other.md": "# Other\n",
    })
    result = run_cli("build", "--root", str(root), "--keep-going")
    assert [line.split(": ", 1)[0] for line in result.out.splitlines() if "error[" in line] == [
        "content/handbook/guide/page.md:5:36"], result.out
    page = soup(root / "build/handbook/guide/page/index.html")
    assert page.select_one('img[src="../img/a.png"]') is not None
    assert page.select_one('a[href="../../other/index.html"]') is not None
    assert "set href=x in text" in page.get_text()
    assert page.select_one('img[alt="src=nope.png"][src="../img/a.png"]') is not None
    assert page.select_one('a[title=\'it"s href=no.md\'][href="../../other/index.html"]') is not None


def test_aliases_written_as_paths_are_old_urls_that_lead_to_the_page(site):
    body = "\n".join(f"## {name}\n\nText.\n" for name in ("Problem", "Context", "Solution", "Consequences"))
    root = site({
        "site.toml": 'title = "T"\nbase_url = "https://example.org/devrel/"\n',
        "content/patterns/check-in.md": "---\ntitle: Check In\ncategories: [Social]\n"
                                        "aliases: [/old/check-in/, old-check-in.html, Temperature Check]\n---\n\n" + body,
        "content/patterns/hours.md": "---\ntitle: Hours\ncategories: [Social]\naliases: [/old/check-in/, /tags/]\n---\n\n" + body,
        "content/patterns/home.md": "---\ntitle: Home\ncategories: [Social]\naliases: [/index.html, /patterns/check-in/index.html, "
                                    "/assets/style.css, /, /img/a.png, '/q?x=1']\n---\n\n" + body,
        "content/patterns/img/a.png": b"png",
    })
    result = run_cli("build", "--root", str(root), "--keep-going")
    assert [line for line in result.out.splitlines() if "error[" in line] == [
        "content/patterns/home.md:4: error[slug-duplicate]: the alias / would overwrite a generated page "
        "(remove the alias or change it)",
        "content/patterns/home.md:4: error[slug-duplicate]: the alias /assets/style.css/ would overwrite the "
        "theme's files (remove the alias or change it)",
        "content/patterns/home.md:4: error[slug-duplicate]: the alias /index.html would overwrite a generated page "
        "(remove the alias or change it)",
        "content/patterns/home.md:4: error[slug-duplicate]: the alias /patterns/check-in/index.html would overwrite "
        "the page 'content/patterns/check-in.md' (remove the alias or change it)",
        "content/patterns/home.md:4:1: error[field-invalid]: an alias path names a page, not a query or a fragment: "
        "it cannot hold '?' or '#'",
        "content/patterns/hours.md:4: error[slug-duplicate]: the alias /old/check-in/ would overwrite an alias of "
        "'content/patterns/check-in.md' (remove the alias or change it)",
        "content/patterns/hours.md:4: error[slug-duplicate]: the alias /tags/ would overwrite a generated page "
        "(remove the alias or change it)"], result.out
    old = soup(root / "build/old/check-in/index.html")
    assert old.find("meta", attrs={"http-equiv": "refresh"})["content"] == "0; url=../../patterns/check-in/index.html"
    assert old.find("link", rel="canonical")["href"] == "https://example.org/devrel/patterns/check-in/"
    relative = soup(root / "build/patterns/old-check-in.html")
    assert relative.find("meta", attrs={"http-equiv": "refresh"})["content"] == "0; url=check-in/index.html"
    page = (root / "build/patterns/check-in/index.html").read_text(encoding="utf-8")
    assert "Temperature Check" in page and "/old/check-in/" not in page
    assert "old/check-in" not in (root / "build/sitemap.xml").read_text(encoding="utf-8")
    assert soup(root / "build/index.html").title.get_text() != "Home"           # the home page stays
    assert soup(root / "build/patterns/check-in/index.html").h1.get_text() == "Check In"
    assert (root / "build/assets/style.css").is_file()


def test_a_link_to_an_old_url_of_a_page_goes_to_the_page_with_a_warning(site):
    body = "\n".join(f"## {name}\n\nText.\n" for name in ("Problem", "Context", "Solution", "Consequences"))
    root = site({
        "site.toml": 'title = "T"\n',
        "content/patterns/check-in.md": "---\ntitle: Check In\naliases: [/old/check-in/, Temperature Check]\n---\n\n"
                                        + body,
        "content/handbook/team/guide.md": "# Guide\n\nSee [it](/old/check-in/#solution), [again](../../../old/check-in/) "
                                          "and [not an alias](/temperature-check/).\n",
    })
    result = run_cli("build", "--root", str(root), "--keep-going")
    lines = [line for line in result.out.splitlines() if "[link-" in line]
    assert lines == [
        "content/handbook/team/guide.md:3:5: warning[link-alias]: '/old/check-in/' is an old URL of "
        "'content/patterns/check-in.md' (one of its aliases) (link to '../../patterns/check-in.md')",
        "content/handbook/team/guide.md:3:36: warning[link-alias]: '../../../old/check-in/' is an old URL of "
        "'content/patterns/check-in.md' (one of its aliases) (link to '../../patterns/check-in.md')",
        "content/handbook/team/guide.md:3:72: error[link-broken]: no page '/temperature-check/' "
        "(did you mean '../../patterns/check-in.md'?)"], result.out
    page = soup(root / "build/handbook/team/guide/index.html")
    assert [a["href"] for a in page.select("main .prose a")][:2] == [
        "../../../patterns/check-in/index.html#solution", "../../../patterns/check-in/index.html"]


def test_a_title_heading_with_attributes_is_shown_once(site):
    root = site({"site.toml": 'title = "T"\n',
                 "content/handbook/a.md": "# Welcome {#top .lead}\n\nText.\n",
                 "content/handbook/b.md": "---\ntitle: Hello\n---\n\n# Hello {: .lead }\n\nText.\n"})
    assert run_cli("build", "--root", str(root)).code == 0
    a = soup(root / "build/handbook/a/index.html")
    assert [h.get_text() for h in a.find_all("h1")] == ["Welcome"] and a.h1["id"] == "top"
    b = soup(root / "build/handbook/b/index.html")
    assert [h.get_text() for h in b.find_all("h1")] == ["Hello"]


def test_files_whose_names_hold_url_characters_are_linked_percent_encoded(site):
    root = site({
        "site.toml": 'title = "T"\n',
        "content/handbook/p.md": "# P\n\n![a](img/100%25.png) ![b](<img/a b.png>) ![c](img/c%23d.png) ![d](img/é.png)\n",
        "content/handbook/img/100%.png": b"x", "content/handbook/img/a b.png": b"x",
        "content/handbook/img/c#d.png": b"x", "content/handbook/img/é.png": b"x",
    })
    assert run_cli("build", "--root", str(root)).code == 0
    page = soup(root / "build/handbook/p/index.html")
    assert [img["src"] for img in page.find_all("img")] == [
        "../img/100%25.png", "../img/a%20b.png", "../img/c%23d.png", "../img/%C3%A9.png"]
    assert run_cli("linkcheck", "--root", str(root)).code == 0


def test_hugo_ref_and_relref_in_link_targets_are_links(site):
    root = site({
        "site.toml": 'title = "T"\n',
        "content/handbook/guide.md": '# Guide\n\nSee [setup]({{< ref "setup.md" >}}), [faq]({{< relref "/handbook/faq" >}}) '
                                     'and [the answer]({{% relref "faq.md#answer" %}}).\n\n'
                                     '<a href="{{< relref "setup.md" >}}">setup</a>\n\n'
                                     '```\n[kept]({{< ref "nowhere.md" >}})\n```\n',
        "content/handbook/setup.md": "# Setup\n",
        "content/handbook/faq.md": "# FAQ\n\n## Answer\n",
    })
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and result.out.strip() == "0 errors, 0 warnings in 3 pages", result.out
    page = soup(root / "build/handbook/guide/index.html")
    assert [a["href"] for a in page.select(".handbook-page p a") if a.get_text() != "Handbook contents"] == [
        "../setup/index.html", "../faq/index.html", "../faq/index.html#answer", "../setup/index.html"]
    assert '[kept]({{&lt; ref "nowhere.md" &gt;}})' in str(page.select_one("pre"))


def test_hugo_refs_to_sections_with_parameters_and_in_inline_code(site):
    root = site({
        "site.toml": 'title = "T"\n',
        "content/handbook/guide/_index.md": "# Guide\n",
        "content/handbook/ops/README.md": "# Ops\n",
        "content/handbook/faq.md": "# FAQ\n",
        "content/handbook/links.md": (
            '# Links\n\n[guide]({{< ref "/handbook/guide" >}}), [slash]({{< relref "/handbook/guide/" >}}), '
            '[ops]({{< ref "/handbook/ops" >}}), [faq]({{< ref path="faq.md" lang="en" >}}), '
            '[all]({{< ref "/patterns" >}}).\n\n'
            'Write `[setup]({{< relref "setup.md" >}})` or ``<a href="{{< ref "x" >}}">`` in Hugo.\n'),
    })
    result = run_cli("build", "--root", str(root))
    assert result.code == 0 and "0 errors, 0 warnings" in result.out, result.out
    page = soup(root / "build/handbook/links/index.html")
    assert [a["href"] for a in page.select(".handbook-page p a") if a.get_text() != "Handbook contents"] == [
        "../guide/index.html", "../guide/index.html", "../ops/index.html", "../faq/index.html",
        "../../patterns/index.html"]
    assert [code.get_text() for code in page.select(".handbook-page p code")] == [
        '[setup]({{< relref "setup.md" >}})', '<a href="{{< ref "x" >}}">']


def test_the_patterns_folder_index_heads_the_catalog(site):
    root = site({
        "site.toml": 'title = "T"\n',
        "content/patterns/_index.md": "---\ntitle: Our Catalog\ndescription: Patterns we use.\ntags: [intro]\n---\n"
                                      "# Our Catalog\n\nStart with [office hours](office-hours.md).\n\n"
                                      "## How to read\n\nSee [below](#how-to-read).\n",
        "content/patterns/README.md": "# For readers of the repository\n",
        "content/patterns/sub/_index.md": "---\ntitle: Sub\n---\nA sub-section's page is no page.\n",
        "content/patterns/office-hours.md": pattern("Office Hours", tags="[a]"),
        "content/handbook/index.md": "# Handbook\n\n[The catalog](../patterns/_index.md#how-to-read)\n",
    })
    result = run_cli("build", "--root", str(root), "--no-search")
    assert result.code == 0 and "0 errors, 0 warnings" in result.out, result.out
    page = soup(root / "build/patterns/index.html")
    assert page.title.get_text() == "Our Catalog | T"
    assert page.select_one('meta[name="description"]')["content"] == "Patterns we use."
    assert page.select_one("h1").get_text() == "Our Catalog" and page.select_one("h1")["id"] == "our-catalog"
    prose = page.select_one("main .prose")
    assert prose.select_one("a")["href"] == "office-hours/index.html" and prose.select_one("h2")["id"] == "how-to-read"
    assert page.select_one("#by-category") is not None           # the listings follow
    assert soup(root / "build/handbook/index.html").select_one("main .prose a")["href"] == \
        "../patterns/index.html#how-to-read"
    assert not (root / "build/tags/intro").exists() and not (root / "build/patterns/sub").exists()
    assert "Referenced by" not in (root / "build/patterns/office-hours/index.html").read_text()
    # Without an _index.md, an index.md is the catalog's page; without either, the catalog has its own title.
    (root / "content/patterns/_index.md").unlink()
    (root / "content/handbook/index.md").write_text("# Handbook\n")
    (root / "content/patterns/index.md").write_text("# From the index\n\nIntro.\n")
    assert run_cli("build", "--root", str(root), "--no-search").code == 0
    assert soup(root / "build/patterns/index.html").select_one("h1").get_text() == "From the index"
    (root / "content/patterns/index.md").unlink()
    assert run_cli("build", "--root", str(root), "--no-search").code == 0
    assert soup(root / "build/patterns/index.html").select_one("h1").get_text() == "Patterns"
    (root / "content/patterns/_index.md").write_text("---\ntitle: Back\n---\nSee [nowhere](nowhere.md).\n")
    result = run_cli("build", "--root", str(root), "--no-search")
    assert result.code == 1 and "content/patterns/_index.md:4:5: error[link-broken]" in result.out, result.out
