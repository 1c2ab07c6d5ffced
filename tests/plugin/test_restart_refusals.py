"""Each refusal of issue 8, by `ec-resume restart` (exit 3, one line) and by the RestartJob procedure (an
error outcome, the line in its step summary), and the emulator's request log shows that nothing was
launched: no runProcedure beyond the one that started the RestartJob job itself.

Refusals: a job still running; a job that does not exist; a procedure without `jobToRestart`; a
procedure that no longer exists; the job running RestartJob itself; a second restart while the first
holds the claim on the job; a required credential parameter that cannot be carried. A credential
parameter that names a stored credential travels instead (issue 14).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
from conftest import RUN_CONDITION, unique
from restart_support import (
    EXIT_REFUSED,
    PLUGIN,
    RESTARTER,
    Cli,
    CliResult,
    cli_env,
    counts,
    launched_by,
    mark,
    parameters,
    run_request_count,
    run_restart_job,
    step_summaries,
)

LIB = str(Path(__file__).resolve().parents[2] / "lib")
LOCK = "/jobs/{}/ec_resume/restartLock"

pytestmark = pytest.mark.emulator_only


def shop_dsl(project: str, m: Path) -> str:
    gate = f"{m.as_posix()}/open.flag"
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'build', command: '''{mark(m, 'build')}''', condition: '{RUN_CONDITION}'
    step 'test', command: '''{mark(m, 'test')}; exit 1''', condition: '{RUN_CONDITION}'
  }}
  procedure 'Slow', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'wait', command: '''while [ ! -f {gate} ]; do sleep 0.05; done'''
  }}
  procedure 'NoParam', {{
    step 'build', command: '''{mark(m, 'noparam')}; exit 1'''
  }}
  procedure 'Gone', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'build', command: 'exit 1'
  }}
  procedure 'Secret', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    formalParameter 'deployCredential', type: 'credential', required: '1'
    step 'build', command: '''{mark(m, 'secret')}; exit 1''', condition: '{RUN_CONDITION}'
  }}
{RESTARTER}
  procedure 'RestartMyself', {{
    step 'restart', subprocedure: 'RestartJob', {PLUGIN}, {{
      actualParameter 'jobId', '$[/myJob/jobId]'
    }}
  }}
}}
"""


@pytest.fixture
def shop(api, server, ec_resume, tmp_path) -> Tuple[Any, Cli, str, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    project = unique("Refuse")
    api.call("evalDsl", dsl=shop_dsl(project, markers))
    return api, Cli(cli_env(server)), project, markers


def assert_cli_refuses(api: Any, result: CliResult, fragment: str) -> None:
    assert result.code == EXIT_REFUSED, result
    assert result.out == "", result
    assert len(result.err.splitlines()) == 1 and fragment in result.err, result.err
    assert "Traceback" not in result.err


def assert_restart_job_refuses(api: Any, job: Dict[str, Any], fragment: str) -> None:
    assert job["outcome"] == "error", job["outcome"]
    summaries = step_summaries(api, job)
    assert any(fragment in text for text in summaries.values()), summaries


def refused_everywhere(api: Any, cli: Cli, project: str, ref: str, fragment: str) -> None:
    """The CLI and RestartJob both refuse `ref` with `fragment`; only the RestartJob job was launched."""
    api.control("DELETE", "requests")
    assert_cli_refuses(api, cli("restart", ref), fragment)
    assert run_request_count(api) == 0
    assert_restart_job_refuses(api, run_restart_job(api, project, ref), fragment)
    assert run_request_count(api) == 1  # the Restarter job; RestartJob launched nothing


def test_a_job_that_is_still_running(shop):
    api, cli, project, m = shop
    running = api.run_procedure(project, "Slow", {})
    try:
        refused_everywhere(api, cli, project, running, "is still running")
    finally:
        (m / "open.flag").touch()
    api.wait_for_job(running)


def test_a_job_that_does_not_exist(shop):
    api, cli, project, _m = shop
    refused_everywhere(api, cli, project, "no-such-job-4711", "not found")


def test_a_procedure_without_job_to_restart(shop):
    api, cli, project, m = shop
    job = api.run_and_wait(project, "NoParam", {})
    refused_everywhere(api, cli, project, job["jobId"], "has no 'jobToRestart' parameter")
    assert counts(m) == {"noparam": 1}


def test_a_procedure_that_no_longer_exists(shop):
    api, cli, project, _m = shop
    job = api.run_and_wait(project, "Gone", {})
    api.call("deleteProcedure", projectName=project, procedureName="Gone")
    refused_everywhere(api, cli, project, job["jobId"], "no longer exists")


def test_the_job_running_restart_job(shop):
    api, _cli, project, _m = shop
    api.control("DELETE", "requests")
    job = api.run_and_wait(project, "RestartMyself", {}, timeout=60)
    assert_restart_job_refuses(api, job, "is the job running RestartJob")
    assert run_request_count(api) == 1


def test_a_required_credential_parameter_cannot_be_carried(shop):
    api, cli, project, m = shop
    credential = {"credentialName": "deployCredential", "userName": "deployer", "password": "pw-7&x"}
    job = api.run_and_wait(project, "Secret", {"deployCredential": "deployCredential"},
                           credentials=[credential])
    assert job["outcome"] == "error"
    refused_everywhere(api, cli, project, job["jobId"], "credential parameter")
    assert counts(m) == {"secret": 1}


def test_a_credential_parameter_naming_a_stored_credential_travels(shop):
    api, cli, project, m = shop
    api.call("createCredential", projectName=project, credentialName="vault", userName="deployer",
             password="pw-stored")
    stored = f"/projects/{project}/credentials/vault"
    args = {"projectName": project, "procedureName": "Secret",
            "credentialReferenceParameters": [{"name": "deployCredential", "value": stored}]}
    job = api.wait_for_job(api.rest("POST", "jobs", params={"request": "runProcedure"}, json=args)["jobId"])
    assert parameters(job)["deployCredential"] == stored
    new_job = api.wait_for_job(cli.restart(job["jobId"]))
    assert parameters(new_job)["deployCredential"] == stored
    assert parameters(new_job)["jobToRestart"] == job["jobId"]
    assert counts(m) == {"secret": 2}  # the failed step ran again


def background_restart(env: Dict[str, str], job_id: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ec_resume.cli", "restart", job_id, "--json"],
                            env={**os.environ, **env, "PYTHONPATH": LIB}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_property(api: Any, path: str, bound: float = 30) -> str:
    deadline = time.monotonic() + bound
    while True:
        value = api.get_property(path)
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_a_second_restart_while_the_first_holds_the_job(shop):
    api, cli, project, _m = shop
    first = api.run_and_wait(project, "Main", {})
    api.control("DELETE", "requests")
    # The first restart's launch takes a while, so the second comes while the first holds its claim.
    api.control("POST", "faults", json={"api": "runProcedure", "latency": 2, "count": 1})
    holder = background_restart(cli.env, first["jobId"])
    try:
        claim = wait_for_property(api, LOCK.format(first["jobId"]))
        assert_cli_refuses(api, cli("restart", first["jobId"]), "is already being restarted")
    finally:
        out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    assert run_request_count(api) == 1  # the first restart's launch, and nothing else
    assert api.get_property(LOCK.format(first["jobId"])) is None  # the claim ends with the launch

    # RestartJob honours the same claim: a fresh one refuses, one older than 10 minutes is taken over.
    again = api.run_and_wait(project, "Main", {})
    lock = LOCK.format(again["jobId"])
    api.call("setProperty", propertyName=lock, value=claim)
    refused_everywhere(api, cli, project, again["jobId"], "is already being restarted")
    stale = re.sub(r"\b(20\d\d)\b", lambda y: str(int(y.group(1)) - 1), claim, count=1)
    assert stale != claim, f"no year in the claim {claim!r}"
    api.call("setProperty", propertyName=lock, value=stale)
    new_job = launched_by(api, run_restart_job(api, project, again["jobId"]))
    assert parameters(new_job)["jobToRestart"] == again["jobId"]
    assert api.get_property(lock) is None
