"""The benchmark suite runs end to end on a tiny site, so it cannot rot between real runs."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_bench_smoke_runs_every_scenario():
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--smoke"], capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for scenario in ("cold build", "peak memory", "warm build, nothing changed", "warm build, one pattern edited",
                     "check, cold", "check, warm"):
        assert f"| {scenario}, 30 pages |" in proc.stdout, proc.stdout
