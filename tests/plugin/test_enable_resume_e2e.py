"""Acceptance of EnableResume / DisableResume (issue 10), end to end from the built jar, for both front
ends: the plugin procedure run as a job, and `ec-resume enable` / `disable`.

A 12-step procedure is loaded from a generateDsl-style file (tests/plugin/adoption/release_export.dsl:
formalParameter closures, one subprocedure, two steps with run conditions of their own). EnableResume
(wrapping those two, enabling the subprocedure) makes it resumable; the job fails at deploy, is fixed,
and is restarted through its stored link: markers prove that the steps that succeeded ran once and that
deploy and everything after it ran again, and that a step's own condition still decides (docs stays
skipped). A second EnableResume changes nothing and says so. DisableResume then gives back exactly the
definition that was loaded: getProcedure, getSteps, getFormalParameters and the properties of the
procedure and of each step, compared before and after.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from conftest import as_list, find_step, unique
from restart_support import Cli, cli_env, counts, follow_restart_link, report_urls

FILE = Path(__file__).with_name("adoption") / "release_export.dsl"
PLUGIN = "/plugins/EC-Resume/project"
WORK = ["checkout", "build", "unit tests", "package", "migrate", "docs", "deploy", "smoke", "report",
        "archive", "tag", "cleanup"]


def load(api: Any, markers: Path) -> str:
    project = unique("Adopt")
    text = FILE.read_text(encoding="utf-8").replace("@PROJECT@", project).replace("@MARKERS@",
                                                                                  markers.as_posix())
    api.call("evalDsl", dsl=text)
    return project


def properties(api: Any, **locator: str) -> List[Tuple[str, str]]:
    sheet = api.call("getProperties", expand="0", recurse="1", **locator).get("propertySheet") or {}
    return sorted((p["propertyName"], str(p.get("value"))) for p in as_list(sheet.get("property")))


def definition(api: Any, project: str, procedure: str) -> Dict[str, Any]:
    """Everything the API shows of a procedure's definition, ids and all."""
    where = {"projectName": project, "procedureName": procedure}
    steps = as_list(api.call("getSteps", **where).get("step"))
    return {"procedure": api.call("getProcedure", **where)["procedure"],
            "steps": steps,
            "parameters": as_list(api.call("getFormalParameters", **where).get("formalParameter")),
            "properties": properties(api, **where),
            "stepProperties": {s["stepName"]: properties(api, path=f"/projects/{project}/procedures/"
                                                                   f"{procedure}/steps/{s['stepName']}")
                               for s in steps}}


def run_plugin(api: Any, procedure: str, **params: str) -> Dict[str, Any]:
    plugin = api.call("getProperty", propertyName=f"{PLUGIN}/projectName")["property"]["value"]
    return api.run_and_wait(plugin, procedure, params, timeout=120)


def summary(api: Any, job: Dict[str, Any], step: str) -> str:
    js = find_step(job, step)
    answer = api.call("getProperty", propertyName="summary", expand="0", jobStepId=js["jobStepId"])
    return str(answer["property"]["value"])


def outcome(job: Dict[str, Any], name: str) -> str:
    return find_step(job, name)["outcome"]


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    path = tmp_path / "markers"
    path.mkdir()
    return path


def resume_scenario(api: Any, server: Any, project: str, markers: Path) -> None:
    first = api.run_and_wait(project, "Release", timeout=120)
    assert first["outcome"] == "error"
    assert outcome(first, "deploy") == "error"
    assert outcome(first, "docs") == "skipped"  # its own condition: publishDocs is false
    assert outcome(first, "migrate") == "success"
    assert outcome(first, "EC-Resume restart link") == "success"
    assert counts(markers) == {"checkout": 1, "build": 1, "unit": 1, "compress": 1, "sign": 1, "migrate": 1,
                               "deploy": 1, "smoke": 1, "report": 1, "archive": 1, "tag": 1, "cleanup": 1}
    (markers / "deploy.fixed").write_text("")
    plan = {s["path"]: s["action"] for s in Cli(cli_env(server)).plan(first["jobId"])["steps"]}
    assert [plan[name] for name in WORK[:5]] == ["skip"] * 5  # migrate too: its wrapped condition
    assert [plan[name] for name in WORK[6:]] == ["run"] * 6
    second = follow_restart_link(api, server, report_urls(api, first["jobId"])["Restart this job"])
    assert second["outcome"] == "success"
    for name in ("checkout", "build", "unit tests", "package", "migrate", "docs"):
        assert outcome(second, name) == "skipped", name
    for name in WORK[6:]:
        assert outcome(second, name) == "success", name
    # Succeeded steps ran once; deploy and what ran after the failure ran again; docs never ran.
    assert counts(markers) == {"checkout": 1, "build": 1, "unit": 1, "compress": 1, "sign": 1, "migrate": 1,
                               "deploy": 2, "smoke": 2, "report": 2, "archive": 2, "tag": 2, "cleanup": 2}


@pytest.mark.emulator_only
def test_enable_resume_as_a_job_then_resume_then_disable_restores_the_definition(api, server, ec_resume,
                                                                                 markers):
    project = load(api, markers)
    before = {name: definition(api, project, name) for name in ("Release", "Package")}

    dry = run_plugin(api, "EnableResume", projectName=project, procedureName="Release", wrapConditions="true",
                     enableSubprocedures="true", dryRun="true")
    assert dry["outcome"] == "success"
    text = summary(api, dry, "enableResume")
    assert text.startswith("Dry run: nothing changed.")
    assert "+  step 'EC-Resume carry over', {" in text and "+    condition = '$[/plugins/EC-Resume" in text
    assert {name: definition(api, project, name) for name in ("Release", "Package")} == before

    job = run_plugin(api, "EnableResume", projectName=project, procedureName="Release", wrapConditions="true",
                     enableSubprocedures="true")
    assert job["outcome"] == "success", summary(api, job, "enableResume")
    steps = [s["stepName"] for s in as_list(api.call("getSteps", projectName=project,
                                                     procedureName="Release")["step"])]
    assert steps == ["EC-Resume carry over", *WORK, "EC-Resume restart link"]

    again = run_plugin(api, "EnableResume", projectName=project, procedureName="Release",
                       wrapConditions="true", enableSubprocedures="true")
    assert again["outcome"] == "success"
    assert "is resumable already: nothing changed" in summary(api, again, "enableResume")

    resume_scenario(api, server, project, markers)

    undo = run_plugin(api, "DisableResume", projectName=project, procedureName="Release")
    assert undo["outcome"] == "success", summary(api, undo, "disableResume")
    assert {name: definition(api, project, name) for name in ("Release", "Package")} == before


@pytest.mark.emulator_only
def test_ec_resume_enable_and_disable_from_the_terminal(api, server, ec_resume, markers):
    project = load(api, markers)
    before = {name: definition(api, project, name) for name in ("Release", "Package")}
    cli = Cli(cli_env(server))

    refused = cli("enable", project, "Release")
    assert refused.code == 3 and refused.err.count("\n") == 1
    assert "'migrate', 'docs' have run conditions of their own" in refused.err
    plain = cli("enable", project, "Release", "--wrap-conditions", "--dry-run")
    assert plain.code == 0, plain.err
    assert "not resumable: " + project + "/Package" in plain.out and "--subprocedures" in plain.out
    as_json = cli("enable", project, "Release", "--wrap-conditions", "--dry-run", "--json").json()
    assert as_json["changed"] is True and as_json["lines"][0] == "Dry run: nothing changed."
    assert "+    condition = '$[/plugins/EC-Resume/project/resume/runCondition]'" in as_json["diff"]
    assert {name: definition(api, project, name) for name in ("Release", "Package")} == before

    done = cli("enable", project, "Release", "--wrap-conditions", "--subprocedures")
    assert done.code == 0, done.err
    assert f"Enabled {project}/Package:" in done.out
    second = cli("enable", project, "Release", "--wrap-conditions", "--subprocedures")
    assert second.code == 0 and "is resumable already: nothing changed" in second.out

    resume_scenario(api, server, project, markers)

    dry = cli("disable", project, "Release", "--dry-run")
    assert dry.code == 0 and "-  step 'EC-Resume restart link', {" in dry.out
    undone = cli("disable", project, "Release")
    assert undone.code == 0, undone.err
    assert {name: definition(api, project, name) for name in ("Release", "Package")} == before
    assert "nothing to undo" in cli("disable", project, "Release").out


@pytest.mark.emulator_only
@pytest.mark.parametrize("argv, words", [
    (["enable", "NoSuchProject", "Release"], "there is no project 'NoSuchProject'"),
    (["enable", "{project}", "NoSuch"], "has no procedure 'NoSuch'"),
    (["enable", "{project}", "Release", "--exclude", "nope"], "exclude names 'nope', which"),
    (["disable", "{project}", "NoSuch"], "has no procedure 'NoSuch'"),
])
def test_bad_input_is_one_line(api, server, ec_resume, markers, argv, words):
    project = load(api, markers)
    result = Cli(cli_env(server))(*[a.format(project=project) for a in argv])
    assert result.code == 2 and result.err.count("\n") == 1 and words in result.err, result.err


@pytest.mark.emulator_only
def test_bad_input_in_the_plugin_procedure_is_one_line_and_an_error(api, server, ec_resume, markers):
    project = load(api, markers)
    job = run_plugin(api, "EnableResume", projectName=project, procedureName="Release",
                     exclude="deploy\nnope")
    assert job["outcome"] == "error"
    line = summary(api, job, "enableResume")
    assert line.count("\n") == 0 and "exclude names 'nope'" in line
