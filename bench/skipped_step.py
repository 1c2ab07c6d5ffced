"""Figure: what a skipped step costs. Processes started for the skipped steps of a resumed job (each
process the engine starts is counted), and the server time per skipped step: the resumed job of 100
steps that succeeded and one that failed, beside the resumed job of that failed step alone, side by
side in one run; the difference, divided by 100. A step that runs `true` is shown for scale.
"""

from __future__ import annotations

import os
import subprocess
import threading

from support import QUICK, RUN_CONDITION, bench_server, median, repetitions, result, say

SKIPPED = 100


class Counted(subprocess.Popen):
    """Every process the engine starts, counted."""

    lock = threading.Lock()
    started = 0

    def __init__(self, *args, **kwargs) -> None:
        with Counted.lock:
            Counted.started += 1
        super().__init__(*args, **kwargs)


def procedure(bench, skipped: int, marker: str):
    steps = [(f"done {n}", {"command": "true", "condition": RUN_CONDITION}) for n in range(1, skipped + 1)]
    steps.append(("failing", {"command": f"test -e '{marker}'", "condition": RUN_CONDITION}))
    return bench.procedure(steps + [bench.link_step()])


def resumed_seconds(bench, project: str, procedure_name: str, marker: str, skipped: int) -> tuple:
    if os.path.exists(marker):
        os.unlink(marker)
    failed = bench.run(project, procedure_name)
    open(marker, "w").close()
    before = Counted.started
    seconds, job = bench.follow_timed(failed["jobId"])
    started = Counted.started - before
    assert job["outcome"] == "success", job["outcome"]
    return seconds, started - 2  # the failed step and the link step run


def main() -> None:
    skipped = 20 if QUICK else SKIPPED
    rounds = repetitions()
    subprocess.Popen = Counted  # type: ignore[misc]
    with bench_server() as bench:
        marker = bench.emulator.workspace_root + "/fixed"
        many = procedure(bench, skipped, marker)
        none = procedure(bench, 0, marker)
        runs = bench.procedure([(f"run {n}", {"command": "true"}) for n in range(1, skipped + 1)])
        with_skips, alone, processes, running = [], [], [], []
        for _ in range(rounds):
            seconds, started = resumed_seconds(bench, *many, marker, skipped)
            with_skips.append(seconds)
            processes.append(started)
            alone.append(resumed_seconds(bench, *none, marker, 0)[0])
            running.append(bench.run_timed(*runs)[0])
    per_step = (median(with_skips) - median(alone)) / skipped
    per_run = median(running) / skipped
    say(f"resumed job with {skipped} skipped steps {median(with_skips):.3f} s, "
        f"without {median(alone):.3f} s: "
        f"{per_step * 1000:.2f} ms per skipped step; {max(processes)} processes for them; a step that "
        f"runs `true` {per_run * 1000:.1f} ms")
    result("a skipped step", f"{max(processes)} processes, {per_step * 1000:.1f} ms of server time "
           f"(a step running `true`: {per_run * 1000:.1f} ms)", "0 processes", max(processes) == 0,
           processes=max(processes), skipped_ms=per_step * 1000, run_true_ms=per_run * 1000)


if __name__ == "__main__":
    main()
