"""Lossless resume, files: ResumableStep's `outputs` are recorded with size and SHA-256 when the command
succeeds, restored into the resumed job's workspace and checked before any later step runs; a changed or
deleted file makes the command run again, with the reason in the call's summary. At the top level and
inside a subprocedure, under nested folders and with odd names; through the stored link; markers count
how often `build` ran."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
from conftest import RUN_CONDITION, find_step, unique
from lossless_support import PLUGIN, marker_count, raw, restart_by_link, tool
from restart_support import AGENT_PYTHON

ODD = "nested dir/ü (1) [x] #é.txt"
MAKE = ("import os; os.makedirs('dist/nested dir', exist_ok=True); "
        "open('dist/app-1.2.3.tar.gz', 'wb').write(os.urandom(40000)); "
        f"open('dist/{ODD}', 'w').write('odd ' + os.urandom(4).hex())")


def _procedure(project: str, m: Path, nested: bool) -> str:
    t, mm = tool(m), m.as_posix()
    call_path = "stage/jobSteps/build" if nested else "build"
    build = f"""step 'build', subprocedure: 'ResumableStep', {PLUGIN}, {{
      actualParameter 'command', '''set -e
{t} mark {mm}/build
{AGENT_PYTHON} -c "{MAKE}"
{t} prop /myJob/version 1.2.3
{t} output artifact app-1.2.3.tar.gz'''
      actualParameter 'outputs', '''dist/*.tar.gz
dist/nested dir/**'''
    }}"""
    deploy = f"""step 'deploy', condition: '{RUN_CONDITION}', command: '''set -e
{t} mark {mm}/deploy
n=$(wc -l < {mm}/deploy)
cp dist/app-$[/myJob/version].tar.gz {mm}/deployed-$n
cp "dist/{ODD}" {mm}/odd-$n
printf '%s' '$[/myJob/jobSteps/{call_path}/outputParameters/artifact]' > {mm}/artifact-$n
{t} fail-unless {mm}/fixed'''"""
    top = "step 'stage', subprocedure: 'Stage'" if nested else build
    inner = f"procedure 'Stage', {{\n    {build}\n  }}" if nested else ""
    return f"""
project '{project}', {{
  {inner}
  procedure 'Release', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'carry over', subprocedure: 'CarryOver', {PLUGIN}
    {top}
    {deploy}
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
"""


@pytest.fixture
def markers(ec_resume: str, tmp_path: Path) -> Path:
    path = tmp_path / "m"
    path.mkdir()
    return path


def _build_path(nested: bool) -> Tuple[str, ...]:
    return ("stage", "build") if nested else ("build",)


def _first(api: Any, m: Path, nested: bool) -> Dict[str, Any]:
    project = unique("LosslessFiles")
    api.call("evalDsl", dsl=_procedure(project, m, nested))
    job = api.run_and_wait(project, "Release", {})
    assert find_step(job, "deploy")["outcome"] == "error", job
    assert marker_count(m, "build") == 1
    return job


def _manifest(api: Any, job: Dict[str, Any], nested: bool) -> Dict[str, Any]:
    call = find_step(job, *_build_path(nested))
    return json.loads(raw(api, "ec_resume/outputs", jobStepId=call["jobStepId"]))


@pytest.mark.parametrize("nested", [False, True], ids=["top level", "inside a subprocedure"])
def test_outputs_come_back_byte_for_byte_and_build_runs_once(api, server, markers, nested):
    m = markers
    first = _first(api, m, nested)
    manifest = _manifest(api, first, nested)
    assert sorted(f["path"] for f in manifest["files"]) == ["dist/app-1.2.3.tar.gz", f"dist/{ODD}"]
    (m / "fixed").write_text("yes")
    second = restart_by_link(api, server, first)
    assert second["outcome"] == "success", second
    call = find_step(second, *_build_path(nested))
    assert find_step(second, *_build_path(nested), "runCommand")["outcome"] == "skipped"
    assert call["outcome"] == "skipped"
    assert marker_count(m, "build") == 1 and marker_count(m, "deploy") == 2
    assert (m / "deployed-2").read_bytes() == (m / "deployed-1").read_bytes()
    assert (m / "odd-2").read_text() == (m / "odd-1").read_text()
    assert (m / "artifact-2").read_text() == "app-1.2.3.tar.gz"
    # provenance: the call step's property and summary name the job, the step and the files
    reused = raw(api, "ec_resume/reusedFrom", jobStepId=call["jobStepId"])
    assert first["jobName"] in reused and "/".join(_build_path(nested)).replace("/", "/jobSteps/") in reused
    assert "2 files, checked by SHA-256" in reused and "artifact" in reused
    assert "Reused from" in raw(api, "summary", jobStepId=call["jobStepId"])
    record = json.loads(raw(api, f"/jobs/{second['jobId']}/ec_resume/reused/{call['jobStepId']}"))
    assert {f["sha256"] for f in record["files"]} == {f["sha256"] for f in manifest["files"]}
    assert record["sourceJobId"] == first["jobId"]


@pytest.mark.parametrize("damage", ["changed", "deleted"])
def test_a_kept_file_changed_or_deleted_between_the_jobs_makes_build_run_again(api, server, markers,
                                                                               damage):
    m = markers
    first = _first(api, m, nested=False)
    manifest = _manifest(api, first, nested=False)
    kept = Path(manifest["keep"]) / "dist" / "app-1.2.3.tar.gz"
    if damage == "changed":
        kept.write_bytes(kept.read_bytes()[:-1] + b"!")
    else:
        kept.unlink()
    (m / "fixed").write_text("yes")
    second = restart_by_link(api, server, first)
    assert second["outcome"] == "success", second
    assert marker_count(m, "build") == 2, "build must run again"
    call = find_step(second, "build")
    summary = raw(api, "summary", jobStepId=call["jobStepId"])
    assert "runs again" in summary and "dist/app-1.2.3.tar.gz" in summary
    assert ("changed since it was recorded" if damage == "changed" else "missing") in summary
    assert (m / "deployed-2").read_bytes() != (m / "deployed-1").read_bytes()  # the fresh build's file
    # the new run recorded its own outputs, so the next restart restores those
    assert _manifest(api, second, nested=False)["jobId"] == second["jobId"]


def test_three_chained_resumes_keep_the_files_and_the_values(api, server, markers):
    m = markers
    first = _first(api, m, nested=True)
    second = restart_by_link(api, server, first)
    third = restart_by_link(api, server, second)
    (m / "fixed").write_text("yes")
    fourth = restart_by_link(api, server, third)
    assert [j["outcome"] for j in (second, third, fourth)] == ["error", "error", "success"]
    assert marker_count(m, "build") == 1 and marker_count(m, "deploy") == 4
    for n in (2, 3, 4):
        assert (m / f"deployed-{n}").read_bytes() == (m / "deployed-1").read_bytes()
        assert (m / f"artifact-{n}").read_text() == "app-1.2.3.tar.gz"
    call = find_step(fourth, "stage", "build")
    reused = raw(api, "ec_resume/reusedFrom", jobStepId=call["jobStepId"])
    assert first["jobName"] in reused  # the job where build really ran, not the one before


def test_a_bad_outputs_pattern_fails_the_step_with_one_line(api, markers):
    project = unique("LosslessFiles")
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'build', subprocedure: 'ResumableStep', {PLUGIN}, {{
      actualParameter 'command', 'true'
      actualParameter 'outputs', '../outside/*'
    }}
  }}
}}""")
    job = api.run_and_wait(project, "Main", {})
    record = find_step(job, "build", "recordOutputs")
    assert record["outcome"] == "error"
    summary = raw(api, "summary", jobStepId=record["jobStepId"])
    assert summary.count("\n") == 0 and "outputs: pattern '../outside/*'" in summary and "e.g." in summary


@pytest.mark.emulator_only
@pytest.mark.parametrize("parent", ["none", "job", "rootStep"])
def test_lossless_under_each_shape_of_a_top_level_parent(api, server, markers, parent):
    """Whatever a server shows above the top-level steps, the files and values come back and build runs
    once (restoreOutputs decides with the same rule as the run condition)."""
    m = markers
    before = api.control("GET", "settings")["topLevelParent"]
    api.control("PUT", "settings", json={"topLevelParent": parent})
    try:
        first = _first(api, m, nested=True)
        (m / "fixed").write_text("yes")
        second = restart_by_link(api, server, first)
    finally:
        api.control("PUT", "settings", json={"topLevelParent": before})
    assert second["outcome"] == "success", second
    assert marker_count(m, "build") == 1
    assert (m / "deployed-2").read_bytes() == (m / "deployed-1").read_bytes()
    assert (m / "artifact-2").read_text() == "app-1.2.3.tar.gz"
