"""The run condition gives the same decision under Mozilla Rhino and under the emulator's engine.

For every case of tests/plugin/run_condition_cases.py the case's jobs become real emulator records: a Store
holding the promoted plugin EC-Resume (its `resume` sheet with the promoted `runCondition` text, verbatim,
and the case's settings), the earlier jobs with their project, procedure, status, actual parameters,
job properties (ec_resume/...) and job-step trees with outcomes, start and finish times, and the current
job with its current step at the case's path, under the case's topLevelParent setting (issue 14). The
step's run condition `$[/plugins/EC-Resume/project/resume/runCondition]` is then expanded in that step's
context exactly as the engine expands a step's condition. The decision must equal the case's expected
one, and Rhino's (one Rhino process for the whole table, the fixture of test_run_condition_rhino). A last
test runs a real job through the engine, under each topLevelParent, and checks that its own condition
handling decides the same.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

from commander_emulator.context import Context
from commander_emulator.engine import Engine, condition_skips
from commander_emulator.expansion import expand
from commander_emulator.model import FormalParameter, Job, JobStep, Plugin, Procedure, Step, Store
from commander_emulator.plugins import mark_promoted
from devtools.package import read_identity
from tests.plugin.run_condition_cases import (
    CASES,
    CURRENT_JOB,
    PROCEDURE,
    PROJECT,
    REPO,
    JobRecord,
    RunConditionCase,
    S,
    read_run_condition,
)
from tests.plugin.run_condition_cases import Step as CaseStep
from tests.plugin.test_run_condition_rhino import needs_rhino, rhino_results  # noqa: F401 - a fixture

# What a user's step puts in its run condition (the plugin's documented usage).
RUN_CONDITION_REF = "$[/plugins/EC-Resume/project/resume/runCondition]"
STEP_SEPARATOR = "/jobSteps/"  # how the case table (and property paths) join step names
WAIT = 30.0  # upper bound for the engine's job; never asserted on
MIN_COMPARED = 12  # the acceptance: at least 12 cases compared
# The case table's top_parent -> the emulator's topLevelParent setting (None: not representable).
TOP_LEVEL_PARENT = {"none": "none", "job": "job", "rootStep": "rootStep", "empty": None}


def unsupported(case: RunConditionCase) -> Optional[str]:
    """Why the emulator cannot represent a case faithfully, or None when it can."""
    if case.get_property_throws:
        return ("the emulator's getProperty answers undefined for a missing property and throws only for "
                "a bad path or a failed expansion; a server whose every read throws is Rhino-only")
    if TOP_LEVEL_PARENT[case.top_parent] is None:
        return ("the emulator's myJobStep.parent of a top-level step is nothing, the job or a root step "
                "(topLevelParent); a top parent that reads as an empty object is Rhino-only")
    if case.step_id_mismatch or not case.step_id_on_object:
        return ("the emulator's myJobStep always carries its own jobStepId; a step object whose id is "
                "missing or is another step's is Rhino-only")
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


def _new_job(store: Store, job_id: str, record: JobRecord, status: str) -> Job:
    # The case's job ids are the job ids the condition reads from jobToRestart (/jobs/<id>/...).
    job = Job(name=record.label(job_id), project_name=record.project, procedure_name=record.procedure,
              launched_by="admin", id=job_id, actual_parameters=OrderedDict(record.params), status=status)
    for path, value in record.props.items():  # "ec_resume/failedAt": a sheet, then the property
        *sheets, name = path.split("/")
        sheet = job.properties
        for sheet_name in sheets:
            sheet = sheet.ensure_sheet(sheet_name)
        sheet.set_value(name, value)
    job.store = store
    store.register_job(job)
    return job


def _job_steps(store: Store, job: Job, parent: Optional[JobStep], steps: Sequence[CaseStep],
               owner: str) -> List[JobStep]:
    """The case's (timed) step tree as job steps; a step with children is a subprocedure call."""
    made = []
    for spec in steps:
        called = f"{spec.name} procedure" if spec.children else None
        js = JobStep(step_name=spec.name, job=job, parent=parent,
                     step=Step(name=spec.name, command=None if called else "exit 0", subprocedure=called,
                               condition=RUN_CONDITION_REF),
                     project_name=job.project_name, procedure_name=owner, condition=RUN_CONDITION_REF,
                     called_project=job.project_name if called else None, called_procedure=called,
                     outcome=spec.outcome or None, start=spec.start or None, finish=spec.finish or None,
                     status="completed" if spec.outcome else "pending")
        store.register_job_step(js)
        js.children = _job_steps(store, job, js, spec.children, called or owner)
        made.append(js)
    return made


def _find(steps: List[JobStep], names: Sequence[str]) -> JobStep:
    node: Optional[JobStep] = None
    for name in names:
        node = next(js for js in steps if js.step_name == name)
        steps = node.children
    assert node is not None
    return node


def build_case(case: RunConditionCase, workspace: Path) -> JobStep:
    """The case's world in a fresh Store; returns the current job's step whose condition is decided."""
    store = Store(str(workspace))
    store.settings.top_level_parent = TOP_LEVEL_PARENT[case.top_parent] or "none"
    store.add_user("admin", "changeme")
    store.ensure_project(PROJECT)
    install_plugin_records(store, case.plugin)
    trees = case.timed_jobs()
    for job_id, record in case.jobs.items():
        status = "running" if job_id == CURRENT_JOB else record.status
        job = _new_job(store, job_id, record, status)
        job.steps = _job_steps(store, job, None, trees[job_id], record.procedure)
        job.outcome = None if job_id == CURRENT_JOB else "error"  # not read by the rule
    current = store.jobs[CURRENT_JOB]
    step = _find(current.steps, case.step_path)
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
    """Every reason kind the emulator can show is compared, the named root step among them (issue 14),
    and at least 12 cases in all: each outcome, three levels of nesting, a chain of three resumes, the odd
    names of issue 8, spaces, quotes and non-ASCII text."""
    assert len(COMPARED) >= MIN_COMPARED, f"only {len(COMPARED)} cases compared, expected {MIN_COMPARED}+"
    kinds = {case.kind for case in COMPARED}
    assert kinds >= {case.kind for case in CASES} - {"PATH_UNVERIFIED"}
    names = {name for case in COMPARED for name in case.step_path}
    covered = {
        "a named root step": any(c.top_parent == "rootStep" for c in COMPARED),
        "three levels of nesting": any(len(c.step_path) >= 3 for c in COMPARED),
        "a chain of three resumes": any(len(_restart_chain(c)) >= 3 for c in COMPARED),
        "odd names": {"a/b", "br[ack]et", "[lead", "dollar$[", "$[/myJob/jobId]", "x/jobSteps/y"} <= names,
        "spaces, quotes and non-ASCII names": any(" " in n and '"' in n and not n.isascii() for n in names),
    }
    assert [what for what, yes in covered.items() if not yes] == []


# ------------------------------------------------------------------------------------ a real engine job

# Current job restarts C; C restarted B, B restarted A. "upload" was skipped in C and B and succeeded in
# A: done, so skipped again. "verify" was skipped in C and B but failed in A: it runs.
def _install(*outcomes: str) -> tuple:
    return (S("deploy", outcomes[0], S("install", outcomes[0], S("upload", outcomes[0]),
                                       S("verify", outcomes[1]))),)


ENGINE_CHAIN = {
    "C": JobRecord(params={"jobToRestart": "B"}, steps=_install("skipped", "skipped")),
    "B": JobRecord(params={"jobToRestart": "A"}, steps=_install("skipped", "skipped")),
    "A": JobRecord(steps=_install("success", "error")),
}
ENGINE_EXPECTED = {"upload": "false", "verify": "true"}


def _procedure(store: Store, name: str, steps: List[Step], formals: Sequence[FormalParameter] = ()) -> None:
    store.ensure_project(PROJECT).procedures[name] = Procedure(
        name=name, project_name=PROJECT, steps=steps,
        formal_parameters=OrderedDict((f.name, f) for f in formals))


@pytest.mark.parametrize("top_level_parent", ["none", "job", "rootStep"])
def test_engine_job_decides_like_expand_for_a_chain_of_resumes_with_nested_steps(
        tmp_path: Path, top_level_parent: str) -> None:
    store = Store(str(tmp_path / "workspaces"))
    store.settings.top_level_parent = top_level_parent
    store.add_user("admin", "changeme")
    install_plugin_records(store, {"doneOutcomes": "success", "maxChainDepth": "10"})
    for job_id, record in ENGINE_CHAIN.items():
        job = _new_job(store, job_id, record, "completed")
        job.steps = _job_steps(store, job, None, record.steps, PROCEDURE)
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
        STEP_SEPARATOR.join(("deploy", "install", name)) for name in ENGINE_EXPECTED]
    for js in install.children:
        by_expand = expand(Context.for_job_step(js), RUN_CONDITION_REF)
        assert (js.run_condition_result, by_expand) == (ENGINE_EXPECTED[js.step_name],) * 2, js.path()
        # skipped by the condition, or run to success: what a user sees on the job's page
        assert js.outcome == ("skipped" if condition_skips(by_expand) else "success"), js.path()
