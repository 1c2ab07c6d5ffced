"""`python3 build.py bench --quick` runs every figure script of bench/ and writes the table.

No timing is asserted here (the machines are noisy; the figures are in the README with the command that
measured them): only that each script runs, ends with its result line, and lands in the table.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from run_all import FIGURES  # noqa: E402

HELPERS = {"support", "run_all", "planner_scale"}


def test_every_figure_script_is_run_by_the_bench_command():
    scripts = {path.stem for path in (REPO / "bench").glob("*.py")} - HELPERS
    assert scripts == set(FIGURES)


def test_bench_quick_writes_a_row_per_figure(tmp_path):
    out = tmp_path / "bench.md"
    python = shutil.which("python3") or sys.executable
    proc = subprocess.run([python, str(REPO / "build.py"), "bench", "--quick", "--out", str(out)], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    text = out.read_text(encoding="utf-8")
    assert "python3 build.py bench --quick" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert len(rows) == len(FIGURES), text
    for row in rows:
        assert "failed:" not in row, row
        assert row.split(" | ")[3] in ("met", "not met", "—"), row
