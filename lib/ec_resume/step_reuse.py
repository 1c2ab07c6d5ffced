"""Inside a resumed job: which of its steps the resume rule skips, and what each of them gets from the earlier
run that it is skipped for (its custom properties, output parameters and summary, with their provenance).

The rule is `resume_rule.decide`, fed what the run condition reads, so a plugin step can tell before a
step's run condition does whether that step will be skipped. Copies go out as XML batch requests that the
caller sends together with the rest of its writes.
"""

from __future__ import annotations

from collections.abc import Mapping

from .carry_over import (
    BOOKKEEPING,
    SUMMARY,
    Leaf,
    Target,
    output_requests,
    plan_copy,
    read_leaves,
    read_output_parameters,
    set_requests,
)
from .client import CommanderClient
from .client_errors import NotFound
from .job_steps import JOB_STEPS_JOINER, StepRow, step_rows
from .planning import readable, rule_settings
from .provenance import REUSED_SHEET, STEP_PROPERTY, Provenance, with_provenance
from .records import field, record_type
from .rest_json import as_list
from .resume_rule import RUN_AGAIN, JobFacts, RuleSettings, decide, job_facts

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, List, Optional, Sequence, Tuple

    from .xml_batch import Request


def run_again_path(job_id: str, step_path: str) -> str:
    return f"/jobs/{job_id}/{RUN_AGAIN}/{step_path}"


@record_type(frozen=False)
class ResumedJob:
    """The running job as the rule sees it, and the earlier jobs it reads (each read once)."""

    client: CommanderClient
    details: Mapping[str, Any]  # getJobDetails of the running job
    jobs: Dict[str, Optional[JobFacts]] = field(default_factory=dict)
    raw: Dict[str, Mapping[str, Any]] = field(default_factory=dict)  # job id -> getJobDetails
    _current: Optional[JobFacts] = None
    _settings: Optional[RuleSettings] = None

    @property
    def job_id(self) -> str:
        return str(self.details.get("jobId") or "")

    def _reader(self, job_id: str) -> Any:
        return lambda name: readable(self.client, f"/jobs/{job_id}/{name}")

    @property
    def current(self) -> JobFacts:
        if self._current is None:
            self._current = job_facts(self.details, self._reader(self.job_id))
        return self._current

    @property
    def settings(self) -> RuleSettings:
        if self._settings is None:
            self._settings = rule_settings(self.client, {"resumeDoneOutcomes": self.current.done_outcomes})
        return self._settings

    def lookup(self, ref: str) -> Optional[JobFacts]:
        if ref not in self.jobs:
            try:
                details = self.client.get_job_details(ref)
            except NotFound:
                self.jobs[ref] = None
                return None
            job_id = str(details.get("jobId") or "")
            self.raw[job_id] = details
            self.jobs[ref] = job_facts(details, self._reader(job_id))
        return self.jobs[ref]

    def decide(self, row: StepRow) -> Any:
        names = tuple(row.path.split(JOB_STEPS_JOINER))
        return decide(names, row.record.job_step_id, self.current, self.lookup, self.settings)

    def source_row(self, job_id: str, path: str) -> Optional[StepRow]:
        details = self.raw.get(job_id)
        if details is None:
            return None
        return next((row for row in step_rows(details) if row.path == path), None)

    def label(self, job_id: str) -> str:
        details = self.raw.get(job_id) or {}
        return str(details.get("jobName") or job_id)


def row_at(details: Mapping[str, Any], job_step_id: str) -> Optional[StepRow]:
    return next((row for row in step_rows(details) if row.record.job_step_id == job_step_id), None)


def row_by_path(details: Mapping[str, Any], path: str) -> Optional[StepRow]:
    return next((row for row in step_rows(details) if row.path == path), None)


def call_parameter_names(row: StepRow) -> List[str]:
    called = row.raw.get("calledProcedure")
    params = called.get("actualParameter") if isinstance(called, Mapping) else None
    return [str(p.get("actualParameterName")) for p in as_list(params) if isinstance(p, Mapping)]


# Names of a job step's own fields: a custom property by such a name would stand in front of the field
# ([U] custom before intrinsic), and the rule reads jobStepId, outcome and start.
STEP_FIELDS = ("jobStepId", "stepName", "outcome", "status", "start", "finish", "exitCode", "jobId",
               "parent", "jobSteps", "steps", "outputParameters")


@record_type
class StepCopy:
    requests: Tuple[Request, ...]
    provenance: Provenance


def copy_step(client: CommanderClient, resumed: ResumedJob, source_job: str, source: StepRow, target: StepRow,
              also_exclude: Sequence[str] = (), files: Sequence[Dict[str, Any]] = (),
              index: bool = True) -> StepCopy:
    """What the skipped `target` gets from `source` (the same step in `source_job`): its custom properties
    (not those the target has, nor the plugin's bookkeeping), its output parameters, its summary with
    the provenance line under it, ``ec_resume/reusedFrom``, and the job's provenance entry."""
    src = Target(job_step_id=source.record.job_step_id)
    dst = Target(job_step_id=target.record.job_step_id)
    old, odd = read_leaves(client, src)
    new, _ = read_leaves(client, dst)
    summary = next((leaf.value for leaf in old if leaf.path == SUMMARY), None)
    plan = plan_copy(old, new, [BOOKKEEPING, SUMMARY, *STEP_FIELDS, *also_exclude])
    outputs = read_output_parameters(client, src) if source.raw.get("calledProcedure") else {}
    problems = tuple(f"{path}: not copied: {why}" for path, why in [*odd, *plan.left_out])
    provenance = Provenance(step=target.path, source_job_id=source_job,
                            source_job_name=resumed.label(source_job), source_step=source.path,
                            properties=tuple(plan.names), output_parameters=tuple(outputs),
                            summary=summary is not None, files=tuple(files), problems=problems)
    requests: List[Request] = [*set_requests(dst, plan.writes), *output_requests(dst, outputs)]
    requests += set_requests(dst, [Leaf(SUMMARY, with_provenance(summary, provenance), False),
                                   Leaf(STEP_PROPERTY, provenance.line(), False)])
    if index:
        requests += provenance_requests(resumed.job_id, target.record.job_step_id, provenance)
    return StepCopy(tuple(requests), provenance)


def provenance_requests(job_id: str, key: str, provenance: Provenance) -> List[Request]:
    return set_requests(Target(job_id=job_id), [Leaf(f"{REUSED_SHEET}/{key}", provenance.to_text(), False)])
