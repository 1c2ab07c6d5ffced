"""The walk of a job tree (job_steps.walk_steps) that the failure point and the steps a property path
reaches are read from, with no record per step, checked against the walk it replaced: a function that
called itself and made a StepRecord and a StepRow per step, kept here as the oracle. Random trees hold
what makes a walk go wrong: duplicate and empty names, odd names (one that spells a call's child path),
a single step where a list should be, entries that are not steps, CreateRestartLink calls, failures at
the same moment and failures without a finish time. What the two may not disagree on is what a restart
skips: the failure point, and which step a path reaches."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ec_resume.job_steps import (
    JOB_STEPS_JOINER,
    ODD_CHARACTERS,
    StepRecord,
    addressable_raw_steps,
    addressable_steps,
    job_step_records,
    step_rows,
)
from ec_resume.resume_rule import FailurePoint, failure_point, is_plugin_project
from hypothesis import given, settings
from hypothesis import strategies as st

# ------------------------------------------------------------------------------- the walk it replaced


def _oracle_rows(job: Mapping[str, Any]) -> List[Tuple[StepRecord, int, Mapping[str, Any], str]]:
    rows: List[Tuple[StepRecord, int, Mapping[str, Any], str]] = []

    def walk(steps: Any, prefix: str, depth: int, project: str) -> None:
        above = prefix + JOB_STEPS_JOINER if prefix else ""
        for step in steps if isinstance(steps, list) else ([steps] if steps is not None else []):
            if not isinstance(step, Mapping):
                continue
            name = str(step.get("stepName", ""))
            path = above + name
            rows.append((StepRecord(path, name, str(step.get("outcome") or ""), str(step.get("status") or ""),
                                    str(step.get("jobStepId") or ""), str(step.get("start") or ""),
                                    str(step.get("finish") or "")), depth, step, project))
            called = step.get("calledProcedure")
            if isinstance(called, Mapping):
                walk(called.get("jobStep"), path, depth + 1, str(called.get("projectName") or ""))

    walk(job.get("jobStep"), "", 0, str(job.get("projectName") or ""))
    return rows


def _oracle_addressable(job: Mapping[str, Any]) -> Dict[str, Mapping[str, Any]]:
    found: Dict[str, Mapping[str, Any]] = {}
    odd: List[str] = []
    for record, _, raw, _ in _oracle_rows(job):
        path = record.path
        if not ODD_CHARACTERS.isdisjoint(record.step_name) or any(
                path.startswith(p + JOB_STEPS_JOINER) for p in odd):
            odd.append(path)
        elif path not in found:
            found[path] = raw
    return found


def _oracle_failure_point(job: Mapping[str, Any]) -> Optional[FailurePoint]:
    failed = []
    ignored: List[str] = []
    for order, (record, depth, raw, _) in enumerate(_oracle_rows(job)):
        if any(record.path == p or record.path.startswith(p + JOB_STEPS_JOINER) for p in ignored):
            continue
        called = raw.get("calledProcedure")
        if isinstance(called, Mapping) and str(called.get("procedureName") or "") == "CreateRestartLink" \
                and is_plugin_project(str(called.get("projectName") or "")):
            ignored.append(record.path)
            continue
        if record.outcome.strip().lower() == "error":
            failed.append(((record.finish == "", record.finish, -depth, order), record))
    if not failed:
        return None
    record = min(failed, key=lambda item: item[0])[1]
    return FailurePoint(record.path, record.finish)


# ---------------------------------------------------------------------------------------- random jobs

NAMES = st.sampled_from(["a", "b", "a", "", "x/jobSteps/y", "x", "y", "br[ack]et", "$[p]", "b/jobSteps/a"])
OUTCOMES = st.sampled_from(["success", "error", "Error ", "warning", "skipped", "", None])
FINISHES = st.sampled_from(["", "2024-01-01T00:00:01.000Z", "2024-01-01T00:00:02.000Z", None])
PROJECTS = st.sampled_from(["P", "EC-Resume", "EC-Resume-1.0.0", "Other"])
PROCEDURES = st.sampled_from(["Sub", "CreateRestartLink"])


def _steps(children: st.SearchStrategy[Any], names: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    step = st.fixed_dictionaries(
        {"stepName": names, "outcome": OUTCOMES, "finish": FINISHES,
         "jobStepId": st.integers(0, 10**6).map(lambda n: f"js{n}")},
        optional={"calledProcedure": st.fixed_dictionaries(
            {"projectName": PROJECTS, "procedureName": PROCEDURES}, optional={"jobStep": children})})
    listed = st.lists(st.one_of(step, st.just("not a step"), st.integers()), max_size=4)
    return st.one_of(listed, step)  # REST gives a single step as a dict, not a list


def _jobs(names: st.SearchStrategy[str]) -> st.SearchStrategy[Dict[str, Any]]:
    return st.recursive(st.just([]), lambda children: _steps(children, names), max_leaves=25).map(
        lambda steps: {"jobId": "1", "projectName": "P", "jobStep": steps})


JOBS = _jobs(NAMES)
# Plain names only (duplicates, "", and "jobSteps", which spells the joiner's middle): the jobs that
# addressable_raw_steps answers path by path, without indexing them whole.
PLAIN_JOBS = _jobs(st.sampled_from(["a", "b", "a", "", "jobSteps", "x"]))


@settings(max_examples=400, deadline=None)
@given(JOBS)
def test_the_walk_gives_every_step_the_old_walk_gave_in_the_same_order(job: Dict[str, Any]) -> None:
    rows = step_rows(job)
    expected = _oracle_rows(job)
    assert [(r.record, r.depth, r.project) for r in rows] == [(e[0], e[1], e[3]) for e in expected]
    assert all(r.raw is e[2] for r, e in zip(rows, expected))
    assert job_step_records(job) == [e[0] for e in expected]


def _paths_to_ask(job: Mapping[str, Any]) -> List[str]:
    """Every step's path, those a path cannot reach included, and paths of no step."""
    paths = [record.path for record, _, _, _ in _oracle_rows(job)]
    return paths + [p + JOB_STEPS_JOINER + "a" for p in paths] + ["", "a/jobSteps/", "zzz", "a/jobSteps/zzz"]


def _check_paths_reach_the_old_walks_steps(job: Dict[str, Any]) -> None:
    expected = _oracle_addressable(job)
    raw = addressable_raw_steps(job)
    for path in _paths_to_ask(job):
        assert raw.get(path) is expected.get(path), path
        assert (path in raw) == (path in expected), path
    assert list(raw) == list(expected) and len(raw) == len(expected)
    assert all(raw[path] is expected[path] for path in expected)
    # The record of each such step is the one the old walk made of that very step.
    oracle_records = {(record.path, id(step)): record for record, _, step, _ in _oracle_rows(job)}
    assert addressable_steps(job) == {path: oracle_records[path, id(step)] for path, step in expected.items()}


@settings(max_examples=400, deadline=None)
@given(JOBS)
def test_a_path_reaches_the_same_step_as_with_the_old_walk(job: Dict[str, Any]) -> None:
    _check_paths_reach_the_old_walks_steps(job)


@settings(max_examples=400, deadline=None)
@given(PLAIN_JOBS)
def test_in_a_plainly_named_job_a_path_reaches_the_same_step_as_before(job: Dict[str, Any]) -> None:
    _check_paths_reach_the_old_walks_steps(job)


def test_a_plainly_named_job_is_answered_path_by_path_and_any_other_indexed_whole() -> None:
    plain = {"jobId": "1", "jobStep": [
        {"stepName": "a", "calledProcedure": {"jobStep": [{"stepName": "b"}]}},
        {"stepName": "a", "calledProcedure": {"jobStep": [{"stepName": "c"}]}}]}
    steps = addressable_raw_steps(plain)
    assert not isinstance(steps, dict)  # path by path
    assert steps["a/jobSteps/c"] is plain["jobStep"][1]["calledProcedure"]["jobStep"][0]  # the second a's
    assert steps.get("a/jobSteps/d") is None and "a/jobSteps/b/jobSteps/x" not in steps
    odd = {"jobId": "1", "jobStep": [{"stepName": "a/jobSteps/b"}, {"stepName": "a"}]}
    empty_call = {"jobId": "1", "jobStep": [
        {"stepName": "", "calledProcedure": {"jobStep": [{"stepName": "a"}]}}]}
    assert isinstance(addressable_raw_steps(odd), dict)
    assert isinstance(addressable_raw_steps(empty_call), dict)
    assert list(addressable_raw_steps(empty_call)) == ["", "a"]  # the call's step reads as a top-level one


@settings(max_examples=400, deadline=None)
@given(JOBS)
def test_the_failure_point_is_the_one_the_old_walk_found(job: Dict[str, Any]) -> None:
    assert failure_point(job) == _oracle_failure_point(job)


def test_the_random_jobs_hold_what_the_walk_must_get_right() -> None:
    """The strategy can make the hard cases (else the tests above prove little)."""
    nested = {"jobId": "1", "jobStep": [
        {"stepName": "x/jobSteps/y", "outcome": "error", "finish": "2024-01-01T00:00:01.000Z"},
        {"stepName": "x", "calledProcedure": {"projectName": "P", "procedureName": "Sub", "jobStep": {
            "stepName": "y", "outcome": "error", "finish": "2024-01-01T00:00:01.000Z"}}},
        {"stepName": "link", "calledProcedure": {"projectName": "EC-Resume-1.0.0",
                                                  "procedureName": "CreateRestartLink", "jobStep": [
                                                      {"stepName": "inner", "outcome": "error",
                                                       "finish": "2024-01-01T00:00:00.000Z"}]}}]}
    assert failure_point(nested) == _oracle_failure_point(nested) == FailurePoint(
        "x/jobSteps/y", "2024-01-01T00:00:01.000Z")  # the deeper of the two that failed at the same moment
    assert list(addressable_raw_steps(nested)) == list(_oracle_addressable(nested)) == [
        "x", "x/jobSteps/y", "link", "link/jobSteps/inner"]
