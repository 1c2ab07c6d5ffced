"""The Python resume rule (lib/ec_resume/resume_rule.py) decides every case of the shared case table as the
run condition does (tests/plugin/run_condition_cases.py), with the expected reason; step paths of a job
tree; the settings as the run condition reads them; the failure point."""

from __future__ import annotations

import re
from typing import Callable, List, Optional

import pytest
from ec_resume.job_steps import StepRecord, addressable_steps, job_step_records, outcome_property_path
from ec_resume.resume_rule import (
    DEFAULT_MAX_DEPTH,
    RULE_AFTER_FAILURE,
    RULE_PER_STEP,
    Decision,
    FailurePoint,
    JobFacts,
    Reason,
    decide,
    failure_point,
    job_facts,
    parse_done_outcomes,
    parse_max_depth,
    parse_rule,
    settings_for,
    usable_job,
)
from hypothesis import example, given
from hypothesis import strategies as st

from tests.plugin.run_condition_cases import (
    CASES,
    CURRENT_JOB,
    PLUGIN_SETTINGS,
    CaseWorld,
    PropertyFailure,
    RunConditionCase,
)

# ------------------------------------------------------------------------------- the shared case table


def _reader(world: CaseWorld, prefix: str) -> Callable[[str], Optional[str]]:
    def read(name: str) -> Optional[str]:
        try:
            return world.get_property(prefix + name)
        except PropertyFailure:  # the run condition reads a failed read as ""
            return None

    return read


def python_decision(case: RunConditionCase) -> Decision:
    """The case through the Python rule, its inputs read the way the planner reads a server's."""
    world = CaseWorld(case)
    details = world.details(CURRENT_JOB)
    current = job_facts(details, _reader(world, "/myJob/"), list(addressable_steps(details)))

    def jobs(ref: str) -> Optional[JobFacts]:
        job_id = world.job_id(ref)
        if job_id is None:
            return None
        return job_facts(world.details(job_id), _reader(world, f"/jobs/{job_id}/"))

    settings = settings_for(current.done_outcomes, _reader(world, PLUGIN_SETTINGS))
    return decide(case.script_names(), case.script_step_id(), current, jobs, settings)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_python_rule_decides_each_case_like_the_run_condition(case: RunConditionCase) -> None:
    decision = python_decision(case)
    assert (decision.kind.name, "false" if decision.done else "true") == (case.kind, case.expected), (
        f"{case.name}: {decision}")


def test_every_reason_kind_is_exercised_by_the_case_table() -> None:
    assert {case.kind for case in CASES} == {reason.name for reason in Reason}
    assert all(case.kind == Reason.DONE.name for case in CASES if case.expected == "false")


def test_a_skip_names_the_job_and_outcome_it_was_decided_in() -> None:
    case = next(c for c in CASES if c.name == "chain C,B skipped, A success -> skip")
    assert python_decision(case) == Decision(True, Reason.DONE, "A", "success")
    after = next(c for c in CASES if c.name == "a step that ran after the failure runs")
    assert python_decision(after) == Decision(False, Reason.RAN_AFTER_FAILURE, "earlier", "success",
                                              "deploy/jobSteps/upload")


# -------------------------------------------------------------------------------------------- job trees


def step(name: str, outcome: str = "success", children: Optional[List[dict]] = None, **more: str) -> dict:
    record = {"jobStepId": f"id-{name}", "stepName": name, "outcome": outcome, "status": "completed", **more}
    if children is not None:
        record["calledProcedure"] = {"jobStep": children}
    return record


def test_paths_walk_three_levels_of_subprocedure_calls_in_job_order() -> None:
    tree = {"jobId": "1", "jobStep": [
        step("build"),
        step("deploy", children=[step("upload"), step("install", children=[step("unpack", "error")])]),
        step("notify", "skipped")]}
    records = job_step_records(tree)
    assert [r.path for r in records] == [
        "build", "deploy", "deploy/jobSteps/upload", "deploy/jobSteps/install",
        "deploy/jobSteps/install/jobSteps/unpack", "notify"]
    assert records[4] == StepRecord(path="deploy/jobSteps/install/jobSteps/unpack", step_name="unpack",
                                    outcome="error", status="completed", job_step_id="id-unpack")


def test_a_single_dict_where_rest_should_give_a_list_is_read_as_a_one_element_list() -> None:
    tree = {"jobId": "1", "jobStep": step("deploy", children=step("upload", "warning"))}
    assert [(r.path, r.outcome) for r in job_step_records(tree)] == [
        ("deploy", "success"), ("deploy/jobSteps/upload", "warning")]


def test_an_odd_named_step_and_its_children_are_not_addressable() -> None:
    tree = {"jobId": "1", "jobStep": [step("x/jobSteps/y", "error"), step("x", children=[step("y")]),
                                      step("br[ack]et", children=[step("inner")])]}
    found = addressable_steps(tree)
    assert sorted(found) == ["x", "x/jobSteps/y"]
    assert found["x/jobSteps/y"].job_step_id == "id-y"  # call x's child, never the top-level odd name


def test_outcome_property_path_addresses_the_nested_step() -> None:
    assert (outcome_property_path("42", "deploy/jobSteps/upload")
            == "/jobs/42/jobSteps/deploy/jobSteps/upload/outcome")


# --------------------------------------------------------------------------------------------- settings


def test_done_outcomes_depth_and_rule_are_read_as_the_run_condition_reads_them() -> None:
    assert parse_done_outcomes(" success , Warn ing\n") == {"success", "warning"}
    assert parse_done_outcomes("  ") == {"success"}
    assert parse_done_outcomes(" , ") == frozenset()  # given but naming nothing: nothing is done
    assert parse_max_depth(" 3\n") == 3
    unparsable = ("ten", "0", "+3", "3 jobs", "٣", None)
    assert [parse_max_depth(text) for text in unparsable] == [DEFAULT_MAX_DEPTH] * len(unparsable)
    assert [parse_rule(text) for text in ("perStep", " PERSTEP ", "per step")] == [RULE_PER_STEP] * 3
    assert [parse_rule(text) for text in ("", None, "afterFailure", "per-step")] == [RULE_AFTER_FAILURE] * 4


# The regular expressions the rule used: str methods and sets took their place, so that a step need not
# compile them. Text that is near the edge of each: ASCII and other letters and digits, white space.
REFERENCE, DIGITS, WHITE_SPACE = r"[A-Za-z0-9_][A-Za-z0-9_.:-]*\Z", r"[0-9]+", r"\s+"
ODD = "\u212a\u0131\u00e9\u0663\u00b2\u00a0\u2028\u3000\x1c\x85\ufeff"  # letters, digits, spaces beyond ASCII
NEAR = st.text(st.one_of(st.characters(max_codepoint=0x7f), st.sampled_from(ODD)))


@given(NEAR)
@example("e" * 10240)
@example("a\n")
@example("-1")
@example(".job_1")
@example("a.b:c-d_9")
def test_a_job_reference_is_what_the_regular_expression_matched(text: str) -> None:
    current = JobFacts(job_id="current")
    _, reason = usable_job(text, current, lambda ref: None)
    matched = bool(re.match(REFERENCE, text.strip()))
    assert reason == (Reason.JOB_NOT_FOUND if matched else
                      Reason.NO_JOB_TO_RESTART if not text.strip() else Reason.BAD_JOB_REFERENCE)


@given(NEAR)
@example("\u0663")
@example(" 12 ")
def test_the_settings_read_as_with_the_regular_expressions(text: str) -> None:
    squeezed = re.sub(WHITE_SPACE, "", text.lower())
    assert parse_rule(text) == (RULE_PER_STEP if squeezed == "perstep" else RULE_AFTER_FAILURE)
    if text.strip():
        assert parse_done_outcomes(text) == frozenset(part for part in squeezed.split(",") if part)
    value = text.strip()
    depth = int(value) if re.fullmatch(DIGITS, value) and int(value) >= 1 else DEFAULT_MAX_DEPTH
    assert parse_max_depth(text) == depth


def test_the_jobs_own_done_outcomes_come_before_the_plugins() -> None:
    plugin = {"doneOutcomes": "success,warning", "maxChainDepth": "4", "rule": "perStep"}.get
    assert settings_for("success", plugin).done_outcomes == {"success"}
    assert settings_for(" ", plugin).done_outcomes == {"success", "warning"}
    assert (settings_for("", plugin).max_depth, settings_for("", plugin).rule) == (4, RULE_PER_STEP)
    assert settings_for("", {}.get).done_outcomes == {"success"}


# ---------------------------------------------------------------------------------------- failure point


def _at(second: int, half: bool = True) -> str:
    return f"2024-05-01T10:00:{second:02d}.{'500' if half else '000'}Z"


def test_the_failure_point_is_the_first_failed_step_by_finish_time() -> None:
    job = {"jobId": "1", "jobStep": [
        step("build", finish=_at(1)),
        step("deploy", "error", [step("prepare", finish=_at(2)), step("upload", "error", finish=_at(3))],
             finish=_at(3)),
        step("smoke", "error", finish=_at(4))]}
    assert failure_point(job) == FailurePoint("deploy/jobSteps/upload", _at(3))


def test_a_parallel_step_that_failed_first_is_the_failure_point_whatever_its_place() -> None:
    job = {"jobId": "1", "jobStep": [step("a", "error", finish=_at(9)), step("b", "error", finish=_at(5)),
                                     step("c", "error")]}  # c has no finish time: after every timed one
    assert failure_point(job) == FailurePoint("b", _at(5))


def test_the_restart_link_step_and_a_job_without_errors_have_no_failure_point() -> None:
    link = step("links", "error", [step("createRestartLink", "error", finish=_at(1))], finish=_at(1))
    link["calledProcedure"].update(projectName="EC-Resume-1.0.0", procedureName="CreateRestartLink")
    assert failure_point({"jobId": "1", "jobStep": [step("build", finish=_at(0)), link]}) is None
    assert failure_point({"jobId": "1", "jobStep": [step("build", "warning", finish=_at(0))]}) is None
    mine = step("links", "error", [step("inner", "error", finish=_at(2))], finish=_at(2))
    mine["calledProcedure"].update(projectName="Shop", procedureName="CreateRestartLink")
    assert failure_point({"jobId": "1", "jobStep": [mine]}) == FailurePoint("links/jobSteps/inner", _at(2))
