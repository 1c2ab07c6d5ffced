"""Step paths of a job, and the resume decision the run condition makes, as pure functions.

A step is identified across jobs by its *path*: the step names from the top of the job down through
subprocedure calls, joined by "/jobSteps/" (``deploy/jobSteps/upload``), which is also how a property
path addresses it (``/jobs/<id>/jobSteps/deploy/jobSteps/upload/outcome``).

`is_done` and `plan` mirror the shared run condition (``resume/runCondition``) so the command line can
say what a restart will skip before it runs:

- a step runs unless the job named by ``jobToRestart`` holds the same path and that step is done there;
- done = its outcome is in the done list; or its outcome is ``skipped`` and that job itself restarted an
  earlier job (non-empty ``jobToRestart``) in which the step is done (followed for at most
  ``max_depth`` jobs);
- a missing job, a missing step or an empty parameter means run; anything else (``error``, ``notRun``,
  a step the abort never reached) runs again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

JOB_STEPS_JOINER = "/jobSteps/"
DEFAULT_DONE_OUTCOMES: FrozenSet[str] = frozenset({"success"})
DEFAULT_MAX_DEPTH = 10
JOB_TO_RESTART = "jobToRestart"


def as_list(value: Any) -> List[Any]:
    """REST renders a one-element list as a bare object now and then: accept None, a dict or a list."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


@dataclass(frozen=True)
class StepRecord:
    path: str
    step_name: str
    outcome: str
    status: str
    job_step_id: str


def job_step_records(job: Mapping[str, Any]) -> List[StepRecord]:
    """Every step of a getJobDetails `job` object, depth first in job order, with its path."""
    records: List[StepRecord] = []

    def walk(steps: Any, prefix: str) -> None:
        for step in as_list(steps):
            if not isinstance(step, Mapping):
                continue
            name = str(step.get("stepName", ""))
            path = prefix + JOB_STEPS_JOINER + name if prefix else name
            records.append(StepRecord(path=path, step_name=name, outcome=str(step.get("outcome") or ""),
                                      status=str(step.get("status") or ""),
                                      job_step_id=str(step.get("jobStepId") or "")))
            called = step.get("calledProcedure")
            if isinstance(called, Mapping):
                walk(called.get("jobStep"), path)

    walk(job.get("jobStep"), "")
    return records


def outcome_property_path(job_id: str, step_path: str) -> str:
    return f"/jobs/{job_id}/jobSteps/{step_path}/outcome"


def actual_parameters(job: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """The job's actual parameters as (name, value) pairs, in the order the server lists them."""
    pairs = []
    for item in as_list(job.get("actualParameter")):
        if isinstance(item, Mapping) and item.get("actualParameterName"):
            pairs.append((str(item["actualParameterName"]), str(item.get("value") or "")))
    return pairs


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


@dataclass(frozen=True)
class PlanEntry:
    path: str
    action: str  # "skip" or "run"
    reason: str


def decide(step_path: str, job_id: str, jobs: Mapping[str, JobView],
           done_outcomes: Iterable[str] = DEFAULT_DONE_OUTCOMES,
           max_depth: int = DEFAULT_MAX_DEPTH) -> Tuple[bool, str]:
    """(done, why) for `step_path` in the job `job_id`, following the chain of restarts."""
    done = frozenset(o.lower() for o in done_outcomes)  # the run condition compares in lower case too
    current = (job_id or "").strip()
    if not current:
        return False, "no job to restart"
    seen = set()
    # max_depth counts the jobs looked at, the first one included (same rule as the run condition).
    for _ in range(max(max_depth, 1)):
        if current in seen:
            return False, f"job {current} restarts itself in a loop"
        seen.add(current)
        view = jobs.get(current)
        if view is None:
            return False, f"job {current} not found"
        outcome = view.outcomes.get(step_path)
        if outcome is None:
            return False, f"step not in job {current}"
        if outcome.lower() in done:
            return True, f"{outcome} in job {current}"
        if outcome.lower() == "skipped" and view.job_to_restart:
            current = view.job_to_restart
            continue
        return False, f"{outcome or 'no outcome'} in job {current}"
    return False, f"restart chain longer than {max_depth} jobs"


def is_done(step_path: str, job_id: str, jobs: Mapping[str, JobView],
            done_outcomes: Iterable[str] = DEFAULT_DONE_OUTCOMES, max_depth: int = DEFAULT_MAX_DEPTH) -> bool:
    return decide(step_path, job_id, jobs, done_outcomes, max_depth)[0]


def plan(job_to_restart_id: str, jobs: Mapping[str, JobView],
         done_outcomes: Iterable[str] = DEFAULT_DONE_OUTCOMES, max_depth: int = DEFAULT_MAX_DEPTH,
         step_paths: Optional[Iterable[str]] = None) -> List[PlanEntry]:
    """What a restart of `job_to_restart_id` skips and runs, step path by step path.

    The paths default to the steps of the job being restarted, in its order; pass `step_paths` to plan
    for a procedure whose steps changed since.
    """
    if step_paths is None:
        view = jobs.get(job_to_restart_id)
        step_paths = view.step_paths if view is not None else ()
    entries = []
    for path in step_paths:
        done, why = decide(path, job_to_restart_id, jobs, done_outcomes, max_depth)
        entries.append(PlanEntry(path=path, action="skip" if done else "run", reason=why))
    return entries


def views_by_id(jobs: Iterable[Mapping[str, Any]],
                job_to_restart_param: str = JOB_TO_RESTART) -> Dict[str, JobView]:
    """getJobDetails `job` objects -> the mapping `is_done` and `plan` take."""
    views = (JobView.from_job_details(job, job_to_restart_param) for job in jobs)
    return {view.job_id: view for view in views}
