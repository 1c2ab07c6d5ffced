"""The emulator as a CD/RO user meets it: procedures defined in DSL, run and read back over HTTP only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

import pytest
from conftest import ServerApi, as_list, find_step, unique

KB_CONDITION = ('$[/javascript getProperty("/jobs/" + myJob.jobToRestart + "/jobSteps/" + '
                'myJobStep.stepName + "/outcome") != "success"]')


def ten_steps(project: str, markers: Path, error_handling: str, condition: str = "") -> str:
    lines = []
    for n in range(1, 11):
        command = "exit 1" if n == 5 else f"echo run >> {markers.as_posix()}/step{n}"
        extra = f", errorHandling: '{error_handling}'" if n == 5 else ""
        cond = f", condition: '{condition}'" if condition else ""
        lines.append(f"    step 'step {n}', command: '{command}'{extra}{cond}")
    body = "\n".join(lines)
    return f"""
project '{project}', {{
  procedure 'Ten', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
{body}
  }}
}}
"""


def outcomes(job: Dict) -> Dict[int, str]:
    return {n: find_step(job, f"step {n}")["outcome"] for n in range(1, 11)}


def marker_counts(markers: Path) -> Dict[int, int]:
    return {n: len((markers / f"step{n}").read_text().splitlines()) if (markers / f"step{n}").exists() else 0
            for n in range(1, 11)}


@pytest.mark.parametrize("error_handling, later", [("failProcedure", "success"), ("ignore", "success"),
                                                   ("abortProcedure", "unreached"),
                                                   ("abortJob", "unreached")])
def test_ten_step_job_fails_at_step_5_and_the_rest_follow_error_handling(
        api: ServerApi, tmp_path: Path, error_handling: str, later: str) -> None:
    project = unique("Ten")
    api.call("evalDsl", dsl=ten_steps(project, tmp_path, error_handling))
    job = api.run_and_wait(project, "Ten", {})
    unreached = api.control("GET", "settings")["unreachedOutcome"]
    expected_later = unreached if later == "unreached" else later
    assert outcomes(job) == {**{n: "success" for n in range(1, 5)}, 5: "error",
                             **{n: expected_later for n in range(6, 11)}}
    assert job["outcome"] == ("success" if error_handling == "ignore" else "error")
    ran = 1 if later == "success" else 0
    assert marker_counts(tmp_path) == {**{n: 1 for n in range(1, 5)}, 5: 0, **{n: ran for n in range(6, 11)}}


def test_the_knowledge_base_condition_skips_exactly_the_steps_that_succeeded(api: ServerApi,
                                                                            tmp_path: Path) -> None:
    project = unique("KB")
    api.call("evalDsl", dsl=ten_steps(project, tmp_path, "failProcedure", KB_CONDITION))
    first = api.run_and_wait(project, "Ten", {})
    assert outcomes(first)[5] == "error"
    # failProcedure kept going, so steps 6-10 succeeded in the first job and are skipped with 1-4.
    api.call("modifyStep", projectName=project, procedureName="Ten", stepName="step 5",
             command=f"echo run >> {tmp_path.as_posix()}/step5")
    second = api.run_and_wait(project, "Ten", {"jobToRestart": first["jobId"]})
    assert outcomes(second) == {**{n: "skipped" for n in range(1, 11) if n != 5}, 5: "success"}
    assert marker_counts(tmp_path) == {n: 1 for n in range(1, 11)}
    # An empty jobToRestart finds no job: every step runs.
    third = api.run_and_wait(project, "Ten", {"jobToRestart": ""})
    assert set(outcomes(third).values()) == {"success"}


def test_a_step_process_calls_the_api_back(api: ServerApi) -> None:
    """The agent environment lets a step set job properties, its summary and its own outcome."""
    project = unique("Callback")
    script = (
        "import json, os, urllib.request\n"
        "base = 'http://%s:%s/rest/v1.0/properties/' % (os.environ['COMMANDER_SERVER'], "
        "os.environ['COMMANDER_PORT'])\n"
        "def put(path, value):\n"
        "    req = urllib.request.Request(base + path, method='PUT', data=json.dumps({'value': value, "
        "'jobStepId': os.environ['COMMANDER_JOBSTEPID']}).encode(), headers={'Content-Type': "
        "'application/json', 'Cookie': 'sessionId=' + os.environ['COMMANDER_SESSIONID']})\n"
        "    urllib.request.urlopen(req).read()\n"
        "put('/myJob/deployedVersion', '1.2.3')\n"
        "put('/myJobStep/summary', 'deployed 1.2.3')\n"
        "put('/myJobStep/outcome', 'warning')\n"
    )
    api.call("createProject", projectName=project)
    api.call("createProcedure", projectName=project, procedureName="P")
    api.call("createStep", projectName=project, procedureName="P", stepName="report",
             command=script, shell=f"{sys.executable} -I -S")
    job = api.run_and_wait(project, "P", {})
    step = find_step(job, "report")
    assert step["outcome"] == "warning" and step["exitCode"] == "0"
    assert job["outcome"] == "warning"
    got = api.call("getProperty", propertyName="deployedVersion", jobId=job["jobId"])
    assert got["property"]["value"] == "1.2.3"
    summary = api.call("getProperty", propertyName="summary", jobStepId=step["jobStepId"])
    assert summary["property"]["value"] == "deployed 1.2.3"


def test_two_parallel_steps_overlap_by_their_recorded_stamps(api: ServerApi, tmp_path: Path) -> None:
    project = unique("Parallel")
    # Each waits until the other has started, so they can only finish if they really ran side by side.
    flag = tmp_path.as_posix()
    a = f"touch {flag}/a; for i in $(seq 100); do [ -f {flag}/b ] && exit 0; sleep 0.05; done; exit 1"
    b = f"touch {flag}/b; for i in $(seq 100); do [ -f {flag}/a ] && exit 0; sleep 0.05; done; exit 1"
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'P', {{
    step 'a', command: '{a}', parallel: '1'
    step 'b', command: '{b}', parallel: '1'
    step 'after', command: 'true'
  }}
}}
""")
    job = api.run_and_wait(project, "P", {})
    steps = {s["stepName"]: s for s in as_list(job["jobStep"])}
    assert [steps[n]["outcome"] for n in ("a", "b", "after")] == ["success"] * 3
    assert steps["a"]["start"] <= steps["b"]["finish"] and steps["b"]["start"] <= steps["a"]["finish"]
    assert steps["after"]["start"] >= max(steps["a"]["finish"], steps["b"]["finish"])
