"""The run condition gives the same decision under Mozilla Rhino and under the emulator's engine.

For every case of tests/plugin/run_condition_cases.py the case's jobs become real emulator records: a Store
holding the promoted plugin EC-Resume (its `resume` sheet with the promoted `runCondition` text, verbatim,
and the case's `doneOutcomes`/`maxChainDepth`), the earlier jobs with their actual parameters and job-step
trees, and the current job with its current step at the case's path. The step's run condition
`$[/plugins/EC-Resume/project/resume/runCondition]` is then expanded in that step's context exactly as
the engine expands a step's condition. The decision must equal the case's expected one, and Rhino's
(one Rhino process for the whole table, the fixture of test_run_condition_rhino). A last test runs a real
job through the engine and checks that its own condition handling decides the same.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from commander_emulator.context import Context
from commander_emulator.engine import Engine, condition_skips, rollup_outcome
from commander_emulator.expansion import expand
from commander_emulator.model import OUTCOMES, FormalParameter, Job, JobStep, Plugin, Procedure, Step, Store
from commander_emulator.plugins import mark_promoted
from devtools.package import read_identity
from tests.plugin.run_condition_cases import (
    CASES,
    CURRENT_JOB,
    REPO,
    JobRecord,
    RunConditionCase,
    read_run_condition,
)
from tests.plugin.test_run_condition_rhino import needs_rhino, rhino_results  # noqa: F401 - a fixture

# What a user's step puts in its run condition (the plugin's documented usage).
RUN_CONDITION_REF = "$[/plugins/EC-Resume/project/resume/runCondition]"
STEP_SEPARATOR = "/jobSteps/"  # how the case table (and property paths) join step names
PROJECT = "Shop"
PROCEDURE = "Pipeline"
WAIT = 30.0  # upper bound for the engine's job; never asserted on
MIN_COMPARED = 12  # the acceptance: at least 12 cases compared


def unsupported(case: RunConditionCase) -> Optional[str]:
    """Why the emulator cannot represent a case faithfully, or None when it can."""
    if case.get_property_throws:
        return ("the emulator's getProperty answers undefined for a missing property and never throws "
                "for it; a server whose getProperty throws is Rhino-only")
    if case.top_parent_empty:
        return ("the emulator's myJobStep.parent of a top-level step is undefined; a top parent that "
                "reads as an empty object is Rhino-only")
    return None


COMPARED = [case for case in CASES if unsupported(case) is None]
CASE_IDS = [case.name for case in CASES]


# ------------------------------------------------------------------------------ the case as records


def install_plugin_records(store: Store, settings: Dict[str, str]) -> Plugin:
    """The plugin as promotion leaves it: promoted, with its `resume` sheet holding the settings."""
    identity = read_identity(REPO)
    plugin = Plugin(key=identity.key, version=identity.version, label=identity.key)
    store.plugins[plugin.name] = plugin
    mark_promoted(store, plugin.name)
    sheet = store.project(plugin.name).properties.ensure_sheet("resume")
    sheet.set_value("runCondition", read_run_condition())  # verbatim, expandable like any promoted file
    for name, value in settings.items():
        sheet.set_value(name, value)
    return plugin


def _new_job(store: Store, job_id: str, params: Dict[str, str], status: str) -> Job:
    # The case's job ids are the job ids the condition reads from jobToRestart (/jobs/<id>/...).
    job = Job(name=f"job_{job_id}", project_name=PROJECT, procedure_name=PROCEDURE, launched_by="admin",
              id=job_id, actual_parameters=OrderedDict(params), status=status)
    job.store = store
    store.register_job(job)
    return job


def _job_step(store: Store, job: Job, parent: Optional[JobStep], names: Sequence[str]) -> JobStep:
    """The job step at the path `names`, creating the subprocedure call steps on the way."""
    siblings, owner, node = job.steps, PROCEDURE, parent
    for depth, name in enumerate(names):
        found = next((js for js in siblings if js.step_name == name), None)
        if found is None:
            is_call = depth < len(names) - 1
            called = f"{name} procedure" if is_call else None
            found = JobStep(step_name=name, job=job, parent=node,
                            step=Step(name=name, command=None if is_call else "exit 0", subprocedure=called,
                                      condition=RUN_CONDITION_REF),
                            project_name=PROJECT, procedure_name=owner, condition=RUN_CONDITION_REF,
                            called_project=PROJECT if is_call else None, called_procedure=called)
            siblings.append(found)
            store.register_job_step(found)
        elif depth < len(names) - 1 and not found.is_call:
            raise ValueError(f"job {job.id}: step '{name}' is both a command step and a subprocedure call "
                             "in the case's step paths: expected one kind per path")
        node, siblings, owner = found, found.children, found.called_procedure or owner
    assert node is not None
    return node


def _roll_up(steps: List[JobStep]) -> str:
    """Outcomes of call steps (and the job) from their children, as the engine rolls them up."""
    for js in steps:
        if js.is_call:
            js.outcome = _roll_up(js.children)
        js.status = "completed"
    return rollup_outcome((js.outcome, js.step.error_handling) for js in steps)


def add_finished_job(store: Store, job_id: str, record: JobRecord) -> Job:
    job = _new_job(store, job_id, record.params, "completed")
    for path, outcome in record.steps.items():
        _job_step(store, job, None, path.split(STEP_SEPARATOR)).outcome = outcome
    job.outcome = _roll_up(job.steps)
    return job


def build_case(case: RunConditionCase, workspace: Path) -> JobStep:
    """The case's world in a fresh Store; returns the current job's step whose condition is decided."""
    store = Store(str(workspace))
    store.add_user("admin", "changeme")
    store.ensure_project(PROJECT)
    install_plugin_records(store, case.plugin)
    for job_id, record in case.jobs.items():
        if job_id != CURRENT_JOB:
            add_finished_job(store, job_id, record)
    current = _new_job(store, CURRENT_JOB, case.jobs[CURRENT_JOB].params, "running")
    step = _job_step(store, current, None, case.step_path)
    node: Optional[JobStep] = step
    while node is not None:  # the calls around it are running; the step is waiting on its condition
        node.status = "running" if node.is_call else "runnable"
        node = node.parent
    return step


def emulator_decision(case: RunConditionCase, workspace: Path) -> str:
    step = build_case(case, workspace)
    return expand(Context.for_job_step(step), RUN_CONDITION_REF)


# ------------------------------------------------------------------------------------------ the tests


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_decision_in_the_emulator(index: int, tmp_path: Path) -> None:
    case = CASES[index]
    reason = unsupported(case)
    if reason is not None:
        pytest.skip(f"not representable in the emulator: {reason}")
    decision = emulator_decision(case, tmp_path)
    assert decision == case.expected, (
        f"{case.name}: step {'/'.join(case.step_path)!r} got {decision!r}, expected {case.expected!r}")


@needs_rhino
@pytest.mark.parametrize("index", range(len(CASES)), ids=CASE_IDS)
def test_same_decision_under_rhino_and_the_emulator(
        rhino_results: List[str],  # noqa: F811 - the imported fixture
        index: int, tmp_path: Path) -> None:
    case = CASES[index]
    reason = unsupported(case)
    if reason is not None:
        pytest.skip(f"not representable in the emulator: {reason}")
    decision = emulator_decision(case, tmp_path)
    assert decision == rhino_results[index], (f"{case.name}: step {'/'.join(case.step_path)!r}: "
                                              f"emulator {decision!r}, Rhino {rhino_results[index]!r}")


def _restart_chain(case: RunConditionCase) -> List[str]:
    """The existing jobs reached by following jobToRestart from the current job (no repeats)."""
    chain: List[str] = []
    job_id = case.jobs[CURRENT_JOB].params.get("jobToRestart", "").strip()
    while job_id in case.jobs and job_id not in chain and job_id != CURRENT_JOB:
        chain.append(job_id)
        job_id = case.jobs[job_id].params.get("jobToRestart", "").strip()
    return chain


def test_compared_cases_cover_the_acceptance_matrix() -> None:
    """At least 12 compared cases: no parameter; each outcome; a missing job; a missing step; three levels of
    nesting; a chain of three resumes; step names with spaces, quotes and non-ASCII text."""
    assert len(COMPARED) >= MIN_COMPARED, f"only {len(COMPARED)} cases compared, expected {MIN_COMPARED}+"

    def restarted(case: RunConditionCase) -> str:
        return case.jobs[CURRENT_JOB].params.get("jobToRestart", "").strip()

    def earlier_outcome(case: RunConditionCase) -> Optional[str]:
        job = case.jobs.get(restarted(case))
        return job.steps.get(STEP_SEPARATOR.join(case.step_path)) if job is not None else None

    covered = {
        "no parameter": any("jobToRestart" not in c.jobs[CURRENT_JOB].params for c in COMPARED),
        "a missing job": any(restarted(c) and restarted(c) not in c.jobs for c in COMPARED),
        "a missing step": any(restarted(c) in c.jobs and earlier_outcome(c) is None for c in COMPARED),
        "three levels of nesting": any(len(c.step_path) >= 3 for c in COMPARED),
        "a chain of three resumes": any(len(_restart_chain(c)) >= 3 for c in COMPARED),
        "spaces, quotes and non-ASCII names": any(
            " " in "".join(c.step_path) and ('"' in "".join(c.step_path) or "'" in "".join(c.step_path))
            and not "".join(c.step_path).isascii() for c in COMPARED),
    }
    covered.update({f"outcome {outcome}": any(earlier_outcome(c) == outcome for c in COMPARED)
                    for outcome in OUTCOMES})
    assert [what for what, yes in covered.items() if not yes] == []


# ------------------------------------------------------------------------------------ a real engine job

NESTED_CALLS = ("deploy", "install")
# Current job restarts C; C restarted B, B restarted A. "upload" was skipped in C and B and succeeded in
# A: done, so skipped again. "verify" was skipped in C and B but failed in A: it runs.
ENGINE_CHAIN = {
    "C": JobRecord(params={"jobToRestart": "B"},
                   steps={"deploy/jobSteps/install/jobSteps/upload": "skipped",
                          "deploy/jobSteps/install/jobSteps/verify": "skipped"}),
    "B": JobRecord(params={"jobToRestart": "A"},
                   steps={"deploy/jobSteps/install/jobSteps/upload": "skipped",
                          "deploy/jobSteps/install/jobSteps/verify": "skipped"}),
    "A": JobRecord(steps={"deploy/jobSteps/install/jobSteps/upload": "success",
                          "deploy/jobSteps/install/jobSteps/verify": "error"}),
}
ENGINE_EXPECTED = {"upload": "false", "verify": "true"}


def _procedure(store: Store, name: str, steps: List[Step], formals: Sequence[FormalParameter] = ()) -> None:
    store.ensure_project(PROJECT).procedures[name] = Procedure(
        name=name, project_name=PROJECT, steps=steps,
        formal_parameters=OrderedDict((f.name, f) for f in formals))


def test_engine_job_decides_like_expand_for_a_chain_of_resumes_with_nested_steps(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "workspaces"))
    store.add_user("admin", "changeme")
    install_plugin_records(store, {"doneOutcomes": "success", "maxChainDepth": "10"})
    for job_id, record in ENGINE_CHAIN.items():
        add_finished_job(store, job_id, record)
    _procedure(store, PROCEDURE, [Step("deploy", subprocedure="Deploy")],
               [FormalParameter("jobToRestart"), FormalParameter("resumeDoneOutcomes", default_value="")])
    _procedure(store, "Deploy", [Step("install", subprocedure="Install")])
    _procedure(store, "Install", [Step(name, command="exit 0", condition=RUN_CONDITION_REF)
                                  for name in ENGINE_EXPECTED])
    engine = Engine(store)
    job = engine.run_procedure(PROJECT, PROCEDURE, {"jobToRestart": "C"}, [], "admin")
    engine.wait(job.id, WAIT)

    install = job.steps[0].children[0]
    assert [js.path() for js in install.children] == [
        STEP_SEPARATOR.join((*NESTED_CALLS, name)) for name in ENGINE_EXPECTED]
    for js in install.children:
        by_expand = expand(Context.for_job_step(js), RUN_CONDITION_REF)
        assert (js.run_condition_result, by_expand) == (ENGINE_EXPECTED[js.step_name],) * 2, js.path()
        # skipped by the condition, or run to success: what a user sees on the job's page
        assert js.outcome == ("skipped" if condition_skips(by_expand) else "success"), js.path()
