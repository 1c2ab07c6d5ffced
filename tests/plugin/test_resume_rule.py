"""Step paths of a job tree, the resume decision that mirrors the run condition, and the plan built on it."""

from __future__ import annotations

from ec_resume.job_steps import StepRecord, job_step_records, outcome_property_path
from ec_resume.report import PLUGIN_RUN_CONDITION, build_plan, explain
from ec_resume.resume_rule import (
    Decision,
    JobView,
    Reason,
    decide,
    parse_done_outcomes,
    parse_max_depth,
    views_by_id,
)


def step(name: str, outcome: str = "success", children: list | dict | None = None, sid: str = "") -> dict:
    record = {"jobStepId": sid or f"id-{name}", "stepName": name, "outcome": outcome, "status": "completed",
              "condition": PLUGIN_RUN_CONDITION}
    if children is not None:
        record["calledProcedure"] = {"jobStep": children}
    return record


def job(job_id: str, steps: list, job_to_restart: str = "") -> dict:
    return {"jobId": job_id, "jobName": f"job_{job_id}", "projectName": "P", "procedureName": "Build",
            "actualParameter": [{"actualParameterName": "jobToRestart", "value": job_to_restart}],
            "jobStep": steps}


def test_paths_walk_three_levels_of_subprocedure_calls_in_job_order():
    tree = job("1", [step("build"),
                     step("deploy", children=[step("upload"),
                                              step("install", children=[step("unpack", "error")])]),
                     step("notify", "skipped")])
    records = job_step_records(tree)
    assert [r.path for r in records] == [
        "build", "deploy", "deploy/jobSteps/upload", "deploy/jobSteps/install",
        "deploy/jobSteps/install/jobSteps/unpack", "notify"]
    assert records[4] == StepRecord(path="deploy/jobSteps/install/jobSteps/unpack", step_name="unpack",
                                    outcome="error", status="completed", job_step_id="id-unpack")


def test_a_single_dict_where_rest_should_give_a_list_is_read_as_a_one_element_list():
    tree = {"jobId": "1", "jobStep": step("deploy", children=step("upload", "warning"))}
    assert [(r.path, r.outcome) for r in job_step_records(tree)] == [
        ("deploy", "success"), ("deploy/jobSteps/upload", "warning")]


def test_outcome_property_path_addresses_the_nested_step():
    assert (outcome_property_path("42", "deploy/jobSteps/upload")
            == "/jobs/42/jobSteps/deploy/jobSteps/upload/outcome")


def test_done_outcomes_and_depth_settings_are_read_leniently():
    assert parse_done_outcomes(" success , warning\n") == {"success", "warning"}
    assert parse_done_outcomes("  ") == {"success"}
    assert parse_max_depth(" 3\n") == 3
    assert parse_max_depth("ten") == 10
    assert parse_max_depth("0") == 10


def chain_jobs() -> list:
    """Job 1 failed at 'test'; job 2 restarted 1 (skipped build) and failed at deploy/upload;
    job 3 restarted 2 and was aborted before 'notify' ran. The job to restart first."""
    j1 = job("1", [step("build"), step("test", "error"),
                   step("deploy", "skipped", [step("upload", "skipped")]), step("notify", "skipped")])
    j2 = job("2", [step("build", "skipped"), step("test"),
                   step("deploy", "error", [step("upload", "error")]), step("notify")], job_to_restart="1")
    j3 = job("3", [step("build", "skipped"), step("test", "skipped"),
                   step("deploy", "success", [step("upload")]), step("notify", "notRun")], job_to_restart="2")
    return [j3, j2, j1]


def chain() -> dict:
    return views_by_id(chain_jobs())


def is_done(step_path: str, job_id: str, jobs: dict, **settings) -> bool:
    return decide(step_path, job_id, jobs, **settings).done


def test_a_step_skipped_by_an_earlier_restart_counts_as_done_through_the_chain():
    jobs = chain()
    assert is_done("build", "3", jobs)  # skipped in 3, skipped in 2, success in 1
    assert is_done("test", "3", jobs)  # skipped in 3, success in 2
    assert is_done("deploy/jobSteps/upload", "3", jobs)


def test_a_step_an_abort_never_reached_runs_again():
    jobs = chain()
    assert not is_done("notify", "3", jobs)  # notRun
    # skipped in job 1, which restarted nothing: never done anywhere
    assert not is_done("deploy/jobSteps/upload", "1", jobs)


def test_missing_job_missing_step_and_empty_parameter_mean_run():
    jobs = chain()
    assert not is_done("build", "99", jobs)
    assert not is_done("lint", "3", jobs)
    assert not is_done("build", "", jobs)


def test_chain_depth_limits_how_far_back_a_skip_is_followed():
    jobs = chain()
    assert is_done("build", "3", jobs, max_depth=3)
    assert not is_done("build", "3", jobs, max_depth=2)


def test_a_job_defined_done_list_decides_what_counts_as_done():
    jobs = views_by_id([job("1", [step("build", "warning")])])
    assert not is_done("build", "1", jobs)
    assert is_done("build", "1", jobs, done_outcomes={"success", "warning"})


def test_a_restart_loop_ends_in_run_instead_of_hanging():
    jobs = {"1": JobView("1", job_to_restart="2", outcomes={"a": "skipped"}),
            "2": JobView("2", job_to_restart="1", outcomes={"a": "skipped"})}
    assert not is_done("a", "1", jobs, max_depth=50)


def test_plan_lists_each_step_of_the_job_to_restart_with_its_reason():
    entries = build_plan(chain_jobs(), chain(), {"success"}, 10).lines
    assert [(e.path, e.action) for e in entries] == [
        ("build", "skip"), ("test", "skip"), ("deploy", "skip"), ("deploy/jobSteps/upload", "skip"),
        ("notify", "run")]
    assert decide("build", "3", chain()) == Decision(True, Reason.DONE, "1", "success", ("3", "2"))
    assert decide("notify", "3", chain()) == Decision(False, Reason.NOT_DONE, "3", "notRun")


def test_a_missing_job_says_why_its_steps_run():
    decision = decide("build", "99", chain())
    assert decision == Decision(False, Reason.JOB_NOT_FOUND, "99")
    assert explain("build", decision, 10, {}) == "job 99 not found"


def test_outcomes_compare_without_regard_to_case_like_the_run_condition():
    jobs = {"A": JobView(job_id="A", outcomes={"build": "Success"}),
            "B": JobView(job_id="B", job_to_restart="A", outcomes={"build": "SKIPPED"})}
    assert is_done("build", "B", jobs, done_outcomes={"SUCCESS"})
