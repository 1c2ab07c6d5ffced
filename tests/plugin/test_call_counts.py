"""Round trips to the server, pinned: they are deterministic, unlike timings (bench/ measures those).

Counted from the emulator's request log: one `exchange` per HTTP round trip, an XML API batch being one,
each with the job whose session sent it. bench/link_calls.py and bench/plan_calls.py report the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
from conftest import RUN_CONDITION, find_step, unique
from restart_support import (
    PLUGIN,
    RESTARTER,
    Cli,
    cli_env,
    follow_restart_link,
    launched_by,
    plugin_setting,
    raw_property,
    report_urls,
    run_restart_job,
)

# Settings batch, getJobDetails, what the job names in one batch, the writes; in a job that resumes
# another too: the job it resumes and the lineage's reads go in the third, the lineage's writes (the create
# of resumedBy/<job> among them) in the fourth.
LINK_STEP_TRIPS = 4


def _procedure(api: Any, parameters: int, steps: str = "    step 'work', command: 'true'\n") -> str:
    project = unique("Counts")
    extra = "".join(f"    formalParameter 'p{n}', defaultValue: 'v{n}', type: 'entry'\n"
                    for n in range(1, parameters))
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
{extra}{steps}    step 'restart links', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
{RESTARTER}
}}
""")
    return project


def _resumable_steps(flag: Path) -> str:
    """Two steps under the run condition, the second failing until `flag` exists: a resumed job skips the
    first, so the plan in its summary follows the chain back to the job it resumes."""
    return (f"    step 'done', command: 'true', condition: '{RUN_CONDITION}'\n"
            f"    step 'work', command: 'test -f {flag.as_posix()}', condition: '{RUN_CONDITION}'\n")


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
@pytest.mark.parametrize("parameters", [1, 10, 100])
def test_the_link_step_of_a_resumed_job_takes_as_many_round_trips_as_a_first_job(api, server, ec_resume,
                                                                                   tmp_path, parameters):
    project = _procedure(api, parameters, _resumable_steps(tmp_path / "fixed"))
    first = api.run_and_wait(project, "Main", {})
    assert first["outcome"] == "error"
    (tmp_path / "fixed").touch()
    api.control("DELETE", "requests")
    second = follow_restart_link(api, server, report_urls(api, first["jobId"])["Restart this job"])
    assert second["outcome"] == "success"
    assert find_step(second, "done")["outcome"] == "skipped"
    assert _trips(api, second) == LINK_STEP_TRIPS, parameters
    assert raw_property(api, f"/jobs/{first['jobId']}/ec_resume/resumedBy/{second['jobId']}") == "link"
    assert report_urls(api, first["jobId"]).get(f"Resumed by {second['jobName']}")
    assert report_urls(api, second["jobId"]).get(f"Resumes {first['jobName']}")
    summary = raw_property(api, "summary",
                           jobStepId=find_step(second, "restart links", "createRestartLink")["jobStepId"])
    assert f"This job resumes {first['jobName']}." in (summary or ""), summary


@pytest.mark.emulator_only
def test_the_link_step_of_a_job_restart_job_launched_keeps_its_word_in_four_round_trips(api, ec_resume,
                                                                                         tmp_path):
    project = _procedure(api, 10, _resumable_steps(tmp_path / "fixed"))
    first = api.run_and_wait(project, "Main", {})
    later_link = unique("later")
    api.call("setProperty", propertyName=f"/jobs/{first['jobId']}/report-urls/Resumed by {later_link}",
             value="/somewhere")  # an older "Resumed by" link, which the lineage moves
    (tmp_path / "fixed").touch()
    api.control("DELETE", "requests")
    second = launched_by(api, run_restart_job(api, project, first["jobId"]))
    assert second["outcome"] == "success"
    assert _trips(api, second) == LINK_STEP_TRIPS
    assert raw_property(api, f"/jobs/{first['jobId']}/ec_resume/resumedBy/{second['jobId']}") == "RestartJob"
    back = [name for name in report_urls(api, first["jobId"]) if name.startswith("Resumed by ")]
    assert back == [f"Resumed by {second['jobName']}"], back


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
