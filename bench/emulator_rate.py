"""Figure: the emulator's throughput, job steps per second for a job of 500 steps that run `true` (no
run condition, no plugin): what one step of the test suite costs. Median of at least 5 jobs."""

from __future__ import annotations

from support import QUICK, bench_server, median, repetitions, result, say

STEPS = 500


def main() -> None:
    steps = 50 if QUICK else STEPS
    rounds = repetitions()
    with bench_server(warm=False) as bench:
        project, procedure = bench.procedure([(f"step {n}", {"command": "true"}) for n in range(steps)],
                                             params=())
        times = [bench.run_timed(project, procedure, {})[0] for _ in range(rounds)]
    seconds = median(times)
    say(f"{steps} no-op steps in {seconds:.2f} s (median of {rounds})")
    result(f"emulator job steps per second, {steps} no-op steps", f"{steps / seconds:.0f} steps/s",
           "report it", None, steps_per_second=steps / seconds)


if __name__ == "__main__":
    main()
