"""What a restart will do, step by step, read from the server: the plan behind `ec-resume plan`,
RestartJob's plan and CreateRestartLink's summary.

The new job has the steps of the CURRENT procedure definition (getSteps, down through subprocedure calls,
plugin procedures included), not those of the job being restarted: a step added since runs ("new in the
procedure"). Each step that carries EC-Resume's run condition is decided by `resume_rule.decide` on what
the run condition will read: the job to restart and the jobs it restarted, their ec_resume properties and
the plugin's settings. Steps without it always run.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from .client import CommanderClient
from .client_errors import NotFound, RequestRefused
from .job_steps import (
    JOB_STEPS_JOINER,
    ODD_CHARACTERS,
    job_step_records,
    no_cycle_collection,
)
from .plugin_settings import SETTINGS
from .records import field, record_type, replace
from .report import PlannedStep, RestartPlan, job_label, plan_lines
from .rest_json import as_list
from .resume_rule import (
    COMPLETED,
    JOB_TO_RESTART,
    MAX_NESTING,
    NO_FAILURE,
    RESTART_LINK_PROCEDURE,
    JobFacts,
    RuleSettings,
    StepFacts,
    StepsView,
    decide,
    failure_point,
    is_plugin_project,
    job_facts,
    settings_for,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, Iterator, List, Optional, Tuple

DONE_OUTCOMES_PARAMETER = "resumeDoneOutcomes"
MAX_PROCEDURES_READ = 200  # getSteps calls for one plan: a procedure that calls itself stops here
PLANNED_ID = "planned:"  # the new job's steps have no ids yet; the plan gives each its path
# What the rule reads of an earlier job (the others are the new job's own).
CHAIN_PROPERTIES = {JOB_TO_RESTART, "ec_resume/pendingFromStep", "ec_resume/failedAt", "ec_resume/failedStep"}
FAILED_AT, FAILED_STEP = "ec_resume/failedAt", "ec_resume/failedStep"
# EC-Resume's own work in a job, which the counts leave out: the CarryOver and CreateRestartLink calls,
# and ResumableStep's steps around the command.
PLUGIN_OWN_CALLS = (RESTART_LINK_PROCEDURE, "CarryOver")
PLUGIN_OWN_STEPS = ("restoreOutputs", "recordOutputs")


def readable(client: CommanderClient, path: str) -> Optional[str]:
    """A property as the run condition reads it: None when missing or refused (a bad path, a value that
    fails to expand); a server that cannot be reached still raises."""
    try:
        return client.get_property(path)
    except RequestRefused:
        return None


# ------------------------------------------------------------------------ the procedure definition


def _segment(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def called_project(client: CommanderClient, subproject: str, calling_project: str) -> Optional[str]:
    """The project a subprocedure call runs in; None when it cannot be known before the job runs."""
    sub = subproject.strip()
    if not sub:
        return calling_project
    if "$[" in sub:
        return None
    if sub.startswith("/"):  # e.g. /plugins/EC-Resume/project [U] its projectName names the project
        return (readable(client, sub.rstrip("/") + "/projectName") or "").strip() or None
    return sub


@record_type(frozen=False)
class _DefinitionReader:
    """getSteps, read once per procedure and at most MAX_PROCEDURES_READ times in all."""

    client: CommanderClient
    cache: Dict[Tuple[str, str], List[Mapping[str, Any]]] = field(default_factory=dict)
    # The paths of the planned steps a property path reaches (no odd name on the way down), in job order.
    addressable: Dict[str, None] = field(default_factory=dict)

    def steps_of(self, project: str, procedure: str) -> Optional[List[Mapping[str, Any]]]:
        key = (project, procedure)
        if key not in self.cache:
            if len(self.cache) >= MAX_PROCEDURES_READ:
                return None
            path = f"/projects/{_segment(project)}/procedures/{_segment(procedure)}/steps"
            answer = self.client.call("getSteps", "GET", path)
            self.cache[key] = [s for s in as_list(answer.get("step")) if isinstance(s, Mapping)]
        return self.cache[key]

    def tree(self, project: str, procedure: str, above: str = "", depth: int = 0,
             bookkeeping: bool = False, odd_above: bool = False) -> Tuple[PlannedStep, ...]:
        """The job steps a run of the procedure will have, in job order (see `planned`)."""
        return tuple(self.planned(project, procedure, above, depth, bookkeeping, odd_above))

    def planned(self, project: str, procedure: str, above: str = "", depth: int = 0,
                bookkeeping: bool = False, odd_above: bool = False) -> Iterator[PlannedStep]:
        """The job steps a run of the procedure will have, in job order, one at a time, each with the steps
        of its calls; each addressable path goes into `addressable` as it is planned (one pass over the
        definition). One at a time, so that a plan holds the tree of one top-level step, not all of them.

        `above`: the calling step's path and the joiner ("" at the top), `depth`: the number of calls above.
        `bookkeeping`: the steps are EC-Resume's own work (PLUGIN_OWN_CALLS), which the counts leave out.
        `odd_above`: a call above has a name a property path cannot address.
        """
        steps = self.steps_of(project, procedure)
        if steps is None or depth >= MAX_NESTING:
            return
        remember = self.addressable.setdefault
        clean = ODD_CHARACTERS.isdisjoint  # not is_odd_name: a call less per step
        plugin = is_plugin_project(project)  # the same for every step here
        for step in steps:
            get = step.get
            name = str(get("stepName") or "")
            path = above + name
            odd = odd_above or not clean(name)
            if not odd:
                remember(path)  # setdefault: the first of a path stays, in job order (one lookup)
            subprocedure = str(get("subprocedure") or "").strip()
            children: Tuple[PlannedStep, ...] = ()
            own_bookkeeping = bookkeeping or (not subprocedure and plugin and name in PLUGIN_OWN_STEPS)
            if subprocedure:
                target = called_project(self.client, str(get("subproject") or ""), project)
                own_bookkeeping = bookkeeping or (subprocedure in PLUGIN_OWN_CALLS
                                                  and is_plugin_project(target or ""))
                children = self._call(subprocedure, target, path, depth + 1, own_bookkeeping, odd)
            yield PlannedStep(path, name, depth, str(get("condition") or ""), project, children,
                              bool(subprocedure), own_bookkeeping,
                              own_bookkeeping and name in PLUGIN_OWN_STEPS and not subprocedure and plugin)

    def _call(self, subprocedure: str, target: Optional[str], path: str, depth: int,
              bookkeeping: bool, odd: bool) -> Tuple[PlannedStep, ...]:
        if target is None or "$[" in subprocedure:
            return ()  # [U] decided only when the job runs: the call is planned, its steps are not
        try:
            return self.tree(target, subprocedure, path + JOB_STEPS_JOINER, depth, bookkeeping, odd)
        except NotFound:  # the job will fail this call: it has no steps to plan
            return ()


def procedure_tree(client: CommanderClient, project: str, procedure: str) -> Tuple[PlannedStep, ...]:
    return _DefinitionReader(client).tree(project, procedure)


def _planned(path: str, _: None) -> StepFacts:
    """A step of the new job as the rule reads it: the plan's stand-in for its id (PLANNED_ID, its path)."""
    return StepFacts(job_step_id=PLANNED_ID + path)


# ------------------------------------------------------------------------------ the jobs of the chain


@record_type(frozen=False)
class _ChainReader:
    """Earlier jobs by reference, as the run condition will read them (`decide`'s job lookup)."""

    client: CommanderClient
    restarted: Mapping[str, Any]  # getJobDetails of the job being restarted
    found: Dict[str, Optional[JobFacts]] = field(default_factory=dict)
    labels: Dict[str, str] = field(default_factory=dict)  # job id -> name, in the order read

    def __call__(self, ref: str) -> Optional[JobFacts]:
        if ref not in self.found:
            self.found[ref] = self._read(ref)
        return self.found[ref]

    def _read(self, ref: str) -> Optional[JobFacts]:
        restarted_id = str(self.restarted.get("jobId") or "")
        is_restarted = ref in (restarted_id, str(self.restarted.get("jobName") or ""))
        try:
            details = self.restarted if is_restarted else self.client.get_job_details(ref)
        except NotFound:
            return None
        job_id = str(details.get("jobId") or "")
        values = {name: readable(self.client, f"/jobs/{job_id}/{name}") for name in CHAIN_PROPERTIES}
        # The job's tree is walked for its steps and again for its failure point; neither walk makes a
        # record per step.
        facts = job_facts(details, values.get)
        if is_restarted:
            facts = _as_launched(facts, details, values)
        self.labels.setdefault(facts.job_id, facts.label)
        return facts


def _as_launched(facts: JobFacts, details: Mapping[str, Any],
                 values: Mapping[str, Optional[str]]) -> JobFacts:
    """The job being restarted as the new job will find it: completed (CreateRestartLink plans from inside
    the job), with the failure point that RestartJob and the CLI write before the launch."""
    facts = replace(facts, status=COMPLETED)
    # Taken from the job's final tree, not from the record: RestartJob and the CLI write exactly this
    # before they launch, and CreateRestartLink has just written it when it plans for its summary.
    point = failure_point(details)
    return replace(facts, failed_at=point.finish if point else NO_FAILURE,
                   failed_step=point.path if point else "")


# ---------------------------------------------------------------------------------------- the plan


def _new_job(job: Mapping[str, Any], addressable: Mapping[str, None], new_parameters: Mapping[str, str],
             from_step: str) -> JobFacts:
    """The new job as its run condition will see it; each step's path leads back to it."""
    return JobFacts(job_id="", project=str(job.get("projectName") or "").strip(),
                    procedure=str(job.get("procedureName") or "").strip(), status="running",
                    job_to_restart=(new_parameters.get(JOB_TO_RESTART) or "").strip(),
                    steps=StepsView(addressable, _planned), from_step=from_step.strip(),
                    done_outcomes=(new_parameters.get(DONE_OUTCOMES_PARAMETER) or "").strip())


def rule_settings(client: CommanderClient, new_parameters: Mapping[str, str]) -> RuleSettings:
    return settings_for((new_parameters.get(DONE_OUTCOMES_PARAMETER) or ""),
                        lambda name: readable(client, SETTINGS + name))


def plan_restart(client: CommanderClient, job: Mapping[str, Any], new_parameters: Mapping[str, str],
                 from_step: str = "") -> RestartPlan:
    """What a new job of `job`'s procedure with `new_parameters` (and the start step) will skip and run."""
    with no_cycle_collection():
        return _plan(client, job, new_parameters, from_step)


def _plan(client: CommanderClient, job: Mapping[str, Any], new_parameters: Mapping[str, str],
          from_step: str) -> RestartPlan:
    reader = _DefinitionReader(client)
    project, procedure = str(job.get("projectName") or ""), str(job.get("procedureName") or "")
    reader.steps_of(project, procedure)  # read first, as before the plan streamed the tree
    tree = reader.planned(project, procedure)  # planned as plan_lines goes: one top-level step at a time
    current = _new_job(job, reader.addressable, new_parameters, from_step)
    settings = rule_settings(client, new_parameters)
    chain = _ChainReader(client, job)

    def decide_step(step: PlannedStep, names: Tuple[str, ...]) -> Any:
        return decide(names, PLANNED_ID + step.path, current, chain, settings)

    lines = plan_lines(tree, decide_step, chain.labels, settings.max_depth)
    return RestartPlan(job_id=str(job.get("jobId") or ""), job_name=job_label(job), lines=lines,
                       done_outcomes=settings.done_outcomes, max_depth=settings.max_depth, rule=settings.rule,
                       chain=list(chain.labels.values()) or [job_label(job)])


def validate_from_step(job: Mapping[str, Any], from_step: str) -> Optional[str]:
    """An error line when `from_step` is not a step path of `job`; None when it is (or is empty)."""
    wanted = (from_step or "").strip()
    if not wanted:
        return None
    paths = [record.path for record in job_step_records(job)]
    if wanted in paths:
        return None
    tops = ", ".join(p for p in paths if JOB_STEPS_JOINER not in p) or "none"
    return (f"start step '{wanted}': not a step of job {job.get('jobId', '')}; expected a step path such "
            f"as deploy{JOB_STEPS_JOINER}upload (top-level steps: {tops})")
