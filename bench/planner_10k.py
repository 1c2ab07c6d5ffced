"""Figure: planner + report (the plan, its JSON and its table) for a restart of a job of 11,111 steps,
5 levels deep (see planner_scale.py), with no server: EC-Resume's own time, each plan in a new process as
`ec-resume plan` runs it. Median of 9."""

from __future__ import annotations

from planner_scale import measure
from support import repetitions, result, say

TARGET_MS = 100


def main() -> None:
    seconds, steps, peak = measure(1, repetitions(9))
    say(f"planner + report, {steps} steps 5 levels deep: {seconds * 1000:.0f} ms, "
        f"peak {peak / 2**20:.1f} MiB")
    result(f"planner + report, {steps:,} steps 5 levels deep", f"{seconds * 1000:.0f} ms",
           f"≤ {TARGET_MS} ms", seconds * 1000 <= TARGET_MS, ms=seconds * 1000, steps=steps, peak_bytes=peak)


if __name__ == "__main__":
    main()
