"""Step code of the plugin procedure CreateRestartLink.

Runs as the last (alwaysRun) step of a user's procedure, and in order:
1. writes where this job failed first (``ec_resume/failedAt``, ``failedStep``), so that a restart runs
   again what ran after the failure;
2. when this job resumes a job of the same procedure (its ``jobToRestart``), records the lineage on both;
3. puts "Restart this job" and "Run all steps again" links on the job page (``/myJob/report-urls``). A
   restart link longer than 8 KB would be refused (HTTP 414), so a short link that runs RestartJob for
   this job takes its place; a run-all link that long is left out. With resume/linkRunNow = 0 the links
   open the filled-in run form instead of starting the job (a GET that starts a job can be fired by a
   link prefetcher);
4. says in the step summary what the links carry and leave out, why this job ran every step when its
   jobToRestart could not be used, and what a restart of it would do. The work is done by then: a
   summary that cannot be written is a warning in the log, not a failed step.

Round trips, whatever the number of parameters or steps, in a job that resumes another as in one that
does not: one XML batch of the settings it reads (`first_reads`; the timeout setting among them, before
any other call), getJobDetails, one batch of what the plan, the links and the lineage read
(`prefetch.plan_reads`, `lineage.lineage_reads`), and one batch of every write, the create of the old
job's `resumedBy/<this job>` among them. A jobToRestart given by name rather than id costs the lineage
a few more. The bootstrap takes the agent code's digest from the step's command.
"""

from __future__ import annotations

import sys

from ..client import NotFound
from ..job_steps import actual_parameters
from ..lineage import LINK, lineage_reads, record_lineage, write_failure_point
from ..planning import plan_restart
from ..plugin_settings import LINK_RUN_NOW, SETTINGS, TIMEOUT, link_runs_now
from ..prefetch import Prefetched, job_to_restart, plan_reads
from ..records import field, record_type
from ..restart_link import (
    DEFAULT_TEMPLATE,
    LEFT_OUT_REASONS,
    MAX_LINK_LENGTH,
    LinkTemplateError,
    RestartLinks,
    build_restart_links,
    restart_job_link,
    without_run_now,
)
from ..restart_parameters import CREDENTIAL
from ..resume_rule import JOB_TO_RESTART, JobFacts, Reason, failure_point, usable_job
from .step_io import step_main, write_summary

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, List, Mapping, Optional, TextIO, Tuple

SUMMARY_PATHS = ("/myJobStep/summary", "/myJobStep/outcome")

DEFAULT_LINK_NAME = "Restart this job"
DEFAULT_RUN_ALL_LINK_NAME = "Run all steps again"
PROG = "CreateRestartLink"
# Why a jobToRestart could not be used, so every step of this job ran.
UNUSABLE = {Reason.BAD_JOB_REFERENCE: "is not a plain job id or name",
            Reason.JOB_NOT_FOUND: "names no job that exists",
            Reason.SAME_JOB: "names this job itself",
            Reason.OTHER_PROCEDURE: "names a job that is not a job of this procedure",
            Reason.JOB_NOT_COMPLETED: "names a job that had not completed"}


class BadInput(Exception):
    """Input the step cannot work with; str() is the one line the user sees."""


@record_type(frozen=False)
class StoredLinks:
    """What went onto the job page, for the summary."""

    links: RestartLinks
    restart_url: str = ""
    run_all_url: str = ""
    notes: List[str] = field(default_factory=list)


def _link_name(client: Any, parameter: str, default: str) -> str:
    value = client.get_property(parameter)
    name = default if value is None else value.strip()
    # The name becomes a property name under /myJob/report-urls, so it cannot hold a path separator.
    if name and any(ch in name for ch in "/[]"):
        raise BadInput(f"{parameter} '{name}' cannot contain '/', '[' or ']': expected a plain link name")
    return name


def describe(links: RestartLinks, link_name: str, project: str, procedure: str) -> str:
    """What the links carry and what they leave out."""
    lines: List[str] = []
    if links.missing_job_to_restart:
        lines.append(f"No restart link: procedure '{procedure}' of project '{project}' has no formal "
                     f"parameter '{JOB_TO_RESTART}', so a restart could not skip any step.")
        lines.append(f"Fix: add a formal parameter named '{JOB_TO_RESTART}' with an empty default value "
                     f"to procedure '{procedure}'.")
    else:
        carried = ", ".join(links.carried) if links.carried else "none"
        count = len(links.carried)
        lines.append(f"'{link_name}' carries {count} parameter{'' if count == 1 else 's'}: {carried}.")
    for item in links.left_out:
        again = "; enter it again when you start the new job" if item.why == CREDENTIAL else ""
        lines.append(f"Left out '{item.name}': {LEFT_OUT_REASONS[item.why]}{again}.")
    return "\n".join(lines)


def _job_facts(client: Any, ref: str) -> Optional[JobFacts]:
    """The few facts the rule's first steps need of a job named by reference; None when it is missing."""
    def read(name: str) -> str:
        return (client.get_property(f"/jobs/{ref}/{name}", expand=False) or "").strip()

    try:
        job_id = read("jobId")
    except NotFound:
        return None
    return JobFacts(job_id=job_id, project=read("projectName"), procedure=read("procedureName"),
                    status=read("status"), label=read("jobName") or job_id) if job_id else None


def resumed_job(client: Any, job: Mapping[str, Any]) -> Tuple[Optional[JobFacts], str]:
    """(the job this one resumes, or None; a sentence when its jobToRestart could not be used, or "")."""
    ref = dict(actual_parameters(job)).get(JOB_TO_RESTART, "").strip()
    current = JobFacts(job_id=str(job.get("jobId") or ""), project=str(job.get("projectName") or ""),
                       procedure=str(job.get("procedureName") or ""))
    found, reason = usable_job(ref, current, lambda r: _job_facts(client, r))
    if found is not None:
        return found, f"This job resumes {found.label}."
    if reason in UNUSABLE:
        return None, (f"{JOB_TO_RESTART} '{ref}' {UNUSABLE[reason]}, so this job skipped nothing: every "
                      "resumable step ran.")
    return None, ""


def store_links(client: Any, job_id: str, links: RestartLinks, template: str, link_name: str,
                run_all_name: str) -> StoredLinks:
    stored = StoredLinks(links, links.restart_url, links.run_all_url if run_all_name else "")
    if stored.restart_url and len(stored.restart_url) > MAX_LINK_LENGTH:
        plugin_project = (client.get_property("/myProject/projectName") or "").strip() or "EC-Resume"
        stored.restart_url = restart_job_link(template, plugin_project, job_id)
        stored.notes.append(f"The parameters make the restart link longer than {MAX_LINK_LENGTH // 1024} KB, "
                            f"which browsers and servers refuse: '{link_name}' runs RestartJob for this job "
                            "instead, which takes them from the job itself.")
    if stored.run_all_url and len(stored.run_all_url) > MAX_LINK_LENGTH:
        stored.run_all_url = ""
        stored.notes.append(f"No '{run_all_name}' link: it would be longer than {MAX_LINK_LENGTH // 1024} "
                            "KB; to run every step, run the procedure yourself or 'ec-resume restart --all'.")
    if not link_runs_now(client):
        stored.restart_url = without_run_now(stored.restart_url)
        stored.run_all_url = without_run_now(stored.run_all_url)
        stored.notes.append("The links open the filled-in run form (resume/linkRunNow is 0): press Run there "
                            "to start the job.")
    if stored.restart_url:
        client.set_property(f"/myJob/report-urls/{link_name}", stored.restart_url)
    if stored.run_all_url:
        client.set_property(f"/myJob/report-urls/{run_all_name}", stored.run_all_url)
    return stored


def _plan_line(client: Any, job: Mapping[str, Any], links: RestartLinks, out: TextIO) -> str:
    """What a restart through the link would do; "" when it cannot be told (a warning in the log)."""
    if links.missing_job_to_restart:
        return ""
    params = {name: value for name, value in actual_parameters(job)}
    params[JOB_TO_RESTART] = str(job.get("jobId") or "")
    try:
        plan = plan_restart(client, job, params)
    except Exception as exc:  # the links are stored: a plan that cannot be made must not fail the step
        print(f"{PROG}: warning: no plan for the summary: {' '.join(str(exc).split())}", file=out)
        return ""
    return f"A restart of this job would {plan.counts()}."


def first_reads(client: Prefetched) -> List[Any]:
    """What the step reads before it knows its job: the settings, its own parameters."""
    return [client.property_read(SETTINGS + TIMEOUT, expand=False),
            client.property_read("linkName"), client.property_read("runAllLinkName"),
            client.property_read("/myProject/resume/linkTemplate", expand=False),
            client.property_read(SETTINGS + LINK_RUN_NOW, expand=False),
            client.property_read("/myProject/projectName")]


def prepare(client: Any, env: Mapping[str, str]) -> Prefetched:
    """The step's client, with the first reads made in one round trip."""
    ahead = Prefetched(client)
    ahead.fetch(first_reads(ahead))
    return ahead


def send_writes(client: Any, out: TextIO) -> None:
    """The held writes in one round trip. A refused summary is a warning, any other refusal fails the step."""
    if not isinstance(client, Prefetched):
        return
    for path, reply in client.send_writes():
        if path not in SUMMARY_PATHS:
            raise client.error_of(reply)
        print(f"{PROG}: warning: the step summary could not be written: {client.error_of(reply)}", file=out)


def run(client: Any, env: Mapping[str, str], out: TextIO) -> int:
    """Do the step's work with `client`; returns the exit code. Raises BadInput or CommanderApiError."""
    job_id = env.get("COMMANDER_JOBID", "").strip()
    if not job_id:
        raise BadInput("COMMANDER_JOBID is not set: expected to run as a step of a CD/RO job")
    link_name = _link_name(client, "linkName", DEFAULT_LINK_NAME)
    run_all_name = _link_name(client, "runAllLinkName", DEFAULT_RUN_ALL_LINK_NAME)
    if not link_name:
        raise BadInput("linkName is empty: expected the name of the restart link, e.g. "
                       f"'{DEFAULT_LINK_NAME}'")

    job = client.get_job_details(job_id)
    project = str(job.get("projectName") or "")
    procedure = str(job.get("procedureName") or "")
    if not project or not procedure:
        raise BadInput(f"job {job_id} names no project or procedure: expected a procedure job")
    if isinstance(client, Prefetched):
        ref = job_to_restart(job)
        client.fetch(plan_reads(client, job) + (lineage_reads(client, job_id, ref) if ref else []))
        client.hold_writes()
    write_failure_point(client, job_id, failure_point(job))
    resumes, why = resumed_job(client, job)
    if resumes is not None:
        record_lineage(client, job_id, resumes.job_id, LINK)

    formals = client.get_formal_parameters(project, procedure)
    # The template holds no $[...] references, and must reach us exactly as written.
    template: Optional[str] = client.get_property("/myProject/resume/linkTemplate", expand=False)
    template = (template or "").strip() or DEFAULT_TEMPLATE
    try:
        links = build_restart_links(template, project, procedure, actual_parameters(job), formals, job_id)
        stored = store_links(client, job_id, links, template, link_name, run_all_name)
    except LinkTemplateError as exc:
        raise BadInput(str(exc)) from None

    lines = [describe(links, link_name, project, procedure), *stored.notes]
    lines += [line for line in (why, _plan_line(client, job, links, out)) if line]
    summary = "\n".join(lines)
    # Names only: values may be sensitive and are visible on the job page to those allowed to see them.
    print(summary, file=out)
    write_summary(client, PROG, summary, out, "warning" if links.missing_job_to_restart else "")
    send_writes(client, out)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    return step_main(PROG, run, (BadInput,), prepare)


if __name__ == "__main__":
    sys.exit(main())
