"""Tests for generator.linkcheck: internal links, fragments, and external URLs.

Sites are written into ``tmp_path`` by each test. External checks talk to a
small HTTP server on 127.0.0.1 started by the ``server`` fixture.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from generator import linkcheck
from generator.diagnostics import Severity
from generator.linkcheck import check_site, parse_meta_refresh, parse_srcset, scan_html

from conftest import run_cli


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def write_site(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, f"{needle!r} must occur exactly once"
    return text[: text.index(needle)].count("\n") + 1


def places(result: linkcheck.LinkcheckResult) -> list[tuple[str, int | None, str]]:
    return [(d.path, d.line, d.code) for d in result.diagnostics]


def page(body: str, head: str = "") -> str:
    return f"<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n{head}</head>\n<body>\n{body}</body>\n</html>\n"


PATTERN_X = page('<h1 id="top-title">X</h1>\n<h2 id="problem">Problem</h2>\n'
                 '<h2 id="solution">Solution</h2>\n<a name="legacy"></a>\n')


# --------------------------------------------------------------------------
# parsing helpers
# --------------------------------------------------------------------------

def test_parse_srcset_candidates_and_descriptors():
    assert parse_srcset("a.png 1x, b.png 2x") == ["a.png", "b.png"]
    assert parse_srcset("small.jpg 480w,large.jpg 960w") == ["small.jpg", "large.jpg"]
    assert parse_srcset("  one.png  ") == ["one.png"]
    # A URL runs to the next whitespace, so commas inside it survive; trailing
    # commas end a candidate that has no descriptor.
    assert parse_srcset("img/w_100,h_50.png 1x, two.png,, three.png 2x") == [
        "img/w_100,h_50.png", "two.png", "three.png"]
    assert parse_srcset("a.png,b.png 2x") == ["a.png,b.png"]
    assert parse_srcset("x.png (a, b) 1x, y.png") == ["x.png", "y.png"]
    assert parse_srcset("") == [] and parse_srcset(" , ,") == []


def test_parse_meta_refresh():
    assert parse_meta_refresh("0; url=/patterns/") == "/patterns/"
    assert parse_meta_refresh("5;URL='new.html'") == "new.html"
    assert parse_meta_refresh('0 ; url = "quoted/" ') == "quoted/"
    assert parse_meta_refresh("0, next.html") == "next.html"
    assert parse_meta_refresh("30") is None
    assert parse_meta_refresh("0;") is None


def test_parse_meta_refresh_follows_the_html_standard():
    assert parse_meta_refresh("0 m12.html") == "m12.html"               # whitespace separates
    assert parse_meta_refresh("1.5.5; url=m14.html") == "m14.html"      # digits and dots
    assert parse_meta_refresh(".5; url=half.html") == "half.html"
    assert parse_meta_refresh("0\n;\nURL\n=\nn.html") == "n.html"
    assert parse_meta_refresh("0; url='a b.html' trailing") == "a b.html"  # a quote ends the URL
    assert parse_meta_refresh("0;urlfoo.html") == "urlfoo.html"
    assert parse_meta_refresh("0; url=") is None
    assert parse_meta_refresh("-1; url=x.html") is None and parse_meta_refresh("soon; url=x.html") is None
    assert parse_meta_refresh("0x.html") is None


def test_scan_html_positions_labels_and_ids():
    text = ('<!doctype html>\n'
            '<p id="intro">\n'
            '  <a\n'
            '     href="x.html">Hello   <b>world</b></a>  <img src="i.png" alt="pic">\n'
            '<a href="#q"><img src="logo.png" alt="Logo"></a><a name="anchor-name" href="y">'
            + "long text " * 10 + '</a>\n'
            '<script>var s = "<a href=not-a-link>";</script><!-- <a href="nor-this"> -->\n'
            '<base href="/docs/"><a href="z"></a>\n')
    scan = scan_html(text, "p.html")
    assert scan.path == "p.html"
    assert scan.ids == frozenset({"intro", "anchor-name"})
    assert scan.base_href == "/docs/"
    assert [(link.url, link.line, link.column) for link in scan.links] == [
        ("x.html", 3, 3), ("i.png", 4, 46), ("#q", 5, 1), ("logo.png", 5, 14),
        ("y", 5, 49), ("z", 7, 21)]
    labels = [link.label for link in scan.links]
    assert labels[0] == "'Hello world'"
    assert labels[1] == "<img src>"
    assert labels[2] == "'Logo'"
    assert labels[4].startswith("'long text long") and labels[4].endswith("...'")
    assert len(labels[4]) <= linkcheck.LABEL_LIMIT + 2
    assert labels[5] == "<a href>"


# --------------------------------------------------------------------------
# internal links
# --------------------------------------------------------------------------

GOOD_INDEX = page(
    '<h1 id="intro">Home</h1>\n'
    '<a href="guide/start.html">Getting started</a>\n'
    '<a href="guide/">Guide</a>\n'
    '<a href="guide">Guide without slash</a>\n'
    '<a href="guide/install">Install, no extension</a>\n'
    '<a href="/patterns/x/#solution">Solution</a>\n'
    '<a href="patterns/x/index.html#legacy">Legacy anchor</a>\n'
    '<a href="caf%C3%A9.html">Caf\u00e9</a>\n'
    '<a href="guide/start.html?ref=home#">Query and empty fragment</a>\n'
    '<a href="#intro">Intro</a> <a href="#">Top</a> <a href="#top">Top again</a>\n'
    '<a href="docs/manual.pdf#page=2">Manual</a>\n'
    '<a href="old.html">Old page</a>\n'
    '<img src="assets/logo.png" srcset="assets/logo.png 1x, assets/logo-2x.png 2x" alt="Logo">\n'
    '<picture><source srcset="assets/hero-480.jpg 480w, assets/hero-960.jpg 960w" sizes="50vw">'
    '<img src="assets/hero-480.jpg" alt=""></picture>\n'
    '<iframe src="embed.html"></iframe>\n'
    '<a href="mailto:team@example.org">Mail</a> <a href="tel:+4912345">Call</a>\n'
    '<a href="javascript:void(0)">JS</a> <img src="data:image/png;base64,AAAA" alt="">\n'
    '<a href="ftp://example.org/file.txt">FTP</a>\n'
    '<a href="https://example.com/page#part">External</a>\n'
    '<a href="https://example.com/page#other">External again</a>\n'
    '<script src="//cdn.example.net/lib.js"></script>\n',
    head='<link rel="stylesheet" href="assets/style.css">\n'
         '<link rel="preconnect" href="https://fonts.example.net">\n'
         '<script src="/assets/app.js"></script>\n')

GOOD_SITE = {
    "index.html": GOOD_INDEX,
    "guide/index.html": page('<a href="start.html">Start</a>\n<a href="../">Home</a>\n'),
    "guide/start.html": page(
        '<a href="../index.html">Home</a>\n'
        '<a href="../patterns/x/#problem">Problem</a>\n'
        '<a href="install.html">Install</a>\n'
        '<a href="./">Guide index</a>\n'
        '<a href="./../guide/./start.html#top">Dots</a>\n'),
    "guide/install.html": page('<a href="/">Home</a>\n'),
    "patterns/index.html": page('<a href="x/">X</a>\n'),
    "patterns/x/index.html": PATTERN_X,
    "caf\u00e9.html": page('<a href="/caf%C3%A9.html#">Self</a>\n'),
    "embed.html": page("<p>embedded</p>\n"),
    "old.html": page("", head='<meta http-equiv="refresh" content="0; url=patterns/x/">\n'),
    "assets/style.css": "body {}\n",
    "assets/app.js": "",
    "assets/logo.png": "png",
    "assets/logo-2x.png": "png",
    "assets/hero-480.jpg": "jpg",
    "assets/hero-960.jpg": "jpg",
    "docs/manual.pdf": "%PDF",
}


def test_good_site_has_no_diagnostics(tmp_path):
    site = write_site(tmp_path / "site", GOOD_SITE)
    result = check_site(site)
    assert result.diagnostics == ()
    assert result.pages == 9
    # index: 2 in <head> (preconnect hints are skipped), 13 internal anchors, 3 for the img
    # (src and two srcset candidates), 3 for the picture, 1 iframe, 2 external anchors and 1
    # protocol-relative script = 25 (mailto, tel, javascript, data and ftp are skipped); the
    # other pages: 2 + 5 + 1 + 1 + 0 + 1 + 0 + 1 (meta refresh) = 11.
    assert result.links == 36
    assert result.external_urls == ("https://cdn.example.net/lib.js", "https://example.com/page")


BROKEN_INDEX = page(
    '<h1 id="intro">Home</h1>\n'
    '<a href="guide/start.html">Getting started</a>\n'
    '<a href="patterns/x/#soluton">Solution</a>\n'
    '<a href="#nowhere">Same page</a>\n'
    '<a href="../outside.html">Escape</a>\n'
    '<a href="guide/missing/">Missing folder</a>\n'
    '<a href="nope">Nope</a>\n'
    '<img src="img/a.png" srcset="img/a.png 1x, img/b.png 2x, img/c.png 3x" alt="">\n'
    '<a href="caf%C3%A9.html">Encoded</a>\n'
    '<a href="docs/manual.pdf#no-such-page">PDF fragments are not checked</a>\n'
    '<iframe src="frame.html"></iframe>\n'
    '<a href="guide/start.html">Getting started, again</a>\n',
    head='<link rel="stylesheet" href="missing.css">\n'
         '<script src="/js/missing.js"></script>\n'
         '<meta http-equiv="refresh" content="10; url=gone/">\n')

BROKEN_SITE = {
    "index.html": BROKEN_INDEX,
    "guide/started.html": page('<a href="../patterns/x/#nope">Nope</a>\n<a href="../index.html#intro">ok</a>\n'),
    "patterns/x/index.html": PATTERN_X,
    "cafe.html": page(""),
    "img/a.png": "png",
    "docs/manual.pdf": "%PDF",
}


def test_every_broken_link_is_reported_at_its_place(tmp_path):
    (tmp_path / "outside.html").write_text(page(""), encoding="utf-8")   # exists, but outside
    site = write_site(tmp_path / "site", BROKEN_SITE)
    result = check_site(site)
    at = lambda needle: line_of(BROKEN_INDEX, needle)  # noqa: E731
    started = BROKEN_SITE["guide/started.html"]
    expected = sorted([
        ("guide/started.html", line_of(started, "#nope"), "link-anchor"),
        ("index.html", at("missing.css"), "link-broken"),
        ("index.html", at("/js/missing.js"), "link-broken"),
        ("index.html", at("gone/"), "link-broken"),
        ("index.html", at("Getting started<"), "link-broken"),
        ("index.html", at("#soluton"), "link-anchor"),
        ("index.html", at("#nowhere"), "link-anchor"),
        ("index.html", at("outside.html"), "link-broken"),
        ("index.html", at("guide/missing/"), "link-broken"),
        ("index.html", at('"nope"'), "link-broken"),
        ("index.html", at("img/b.png"), "link-broken"),
        ("index.html", at("img/c.png"), "link-broken"),
        ("index.html", at("caf%C3%A9.html"), "link-broken"),
        ("index.html", at("frame.html"), "link-broken"),
        ("index.html", at("Getting started, again"), "link-broken"),
    ], key=lambda item: (item[0], item[1]))
    assert places(result) == expected
    assert len(result.diagnostics) == 15
    assert all(d.severity is Severity.ERROR for d in result.diagnostics)


def test_messages_and_hints(tmp_path):
    site = write_site(tmp_path / "site", BROKEN_SITE)
    result = check_site(site)
    by_line = {(d.path, d.line, d.message): d for d in result.diagnostics}

    line = line_of(BROKEN_INDEX, "Getting started<")
    [start] = [d for (path, ln, _), d in by_line.items() if path == "index.html" and ln == line]
    assert start.message == "broken link 'Getting started' -> 'guide/start.html': no such file"
    assert start.hint == "did you mean 'guide/started.html'?"
    assert start.column == 1

    line = line_of(BROKEN_INDEX, "#soluton")
    [anchor] = [d for (path, ln, _), d in by_line.items() if path == "index.html" and ln == line]
    assert anchor.message == "link 'Solution' -> 'patterns/x/#soluton': no id 'soluton' in patterns/x/index.html"
    assert anchor.hint == "did you mean '#solution'?"

    line = line_of(BROKEN_INDEX, "#nowhere")
    [same] = [d for (path, ln, _), d in by_line.items() if path == "index.html" and ln == line]
    assert same.message == "link 'Same page' -> '#nowhere': no id 'nowhere' in index.html"

    line = line_of(BROKEN_INDEX, "img/b.png")
    images = sorted(d.message for (path, ln, _), d in by_line.items() if path == "index.html" and ln == line)
    assert images == ["broken link <img srcset> -> 'img/b.png': no such file",
                      "broken link <img srcset> -> 'img/c.png': no such file"]

    line = line_of(BROKEN_INDEX, "outside.html")
    [escape] = [d for (path, ln, _), d in by_line.items() if path == "index.html" and ln == line]
    assert "points outside the checked folder" in escape.message

    line = line_of(BROKEN_INDEX, "caf%C3%A9.html")
    [encoded] = [d for (path, ln, _), d in by_line.items() if path == "index.html" and ln == line]
    assert encoded.hint == "did you mean 'cafe.html'?"

    line = line_of(BROKEN_INDEX, "gone/")
    [refresh] = [d for (path, ln, _), d in by_line.items() if path == "index.html" and ln == line]
    assert refresh.message == "broken link <meta refresh> -> 'gone/': no such file"


def test_multi_line_tag_reports_the_line_and_column_where_it_starts(tmp_path):
    text = '<!doctype html>\n<p>\n  see <a\n     class="x"\n     href="missing.html"\n  >Text</a>\n'
    site = write_site(tmp_path / "site", {"index.html": text})
    [diag] = check_site(site).diagnostics
    assert (diag.path, diag.line, diag.column, diag.code) == ("index.html", 3, 7, "link-broken")


def test_index_and_extension_resolution(tmp_path):
    site = write_site(tmp_path / "site", {
        "index.html": page('<a href="a">file a itself</a>\n<a href="b">b.html</a>\n<a href="c">c/index.html</a>\n'
                           '<a href="c/">c/index.html</a>\n<a href="d/">no d/index.html</a>\n'
                           '<a href="e">e is an empty folder</a>\n<a href="b/">b/ is not b.html</a>\n'),
        "a": "plain file",
        "b.html": page(""),
        "c/index.html": page(""),
        "d/other.html": page(""),
        "e/readme.txt": "",
    })
    result = check_site(site)
    assert places(result) == [("index.html", 11, "link-broken"), ("index.html", 12, "link-broken"),
                              ("index.html", 13, "link-broken")]
    assert [d.message.split(" -> ")[1] for d in result.diagnostics] == [
        "'d/': no such file", "'e': no such file", "'b/': no such file"]


def test_sub_path_base_url(tmp_path):
    index = page(
        '<a href="/devrel/patterns/x/">root-relative inside the base path</a>\n'
        '<a href="/devrel/patterns/x/#solution">with a fragment</a>\n'
        '<a href="/devrel/patterns/x/#nope">bad fragment</a>\n'
        '<a href="/patterns/x/">outside the base path</a>\n'
        '<a href="https://example.org/devrel/patterns/x/#problem">own absolute URL</a>\n'
        '<a href="https://EXAMPLE.org:443/devrel/missing/">own absolute URL, missing</a>\n'
        '<a href="//example.org/devrel/patterns/">protocol-relative own URL</a>\n'
        '<a href="https://example.org/devrel">base without slash</a>\n'
        '<a href="https://example.org/blog/">same host, outside the base</a>\n'
        '<a href="../elsewhere/">climbs out of the base path</a>\n')
    site = write_site(tmp_path / "site", {
        "index.html": index,
        "patterns/index.html": page(""),
        "patterns/x/index.html": PATTERN_X,
    })
    result = check_site(site, base_url="https://example.org/devrel/")
    assert places(result) == [
        ("index.html", line_of(index, "#nope"), "link-anchor"),
        ("index.html", line_of(index, '"/patterns/x/"'), "link-broken"),
        ("index.html", line_of(index, "devrel/missing/"), "link-broken"),
        ("index.html", line_of(index, "../elsewhere/"), "link-broken"),
    ]
    outside = result.diagnostics[1]
    assert outside.message == ("broken link 'outside the base path' -> '/patterns/x/': "
                               "outside the site base path '/devrel/'")
    assert result.external_urls == ("https://example.org/blog/",)
    assert result.links == 10

    # A base URL without a host: same internal result, but every absolute URL is external.
    result = check_site(site, base_url="/devrel/")
    assert places(result)[0] == ("index.html", line_of(index, "#nope"), "link-anchor")
    assert [line for _, line, _ in places(result)] == [line_of(index, needle) for needle in (
        "#nope", '"/patterns/x/"', "../elsewhere/")]
    assert len(result.external_urls) == 5

    # The same folder published at the root: now '/patterns/x/' is right, and
    # '/devrel/...' links are broken; absolute example.org URLs are external.
    result = check_site(site, base_url="/")
    assert [line for _, line, _ in places(result)] == [1 + 6, 2 + 6, 3 + 6, 10 + 6]
    assert result.external_urls == (
        "https://EXAMPLE.org:443/devrel/missing/", "https://example.org/blog/",
        "https://example.org/devrel", "https://example.org/devrel/patterns/",
        "https://example.org/devrel/patterns/x/")


def test_base_href_changes_resolution(tmp_path):
    docs = page('<a href="start.html">resolved under /guide/</a>\n'
                '<a href="nope.html">missing under /guide/</a>\n'
                '<a href="#problem">fragment of the base document</a>\n',
                head='<base href="/guide/">\n')
    cdn = page('<img src="logo.png" alt="">\n', head='<base href="https://cdn.example.com/assets/">\n')
    site = write_site(tmp_path / "site", {
        "docs/page.html": docs,
        "docs/cdn.html": cdn,
        "guide/start.html": page(""),
        "guide/index.html": PATTERN_X,
    })
    result = check_site(site)
    assert places(result) == [("docs/page.html", line_of(docs, "nope.html"), "link-broken")]
    assert result.external_urls == ("https://cdn.example.com/assets/logo.png",)


def test_ignore_patterns_are_regular_expressions(tmp_path):
    index = page('<a href="/generated/api.html">generated</a>\n'
                 '<a href="reports/2024.html">report</a>\n'
                 '<a href="still-broken.html">broken</a>\n'
                 '<a href="https://example.com/x">external</a>\n'
                 '<a href="https://example.org/y">kept</a>\n')
    # These two match only in the form they resolve to, not as written.
    sub = page('<a href="../generated/other.html">generated, relative</a>\n'
               '<script src="//cdn.example.net/lib.js"></script>\n')
    site = write_site(tmp_path / "site", {"index.html": index, "sub/page.html": sub})
    patterns = [r"^/generated/", r"reports/\d{4}\.html$", r"example\.com", r"^https://cdn\.example\.net/"]
    result = check_site(site, ignore=patterns)
    assert places(result) == [("index.html", line_of(index, "still-broken"), "link-broken")]
    assert result.external_urls == ("https://example.org/y",)
    assert result.links == 2
    unfiltered = check_site(site)
    assert len(unfiltered.diagnostics) == 4 and unfiltered.links == 7

    # With an absolute base URL, internal links resolve to absolute URLs.
    result = check_site(site, base_url="https://example.org/docs/", ignore=[r"^https://example\.org/docs/generated/"])
    assert [d.message.split(" -> ")[1] for d in result.diagnostics] == [
        "'/generated/api.html': outside the site base path '/docs/'",
        "'reports/2024.html': no such file", "'still-broken.html': no such file"]

    with pytest.raises(ValueError, match="ignore pattern"):
        check_site(site, ignore=["(unclosed"])


def test_not_a_folder(tmp_path):
    with pytest.raises(NotADirectoryError):
        check_site(tmp_path / "missing")


def test_large_site_is_checked_in_parallel_with_the_same_result(tmp_path, monkeypatch):
    count = linkcheck.PARALLEL_THRESHOLD + 20
    files = {}
    for number in range(count):
        files[f"p{number}/index.html"] = page(
            f'<h2 id="s{number}">S</h2>\n'
            f'<a href="../p{(number + 1) % count}/#s{(number + 1) % count}">next</a>\n'
            f'<a href="../p{number + 1}/">maybe missing</a>\n'
            f'<a href="/p{number}/#s{number + 1}">wrong fragment</a>\n')
    site = write_site(tmp_path / "site", files)

    pools = []
    real_get_context = multiprocessing.get_context

    class SpyContext:
        def __init__(self, context):
            self.context = context

        def Pool(self, *args, **kwargs):  # noqa: N802 - the multiprocessing name
            pool = self.context.Pool(*args, **kwargs)
            pools.append(args or kwargs)
            return pool

    monkeypatch.setattr(multiprocessing, "get_context", lambda *a: SpyContext(real_get_context(*a)))
    parallel = check_site(site)
    assert pools == [(2,)]
    monkeypatch.setattr(linkcheck, "PARALLEL_THRESHOLD", 10**9)
    serial = check_site(site)
    assert len(pools) == 1
    assert parallel == serial
    assert parallel.pages == count
    assert parallel.links == 3 * count
    # One missing page (p{count}) and one wrong fragment per page.
    assert Counter(d.code for d in parallel.diagnostics) == {"link-anchor": count, "link-broken": 1}
    assert [d.path for d in parallel.diagnostics] == sorted(d.path for d in parallel.diagnostics)


# --------------------------------------------------------------------------
# external links
# --------------------------------------------------------------------------

class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.times: dict[str, list[float]] = {}
        self.in_flight = 0
        self.most_in_flight = 0
        self.stop = threading.Event()

    def total(self, path: str) -> int:
        with self.lock:
            return sum(n for (_, p), n in self.requests.items() if p == path)


def _handler(state: _State):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_HEAD(self) -> None:
            self._answer("HEAD")

        def do_GET(self) -> None:
            self._answer("GET")

        def _send(self, status: int, **headers: str) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _answer(self, method: str) -> None:
            path = self.path.split("?")[0]
            with state.lock:
                state.requests[(method, path)] += 1
                seen = sum(n for (_, p), n in state.requests.items() if p == path)
                state.times.setdefault(path, []).append(time.monotonic())
            if path == "/ok":
                self._send(200)
            elif path == "/missing":
                self._send(404)
            elif path == "/moved":
                self._send(301, Location="/ok")
            elif path == "/chain":
                self._send(302, Location=f"http://127.0.0.1:{self.server.server_address[1]}/moved")
            elif path == "/moved-away":
                self._send(308, Location="/missing")
            elif path == "/loop":
                self._send(307, Location="/loop")
            elif path == "/limited":
                if seen == 1:
                    self._send(429, Retry_After="1")
                else:
                    self._send(200)
            elif path == "/nohead":
                self._send(405 if method == "HEAD" else 200)
            elif path == "/head-missing":
                self._send(404 if method == "HEAD" else 200)
            elif path == "/down":
                self._send(500)
            elif path == "/flaky":
                self._send(503 if seen == 1 else 200)
            elif path == "/slow":
                state.stop.wait(2.0)
                try:
                    self._send(200)
                except OSError:
                    pass
            elif path.startswith("/hold/"):
                with state.lock:
                    state.in_flight += 1
                    state.most_in_flight = max(state.most_in_flight, state.in_flight)
                state.stop.wait(0.25)
                with state.lock:
                    state.in_flight -= 1
                self._send(200)
            else:
                self._send(404)

    return Handler


@pytest.fixture
def server():
    state = _State()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def links_page(base: str, paths: list[str]) -> str:
    return page("".join(f'<a href="{base}{path}">{path.strip("/") or "root"}</a>\n' for path in paths))


def test_external_links_are_not_fetched_by_default(tmp_path, server):
    site = write_site(tmp_path / "site", {"index.html": links_page(server.base, ["/missing", "/ok"])})
    result = check_site(site)
    assert result.diagnostics == ()
    assert result.external_urls == (f"{server.base}/missing", f"{server.base}/ok")
    assert sum(server.requests.values()) == 0


def test_external_statuses(tmp_path, server):
    paths = ["/ok", "/missing", "/moved", "/chain", "/moved-away", "/loop", "/limited", "/nohead",
             "/head-missing", "/down", "/flaky", "/missing#first", "/missing#second"]
    text = links_page(server.base, paths)
    site = write_site(tmp_path / "site", {"index.html": text})
    started = time.monotonic()
    result = check_site(site, external=True, timeout=5)
    assert time.monotonic() - started < 8
    by_line = {d.line: d for d in result.diagnostics}
    assert all(d.code == "link-external" for d in result.diagnostics)
    expected = {"/missing": "HTTP 404", "/moved-away": "HTTP 404", "/loop": "too many redirects",
                "/down": "HTTP 500", "/missing#first": "HTTP 404", "/missing#second": "HTTP 404"}
    assert {line: d.message.rsplit(": ", 1)[1] for line, d in by_line.items()} == {
        line_of(text, f'"{server.base}{path}"'): status for path, status in expected.items()}
    missing = by_line[line_of(text, f'"{server.base}/missing"')]
    assert missing.message == f"external link 'missing' -> '{server.base}/missing': HTTP 404"

    # The fragment is stripped: one HEAD (and one GET, for the 404) checks all three
    # /missing links; /moved-away leads there once more.
    assert server.requests[("HEAD", "/missing")] == 1 + 1
    assert server.requests[("GET", "/missing")] == 1 + 1
    assert server.requests[("HEAD", "/ok")] == 3             # direct, via /moved, via /chain
    # HEAD refused with 405: fall back to GET.
    assert server.requests[("HEAD", "/nohead")] == 1 and server.requests[("GET", "/nohead")] == 1
    # HEAD answered with another 4xx: GET decides (the URL works).
    assert server.requests[("HEAD", "/head-missing")] == 1 and server.requests[("GET", "/head-missing")] == 1
    # 429 waits for Retry-After (1 s) and asks again.
    limited = server.times["/limited"]
    assert len(limited) == 2 and limited[1] - limited[0] >= 0.9
    # 5xx: HEAD, then GET, then one GET retry after a backoff.
    assert server.requests[("HEAD", "/down")] == 1 and server.requests[("GET", "/down")] == 2
    assert server.total("/flaky") == 2
    # A redirect loop is followed 10 times, once, with HEAD: it is not retried.
    assert server.total("/loop") == 11


def test_slow_server_times_out(tmp_path, server):
    text = links_page(server.base, ["/ok", "/slow"])
    site = write_site(tmp_path / "site", {"index.html": text})
    result = check_site(site, external=True, timeout=0.5)
    assert places(result) == [("index.html", line_of(text, "/slow"), "link-external")]
    assert result.diagnostics[0].message.endswith(": timed out")
    assert result.diagnostics[0].hint is not None


def test_per_host_limit(tmp_path, server):
    paths = [f"/hold/{number}" for number in range(6)]
    site = write_site(tmp_path / "site", {"index.html": links_page(server.base, paths)})
    result = check_site(site, external=True, timeout=5, concurrency=6, per_host=2)
    assert result.diagnostics == ()
    assert server.most_in_flight == 2

    server.most_in_flight = 0
    server.requests.clear()
    result = check_site(site, external=True, timeout=5, concurrency=6, per_host=6)
    assert server.most_in_flight > 2


def test_cache_second_run_makes_no_requests(tmp_path, server):
    refused = f"http://127.0.0.1:{closed_port()}/gone"
    text = links_page(server.base, ["/ok", "/missing", "/moved"]) + f'<a href="{refused}">refused</a>\n'
    site = write_site(tmp_path / "site", {"index.html": text})
    cache = tmp_path / ".devrel-cache" / "linkcheck.json"

    first = check_site(site, external=True, cache_file=cache, timeout=5)
    assert [d.message.rsplit(": ", 1)[1] for d in first.diagnostics] == ["HTTP 404", "connection refused"]
    assert sum(server.requests.values()) == 5          # /ok, /missing (HEAD, GET), /moved -> /ok

    stored = json.loads(cache.read_text(encoding="utf-8"))
    assert sorted(stored) == [f"{server.base}/missing", f"{server.base}/moved", f"{server.base}/ok"]
    assert stored[f"{server.base}/missing"]["status"] == 404
    assert stored[f"{server.base}/missing"]["ok"] is False
    assert stored[f"{server.base}/ok"]["ok"] is True
    assert set(stored[f"{server.base}/ok"]) == {"status", "ok", "checked_at", "error"}
    assert refused not in stored                        # failures that may pass later are not kept
    assert not [p for p in cache.parent.iterdir() if p.name != "linkcheck.json"]   # no temp files

    server.requests.clear()
    second = check_site(site, external=True, cache_file=cache, timeout=5)
    assert sum(server.requests.values()) == 0
    assert second.diagnostics == first.diagnostics


def test_cache_entries_are_trusted_until_they_expire(tmp_path, server):
    text = links_page(server.base, ["/missing"])
    site = write_site(tmp_path / "site", {"index.html": text})
    cache = tmp_path / "cache.json"
    entry = {"status": 200, "ok": True, "error": None}
    cache.write_text(json.dumps({f"{server.base}/missing": {**entry, "checked_at": time.time() - 10}}))
    assert check_site(site, external=True, cache_file=cache, cache_ttl=100).diagnostics == ()
    assert sum(server.requests.values()) == 0

    cache.write_text(json.dumps({f"{server.base}/missing": {**entry, "checked_at": time.time() - 1000}}))
    result = check_site(site, external=True, cache_file=cache, cache_ttl=100)
    assert [d.code for d in result.diagnostics] == ["link-external"]
    assert server.requests[("HEAD", "/missing")] == 1
    assert json.loads(cache.read_text())[f"{server.base}/missing"]["status"] == 404


@pytest.mark.parametrize("content", ["{not json", "[1, 2, 3]", '{"x": "not an entry"}', "\udcff"])
def test_unreadable_cache_is_ignored_and_rewritten(tmp_path, server, content):
    text = links_page(server.base, ["/ok", "/missing"])
    site = write_site(tmp_path / "site", {"index.html": text})
    cache = tmp_path / "linkcheck.json"
    cache.write_bytes(content.encode("utf-8", errors="surrogateescape"))
    result = check_site(site, external=True, cache_file=cache, timeout=5)
    assert places(result) == [("index.html", line_of(text, "/missing"), "link-external")]
    assert server.total("/ok") == 1 and server.total("/missing") == 2     # HEAD, then GET
    assert sorted(json.loads(cache.read_text(encoding="utf-8"))) == [
        f"{server.base}/missing", f"{server.base}/ok"]


# --------------------------------------------------------------------------
# hostile markup and odd files
# --------------------------------------------------------------------------

@pytest.mark.parametrize("odd", [
    "<p>In XML you write <![ CDATA sections</p>",
    "<![foo[ x ]]>",
    "<![CDATA[ x ]]>",
    "<![if !IE]><p>not IE</p><![endif]>",
    "<!DOCTYPE x [ <!ENTITY y 'z'> ]>",
    "<![CDATA[ runs to the next > <p>still text",
])
def test_markup_starting_with_lt_bang_bracket_does_not_stop_the_reader(tmp_path, odd):
    # Browsers read '<![' (outside SVG and MathML) as a comment ending at the next '>'.
    text = f'<a href="missing-before.html">x</a>\n{odd}\n<a href="missing-after.html">y</a>\n<h2 id="later">L</h2>\n'
    site = write_site(tmp_path / "site", {"index.html": text,
                                          "other.html": page('<a href="index.html#later">ok</a>\n')})
    result = check_site(site)
    assert [(d.line, d.code) for d in result.diagnostics] == [(1, "link-broken"), (3, "link-broken")]
    scan = scan_html(text)
    assert scan.stopped is None and "later" in scan.ids


def test_unterminated_lt_bang_bracket_hides_the_rest_as_browsers_do():
    scan = scan_html('<a href="a.html">a</a><![CDATA[ <a href="b.html"')
    assert [link.url for link in scan.links] == ["a.html"] and scan.stopped is None


def test_textarea_and_title_hold_text_not_links():
    text = ('<title>See <a href="in-title.html"></title>\n'
            '<TEXTAREA rows=3><a href="in-textarea.html" id="no-id"></TextArea >\n'
            '<svg><title>Icon <a href="in-svg-title.html">x</a></title></svg>\n'
            '<a href="real.html">real</a>\n')
    scan = scan_html(text)
    assert [link.url for link in scan.links] == ["in-svg-title.html", "real.html"]
    assert scan.ids == frozenset()


def test_ids_inside_a_template_are_not_targets(tmp_path):
    text = page('<template id="tpl"><h2 id="in-template">T</h2><a name="named-in-template"></a>'
                '<template><p id="nested"></p></template><a href="#after-nested">x</a></template>\n'
                '<h2 id="after">A</h2>\n'
                '<a href="#in-template">1</a> <a href="#named-in-template">2</a> <a href="#nested">3</a>\n'
                '<a href="#tpl">4</a> <a href="#after">5</a>\n')
    site = write_site(tmp_path / "site", {"index.html": text})
    result = check_site(site)
    assert sorted(d.message.split("no id ")[1] for d in result.diagnostics) == [
        "'after-nested' in index.html", "'in-template' in index.html",
        "'named-in-template' in index.html", "'nested' in index.html"]


def test_more_elements_and_attributes_are_checked(tmp_path):
    body = ('<object data="m-object.pdf" type="application/pdf"></object>\n'
            '<input type="IMAGE" src="m-input.png" alt="go"> <input type="text" src="not-read.png">\n'
            '<blockquote cite="m-blockquote.html">b</blockquote> <q cite="m-q.html">q</q>\n'
            '<del cite="m-del.html">d</del> <ins cite="m-ins.html">i</ins>\n'
            '<svg><a href="m-svg-a.html"><text>svg a</text></a><a xlink:href="m-svg-xlink.html"><text>x</text></a>'
            '<use href="#m-use"></use><use xlink:href="#m-use-xlink"/><symbol id="icon"></symbol>'
            '<use href="#icon"/><image href="m-image.png"/><image xlink:href="m-image-xlink.png"/></svg>\n'
            '<a xlink:href="not-read-outside-svg.html">html a</a>\n')
    head = ('<link rel="preload" as="image" href="hero.png" imagesrcset="m-small.png 480w, hero.png 960w">\n'
            '<link rel="preconnect stylesheet" href="m-multirel.css">\n'
            '<link rel="preconnect" href="https://fonts.example.net"> <link rel="DNS-Prefetch" href="//x.example">\n')
    text = page(body, head=head)
    site = write_site(tmp_path / "site", {"index.html": text, "hero.png": "png"})
    result = check_site(site)
    named = sorted(d.message.split(" -> ")[0].split("link ", 1)[1] + " " +
                   d.message.split(" -> ")[1].split(":")[0] for d in result.diagnostics)
    assert named == sorted([
        "<object data> 'm-object.pdf'", "<input src> 'm-input.png'", "<blockquote cite> 'm-blockquote.html'",
        "<q cite> 'm-q.html'", "<del cite> 'm-del.html'", "<ins cite> 'm-ins.html'",
        "'svg a' 'm-svg-a.html'", "'x' 'm-svg-xlink.html'", "<use href> '#m-use'",
        "<use xlink:href> '#m-use-xlink'", "<image href> 'm-image.png'",
        "<image xlink:href> 'm-image-xlink.png'", "<link imagesrcset> 'm-small.png'",
        "<link href> 'm-multirel.css'"])
    assert result.external_urls == ()


def test_percent_encoded_dot_segments_are_dot_segments(tmp_path):
    index = page('<a href="guide/%2e%2e/start.html">up, encoded</a>\n'
                 '<a href="guide/.%2E/guide/%2e/">mixed</a>\n'
                 '<a href="%2e%2e/outside.html">climbs out</a>\n')
    site = write_site(tmp_path / "site", {"index.html": index, "start.html": page(""),
                                          "guide/index.html": page("")})
    [escape] = check_site(site).diagnostics
    assert escape.line == line_of(index, "climbs out")
    assert escape.message.endswith("points outside the checked folder")


def test_symbolic_links_are_followed_and_dangling_ones_are_missing(tmp_path):
    index = page('<a href="linked/">1</a> <a href="linked/index.html#r">2</a> <a href="alias.html#s">3</a>\n'
                 '<a href="dangling.html">to nothing</a>\n'
                 '<a href="real/up/real/index.html#r">through a loop</a>\n')
    site = write_site(tmp_path / "site", {"index.html": index,
                                          "real/index.html": page('<p id="r"></p>\n'),
                                          "shared/page.html": page('<p id="s"></p>\n')})
    (site / "linked").symlink_to("real", target_is_directory=True)
    (site / "real" / "up").symlink_to("..", target_is_directory=True)     # a loop
    (site / "alias.html").symlink_to("shared/page.html")
    (site / "dangling.html").symlink_to("does-not-exist.html")
    result = check_site(site)
    assert [(d.line, d.message.split(" -> ")[1]) for d in result.diagnostics] == [
        (line_of(index, "to nothing"), "'dangling.html': no such file"),
        (line_of(index, "through a loop"), "'real/up/real/index.html#r': no such file")]
    assert result.pages == 5            # index, real/, linked/, shared/page, alias


def test_a_named_pipe_is_not_read_as_a_page(tmp_path):
    site = write_site(tmp_path / "site", {"index.html": page('<a href="pipe.html">pipe</a>\n')})
    os.mkfifo(site / "pipe.html")
    result = run_cli("linkcheck", str(site), "--base-url", "/", "--format", "json", cwd=tmp_path, timeout=30)
    assert result.code == 0, result.err
    assert result.json()["diagnostics"] == []


def test_a_file_name_that_is_not_utf8(tmp_path):
    site = write_site(tmp_path / "site", {"index.html": page('<a href="bad%FFname.html#x">encoded</a>\n'
                                                           '<a href="bad%FEname.html">other byte</a>\n')})
    with open(os.fsencode(site) + b"/bad\xffname.html", "wb") as stream:
        stream.write(b'<p id="x"></p><a href="index.html">back</a><a href="bad%FFname.html#nope">self</a>')
    result = check_site(site)
    assert [(d.path, d.message.split(" -> ")[1]) for d in result.diagnostics] == [
        ("bad\udcffname.html", "'bad%FFname.html#nope': no id 'nope' in bad\udcffname.html"),
        ("index.html", "'bad%FEname.html': no such file")]


def test_hints_never_name_the_linking_page_or_the_link_itself(tmp_path):
    site = write_site(tmp_path / "site", {
        "refresh.html": page('<a href="missing-refresh.html">m</a>\n'),
        "index.html": page('<a href="missing-refresh.html">m</a>\n<a href="a%20b.html">encoded</a>\n'),
        "a%20b.html": page(""),       # a file whose name holds '%20'; the link means 'a b.html'
        "only.html": page('<a href="onl.html">m</a>\n'),
    })
    hints = {(d.path, d.message.split(" -> ")[1].split(":")[0]): d.hint for d in check_site(site).diagnostics}
    assert hints == {
        ("index.html", "'missing-refresh.html'"): "did you mean 'refresh.html'?",
        ("refresh.html", "'missing-refresh.html'"): None,
        ("index.html", "'a%20b.html'"): None,
        ("only.html", "'onl.html'"): "did you mean 'index.html'?",     # the next best, not only.html
    }


def test_climbing_above_a_sub_path_base_url_points_outside_the_folder(tmp_path):
    index = page('<a href="../">up</a>\n<a href="guide/../../x.html">up again</a>\n'
                 '<a href="/other/">root-relative</a>\n')
    site = write_site(tmp_path / "site", {"index.html": index, "guide/index.html": page('<a href="../../">up</a>\n')})
    result = check_site(site, base_url="https://example.org/devrel/")
    assert [(d.path, d.message.split(": ", 1)[1], d.hint) for d in result.diagnostics] == [
        ("guide/index.html", "points outside the checked folder",
         "the path has more '../' than there are folders above the page"),
        ("index.html", "points outside the checked folder",
         "the path has more '../' than there are folders above the page"),
        ("index.html", "points outside the checked folder",
         "the path has more '../' than there are folders above the page"),
        ("index.html", "outside the site base path '/devrel/'", "links into this site start with '/devrel/'"),
    ]


@pytest.mark.parametrize("base_url", ["https://[bad/", "example.org/devrel", "https://", "ftp://example.org/",
                                      "//example.org/"])
def test_an_invalid_base_url_is_refused(tmp_path, base_url):
    site = write_site(tmp_path / "site", {"index.html": page("")})
    with pytest.raises(ValueError, match=r"invalid base URL .*: it must be a full URL \(https://example.org/docs/\) "
                                         r"or a path starting with '/'"):
        check_site(site, base_url=base_url)


def test_the_command_refuses_an_invalid_base_url_with_a_usage_error(tmp_path):
    from conftest import run_cli
    site = write_site(tmp_path / "site", {"index.html": page("")})
    result = run_cli("linkcheck", str(site), "--base-url", "https://[bad/")
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith("error: invalid base URL 'https://[bad/'"), result.err
    single = run_cli("linkcheck", str(site), "--base-url", "/")
    assert single.code == 0 and "checked 0 links in 1 page " in single.err, single.err
