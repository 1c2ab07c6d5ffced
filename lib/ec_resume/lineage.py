"""Which job resumed which, written on both jobs, and where an earlier job failed.

On the new job N: ``ec_resume/resumes`` (the job it resumes), ``ec_resume/chainRoot`` (the first job of
the chain, kept across restarts of restarts) and the report-urls link "Resumes <label>". On the old job
R: ``ec_resume/resumedBy/<N>`` = how N was started (link, RestartJob, ec-resume) for every N, and one
report-urls link "Resumed by <label>" to the latest of them.

On a job that may be resumed: ``ec_resume/failedAt`` and ``ec_resume/failedStep``, the finish time and
path of its first failed step (``none`` and empty when none failed), which the run condition and the
planner read so that what ran after the failure runs again. A job without them runs every step.
"""

from __future__ import annotations

from .client import CommanderClient
from .records import field, record_type
from .resume_rule import NO_FAILURE, FailurePoint, failure_point

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, List, Mapping, Optional

LINK, RESTART_JOB, CLI = "link", "RestartJob", "ec-resume"
RESUMES_LINK, RESUMED_BY_LINK = "Resumes ", "Resumed by "
JOB_PAGE = "/commander/link/jobDetails/jobs/"
# Characters a report-urls link name cannot hold: it is a property name.
_NOT_IN_NAMES = str.maketrans({"/": "_", "[": "(", "]": ")"})


def ec_resume_path(job_id: str, name: str) -> str:
    return f"/jobs/{job_id}/ec_resume/{name}"


@record_type
class Lineage:
    """What the properties say about one job's place in its chain of restarts."""

    resumes: str = ""
    chain_root: str = ""
    resumed_by: Mapping[str, str] = field(default_factory=dict)  # new job id -> how
    from_step: str = ""
    failed_step: str = ""
    failed_at: str = ""

    def to_json(self) -> Dict[str, Any]:
        return {"resumes": self.resumes, "chainRoot": self.chain_root, "resumedBy": dict(self.resumed_by),
                "fromStep": self.from_step, "failedStep": self.failed_step, "failedAt": self.failed_at}


def link_name(prefix: str, label: str) -> str:
    return (prefix + label).translate(_NOT_IN_NAMES)


def _label(client: CommanderClient, job_id: str) -> str:
    return (client.get_property(f"/jobs/{job_id}/jobName") or "").strip() or job_id


def lineage_reads(ahead: Any, new_job_id: str, old_job_id: str) -> List[Any]:
    """What record_lineage(client, new_job_id, old_job_id, LINK) reads, as reads ahead of a
    prefetch.Prefetched `ahead`: so that, with the writes held, it takes no round trip of its own (the
    create of the entry goes in the batch of writes, see Prefetched.create_property)."""
    return [ahead.property_read(ec_resume_path(old_job_id, "chainRoot")),
            ahead.property_read(f"/jobs/{old_job_id}/jobName"),
            ahead.property_read(ec_resume_path(old_job_id, f"resumedBy/{new_job_id}"), expand=False),
            ahead.properties_read(f"/jobs/{old_job_id}/report-urls"),
            ahead.property_read(f"/jobs/{new_job_id}/jobName")]


def record_lineage(client: CommanderClient, new_job_id: str, old_job_id: str, how: str) -> None:
    """Write the lineage of `new_job_id` resuming `old_job_id` on both jobs. Idempotent.

    The stored link restarts a job without EC-Resume code taking part, so the new job's own
    CreateRestartLink step records it as "link"; it runs in the new job and may come before or after the
    RestartJob or ec-resume that launched it wrote its own `how`. So "link" never overwrites another
    word, and the others always do. The old job's "Resumed by" link moves only for a job it names anew.
    """
    old_root = (client.get_property(ec_resume_path(old_job_id, "chainRoot")) or "").strip()
    client.set_property(ec_resume_path(new_job_id, "resumes"), old_job_id)
    client.set_property(ec_resume_path(new_job_id, "chainRoot"), old_root or old_job_id)
    old_label = _label(client, old_job_id)
    client.set_property(f"/jobs/{new_job_id}/report-urls/{link_name(RESUMES_LINK, old_label)}",
                        JOB_PAGE + old_job_id)

    entry = ec_resume_path(old_job_id, f"resumedBy/{new_job_id}")
    if how == LINK:
        # Create, never set: a read-then-write would race the launcher's own write and could replace
        # "RestartJob" or "ec-resume" with "link". A client holding its writes (CreateRestartLink's) may
        # hold the create too, when it read the entry missing: then the create goes in the batch of
        # writes, and the moved link with it. The create is the server's own there as well: a name
        # taken by then is refused and nothing is overwritten ([U] a serial batch runs each request in
        # its own transaction and answers it on its own, so the others still run: xml_batch.py, and the
        # batch API's documentation as the emulator's README reads it). Only the "Resumed by" link
        # differs in that race: it is moved by this step too, to this job, as the launcher that took
        # the name moves it.
        if not client.create_property(entry, how):
            return
    else:
        before = client.get_property(entry)
        client.set_property(entry, how)
        if before is not None:
            return
    links = client.get_properties(f"/jobs/{old_job_id}/report-urls")
    for name in links:
        if name.startswith(RESUMED_BY_LINK):
            client.delete_property(f"/jobs/{old_job_id}/report-urls/{name}")
    new_label = _label(client, new_job_id)
    client.set_property(f"/jobs/{old_job_id}/report-urls/{link_name(RESUMED_BY_LINK, new_label)}",
                        JOB_PAGE + new_job_id)


def read_lineage(client: CommanderClient, job_id: str) -> Lineage:
    def read(name: str) -> str:
        return (client.get_property(ec_resume_path(job_id, name), expand=False) or "").strip()

    return Lineage(resumes=read("resumes"), chain_root=read("chainRoot"),
                   resumed_by=client.get_properties(ec_resume_path(job_id, "resumedBy")),
                   from_step=read("fromStep"), failed_step=read("failedStep"),
                   failed_at="" if read("failedAt") == NO_FAILURE else read("failedAt"))


def _recorded(point: Optional[FailurePoint]) -> tuple:
    """failedAt and failedStep as written: NO_FAILURE and "" when no step failed. A failed step without a
    finish time leaves failedAt empty: unknown, so every step runs."""
    return (point.finish, point.path) if point else (NO_FAILURE, "")


def write_failure_point(client: CommanderClient, job_id: str, point: Optional[FailurePoint]) -> None:
    """Write failedAt and failedStep of the job."""
    failed_at, failed_step = _recorded(point)
    client.set_property(ec_resume_path(job_id, "failedAt"), failed_at, expandable=False)
    client.set_property(ec_resume_path(job_id, "failedStep"), failed_step, expandable=False)


def ensure_failure_point(client: CommanderClient, job: Mapping[str, Any]) -> Optional[FailurePoint]:
    """Before a restart of a completed job: its failure point, written when missing or no longer true.

    CreateRestartLink writes it as its job ends; a job without that step, or one with a step that failed
    after it, is put right here: the job is complete now and its tree is final.
    """
    job_id = str(job.get("jobId") or "")
    point = failure_point(job)
    want = _recorded(point)
    have = tuple(client.get_property(ec_resume_path(job_id, name), expand=False)
                 for name in ("failedAt", "failedStep"))
    if have != want:
        write_failure_point(client, job_id, point)
    return point
