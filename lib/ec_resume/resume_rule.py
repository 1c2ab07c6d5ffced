"""The resume rule: whether a restart skips a step, as a pure function that answers with a record.

`decide` mirrors the shared run condition (``resume/runCondition``) so the command line can say what a
restart will skip before it runs:

- a step runs unless the job named by ``jobToRestart`` holds the same path and that step is done there;
- done = its outcome is in the done list; or its outcome is ``skipped`` and that job itself restarted an
  earlier job (non-empty ``jobToRestart``) in which the step is done (followed for at most
  ``max_depth`` jobs);
- a missing job, a missing step or an empty parameter means run; anything else (``error``, ``notRun``,
  a step the abort never reached) runs again.

The answer is a `Decision`; putting it into words is the report's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, FrozenSet, Iterable, Mapping, Optional, Tuple

from .job_steps import StepRow, actual_parameters, job_step_records, step_rows

DEFAULT_DONE_OUTCOMES: FrozenSet[str] = frozenset({"success"})
DEFAULT_MAX_DEPTH = 10
JOB_TO_RESTART = "jobToRestart"
PLUGIN_KEY = "EC-Resume"
RESTART_LINK_PROCEDURE = "CreateRestartLink"


def parse_done_outcomes(text: Optional[str]) -> FrozenSet[str]:
    """"success, warning" -> {"success", "warning"}; blank means the default (success)."""
    outcomes = frozenset(part.strip() for part in (text or "").split(",") if part.strip())
    return outcomes or DEFAULT_DONE_OUTCOMES


def parse_max_depth(text: Optional[str]) -> int:
    """resume/maxChainDepth; anything but a positive integer means the default."""
    try:
        value = int(str(text).strip())
    except ValueError:
        return DEFAULT_MAX_DEPTH
    return value if value > 0 else DEFAULT_MAX_DEPTH


@dataclass(frozen=True)
class JobView:
    """What the resume decision needs to know about one earlier job."""

    job_id: str
    job_to_restart: str = ""
    outcomes: Mapping[str, str] = field(default_factory=dict)  # step path -> outcome
    step_paths: Tuple[str, ...] = ()  # in job order

    @classmethod
    def from_job_details(cls, job: Mapping[str, Any], job_to_restart_param: str = JOB_TO_RESTART) -> JobView:
        records = job_step_records(job)
        params = dict(actual_parameters(job))
        return cls(job_id=str(job.get("jobId", "")),
                   job_to_restart=params.get(job_to_restart_param, "").strip(),
                   outcomes={r.path: r.outcome for r in records},
                   step_paths=tuple(r.path for r in records))


def views_by_id(jobs: Iterable[Mapping[str, Any]],
                job_to_restart_param: str = JOB_TO_RESTART) -> Dict[str, JobView]:
    """getJobDetails `job` objects -> the mapping `decide` takes."""
    views = (JobView.from_job_details(job, job_to_restart_param) for job in jobs)
    return {view.job_id: view for view in views}


class Reason(Enum):
    """Why the rule decided as it did."""

    NO_JOB_TO_RESTART = "no job to restart"  # jobToRestart is empty: a fresh run
    JOB_NOT_FOUND = "job not found"
    STEP_NOT_IN_JOB = "step not in job"
    DONE = "done"  # its outcome there is a done outcome
    NOT_DONE = "not done"  # its outcome there is anything else (error, notRun, skipped with no earlier job)
    LOOP = "loop"  # the chain of restarts comes back to a job already looked at
    CHAIN_TOO_LONG = "chain too long"  # max_depth jobs looked at, and the last one points further back


@dataclass(frozen=True)
class Decision:
    """The rule's answer for one step path."""

    done: bool
    reason: Reason
    # The job the decision was made in, as the chain named it: the id given, or a jobToRestart value
    # (an id or a job name). Empty for NO_JOB_TO_RESTART.
    job: str = ""
    outcome: str = ""  # the step's outcome in `job` (DONE and NOT_DONE)
    skipped_in: Tuple[str, ...] = ()  # the jobs passed on the way, each of which skipped the step


def decide(step_path: str, job_id: str, jobs: Mapping[str, JobView],
           done_outcomes: Iterable[str] = DEFAULT_DONE_OUTCOMES,
           max_depth: int = DEFAULT_MAX_DEPTH) -> Decision:
    """Whether `step_path` counts as done for a restart of `job_id`, following the chain of restarts."""
    done = frozenset(o.lower() for o in done_outcomes)  # the run condition compares in lower case too
    current = (job_id or "").strip()
    if not current:
        return Decision(False, Reason.NO_JOB_TO_RESTART)
    passed: Tuple[str, ...] = ()
    # max_depth counts the jobs looked at, the first one included (same rule as the run condition).
    for _ in range(max(max_depth, 1)):
        if current in passed:
            return Decision(False, Reason.LOOP, current, skipped_in=passed)
        view = jobs.get(current)
        if view is None:
            return Decision(False, Reason.JOB_NOT_FOUND, current, skipped_in=passed)
        outcome = view.outcomes.get(step_path)
        if outcome is None:
            return Decision(False, Reason.STEP_NOT_IN_JOB, current, skipped_in=passed)
        if outcome.lower() in done:
            return Decision(True, Reason.DONE, current, outcome, passed)
        if outcome.lower() == "skipped" and view.job_to_restart:
            passed += (current,)
            current = view.job_to_restart
            continue
        return Decision(False, Reason.NOT_DONE, current, outcome, passed)
    return Decision(False, Reason.CHAIN_TOO_LONG, current, skipped_in=passed)


# --------------------------------------------------------------------------------- the failure point


@dataclass(frozen=True)
class FailurePoint:
    """The step of a job that failed first: its path and finish timestamp (as the server gave it)."""

    path: str
    finish: str


def is_plugin_project(project: str) -> bool:
    # [U] A call of a plugin procedure names the called project as "<key>-<version>" (EC-Resume-1.0.0).
    return project == PLUGIN_KEY or project.startswith(PLUGIN_KEY + "-")


def _is_restart_link_call(row: StepRow) -> bool:
    called = row.raw.get("calledProcedure")
    if not isinstance(called, Mapping):
        return False
    return (str(called.get("procedureName") or "") == RESTART_LINK_PROCEDURE
            and is_plugin_project(str(called.get("projectName") or "")))


def failure_point(job: Mapping[str, Any]) -> Optional[FailurePoint]:
    """The first step (by finish time) of a getJobDetails job whose outcome is error; None when none failed.

    EC-Resume's own CreateRestartLink call (and what it runs) is not part of the job's work. Among steps
    that finished at the same moment the deepest wins (a call ends when its failed child does), then job
    order; a failed step without a finish time comes after every timed one.
    """
    failed = []
    ignored: Tuple[str, ...] = ()
    for order, row in enumerate(step_rows(job)):
        if ignored and any(row.path == p or row.path.startswith(p + "/jobSteps/") for p in ignored):
            continue
        if _is_restart_link_call(row):
            ignored += (row.path,)
            continue
        if row.record.outcome.strip().lower() == "error":
            finish = row.record.finish
            failed.append(((finish == "", finish, -row.depth, order), row.record))
    if not failed:
        return None
    record = min(failed, key=lambda item: item[0])[1]
    return FailurePoint(path=record.path, finish=record.finish)
