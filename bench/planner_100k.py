"""Figure: planner + report at 111,110 steps over the same at 11,111 (10 times the steps, 5 levels deep,
see planner_scale.py), each plan in a new process as `ec-resume plan` runs it, the two sizes in turn: the
median of the pairs' ratios, with the peak memory of each from tracemalloc.

Beside it, the same ratio for a bare walk of the same job (one tuple per step, indexed by path): the
least any planner does. Where that control is itself over 10×, what the planner shows over 10× is the
machine's memory (10 times the bytes touched, past the CPU caches), not its algorithm. And for the record,
the ratio of plans repeated in one process (see planner_scale.py for why that one is not the figure), and
of the machine instructions a plan executes (valgrind's cachegrind, where installed): the planner's own
scaling, which no load on the machine moves."""

from __future__ import annotations

from planner_scale import instructions, measure_repeated, sample, side_by_side
from support import QUICK, repetitions, result, say

TARGET = 11.0


def main() -> None:
    rounds = repetitions(9)
    big_top = 2 if QUICK else 10
    plans = side_by_side("plan", 1, big_top, rounds)
    walks = side_by_side("walk", 1, big_top, rounds)
    small, big, ratio = plans.seconds("small"), plans.seconds("big"), plans.ratio
    small_steps, big_steps = int(plans.small[0]["steps"]), int(plans.big[0]["steps"])
    small_peak, big_peak = sample("peak", 1)["peak_bytes"], sample("peak", big_top)["peak_bytes"]
    repeated = measure_repeated(big_top, rounds) / measure_repeated(1, rounds)
    counted = None if QUICK else (instructions(1), instructions(big_top))
    executed = (counted[1] / counted[0]) if counted and counted[0] and counted[1] else None
    instructions_said = (f"instructions executed: {executed:.2f}×" if executed is not None
                         else "instructions not counted (valgrind is not installed)")
    say(f"{small_steps} steps {small * 1000:.0f} ms (peak {small_peak / 2**20:.1f} MiB, "
        f"{plans.faults('small'):.0f} page faults), {big_steps} steps {big * 1000:.0f} ms (peak "
        f"{big_peak / 2**20:.1f} MiB, {plans.faults('big'):.0f} page faults): {ratio:.1f}× (median of "
        f"{rounds} pairs); a bare walk of the same job: {walks.ratio:.1f}×; repeated in one process: "
        f"{repeated:.1f}×; {instructions_said}")
    result(f"planner + report, {big_steps:,} steps over {small_steps:,}",
           f"{ratio:.1f}× ({big:.2f} s; peak memory {big_peak / 2**20:.0f} MiB, {small_peak / 2**20:.0f} MiB "
           f"at {small_steps:,}; a bare walk of the same job, one tuple per step: {walks.ratio:.1f}×; "
           f"repeated in one process: {repeated:.1f}×; {instructions_said}, cachegrind)",
           f"≤ {TARGET:g}×, memory reported", ratio <= TARGET, ratio=ratio, floor_ratio=walks.ratio,
           repeated_ratio=repeated, instructions_ratio=executed, big_s=big, small_s=small,
           big_peak_bytes=big_peak, small_peak_bytes=small_peak, big_page_faults=plans.faults("big"),
           small_page_faults=plans.faults("small"))


if __name__ == "__main__":
    main()
