"""Where each reused value and restored file came from, so a user can tell a reused value from a fresh one.

Every object that received something from an earlier job gets one record, written three ways:
- on the receiving step, the property ``ec_resume/reusedFrom`` (one line) and a line in its summary;
- on the job, ``ec_resume/reused/<job step id>`` (the record as JSON), which `ec-resume status` reads in
  one call for the whole job.
A chain of restarts keeps the first job: a value the source had itself reused names the job it came from.
"""

from __future__ import annotations

import json

from .records import field, record_type

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

REUSED_SHEET = "ec_resume/reused"
STEP_PROPERTY = "ec_resume/reusedFrom"
NAMES_SHOWN = 8


@record_type
class Provenance:
    step: str  # the receiving step's path in the new job
    source_job_id: str
    source_job_name: str
    source_step: str = ""  # "" for job-level properties: CD/RO does not record which step set them
    properties: Tuple[str, ...] = ()
    output_parameters: Tuple[str, ...] = ()
    summary: bool = False
    files: Tuple[Dict[str, Any], ...] = ()  # {"path", "size", "sha256"}
    origins: Mapping[str, str] = field(default_factory=dict)  # property -> job it first came from
    problems: Tuple[str, ...] = ()

    def to_text(self) -> str:
        return json.dumps({"step": self.step, "sourceJobId": self.source_job_id,
                           "sourceJobName": self.source_job_name, "sourceStep": self.source_step,
                           "properties": list(self.properties),
                           "outputParameters": list(self.output_parameters),
                           "summary": self.summary, "files": list(self.files), "origins": dict(self.origins),
                           "problems": list(self.problems)}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> Provenance:
        data = json.loads(text)
        return cls(step=str(data.get("step", "")), source_job_id=str(data.get("sourceJobId", "")),
                   source_job_name=str(data.get("sourceJobName", "")),
                   source_step=str(data.get("sourceStep", "")),
                   properties=tuple(data.get("properties", ())),
                   output_parameters=tuple(data.get("outputParameters", ())),
                   summary=bool(data.get("summary")), files=tuple(data.get("files", ())),
                   origins=dict(data.get("origins", {})), problems=tuple(data.get("problems", ())))

    @property
    def source(self) -> str:
        """job_12 (4f0c…), step build"""
        label = self.source_job_name or self.source_job_id
        where = f"job {label} ({self.source_job_id})" if label != self.source_job_id else f"job {label}"
        return where + (f", step {self.source_step}" if self.source_step else "")

    def line(self) -> str:
        """One line for the step's property and summary."""
        parts = []
        if self.properties:
            parts.append(_counted(len(self.properties), "property", "properties") + " (" +
                         _some(self.properties) + ")")
        if self.output_parameters:
            parts.append(_counted(len(self.output_parameters), "output parameter", "output parameters") +
                         " (" + _some(self.output_parameters) + ")")
        if self.summary:
            parts.append("the summary")
        if self.files:
            parts.append(_counted(len(self.files), "file", "files") + ", checked by SHA-256 (" +
                         _some([str(f.get("path")) for f in self.files]) + ")")
        what = ", ".join(parts) if parts else NOTHING_LEFT
        origins = sorted(set(self.origins.values()) - {self.source_job_id})
        earlier = f"; first set in job {', '.join(origins)}" if origins else ""
        return f"Reused from {self.source}: {what}{earlier}."


NOTHING_LEFT = "nothing to copy (it left no properties, output parameters, summary or files)"


def _counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def with_provenance(summary: Optional[str], provenance: Provenance) -> str:
    """The earlier run's summary, then the provenance line (the summary alone says nothing of reuse)."""
    earlier = (summary or "").rstrip()
    return (earlier + "\n" if earlier else "") + provenance.line()


def parse_records(sheet: Mapping[str, str]) -> List[Provenance]:
    """The job's ``ec_resume/reused`` sheet (job step id -> JSON); unreadable entries are left out."""
    found = []
    for _key, text in sorted(sheet.items()):
        try:
            found.append(Provenance.from_text(text))
        except (ValueError, TypeError, AttributeError):
            continue
    return found


def status_lines(records: Sequence[Provenance], exists: Callable[[str], Optional[bool]]) -> List[str]:
    """What `ec-resume status` shows: each receiving step and its source, and a source job that is gone.

    `exists` answers whether a job still exists (None when the server cannot say).
    """
    lines = []
    for record in records:
        gone = "" if exists(record.source_job_id) is not False else (
            f" The source job {record.source_job_id} no longer exists: these values and files can no longer "
            "be traced to it, and a restart of this job cannot restore files kept in its workspace.")
        lines.append(f"reused in {record.step or 'the job'}: {record.line()}{gone}")
        lines += [f"  problem: {problem}" for problem in record.problems]
    return lines


def read_records(client: Any, job_id: str) -> List[Provenance]:
    """The job's provenance records, in one getProperties call."""
    return parse_records(client.get_properties(f"/jobs/{job_id}/{REUSED_SHEET}"))


def job_exists(client: Any) -> Callable[[str], Optional[bool]]:
    """Whether a job still exists: False when the server says it does not, None when it cannot say."""
    from .client_errors import CommanderApiError, NotFound

    def exists(job_id: str) -> Optional[bool]:
        try:
            return client.get_property(f"/jobs/{job_id}/jobId", expand=False) is not None
        except NotFound:
            return False
        except CommanderApiError:
            return None

    return exists


def status_section(client: Any, job_id: str) -> Tuple[List[str], List[Dict[str, Any]]]:
    """(lines for `ec-resume status`, records as JSON) of what the job reused."""
    records = read_records(client, job_id)
    if not records:
        return [], []
    exists = job_exists(client)
    gone = {r.source_job_id: exists(r.source_job_id) is False for r in records}
    lines = status_lines(records, lambda job: not gone.get(job, False))
    as_json = [{**json.loads(r.to_text()), "sourceJobExists": not gone[r.source_job_id]} for r in records]
    return lines, as_json
