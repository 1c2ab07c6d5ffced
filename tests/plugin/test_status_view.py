"""status_view: what `ec-resume status` says of each step, above all why a skipped step was skipped."""

from __future__ import annotations

from typing import Any, Dict

from ec_resume.enable_resume import WRAPPED_CONDITION
from ec_resume.lineage import Lineage
from ec_resume.status_view import (
    NEVER_REACHED,
    SKIPPED_BY_CONDITION,
    SKIPPED_BY_EITHER,
    SKIPPED_BY_RESUME,
    render_status,
    status_json,
    step_statuses,
)

RC = "$[/plugins/EC-Resume/project/resume/runCondition]"


def step(name: str, outcome: str, started: bool = True, condition: str = RC, **extra: Any) -> Dict[str, Any]:
    record = {"stepName": name, "outcome": outcome, "status": "completed", "condition": condition,
              "jobStepId": f"id-{name}", **extra}
    if started:
        record.update(start="2024-01-31T12:00:00.000Z", finish="2024-01-31T12:01:05.400Z")
    return record


def job(resumes: str, *steps: Dict[str, Any]) -> Dict[str, Any]:
    return {"jobId": "9", "jobName": "job_9", "projectName": "P", "procedureName": "Release",
            "status": "completed", "outcome": "error", "jobStep": list(steps),
            "actualParameter": [{"actualParameterName": "jobToRestart", "value": resumes}]}


def test_a_skipped_step_says_whether_the_resume_skipped_it_or_it_was_never_reached():
    resumed = job("5", step("build", "skipped"), step("own", "skipped", condition="$[/myJob/wanted]"),
                  step("test", "error"), step("later", "skipped", started=False),
                  step("unreached", "notRun", started=False))
    notes = {s.path: s.note for s in step_statuses(resumed, {})}
    assert notes == {"build": SKIPPED_BY_RESUME, "own": SKIPPED_BY_CONDITION, "test": "",
                     "later": NEVER_REACHED, "unreached": NEVER_REACHED}
    fresh = job("", step("build", "skipped"))  # no jobToRestart: not a resume, whatever the condition
    assert step_statuses(fresh, {})[0].note == SKIPPED_BY_CONDITION


def test_the_table_shows_duration_and_summary_and_the_lineage_comes_before_the_outcome():
    failed = job("5", step("build", "skipped"), step("test", "error"),
                 step("deploy", "skipped", started=False, calledProcedure={"jobStep": [
                     step("upload", "skipped", started=False)]}))
    steps = step_statuses(failed, {"id-test": "3 of 40\ntests failed"})
    lineage = Lineage(resumes="5", chain_root="1", resumed_by={"12": "link"}, failed_step="test")
    text = render_status(failed, steps, lineage, {"5": "job_5", "1": "job_1", "12": "job_12"})
    lines = text.splitlines()
    assert lines[0] == "job_9 (9)  P/Release  error"
    assert lines[1].split() == ["STEP", "OUTCOME", "DURATION", "SUMMARY"]
    assert lines[2].split() == ["build", "skipped", "1m05s", "(skipped", "by", "the", "resume)"]
    assert lines[3].split() == ["test", "error", "1m05s", "3", "of", "40", "tests", "failed"]
    assert lines[5].split()[:3] == ["upload", "skipped", "-"] and lines[5].startswith("  upload")
    assert lines[6:] == ["resumes: job_5 (chain root job_1)", "failed first: test",
                         "resumed by: job_12 (link)", "outcome: error"]
    data = status_json(failed, steps, lineage)
    assert data["lineage"]["resumedBy"] == {"12": "link"}
    assert [s["path"] for s in data["steps"]] == ["build", "test", "deploy", "deploy/jobSteps/upload"]
    assert data["steps"][1]["summary"] == "3 of 40 tests failed"


def test_a_call_skipped_because_all_its_steps_were_skipped_says_so():
    resumed = job("5", step("deploy", "skipped", condition="", calledProcedure={"jobStep": [
        step("runCommand", "skipped"), step("verify", "skipped")]}),
        step("docs", "skipped", condition="", calledProcedure={"jobStep": []}))
    notes = {s.path: s.note for s in step_statuses(resumed, {})}
    assert notes["deploy"] == "all of its steps skipped"
    assert notes["deploy/jobSteps/runCommand"] == SKIPPED_BY_RESUME
    assert notes["docs"] == SKIPPED_BY_CONDITION  # no steps to tell by: it was not the roll-up


def test_a_step_whose_own_condition_enable_resume_wrapped_is_skipped_by_either():
    resumed = job("5", step("docs", "skipped", condition=WRAPPED_CONDITION))
    assert step_statuses(resumed, {})[0].note == SKIPPED_BY_EITHER
