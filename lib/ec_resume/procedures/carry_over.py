"""Step code of the plugin procedure CarryOver: the first step of a resumable procedure.

In a job that resumes another (its jobToRestart names a completed job of the same procedure), before any
resumable step runs, it copies into this job:
1. every custom job property of the resumed job that this job does not have (not its parameters,
   ``report-urls`` or the plugin's ``ec_resume`` bookkeeping), and the job's output parameters;
2. onto each top-level step the resume rule will skip, what that step left in the job it is skipped for:
   its custom properties, output parameters and summary. [U] This relies on the server creating a
   procedure's job steps (pending) when the procedure starts, as the emulator does; a step that is not
   there yet is named in the summary. Steps inside subprocedure calls get theirs from ResumableStep.
Reads are whole sheets (getProperties with recurse), writes one XML batch, so 10,000 properties take as
many calls as ten. Each copied value records its source (see `provenance`).
"""

from __future__ import annotations

import sys

from ..carry_over import (
    Leaf,
    Target,
    job_excluded,
    output_requests,
    plan_copy,
    read_leaves,
    read_output_parameters,
    set_requests,
    write_all,
)
from ..job_steps import actual_parameters, step_rows
from ..provenance import REUSED_SHEET, STEP_PROPERTY, Provenance, parse_records
from ..report import has_resume_condition
from ..resume_rule import JOB_TO_RESTART, usable_job
from ..step_reuse import ResumedJob, call_parameter_names, copy_step, provenance_requests
from .create_restart_link import UNUSABLE
from .step_io import step_main, write_summary

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, List, Mapping, Optional, TextIO

    from ..xml_batch import Request

PROG = "CarryOver"


class BadInput(Exception):
    """Input the step cannot work with; str() is the one line the user sees."""


def _origins(client: Any, old_job_id: str) -> Dict[str, str]:
    """Property -> the job it first came from, for the values the old job had itself carried over."""
    found: Dict[str, str] = {}
    for record in parse_records(client.get_properties(f"/jobs/{old_job_id}/{REUSED_SHEET}")):
        if not record.source_step:
            for name in record.properties:
                found[name] = record.origins.get(name, record.source_job_id)
    return found


def _step_copies(client: Any, resumed: ResumedJob, lines: List[str]) -> List[Request]:
    """Copies onto the top-level steps the rule skips that exist (pending) now."""
    requests: List[Request] = []
    for row in step_rows(resumed.details):
        condition = str(row.raw.get("condition") or "")
        if row.depth or not has_resume_condition(condition, row.project):
            continue
        decision = resumed.decide(row)
        if not decision.done:
            continue
        source = resumed.source_row(decision.job_id, row.path)
        if source is None:
            lines.append(f"{row.path}: skipped, but its earlier run in job {decision.job_id} was not found.")
            continue
        # a call's actual parameters are its own, not properties to carry
        copy = copy_step(client, resumed, decision.job_id, source, row,
                         also_exclude=call_parameter_names(source))
        requests += copy.requests
        lines.append(f"{row.path}: {copy.provenance.line()}")
    return requests


def run(client: Any, env: Mapping[str, str], out: TextIO) -> int:
    job_id = env.get("COMMANDER_JOBID", "").strip()
    own_step = env.get("COMMANDER_JOBSTEPID", "").strip()
    if not job_id or not own_step:
        raise BadInput("COMMANDER_JOBID or COMMANDER_JOBSTEPID is not set: expected to run as a job step")
    details = client.get_job_details(job_id)
    params = dict(actual_parameters(details))
    ref = params.get(JOB_TO_RESTART, "").strip()
    if not ref:
        write_summary(client, PROG, "A fresh run (jobToRestart is empty): nothing to carry over.", out)
        return 0
    resumed = ResumedJob(client, details)
    old, reason = usable_job(ref, resumed.current, resumed.lookup)
    if old is None:
        why = UNUSABLE.get(reason, "cannot be used") if reason is not None else "cannot be used"
        line = f"{JOB_TO_RESTART} '{ref}' {why}: nothing carried over."
        print(line, file=out)
        write_summary(client, PROG, line, out, "warning")
        return 0

    old_params = [name for name, _ in actual_parameters(resumed.raw.get(old.job_id) or {})]
    old_leaves, odd = read_leaves(client, Target(job_id=old.job_id))
    new_leaves, _ = read_leaves(client, Target(job_id=job_id))
    plan = plan_copy(old_leaves, new_leaves, job_excluded([*old_params, *params]))
    old_outputs = read_output_parameters(client, Target(job_id=old.job_id))
    have_outputs = read_output_parameters(client, Target(job_id=job_id))
    outputs = {k: v for k, v in old_outputs.items() if k not in have_outputs}
    earlier = _origins(client, old.job_id)
    provenance = Provenance(step=_own_path(details, own_step), source_job_id=old.job_id,
                            source_job_name=old.label, properties=tuple(plan.names),
                            output_parameters=tuple(outputs),
                            origins={n: earlier[n] for n in plan.names if n in earlier},
                            problems=tuple(f"{p}: not copied: {why}" for p, why in [*odd, *plan.left_out]))
    lines = [provenance.line()]
    requests: List[Request] = [*set_requests(Target(job_id=job_id), plan.writes),
                               *output_requests(Target(job_id=job_id), outputs)]
    requests += _step_copies(client, resumed, lines)
    requests += set_requests(Target(job_step_id=own_step), [Leaf(STEP_PROPERTY, provenance.line(), False)])
    requests += provenance_requests(job_id, own_step, provenance)
    written = write_all(client, requests)
    lines += list(provenance.problems)
    lines += [f"not written: {what}: {why}" for what, why in written.failed]
    summary = "\n".join(lines)
    print(summary, file=out)
    write_summary(client, PROG, summary, out, "warning" if written.failed else "")
    return 0


def _own_path(details: Mapping[str, Any], job_step_id: str) -> str:
    row = next((r for r in step_rows(details) if r.record.job_step_id == job_step_id), None)
    return row.path if row is not None else ""


def main(argv: Optional[List[str]] = None) -> int:
    return step_main(PROG, run, (BadInput,))


if __name__ == "__main__":
    sys.exit(main())
