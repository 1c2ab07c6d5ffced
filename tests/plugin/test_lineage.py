"""Lineage on both jobs, across a chain of three, whether each restart came from the stored link, from
`ec-resume restart` or from the RestartJob procedure.

The new job N: `/jobs/N/ec_resume/resumes` = the job it resumes, `/jobs/N/ec_resume/chainRoot` = the first
job of the chain (kept by a restart of a restart), and a report-urls link "Resumes <label>" to it.
The old job R: `/jobs/R/ec_resume/resumedBy/<N>` for each job that resumed it (its value says how), and a
report-urls link "Resumed by <label>" to the latest one. Every stored link is clicked exactly as stored
through the emulator's UI routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
from conftest import RUN_CONDITION, unique
from restart_support import (
    PLUGIN,
    RESTARTER,
    Cli,
    cli_env,
    click,
    counts,
    follow_restart_link,
    launched_by,
    mark,
    parameters,
    property_sheet,
    report_urls,
    run_restart_job,
)

RESUMES, RESUMED_BY = "Resumes ", "Resumed by "
JOB_PAGE = "/commander/link/jobDetails/jobs/"


def chain_dsl(project: str, m: Path) -> str:
    """`two` fails in the first two jobs (until the flag exists); every job ends with the link step."""
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'one', command: '''{mark(m, 'one')}''', condition: '{RUN_CONDITION}'
    step 'two', command: '''{mark(m, 'two')}; test -f {m.as_posix()}/fixed.flag''',
      condition: '{RUN_CONDITION}'
    step 'restart links', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
{RESTARTER}
}}
"""


def ec_resume_props(api: Any, job_id: str) -> Dict[str, str]:
    return {name: api.get_property(f"/jobs/{job_id}/ec_resume/{name}") or ""
            for name in ("resumes", "chainRoot")}


def resumed_by(api: Any, job_id: str) -> Dict[str, str]:
    """/jobs/<job>/ec_resume/resumedBy: new job id -> how."""
    return property_sheet(api, f"/jobs/{job_id}/ec_resume/resumedBy")


def links_starting(api: Any, job_id: str, prefix: str) -> Dict[str, str]:
    return {name: url for name, url in report_urls(api, job_id).items() if name.startswith(prefix)}


def assert_link_to(api: Any, server: Any, url: str, job: Dict[str, Any]) -> None:
    """A lineage link names the job's page and, clicked as stored, opens that job's page."""
    assert url.endswith(JOB_PAGE + job["jobId"]), url
    page = click(api, server, url)
    assert page.status_code == 200 and job["jobId"] in page.text, (page.status_code, page.text[:200])


def assert_lineage(api: Any, server: Any, jobs: List[Dict[str, Any]], how: List[str]) -> None:
    """jobs[k+1] resumed jobs[k] (by how[k]); both ends say so, and the root is jobs[0]."""
    root = jobs[0]["jobId"]
    assert ec_resume_props(api, root) == {"resumes": "", "chainRoot": ""}
    assert links_starting(api, root, RESUMES) == {}
    for k, (old, new) in enumerate(zip(jobs, jobs[1:])):
        assert parameters(new)["jobToRestart"] == old["jobId"]
        assert ec_resume_props(api, new["jobId"]) == {"resumes": old["jobId"], "chainRoot": root}, k
        back = links_starting(api, new["jobId"], RESUMES)
        assert list(back) == [RESUMES + old["jobName"]], back
        assert_link_to(api, server, back[RESUMES + old["jobName"]], old)

        assert resumed_by(api, old["jobId"]) == {new["jobId"]: how[k]}
        forward = links_starting(api, old["jobId"], RESUMED_BY)
        assert list(forward) == [RESUMED_BY + new["jobName"]], forward
        assert_link_to(api, server, forward[RESUMED_BY + new["jobName"]], new)


@pytest.fixture
def chain(api, server, ec_resume, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    project = unique("Lineage")
    api.call("evalDsl", dsl=chain_dsl(project, markers))
    return project, markers


def by_link(api: Any, server: Any, _project: str, job: Dict[str, Any]) -> Dict[str, Any]:
    return follow_restart_link(api, server, report_urls(api, job["jobId"])["Restart this job"])


def by_cli(api: Any, server: Any, _project: str, job: Dict[str, Any]) -> Dict[str, Any]:
    return api.wait_for_job(Cli(cli_env(server)).restart(job["jobId"]))


def by_restart_job(api: Any, _emulator: Any, project: str, job: Dict[str, Any]) -> Dict[str, Any]:
    return launched_by(api, run_restart_job(api, project, job["jobId"]))


HOW: Dict[str, Callable[..., Dict[str, Any]]] = {"link": by_link, "ec-resume": by_cli,
                                                 "RestartJob": by_restart_job}


@pytest.mark.parametrize("hows", [["link", "link"], ["ec-resume", "ec-resume"], ["link", "RestartJob"]],
                         ids=lambda hows: "-".join(hows))
def test_a_chain_of_three_records_lineage_on_both_ends(api, server, chain, hows):
    project, m = chain
    jobs = [api.run_and_wait(project, "Main", {})]
    for k, how in enumerate(hows):
        if k == len(hows) - 1:
            (m / "fixed.flag").touch()  # the last restart succeeds
        jobs.append(HOW[how](api, server, project, jobs[-1]))
    assert [j["outcome"] for j in jobs] == ["error", "error", "success"]
    assert counts(m) == {"one": 1, "two": 3}
    assert_lineage(api, server, jobs, hows)


def test_the_old_job_links_to_the_latest_of_the_jobs_that_resumed_it(api, server, chain):
    project, _m = chain
    first = api.run_and_wait(project, "Main", {})
    earlier = by_cli(api, server, project, first)
    later = by_link(api, server, project, first)
    assert resumed_by(api, first["jobId"]) == {earlier["jobId"]: "ec-resume", later["jobId"]: "link"}
    forward = links_starting(api, first["jobId"], RESUMED_BY)
    assert list(forward) == [RESUMED_BY + later["jobName"]], forward
    assert_link_to(api, server, forward[RESUMED_BY + later["jobName"]], later)
    for new in (earlier, later):
        assert ec_resume_props(api, new["jobId"]) == {"resumes": first["jobId"], "chainRoot": first["jobId"]}
