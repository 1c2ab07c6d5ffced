"""Lossless resume, properties: a CarryOver step first in the procedure brings the resumed job's custom
properties and output parameters into the new job, and gives the steps the resume skips what they had,
when the restart comes through the stored link. Markers prove that `build` ran once; 10,000 properties
carry over in as many round trips as ten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest
from conftest import RUN_CONDITION, as_list, find_step, unique
from lossless_support import PLUGIN, marker_count, raw, restart_by_link, tool
from restart_support import Cli, cli_env


def _procedure(project: str, m: Path, build_extra: str = "") -> str:
    t = tool(m)
    mm = m.as_posix()
    return f"""
project '{project}', {{
  procedure 'Release', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    formalParameter 'flavour', defaultValue: 'plain', type: 'entry'
    step 'carry over', subprocedure: 'CarryOver', {PLUGIN}
    step 'build', condition: '{RUN_CONDITION}', command: '''set -e
{t} mark {mm}/build
{t} prop /myJob/version 1.2.3
{t} prop /myJob/meta/arch 'x86 64'
{t} prop /myJobStep/note 'built by build'
{t} prop /myJobStep/summary 'built 1.2.3'
{t} output artifact app-1.2.3.tar.gz
{build_extra}'''
    step 'deploy', condition: '{RUN_CONDITION}', command: '''set -e
{t} mark {mm}/deploy
{t} fail-unless {mm}/fixed
printf '%s|%s|%s|%s|%s' '$[/myJob/version]' '$[/myJob/meta/arch]' '$[/myJob/jobSteps/build/note]' \\
  '$[/myJob/outputParameters/artifact]' '$[/myJob/flavour]' > {mm}/deployed'''
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
"""


@pytest.fixture
def markers(ec_resume: str, tmp_path: Path) -> Path:
    path = tmp_path / "m"
    path.mkdir()
    return path


def _first_failed(api: Any, project: str, m: Path, build_extra: str = "", **params: str) -> Dict[str, Any]:
    api.call("evalDsl", dsl=_procedure(project, m, build_extra))
    job = api.run_and_wait(project, "Release", params)
    assert find_step(job, "deploy")["outcome"] == "error", job
    return job


def test_job_properties_and_skipped_steps_carry_over_through_the_stored_link(api, server, markers):
    m = markers
    project = unique("Lossless")
    first = _first_failed(api, project, m, flavour="salted")
    api.call("setProperty", propertyName=f"/jobs/{first['jobId']}/literal", value="$[/not/expanded]",
             expandable="0")
    (m / "fixed").write_text("yes")
    second = restart_by_link(api, server, first)
    assert second["outcome"] == "success", second
    assert find_step(second, "build")["outcome"] == "skipped"
    assert marker_count(m, "build") == 1 and marker_count(m, "deploy") == 2
    # deploy read the version, the nested sheet, the skipped step's property and output parameter
    assert (m / "deployed").read_text() == "1.2.3|x86 64|built by build|app-1.2.3.tar.gz|salted"
    job2 = second["jobId"]
    assert raw(api, f"/jobs/{job2}/literal") == "$[/not/expanded]"

    # provenance: on the skipped step (a property and its summary) and on the CarryOver step
    build = find_step(second, "build")
    reused = raw(api, "ec_resume/reusedFrom", jobStepId=build["jobStepId"])
    assert first["jobName"] in reused and "step build" in reused and "note" in reused
    summary = raw(api, "summary", jobStepId=build["jobStepId"])
    assert summary.startswith("built 1.2.3\n") and "Reused from" in summary and first["jobId"] in summary
    carry = find_step(second, "carry over", "carryOver")
    line = raw(api, "ec_resume/reusedFrom", jobStepId=carry["jobStepId"])
    assert "version" in line and "meta/arch" in line and "artifact" in line
    assert "jobToRestart" not in line and "flavour" not in line and "report-urls" not in line
    sheet = api.call("getProperties", path=f"/jobs/{job2}/ec_resume/reused", expand="0")["propertySheet"]
    records = {p["propertyName"]: json.loads(p["value"]) for p in as_list(sheet["property"])}
    assert set(records) == {carry["jobStepId"], build["jobStepId"]}  # the CarryOver step and build
    job_level, step_level = records[carry["jobStepId"]], records[build["jobStepId"]]
    # each copied value names the job (and, for a step's, the step) it came from
    assert sorted(job_level["properties"]) == ["literal", "meta/arch", "version"]
    assert job_level["outputParameters"] == ["artifact"]
    assert (job_level["sourceJobId"], job_level["sourceStep"]) == (first["jobId"], "")
    assert step_level["properties"] == ["note"] and step_level["summary"] is True
    assert (step_level["sourceJobId"], step_level["sourceStep"], step_level["step"]) == (
        first["jobId"], "build", "build")


def test_a_property_the_new_job_set_itself_is_kept_and_a_fresh_run_copies_nothing(api, server, markers):
    m = markers
    project = unique("Lossless")
    first = _first_failed(api, project, m)
    fresh = api.run_and_wait(project, "Release", {})
    carry = find_step(fresh, "carry over", "carryOver")
    assert "nothing to carry over" in raw(api, "summary", jobStepId=carry["jobStepId"])
    (m / "fixed").write_text("yes")
    second = restart_by_link(api, server, first)
    # build was skipped, so the version is the first job's; a third job that sets its own keeps it
    assert raw(api, f"/jobs/{second['jobId']}/version") == "1.2.3"


def test_three_chained_resumes_keep_every_value_and_name_the_first_job(api, server, markers):
    m = markers
    project = unique("Lossless")
    first = _first_failed(api, project, m)
    second = restart_by_link(api, server, first)  # deploy still broken
    assert second["outcome"] == "error"
    third = restart_by_link(api, server, second)
    assert third["outcome"] == "error"
    (m / "fixed").write_text("yes")
    fourth = restart_by_link(api, server, third)
    assert fourth["outcome"] == "success"
    assert marker_count(m, "build") == 1 and marker_count(m, "deploy") == 4
    assert (m / "deployed").read_text().startswith("1.2.3|x86 64|built by build|app-1.2.3.tar.gz")
    build = find_step(fourth, "build")
    assert first["jobName"] in raw(api, "ec_resume/reusedFrom", jobStepId=build["jobStepId"])
    carry = find_step(fourth, "carry over", "carryOver")
    line = raw(api, "ec_resume/reusedFrom", jobStepId=carry["jobStepId"])
    assert third["jobName"] in line and f"first set in job {first['jobId']}" in line


@pytest.mark.emulator_only
def test_ten_thousand_properties_carry_over_in_as_many_round_trips_as_ten(api, server, markers):
    """The CarryOver step's round trips to the server do not grow with the number of properties."""
    exchanges = {}
    for count in (10, 10000):
        m = markers / str(count)
        m.mkdir()
        project = unique("Lossless")
        first = _first_failed(api, project, m)
        api.xml_batch([("setProperty", {"propertyName": f"/jobs/{first['jobId']}/bulk/p{n}",
                                        "value": f"value {n}"}) for n in range(count)])
        (m / "fixed").write_text("yes")
        api.control("DELETE", "requests")
        second = restart_by_link(api, server, first)
        assert second["outcome"] == "success"
        carry = find_step(second, "carry over", "carryOver")
        log = api.control("GET", "requests")["exchange"]
        exchanges[count] = sum(1 for e in log if e["jobId"] == second["jobId"])
        last = raw(api, f"/jobs/{second['jobId']}/bulk/p{count - 1}")
        assert last == f"value {count - 1}"
        assert f"{count + 2} properties" in raw(api, "summary", jobStepId=carry["jobStepId"])
    assert exchanges[10000] == exchanges[10], exchanges


def test_status_shows_what_was_reused_and_a_source_job_that_no_longer_exists(api, server, markers):
    m = markers
    project = unique("Lossless")
    first = _first_failed(api, project, m)
    (m / "fixed").write_text("yes")
    second = restart_by_link(api, server, first)
    cli = Cli(cli_env(server))
    shown = cli("status", second["jobId"])
    assert shown.code == 0, shown.err
    reused = [line for line in shown.out.splitlines() if line.startswith("reused in ")]
    assert len(reused) == 2 and all(first["jobName"] in line for line in reused), shown.out
    assert any(line.startswith("reused in build: Reused from") and "step build" in line for line in reused)
    assert shown.out.splitlines()[-1].startswith("outcome: success")

    api.call("deleteJob", jobId=first["jobId"])
    after = cli("status", second["jobId"], "--json").json()
    assert {r["sourceJobExists"] for r in after["reused"]} == {False}
    text = cli("status", second["jobId"]).out
    assert f"The source job {first['jobId']} no longer exists" in text
    # a restart naming the deleted job carries nothing over, and says so
    again = api.run_and_wait(project, "Release", {"jobToRestart": first["jobId"]})
    carry = find_step(again, "carry over", "carryOver")
    assert carry["outcome"] == "warning"
    summary = raw(api, "summary", jobStepId=carry["jobStepId"])
    assert "names no job that exists: nothing carried over" in summary
    assert marker_count(m, "build") == 2  # nothing to resume from: build ran again


def test_a_skipped_subprocedure_call_gets_its_properties_but_not_its_parameters_as_properties(
        api, server, markers):
    m, t = markers, tool(markers)
    project = unique("Lossless")
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Pack', {{
    formalParameter 'format', defaultValue: '', type: 'entry'
    step 'pack', command: '''{t} mark {m.as_posix()}/pack && {t} prop /myParent/packed '$[format] done' '''
  }}
  procedure 'Release', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'carry over', subprocedure: 'CarryOver', {PLUGIN}
    step 'package', subprocedure: 'Pack', condition: '{RUN_CONDITION}', {{
      actualParameter 'format', 'zip'
    }}
    step 'deploy', condition: '{RUN_CONDITION}', command: '''{t} fail-unless {m.as_posix()}/fixed &&
printf '%s' '$[/myJob/jobSteps/package/packed]' > {m.as_posix()}/packed'''
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}""")
    first = api.run_and_wait(project, "Release", {})
    assert find_step(first, "deploy")["outcome"] == "error"
    (m / "fixed").write_text("yes")
    second = restart_by_link(api, server, first)
    assert second["outcome"] == "success" and marker_count(m, "pack") == 1
    assert (m / "packed").read_text() == "zip done"
    package = find_step(second, "package")
    custom = api.call("getProperties", jobStepId=package["jobStepId"], expand="0")["propertySheet"]
    names = {p["propertyName"] for p in as_list(custom.get("property"))}
    assert "packed" in names and "format" not in names, names
