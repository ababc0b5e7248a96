"""``import jbake``: a legacy catalog converts losslessly, and refuses what it cannot convert."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_cli, soup, write_files

FIXTURES = REPO / "tests/fixtures/jbake"
GOOD = ["pairing-hour.md", "release-notes.md", "events/meetup-night.md"]
BROKEN = "notes-without-header.md"
SITE_TOML = 'title = "Import Test"\nbase_url = "https://example.org/"\n'


def frontmatter(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n"), text[:80]
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


@pytest.fixture
def legacy_and_imported(tmp_path: Path):
    """The fixture catalog built twice: read directly as legacy pages, and imported first."""
    legacy = write_files(tmp_path / "legacy", {"site.toml": SITE_TOML})
    for rel in GOOD:
        target = legacy / "content/patterns" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / rel, target)
    imported = write_files(tmp_path / "imported", {"site.toml": SITE_TOML})
    result = run_cli("import", "jbake", str(FIXTURES), "--root", str(imported))
    assert result.code == 1, result.out + result.err          # the broken file
    for root in (legacy, imported):
        built = run_cli("build", "--root", str(root), "--no-search", "--strict")
        assert built.code == 0, built.out + built.err
    return legacy, imported, result


def section_texts(page) -> list[tuple[str, str]]:
    sections = []
    for h2 in page.select("article .prose h2"):
        parts = []
        for sibling in h2.find_next_siblings():
            if sibling.name == "h2":
                break
            parts.append(sibling.get_text(" ", strip=True))
        sections.append((h2["id"], h2.get_text(strip=True), " ".join(parts)))
    return sections


def facts(page) -> dict:
    aka = [dt.find_next("dd").get_text() for dt in page.select("dt") if dt.get_text() == "Also known as"]
    return {
        "title": page.select_one("h1").get_text(),
        "date": page.select_one("time")["datetime"],
        "description": page.select_one(".lede").get_text(),
        "categories": [a.get_text() for a in page.select("dd[data-pagefind-meta=category] a")],
        "tags": [a.get_text() for a in page.select("a[rel=tag]")],
        "aliases": aka,
        "variants": [(li["id"], li.get_text(" ", strip=True)) for li in page.select("li.variant")],
        "links": [(a.get_text(" ", strip=True), a["href"]) for a in page.select("article .prose a[href]")],
        "neighbourhood": [a["href"] for a in page.select(".neighbourhood a")],
    }


@pytest.mark.parametrize("slug", ["pairing-hour", "release-notes", "meetup-night"])
def test_imported_pages_render_like_the_legacy_pages(legacy_and_imported, slug):
    legacy, imported, _ = legacy_and_imported
    old = soup(legacy / f"build/patterns/{slug}/index.html")
    new = soup(imported / f"build/patterns/{slug}/index.html")
    assert section_texts(old) == section_texts(new)
    assert facts(old) == facts(new)
    assert old.select_one("article .prose").decode_contents() == new.select_one("article .prose").decode_contents()


def test_the_fixture_comparison_sees_what_matters(legacy_and_imported):
    legacy, imported, _ = legacy_and_imported
    page = soup(imported / "build/patterns/pairing-hour/index.html")
    assert [s[0] for s in section_texts(page)] == ["also-known-as", "problem", "context", "solution",
                                                  "consequences", "variants"]
    got = facts(page)
    assert got["categories"] == ["Code", "Social"]
    assert got["tags"] == ["devrel", "code", "mentoring"]
    assert got["aliases"] == ["Buddy Session; Mob Hour"]
    assert [v[0] for v in got["variants"]] == ["variant-remote-pairing", "variant-mob-hour"]
    links = dict(got["links"])
    assert links["release notes"] == "../release-notes/index.html#what-changed"
    assert links["meetup night"] == "../meetup-night/index.html"
    assert links["a vendor guide"] == "https://example.com/guides/pairing.html"
    notes = facts(soup(imported / "build/patterns/release-notes/index.html"))
    assert dict(notes["links"])["pairing hour"] == "../pairing-hour/index.html#solution"
    meetup = facts(soup(imported / "build/patterns/meetup-night/index.html"))
    assert dict(meetup["links"])["release notes"] == "../release-notes/index.html"
    assert dict(meetup["links"])["pairing hour"] == "../pairing-hour/index.html#context"


def test_imported_files_are_modern_and_keep_the_body(legacy_and_imported):
    _, imported, result = legacy_and_imported
    text = (imported / "content/patterns/pairing-hour.md").read_text(encoding="utf-8")
    meta, body = frontmatter(text)
    assert list(meta)[:7] == ["title", "date", "tags", "categories", "description", "status", "aliases"]
    assert meta["tags"] == ["devrel", "code", "mentoring"]
    assert meta["categories"] == ["Code", "Social"]
    assert meta["aliases"] == ["Buddy Session", "Mob Hour"]
    assert meta["author"] == "Rui Ferreira"
    assert "type" not in meta
    assert "***" not in body and "~~~~~~" not in text and "*Code, Social*" not in text
    assert "## Problem\n\nDevelopers who are stuck" in body
    assert "](release-notes.md#what-changed)" in body and "](events/meetup-night.md)" in body
    assert "(https://example.com/guides/pairing.html)" in body

    # Every line of the legacy body that is not a marker, category or link line is kept byte for byte.
    legacy = (FIXTURES / "pairing-hour.md").read_text(encoding="utf-8").split("~~~~~~\n", 1)[1]
    kept = [line for line in legacy.split("\n")
            if line.strip() and not line.startswith("***") and line != "*Code, Social*" and ".html" not in line]
    new_lines = body.split("\n")
    positions = [new_lines.index(line) for line in kept]
    assert positions == sorted(positions)

    notes = (imported / "content/patterns/release-notes.md").read_text(encoding="utf-8")
    assert "[pairing]: pairing-hour.md#solution" in notes
    assert "See [the format](pairing-hour.html) - this line is code" in notes      # inside a code block
    assert "`release-notes.html`" in notes                                          # inside a code span
    assert "at least monthly.\nSeveral teams contribute to each release and nobody owns the story of " \
           "the whole.\n\n## Solution\n\nKeep one page" in notes
    meetup = (imported / "content/patterns/events/meetup-night.md").read_text(encoding="utf-8")
    assert '<a href="../release-notes.md">' in meetup and "](../pairing-hour.md#context)" in meetup
    assert frontmatter(meetup)[0]["categories"] == ["Social"]


def test_broken_file_is_listed_and_not_written(legacy_and_imported):
    _, imported, result = legacy_and_imported
    assert result.code == 1
    assert f"{BROKEN}: no JBake header" in result.out
    assert not (imported / "content/patterns" / BROKEN).exists()
    for rel in GOOD:
        assert f"wrote {imported / 'content/patterns' / rel}" in result.out or \
            f"content/patterns/{rel}" in result.out


def test_dry_run_writes_nothing_and_shows_a_diff(site):
    root = site({"site.toml": SITE_TOML})
    result = run_cli("import", "jbake", str(FIXTURES), "--dry-run", "--root", str(root))
    assert result.code == 1                    # the broken file is still reported
    assert not (root / "content").exists()
    assert "would write" in result.out and "pairing-hour.md" in result.out
    assert "-title=Pairing Hour" in result.out
    assert "+title: Pairing Hour" in result.out
    assert "+## Problem" in result.out
    assert f"{BROKEN}: no JBake header" in result.out


def test_no_overwrite_without_force(site, tmp_path):
    clean = tmp_path / "clean"
    for rel in GOOD:
        (clean / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / rel, clean / rel)
    root = site({"site.toml": SITE_TOML})
    first = run_cli("import", "jbake", str(clean), "--root", str(root))
    assert first.code == 0, first.out
    target = root / "content/patterns/pairing-hour.md"
    target.write_text("edited by hand\n", encoding="utf-8")

    again = run_cli("import", "jbake", str(clean), "--root", str(root))
    assert again.code == 1
    assert "exists; use --force" in again.out
    assert target.read_text() == "edited by hand\n"

    preview = run_cli("import", "jbake", str(clean), "--root", str(root), "--force", "--dry-run")
    assert preview.code == 0 and target.read_text() == "edited by hand\n"

    forced = run_cli("import", "jbake", str(clean), "--root", str(root), "--force")
    assert forced.code == 0, forced.out
    assert target.read_text().startswith("---\ntitle: Pairing Hour\n")


def test_into_folder_and_unclean_pages(site, tmp_path):
    src = write_files(tmp_path / "src", {
        "forces.md": """
            title=Forces
            date=2020-01-01
            ~~~~~~
            *Code*

            ***Problem***: p [gone](missing-page.html#x) and [ok](other.html).

            ***Forces***: an unknown marker.

            ***Context***: c

            ***Solution***: s

            ***Consequences***: x
        """,
        "other.md": "title=Other\n~~~~~~\n***Problem***: p\n\n***Context***: c\n\n***Solution***: s\n\n"
                    "***Consequences***: x\n",
        "yaml-already.md": "---\ntitle: Modern\n---\nbody\n",
        "unclosed.md": "title=Unclosed\ndate=2020-01-01\nstatus=published\n\nbody\n",
        "page.html": "<p>An HTML page.</p>\n",
        "img/diagram.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    })
    root = site({"site.toml": SITE_TOML})
    result = run_cli("import", "jbake", str(src), "--into", "content/patterns/legacy", "--root", str(root))
    assert result.code == 1
    out = root / "content/patterns/legacy"
    forces = (out / "forces.md").read_text()
    assert "unknown section marker '***Forces***'" in result.out
    assert "***Forces***: an unknown marker." in forces           # kept, as the legacy page showed it
    assert "[gone](missing-page.html#x)" in forces                 # no such page: left alone
    assert "[ok](other.md)" in forces
    assert (out / "other.md").is_file()
    assert (out / "img/diagram.svg").read_bytes() == (src / "img/diagram.svg").read_bytes()
    assert "yaml-already.md: already has YAML frontmatter" in result.out
    assert "unclosed.md: line 1: JBake header is never closed" in result.out
    assert "page.html: '.html' pages cannot be converted" in result.out
    for name in ("yaml-already.md", "unclosed.md", "page.html"):
        assert not (out / name).exists()


def test_crlf_and_bad_arguments(site, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "crlf.md").write_bytes(b"title=CRLF\r\n~~~~~~\r\n*Code*\r\n\r\nIntro.\r\n\r\n***Problem***: p\r\n\r\n"
                                  b"***Context***: c\r\n\r\n***Solution***: s\r\n\r\n***Consequences***: x\r\n")
    root = site({"site.toml": SITE_TOML})
    result = run_cli("import", "jbake", str(src), "--root", str(root))
    assert result.code == 0, result.out
    data = (root / "content/patterns/crlf.md").read_bytes()
    assert data.startswith(b"---\r\ntitle: CRLF\r\ncategories: [Code]\r\n---\r\nIntro.\r\n\r\n## Problem\r\n\r\np\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert run_cli("import", "jbake", str(tmp_path / "nope"), "--root", str(root)).code == 2
    assert run_cli("import", "jbake", "--root", str(root)).code == 2
    assert run_cli("import", "hugo", str(src), "--root", str(root)).code == 2
