"""planning.plan_restart over a fake server: it plans the CURRENT procedure definition (through subprocedure
and plugin calls), decides each resumable step by the resume rule, and words each reason; report's plan
lines roll calls up and render; RestartPlan.to_json has the contract's shape."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

import pytest
from ec_resume.client_errors import NotFound, RequestRefused
from ec_resume.planning import plan_restart, validate_from_step
from ec_resume.report import PLUGIN_LOCAL_RUN_CONDITION, PLUGIN_RUN_CONDITION, render_plan
from ec_resume.resume_rule import NO_FAILURE

PLUGIN_PROJECT = "EC-Resume-1.0.0"
RC = PLUGIN_RUN_CONDITION


def _at(second: float) -> str:
    return f"2024-05-01T10:00:{int(second):02d}.{int(round((second % 1) * 1000)):03d}Z"


def defined(name: str, condition: str = RC, subprocedure: str = "", subproject: str = "") -> Dict[str, str]:
    step = {"stepName": name, "condition": condition}
    if subprocedure:
        step.update(subprocedure=subprocedure, subproject=subproject)
    return step


def ran(name: str, outcome: str = "success", second: Optional[float] = None, children: Any = None,
        project: str = "Shop", procedure: str = "") -> Dict[str, Any]:
    step: Dict[str, Any] = {"stepName": name, "jobStepId": f"js-{name}", "outcome": outcome,
                            "status": "completed"}
    if second is not None:
        step.update(start=_at(second), finish=_at(second + 0.5))
    if children is not None:
        step["calledProcedure"] = {"projectName": project, "procedureName": procedure, "jobStep": children}
    return step


def job(job_id: str, steps: List[Dict[str, Any]], restarts: str = "", procedure: str = "Release",
        status: str = "completed") -> Dict[str, Any]:
    return {"jobId": job_id, "jobName": f"job_{job_id}", "projectName": "Shop", "procedureName": procedure,
            "status": status, "jobStep": steps,
            "actualParameter": [{"actualParameterName": "jobToRestart", "value": restarts}]}


class FakeServer:
    """Only what the planner may use: get_job_details, get_property, call for getSteps."""

    def __init__(self, procedures: Mapping[str, List[Dict[str, str]]], jobs: Mapping[str, Dict[str, Any]],
                 properties: Optional[Dict[str, str]] = None, refused: tuple = ()) -> None:
        self.procedures, self.jobs = procedures, jobs
        self.properties = dict(properties or {})
        self.properties.setdefault("/plugins/EC-Resume/project/projectName", PLUGIN_PROJECT)
        self.refused = refused
        self.steps_read: List[str] = []

    def get_job_details(self, ref: str) -> Dict[str, Any]:
        for found in self.jobs.values():
            if ref in (found["jobId"], found["jobName"]):
                return found
        raise NotFound("NoSuchJob", f"Job '{ref}' does not exist", 404)

    def get_property(self, path: str, expand: bool = True) -> Optional[str]:
        if path in self.refused:
            raise RequestRefused("InvalidPropertyValue", f"cannot expand {path}", 400)
        if path in self.properties:
            return self.properties[path]
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "jobs" and parts[3] == "jobToRestart":  # the actual parameter
            params = self.get_job_details(parts[2])["actualParameter"]
            return {p["actualParameterName"]: p["value"] for p in params}.get("jobToRestart")
        return None

    def call(self, api: str, http_method: str, path: str, params: Any = None) -> Dict[str, Any]:
        assert (api, http_method) == ("getSteps", "GET"), api
        _, _, project, _, procedure, _ = path.split("/")
        self.steps_read.append(f"{project}/{procedure}")
        key = f"{project}/{procedure}".replace("%20", " ")
        if key not in self.procedures:
            raise NotFound("NoSuchProcedure", f"Procedure '{procedure}' does not exist", 404)
        return {"step": self.procedures[key]}


RESUMABLE_STEP = [defined("runCommand", PLUGIN_LOCAL_RUN_CONDITION)]
PIPELINE = {
    "Shop/Release": [defined("build"), defined("test"),
                     defined("deploy", "", "ResumableStep", "/plugins/EC-Resume/project"),
                     defined("smoke"), defined("docs", "", "Docs"), defined("announce", "")],
    "Shop/Docs": [defined("render", PLUGIN_LOCAL_RUN_CONDITION)],  # /myProject outside the plugin
    f"{PLUGIN_PROJECT}/ResumableStep": RESUMABLE_STEP,
}


def failed_job() -> Dict[str, Any]:
    """build ok, test failed (errorHandling continues), deploy and smoke ran after it and succeeded."""
    return job("1", [ran("build", second=1), ran("test", "error", 2),
                     ran("deploy", "success", 3, [ran("runCommand", second=4)], PLUGIN_PROJECT,
                         "ResumableStep"),
                     ran("smoke", second=5), ran("docs", second=6, children=[ran("render", second=7)]),
                     ran("announce", second=8)])


def plan_of(server: FakeServer, restarted: Dict[str, Any], from_step: str = "",
            **parameters: str) -> List[tuple]:
    parameters.setdefault("jobToRestart", restarted["jobId"])
    plan = plan_restart(server, restarted, parameters, from_step)  # type: ignore[arg-type]
    return [(line.path, line.action, line.reason) for line in plan.lines]


def test_the_plan_follows_the_procedure_through_plugin_calls_and_words_each_reason() -> None:
    server = FakeServer(PIPELINE, {"1": failed_job()},
                        {"/jobs/1/ec_resume/failedAt": _at(2.5), "/jobs/1/ec_resume/failedStep": "test"})
    assert plan_of(server, failed_job()) == [
        ("build", "skip", "succeeded in job_1"),
        ("test", "run", "failed"),
        ("deploy", "run", "runs 1 of its 1 steps"),
        ("deploy/jobSteps/runCommand", "run", "ran after the failure of test in job_1"),
        ("smoke", "run", "ran after the failure of test in job_1"),
        ("docs", "run", "runs 1 of its 1 steps"),
        ("docs/jobSteps/render", "run", "not EC-Resume's run condition: its own condition decides afresh"),
        ("announce", "run", "no run condition: always runs"),
    ]
    assert f"{PLUGIN_PROJECT}/ResumableStep" in server.steps_read  # the plugin project, by its projectName


def test_the_per_step_rule_keeps_what_succeeded_after_the_failure() -> None:
    server = FakeServer(PIPELINE, {"1": failed_job()}, {"/jobs/1/ec_resume/failedAt": _at(2.5),
                                                        "/plugins/EC-Resume/project/resume/rule": "perStep"})
    plan = dict((path, (action, reason)) for path, action, reason in plan_of(server, failed_job()))
    assert plan["smoke"] == ("skip", "succeeded in job_1")
    assert plan["deploy"] == ("skip", "all 1 of its steps skipped")


def test_without_a_failedAt_property_the_plan_takes_the_jobs_own_failure_point() -> None:
    """RestartJob and the CLI write failedAt just before the launch: the plan must not wait for it."""
    server = FakeServer(PIPELINE, {"1": failed_job()})
    assert dict((p, r) for p, _, r in plan_of(server, failed_job()))["smoke"] == (
        "ran after the failure of test in job_1")
    # A stale record (written while the job ran, before test failed): the launcher rewrites it from the
    # final tree before the launch, so the plan follows the tree.
    stale = FakeServer(PIPELINE, {"1": failed_job()}, {"/jobs/1/ec_resume/failedAt": NO_FAILURE})
    assert dict((p, a) for p, a, _ in plan_of(stale, failed_job()))["smoke"] == "run"


def test_an_earlier_job_of_the_chain_without_a_failure_record_runs_its_steps() -> None:
    """Job 1 was restarted by hand and had no CreateRestartLink: where it failed is unknown."""
    skipped = job("2", [ran("build", "skipped", 1), ran("test", second=2), ran("smoke", "skipped", 3)],
                  restarts="1")
    procedures = {"Shop/Release": [defined("build"), defined("test"), defined("smoke")]}
    server = FakeServer(procedures, {"1": failed_job(), "2": skipped})
    unknown = ("the job has no record of where it failed (no CreateRestartLink step): what ran after a "
               "failure cannot be told apart")
    assert plan_of(server, skipped) == [("build", "run", unknown), ("test", "skip", "succeeded in job_2"),
                                        ("smoke", "run", unknown)]
    recorded = FakeServer(procedures, {"1": failed_job(), "2": skipped},
                          {"/jobs/1/ec_resume/failedAt": _at(2.5), "/jobs/1/ec_resume/failedStep": "test"})
    assert plan_of(recorded, skipped) == [("build", "skip", "succeeded in job_1"),
                                          ("test", "skip", "succeeded in job_2"),
                                          ("smoke", "run", "ran after the failure of test in job_1")]


def test_a_step_added_to_the_procedure_runs_and_a_removed_one_is_not_planned() -> None:
    procedures = dict(PIPELINE, **{"Shop/Release": [defined("build"), defined("lint"), defined("smoke")]})
    server = FakeServer(procedures, {"1": failed_job()})
    assert plan_of(server, failed_job()) == [("build", "skip", "succeeded in job_1"),
                                             ("lint", "run", "new in the procedure"),
                                             ("smoke", "run", "ran after the failure of test in job_1")]


def test_the_start_step_and_everything_after_it_runs() -> None:
    server = FakeServer(PIPELINE, {"1": failed_job()}, {"/jobs/1/ec_resume/failedAt": ""})
    plan = plan_of(server, failed_job(), from_step="deploy/jobSteps/runCommand")
    assert [(p, a, r) for p, a, r in plan if p in ("build", "test", "deploy", "smoke")] == [
        ("build", "skip", "succeeded in job_1"),
        ("test", "run", "failed"),
        ("deploy", "run", "runs 1 of its 1 steps"),  # no condition of its own: what its steps do
        ("smoke", "run", "at or after the start step")]


def test_a_job_of_another_procedure_a_running_chain_and_a_never_reached_step() -> None:
    other = job("9", [ran("build", second=1)], procedure="Nightly")
    server = FakeServer(PIPELINE, {"1": failed_job(), "9": other})
    assert plan_of(server, failed_job(), jobToRestart="9")[0] == (
        "build", "run", "not a job of this procedure")
    # Job 2 resumed job 1 and was aborted before test: test never reached; smoke, never reached with the
    # outcome skipped, is decided back in job 1 like a step its condition skipped.
    aborted = job("2", [ran("build", "skipped", 1), ran("test", "notRun"), ran("smoke", "skipped")],
                  restarts="1")
    procedures = {"Shop/Release": [defined("build"), defined("test"), defined("smoke")]}
    server = FakeServer(procedures, {"1": failed_job(), "2": aborted},
                        {"/jobs/1/ec_resume/failedAt": _at(2.5), "/jobs/1/ec_resume/failedStep": "test"})
    assert plan_of(server, aborted) == [
        ("build", "skip", "succeeded in job_1"), ("test", "run", "never reached"),
        ("smoke", "run", "ran after the failure of test in job_1")]
    first = job("3", [ran("build", "error", 1), ran("test", "skipped"), ran("smoke", "notRun")])
    server = FakeServer(procedures, {"3": first})
    assert [reason for _, _, reason in plan_of(server, first)] == ["failed", "never reached", "never reached"]


def test_the_job_being_restarted_counts_as_completed_and_unreadable_properties_read_as_empty() -> None:
    """CreateRestartLink plans from inside the still running job; a jobToRestart of an earlier job that
    fails to expand ends the chain there."""
    running = dict(failed_job(), status="running")
    server = FakeServer(PIPELINE, {"1": running}, {"/jobs/1/ec_resume/failedAt": ""})
    assert plan_of(server, running)[0] == ("build", "skip", "succeeded in job_1")
    second = job("2", [ran("build", "skipped", 1)], restarts="$[/myJob/nothing]")
    server = FakeServer({"Shop/Release": [defined("build")]}, {"2": second},
                        refused=("/jobs/2/jobToRestart",))
    assert plan_of(server, second) == [("build", "run", "skipped in job_2")]


@pytest.mark.parametrize("name", ["a/b", "br[ack]et", "[lead", "dollar$[", "$[/myJob/jobId]", "x/jobSteps/y"])
def test_a_step_whose_name_a_property_path_cannot_address_always_runs(name: str) -> None:
    restarted = job("1", [ran(name, second=1), ran("x", second=2, children=[ran("y", second=3)])])
    procedures = {"Shop/Release": [defined(name), defined("x", "", "Inner")], "Shop/Inner": [defined("y")]}
    server = FakeServer(procedures, {"1": restarted}, {"/jobs/1/ec_resume/failedAt": ""})
    assert plan_of(server, restarted) == [
        (name, "run", "name cannot be addressed in a property path; it always runs"),
        ("x", "skip", "all 1 of its steps skipped"),
        ("x/jobSteps/y", "skip", "succeeded in job_1")]


def test_json_text_counts_and_a_missing_called_procedure() -> None:
    server = FakeServer({"Shop/Release": [defined("build"), defined("gone", "", "Nowhere")]},
                        {"1": failed_job()}, {"/jobs/1/ec_resume/failedAt": ""})
    plan = plan_restart(server, failed_job(), {"jobToRestart": "1"})  # type: ignore[arg-type]
    assert plan.to_json() == {"jobId": "1", "steps": [
        {"path": "build", "action": "skip", "reason": "succeeded in job_1"},
        {"path": "gone", "action": "run", "reason": "no run condition: always runs"}]}
    assert [(line.kind, line.is_leaf) for line in plan.lines] == [("DONE", True), ("NO_CONDITION", True)]
    assert (plan.skip_count, plan.run_count) == (1, 1)
    text = render_plan(plan)
    assert text.splitlines()[0] == ("plan: restart of job_1 (1); done outcomes: success; rule: afterFailure; "
                                    "jobs read: job_1 (at most 10)")
    assert text.splitlines()[-1] == plan.summary() == "restart of job_1 would skip 1 step and run 1"


def test_the_start_step_must_be_a_step_path_of_the_job() -> None:
    assert validate_from_step(failed_job(), "deploy/jobSteps/runCommand") is None
    assert validate_from_step(failed_job(), "") is None
    assert validate_from_step(failed_job(), "deploy/runCommand") == (
        "start step 'deploy/runCommand': not a step of job 1; expected a step path such as "
        "deploy/jobSteps/upload (top-level steps: build, test, deploy, smoke, docs, announce)")


def test_the_steps_of_a_call_that_was_never_reached_are_never_reached_not_new() -> None:
    """deploy failed, so smoke's subprocedure never started: its steps were never made in job 1."""
    procedures = dict(PIPELINE, **{"Shop/Release": [
        defined("test"), defined("smoke", "", "ResumableStep", "/plugins/EC-Resume/project"),
        defined("docs", "", "Docs")]})
    procedures["Shop/Docs"] = [defined("render"), defined("lint")]
    first = job("4", [ran("test", "error", 1), ran("smoke", "skipped"),
                      ran("docs", second=2, children=[ran("render", second=3)])])
    server = FakeServer(procedures, {"4": first}, {"/plugins/EC-Resume/project/resume/rule": "perStep"})
    assert plan_of(server, first) == [
        ("test", "run", "failed"),
        ("smoke", "run", "runs 1 of its 1 steps"),
        ("smoke/jobSteps/runCommand", "run", "never reached"),
        ("docs", "run", "runs 1 of its 2 steps"),
        ("docs/jobSteps/render", "skip", "succeeded in job_4"),
        ("docs/jobSteps/lint", "run", "new in the procedure"),  # its caller ran: lint is new
    ]


def test_the_counts_leave_out_ec_resumes_own_restart_link_step() -> None:
    procedures = dict(PIPELINE, **{
        "Shop/Release": [defined("build"), defined("test"),
                         defined("links", "", "CreateRestartLink", "/plugins/EC-Resume/project")],
        f"{PLUGIN_PROJECT}/CreateRestartLink": [defined("createRestartLink", "")]})
    first = job("5", [ran("build", second=1), ran("test", "error", 2),
                      ran("links", second=3, children=[ran("createRestartLink", second=3)],
                          project=PLUGIN_PROJECT, procedure="CreateRestartLink")])
    server = FakeServer(procedures, {"5": first})
    plan = plan_restart(server, first, {"jobToRestart": "5"}, "")  # type: ignore[arg-type]
    assert [line.action for line in plan.lines] == ["skip", "run", "run", "run"]
    assert (plan.skip_count, plan.run_count) == (1, 1)
    assert plan.summary().endswith("would skip 1 step and run 1")
