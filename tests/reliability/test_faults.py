"""Plugin steps under faults: a fifth of the idempotent calls of every plugin step fail (HTTP 503 or a
dropped connection) and one in twenty stalls past the client's per-attempt timeout, from a seed
(the emulator's chaos, on job step sessions only). Every run must still complete correctly; what ran
is counted from the jobs and the request log, never from timings."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import RUN_CONDITION, as_list, find_step, unique
from lossless_support import restart_by_link, tool
from restart_support import (
    PLUGIN,
    RESTARTER,
    mark,
    plugin_setting,
    report_urls,
    run_request_count,
    step_summaries,
)

from tests.reliability.reliability_support import in_parallel

pytestmark = pytest.mark.emulator_only

RUNS = 100
RC = RUN_CONDITION
# resume/timeout 15 s: an attempt that is not the last gives up after 1.9 s, and a stall holds 2 s.
TIMEOUT, STALL = "15", 2.0
CHAOS = {"rate": 0.2, "stallRate": 0.05, "stall": STALL, "stepsOnly": True}


def release_dsl(project: str, m: Path) -> str:
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    formalParameter 'version', defaultValue: '1.0', type: 'entry'
    step 'build', command: '''{mark(m, 'build')}''', condition: '{RC}'
    step 'deploy', command: '''{mark(m, 'deploy')}; exit 1''', condition: '{RC}'
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
{RESTARTER}
}}
"""


@contextmanager
def chaos(api: Any, seed: int) -> Iterator[Dict[str, int]]:
    """Chaos on for the block (with the plugin's timeout short); the dict it yields is filled with what
    fired when the block ends."""
    fired: Dict[str, int] = {}
    with plugin_setting(api, "timeout", TIMEOUT):
        api.control("PUT", "chaos", json={**CHAOS, "seed": seed})
        try:
            yield fired
        finally:
            state = api.control("GET", "chaos")["chaos"]
            api.control("DELETE", "chaos")
            fired.update({k: int(v) for k, v in state.get("fired", {}).items()})


def restart_link_parameters(api: Any, job_id: str) -> Dict[str, str]:
    query = dict(parse_qsl(urlsplit(report_urls(api, job_id)["Restart this job"]).query))
    return {query[f"parameters{i}_name"]: query[f"parameters{i}_value"]
            for i in range(1, int(query["numParameters"]) + 1)}


def assert_faults_fired(fired: Mapping[str, int]) -> None:
    calls = sum(fired.values())
    assert fired.get("error", 0) and fired.get("drop", 0) and fired.get("stall", 0), fired
    assert 0.1 < (fired["error"] + fired["drop"]) / calls < 0.3, fired  # about a fifth, as asked


def test_create_restart_link_completes_in_every_run(api: Any, ec_resume: str, tmp_path: Path) -> None:
    project = unique("FaultLink")
    api.call("evalDsl", dsl=release_dsl(project, tmp_path))

    def one(index: int) -> Dict[str, Any]:
        return api.run_and_wait(project, "Main", {"version": f"1.{index}"}, timeout=120)

    with chaos(api, seed=11) as fired:
        jobs = in_parallel(one, list(range(RUNS)))
    failures = []
    for index, job in enumerate(jobs):
        link_step = find_step(job, "restart link", "createRestartLink")
        if link_step["outcome"] != "success":
            failures.append((job["jobName"], step_summaries(api, job)))
            continue
        assert restart_link_parameters(api, job["jobId"]) == {"jobToRestart": job["jobId"],
                                                              "version": f"1.{index}"}
        assert "Run all steps again" in report_urls(api, job["jobId"])
        assert api.get_property(f"/jobs/{job['jobId']}/ec_resume/failedStep") == "deploy"
    assert failures == []
    assert_faults_fired(fired)
    assert (tmp_path / "build").read_text().count("run") == RUNS  # each job ran build once


def test_restart_job_restarts_each_job_exactly_once(api: Any, ec_resume: str, tmp_path: Path) -> None:
    project = unique("FaultRestart")
    api.call("evalDsl", dsl=release_dsl(project, tmp_path))
    failed = in_parallel(lambda i: api.run_and_wait(project, "Main", {}, timeout=120), list(range(RUNS)))
    launches_before = run_request_count(api)
    with chaos(api, seed=23) as fired:
        runners = in_parallel(lambda job: api.run_and_wait(project, "Restarter", {"target": job["jobId"]},
                                                           timeout=180), failed)
    bad = [(r["jobName"], step_summaries(api, r)) for r in runners if r["outcome"] != "success"]
    assert bad == []
    launched = [api.get_property(f"/jobs/{r['jobId']}/ec_resume/launched") for r in runners]
    assert len(set(launched)) == RUNS and all(launched)
    # one runProcedure per Restarter job and one per restart: nothing launched twice
    assert run_request_count(api) - launches_before == 2 * RUNS
    for job, new_id in zip(failed, launched):
        new_job = api.wait_for_job(new_id, timeout=120)
        assert api.get_property(f"/jobs/{new_id}/ec_resume/resumes") == job["jobId"]
        assert find_step(new_job, "build")["outcome"] == "skipped"  # the restart resumed, did not rerun
    assert_faults_fired(fired)


def carry_over_dsl(project: str, m: Path, tool: str) -> str:
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    formalParameter 'version', defaultValue: '', type: 'entry'
    step 'carry over', subprocedure: 'CarryOver', {PLUGIN}
    step 'build', command: '''{tool} prop /myJob/built v$[version] && {mark(m, 'build')}''',
      condition: '{RC}'
    step 'deploy', condition: '{RC}',
      command: '''{mark(m, 'deploy')}; test -f {m.as_posix()}.fixed &&
        test "$[/myJob/built]" = "v$[version]"'''
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
"""


def test_the_carry_over_completes_in_every_run(api: Any, server: Any, ec_resume: str,
                                               tmp_path: Path) -> None:
    """What build set in the failed job reaches deploy in each of 100 restarts through the link, while the
    plugin steps (CarryOver, CreateRestartLink) meet the faults; build never runs again."""

    m = tmp_path / "markers"
    m.mkdir()
    project = unique("FaultCarry")
    api.call("evalDsl", dsl=carry_over_dsl(project, m, tool(m)))
    failed = in_parallel(lambda i: api.run_and_wait(project, "Main", {"version": str(i)}, timeout=120),
                         list(range(RUNS)))
    assert all(job["outcome"] == "error" for job in failed)
    Path(f"{m}.fixed").touch()
    with chaos(api, seed=31) as fired:
        resumed = in_parallel(lambda job: restart_by_link(api, server, job), failed)
    bad = [(job["jobName"], step_summaries(api, job)) for job in resumed if job["outcome"] != "success"]
    assert bad == []
    for i, job in enumerate(resumed):
        assert api.get_property(f"/jobs/{job['jobId']}/built") == f"v{i}"
        assert find_step(job, "build")["outcome"] == "skipped"
    assert (m / "build").read_text().count("run") == RUNS  # build ran once per chain, never again
    assert (m / "deploy").read_text().count("run") == 2 * RUNS
    assert_faults_fired(fired)


def test_enable_resume_completes_in_every_run(api: Any, ec_resume: str) -> None:
    """100 procedures adopted by EnableResume while its calls meet the faults: each ends resumable."""
    project = unique("FaultEnable")
    procedures = "\n".join(f"""  procedure 'P{i}', {{
    step 'build', command: 'true'
    step 'test', command: 'true'
  }}""" for i in range(RUNS))
    api.call("evalDsl", dsl=f"project '{project}', {{\n{procedures}\n}}")
    plugin = api.get_property("/plugins/EC-Resume/project/projectName")
    with chaos(api, seed=41) as fired:
        jobs = in_parallel(lambda i: api.run_and_wait(plugin, "EnableResume", {
            "projectName": project, "procedureName": f"P{i}"}, timeout=180), list(range(RUNS)))
    bad = [(job["jobName"], step_summaries(api, job)) for job in jobs if job["outcome"] != "success"]
    assert bad == []
    for i in range(RUNS):
        where = {"projectName": project, "procedureName": f"P{i}"}
        steps = {s["stepName"]: s for s in as_list(api.call("getSteps", **where)["step"])}
        assert steps["build"]["condition"] == RC and steps["test"]["condition"] == RC, i
        formals = [p["formalParameterName"] for p in as_list(
            api.call("getFormalParameters", **where).get("formalParameter"))]
        assert "jobToRestart" in formals, i
    assert_faults_fired(fired)
