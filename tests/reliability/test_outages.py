"""The server gone for good, a session that expires mid-run, and many restarts of one job at once.

Counted from the emulator's request log and the jobs, never from timings: a call that cannot succeed is
tried a bounded number of times, a 401 is tried once, and of many concurrent restarts exactly one
launches."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import RUN_CONDITION, find_step, unique
from restart_support import PLUGIN, RESTARTER, cli_env, mark, run_request_count, step_summaries

from tests.reliability.reliability_support import in_parallel, run_cli

RC = RUN_CONDITION
ATTEMPTS = 10  # the client's bound on the tries of one idempotent call
GONE = ["getJobDetails", "getProperty", "getProperties", "setProperty", "getFormalParameters", "getSteps"]

pytestmark = pytest.mark.emulator_only


def dsl(project: str, m: Path) -> str:
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'build', command: '''{mark(m, 'build')}''', condition: '{RC}'
    step 'deploy', command: '''{mark(m, 'deploy')}; exit 1''', condition: '{RC}'
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
{RESTARTER}
}}
"""


@pytest.fixture
def project(api: Any, ec_resume: str, tmp_path: Path) -> str:
    name = unique("Outage")
    api.call("evalDsl", dsl=dsl(name, tmp_path))
    return name


def step_log_path(api: Any, step: Dict[str, Any]) -> str:
    """Where the emulator keeps a job step's log (its control endpoint: no API names the file's place)."""
    jobs = api.control("GET", "jobs")["job"]
    return next(s["logPath"] for job in jobs if job["jobId"] == step["jobId"] for s in job["jobStep"]
                if s["jobStepId"] == step["jobStepId"])


def per_api(api: Any) -> Dict[str, int]:
    return {k: int(v) for k, v in api.control("GET", "requests")["count"].items()}


def test_plugin_steps_give_up_on_a_server_gone_for_good_in_one_line_leaving_no_link(
        api: Any, server: Any, project: str) -> None:
    """Every call of the plugin steps loses its connection: each step fails with one line naming the
    server and what was tried, after a bounded number of tries, and sets no link."""
    api.run_and_wait(project, "Main", {})  # the agent code is cached: the steps' own code meets the outage
    api.call("setProperty", propertyName="/plugins/EC-Resume/project/resume/timeout", value="3")
    try:
        api.control("DELETE", "requests")
        api.control("PUT", "chaos", json={"rate": 1, "errorCode": "ServerNotReady", "drop": False,
                                          "stepsOnly": True, "apis": GONE})
        job = api.run_and_wait(project, "Main", {})
        runner = api.run_and_wait(project, "Restarter", {"target": job["jobId"]})
        fired = api.control("GET", "chaos")["chaos"]["fired"]
    finally:
        api.control("DELETE", "chaos")
        api.call("deleteProperty", propertyName="/plugins/EC-Resume/project/resume/timeout")
    for step in (find_step(job, "restart link", "createRestartLink"),
                 find_step(runner, "restart", "restartJob")):
        assert step["outcome"] == "error"
        # The summary cannot be written either: the step's log says it, in one line.
        log = Path(step_log_path(api, step)).read_text()
        lines = [line for line in log.splitlines() if "ServerNotReady" in line and ": warning:" not in line]
        assert len(lines) == 1 and "Traceback" not in log, log
        assert "the server refused" not in lines[0], lines[0]  # a server that keeps failing refused nothing
        assert server.url in lines[0] and "tried" in lines[0], lines[0]
    assert api.get_property(f"/jobs/{job['jobId']}/report-urls/Restart this job") is None
    assert int(fired.get("error", "0")) >= 2
    counts = per_api(api)
    # Bounded: the two steps together tried no API more than ATTEMPTS times each (and the test's own
    # waiting asked for each job's details once).
    assert all(counts.get(name, 0) <= 2 * ATTEMPTS + 2 for name in GONE), counts
    assert counts.get("runProcedure", 0) == 2  # the two jobs under chaos; RestartJob launched nothing


def test_the_cli_gives_up_on_a_closed_port_in_one_line_naming_the_server() -> None:
    env = {"COMMANDER_URL": "http://127.0.0.1:9", "COMMANDER_USER": "admin", "COMMANDER_PASSWORD": "pw"}
    for argv in (["status", "job_1"], ["plan", "job_1"], ["restart", "job_1", "--wait"]):
        result = run_cli(*argv, "--timeout", "2", env=env, text=True, timeout=60)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot reach http://127.0.0.1:9" in lines[0], result.stderr
        assert "tried POST /rest/v1.0/sessions" in lines[0] and "refused a request" not in lines[0]
        assert "pw" not in result.stderr.replace("POST", "")


def test_a_session_that_expires_mid_run_is_one_clear_error_and_no_retry_storm(api: Any, project: str) -> None:
    api.control("DELETE", "requests")
    api.control("PUT", "chaos", json={"rate": 1, "errorCode": "InvalidSession", "drop": False,
                                      "stepsOnly": True, "apis": ["getJobDetails"]})
    try:
        job = api.run_and_wait(project, "Main", {})
        fired = api.control("GET", "chaos")["chaos"]["fired"]
    finally:
        api.control("DELETE", "chaos")
    link = find_step(job, "restart link", "createRestartLink")
    assert link["outcome"] == "error"
    summary = step_summaries(api, job)["restart link/jobSteps/createRestartLink"]
    assert "InvalidSession" in summary and "\n" not in summary.strip()
    assert fired == {"error": "1"}  # the plugin step asked once: a 401 is never retried


def test_of_twenty_concurrent_restarts_of_one_job_exactly_one_launches(api: Any, server: Any,
                                                                       project: str) -> None:
    job = api.run_and_wait(project, "Main", {})
    before = run_request_count(api)
    results: List[subprocess.CompletedProcess] = in_parallel(
        lambda _: run_cli("restart", job["jobId"], "--json", env=cli_env(server), text=True), range(20))
    codes = sorted(r.returncode for r in results)
    launched = [r for r in results if r.returncode == 0]
    refused = [r for r in results if r.returncode == 3]
    assert len(launched) + len(refused) == 20, [(r.returncode, r.stderr) for r in results]
    assert len(launched) >= 1 and run_request_count(api) - before == len(launched), codes
    assert all("already being restarted" in r.stderr for r in refused)
    # Each command that said it launched started its own job, and each of those resumes the job.
    new_ids = [json.loads(r.stdout)["newJobId"] for r in launched]
    assert len(set(new_ids)) == len(new_ids)
    assert all(api.get_property(f"/jobs/{i}/jobToRestart") == job["jobId"] for i in new_ids)
