"""The README's DSL example is real: it evaluates on the emulator and makes a resumable procedure."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from conftest import RUN_CONDITION, ServerApi, as_list, unique

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_dsl() -> str:
    blocks = re.findall(r"```groovy\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "the README should carry exactly one DSL example"
    return blocks[0]


def test_readme_dsl_example_defines_a_resumable_procedure(api: ServerApi, ec_resume: str) -> None:
    project = unique("Readme")
    api.call("evalDsl", dsl=readme_dsl().replace("project 'Shop'", f"project '{project}'"))
    steps = {s["stepName"]: s for s in as_list(
        api.rest("GET", f"projects/{project}/procedures/Release/steps")["step"])}
    assert list(steps) == ["build", "deploy", "smoke test", "restart link"]
    assert steps["build"]["condition"] == RUN_CONDITION
    assert steps["smoke test"]["condition"] == RUN_CONDITION
    assert steps["deploy"]["subprocedure"] == "ResumableStep"
    assert steps["restart link"]["subprocedure"] == "CreateRestartLink"
    assert steps["restart link"]["alwaysRun"] == "1"
    params = {p["formalParameterName"]: p for p in as_list(
        api.rest("GET", f"projects/{project}/procedures/Release/formalParameters")["formalParameter"])}
    assert params["jobToRestart"].get("defaultValue", "") == ""


def test_readme_dsl_example_resumes_once_its_commands_exist(api: ServerApi, ec_resume: str,
                                                           tmp_path: Path) -> None:
    """The same procedure, with its three commands replaced by stand-ins, resumes at the failed deploy."""
    project = unique("ReadmeRun")
    log = tmp_path.as_posix()
    dsl = (readme_dsl().replace("project 'Shop'", f"project '{project}'")
           .replace("make dist VERSION=$[version]", f"echo build >> {log}/build")
           .replace("./deploy.sh $[version]", f"test -f {log}/ready && echo deploy >> {log}/deploy")
           .replace("./smoke.sh", f"echo smoke >> {log}/smoke"))
    api.call("evalDsl", dsl=dsl)
    first = api.run_and_wait(project, "Release", {"version": "2.0"})
    assert first["outcome"] == "error"
    (tmp_path / "ready").touch()  # "after fixing the cause"
    link = api.call("getProperty", propertyName=f"/jobs/{first['jobId']}/report-urls/Restart this job")
    query = dict(parse_qsl(urlsplit(link["property"]["value"]).query))
    carried = {query[f"parameters{i}_name"]: query[f"parameters{i}_value"]
               for i in range(1, int(query["numParameters"]) + 1)}
    assert carried == {"jobToRestart": first["jobId"], "version": "2.0"}
    rerun = api.run_and_wait(project, "Release", carried)
    assert rerun["outcome"] == "success"
    assert (tmp_path / "build").read_text() == "build\n"
    assert (tmp_path / "deploy").read_text() == "deploy\n"
