"""Figure: the CreateRestartLink step's process over a bare `python3 -c pass`, with the agent code
cached and at first use (the cache emptied before each run, so the step fetches the code).

Both run as job steps of the same emulator, timed by its engine from process start to exit, with the
same interpreter: the real one, not a venv launcher or a version-manager shim, without -I or -S, as
the default `python3` of an agent runs. Side by side in one run, medians of at least 5.
"""

from __future__ import annotations

import glob
import os
import shutil

from support import bench_server, median, real_python, repetitions, result, say

CACHED, FIRST_USE = 2.0, 3.0


def main() -> None:
    rounds = repetitions(7)
    python = real_python()
    with bench_server(interpreter=python) as bench:
        project, procedure = bench.procedure([("bare", {"shell": python, "command": "pass"}),
                                              bench.link_step()])
        bare, cached, first = [], [], []
        agent_dirs = os.path.join(bench.emulator.workspace_root, "plugins", "*", "agent")
        for _ in range(rounds):
            job = bench.run(project, procedure)
            bare.append(bench.step_seconds(job["jobId"], "bare"))
            cached.append(bench.step_seconds(job["jobId"], "createRestartLink"))
            for folder in glob.glob(agent_dirs):
                shutil.rmtree(folder)
            job = bench.run(project, procedure)
            assert job["outcome"] == "success", job["outcome"]
            first.append(bench.step_seconds(job["jobId"], "createRestartLink"))
    b, c, f = median(bare), median(cached), median(first)
    say(f"python -c pass {b * 1000:.1f} ms; CreateRestartLink {c * 1000:.1f} ms cached, {f * 1000:.1f} ms at "
        f"first use (medians of {rounds}, {python})")
    result("CreateRestartLink step process over a bare `python3 -c pass`",
           f"{c / b:.1f}× cached, {f / b:.1f}× first use ({(c - b) * 1000:.0f} ms and "
           f"{(f - b) * 1000:.0f} ms more)", f"≤ {CACHED:g}× cached, ≤ {FIRST_USE:g}× first use",
           c / b <= CACHED and f / b <= FIRST_USE, bare_ms=b * 1000, cached_ms=c * 1000,
           first_use_ms=f * 1000)


if __name__ == "__main__":
    main()
