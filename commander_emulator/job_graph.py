"""The job objects a property path walks: jobs, job steps and (by the emulator setting topLevelParent) a
job's root step. `steps` is the documented alias of `jobSteps` on jobs and job steps (v4.2+).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Dict, List, MutableMapping, Optional, Union

from .context import Context
from .errors import CommanderError
from .model import Job, JobStep, PropertySheet, Store
from .property_graph import SETTABLE_OUTCOMES, CollectionNode, Getter, Node, Unset, as_flag, optional


def _job_steps_collection(label: str, steps: Callable[[], List[JobStep]], name: str = "jobSteps"
                          ) -> CollectionNode:
    # [U] when two job steps share a name (e.g. created at run time) the first one answers.
    return CollectionNode(
        name, label,
        lambda step_name: next((JobStepNode(js) for js in steps() if js.step_name == step_name), None),
        lambda: [JobStepNode(js) for js in steps()])


def _top_level_steps(n: Any, name: str) -> CollectionNode:
    """A job's (or its root step's) top-level steps; `steps` is the documented alias of `jobSteps` (v4.2+)."""
    return _job_steps_collection(f"job steps of {n.label}", lambda: n.job.steps, name)


def _child_steps(n: Any, name: str) -> CollectionNode:
    return _job_steps_collection(f"job steps of {n.label}", lambda: n.js.children, name)


class OutputParametersNode(Node):
    """`outputParameters` of a job or call step: its output parameters by name, read only [U]."""

    def __init__(self, values: MutableMapping[str, str], owner_label: str) -> None:
        self.values = values
        self.name = "outputParameters"
        self.label = f"output parameters of {owner_label}"

    def params(self) -> Optional[MutableMapping[str, str]]:
        return self.values


def elapsed_milliseconds(start: Optional[str], finish: Optional[str]) -> Optional[str]:
    """A job's elapsedTime in milliseconds: from its start to its finish, or to now while it runs; none
    before it starts. [U] CD/RO's unit (getJobDetails shows elapsedTime in milliseconds)."""
    if not start:
        return None
    began = _parse_time(start)
    ended = _parse_time(finish) if finish else datetime.now(timezone.utc)
    return str(max(0, int((ended - began).total_seconds() * 1000)))


def _parse_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


class JobNode(Node):
    def __init__(self, job: Job) -> None:
        self.job = job
        self.name = job.name
        self.label = f"job '{job.name}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "jobId": lambda n: n.job.id,
        "jobName": lambda n: n.job.name,
        "status": lambda n: n.job.status,
        "outcome": lambda n: optional(n.job.outcome),
        "projectName": lambda n: n.job.project_name,
        "procedureName": lambda n: n.job.procedure_name,
        "launchedByUser": lambda n: n.job.launched_by,
        "start": lambda n: optional(n.job.start),
        "finish": lambda n: optional(n.job.finish),
        "abortStatus": lambda n: optional(n.job.abort_status),
        "elapsedTime": lambda n: optional(elapsed_milliseconds(n.job.start, n.job.finish)),
        "outputParameters": lambda n: OutputParametersNode(n.job.output_parameters, n.label),
        "jobSteps": lambda n: _top_level_steps(n, "jobSteps"),
        "steps": lambda n: _top_level_steps(n, "steps"),
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.job.properties

    def params(self) -> Optional[MutableMapping[str, str]]:
        return self.job.actual_parameters

    def context(self, ctx: Context) -> Context:
        return Context(store=ctx.store, user_name=ctx.user_name, job=self.job,
                       project_name=self.job.project_name, procedure_name=self.job.procedure_name)


def root_step_name(job: Job) -> str:
    """[U] the name of a job's root step: the procedure it runs (the root step is the call of it)."""
    return job.procedure_name


class RootStepNode(Node):
    """The job's root step (setting topLevelParent=rootStep): a job step above the top-level steps, with a
    name and an id of its own. `/myJob/jobSteps/<name>` still addresses the top-level steps, not it."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.name = root_step_name(job)
        self.label = f"root step of job '{job.name}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "jobStepId": lambda n: n.job.root_step_id,
        "stepName": lambda n: n.name,
        "status": lambda n: n.job.status,
        "outcome": lambda n: optional(n.job.outcome),
        "start": lambda n: optional(n.job.start),
        "finish": lambda n: optional(n.job.finish),
        "jobSteps": lambda n: _top_level_steps(n, "jobSteps"),
        "steps": lambda n: _top_level_steps(n, "steps"),
        "jobId": lambda n: n.job.id,
        "jobName": lambda n: n.job.name,
        "projectName": lambda n: n.job.project_name,
        "procedureName": lambda n: n.job.procedure_name,
        "subprocedure": lambda n: n.job.procedure_name,
        "subproject": lambda n: n.job.project_name,
    }

    def context(self, ctx: Context) -> Context:
        return JobNode(self.job).context(ctx)


def top_level_parent(job: Job) -> Optional[Node]:
    """What the parent of a top-level step of job is, by the emulator setting topLevelParent [U]."""
    setting = job.store.settings.top_level_parent if job.store is not None else "none"
    if setting == "job":
        return JobNode(job)
    if setting == "rootStep":
        return RootStepNode(job)
    return None


def parent_node(js: JobStep) -> Optional[Node]:
    """`parent` of a job step: the call step it runs in; at the top level, what topLevelParent says."""
    return JobStepNode(js.parent) if js.parent is not None else top_level_parent(js.job)


def _step_outcome(js: JobStep) -> Union[str, Unset]:
    # The recorded outcome; while the step still runs, what it asked for, so a step reads back its own
    # write [U].
    return optional(js.outcome if js.outcome is not None else js.outcome_override)


class JobStepNode(Node):
    def __init__(self, js: JobStep) -> None:
        self.js = js
        self.name = js.step_name
        self.label = f"job step '{js.path()}' of job '{js.job.name}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "jobStepId": lambda n: n.js.id,
        "stepName": lambda n: n.js.step_name,
        "status": lambda n: n.js.status,
        "outcome": lambda n: _step_outcome(n.js),
        "exitCode": lambda n: optional(n.js.exit_code),
        "start": lambda n: optional(n.js.start),
        "finish": lambda n: optional(n.js.finish),
        "parent": lambda n: parent_node(n.js),
        "jobSteps": lambda n: _child_steps(n, "jobSteps"),
        "steps": lambda n: _child_steps(n, "steps"),
        "jobId": lambda n: n.js.job.id,
        "jobName": lambda n: n.js.job.name,
        "projectName": lambda n: n.js.project_name,
        "procedureName": lambda n: n.js.procedure_name,
        "resourceName": lambda n: n.js.resource_name,
        "condition": lambda n: optional(n.js.effective_condition),
        "command": lambda n: optional(n.js.effective_command),
        "shell": lambda n: optional(n.js.effective_shell),
        "errorHandling": lambda n: n.js.step.error_handling,
        "alwaysRun": lambda n: as_flag(n.js.step.always_run),
        "subprocedure": lambda n: optional(n.js.called_procedure),
        "subproject": lambda n: optional(n.js.called_project),
        "outputParameters": lambda n: OutputParametersNode(n.js.output_parameters, n.label),
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.js.properties

    def params(self) -> Optional[MutableMapping[str, str]]:
        return self.js.call_parameters if self.js.is_call else None

    def context(self, ctx: Context) -> Context:
        return Context(store=ctx.store, user_name=ctx.user_name, job=self.js.job, job_step=self.js,
                       project_name=self.js.project_name, procedure_name=self.js.procedure_name)

    def write_intrinsic(self, name: str, value: str, path: str) -> bool:
        if name != "outcome":
            return False
        if value not in SETTABLE_OUTCOMES:
            raise CommanderError("InvalidPropertyValue",
                                 f"Invalid outcome '{value}' for '{path}': expected one of "
                                 + ", ".join(SETTABLE_OUTCOMES))
        self.js.outcome_override = value
        return True


def job_node(store: Store, id_or_name: str) -> Optional[JobNode]:
    job = store.jobs.get(id_or_name)
    if job is None:
        job = next((j for j in store.jobs.values() if j.name == id_or_name), None)
    return JobNode(job) if job is not None else None


def job_step_node(store: Store, job_step_id: str) -> Optional[Node]:
    """`/jobSteps/<id>`: a job step, or a job's root step while the setting shows root steps."""
    js = store.job_steps.get(job_step_id)
    if js is not None:
        return JobStepNode(js)
    if store.settings.top_level_parent != "rootStep":
        return None
    job = next((j for j in store.jobs.values() if j.root_step_id == job_step_id), None)
    return RootStepNode(job) if job is not None else None
