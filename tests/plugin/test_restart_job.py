"""The RestartJob procedure on the emulator: overrides, a start step and a dry run reach the new job, the
plan is in the step summary before anything starts, and the new job is named on the RestartJob job."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest
from conftest import RUN_CONDITION, find_step, unique
from restart_support import RESTARTER, counts, mark, parameters, raw_property, report_urls


def shop_dsl(project: str, m: Path) -> str:
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    formalParameter 'greeting', defaultValue: 'hi', type: 'entry'
    step 'build', command: '''{mark(m, 'build')}''', condition: '{RUN_CONDITION}'
    step 'greet', command: '''echo '$[greeting]' >> {m.as_posix()}/greetings''', condition: '{RUN_CONDITION}'
    step 'test', command: '''{mark(m, 'test')}; test -f {m.as_posix()}/fixed.flag''',
      condition: '{RUN_CONDITION}'
  }}
{RESTARTER}
}}
"""


@pytest.fixture
def shop(api, ec_resume, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    project = unique("RestartJob")
    api.call("evalDsl", dsl=shop_dsl(project, markers))
    return project, markers


def summary_of(api: Any, runner: Dict[str, Any]) -> str:
    step = find_step(runner, "restart", "restartJob")
    return raw_property(api, "summary", jobStepId=step["jobStepId"]) or ""


def test_a_dry_run_puts_the_plan_in_the_summary_and_starts_nothing(api, shop):
    project, m = shop
    failed = api.run_and_wait(project, "Main", {})
    runner = api.run_and_wait(project, "Restarter", {"target": failed["jobId"], "dryRun": "true"}, timeout=60)
    assert runner["outcome"] == "success"
    summary = summary_of(api, runner)
    assert summary.startswith("Dry run: nothing started.")
    assert "skip" in summary and "build" in summary and "test" in summary
    assert api.get_property(f"/jobs/{runner['jobId']}/ec_resume/launched") is None
    assert counts(m) == {"build": 1, "greetings": 1, "test": 1}


def test_overrides_and_a_start_step_reach_the_new_job_which_is_named_on_the_runner(api, shop):
    project, m = shop
    failed = api.run_and_wait(project, "Main", {})
    (m / "fixed.flag").touch()
    runner = api.run_and_wait(project, "Restarter", {"target": failed["jobId"], "fromStep": "greet",
                                                     "overrides": "greeting=yo = ok\n\n"}, timeout=60)
    assert runner["outcome"] == "success", summary_of(api, runner)
    new_id = api.get_property(f"/jobs/{runner['jobId']}/ec_resume/launched")
    new = api.wait_for_job(new_id)
    assert new["outcome"] == "success"
    assert parameters(new) == {"jobToRestart": failed["jobId"], "greeting": "yo = ok"}
    assert counts(m) == {"build": 1, "test": 2, "greetings": 2}  # greet ran again from the start step
    assert (m / "greetings").read_text().splitlines() == ["hi", "yo = ok"]
    links = report_urls(api, runner["jobId"])
    assert links == {f"Restarted as {new['jobName']}": f"/commander/link/jobDetails/jobs/{new_id}"}
    summary = summary_of(api, runner)
    assert summary.startswith(f"Started {new['jobName']}, restarting {project}/Main job {failed['jobId']}.")


def test_a_malformed_override_is_one_line_and_starts_nothing(api, shop):
    project, m = shop
    failed = api.run_and_wait(project, "Main", {})
    runner = api.run_and_wait(project, "Restarter", {"target": failed["jobId"], "overrides": "greeting"},
                              timeout=60)
    assert runner["outcome"] == "error"
    assert summary_of(api, runner) == "RestartJob: parameters line 'greeting': expected NAME=VALUE"
    assert counts(m) == {"build": 1, "greetings": 1, "test": 1}
