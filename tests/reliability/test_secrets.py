"""No secret leaks: session ids, passwords and credential values never appear in a step log, a summary,
a link, a property, the CLI's output or the server's log. The test runs a resume end to end with a
credential parameter (the link, CreateRestartLink, RestartJob, and the CLI's status, plan and restart
with --wait) and then scans everything those jobs and commands printed or stored."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List
from urllib.parse import quote

import pytest
from conftest import RUN_CONDITION, unique
from restart_support import PLUGIN, RESTARTER, cli_env, mark

from tests.reliability.reliability_support import run_cli

RC = RUN_CONDITION
CREDENTIAL_PASSWORD = "cred-S3cr3t-value-81f"
STORED_PASSWORD = "stored-S3cr3t-value-42c"

pytestmark = pytest.mark.emulator_only


def dsl(project: str, m: Path) -> str:
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    formalParameter 'deployCredential', type: 'credential', required: '0'
    formalParameter 'note', defaultValue: 'plain', type: 'entry'
    step 'build', command: '''{mark(m, 'build')}''', condition: '{RC}'
    step 'deploy', command: '''{mark(m, 'deploy')}; test -f {m.as_posix()}.fixed''', condition: '{RC}'
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
{RESTARTER}
}}
"""


def cli(*argv: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return run_cli(*argv, env=env, text=True)


def every_property(api: Any, path: str) -> Iterator[str]:
    """Every name and value below `path`, nested sheets included."""
    answer = api.call("getProperties", path=path, recurse="1", expand="0")
    stack: List[Any] = [answer.get("propertySheet", answer)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif node is not None:
            yield str(node)


def test_no_secret_reaches_a_log_a_summary_a_link_a_property_or_the_output(
        api: Any, server: Any, ec_resume: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    m = tmp_path / "markers"
    m.mkdir()
    project = unique("Secrets")
    api.call("evalDsl", dsl=dsl(project, m))
    api.call("createCredential", projectName=project, credentialName="vault", userName="deployer",
             password=STORED_PASSWORD)
    env = cli_env(server)
    credential = {"credentialName": "deployCredential", "userName": "deployer",
                  "password": CREDENTIAL_PASSWORD}
    first = api.run_and_wait(project, "Main", {"deployCredential": "deployCredential"},
                             credentials=[credential])
    assert first["outcome"] == "error"
    outputs = [cli("status", first["jobId"], env=env), cli("plan", first["jobId"], "--json", env=env)]
    Path(f"{m}.fixed").touch()
    outputs.append(cli("restart", first["jobId"], "--wait", env=env))
    runner = api.run_and_wait(project, "Restarter", {"target": first["jobId"]})
    outputs.append(cli("status", runner["jobId"], env=env))
    outputs.append(cli("plan", first["jobId"], "--server", server.url, "--user", "admin", env={
        "COMMANDER_PASSWORD": "wrong-" + server.password}))  # a failed login says so, no secret

    secrets = {"admin password": server.password, "credential password": CREDENTIAL_PASSWORD,
               "stored credential password": STORED_PASSWORD, "admin session": api.session_id}
    jobs = api.control("GET", f"jobs?projectName={quote(project)}")["job"]
    secrets.update({f"session of {job['jobName']}": job["sessionId"] for job in jobs if job["sessionId"]})
    assert len(jobs) >= 4 and sum(1 for what in secrets if what.startswith("session of")) >= 4

    texts: Dict[str, str] = {}
    for i, result in enumerate(outputs):
        texts[f"CLI run {i} (exit {result.returncode})"] = result.stdout + result.stderr
    for job in jobs:
        texts[f"properties of {job['jobName']}"] = "\n".join(every_property(api, f"/jobs/{job['jobId']}"))
        if job["workspace"] and Path(job["workspace"]).is_dir():
            for log in Path(job["workspace"]).rglob("*"):
                if log.is_file():
                    texts[f"{job['jobName']}: {log.name}"] = log.read_text(errors="replace")
    texts["test process log"] = caplog.text
    texts["server log"] = "\n".join(server.output)
    assert any("Restart this job" in text for text in texts.values())  # the scan saw the links
    assert any(name.endswith(".log") for name in texts)  # ... and the step logs
    leaks = [f"{what} in {where}" for where, text in texts.items() for what, secret in secrets.items()
             if secret and secret in text]
    assert leaks == []
