"""Figure: round trips to the server of `ec-resume plan JOB`, at 10, 100 and 1,000 steps.

The CLI runs in this process against the emulator, logging in with a user and password as from a
workstation; the round trips are counted from the emulator's request log (login included). The job's
last step failed; every step carries the run condition. tests/plugin/test_call_counts.py pins them.
"""

from __future__ import annotations

import contextlib
import io

from support import QUICK, RUN_CONDITION, bench_server, result, say

SIZES = (10, 100, 1000)
TARGET = 3


def plan_round_trips(bench, steps: int) -> int:
    from ec_resume import cli

    definition = [(f"step {n}", {"command": "true" if n < steps else "false", "condition": RUN_CONDITION})
                  for n in range(1, steps + 1)]
    project, procedure = bench.procedure(definition)
    job = bench.run(project, procedure)
    assert job["outcome"] == "error", job["outcome"]
    out, err = io.StringIO(), io.StringIO()
    bench.clear_log()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["plan", job["jobId"], "--json"],
                        {"COMMANDER_URL": bench.emulator.url, "COMMANDER_USER": bench.emulator.admin_user,
                         "COMMANDER_PASSWORD": bench.emulator.admin_password})
    trips = bench.exchanges()
    assert code == 0, err.getvalue()
    return trips


def main() -> None:
    sizes = SIZES[:2] if QUICK else SIZES
    with bench_server() as bench:
        counts = {size: plan_round_trips(bench, size) for size in sizes}
    say(f"round trips of ec-resume plan by steps: {counts}")
    constant = len(set(counts.values())) == 1
    result("API round trips of `ec-resume plan`, at 10, 100 and 1,000 steps (login included)",
           " / ".join(str(counts[s]) for s in sizes), f"≤ {TARGET}, constant",
           constant and max(counts.values()) <= TARGET, counts=counts)


if __name__ == "__main__":
    main()
