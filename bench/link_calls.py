"""Figure: round trips to the server of one CreateRestartLink step, at 1, 10 and 100 parameters.

Counted from the emulator's request log (its `exchange` entries: one per HTTP round trip, an XML API
batch being one), for the session of the job the step runs in, bootstrap included, with the agent code
already cached. Also counted: the step in a job that resumes another through its restart link (it writes
the lineage on both jobs, and its plan follows the chain back to the job resumed, whose first step it
skipped). Counts are deterministic: tests/plugin/test_call_counts.py pins them.
"""

from __future__ import annotations

import os

from support import RUN_CONDITION, bench_server, result, say

SIZES = (1, 10, 100)
TARGET = 4


def link_job(bench, parameters: int, resumed: bool = False) -> int:
    names = ["jobToRestart"] + [f"param{n}" for n in range(1, parameters)]
    flag = os.path.join(bench.emulator.workspace_root, bench.unique("fixed"))
    steps = [("done", {"command": "true", "condition": RUN_CONDITION}),
             ("work", {"command": f"test -e '{flag}'", "condition": RUN_CONDITION}), bench.link_step()]
    project, procedure = bench.procedure(steps, params=names)
    values = {name: f"value of {name}" for name in names[1:]}
    first = bench.run(project, procedure, {"jobToRestart": "", **values})  # fails at "work"
    open(flag, "w").close()
    bench.clear_log()
    if resumed:
        job = bench.follow(first["jobId"])
    else:
        job = bench.run(project, procedure, {"jobToRestart": "", **values})
    assert job["outcome"] == "success", job["outcome"]
    return bench.exchanges(job["jobId"])


def main() -> None:
    with bench_server() as bench:
        counts = {size: link_job(bench, size) for size in SIZES}
        resumed = {size: link_job(bench, size, resumed=True) for size in SIZES}
    say(f"round trips of one CreateRestartLink step by parameters: {counts}; in a resumed job: {resumed}")
    constant = len(set(counts.values()) | set(resumed.values())) == 1
    worst = max(max(counts.values()), max(resumed.values()))
    value = (" / ".join(str(counts[s]) for s in SIZES) + " (" + " / ".join(str(resumed[s]) for s in SIZES)
             + " in a job that resumes another)")
    result("API round trips of one CreateRestartLink step, at 1, 10 and 100 parameters", value,
           f"≤ {TARGET}, constant, resumed or not", constant and worst <= TARGET, counts=counts,
           resumed=resumed)


if __name__ == "__main__":
    main()
