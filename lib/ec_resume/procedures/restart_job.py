"""Step code of the plugin procedure RestartJob: the restart of `ec-resume restart`, inside a job step.

Parameters (the step's own properties): jobId, parameters (name=value per line), fromStep, dryRun.
The plan (every step, skip or run, and why) goes into the step summary and the log before anything is
launched; a refusal is the summary's one line and the step ends in error, with nothing launched. After a
launch: ``/myJob/ec_resume/launched`` = the new job's id, and a report-urls link "Restarted as <label>".
"""

from __future__ import annotations

import sys

from ..lineage import JOB_PAGE, RESTART_JOB, link_name
from ..report import RestartPlan, render_plan
from ..restart import BadRequest, LaunchUnknown, Refused, RestartRequest, parse_overrides, restart
from .step_io import step_main, write_summary

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, List, Mapping, Optional, TextIO

PROG = "RestartJob"
TRUE_WORDS = ("1", "true", "yes", "on")


def _parameter(client: Any, name: str) -> str:
    return (client.get_property(name) or "").strip()


def read_request(client: Any, env: Mapping[str, str]) -> RestartRequest:
    own_job = env.get("COMMANDER_JOBID", "").strip()
    if not own_job:
        raise BadRequest("COMMANDER_JOBID is not set: expected to run as a step of a CD/RO job")
    job_ref = _parameter(client, "jobId")
    if not job_ref:
        raise BadRequest("jobId is empty: expected the id or name of the job to restart")
    text = client.get_property("parameters") or ""
    lines = [line for line in text.splitlines() if line.strip()]
    overrides = parse_overrides(lines, what=lambda line: f"parameters line '{line.strip()}'")
    dry_run = _parameter(client, "dryRun").lower() in TRUE_WORDS
    from_step = _parameter(client, "fromStep")
    return RestartRequest(job_ref=job_ref, overrides=tuple(overrides), from_step=from_step, dry_run=dry_run,
                          how=RESTART_JOB, holder=f"{RESTART_JOB}:job_{own_job}", own_job_id=own_job,
                          option=lambda name: f"parameters: {name}")


def run(client: Any, env: Mapping[str, str], out: TextIO) -> int:
    """Plan and launch; the exit code. Raises Refused, BadRequest, LaunchUnknown or CommanderApiError."""
    request = read_request(client, env)
    shown: List[str] = []

    def show(plan: RestartPlan) -> None:
        shown.append(render_plan(plan))
        print(shown[-1], file=out, end="", flush=True)
        if not request.dry_run:  # the plan is there before the launch, whatever happens next
            write_summary(client, PROG, shown[-1], out)

    launch = restart(client, request, show)
    plan_text = shown[-1] if shown else ""
    if request.dry_run:
        write_summary(client, PROG, f"Dry run: nothing started.\n{plan_text}", out)
        return 0
    new_id = launch.new_job_id
    label = (client.get_property(f"/jobs/{new_id}/jobName") or "").strip() or new_id
    client.set_property("/myJob/ec_resume/launched", new_id)
    client.set_property(f"/myJob/report-urls/{link_name('Restarted as ', label)}", JOB_PAGE + new_id)
    lines = [f"Started {label}, restarting {launch.project}/{launch.procedure} job {launch.job_id}."]
    if launch.found_after_lost_reply:
        lines.append("The server's answer to the launch was lost; the job it started was found.")
    lines += [f"Left out '{name}': {why}." for name, why in launch.left_out]
    print("\n".join(lines), file=out)
    write_summary(client, PROG, "\n".join(lines) + "\n" + plan_text, out)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return step_main(PROG, run, (Refused, BadRequest, LaunchUnknown))


if __name__ == "__main__":
    sys.exit(main())
