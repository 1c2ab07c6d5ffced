"""`ec-resume status`: a job's steps with outcome, duration and summary, and its place in a restart chain.

A skipped step says why it was skipped, since that is the question a resumed job raises: skipped by
the resume (EC-Resume's run condition, in a job that resumes another), skipped by its own run condition,
or never reached (an abort or a failure ended the job before it; no start time [U], or notRun).
"""

from __future__ import annotations

from collections.abc import Mapping

from .job_steps import StepRow, actual_parameters, step_rows
from .lineage import Lineage
from .records import record_type
from .report import duration, job_label, table
from .rest_json import as_list
from .resume_rule import JOB_TO_RESTART

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, List, Optional, Sequence

INDENT = "  "
RESUME_CONDITION_MARK = "resume/runCondition"  # the property every resumable step's condition names
SKIPPED_BY_RESUME = "skipped by the resume"
# EnableResume's wrapped condition (a step's own condition kept beside the resume rule) names this.
WRAPPED_CONDITION_MARK = "ec_resume/originalCondition"
SKIPPED_BY_EITHER = "skipped by the resume or by its own run condition"
SKIPPED_BY_CONDITION = "skipped by its own run condition"
ALL_STEPS_SKIPPED = "all of its steps skipped"
NEVER_REACHED = "never reached"


@record_type
class StepStatus:
    path: str
    name: str
    depth: int
    status: str
    outcome: str
    duration: str
    note: str  # why it was skipped, or ""
    summary: str

    @property
    def state(self) -> str:
        """The outcome once completed, else the status (running, pending, ...)."""
        if self.status == "completed" or (self.outcome and not self.status):
            return self.outcome or "completed"
        return self.status or "?"

    def to_json(self) -> Dict[str, Any]:
        return {"path": self.path, "name": self.name, "depth": self.depth, "status": self.status,
                "outcome": self.outcome, "duration": self.duration, "note": self.note,
                "summary": self.summary}


def skip_note(row: StepRow, resumes: bool) -> str:
    """Why a step did not run, in words; "" for a step that ran or is yet to run."""
    outcome = row.record.outcome.strip().lower()
    if outcome == "notrun" or (outcome == "skipped" and not row.record.start):
        return NEVER_REACHED
    if outcome != "skipped":
        return ""
    condition = str(row.raw.get("condition") or "")
    if resumes and RESUME_CONDITION_MARK in condition:
        return SKIPPED_BY_EITHER if WRAPPED_CONDITION_MARK in condition else SKIPPED_BY_RESUME
    if not condition.strip() and _all_children_skipped(row.raw):
        return ALL_STEPS_SKIPPED  # [U] a call whose steps were all skipped ends skipped (roll-up)
    return SKIPPED_BY_CONDITION


def _all_children_skipped(raw: Mapping[str, Any]) -> bool:
    called = raw.get("calledProcedure")
    children = as_list(called.get("jobStep")) if isinstance(called, Mapping) else []
    return bool(children) and all(isinstance(child, Mapping) and
                                  str(child.get("outcome") or "").strip().lower() == "skipped"
                                  for child in children)


def step_statuses(job: Mapping[str, Any], summaries: Mapping[str, str]) -> List[StepStatus]:
    """Every step in job order; `summaries` by job step id."""
    resumes = bool(dict(actual_parameters(job)).get(JOB_TO_RESTART, "").strip())
    found = []
    for row in step_rows(job):
        record = row.record
        found.append(StepStatus(path=record.path, name=record.step_name, depth=row.depth,
                                status=record.status, outcome=record.outcome, duration=duration(row.raw),
                                note=skip_note(row, resumes),
                                summary=" ".join(summaries.get(record.job_step_id, "").split())))
    return found


def _job_state(job: Mapping[str, Any]) -> str:
    status, outcome = str(job.get("status") or ""), str(job.get("outcome") or "")
    if status == "completed" or (outcome and not status):
        return outcome or "completed"
    return status or "?"


def lineage_lines(lineage: Lineage, labels: Mapping[str, str]) -> List[str]:
    def name(job_id: str) -> str:
        return labels.get(job_id, job_id)

    lines = []
    if lineage.resumes:
        root = f" (chain root {name(lineage.chain_root)})" if lineage.chain_root else ""
        lines.append(f"resumes: {name(lineage.resumes)}{root}")
    if lineage.from_step:
        lines.append(f"start step: {lineage.from_step}")
    if lineage.failed_step:
        lines.append(f"failed first: {lineage.failed_step}")
    if lineage.resumed_by:
        resumers = (f"{name(job_id)} ({how})" for job_id, how in lineage.resumed_by.items())
        lines.append("resumed by: " + ", ".join(resumers))
    return lines


def render_status(job: Mapping[str, Any], steps: Sequence[StepStatus], lineage: Optional[Lineage] = None,
                  labels: Optional[Mapping[str, str]] = None) -> str:
    header = (f"{job_label(job)} ({job.get('jobId', '')})  {job.get('projectName', '')}/"
              f"{job.get('procedureName', '')}  {_job_state(job)}")
    took = duration(job)
    rows = [["STEP", "OUTCOME", "DURATION", "SUMMARY"]]
    for step in steps:
        note = f"({step.note}) " if step.note else ""
        rows.append([INDENT * step.depth + step.name, step.state, step.duration or "-",
                     (note + step.summary).strip()])
    lines = [header + (f"  {took}" if took else "")] + table(rows)
    if lineage is not None:
        lines += lineage_lines(lineage, labels or {})
    lines.append(f"outcome: {_job_state(job)}")
    return "\n".join(lines) + "\n"


def status_json(job: Mapping[str, Any], steps: Sequence[StepStatus],
                lineage: Optional[Lineage] = None) -> Dict[str, Any]:
    fields = ("jobId", "jobName", "projectName", "procedureName", "status", "outcome")
    return {**{name: str(job.get(name) or "") for name in fields},
            "steps": [step.to_json() for step in steps],
            "lineage": lineage.to_json() if lineage is not None else {}}
