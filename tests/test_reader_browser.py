"""What a reader sees, checked in real headless Chromium: search, the map, backlinks,
accessibility under axe-core in light and dark mode, narrow screens, and no-JavaScript use."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from browser import CHROMIUM_ARGS, require_chromium, static_server
from conftest import REPO, run_cli

AXE = REPO / "tests" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "tests" / "screenshots"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reader") / "site"
    result = run_cli("build", "--root", str(REPO), "--out", str(out), timeout=300)
    assert result.code == 0, result.out + result.err
    assert (out / "pagefind" / "pagefind-ui.js").is_file(), "search index missing: is pagefind installed?"
    return out


@pytest.fixture(scope="module")
def browser():
    executable = require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def server(built):
    # Served under the sample site's base path, as it would be published.
    with static_server(built, prefix="devrel") as url:
        yield url


def html_pages(built: Path) -> list[str]:
    return sorted(p.relative_to(built).as_posix() for p in built.rglob("*.html")
                  if not p.relative_to(built).as_posix().startswith("pagefind/"))


def text_of(built: Path, rel: str) -> str:
    return BeautifulSoup((built / rel).read_text(encoding="utf-8"), "lxml").get_text(" ")


def test_search_finds_a_word_from_a_solution(built, browser, server):
    pages = [p for p in html_pages(built) if p.startswith("patterns/") and p.count("/") == 2
             and not p.startswith(("patterns/map", "patterns/a-z"))]
    counts: Counter = Counter()
    texts = {p: text_of(built, p).lower() for p in html_pages(built)}
    for text in texts.values():
        counts.update(set(re.findall(r"[a-z]{9,}", text)))
    target, word = None, None
    for page in pages:
        soup = BeautifulSoup((built / page).read_text(encoding="utf-8"), "lxml")
        heading = soup.find("h2", id="solution")
        solution = " ".join(s.get_text(" ") for s in heading.find_next_siblings()
                            if s.name != "h2") if heading else ""
        unique = sorted(w for w in set(re.findall(r"[a-z]{9,}", solution.lower())) if counts[w] == 1)
        if unique:
            target, word = page, unique[0]
            break
    assert word, "no pattern has a word of its own in its Solution"
    page = browser.new_page()
    page.goto(server)
    page.fill("#__search", word)
    page.press("#__search", "Enter")
    page.wait_for_url(re.compile(r"/search/"))
    title = BeautifulSoup((built / target).read_text(encoding="utf-8"), "lxml").h1.get_text()
    page.locator(".pagefind-ui__result-link").first.wait_for(timeout=15000)
    result = page.locator(".pagefind-ui__result-link", has_text=title).first
    assert "·" in result.inner_text()            # title · category
    assert page.locator(".pagefind-ui__result-excerpt").first.inner_text().strip()
    result.click()
    page.wait_for_load_state()
    assert page.url.rstrip("/").endswith(target.removesuffix("index.html").rstrip("/")) or \
        page.url.endswith(target), (page.url, target)
    page.close()


def test_map_node_leads_to_its_pattern(built, browser, server):
    page = browser.new_page()
    page.goto(server + "patterns/map/")
    nodes = page.locator("svg a.map-node")
    assert nodes.count() == len([p for p in html_pages(built) if re.fullmatch(r"patterns/[^/]+/index\.html", p)
                                 and not p.startswith(("patterns/map/", "patterns/a-z/"))])
    node = nodes.nth(3)
    title = node.locator("text").text_content()
    node.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == title
    page.close()


def test_backlinks_list_the_linking_pages(built, browser, server):
    page = browser.new_page()
    page.goto(server + "patterns/office-hours/")
    referenced = page.locator("section.backlinks li a")
    titles = referenced.all_inner_texts()
    assert titles, "office-hours has no backlinks"
    first = referenced.first
    first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == titles[0]
    assert page.locator('a[href*="office-hours"]').count() >= 1
    page.close()


@pytest.mark.parametrize("scheme,width", [("light", 1280), ("dark", 1280), ("light", 375)])
def test_axe_finds_no_serious_violations(built, browser, server, scheme, width):
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run 'npm install --prefix tests' (make test does)")
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900})
    page = context.new_page()
    failures = []
    for rel in html_pages(built):
        page.goto(server + rel)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        for violation in serious:
            targets = [n["target"] for n in violation["nodes"]][:3]
            failures.append(f"{rel}: {violation['id']} ({violation['impact']}): {targets}")
    context.close()
    assert not failures, "\n".join(failures)


PAGE_TYPES = {"home": "", "catalog": "patterns/", "pattern": "patterns/customer-check-in/",
              "legacy-pattern": "patterns/office-hours/", "a-z": "patterns/a-z/", "map": "patterns/map/",
              "tags": "tags/", "tag": "tags/devrel/", "category": "categories/social/",
              "handbook": "handbook/support/escalation/", "handbook-home": "handbook/", "search": "search/",
              "not-found": "404.html"}


@pytest.mark.parametrize("width", [320, 375, 1280])       # 320: the page zoomed to 400% (WCAG reflow)
def test_page_types_fit_the_screen_and_are_captured(built, browser, server, width):
    SCREENSHOTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    for name, url in PAGE_TYPES.items():
        page.goto(server + url)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{name} is {overflow}px wide at {width}px"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    # The main navigation stays reachable on a phone.
    page.goto(server + "patterns/customer-check-in/")
    for label in ("Patterns", "Tags", "Handbook"):
        assert page.get_by_role("link", name=label, exact=True).first.is_visible()
    context.close()


def test_long_words_wide_tables_and_a_long_handbook_menu_fit_a_phone_and_paper(tmp_path, browser):
    from conftest import pattern, write_files
    long_word = "x" * 150
    body = (f"\nA `{long_word}` and https://example.org/{'segment/' * 20}end and {long_word}.\n\n"
            "| " + " | ".join(f"column {i} heading" for i in range(12)) + " |\n|" + "---|" * 12 + "\n"
            "| " + " | ".join(f"value {i}" for i in range(12)) + " |\n\n"
            f"```\n{'code ' * 60}\n```\n")
    files = {"site.toml": 'title = "Phone"\n', "content/patterns/wide.md": pattern("Wide", body_extra=body)}
    for i in range(30):
        files[f"content/handbook/part-{i // 10}/page-{i}.md"] = f"# Page {i}\n\nText of page {i}.\n"
    files["content/handbook/part-0/page-0.md"] = "# Page 0\n\n" + body
    root = write_files(tmp_path / "site", files)
    out = tmp_path / "out"
    result = run_cli("build", "--root", str(root), "--out", str(out))
    assert result.code == 0, result.out + result.err
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    with static_server(out) as url:
        for rel in ("patterns/wide/", "handbook/part-0/page-0/"):
            page.goto(url + rel)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, rel
        # On a phone the page's own text comes before the handbook's menu, which a link reaches.
        assert page.locator("h1").bounding_box()["y"] < 400
        page.get_by_role("link", name="Handbook contents").click()
        assert page.evaluate("location.hash") == "#__handbook-nav"
        # On paper, code and tables wrap instead of being cut off at the right edge.
        page.goto(url + "patterns/wide/")
        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('.prose pre')).whiteSpace") == "pre-wrap"
        assert page.evaluate("getComputedStyle(document.querySelector('.prose table')).overflowX") == "visible"
    # Search opened from disk says why it cannot work, instead of waiting for ever.
    page.goto((out / "search/index.html").as_uri() + "?q=wide")
    assert page.locator("#search-offline").is_visible()
    context.close()


def test_everything_but_search_works_without_javascript(built, browser, server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(server)
    page.fill("#__search", "customer")
    page.press("#__search", "Enter")
    page.wait_for_url(re.compile(r"/search/"))
    assert "needs JavaScript" in page.locator("main").inner_text()
    page.get_by_role("link", name="patterns by category").click()
    page.wait_for_url(re.compile(r"/patterns/"))
    page.locator(".card__title").first.click()
    page.wait_for_load_state()
    assert page.locator("h2#problem").count() == 1
    context.close()


def test_skip_link_moves_focus_to_main(built, browser, server):
    page = browser.new_page()
    page.goto(server + "patterns/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "__main"
    page.close()


def _search(browser, server: str, word: str) -> list[str]:
    page = browser.new_page()
    page.goto(server + "search/?q=" + word)
    # The interface says "3 results for ..." or "No results for ..." once every part has answered.
    page.wait_for_function("() => /results? for/i.test((document.querySelector('.pagefind-ui__message') || {})"
                           ".textContent || '')", timeout=15000)
    titles = [link.inner_text() for link in page.locator(".pagefind-ui__result-link").all()]
    page.close()
    return titles


def test_a_large_sites_search_comes_in_parts_and_a_warm_build_remakes_one(tmp_path, browser):
    import shutil
    root = tmp_path / "site"
    shutil.copytree(REPO / "content", root / "content")
    (root / "site.toml").write_text((REPO / "site.toml").read_text(encoding="utf-8")
                                    + "\n[search]\npages_per_index = 5\n", encoding="utf-8")
    result = run_cli("build", "--root", str(root), timeout=300)
    assert result.code == 0, result.out + result.err
    out = root / "build"
    parts = sorted(p.name for p in (out / "pagefind").iterdir())
    assert parts == ["0", "1", "2", "3", "4"]                       # 25 pages, 5 to an index
    target = root / "content" / "patterns" / "office-hours.md"
    from generator.search import part_of
    assert part_of("patterns/office-hours/index.html", 5) != 0      # found only if the parts are merged
    with static_server(out, prefix="devrel") as server:
        # A word from the one page, found whichever part holds it.
        assert any("Office Hours" in title for title in _search(browser, server, "tuesdays"))
        stamps = {p: p.stat().st_mtime_ns for p in (out / "pagefind").rglob("pagefind-entry.json")}
        target.write_text(target.read_text(encoding="utf-8") + "\nA zanzibarish aside.\n", encoding="utf-8")
        result = run_cli("build", "--root", str(root), timeout=300)
        assert result.code == 0 and "from the cache" in result.err, result.out + result.err
        changed = [p.parent.name for p, stamp in stamps.items() if p.stat().st_mtime_ns != stamp]
        assert len(changed) == 1, changed                             # only the part with the page
        assert any("Office Hours" in title for title in _search(browser, server, "zanzibarish"))
