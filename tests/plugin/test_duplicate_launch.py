"""No duplicate launch: a runProcedure whose reply is lost after the server acted never leads to a
second job. With the emulator's fault {"api": "runProcedure", "dropAfter": true} armed for every launch,
`ec-resume restart` runs 100 times, each against a fresh failed job; afterwards getJobs shows exactly
one job per jobToRestart, each the one the CLI reported, and the request log shows 100 launches.
"""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import unique
from restart_support import Cli, cli_env, parameters, run_request_count

RESTARTS = 100

pytestmark = pytest.mark.emulator_only


def test_a_lost_launch_reply_never_leads_to_a_second_job(api, server, ec_resume, tmp_path):
    project = unique("Lost")
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Tiny', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'fail', command: 'exit 1'
  }}
}}
""")
    failed = [api.run_procedure(project, "Tiny", {}) for _ in range(RESTARTS)]
    for job_id in failed:
        assert api.wait_for_job(job_id)["outcome"] == "error"

    cli = Cli(cli_env(server))
    api.control("DELETE", "requests")
    api.control("POST", "faults", json={"api": "runProcedure", "dropAfter": True, "count": RESTARTS})
    reported = {}
    for job_id in failed:
        result = cli("restart", job_id, "--json")
        assert result.code == 0, result  # the launched job was found, not launched again
        reported[job_id] = result.json()["newJobId"]
    assert api.control("GET", "faults")["fault"] == []  # every launch lost its reply
    assert run_request_count(api) == RESTARTS  # and none was retried

    jobs = api.call("getJobs", projectName=project, procedureName="Tiny")["job"]
    per_target = Counter(parameters(job).get("jobToRestart", "") for job in jobs)
    duplicates = {target: n for target, n in per_target.items() if target and n > 1}
    assert duplicates == {}
    assert per_target[""] == RESTARTS and sum(per_target.values()) == 2 * RESTARTS
    launched = {parameters(job)["jobToRestart"]: job["jobId"] for job in jobs}
    launched.pop("")
    assert launched == reported
    for job_id in reported.values():
        api.wait_for_job(job_id)
