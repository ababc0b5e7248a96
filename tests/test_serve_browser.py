"""``devrel-site serve`` in a real headless Chromium: live reload, scroll kept, error overlay, CSS swap."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from test_serve import REPO, Served, make_site, pattern, write

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p and Path(p).exists()), None)
if CHROMIUM is None:
    pytest.skip("no Chromium found at /usr/bin/chromium or on PATH (apt-get install chromium)",
                allow_module_level=True)

WAIT_MS = 15_000
LONG_SOLUTION = "\n\n".join(f"Paragraph {i} of the long solution. " + "Words to make it tall. " * 12
                            for i in range(60))


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


@pytest.fixture
def live(tmp_path, browser):
    """A served fixture site (with a long Alpha page and a site-level stylesheet) and a browser page."""
    root = make_site(tmp_path / "site")
    write(root, "content/patterns/alpha.md", pattern("Alpha", solution=LONG_SOLUTION))
    css = (REPO / "themes" / "default" / "static" / "style.css").read_text(encoding="utf-8")
    write(root, "themes/default/static/style.css", css + "\nbody { background-color: rgb(255, 255, 255); }\n")
    server = Served(root, "--port", "0").started()
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        yield root, server, page
    finally:
        context.close()
        if server.proc.poll() is None:
            assert server.stop() == 0


def _open(page, server: Served, path: str) -> None:
    page.goto(server.url.rstrip("/") + path)
    # The event stream is open once the server counts it; wait for the hello round trip.
    page.wait_for_function("() => performance.getEntriesByType('resource').some(e => e.name.includes('/__devrel__/'))")
    time.sleep(0.2)


def test_edit_reloads_the_page_and_keeps_the_scroll_position(live):
    root, server, page = live
    _open(page, server, "/patterns/alpha/")
    page.evaluate("() => { window.scrollTo(0, 1500); window.__marker = 1; }")
    page.wait_for_function("() => Math.abs(window.scrollY - 1500) < 2")
    write(root, "content/patterns/alpha.md", pattern("Alpha", solution="Edited opening words.\n\n" + LONG_SOLUTION))
    page.wait_for_function("() => document.body.innerText.includes('Edited opening words.')")
    assert page.evaluate("() => window.__marker") is None                     # it was a real reload
    page.wait_for_function("() => Math.abs(window.scrollY - 1500) < 2")       # and the scroll came back


def test_overlay_names_the_file_and_line_and_goes_away_when_fixed(live):
    root, server, page = live
    _open(page, server, "/patterns/gamma/")
    write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]").replace("## Solution\n", ""))
    dialog = page.get_by_role("alertdialog")
    dialog.wait_for(state="visible")
    text = dialog.inner_text()
    assert "content/patterns/gamma.md:1" in text and "section-missing" in text and "Solution" in text
    link = dialog.get_by_role("link", name="content/patterns/gamma.md:1")
    assert link.get_attribute("href") == f"vscode://file/{root.resolve().as_posix()}/content/patterns/gamma.md:1:1"

    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="detached")
    page.reload()                                                              # a fresh page shows it too
    page.get_by_role("alertdialog").wait_for(state="visible")

    write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]", solution="Fixed now."))
    page.get_by_role("alertdialog").wait_for(state="detached")
    page.wait_for_function("() => document.body.innerText.includes('Fixed now.')")


def test_stylesheet_edit_applies_without_a_reload(live):
    root, server, page = live
    _open(page, server, "/patterns/gamma/")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    page.evaluate("() => { window.__marker = 1; }")
    css_path = root / "themes/default/static/style.css"
    css = css_path.read_text(encoding="utf-8")
    css_path.write_text(css.replace("rgb(255, 255, 255)", "rgb(10, 20, 30)"), encoding="utf-8")
    page.wait_for_function("() => getComputedStyle(document.body).backgroundColor === 'rgb(10, 20, 30)'")
    assert page.evaluate("() => window.__marker") == 1


def test_many_tabs_load_and_all_reload_on_one_save(live, browser):
    """Every tab shares one event stream (a shared worker): a browser opens six connections
    to a server at most, and a stream per tab would leave a seventh tab loading forever."""
    root, server, _ = live
    context = browser.new_context()
    try:
        pages = []
        for i in range(9):
            tab = context.new_page()
            tab.set_default_timeout(WAIT_MS)
            tab.goto(server.url.rstrip("/") + ("/patterns/alpha/" if i % 2 else "/patterns/"))
            pages.append(tab)
        time.sleep(0.5)
        write(root, "content/patterns/alpha.md", pattern("Alpha Edited", solution=LONG_SOLUTION))
        for tab in pages:
            tab.wait_for_function("() => document.body.innerText.includes('Alpha Edited')")
    finally:
        context.close()


def test_escape_closes_the_overlay(live):
    root, server, page = live
    _open(page, server, "/patterns/gamma/")
    write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]").replace("## Solution\n", ""))
    page.get_by_role("alertdialog").wait_for(state="visible")
    page.keyboard.press("Escape")
    page.get_by_role("alertdialog").wait_for(state="detached")
