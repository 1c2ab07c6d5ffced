"""Figure: round trips to the server of one CreateRestartLink step, at 1, 10 and 100 parameters.

Counted from the emulator's request log (its `exchange` entries: one per HTTP round trip, an XML API
batch being one), for the session of the job the step runs in, bootstrap included, with the agent code
already cached. Also shown: a step in a job that resumes another (it writes the lineage on both jobs).
Counts are deterministic: tests/plugin/test_call_counts.py pins them.
"""

from __future__ import annotations

from support import bench_server, result, say

SIZES = (1, 10, 100)
TARGET = 4


def link_job(bench, parameters: int, resumed: bool = False) -> int:
    names = ["jobToRestart"] + [f"param{n}" for n in range(1, parameters)]
    project, procedure = bench.procedure([("work", {"command": "true"}), bench.link_step()], params=names)
    values = {name: f"value of {name}" for name in names[1:]}
    first = bench.run(project, procedure, {"jobToRestart": "", **values})
    bench.clear_log()
    job = first
    if resumed:
        job = bench.follow(first["jobId"])
    else:
        job = bench.run(project, procedure, {"jobToRestart": "", **values})
    assert job["outcome"] == "success", job["outcome"]
    return bench.exchanges(job["jobId"])


def main() -> None:
    with bench_server() as bench:
        counts = {size: link_job(bench, size) for size in SIZES}
        resumed = link_job(bench, 10, resumed=True)
    say(f"round trips of one CreateRestartLink step by parameters: {counts}; in a resumed job: {resumed}")
    constant = len(set(counts.values())) == 1
    worst = max(counts.values())
    value = " / ".join(str(counts[s]) for s in SIZES) + f" ({resumed} in a job that resumes another)"
    result("API round trips of one CreateRestartLink step, at 1, 10 and 100 parameters", value,
           f"≤ {TARGET}, constant", constant and worst <= TARGET, counts=counts, resumed=resumed)


if __name__ == "__main__":
    main()
