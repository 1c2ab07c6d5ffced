"""Output parameters (setOutputParameter, getOutputParameter(s)): set by a step inside a subprocedure call
they belong to the call step; set by a top-level step, to the job. Readable by property path
(`/myJob/jobSteps/<call>/outputParameters/<name>`) and shown by getJobDetails / getJobStepDetails."""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict

import pytest
from conftest import ApiError, ServerApi, as_list, find_step, unique

Call = Callable[..., Dict[str, Any]]

SET_OUTPUT = """import json, os, sys, urllib.request
url = "http://" + os.environ["COMMANDER_SERVER"] + ":" + os.environ["COMMANDER_PORT"] + (
    "/rest/v1.0/outputParameters?request=setOutputParameter")
body = json.dumps({"outputParameterName": "NAME", "value": "VALUE",
                   "jobStepId": os.environ["COMMANDER_JOBSTEPID"]}).encode()
request = urllib.request.Request(url, data=body, method="POST", headers={
    "Content-Type": "application/json", "Cookie": "sessionId=" + os.environ["COMMANDER_SESSIONID"]})
urllib.request.urlopen(request).read()
"""


@pytest.fixture(params=["rest", "xml"])
def call(request: pytest.FixtureRequest, api: ServerApi) -> Call:
    return api.call if request.param == "rest" else api.xml


def _setter(name: str, value: str) -> Dict[str, str]:
    command = SET_OUTPUT.replace("NAME", name).replace("VALUE", value)
    return {"shell": f"{sys.executable} -I -S", "command": command}


def _job(api: ServerApi) -> Dict[str, Any]:
    project = unique("Outputs")
    api.call("createProject", projectName=project)
    for proc in ("Inner", "Main"):
        api.call("createProcedure", projectName=project, procedureName=proc)
    api.call("createStep", projectName=project, procedureName="Inner", stepName="make",
             **_setter("version", "1.2.3"))
    api.call("createStep", projectName=project, procedureName="Main", stepName="build", subprocedure="Inner")
    api.call("createStep", projectName=project, procedureName="Main", stepName="top",
             **_setter("where", "job level"))
    api.call("createStep", projectName=project, procedureName="Main", stepName="read",
             command="test '$[/myJob/jobSteps/build/outputParameters/version]' = 1.2.3 && "
                     "test '$[/myJob/outputParameters/where]' = 'job level'")
    return api.run_and_wait(project, "Main")


def test_a_step_inside_a_call_sets_the_calls_output_parameter_and_later_steps_read_it(api: ServerApi) -> None:
    job = _job(api)
    assert job["outcome"] == "success", job
    build = find_step(job, "build")
    shown = as_list(build["outputParameters"]["outputParameter"])
    assert {p["outputParameterName"]: p["value"] for p in shown} == {"version": "1.2.3"}
    assert "outputParameters" not in find_step(job, "build", "make")
    at_job = as_list(job["outputParameters"]["outputParameter"])
    assert {p["outputParameterName"] for p in at_job} == {"where"}


def test_output_parameters_are_read_back_by_api_over_both_wires(api: ServerApi, call: Call) -> None:
    job = _job(api)
    build = find_step(job, "build")
    one = call("getOutputParameter", outputParameterName="version", jobStepId=build["jobStepId"])
    assert one["outputParameter"]["value"] == "1.2.3"
    listed = call("getOutputParameters", jobId=job["jobId"])["outputParameter"]
    assert [p["outputParameterName"] for p in as_list(listed)] == ["where"]
    assert call("getProperty", propertyName=f"/jobs/{job['jobId']}/jobSteps/build/outputParameters/version"
                )["property"]["value"] == "1.2.3"
    details = call("getJobStepDetails", jobStepId=build["jobStepId"])["jobStep"]
    assert as_list(details["outputParameters"]["outputParameter"])[0]["value"] == "1.2.3"


def test_set_output_parameter_on_a_call_step_by_its_id_and_errors(api: ServerApi, call: Call) -> None:
    job = _job(api)
    build = find_step(job, "build")
    call("setOutputParameter", outputParameterName="extra", value="x y", jobStepId=build["jobStepId"])
    names = [p["outputParameterName"] for p in as_list(
        call("getOutputParameters", jobStepId=build["jobStepId"])["outputParameter"])]
    assert names == ["version", "extra"]
    with pytest.raises(ApiError) as missing:
        call("getOutputParameter", outputParameterName="nope", jobStepId=build["jobStepId"])
    assert missing.value.code == "NoSuchOutputParameter"
    with pytest.raises(ApiError) as no_locator:
        call("setOutputParameter", outputParameterName="x", value="1")
    assert no_locator.value.code == "InvalidArgument"


def test_delete_job_removes_a_completed_job_and_its_steps(api: ServerApi, call: Call) -> None:
    job = _job(api)
    build = find_step(job, "build")
    call("deleteJob", jobId=job["jobId"])
    for fn in (lambda: call("getJobDetails", jobId=job["jobId"]),
               lambda: call("getJobStepDetails", jobStepId=build["jobStepId"])):
        with pytest.raises(ApiError) as gone:
            fn()
        assert gone.value.code.startswith("NoSuch")
