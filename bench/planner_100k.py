"""Figure: planner + report at 111,110 steps over the same at 11,111 (10 times the steps, 5 levels deep,
see planner_scale.py), side by side in one run, with the peak memory of each from tracemalloc.

Beside it, the same ratio for a bare walk of the same job (one tuple per step, indexed by path): the
least any planner does. Where that control is itself over 10×, what the planner shows over 10× is the
machine's memory (10 times the bytes touched, past the CPU caches), not its algorithm."""

from __future__ import annotations

from planner_scale import measure, measure_floor
from support import QUICK, repetitions, result, say

TARGET = 11.0


def main() -> None:
    rounds = repetitions()
    small, small_steps, small_peak = measure(1, rounds)
    big, big_steps, big_peak = measure(2 if QUICK else 10, rounds)
    ratio = big / small
    floor = measure_floor(2 if QUICK else 10, rounds) / measure_floor(1, rounds)
    say(f"{small_steps} steps {small * 1000:.0f} ms (peak {small_peak / 2**20:.1f} MiB), {big_steps} steps "
        f"{big * 1000:.0f} ms (peak {big_peak / 2**20:.1f} MiB): {ratio:.1f}×; a bare walk of the same job: "
        f"{floor:.1f}×")
    result(f"planner + report, {big_steps:,} steps over {small_steps:,}",
           f"{ratio:.1f}× ({big:.2f} s; peak memory {big_peak / 2**20:.0f} MiB, {small_peak / 2**20:.0f} MiB "
           f"at {small_steps:,}; a bare walk of the same job, one tuple per step: {floor:.1f}×)",
           f"≤ {TARGET:g}×, memory reported", ratio <= TARGET, ratio=ratio, floor_ratio=floor,
           big_s=big, small_s=small, big_peak_bytes=big_peak, small_peak_bytes=small_peak)


if __name__ == "__main__":
    main()
