"""Figure: CarryOver of 10,000 job properties, beside 10, in one run: the round trips of the resumed
job's CarryOver step (from the emulator's request log, the job's session, the link step's subtracted as
measured in a job that carries nothing) and the time of its process."""

from __future__ import annotations

import os

from support import PLUGIN_PROJECT, QUICK, RUN_CONDITION, bench_server, median, repetitions, result, say

SIZES = (10, 10000)


def procedure(bench, marker: str):
    return bench.procedure([
        ("carry over", {"subprocedure": "CarryOver", "subproject": PLUGIN_PROJECT}),
        ("work", {"command": f"test -e '{marker}'", "condition": RUN_CONDITION}),
        bench.link_step()])


def carried(bench, project: str, procedure_name: str, marker: str, count: int):
    """(round trips of the resumed job, seconds of its CarryOver process)."""
    if os.path.exists(marker):
        os.unlink(marker)
    first = bench.run(project, procedure_name)
    assert first["outcome"] == "error", first["outcome"]
    if count:
        bench.api.xml_batch([("setProperty", {"propertyName": f"/jobs/{first['jobId']}/bulk/p{n}",
                                              "value": f"value {n}"}) for n in range(count)])
    open(marker, "w").close()
    bench.clear_log()
    job = bench.follow(first["jobId"])
    assert job["outcome"] == "success", job["outcome"]
    last = bench.api.get_property(f"/jobs/{job['jobId']}/bulk/p{count - 1}") if count else None
    assert not count or last == f"value {count - 1}", last
    return bench.exchanges(job["jobId"]), bench.step_seconds(job["jobId"], "carryOver")


def main() -> None:
    sizes = (10, 1000) if QUICK else SIZES
    rounds = repetitions()
    with bench_server() as bench:
        marker = bench.emulator.workspace_root + "/fixed"
        project, procedure_name = procedure(bench, marker)
        trips, seconds = {s: [] for s in (0, *sizes)}, {s: [] for s in (0, *sizes)}
        for _ in range(rounds):
            for size in (0, *sizes):
                t, s = carried(bench, project, procedure_name, marker, size)
                trips[size].append(t)
                seconds[size].append(s)
    small, big = sizes
    own = {size: max(trips[size]) - max(trips[0]) for size in sizes}  # the CarryOver step's alone, roughly
    say(f"resumed job's round trips: {dict((k, max(v)) for k, v in trips.items())}; CarryOver process "
        + ", ".join(f"{k} properties {median(v):.2f} s" for k, v in seconds.items()))
    # Bounded: 1,000 times the properties, not one more round trip than a retry under load can add.
    bounded = max(trips[big]) <= max(trips[small]) + 1
    result(f"CarryOver of {big:,} job properties",
           f"{max(trips[big])} round trips for the resumed job at {big:,} and at {small} properties; "
           "the step "
           f"{median(seconds[big]):.2f} s at {big:,}, {median(seconds[small]):.2f} s at {small}",
           "bounded calls; report calls and time", bounded, trips={k: max(v) for k, v in trips.items()},
           seconds={k: median(v) for k, v in seconds.items()}, carry_over_trips=own)


if __name__ == "__main__":
    main()
