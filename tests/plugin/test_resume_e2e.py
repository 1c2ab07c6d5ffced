"""End to end, from the built jar: a 10-step procedure fails at step 5 and is resumed through its link.

The scenario of the knowledge-base recipe, done properly: the jar is installed and promoted over REST;
a user procedure defined in DSL mixes plain steps under the shared run condition, ResumableStep calls,
and a subprocedure nested two levels deep; it takes a `jobToRestart` parameter, two ordinary parameters
(one holding `&`, `=`, `#`, spaces and non-ASCII text) and a credential parameter, and ends with an
always-run CreateRestartLink call. Every work step appends a line to its own marker file, so the test
counts how often each step really ran.

It runs under step 5's error handling set to continue (failProcedure) and to abort (abortJob), under
both of the emulator's settings for steps an abort never reached (`skipped`, `notRun`), and under each
of its settings for what a top-level step's parent is (`none`, the `job`, or a named `rootStep`, as a
real server may give): the run condition must find each step's path whichever it is (issue 14).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import RUN_CONDITION, as_list, find_step, unique
from restart_support import (
    Cli,
    assert_plan_came_true,
    cli_env,
    delta,
    follow_restart_link,
    parameters,
    report_urls,
)

GREETING = "a&b=c #1 día ñ 東京 ✓"
NOTES = "two  spaces & an = sign # not a comment\tend"
SECRET = "s3cret-PW&=#"

WORK_STEPS = [f"step {n}" for n in range(1, 11)]


def user_dsl(project: str, markers: Path, error_handling: str) -> str:
    """The user's procedure: 10 work steps, step 5 broken, and the restart-link step last.

    Commands sit in Groovy's triple single quotes: literal text, single quotes allowed, `$[...]` kept.
    """
    m = markers.as_posix()

    def mark(name: str) -> str:
        return f"echo run >> {m}/{name}"  # pytest's tmp_path holds no spaces

    needs5 = f"test -f {m}/step5.done"  # steps 6-10 depend on step 5's result, as real steps do
    plugin = "subproject: '/plugins/EC-Resume/project'"
    # Step 10 writes the two ordinary parameters, as expanded into its command, to files.
    record = f"printf '%s' '$[greeting]' > {m}/greeting && printf '%s' '$[notes]' > {m}/notes"
    return f"""
project '{project}', {{
  procedure 'Unpack', {{
    formalParameter 'target', defaultValue: '', type: 'entry'
    step 'unpack', subprocedure: 'ResumableStep', {plugin}, {{
      actualParameter 'command', '''{mark('step4-unpack')}'''
    }}
  }}
  procedure 'Deploy', {{
    formalParameter 'target', defaultValue: '', type: 'entry'
    step 'upload', subprocedure: 'Unpack', {{
      actualParameter 'target', '$[target]'
    }}
    step 'verify', command: '''{mark('step4-verify')}''', condition: '{RUN_CONDITION}'
  }}
  procedure 'Release', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    formalParameter 'greeting', defaultValue: '', type: 'entry'
    formalParameter 'notes', defaultValue: '', type: 'textarea'
    formalParameter 'deployCredential', type: 'credential', required: '0'

    step 'step 1', command: '''{mark('step1')}''', condition: '{RUN_CONDITION}'
    step 'step 2', subprocedure: 'ResumableStep', {plugin}, {{
      actualParameter 'command', '''{mark('step2')}'''
    }}
    step 'step 3', command: '''{mark('step3')}''', condition: '{RUN_CONDITION}'
    step 'step 4', subprocedure: 'Deploy', {{
      actualParameter 'target', 'production'
    }}
    step 'step 5', command: 'exit 1', condition: '{RUN_CONDITION}', errorHandling: '{error_handling}'
    step 'step 6', command: '''{mark('step6')}; {needs5}''', condition: '{RUN_CONDITION}'
    step 'step 7', subprocedure: 'ResumableStep', {plugin}, {{
      actualParameter 'command', '''{mark('step7')}; {needs5}'''
    }}
    step 'step 8', command: '''{mark('step8')}; {needs5}''', condition: '{RUN_CONDITION}'
    step 'step 9', subprocedure: 'ResumableStep', {plugin}, {{
      actualParameter 'command', '''{mark('step9')}; {needs5}'''
    }}
    step 'step 10', condition: '{RUN_CONDITION}',
      command: '''{mark('step10')}; {needs5} && {record}'''
    step 'restart links', subprocedure: 'CreateRestartLink', {plugin}, alwaysRun: '1'
  }}
}}
"""


# (step path, marker) in job order, for comparing `ec-resume plan` with the job that follows it.
PLAN_MARKERS = [("step 1", "step1"), ("step 2/jobSteps/runCommand", "step2"), ("step 3", "step3"),
                ("step 4/jobSteps/upload/jobSteps/unpack/jobSteps/runCommand", "step4-unpack"),
                ("step 4/jobSteps/verify", "step4-verify"), ("step 5", "step5"), ("step 6", "step6"),
                ("step 7/jobSteps/runCommand", "step7"), ("step 8", "step8"),
                ("step 9/jobSteps/runCommand", "step9"), ("step 10", "step10")]
FIXED_STEP_5 = "echo run >> '{m}/step5' && touch '{m}/step5.done'"


def runs(markers: Path) -> Dict[str, int]:
    """How many times each marker-writing step ran, by marker name."""
    return {p.name: len(p.read_text().splitlines()) for p in markers.iterdir() if not p.suffix
            and p.name not in ("greeting", "notes")}


def outcomes(job: Dict) -> Dict[str, str]:
    return {name: find_step(job, name)["outcome"] for name in WORK_STEPS}


def link(api, job_id: str, name: str) -> str:
    return report_urls(api, job_id)[name]


@pytest.fixture
def unreached(request, api):
    """Run the test under one of the emulator's settings for steps an abort never reached."""
    before = api.control("GET", "settings")["unreachedOutcome"]
    api.control("PUT", "settings", json={"unreachedOutcome": request.param})
    yield request.param
    api.control("PUT", "settings", json={"unreachedOutcome": before})


@pytest.fixture
def top_level_parent(request, api):
    """Run the test under one of the emulator's settings for the parent of a top-level job step."""
    before = api.control("GET", "settings").get("topLevelParent", "none")
    api.control("PUT", "settings", json={"topLevelParent": request.param})
    yield request.param
    api.control("PUT", "settings", json={"topLevelParent": before})


@pytest.mark.emulator_only
@pytest.mark.parametrize("top_level_parent", ["none", "job", "rootStep"], indirect=True)
@pytest.mark.parametrize("unreached", ["skipped", "notRun"], indirect=True)
@pytest.mark.parametrize("error_handling", ["failProcedure", "abortJob"])
def test_failed_job_resumes_at_step_5_through_its_link(api, server, ec_resume, tmp_path, unreached,
                                                       error_handling, top_level_parent):
    markers = tmp_path / "markers"
    markers.mkdir()
    project = unique("Shop")
    api.call("evalDsl", dsl=user_dsl(project, markers, error_handling))
    credential = {"credentialName": "deployCredential", "userName": "deployer", "password": SECRET}
    first = api.run_and_wait(project, "Release", {"greeting": GREETING, "notes": NOTES,
                                                  "deployCredential": "deployCredential"},
                             credentials=[credential], timeout=120)

    # --- the first job fails at step 5; what follows depends on step 5's error handling
    assert first["outcome"] == "error"
    assert [outcomes(first)[s] for s in WORK_STEPS[:4]] == ["success"] * 4
    assert outcomes(first)["step 5"] == "error"
    later = "error" if error_handling == "failProcedure" else unreached
    assert [outcomes(first)[s] for s in WORK_STEPS[5:]] == [later] * 5
    assert find_step(first, "restart links")["outcome"] == "success"

    restart = link(api, first["jobId"], "Restart this job")
    query = dict(parse_qsl(urlsplit(restart).query))
    assert query["projectName"] == project and query["procedureName"] == "Release"
    carried = {query[f"parameters{i}_name"]: query[f"parameters{i}_value"]
               for i in range(1, int(query["numParameters"]) + 1)}
    assert carried == {"jobToRestart": first["jobId"], "greeting": GREETING, "notes": NOTES}
    for secret in ("deployCredential", "deployer", SECRET):
        assert secret not in restart
    summary = api.call("getProperty", propertyName=f"/jobs/{first['jobId']}/jobSteps/restart links"
                                                   "/jobSteps/createRestartLink/summary")["property"]["value"]
    assert "deployCredential" in summary

    # --- restarted before the fix: steps 1-4 skipped, step 5 fails again
    second = follow_restart_link(api, server, restart)
    assert parameters(second)["jobToRestart"] == first["jobId"]
    assert [outcomes(second)[s] for s in WORK_STEPS[:4]] == ["skipped"] * 4
    assert outcomes(second)["step 5"] == "error"

    # --- fix step 5's definition, then restart the restarted job: the chain leads back to the first job
    api.call("modifyStep", projectName=project, procedureName="Release", stepName="step 5",
             command=FIXED_STEP_5.format(m=markers.as_posix()))
    plan = Cli(cli_env(server)).plan(second["jobId"])
    before = runs(markers)
    third = follow_restart_link(api, server, link(api, second["jobId"], "Restart this job"))
    assert_plan_came_true(plan, second["jobId"], third, delta(before, runs(markers)), PLAN_MARKERS)
    assert third["outcome"] == "success"
    assert [outcomes(third)[s] for s in WORK_STEPS[:4]] == ["skipped"] * 4
    assert [outcomes(third)[s] for s in WORK_STEPS[4:]] == ["success"] * 6
    assert parameters(third)["jobToRestart"] == second["jobId"]
    # The credential did not travel: the restarted job has none (an optional parameter reads as empty).
    assert {k: v for k, v in parameters(third).items() if k != "jobToRestart"} == {
        "greeting": GREETING, "notes": NOTES, "deployCredential": ""}
    # The parameters arrived byte-identical where the step used them.
    assert (markers / "greeting").read_bytes() == GREETING.encode("utf-8")
    assert (markers / "notes").read_bytes() == NOTES.encode("utf-8")

    ran_before_fix = 3 if error_handling == "failProcedure" else 1  # jobs 1-3 ran steps 6-10, or only job 3
    expected = {"step1": 1, "step2": 1, "step3": 1, "step4-unpack": 1, "step4-verify": 1, "step5": 1}
    expected.update({f"step{n}": ran_before_fix for n in range(6, 11)})
    assert runs(markers) == expected

    # --- restarting the successful job skips every work step; nothing runs twice
    fourth = follow_restart_link(api, server, link(api, third["jobId"], "Restart this job"))
    assert fourth["outcome"] in ("success", "skipped")
    assert list(outcomes(fourth).values()) == ["skipped"] * 10
    assert runs(markers) == expected

    # --- "Run all steps again" runs all ten, with an empty jobToRestart
    run_all = link(api, third["jobId"], "Run all steps again")
    fifth = follow_restart_link(api, server, run_all)
    assert parameters(fifth)["jobToRestart"] == ""
    assert list(outcomes(fifth).values()) == ["success"] * 10
    assert runs(markers) == {name: count + 1 for name, count in expected.items()}


def test_link_step_explains_a_procedure_without_job_to_restart(api, ec_resume):
    project = unique("NoParam")
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Build', {{
    formalParameter 'version', defaultValue: '1.0', type: 'entry'
    step 'compile', command: 'true', condition: '{RUN_CONDITION}'
    step 'links', subprocedure: 'CreateRestartLink', subproject: '/plugins/EC-Resume/project', alwaysRun: '1'
  }}
}}
""")
    job = api.run_and_wait(project, "Build", {}, timeout=60)
    link_step = find_step(job, "links", "createRestartLink")
    assert link_step["outcome"] == "warning"
    summary = api.call("getProperty", propertyName=f"/jobs/{job['jobId']}/jobSteps/links/jobSteps/"
                                                   "createRestartLink/summary")["property"]["value"]
    assert "jobToRestart" in summary
    names: List[str] = [p["propertyName"] for p in as_list(
        api.call("getProperties", path=f"/jobs/{job['jobId']}/report-urls")["propertySheet"]["property"])]
    assert "Restart this job" not in names
