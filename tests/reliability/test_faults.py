"""Plugin steps under faults: a fifth of the idempotent calls of every plugin step fail (HTTP 503 or a
dropped connection) and one in twenty stalls past the client's per-attempt timeout, from a seed
(the emulator's chaos, on job step sessions only). Every run must still complete correctly; what ran
is counted from the jobs and the request log, never from timings."""

from __future__ import annotations

import concurrent.futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import find_step, unique
from restart_support import (
    PLUGIN,
    RESTARTER,
    mark,
    plugin_setting,
    report_urls,
    run_request_count,
    step_summaries,
)

pytestmark = pytest.mark.emulator_only

RUNS = 100
PARALLEL = 20
RC = "$[/plugins/EC-Resume/project/resume/runCondition]"
# resume/timeout 10 s: an attempt that is not the last gives up after 2 s, and a stall holds 2.5 s.
TIMEOUT, STALL = "10", 2.5
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


def in_parallel(work: Any, items: List[Any]) -> List[Any]:
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(work, items))


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
