"""``devrel-site serve``: build in memory, serve over HTTP, rebuild on save, reload the browser.

The pieces, each small:

- ``locate`` maps a request path to an output file the way a static host does,
  and refuses anything that is not plainly a path inside the output;
- ``inject`` adds the live-reload script to every HTML response;
- ``Live`` holds the site being served as one immutable ``Snapshot`` (replaced
  in one assignment after a clean rebuild) and the Server-Sent Events clients;
- ``Watcher`` turns watchdog events into batches of changed paths (editor
  temporary files ignored, events within about 100 ms merged into one batch);
- ``cmd_serve`` ties them together and is the only part that prints.

Nothing is written to disk; the output folder is left alone.
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import queue
import signal
import socket
import sys
import threading
import time
import webbrowser
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterable, Mapping
from urllib.parse import quote, unquote

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .config import SiteConfig
from .diagnostics import Diagnostic, Severity, make
from .incremental import Rebuild, State, build, finish, update
from .render import theme_paths
from .urls import output_file

EVENTS_PATH = "/__devrel__/events"
STATUS_PATH = "/__devrel__/status"
WORKER_PATH = "/__devrel__/worker.js"

# One connection to the event stream for all of a browser's tabs on the site: a shared worker
# holds it and passes each event on. A browser opens at most six connections to one server
# over HTTP/1.1, so with a stream per tab a seventh tab would never load.
_WORKER = r"""const ports = new Set();
let source = null;
const send = (message) => { for (const port of ports) port.postMessage(message); };
onconnect = (event) => {
  const port = event.ports[0];
  ports.add(port);
  port.onmessage = (message) => { if (message.data === "closed") ports.delete(port); };
  port.start();
  if (source === null) {
    source = new EventSource("/__devrel__/events");
    for (const type of ["hello", "reload", "css", "overlay"]) {
      source.addEventListener(type, (e) => send({ type, data: e.data }));
    }
  }
};
"""
KEEPALIVE_SECONDS = 15.0
QUIET_SECONDS = 0.10        # a batch of changes closes this long after its last event,
SETTLED_SECONDS = 0.03      # or this long when every changed file was closed by its writer,
WINDOW_SECONDS = 1.0        # and at the latest this long after its first event
FINISH_GROUP = 1            # outputs rendered between two looks for a newer change

_TYPES = {
    ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".json": "application/json", ".map": "application/json",
    ".xml": "application/xml; charset=utf-8", ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8", ".csv": "text/csv; charset=utf-8",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
    ".pdf": "application/pdf", ".wasm": "application/wasm", ".zip": "application/zip",
    ".webmanifest": "application/manifest+json", ".mp4": "video/mp4", ".webm": "video/webm",
    ".mp3": "audio/mpeg", ".pf_meta": "application/octet-stream",
}


# --- pure helpers --------------------------------------------------------------------------------

def content_type(path: str) -> str:
    dot = path.rfind(".")
    return _TYPES.get(path[dot:].lower(), "application/octet-stream") if dot >= 0 else "application/octet-stream"


@dataclass(frozen=True)
class Lookup:
    status: int                     # 200, 301 or 404
    key: str | None = None          # the output file to send
    location: str | None = None     # where a 301 points


def _safe(raw: str, decoded: str) -> bool:
    """A request path is served only when it is plainly a path: no traversal, however written."""
    lowered = raw.lower()
    if not raw.startswith("/") or raw.startswith("//") or ".." in raw:
        return False
    if any(bad in lowered for bad in ("%2f", "%5c", "%00", "%2e%2e", "\\", "\x00")):
        return False
    if "\\" in decoded or "\x00" in decoded or decoded.startswith("//"):
        return False
    segments = decoded.split("/")[1:]
    return not any(s in (".", "..") or (s == "" and i < len(segments) - 1) for i, s in enumerate(segments))


def locate(target: str, files: Mapping[str, bytes], base_path: str = "/") -> Lookup:
    """The output file for a request target, as a static host would find it.

    ``/x/`` is ``x/index.html``; ``/x`` is ``x``, else a redirect to ``/x/`` when
    ``x/index.html`` exists, else ``x.html``. The site is served both at ``/``
    and under the path of its ``base_url`` (e.g. ``/devrel/``).
    """
    raw, _, query = target.partition("?")
    raw = raw.split("#", 1)[0]
    try:
        decoded = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return Lookup(404)
    if not _safe(raw, decoded):
        return Lookup(404)
    suffix = f"?{query}" if query else ""
    candidates = []
    if base_path != "/":
        if decoded == base_path.rstrip("/"):
            return Lookup(301, location=base_path + suffix)
        if decoded.startswith(base_path):
            candidates.append((base_path, decoded[len(base_path):]))
    candidates.append(("/", decoded[1:]))
    for prefix, rel in candidates:
        if rel == "" or rel.endswith("/"):
            if rel + "index.html" in files:
                return Lookup(200, rel + "index.html")
            continue
        if rel in files:
            return Lookup(200, rel)
        if rel + "/index.html" in files:
            return Lookup(301, location=quote(prefix + rel + "/") + suffix)
        if rel + ".html" in files:
            return Lookup(200, rel + ".html")
    return Lookup(404)


_SCRIPT = r"""<script data-devrel-live>
(() => {
  let generation = __GENERATION__;
  const key = "devrel-scroll:" + location.pathname;
  const saved = sessionStorage.getItem(key);
  if (saved !== null) {
    sessionStorage.removeItem(key);
    const y = parseFloat(saved) || 0;
    const restore = () => window.scrollTo(0, y);
    restore();
    window.addEventListener("load", restore);
  }
  const reload = () => {
    sessionStorage.setItem(key, String(window.scrollY));
    location.reload();
  };
  const swapStyles = () => {
    for (const link of document.querySelectorAll('link[rel~="stylesheet"]')) {
      const url = new URL(link.href, location.href);
      url.searchParams.set("__devrel", String(Date.now()));
      link.href = url.href;
    }
  };
  let host = null;
  const hide = () => { if (host) { host.remove(); host = null; } };
  const show = (status) => {
    hide();
    if (!status || !status.errors || !status.errors.length) return;
    host = document.createElement("div");
    host.id = "devrel-overlay";
    const root = host.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = `
      .panel { position: fixed; inset: 1rem 1rem auto 1rem; z-index: 2147483647; max-height: calc(100vh - 2rem);
        overflow: auto; box-sizing: border-box; padding: 1rem 1.25rem; background: #fff; color: #1a1a1a;
        border: 2px solid #b00020; border-radius: 6px; box-shadow: 0 8px 32px rgba(0,0,0,.35);
        font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; text-align: left; }
      h2 { margin: 0 2.5rem .25rem 0; font-size: 1.15rem; color: #b00020; }
      p { margin: 0 0 .75rem; color: #444; }
      ol { margin: 0; padding-left: 1.25rem; }
      li { margin: .4rem 0; }
      .where { font: 14px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: #1a1a1a; }
      a.where { color: #0645ad; }
      code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f3f3;
        padding: 0 .3em; border-radius: 3px; }
      .hint { color: #555; }
      button { position: absolute; top: .6rem; right: .6rem; font: inherit; font-size: 1.1rem; line-height: 1;
        padding: .3rem .55rem; background: #f3f3f3; color: #1a1a1a; border: 1px solid #999; border-radius: 4px;
        cursor: pointer; }
      button:focus-visible { outline: 3px solid #0645ad; outline-offset: 2px; }`;
    const panel = document.createElement("div");
    panel.className = "panel";
    panel.setAttribute("role", "alertdialog");
    panel.setAttribute("aria-labelledby", "devrel-overlay-title");
    panel.setAttribute("aria-describedby", "devrel-overlay-note");
    const count = status.errors.length;
    const title = document.createElement("h2");
    title.id = "devrel-overlay-title";
    title.textContent = `Build failed: ${count} error${count === 1 ? "" : "s"}`;
    const note = document.createElement("p");
    note.id = "devrel-overlay-note";
    note.textContent = "This page is the last good build. Save a fix and this panel closes by itself.";
    const list = document.createElement("ol");
    for (const item of status.errors) {
      const li = document.createElement("li");
      const where = document.createElement(item.editor ? "a" : "span");
      where.className = "where";
      where.textContent = item.location;
      if (item.editor && !/^\s*javascript:/i.test(item.editor)) where.href = item.editor;
      const code = document.createElement("code");
      code.textContent = item.code;
      li.append(where, " ", code, " ", item.message);
      if (item.hint) {
        const hint = document.createElement("span");
        hint.className = "hint";
        hint.textContent = ` (${item.hint})`;
        li.append(hint);
      }
      list.append(li);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.textContent = "\u00d7";
    close.addEventListener("click", hide);
    panel.append(title, note, list, close);
    root.append(style, panel);
    document.body.append(host);
  };
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && host) hide(); });
  const data = (event) => { try { return JSON.parse(event.data); } catch (e) { return {}; } };
  const hello = (status) => {
    if (status.ok && status.generation !== generation) { reload(); return; }
    show(status);
  };
  const handlers = {
    hello: (event) => hello(data(event)),
    reload: reload,
    css: (event) => { generation = data(event).generation; swapStyles(); },
    overlay: (event) => show(data(event)),
  };
  const listen = () => {
    if (typeof SharedWorker === "function") {
      try {
        const worker = new SharedWorker("/__devrel__/worker.js", { name: "devrel-live" });
        worker.port.onmessage = (message) => {
          const handler = handlers[message.data.type];
          if (handler) handler({ data: message.data.data });
        };
        worker.port.start();
        window.addEventListener("pagehide", () => worker.port.postMessage("closed"), { once: true });
        return;
      } catch (e) { /* no shared workers here: a stream of this page's own */ }
    }
    const events = new EventSource("/__devrel__/events");
    for (const [type, handler] of Object.entries(handlers)) events.addEventListener(type, handler);
  };
  listen();
  window.addEventListener("pageshow", (event) => { if (event.persisted) listen(); });
  fetch("/__devrel__/status", { cache: "no-store" }).then((r) => r.json()).then(hello).catch(() => {});
})();
</script>
"""


def inject(body: bytes, generation: int) -> bytes:
    """The page with the live-reload script before its last ``</body>`` (or at the end)."""
    script = _SCRIPT.replace("__GENERATION__", str(int(generation))).encode("utf-8")
    at = body.lower().rfind(b"</body>")
    if at < 0:
        return body + script
    return body[:at] + script + body[at:]


def editor_link(config: SiteConfig, diag: Diagnostic) -> str | None:
    """The ``editor_url`` of site.toml filled in for one diagnostic, or None."""
    if not config.editor_url or not diag.path or diag.path in ("site", "themes", "search"):
        return None
    path = Path(diag.path)
    if not path.is_absolute():
        path = config.root / path
    link = config.editor_url
    # A file name that is not valid UTF-8 is percent-encoded byte for byte, as it is on disk.
    where = quote(path.as_posix(), safe="/:\\", errors="surrogateescape")
    for name, value in (("{path}", where), ("{line}", str(diag.line or 1)),
                        ("{column}", str(diag.column or 1))):
        link = link.replace(name, value)
    return link


def status_payload(config: SiteConfig, diagnostics: Iterable[Diagnostic], generation: int) -> dict:
    """The error state as the browser sees it: ``/__devrel__/status`` and the ``overlay`` event."""
    diagnostics = list(diagnostics)
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    return {
        "ok": not errors,
        "generation": generation,
        "errors": [{**d.to_dict(), "location": d.location(), "editor": editor_link(config, d)} for d in errors],
        "warnings": sum(1 for d in diagnostics if d.severity is Severity.WARNING),
    }


def to_json(data: Mapping) -> bytes:
    """``data`` as JSON in UTF-8, for the browser. A file name that is not valid UTF-8 is held
    as the file system gave it, with surrogate escapes, which UTF-8 cannot encode: each is
    written as the JSON escape of the same character (``\\udcff``), so the name arrives as it is."""
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "backslashreplace")


def sse(event: str, data: Mapping) -> bytes:
    return f"event: {event}\ndata: ".encode("utf-8") + to_json(data) + b"\n\n"


_IGNORED_SUFFIXES = (".swp", ".swx", ".swo", "~", ".tmp", "___jb_tmp___", "___jb_old___", ".crswap")


def ignored(path: str) -> bool:
    """Editor temporary and swap files, and anything inside ``.git``."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    return (name.endswith(_IGNORED_SUFFIXES) or name.startswith(".#") or name in ("4913", ".DS_Store")
            or ".git" in parts[:-1] or name == ".git")


def watch_folders(config: SiteConfig) -> tuple[tuple[Path, bool], ...]:
    """``(folder, recursive)`` to watch: content, themes, static, and the root itself for site.toml;
    shallowly, the folders above them inside the site, where they would appear or go away."""
    root = config.root
    themes = theme_paths(config)
    wanted = [root / config.patterns_dir, root / config.handbook_dir, root / config.static_dir,
              root / "themes", *themes.templates, *themes.static]
    folders: list[Path] = []
    waiting: set[Path] = set()
    for folder in wanted:
        folder = Path(os.path.abspath(folder))
        if folder.is_dir():
            if folder not in folders:
                folders.append(folder)
            # Its parent too, to see the folder itself deleted, moved or made anew.
            if folder.parent != root and root in folder.parent.parents:
                waiting.add(folder.parent)
            continue
        # Not there yet: watch the nearest folder above it inside the site, to see it appear.
        parent = folder.parent
        while parent != root and root in parent.parents and not parent.is_dir():
            parent = parent.parent
        if parent != root and root in parent.parents:
            waiting.add(parent)
    recursive = [f for f in folders if not any(other != f and other in f.parents for other in folders)]
    shallow = sorted(f for f in waiting if not any(r == f or r in f.parents for r in recursive))
    return ((root, False),) + tuple((f, False) for f in shallow) + tuple((f, True) for f in sorted(recursive))


# --- the served site -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Snapshot:
    """What the server answers with; replaced whole, never changed."""
    files: Mapping[str, bytes] = field(hash=False)
    base_path: str
    generation: int
    status: Mapping = field(hash=False)
    pending: frozenset[str] = frozenset()     # output paths still being rendered: answered when done
    rendered: bool = True                     # False when the site could not be rendered at start:
                                              # no pages, so no good build to keep serving


class Live:
    """The site being served and the browsers listening for changes."""

    def __init__(self, state: State, result: Rebuild):
        self.state = state
        # Generations count from the server's start time, so a page served by an earlier run of
        # the server never shares one with this run's and reloads once it reconnects.
        first = time.time_ns() // 1_000_000
        self.snapshot = Snapshot(state.files, state.config.base_path, first,
                                 status_payload(state.config, result.diagnostics, first),
                                 rendered=not (state.stale or state.broken))
        self._clients: list[queue.Queue] = []
        self._lock = threading.Lock()
        self._closed = False
        self._settled = threading.Condition()

    def publish(self, snapshot: Snapshot) -> None:
        with self._settled:
            self.snapshot = snapshot
            self._settled.notify_all()

    def current(self, key: str | None, timeout: float = 30.0) -> Snapshot:
        """The snapshot to answer a request for output ``key`` from: one where that output is
        not waiting to be rendered again (the edited page is published first, the listings
        it reaches a moment later; a browser asking for one of those waits for it)."""
        with self._settled:
            self._settled.wait_for(lambda: key not in self.snapshot.pending, timeout)
            return self.snapshot

    # Server-Sent Events clients.
    def subscribe(self) -> queue.Queue:
        inbox: queue.Queue = queue.Queue()
        with self._lock:
            if self._closed:
                inbox.put(None)
            self._clients.append(inbox)
        return inbox

    def unsubscribe(self, inbox: queue.Queue) -> None:
        with self._lock:
            if inbox in self._clients:
                self._clients.remove(inbox)

    def broadcast(self, message: bytes | None) -> None:
        with self._lock:
            for inbox in self._clients:
                inbox.put(message)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for inbox in self._clients:
                inbox.put(None)

    # Rebuilding (one thread only).
    def rebuild(self, paths: Iterable[Path | str],
                waiting: Callable[[], bool] = lambda: False) -> tuple[Rebuild, str | None]:
        """Update the site; publish it when clean. Returns the result and the event sent, if any.

        A content change publishes the edited pages at once and tells the browsers to reload;
        the other outputs it reaches are rendered next, a few at a time, each group published
        when done; a request for one of those waits until it is ready, so no browser is ever
        answered with a stale page. When ``waiting()`` says another change came in meanwhile,
        the rest stays pending and that change is handled first.
        """
        previous = self.snapshot
        self.state, result = update(self.state, paths, defer=True)
        event = self._publish(previous, result)
        while self.state.pending and not waiting():
            self.state, rest = finish(self.state, FINISH_GROUP, stop=waiting)
            result = _merged(result, rest)
            current = self.snapshot
            if not current.status.get("ok"):
                continue              # the overlay is up: nothing is published until it is fixed
            if rest.ok:
                pending = frozenset(output_file(url) for url in self.state.pending)
                self.publish(Snapshot(self.state.files, current.base_path, current.generation, current.status,
                                      pending))
                continue
            status = status_payload(self.state.config, rest.diagnostics, current.generation)
            self.publish(Snapshot(current.files, current.base_path, current.generation, status))
            self.broadcast(sse("overlay", status))
            event = "overlay"
            break
        return result, event

    def _publish(self, previous: Snapshot, result: Rebuild) -> str | None:
        if result.kind == "none":
            return None
        config = self.state.config
        # With errors, the last good build is kept; but when the site could not be rendered at
        # start there is none, and the site as it now renders is served, errors and all, as a
        # start with errors is.
        rendered = not (self.state.stale or self.state.broken)
        if not result.ok and (previous.rendered or not rendered):
            status = status_payload(config, result.diagnostics, previous.generation)
            self.publish(Snapshot(previous.files, previous.base_path, previous.generation, status,
                                  rendered=previous.rendered))
            self.broadcast(sse("overlay", status))
            return "overlay"
        was_ok = bool(previous.status.get("ok"))
        if not result.outputs and was_ok and config.base_path == previous.base_path and not self.state.pending:
            status = status_payload(config, result.diagnostics, previous.generation)
            self.publish(Snapshot(previous.files, previous.base_path, previous.generation, status,
                                  rendered=previous.rendered))
            return None
        generation = previous.generation + 1
        status = status_payload(config, result.diagnostics, generation)
        pending = frozenset(output_file(url) for url in self.state.pending)
        self.publish(Snapshot(self.state.files, config.base_path, generation, status, pending))
        if result.css_only and was_ok and not pending:
            self.broadcast(sse("css", {"generation": generation, "paths": list(result.outputs)}))
            return "css"
        self.broadcast(sse("reload", {"generation": generation, "paths": list(result.outputs)[:50]}))
        return "reload"


def _merged(first: Rebuild, rest: Rebuild) -> Rebuild:
    """One account of an update and the rendering it left for ``finish``."""
    if rest.kind == "none":
        return first
    return replace(first, rendered=first.rendered + rest.rendered,
                   rendered_paths=tuple(sorted(set(first.rendered_paths) | set(rest.rendered_paths))),
                   outputs=tuple(sorted(set(first.outputs) | set(rest.outputs))),
                   diagnostics=rest.diagnostics, elapsed=first.elapsed + rest.elapsed,
                   kind=first.kind if rest.kind != "failed" else "failed")


# --- HTTP ----------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server: "Server"
    protocol_version = "HTTP/1.1"
    server_version = "devrel-site"
    sys_version = ""

    def log_message(self, format: str, *args) -> None:  # requests are not logged
        pass

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _send(self, status: int, body: bytes, ctype: str, head: bool, extra: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _answer(self, head: bool) -> None:
        live = self.server.live
        snapshot = live.snapshot
        path = self.path.split("?", 1)[0]
        if path == EVENTS_PATH and not head:
            self._events(live)
            return
        if path == STATUS_PATH:
            body = to_json(snapshot.status)
            self._send(200, body, "application/json", head)
            return
        if path == WORKER_PATH:
            self._send(200, _WORKER.encode("utf-8"), "text/javascript; charset=utf-8", head)
            return
        found = locate(self.path, snapshot.files, snapshot.base_path)
        if found.key is not None and found.key in snapshot.pending:
            snapshot = live.current(found.key)
            found = locate(self.path, snapshot.files, snapshot.base_path)
        if found.status == 301:
            self._send(301, b"", "text/plain; charset=utf-8", head, {"Location": found.location or "/"})
            return
        if found.status == 200 and found.key is not None:
            key, status = found.key, 200
        else:
            key, status = "404.html", 404
        body = snapshot.files.get(key)
        if body is None:
            body = b"<!doctype html><title>Not found</title><h1>Not found</h1><body></body>"
        ctype = content_type(key)
        if ctype.startswith("text/html"):
            body = inject(body, snapshot.generation)
        self._send(status, body, ctype, head)

    def _events(self, live: Live) -> None:
        inbox = live.subscribe()
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.send_header("X-Accel-Buffering", "no")
            self.end_headers()
            self.wfile.write(b"retry: 1000\n\n" + sse("hello", live.snapshot.status))
            self.wfile.flush()
            while True:
                try:
                    message = inbox.get(timeout=KEEPALIVE_SECONDS)
                except queue.Empty:
                    message = b": keep-alive\n\n"
                if message is None:
                    break
                self.wfile.write(message)
                self.wfile.flush()
        except OSError:
            pass
        finally:
            live.unsubscribe(inbox)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], live: Live):
        self.live = live
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    def server_bind(self) -> None:
        # Skips the reverse DNS lookup of the standard server: nothing here needs the host's name.
        import socketserver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[0], self.server_address[1]

    def handle_error(self, request, client_address) -> None:  # a dropped browser tab is not news
        pass


# --- watching ------------------------------------------------------------------------------------

class Batcher:
    """Changed paths, gathered into batches.

    A batch closes ``quiet`` seconds after its last event, or only ``settled``
    seconds after it when every file in it was last seen closed after writing,
    moved into place or deleted (an editor's save is over), and at the latest
    ``window`` seconds after its first event.
    """

    def __init__(self, quiet: float = QUIET_SECONDS, settled: float = SETTLED_SECONDS,
                 window: float = WINDOW_SECONDS):
        self.quiet = quiet
        self.settled = settled
        self.window = window
        self._paths: dict[str, bool] = {}      # path -> settled
        self._first = 0.0
        self._last = 0.0
        self._closed = False
        self._cond = threading.Condition()

    def add(self, paths: Iterable[str], settled: bool = False) -> None:
        with self._cond:
            now = time.monotonic()
            if not self._paths:
                self._first = now
            for path in paths:
                self._paths[path] = settled
            self._last = now
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def waiting(self) -> bool:
        """True when changes have come in that no batch has taken yet."""
        with self._cond:
            return bool(self._paths) or self._closed

    def take(self) -> list[str] | None:
        """The next batch; None once closed."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                if not self._paths:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                wait = self.settled if all(self._paths.values()) else self.quiet
                due = min(self._last + wait, self._first + self.window)
                if now >= due:
                    batch = list(self._paths)
                    self._paths = {}
                    return batch
                self._cond.wait(due - now)


class _Events(FileSystemEventHandler):
    def __init__(self, batcher: Batcher, output: Path, watcher: "Watcher"):
        self.batcher = batcher
        self.output = str(output)
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write", "attrib") or \
                (event.is_directory and event.event_type == "modified"):
            return
        paths = [event.src_path] + ([event.dest_path] if getattr(event, "dest_path", "") else [])
        settled = event.is_directory or event.event_type in ("closed", "moved", "deleted")
        kept = []
        for path in paths:
            path = os.fsdecode(path)
            if path and not ignored(path) and not (path == self.output or path.startswith(self.output + os.sep)):
                kept.append(path)
        if event.is_directory and event.event_type in ("created", "deleted", "moved"):
            self.watcher.folder_event([os.fsdecode(path) for path in paths])
        if kept:
            self.batcher.add(kept, settled)


class Watcher:
    """watchdog over the site's input folders, feeding a ``Batcher``."""

    def __init__(self, config: SiteConfig, batcher: Batcher):
        self.batcher = batcher
        self.observer = Observer()
        self.folders: tuple = ()
        self.moved: set[Path] = set()     # watched folders deleted, moved or made anew since
        self._lock = threading.Lock()       # ``moved`` is added to from the watching thread
        self.watch(config)

    def folder_event(self, paths: list[str]) -> None:
        """A folder came, went or moved: when it is (or holds) a watched folder, that watch
        follows a folder that is no longer the site's, or none at all."""
        for path in paths:
            for folder, _ in self.folders:
                if str(folder) == path or str(folder).startswith(path + os.sep):
                    with self._lock:
                        self.moved.add(folder)

    def watch(self, config: SiteConfig) -> list[Path]:
        """Watch the folders the site has now, anew when one of them was deleted, moved or
        made again. Returns the watched folders whose contents may have changed unseen
        meanwhile (none the first time), for the caller to look at again: those deleted,
        moved or made again, and those watched for the first time (a folder that appeared,
        into which files may have been copied before its watch was set)."""
        folders = watch_folders(config)
        with self._lock:
            moved, self.moved = self.moved, set()
        if folders == self.folders and not moved:
            return []
        first, before = not self.folders, {folder for folder, recursive in self.folders if recursive}
        self.observer.unschedule_all()
        handler = _Events(self.batcher, config.output, self)
        for folder, recursive in folders:
            self.observer.schedule(handler, str(folder), recursive=recursive)
        self.folders = folders
        if first:
            return []
        return [folder for folder, recursive in folders if recursive and (folder in moved or folder not in before)]

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        if self.observer.is_alive():
            self.observer.join(timeout=5)


# --- the command ---------------------------------------------------------------------------------

def add_parser(commands, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser("serve", parents=[common],
                                help="serve the site from memory, rebuild on save and reload the browser")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on; 0 picks a free one (default: 8000)")
    serve.add_argument("--drafts", action="store_true", help="include pages with status: draft")
    serve.add_argument("--open", action="store_true", help="open the site in the web browser")
    serve.set_defaults(func=cmd_serve)


def _clock() -> str:
    return time.strftime("%H:%M:%S")


def _what(result: Rebuild) -> str:
    if not result.changed:
        return "sources"
    first = result.changed[0]
    more = len(result.changed) - 1
    return first + (f" and {more} more" if more else "")


def _line(result: Rebuild, event: str | None) -> str:
    ms = result.elapsed * 1000
    head = f"{_clock()} {_what(result)} changed: "
    if not result.ok:
        n = len(result.errors)
        kept = "still serving the last good build" if event != "reload" else \
            "served with its errors: none rendered before"
        return head + f"{n} error{'s' if n != 1 else ''} in {ms:.0f} ms ({kept})"
    if event == "css":
        return head + f"stylesheet reloaded in {ms:.0f} ms"
    if result.kind == "full":
        return head + f"rebuilt all {result.pages} pages ({result.rendered} files) in {ms:.0f} ms"
    if result.rendered == 0 and event is None:
        return head + f"nothing to re-render ({ms:.0f} ms)"
    n = result.rendered
    return head + f"{n} page{'s' if n != 1 else ''} re-rendered in {ms:.0f} ms"


def _rebuild_loop(live: Live, batcher: Batcher, watcher: Watcher,
                  report: Callable[[Rebuild, str | None], None]) -> None:
    while True:
        batch = batcher.take()
        if batch is None:
            return
        try:
            result, event = live.rebuild(batch, batcher.waiting)
        except Exception as exc:        # never let one bad rebuild stop the watching
            crash = make("site", None, None, "internal-error", f"rebuilding failed: {type(exc).__name__}: {exc}")
            result, event = Rebuild("failed", changed=tuple(batch[:1]), diagnostics=(crash,)), None
        try:
            fresh = watcher.watch(live.state.config)     # folders may have come, gone or been made anew
        except OSError:
            fresh = []
        if fresh:        # what changed in them before they were watched is looked at again
            batcher.add([str(folder) for folder in fresh], True)
        if result.kind == "none" and event is None:
            continue
        try:
            report(result, event)
        except (OSError, ValueError):    # the terminal is gone or cannot show it: serving goes on
            pass


def cmd_serve(args: argparse.Namespace, console) -> int:
    """``serve`` until Ctrl-C (SIGINT) or SIGTERM, which end it with 0 whenever they come."""
    stop, serving = threading.Event(), threading.Event()

    def stopped(*_) -> None:
        """Serving stops. The first signal to come before serving started (during the first
        build, say) interrupts what runs, so that it stops at once all the same."""
        interrupt = not stop.is_set() and not serving.is_set()
        stop.set()
        if interrupt:
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _serve(args, console, stop, serving)
    except KeyboardInterrupt:        # stopped before serving started (what was started is stopped)
        console.note("stopping")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(args: argparse.Namespace, console, stop: threading.Event, serving: threading.Event) -> int:
    from .cli import _config
    config = _config(args, console)
    if config is None:
        return 2
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be between 0 and 65535, not {args.port}", file=sys.stderr)
        return 2

    # Bind first: a taken port is reported before any work is done.
    placeholder = Live(State(config=config, drafts=args.drafts, env=None), Rebuild("none"))
    try:
        server = Server((args.host, args.port), placeholder)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"error: port {args.port} on {args.host} is already in use; stop the other server or "
                  f"choose another port with --port (--port 0 picks a free one)", file=sys.stderr)
        else:
            print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2

    batcher = Batcher()
    try:
        watcher = Watcher(config, batcher)
        watcher.start()            # before the build: a save made while it runs is not missed
    except OSError as exc:
        server.server_close()
        print(f"error: cannot watch the site's folders: {exc} (on Linux, the inotify limit "
              f"fs.inotify.max_user_watches may be too low)", file=sys.stderr)
        return 1
    live = placeholder
    http = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                            name="devrel-http", daemon=True)
    try:
        state, result = build(config, drafts=args.drafts)
        live = Live(state, result)
        server.live = live
        # The built site lives as long as the server: keep the collector from walking it on every rebuild.
        gc.collect()
        gc.freeze()
        if result.diagnostics:
            console.report(list(result.diagnostics), "text", result.pages)
        console.note(f"built {result.pages} pages ({len(state.files)} files) in memory in {result.elapsed:.2f}s")

        def report(rebuilt: Rebuild, event: str | None) -> None:
            console.note(_line(rebuilt, event))
            if rebuilt.rendered_paths and rebuilt.kind != "full":
                console.detail("  rendered: " + ", ".join(rebuilt.rendered_paths))
            if not rebuilt.ok:
                console.report(list(rebuilt.diagnostics), "text", rebuilt.pages)

        worker = threading.Thread(target=_rebuild_loop, args=(live, batcher, watcher, report),
                                  name="devrel-rebuild", daemon=True)
        try:
            http.start()
            worker.start()
            host, port = server.server_address[0], server.server_address[1]
            url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
            also = f" (also at {config.base_path})" if config.base_path != "/" else ""
            print(f"serving {url}{also}; press Ctrl-C to stop", file=sys.stderr, flush=True)
            if args.open:
                threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
            serving.set()
            while not stop.wait(0.5):
                pass
            console.note("stopping")
        finally:
            batcher.close()
            if worker.is_alive():
                worker.join(timeout=5)
    finally:
        watcher.stop()
        batcher.close()
        live.close()
        if http.is_alive():
            server.shutdown()
        server.server_close()
    return 0
