"""Figure: "Run all steps again" over "Restart this job", for the job of resume_tail.py (20 steps of
0.3 s, the 18th failing, CreateRestartLink last). Both links of the same failed job, clicked after the
fix, side by side in one run: what resume saves a user of this procedure.
"""

from __future__ import annotations

import os

from resume_tail import work_step
from support import QUICK, bench_server, median, repetitions, result, say


def main() -> None:
    steps = 6 if QUICK else 20
    failing = steps - 2
    rounds = repetitions()
    with bench_server() as bench:
        marker = bench.emulator.workspace_root + "/fixed"
        project, procedure = bench.procedure([work_step(n, marker, failing) for n in range(1, steps + 1)]
                                             + [bench.link_step()])
        again, resumed = [], []
        for _ in range(rounds):
            if os.path.exists(marker):
                os.unlink(marker)
            failed = bench.run(project, procedure)
            open(marker, "w").close()
            seconds, job = bench.follow_timed(failed["jobId"], "Restart this job")
            assert job["outcome"] == "success", job["outcome"]
            resumed.append(seconds)
            seconds, job = bench.follow_timed(failed["jobId"], "Run all steps again")
            assert job["outcome"] == "success", job["outcome"]
            again.append(seconds)
    a, r = median(again), median(resumed)
    say(f"run all again {a:.3f} s, resumed {r:.3f} s (medians of {rounds})")
    result('"Run all steps again" over the resumed job (the same 20-step job)', f"{a / r:.2f}×",
           "report it", None, run_again_s=a, resumed_s=r)


if __name__ == "__main__":
    main()
