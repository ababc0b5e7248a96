"""``devrel-site serve``: a real server in a subprocess, spoken to over HTTP and Server-Sent Events,
plus direct tests of the incremental rebuild it runs on."""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import pytest

from generator import incremental
from generator.config import load_config
from generator.pipeline import analyse, run
from generator.serve import Batcher, Watcher, ignored, inject, locate

REPO = Path(__file__).resolve().parent.parent
CLI = REPO / ".venv" / "bin" / "devrel-site"
WAIT = 15.0          # the longest any single wait may take, in seconds


# --- a small site, written by the tests ------------------------------------------------------------

def pattern(title: str, *, tags: str = "[devrel]", categories: str = "[Social]", solution: str | None = None,
            extra: str = "", sections: bool = True) -> str:
    head = (f"---\ntitle: {title}\ndate: 2024-03-01\ntags: {tags}\ncategories: {categories}\n"
            f"description: About {title}.\n---\n")
    body = f"{title} in one line.\n\n"
    if sections:
        body += (f"## Problem\n\nThe problem of {title}.\n\n## Context\n\nThe context of {title}.\n\n"
                 f"## Solution\n\n{solution or f'The solution of {title}.'}\n\n"
                 f"## Consequences\n\nThe consequences of {title}.\n")
    return head + body + extra


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def make_site(root: Path, *, editor_url: str = "vscode://file/{path}:{line}:{column}") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write(root, "site.toml", textwrap.dedent(f"""\
        # secret-site-toml-marker
        title = "Serve Fixture"
        base_url = "https://example.org/devrel/"
        editor_url = "{editor_url}"
        """))
    write(root, "content/patterns/alpha.md", pattern("Alpha", tags="[devrel, events]"))
    write(root, "content/patterns/beta.md", pattern("Beta", extra="\nSee [Alpha](alpha.md).\n"))
    write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]"))
    write(root, "content/handbook/index.md", "---\ntitle: Handbook\nmaintainedBy: ops\n---\nThe handbook.\n")
    write(root, "content/handbook/guide.md",
          "---\ntitle: Guide\nmaintainedBy: ops\norder: 1\n---\nHow we work. See [Gamma](../patterns/gamma.md).\n")
    return root


# --- a running server ------------------------------------------------------------------------------

class Served:
    """``devrel-site serve`` in a subprocess; its output is collected by threads."""

    def __init__(self, root: Path, *args: str, env: dict | None = None):
        self.proc = subprocess.Popen([str(CLI), "serve", "--root", str(root), *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     errors="replace")      # a file name may not be UTF-8
        self.err_lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        self.out: list[str] = []
        threading.Thread(target=self._drain, args=(self.proc.stderr, self.err, self.err_lines), daemon=True).start()
        threading.Thread(target=self._drain, args=(self.proc.stdout, self.out, None), daemon=True).start()
        self.url = None

    @staticmethod
    def _drain(stream, into: list, lines: queue.Queue | None) -> None:
        for line in stream:
            into.append(line)
            if lines is not None:
                lines.put(line)

    def started(self) -> "Served":
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = self.err_lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            match = re.search(r"serving (http://\S+/)", line)
            if match:
                self.url = match.group(1)
                return self
        raise AssertionError(f"server did not start: {''.join(self.err)}")

    def logged(self, pattern: str, timeout: float = 30) -> bool:
        """Whether the server writes a line matching ``pattern`` within ``timeout`` seconds (a
        line is written after the event it reports is sent, so it may come a moment later)."""
        deadline = time.monotonic() + timeout
        while not any(re.search(pattern, line) for line in list(self.err)):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].rstrip("/"))

    def get(self, path: str) -> tuple[int, dict, str]:
        """A raw GET: the path is sent exactly as given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read().decode("utf-8", "replace")
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            conn.close()

    def status(self) -> dict:
        return json.loads(self.get("/__devrel__/status")[2])

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not stop in time")


class Events:
    """A Server-Sent Events client: ``next(name)`` waits for the next event of that name."""

    def __init__(self, served: Served):
        self.sock = socket.create_connection(("127.0.0.1", served.port), timeout=WAIT)
        self.sock.sendall(b"GET /__devrel__/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        self.events: queue.Queue[tuple[str, str]] = queue.Queue()
        self.raw: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    text = block.decode("utf-8")
                    self.raw.append(text)
                    name = data = None
                    for line in text.split("\n"):
                        if line.startswith("event:"):
                            name = line[6:].strip()
                        elif line.startswith("data:"):
                            data = line[5:].strip()
                    if name:
                        self.events.put((name, data or ""))
        except OSError:
            return

    def next(self, *names: str, timeout: float = WAIT) -> tuple[str, dict]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {names} event within {timeout} s; saw {self.raw}")
            try:
                name, data = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if name in names:
                return name, json.loads(data) if data else {}

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


@pytest.fixture
def served(tmp_path):
    started: list[Served] = []

    def start(root: Path | None = None, *args: str, env: dict | None = None) -> Served:
        server = Served(root or make_site(tmp_path / "site"), "--port", "0", *args, env=env).started()
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


# --- over HTTP -------------------------------------------------------------------------------------

def test_edit_is_served_after_the_reload_event(served, tmp_path):
    server = served()
    events = Events(server)
    try:
        events.next("hello")
        code, headers, body = server.get("/patterns/alpha/")
        assert code == 200 and "The solution of Alpha." in body
        assert headers["cache-control"] == "no-store"
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert body.count("/__devrel__/events") == 1 and body.index("data-devrel-live") < body.rindex("</body>")

        write(tmp_path / "site", "content/patterns/alpha.md", pattern("Alpha", tags="[devrel, events]",
                                                                       solution="A freshly edited solution."))
        name, data = events.next("reload")
        assert "patterns/alpha/index.html" in data["paths"]
        code, _, body = server.get("/patterns/alpha/")
        assert code == 200 and "A freshly edited solution." in body
        assert "The solution of Alpha." not in body
        assert server.logged(r"\d\d:\d\d:\d\d content/patterns/alpha\.md changed: \d+ pages? re-rendered in \d+ ms")
    finally:
        events.close()
    assert server.stop() == 0


def test_a_title_edit_never_serves_a_stale_listing(served, tmp_path):
    # The edited page is published first; the catalog and the other pages showing the title
    # follow. With a few hundred patterns the catalog takes a while to render again, and a
    # request for it made right after the reload event must wait for it, not get the old one.
    root = make_site(tmp_path / "site")
    for n in range(300):
        write(root, f"content/patterns/filler-{n:03}.md", pattern(f"Filler {n:03}",
                                                                    extra="See [Alpha](alpha.md).\n"))
    server = served(root)
    events = Events(server)
    try:
        events.next("hello")
        assert "Omega Alpha" not in server.get("/patterns/")[2]
        write(root, "content/patterns/alpha.md", pattern("Omega Alpha", tags="[devrel, events]"))
        events.next("reload")
        code, _, catalog = server.get("/patterns/")
        assert code == 200 and "Omega Alpha" in catalog
        code, _, linking = server.get("/patterns/filler-299/")
        assert code == 200 and "Omega Alpha" in linking
        code, _, page = server.get("/patterns/alpha/")
        assert code == 200 and ">Omega Alpha</h1>" in page
        assert server.status()["ok"] is True
    finally:
        events.close()
    assert server.stop() == 0


def test_broken_edit_keeps_the_last_good_page_and_reports_it(served, tmp_path):
    root = make_site(tmp_path / "site")
    server = served(root)
    events = Events(server)
    try:
        events.next("hello")
        assert server.status()["ok"] is True
        broken = pattern("Alpha", tags="[devrel, events]", solution="Broken edit text.").replace("## Solution\n", "")
        write(root, "content/patterns/alpha.md", broken)
        _, data = events.next("overlay")
        assert [e["code"] for e in data["errors"]] == ["section-missing"]

        code, _, body = server.get("/patterns/alpha/")
        assert code == 200 and "The solution of Alpha." in body and "Broken edit text." not in body
        status = server.status()
        assert status["ok"] is False
        [error] = status["errors"]
        assert error["code"] == "section-missing" and error["path"] == "content/patterns/alpha.md"
        assert error["line"] == 1 and error["location"] == "content/patterns/alpha.md:1"
        assert error["editor"] == f"vscode://file/{root.resolve().as_posix()}/content/patterns/alpha.md:1:1"
        assert "Solution" in error["message"]
        assert any("section-missing" in line for line in server.out)      # the terminal shows it too

        write(root, "content/patterns/alpha.md", pattern("Alpha", tags="[devrel, events]", solution="Fixed text."))
        events.next("reload")
        assert server.status() == {**server.status(), "ok": True, "errors": []}
        code, _, body = server.get("/patterns/alpha/")
        assert "Fixed text." in body
    finally:
        events.close()
    assert server.stop() == 0


def test_template_error_and_crash_keep_the_server_up(served, tmp_path):
    root = make_site(tmp_path / "site")
    base = (REPO / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    write(root, "themes/default/templates/base.html", base)
    server = served(root)
    events = Events(server)
    try:
        events.next("hello")
        write(root, "themes/default/templates/base.html", base.replace("{% block main %}", "{% block main %"))
        _, data = events.next("overlay")
        assert data["errors"][0]["code"] == "template-error"
        assert data["errors"][0]["path"] == "themes/default/templates/base.html"
        assert server.get("/patterns/gamma/")[0] == 200
        write(root, "themes/default/templates/base.html", base.replace("<main", '<main data-edited="yes"'))
        events.next("reload")
        assert 'data-edited="yes"' in server.get("/patterns/gamma/")[2]
    finally:
        events.close()
    assert server.stop() == 0


def test_a_template_fixed_after_a_failed_start_is_served_with_the_content_errors_left(served, tmp_path):
    # Started with a template that does not compile, nothing renders: there is no good build
    # to keep serving. Once the template is fixed, the site is served, errors and all, as a
    # start with a content error alone would be.
    root = make_site(tmp_path / "site")
    base = (REPO / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    write(root, "themes/default/templates/base.html", base.replace("{% block main %}", "{% block main %"))
    write(root, "content/patterns/alpha.md",
          pattern("Alpha", tags="[devrel, events]").replace("## Solution\n", ""))
    server = served(root)
    events = Events(server)
    try:
        _, data = events.next("hello")
        assert {e["code"] for e in data["errors"]} == {"section-missing", "template-error"}
        write(root, "content/patterns/gamma.md", pattern("Gamma Again", categories="[Code]"))
        events.next("overlay")                                  # the template still fails
        write(root, "themes/default/templates/base.html", base)
        events.next("reload")
        assert [e["code"] for e in server.status()["errors"]] == ["section-missing"]
        code, _, body = server.get("/patterns/gamma/")
        assert code == 200 and "Gamma Again" in body
        write(root, "content/patterns/beta.md", pattern("Beta", solution="Broken too.").replace("## Context\n", ""))
        events.next("overlay")                                  # from now on, the last good build is kept
        assert "Broken too." not in server.get("/patterns/beta/")[2]
    finally:
        events.close()
    assert server.stop() == 0


@pytest.mark.parametrize("path", ["/../site.toml", "/%2e%2e/site.toml", "/..%2fsite.toml", "//etc/passwd",
                                  "/patterns/..%5c..%5csite.toml", "/%2E%2E/%2E%2E/etc/passwd",
                                  "/patterns/%2e%2e/%2e%2e/site.toml", "/patterns\\..\\site.toml",
                                  "/patterns/alpha/%00", "/./site.toml", "/site.toml", "/content/patterns/alpha.md"])
def test_nothing_outside_the_output_is_served(served, path):
    server = served()
    code, _, body = server.get(path)
    assert code == 404
    assert "secret-site-toml-marker" not in body and "root:x:" not in body and "## Problem" not in body


def test_paths_map_like_a_static_host(served):
    server = served()
    code, _, body = server.get("/no/such/page/")
    assert code == 404 and "Page not found" in body and "/__devrel__/events" in body
    code, headers, _ = server.get("/patterns/alpha")
    assert code == 301 and headers["location"] == "/patterns/alpha/"
    code, headers, _ = server.get("/devrel/patterns/alpha")
    assert code == 301 and headers["location"] == "/devrel/patterns/alpha/"
    for path in ("/", "/devrel/", "/patterns/alpha/", "/devrel/patterns/alpha/index.html", "/handbook/guide/"):
        assert server.get(path)[0] == 200, path
    code, headers, body = server.get("/assets/style.css")
    assert code == 200 and headers["content-type"].startswith("text/css") and "data-devrel-live" not in body
    assert server.get("/sitemap.xml")[1]["content-type"].startswith("application/xml")
    assert server.get("/assets/favicon.svg")[1]["content-type"] == "image/svg+xml"
    assert server.get("/__devrel__/status")[1]["content-type"] == "application/json"


def test_pages_added_and_removed(served, tmp_path):
    root = make_site(tmp_path / "site")
    server = served(root)
    events = Events(server)
    try:
        events.next("hello")
        write(root, "content/patterns/delta.md", pattern("Delta", extra="\nSee [Beta](beta.md).\n"))
        events.next("reload")
        assert "The solution of Delta." in server.get("/patterns/delta/")[2]
        assert "Delta" in server.get("/patterns/beta/")[2]          # backlink on the page it links to
        (root / "content/patterns/delta.md").unlink()
        events.next("reload")
        assert server.get("/patterns/delta/")[0] == 404
    finally:
        events.close()
    assert server.stop() == 0


def _served_text(server: Served, path: str, text: str) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if text in server.get(path)[2]:
            return True
        time.sleep(0.05)
    return False


def test_a_content_folder_deleted_and_made_again_or_moved_away_is_still_watched(served, tmp_path):
    root = make_site(tmp_path / "site")
    server = served(root)
    handbook = root / "content/handbook"
    # Deleted and made again at once, as a sync or a branch switch does.
    saved = tmp_path / "saved"
    shutil.copytree(handbook, saved)
    shutil.rmtree(handbook)
    shutil.copytree(saved, handbook)
    time.sleep(0.5)
    write(root, "content/handbook/guide.md", "---\ntitle: Guide\nmaintainedBy: ops\n---\nEdited once.\n")
    assert _served_text(server, "/handbook/guide/", "Edited once.")
    # Moved away (its pages go), then another folder put in its place (they come back).
    handbook.rename(tmp_path / "moved")
    assert _wait_status(server, "/handbook/guide/", 404)
    shutil.copytree(saved, handbook)
    time.sleep(0.5)
    write(root, "content/handbook/guide.md", "---\ntitle: Guide\nmaintainedBy: ops\n---\nEdited twice.\n")
    assert _served_text(server, "/handbook/guide/", "Edited twice.")
    write(tmp_path / "moved", "guide.md", "---\ntitle: Guide\n---\nNot the site's any more.\n")
    time.sleep(0.5)
    assert "Edited twice." in server.get("/handbook/guide/")[2]
    assert server.stop() == 0


def _wait_status(server: Served, path: str, status: int) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if server.get(path)[0] == status:
            return True
        time.sleep(0.05)
    return False


def test_stylesheet_change_sends_a_css_event(served, tmp_path):
    root = make_site(tmp_path / "site")
    write(root, "themes/default/static/style.css", "body { color: black; }\n")
    server = served(root)
    events = Events(server)
    try:
        events.next("hello")
        write(root, "themes/default/static/style.css", "body { color: rgb(1, 2, 3); }\n")
        name, data = events.next("css", "reload")
        assert name == "css" and data["paths"] == ["assets/style.css"]
        assert "rgb(1, 2, 3)" in server.get("/assets/style.css")[2]
    finally:
        events.close()
    assert server.stop() == 0


def test_editor_temporary_files_are_ignored(served, tmp_path):
    root = make_site(tmp_path / "site")
    server = served(root)
    events = Events(server)
    try:
        events.next("hello")
        for name in (".alpha.md.swp", "alpha.md~", ".#alpha.md", "4913", "alpha.md.tmp", "x.md___jb_tmp___"):
            write(root, f"content/patterns/{name}", "junk")
        write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]", solution="Edited."))
        events.next("reload")
        assert "Edited." in server.get("/patterns/gamma/")[2]
        time.sleep(0.3)
        lines = [line for line in server.err if "changed:" in line]
        assert len(lines) == 1 and "content/patterns/gamma.md changed" in lines[0], lines
    finally:
        events.close()
    assert server.stop() == 0


def test_port_in_use_exits_2_with_a_message(tmp_path):
    root = make_site(tmp_path / "site")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run([str(CLI), "serve", "--root", str(root), "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"port {port}" in proc.stderr and "already in use" in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_cleanly_with_open_event_streams(served, sig):
    server = served()
    events = Events(server)
    events.next("hello")
    start = time.monotonic()
    assert server.stop(sig) == 0
    assert time.monotonic() - start < 5
    assert "Traceback" not in "".join(server.err)
    events.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_during_the_first_build_stop_cleanly(tmp_path, sig):
    root = make_site(tmp_path / "site")
    for n in range(400):                 # a first build long enough to be interrupted
        write(root, f"content/patterns/filler-{n:03}.md", pattern(f"Filler {n:03}"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([str(CLI), "serve", "--root", str(root), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:                      # the port is bound just before the first build starts
            assert time.monotonic() < deadline and proc.poll() is None
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.005)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "serving http" not in err                 # it was stopped during the first build
    assert proc.returncode == 0 and "Traceback" not in err and "stopping" in err


def test_a_missing_site_toml_key_is_a_usage_error(tmp_path):
    root = make_site(tmp_path / "site")
    write(root, "site.toml", "nonsense = 1\n")
    proc = subprocess.run([str(CLI), "serve", "--root", str(root), "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "config-invalid" in proc.stderr


# --- the pieces, directly ---------------------------------------------------------------------------

def test_locate_refuses_traversal_and_maps_paths():
    files = {"index.html": b"home", "a/index.html": b"a", "a/b.css": b"b", "c.html": b"c", "404.html": b"x"}
    for bad in ("/../a/b.css", "/a/../a/b.css", "/%2e%2e/a/b.css", "/a%2fb.css", "/a%5cb.css", "//a/b.css",
                "/a\\b.css", "/a/b.css%00", "a/b.css", "/a//b.css", "/./a/b.css", "/%ff"):
        assert locate(bad, files).status == 404, bad
    assert locate("/", files).key == "index.html"
    assert locate("/a/", files).key == "a/index.html"
    assert locate("/a/b.css?v=1", files).key == "a/b.css"
    assert locate("/a?x=1", files).location == "/a/?x=1"
    assert locate("/c", files).key == "c.html"
    assert locate("/base/a/b.css", files, "/base/").key == "a/b.css"
    assert locate("/base", files, "/base/").location == "/base/"
    assert locate("/nope", files).status == 404


def test_inject_puts_the_script_before_the_last_body_end():
    page = inject(b"<html><body><p>x</p></BODY></html>", 7)
    assert page.index(b"data-devrel-live") < page.index(b"</BODY>") and b"let generation = 7;" in page
    assert inject(b"<p>no body</p>", 1).startswith(b"<p>no body</p><script")


def test_ignored_names():
    for name in ("/s/.x.md.swp", "/s/.x.md.swx", "/s/x.md~", "/s/.#x.md", "/s/4913", "/s/x.tmp",
                 "/s/x.md___jb_tmp___", "/s/.DS_Store", "/s/.git/index", "/s/.git"):
        assert ignored(name), name
    for name in ("/s/x.md", "/s/style.css", "/s/git/x.md", "/s/x.swpfile"):
        assert not ignored(name), name


def test_batcher_merges_a_burst_into_one_batch():
    batcher = Batcher(quiet=0.1, settled=0.03, window=1.0)
    batches: list = []
    thread = threading.Thread(target=lambda: batches.extend([batcher.take(), batcher.take()]))
    thread.start()
    for i in range(5):
        batcher.add([f"/x/{i}"])
        time.sleep(0.02)
    time.sleep(0.3)
    batcher.add(["/y"], settled=True)
    thread.join(timeout=WAIT)
    assert batches[0] == [f"/x/{i}" for i in range(5)] and batches[1] == ["/y"]
    batcher.close()
    assert batcher.take() is None


# --- incremental rebuilds, in process --------------------------------------------------------------

def _same_as_full_run(state: incremental.State) -> None:
    result = run(state.config, drafts=state.drafts)
    assert state.outputs == result.outputs
    assert state.diagnostics == result.diagnostics
    assert set(state.static) == set(result.copies)
    for out, source in result.copies.items():
        assert state.static[out] == Path(source).read_bytes()


def test_body_edit_renders_only_that_page(tmp_path):
    root = make_site(tmp_path / "site")
    state, first = incremental.build(load_config(root))
    assert first.ok and first.kind == "full"
    path = write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]", solution="New words."))
    state, result = incremental.update(state, [path])
    assert result.kind == "content" and result.parsed == 1
    assert result.rendered_paths == ("patterns/gamma/index.html",)
    assert result.outputs == ("patterns/gamma/index.html",)
    assert result.changed == ("content/patterns/gamma.md",)
    _same_as_full_run(state)


def test_body_edits_check_again_the_pages_that_link_to_them(tmp_path, monkeypatch):
    root = make_site(tmp_path / "site")
    state, _ = incremental.build(load_config(root))
    whole = []
    monkeypatch.setattr(incremental, "analyse", lambda *a, **k: whole.append(a) or analyse(*a, **k))
    path = write(root, "content/patterns/beta.md", pattern("Beta", extra="\nSee [notes](alpha.md#extra-notes).\n"))
    state, result = incremental.update(state, [path])
    assert [(d.code, d.path) for d in result.errors] == [("link-anchor", "content/patterns/beta.md")]
    _same_as_full_run(state)
    path = write(root, "content/patterns/alpha.md", pattern("Alpha", tags="[devrel, events]",
                                                            extra="\n## Extra Notes\n\nMore.\n"))
    state, result = incremental.update(state, [path])
    assert result.ok and result.rendered_paths == ("patterns/alpha/index.html",)
    assert whole == []                    # neither change needed the whole-site analysis
    _same_as_full_run(state)
    # A new title is a new "did you mean" hint for a broken link elsewhere.
    path = write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]", extra="[x](<qqq zzz>)\n"))
    state, result = incremental.update(state, [path])
    assert [(d.code, d.hint) for d in result.errors] == [("link-broken", None)]
    path = write(root, "content/patterns/alpha.md", pattern("Qqq Zzz", tags="[devrel, events]",
                                                            extra="\n## Extra Notes\n\nMore.\n"))
    state, result = incremental.update(state, [path])
    assert [(d.code, d.hint) for d in result.errors] == [("link-broken", "did you mean 'alpha.md'?")]
    assert whole == []
    _same_as_full_run(state)


def test_body_and_title_edits_reuse_the_site_model_until_a_link_or_tag_changes(tmp_path, monkeypatch):
    root = make_site(tmp_path / "site")
    state, _ = incremental.build(load_config(root))
    built = []
    monkeypatch.setattr(incremental, "build_site", lambda *a, real=incremental.build_site, **k:
                        built.append(a) or real(*a, **k))
    # New words, a new first paragraph (the summary) and a new alias: the model is refreshed.
    path = write(root, "content/patterns/gamma.md",
                 pattern("Gamma", categories="[Code]", solution="Other words.").replace(
                     "Gamma in one line.", "Gamma, said anew.") + "\n## Also Known As\n\nThe G Way\n")
    state, result = incremental.update(state, [path])
    assert result.ok and built == []
    assert state.site.info["content/patterns/gamma.md"].aliases == ("The G Way",)
    _same_as_full_run(state)
    # A link to another page changes backlinks: the model is built anew.
    path = write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]", extra="[a](alpha.md)\n"))
    state, _ = incremental.update(state, [path])
    assert len(built) == 1
    assert [p.title for p in state.site.backlinks["content/patterns/alpha.md"]] == ["Beta", "Gamma"]
    _same_as_full_run(state)
    # A new description, then a title that files the page first: refreshed, every list in title order.
    path = write(root, "content/patterns/gamma.md",
                 pattern("Gamma", categories="[Code]", extra="[a](alpha.md)\n").replace("About Gamma", "On Gamma"))
    state, _ = incremental.update(state, [path])
    path = write(root, "content/patterns/gamma.md", pattern("Aaa Gamma", categories="[Code]", extra="[a](alpha.md)\n"))
    state, _ = incremental.update(state, [path])
    assert len(built) == 1
    assert [p.title for p in state.site.backlinks["content/patterns/alpha.md"]] == ["Aaa Gamma", "Beta"]
    assert state.site.patterns[0].title == "Aaa Gamma"
    _same_as_full_run(state)
    # A new tag: built anew.
    path = write(root, "content/patterns/gamma.md",
                 pattern("Aaa Gamma", tags="[devrel, new]", categories="[Code]", extra="[a](alpha.md)\n"))
    state, _ = incremental.update(state, [path])
    assert len(built) == 2
    _same_as_full_run(state)


def test_title_edit_renders_what_shows_the_title(tmp_path):
    root = make_site(tmp_path / "site")
    state, _ = incremental.build(load_config(root))
    path = write(root, "content/patterns/alpha.md", pattern("Zulu Alpha", tags="[devrel, events]"))
    state, result = incremental.update(state, [path])
    rendered = set(result.rendered_paths)
    # The page, the page linking to it (backlinks), its taxon pages, its new neighbour and the listings.
    for out in ("patterns/alpha/index.html", "patterns/beta/index.html", "tags/devrel/index.html",
                "tags/events/index.html", "categories/social/index.html", "patterns/gamma/index.html",
                "index.html", "patterns/index.html", "feed.xml", "sitemap.xml", "tags/index.html"):
        assert out in rendered, out
    # Nothing that cannot show it.
    assert not rendered & {"handbook/guide/index.html", "handbook/index.html", "categories/code/index.html",
                           "404.html", "robots.txt"}
    _same_as_full_run(state)
    # A new title that keeps the order: the neighbours show it all the same.
    path = write(root, "content/patterns/gamma.md", pattern("Gamma Two", categories="[Code]"))
    state, result = incremental.update(state, [path])
    assert {"patterns/beta/index.html", "patterns/alpha/index.html"} <= set(result.rendered_paths)
    _same_as_full_run(state)


def test_a_deferred_update_renders_the_page_first_and_the_rest_on_finish(tmp_path):
    root = make_site(tmp_path / "site")
    state, _ = incremental.build(load_config(root))
    path = write(root, "content/patterns/alpha.md", pattern("Zulu Alpha", tags="[devrel, events]"))
    first, result = incremental.update(state, [path], defer=True)
    assert result.rendered_paths == ("patterns/alpha/index.html",)
    assert {"", "patterns/", "patterns/beta/", "tags/devrel/"} <= first.pending
    assert first.outputs["patterns/index.html"] == state.outputs["patterns/index.html"]   # not yet
    done, rest = incremental.finish(first)
    assert not done.pending and "patterns/index.html" in rest.rendered_paths
    assert "patterns/alpha/index.html" not in rest.rendered_paths
    _same_as_full_run(done)
    # A deferred update keeps what is pending, adds its own, and ``finish`` can go a few at a time.
    path = write(root, "content/patterns/beta.md", pattern("Beta Renamed", extra="\nSee [Alpha](alpha.md).\n"))
    second, _ = incremental.update(first, [path], defer=True)
    assert first.pending - {"patterns/beta/"} <= second.pending and "patterns/beta/" not in second.pending
    partial, some = incremental.finish(second, 2)
    assert some.rendered == 2 and len(partial.pending) == len(second.pending) - 2
    # A plain update on a state with work pending finishes it first.
    path = write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]", solution="Changed."))
    again, _ = incremental.update(partial, [path])
    assert not again.pending
    _same_as_full_run(again)


def test_finish_leaves_its_outputs_pending_when_told_to_stop(tmp_path):
    root = make_site(tmp_path / "site")
    for n in range(40):          # a catalog long enough to be asked about stopping more than once
        write(root, f"content/patterns/p{n}.md", pattern(f"Pattern {n}"))
    state, _ = incremental.build(load_config(root))
    path = write(root, "content/patterns/alpha.md", pattern("Zulu Alpha", tags="[devrel, events]"))
    first, _ = incremental.update(state, [path], defer=True)
    assert "patterns/" in first.pending
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3        # a newer save comes in while the catalog renders
    same, result = incremental.finish(first, stop=stop)
    assert len(asked) > 3 and same is first and result.kind == "none"
    # Nothing stops it: every output is what a full build gives, rendered piece by piece.
    done, rest = incremental.finish(first, stop=lambda: False)
    assert not done.pending and "patterns/index.html" in rest.rendered_paths
    _same_as_full_run(done)


def test_template_edit_parses_no_markdown(tmp_path, monkeypatch):
    root = make_site(tmp_path / "site")
    base = (REPO / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    write(root, "themes/default/templates/base.html", base)
    state, _ = incremental.build(load_config(root))
    import generator.parallel as parallel
    calls = []
    # Every Markdown parse of the pipeline goes through the parallel loader.
    monkeypatch.setattr(parallel, "parse", lambda *a, real=parallel.parse, **k: calls.append(a) or real(*a, **k))
    path = write(root, "themes/default/templates/base.html", base.replace("<main", '<main data-x="1"'))
    state, result = incremental.update(state, [path])
    assert result.kind == "template" and result.parsed == 0 and calls == []
    assert result.rendered == len(state.outputs)
    assert all(b'data-x="1"' in data for out, data in state.outputs.items() if out.endswith(".html"))
    _same_as_full_run(state)


def test_a_template_failing_while_it_renders_is_reported_as_a_build_reports_it(tmp_path):
    root = make_site(tmp_path / "site")
    template = (REPO / "themes" / "default" / "templates" / "pattern.html").read_text(encoding="utf-8")
    state, _ = incremental.build(load_config(root))
    path = write(root, "themes/default/templates/pattern.html",
                 template.replace("{% block main %}", "{% block main %}{{ page.title + 1 }}", 1))
    state, result = incremental.update(state, [path])
    [error] = result.errors
    assert error.code == "internal-error" and error.message.startswith("rendering /patterns/alpha/ failed: TypeError")
    assert result.diagnostics == run(state.config).diagnostics == run(state.config, workers=1).diagnostics


@pytest.mark.parametrize("folder", ["themes", "themes/default", "themes/default/templates"])
def test_a_theme_folder_going_away_drops_its_template_overrides(tmp_path, folder):
    # Only the folder itself is reported when it is moved away (its files are not): its
    # templates are no longer in the lookup, so the pages are rendered from the built-in ones.
    root = make_site(tmp_path / "site")
    base = (REPO / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    write(root, "themes/default/templates/base.html", base.replace("<main", '<main data-override="yes"'))
    state, _ = incremental.build(load_config(root))
    assert b'data-override="yes"' in state.outputs["patterns/alpha/index.html"]
    (root / folder).rename(tmp_path / "moved")
    state, result = incremental.update(state, [root / folder])
    assert result.kind == "template" and "patterns/alpha/index.html" in result.outputs
    assert not any(b"data-override" in data for data in state.outputs.values())
    _same_as_full_run(state)


def test_a_deleted_themes_folder_is_served_without_its_overrides(served, tmp_path):
    root = make_site(tmp_path / "site")
    base = (REPO / "themes" / "default" / "templates" / "base.html").read_text(encoding="utf-8")
    write(root, "themes/default/templates/base.html", base.replace("<main", '<main data-override="yes"'))
    server = served(root)
    events = Events(server)
    try:
        events.next("hello")
        assert 'data-override="yes"' in server.get("/patterns/alpha/")[2]
        shutil.rmtree(root / "themes")
        events.next("reload")
        assert 'data-override' not in server.get("/patterns/alpha/")[2]
    finally:
        events.close()
    assert server.stop() == 0


def test_every_kind_of_change_matches_a_full_build(tmp_path):
    root = make_site(tmp_path / "site")
    state, _ = incremental.build(load_config(root))

    def change(*paths):
        nonlocal state
        state, result = incremental.update(state, paths)
        _same_as_full_run(state)
        return result

    p = root / "content/patterns"
    change(write(root, "content/patterns/gamma.md", pattern("Gamma", tags="[newtag]", categories="[Writing]")))
    change(write(root, "content/patterns/delta.md", pattern("Delta", extra="[missing](nowhere.md)\n")))
    change(write(root, "content/patterns/nowhere.md", pattern("Nowhere")))       # the broken link resolves
    (p / "beta.md").unlink()
    change(p / "beta.md")
    change(write(root, "content/handbook/guide.md", "---\ntitle: Guide Two\norder: 5\nmaintainedBy: ops\n---\nx\n"))
    change(write(root, "content/handbook/sub/deep.md", "---\ntitle: Deep\nmaintainedBy: ops\n---\nDeep.\n"))
    shutil.rmtree(root / "content/handbook/sub")
    change(root / "content/handbook/sub")
    change(write(root, "content/patterns/alpha.md", pattern("Alpha", extra="![d](diagram.png)\n")))
    img = root / "content/patterns/diagram.png"
    img.write_bytes(b"\x89PNG")
    result = change(img)                                   # the image appears: the link to it resolves
    assert "patterns/alpha/index.html" in result.rendered_paths and "patterns/diagram.png" in result.outputs
    img.unlink()
    change(img)
    change(write(root, "content/patterns/_categories.md", "## Social\n\nPeople meeting people.\n"))
    assert b"People meeting people." in state.outputs["categories/social/index.html"]
    result = change(write(root, "static/robots-extra.txt", "hello"))
    assert result.outputs == ("robots-extra.txt",)
    change(write(root, "content/patterns/draft.md", pattern("Drafty").replace("---\n", "---\nstatus: draft\n", 1)))
    config_text = (root / "site.toml").read_text(encoding="utf-8").replace("Serve Fixture", "Renamed")
    result = change(write(root, "site.toml", config_text))
    assert result.kind == "full" and state.config.title == "Renamed"
    assert incremental.update(state, [root / "content/patterns/alpha.md"])[1].kind == "none"   # unchanged bytes


def test_a_crash_becomes_an_internal_error_and_the_next_change_recovers(tmp_path, monkeypatch):
    root = make_site(tmp_path / "site")
    state, _ = incremental.build(load_config(root))

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(incremental, "build_site", explode)
    monkeypatch.setattr(incremental, "refresh_site", explode)
    path = write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]", solution="Once."))
    crashed, result = incremental.update(state, [path])
    assert not result.ok and [d.code for d in result.errors] == ["internal-error"]
    assert "boom" in result.errors[0].message
    assert crashed.outputs == state.outputs                           # the last good site is kept
    monkeypatch.undo()
    path = write(root, "content/patterns/gamma.md", pattern("Gamma", categories="[Code]", solution="Twice."))
    recovered, result = incremental.update(crashed, [path])
    assert result.ok and b"Twice." in recovered.outputs["patterns/gamma/index.html"]
    _same_as_full_run(recovered)


def test_invalid_site_toml_is_a_diagnostic_until_fixed(tmp_path):
    root = make_site(tmp_path / "site")
    state, _ = incremental.build(load_config(root))
    good = (root / "site.toml").read_text(encoding="utf-8")
    path = write(root, "site.toml", good + "unknown_key = 1\n")
    state, result = incremental.update(state, [path])
    assert [(d.code, d.path, d.line) for d in result.errors] == [("config-invalid", "site.toml", 5)]
    path = write(root, "site.toml", good)
    state, result = incremental.update(state, [path])
    assert result.ok and result.kind == "full"
    _same_as_full_run(state)


def test_the_sample_site_builds_the_same_in_memory():
    state, result = incremental.build(load_config(REPO))
    assert result.kind == "full"
    _same_as_full_run(state)


def test_a_dangling_symbolic_link_is_the_diagnostic_a_build_gives(served, tmp_path):
    root = make_site(tmp_path / "site")
    server = served(root)
    events = Events(server)
    try:
        events.next("hello")
        (root / "content/patterns/dangling.md").symlink_to(tmp_path / "nowhere.md")
        _, data = events.next("overlay")
        assert [(e["path"], e["code"]) for e in data["errors"]] == [("content/patterns/dangling.md", "encoding-invalid")]
        write(root, "content/patterns/gamma.md", pattern("Gamma Again", categories="[Code]"))
        _, data = events.next("overlay")
        assert [(e["path"], e["code"]) for e in data["errors"]] == [("content/patterns/dangling.md", "encoding-invalid")]
        (root / "content/patterns/dangling.md").unlink()
        events.next("reload")
        assert "Gamma Again" in server.get("/patterns/gamma/")[2]
    finally:
        events.close()
    assert server.stop() == 0


def test_a_file_name_that_is_not_utf8_is_reported_as_a_build_reports_it(served, tmp_path):
    # The name is held as the file system gave it (surrogate escapes), which UTF-8 cannot
    # encode: the status, the events and the editor link must carry it all the same.
    root = make_site(tmp_path / "site")
    server = served(root)
    events = Events(server)
    bad = "content/handbook/bad\udcffname.md"
    try:
        events.next("hello")
        write(root, bad, "---\ntitle: Bad Name\nmaintainedBy: ops\n---\nSee [x](nowhere.md).\n")
        _, data = events.next("overlay")
        assert [(e["path"], e["code"]) for e in data["errors"]] == [(bad, "link-broken")]
        assert [(d.path, d.code) for d in run(load_config(root)).diagnostics] == [(bad, "link-broken")]
        [error] = server.status()["errors"]
        assert error["editor"].startswith(f"vscode://file/{root.resolve().as_posix()}/content/handbook/bad%FFname.md:")
        write(root, "content/patterns/gamma.md", pattern("Gamma Again", categories="[Code]"))
        _, data = events.next("overlay")
        assert [(e["path"], e["code"]) for e in data["errors"]] == [(bad, "link-broken")]
        write(root, bad, "---\ntitle: Bad Name\nmaintainedBy: ops\n---\nFixed.\n")
        events.next("reload")
        assert server.status()["ok"] is True
        assert "Gamma Again" in server.get("/patterns/gamma/")[2]
        assert "Fixed." in server.get("/handbook/bad-name/")[2]
    finally:
        events.close()
    assert server.stop() == 0
    assert "Traceback" not in "".join(server.err)


def test_a_name_that_is_not_utf8_is_printed_on_a_strict_terminal(served, tmp_path):
    # With a UTF-8 locale other than C, standard output refuses the surrogate escapes a name
    # that is not UTF-8 is held with: the diagnostic naming it is written with the name's own
    # bytes, by build and by serve, whose rebuilds go on.
    root = make_site(tmp_path / "site")
    bad = "content/handbook/bad\udcffname.md"
    write(root, bad, "---\ntitle: Bad Name\nmaintainedBy: ops\n---\nSee [x](nowhere.md).\n")
    strict = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    built = subprocess.run([str(CLI), "build", "--root", str(root)], capture_output=True, env=strict, timeout=60)
    assert built.returncode == 1 and b"Traceback" not in built.stderr
    assert b"content/handbook/bad\xffname.md:5:5: error[link-broken]" in built.stdout
    (root / bad).unlink()
    server = served(root, env=strict)
    events = Events(server)
    try:
        events.next("hello")
        write(root, bad, "---\ntitle: Bad Name\nmaintainedBy: ops\n---\nSee [x](nowhere.md).\n")
        events.next("overlay")
        deadline = time.monotonic() + WAIT
        while not any("content/handbook/bad\ufffdname.md:5:5: error[link-broken]" in line for line in server.out):
            assert time.monotonic() < deadline, server.out
            time.sleep(0.02)
        (root / bad).unlink()
        events.next("reload")
        write(root, "content/patterns/gamma.md", pattern("Gamma Again", categories="[Code]"))
        events.next("reload")
        assert "Gamma Again" in server.get("/patterns/gamma/")[2]
    finally:
        events.close()
    assert server.stop() == 0
    assert "Traceback" not in "".join(server.err)


def test_a_title_taken_from_a_name_that_is_not_utf8_renders(tmp_path):
    # An empty page (``touch``) is titled after its file name, a handbook folder without an
    # index page after the folder's: bytes that are not UTF-8 show as U+FFFD, as a terminal
    # shows them, and the "Edit this page" link percent-encodes them.
    root = make_site(tmp_path / "site")
    write(root, "site.toml", (root / "site.toml").read_text(encoding="utf-8")
          + 'repo_url = "https://git.example.org/site"\n')
    state, _ = incremental.build(load_config(root))
    page, nested = root / "content/handbook/bad\udcffname.md", root / "content/handbook/f\udcffolder/inside.md"
    page.touch()
    write(root, "content/handbook/f\udcffolder/inside.md", "---\ntitle: Inside\nmaintainedBy: ops\n---\nIn.\n")
    state, result = incremental.update(state, [page, nested.parent])
    assert result.ok, result.errors
    html = state.outputs["handbook/bad-name/index.html"].decode("utf-8")
    assert "Bad\ufffdname</h1>" in html and "/edit/main/content/handbook/bad%FFname.md" in html
    assert "F\ufffdolder</span>" in state.outputs["handbook/guide/index.html"].decode("utf-8")
    _same_as_full_run(state)


def test_a_folder_watched_for_the_first_time_is_looked_at_again(tmp_path):
    """Files copied into a folder before its watch is set are seen nowhere else: the folder
    is handed back to be looked at again, as one made anew is."""
    root = make_site(tmp_path / "site")
    config = load_config(root)
    watcher = Watcher(config, Batcher())
    try:
        assert watcher.watch(config) == []
        shutil.rmtree(root / "content" / "handbook")
        assert (root / "content" / "handbook") not in watcher.watch(config)
        (root / "content" / "handbook").mkdir()
        write(root, "content/handbook/new.md", "# New\n")
        assert watcher.watch(config) == [(root / "content" / "handbook").resolve()]
        assert watcher.watch(config) == []
    finally:
        watcher.stop()


def test_a_folder_handed_in_whole_is_read_again_whole(tmp_path):
    """What ``serve`` asks for a folder it watches for the first time: every file in it is
    read again, also one whose change was never reported (written before the watch)."""
    root = make_site(tmp_path / "site")
    write(root, "static/notes.txt", "first\n")
    state, _ = incremental.build(load_config(root))
    write(root, "content/handbook/guide.md", "---\ntitle: Guide\nmaintainedBy: ops\n---\nChanged unseen.\n")
    write(root, "static/notes.txt", "second\n")
    state, _ = incremental.update(state, [root / "content" / "handbook", root / "static"])
    assert b"Changed unseen." in state.files["handbook/guide/index.html"]
    assert state.files["notes.txt"] == b"second\n"
