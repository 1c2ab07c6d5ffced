"""Figure: a resumed job over the same tail run alone.

20 steps of 0.3 s under the run condition, the 18th failing, and CreateRestartLink last. Once step 18
is fixed, the restart link runs steps 18 to 20 (and the link step) and skips 17. Side by side in the
same run: a procedure of only steps 18 to 20 (the tail alone), and the same tail ending with
CreateRestartLink, so the plugin's own step and the skipped steps show apart.
"""

from __future__ import annotations

import os

from support import QUICK, RUN_CONDITION, bench_server, median, repetitions, result, say

STEPS, FAILING, SECONDS = (20, 18, 0.3)


def work_step(number: int, marker: str, failing: int, condition: bool = True) -> tuple:
    """Step `number`: 0.3 s of work; the failing one fails until `marker` exists."""
    command = f"sleep {SECONDS}"
    if number == failing:
        command = f"test -e '{marker}' || exit 1; {command}"
    fields = {"command": command}
    if condition:
        fields["condition"] = RUN_CONDITION
    return (f"step {number}", fields)


def main() -> None:
    steps = 6 if QUICK else STEPS
    failing = steps - 2
    rounds = repetitions(9)  # a ratio of two 1-second jobs: a 5-run median moves by 1-2% between runs
    with bench_server() as bench:
        marker = bench.emulator.workspace_root + "/fixed"
        full = [work_step(n, marker, failing) for n in range(1, steps + 1)] + [bench.link_step()]
        tail = [work_step(n, marker, failing, condition=False) for n in range(failing, steps + 1)]
        project, procedure = bench.procedure(full)
        tail_project, tail_procedure = bench.procedure(tail)
        linked_project, linked_procedure = bench.procedure(tail + [bench.link_step()])
        bench.run(linked_project, linked_procedure)  # the agent code is cached from here on
        resumed, alone, linked = [], [], []
        for _ in range(rounds):
            if os.path.exists(marker):
                os.unlink(marker)
            failed = bench.run(project, procedure)
            assert failed["outcome"] == "error", failed["outcome"]
            open(marker, "w").close()
            seconds, job = bench.follow_timed(failed["jobId"])
            assert job["outcome"] == "success", job["outcome"]
            resumed.append(seconds)
            alone.append(bench.run_timed(tail_project, tail_procedure)[0])
            linked.append(bench.run_timed(linked_project, linked_procedure)[0])
    r, a, lk = median(resumed), median(alone), median(linked)
    say(f"resumed job {r:.3f} s, the tail alone {a:.3f} s, the tail with CreateRestartLink {lk:.3f} s "
        f"(medians of {rounds})")
    ratio = r / a
    result("resumed job over the same tail run alone (20 steps of 0.3 s, failing at 18)",
           f"{ratio:.2f}× ({r / lk:.2f}× against the tail ending with CreateRestartLink)",
           "≤ 1.10×", ratio <= 1.10, resumed_s=r, tail_s=a, tail_with_link_s=lk)


if __name__ == "__main__":
    main()
