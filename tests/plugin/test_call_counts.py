"""Round trips to the server, pinned: they are deterministic, unlike timings (bench/ measures those).

Counted from the emulator's request log: one `exchange` per HTTP round trip, an XML API batch being one,
each with the job whose session sent it. bench/link_calls.py and bench/plan_calls.py report the same.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest
from conftest import RUN_CONDITION, find_step, unique
from restart_support import (
    PLUGIN,
    Cli,
    cli_env,
    follow_restart_link,
    plugin_setting,
    raw_property,
    report_urls,
)

LINK_STEP_TRIPS = 4  # settings batch, getJobDetails, what the job names in one batch, the writes
LINK_STEP_TRIPS_RESUMED = 7  # and the job it resumes: its record, and the lineage written on it


def _procedure(api: Any, parameters: int) -> str:
    project = unique("Counts")
    extra = "".join(f"    formalParameter 'p{n}', defaultValue: 'v{n}', type: 'entry'\n"
                    for n in range(1, parameters))
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
{extra}    step 'work', command: 'true'
    step 'restart links', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
""")
    return project


def _trips(api: Any, job: Dict[str, Any]) -> int:
    return sum(1 for e in api.control("GET", "requests")["exchange"] if e["jobId"] == job["jobId"])


@pytest.mark.emulator_only
def test_a_create_restart_link_step_takes_four_round_trips_whatever_the_parameters(api, ec_resume):
    warm = _procedure(api, 1)
    api.run_and_wait(warm, "Main", {})  # the agent code is cached from here on
    for parameters in (1, 10, 100):
        project = _procedure(api, parameters)
        api.control("DELETE", "requests")
        job = api.run_and_wait(project, "Main", {})
        assert find_step(job, "restart links", "createRestartLink")["outcome"] == "success"
        assert _trips(api, job) == LINK_STEP_TRIPS, parameters
        assert set(report_urls(api, job["jobId"])) == {"Restart this job", "Run all steps again"}


@pytest.mark.emulator_only
def test_the_link_step_of_a_resumed_job_takes_a_bounded_number_of_round_trips(api, server, ec_resume):
    project = _procedure(api, 10)
    first = api.run_and_wait(project, "Main", {})
    api.control("DELETE", "requests")
    second = follow_restart_link(api, server, report_urls(api, first["jobId"])["Restart this job"])
    assert find_step(second, "restart links", "createRestartLink")["outcome"] == "success"
    assert _trips(api, second) <= LINK_STEP_TRIPS_RESUMED
    assert report_urls(api, first["jobId"]).get(f"Resumed by {second['jobName']}")


PLAN_TRIPS = 3  # login, getJobDetails, one batch of what the plan reads


@pytest.mark.emulator_only
def test_ec_resume_plan_takes_three_round_trips_whatever_the_steps(api, server, ec_resume):
    cli = Cli(cli_env(server))
    for steps in (10, 100):
        project = unique("PlanCounts")
        lines = "".join(f"    step 's{n}', command: '{'true' if n < steps else 'false'}', "
                        f"condition: '{RUN_CONDITION}'\n" for n in range(1, steps + 1))
        api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
{lines}    step 'restart links', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
""")
        job = api.run_and_wait(project, "Main", {}, timeout=120)
        api.control("DELETE", "requests")
        plan = cli.plan(job["jobId"])
        log = api.control("GET", "requests")
        assert len(log["exchange"]) == PLAN_TRIPS, (steps, log["request"])
        assert [line["action"] for line in plan["steps"] if line["path"] == f"s{steps}"] == ["run"]
        assert sum(1 for line in plan["steps"] if line["action"] == "skip") == steps - 1


@pytest.mark.emulator_only
def test_a_link_step_that_fails_once_its_writes_are_held_still_writes_its_summary(api, ec_resume):
    project = _procedure(api, 1)
    with plugin_setting(api, "linkTemplate", "/x?{nope}"):
        job = api.run_and_wait(project, "Main", {})
    step = find_step(job, "restart links", "createRestartLink")
    assert step["outcome"] == "error"
    summary = raw_property(api, "summary", jobStepId=step["jobStepId"]) or ""
    assert summary.startswith("CreateRestartLink: ") and "{nope}" in summary, summary
    assert raw_property(api, f"/jobs/{job['jobId']}/ec_resume/failedAt") == "none"
