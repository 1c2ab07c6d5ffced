"""A server that accepts and never answers: every wait is bounded, and the failure is one line naming it.

- `ec-resume` with `--timeout 1` (or COMMANDER_TIMEOUT=1), run as a program, against a socket that
  accepts connections and never answers (conftest's `silent_server`): it returns, exit 1, one line
  "cannot reach <server>: ...".
- Inside a job step, where the CLI uses the step's own session, and in a plugin step (CreateRestartLink,
  with the plugin property resume/timeout set low), the emulator answers the job read only after long
  latency (an injected fault): the step ends with one line naming the server.
No test measures wall-clock time; each wait has a generous bound (subprocess and job timeouts) so that
a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import find_step, unique
from restart_support import PLUGIN, plugin_setting, raw_property

LIB = str(Path(__file__).resolve().parents[2] / "lib")
GUARD = 60  # seconds: only a hang reaches it
SLOW_READ = {"api": "getJobDetails", "latency": 4, "count": 20}  # longer than any timeout used here


def run_cli(argv: List[str], env: Dict[str, str]) -> subprocess.CompletedProcess:
    """`ec-resume` as a separate program, the way a terminal or a scheduler runs it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("COMMANDER_")}
    return subprocess.run([sys.executable, "-m", "ec_resume.cli", *argv], capture_output=True, text=True,
                          env={**base, "PYTHONPATH": LIB, **env}, timeout=GUARD)


def finished_under_fault(api: Any, job_id: str) -> Dict[str, Any]:
    """Wait for the job by its status alone, then clear the faults and read it (the read is what is slow)."""
    deadline = time.monotonic() + GUARD
    while api.rest("GET", f"jobs/{job_id}", params={"request": "getJobStatus"})["status"] != "completed":
        assert time.monotonic() < deadline, f"job {job_id} hangs"
        time.sleep(0.05)
    api.control("DELETE", "faults")
    return api.wait_for_job(job_id)


def assert_one_line_naming(err: str, server: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert f"cannot reach {server}" in lines[0], lines[0]
    assert "Traceback" not in err and "pw-never-shown" not in err


@pytest.mark.parametrize("command", [["status", "job_1"], ["plan", "job_1"], ["restart", "job_1"]])
def test_the_cli_gives_up_on_a_silent_server_with_one_line(silent_server, command):
    by_flag = run_cli(["--server", silent_server, "--user", "u", "--timeout", "1", *command],
                      {"COMMANDER_PASSWORD": "pw-never-shown"})
    assert by_flag.returncode == 1 and by_flag.stdout == ""
    assert_one_line_naming(by_flag.stderr, silent_server)
    by_env = run_cli(command, {"COMMANDER_URL": silent_server, "COMMANDER_USER": "u",
                               "COMMANDER_PASSWORD": "pw-never-shown", "COMMANDER_TIMEOUT": "1"})
    assert by_env.returncode == 1
    assert_one_line_naming(by_env.stderr, silent_server)


@pytest.mark.emulator_only
def test_the_cli_inside_a_job_step_gives_up_on_a_slow_answer(api, server, ec_resume, tmp_path):
    project = unique("SlowStep")
    out = tmp_path.as_posix()
    cli = f"PYTHONPATH={LIB} COMMANDER_TIMEOUT=1 {sys.executable} -m ec_resume.cli status $[/myJob/jobId]"
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Main', {{
    step 'ask', command: '''{cli} > {out}/cli.out 2> {out}/cli.err; echo $? > {out}/cli.code'''
  }}
}}
""")
    api.control("POST", "faults", json=SLOW_READ)
    job = finished_under_fault(api, api.run_procedure(project, "Main", {}))
    assert job["outcome"] == "success"
    assert (tmp_path / "cli.code").read_text().strip() == "1"
    err = (tmp_path / "cli.err").read_text()
    assert len(err.splitlines()) == 1 and "cannot reach" in err and "no answer within" in err, err
    assert (tmp_path / "cli.out").read_text() == ""


@pytest.mark.emulator_only
def test_a_plugin_step_gives_up_on_a_slow_answer(api: Any, server, ec_resume):
    project = unique("SlowLink")
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'work', command: 'true'
    step 'restart links', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
""")
    with plugin_setting(api, "timeout", "1"):
        api.control("POST", "faults", json=SLOW_READ)
        job = finished_under_fault(api, api.run_procedure(project, "Main", {}))
    step = find_step(job, "restart links", "createRestartLink")
    assert step["outcome"] == "error"
    summary = raw_property(api, "summary", jobStepId=step["jobStepId"]) or ""
    assert len(summary.splitlines()) == 1 and "cannot reach" in summary, summary
    # The setting is back: the same procedure, run again, puts its links on the job.
    again = api.run_and_wait(project, "Main", {}, timeout=GUARD)
    assert find_step(again, "restart links", "createRestartLink")["outcome"] == "success"
