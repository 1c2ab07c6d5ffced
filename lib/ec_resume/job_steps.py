"""The steps and parameters of a getJobDetails `job` object, read in one walk of its tree.

A step is identified across jobs by its *path*: the step names from the top of the job down through
subprocedure calls, joined by "/jobSteps/" (``deploy/jobSteps/upload``), which is also how a property
path addresses it (``/jobs/<id>/jobSteps/deploy/jobSteps/upload/outcome``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Tuple

from .rest_json import as_list

JOB_STEPS_JOINER = "/jobSteps/"
# A name with one of these cannot be addressed by a property path without ambiguity ("x/jobSteps/y" is
# also call x's child y) or at all ("[lead" is an invalid property name).
ODD_CHARACTERS = frozenset("/[]$")


def is_odd_name(name: str) -> bool:
    """A step name a property path cannot address (such a step always runs)."""
    return any(char in ODD_CHARACTERS for char in name)


@dataclass(frozen=True)
class StepRecord:
    """What the resume rule knows of a step: where it sits and how it ended."""

    path: str
    step_name: str
    outcome: str
    status: str
    job_step_id: str
    start: str = ""  # the server's timestamps as given ("" when the step never started / finished)
    finish: str = ""


@dataclass(frozen=True)
class StepRow:
    """One job step with what the tables need besides its record: depth, raw object, owning project."""

    record: StepRecord
    depth: int  # 0 for a top-level step
    raw: Mapping[str, Any]
    project: str  # project of the procedure the step belongs to ("" when the server does not say)

    @property
    def path(self) -> str:
        return self.record.path


def step_rows(job: Mapping[str, Any]) -> List[StepRow]:
    """Every step of `job`, depth first in job order: the one walk of the job tree."""
    rows: List[StepRow] = []

    def walk(steps: Any, prefix: str, depth: int, project: str) -> None:
        for step in as_list(steps):
            if not isinstance(step, Mapping):
                continue
            name = str(step.get("stepName", ""))
            path = prefix + JOB_STEPS_JOINER + name if prefix else name
            record = StepRecord(path=path, step_name=name, outcome=str(step.get("outcome") or ""),
                                status=str(step.get("status") or ""),
                                job_step_id=str(step.get("jobStepId") or ""),
                                start=str(step.get("start") or ""), finish=str(step.get("finish") or ""))
            rows.append(StepRow(record=record, depth=depth, raw=step, project=project))
            called = step.get("calledProcedure")
            if isinstance(called, Mapping):
                walk(called.get("jobStep"), path, depth + 1, str(called.get("projectName") or ""))

    walk(job.get("jobStep"), "", 0, str(job.get("projectName") or ""))
    return rows


def job_step_records(job: Mapping[str, Any]) -> List[StepRecord]:
    """Every step of `job`, depth first in job order, with its path."""
    return [row.record for row in step_rows(job)]


def addressable_steps(job: Mapping[str, Any]) -> Dict[str, StepRecord]:
    """The steps of `job` a property path reaches, by path: none with an odd name on its way down.

    So a top-level step named "x/jobSteps/y" never stands in for the child y of call x, as on the server.
    """
    found: Dict[str, StepRecord] = {}
    odd: List[str] = []
    for record in job_step_records(job):
        if is_odd_name(record.step_name) or any(record.path.startswith(p + JOB_STEPS_JOINER) for p in odd):
            odd.append(record.path)
            continue
        found.setdefault(record.path, record)
    return found


def outcome_property_path(job_id: str, step_path: str) -> str:
    return f"/jobs/{job_id}/jobSteps/{step_path}/outcome"


def actual_parameters(job: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """The job's actual parameters as (name, value) pairs, in the order the server lists them."""
    pairs = []
    for item in as_list(job.get("actualParameter")):
        if isinstance(item, Mapping) and item.get("actualParameterName"):
            pairs.append((str(item["actualParameterName"]), str(item.get("value") or "")))
    return pairs
