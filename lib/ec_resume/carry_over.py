"""What a skipped step produced, carried into the job that skips it: custom properties, output parameters
and summaries, read as whole sheets and written in one XML batch.

The decisions are pure: `flatten` turns a getProperties answer (recurse=1, expand=0) into leaf paths,
`plan_copy` says which of them the new object gets. Not copied: what the new object already has, the
names `excluded` names at the top (the jobs' parameters, ``report-urls``, the plugin's own ``ec_resume``
bookkeeping), and names a property path cannot address (``/ [ ] $``), which are reported. The I/O at the
bottom reads a sheet in one getProperties call and writes every planned property in one batch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .client import CommanderClient
from .records import field, record_type
from .rest_json import as_list
from .xml_batch import Reply, run_batch

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

    from .xml_batch import Request

BOOKKEEPING = "ec_resume"
REPORT_URLS = "report-urls"
SUMMARY = "summary"
# Characters a property path cannot carry in a name; and text XML 1.0 cannot carry at all.
_UNADDRESSABLE = re.compile(r"[/\[\]$]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@record_type
class Leaf:
    """One string property below an object: its path ("a/b") and raw value."""

    path: str
    value: str
    expandable: bool = True


@record_type
class CopyPlan:
    """What to write onto the new object, and what was left out with the reason."""

    writes: Tuple[Leaf, ...] = ()
    left_out: Tuple[Tuple[str, str], ...] = ()  # (path or name, why)

    @property
    def names(self) -> List[str]:
        return [leaf.path for leaf in self.writes]


def flatten(records: Any, prefix: str = "") -> Tuple[List[Leaf], List[Tuple[str, str]]]:
    """Leaves of a getProperties answer's property list; names that cannot be addressed are left out."""
    leaves: List[Leaf] = []
    odd: List[Tuple[str, str]] = []
    for record in as_list(records):
        if not isinstance(record, Mapping) or not record.get("propertyName"):
            continue
        name = str(record["propertyName"])
        path = prefix + name
        if _UNADDRESSABLE.search(name):
            odd.append((path, "its name holds / [ ] or $, which a property path cannot address"))
            continue
        sheet = record.get("propertySheet")
        if "value" not in record or isinstance(sheet, Mapping):
            inner = sheet.get("property") if isinstance(sheet, Mapping) else None
            more, more_odd = flatten(inner, path + "/")
            leaves += more
            odd += more_odd
            continue
        value = "" if record.get("value") is None else str(record["value"])
        leaves.append(Leaf(path, value, str(record.get("expandable", "1")) not in ("0", "false")))
    return leaves, odd


def _taken(path: str, have: Mapping[str, Leaf], have_sheets: Iterable[str]) -> bool:
    """The new object has this property, or a string where the path needs a sheet, or a sheet there."""
    parts = path.split("/")
    lowered = {p.lower() for p in have}
    for k in range(1, len(parts)):
        if "/".join(parts[:k]).lower() in lowered:
            return True
    return path.lower() in lowered or path.lower() in {s.lower() for s in have_sheets}


def sheet_paths(leaves: Iterable[Leaf]) -> List[str]:
    found = set()
    for leaf in leaves:
        parts = leaf.path.split("/")
        found.update("/".join(parts[:k]) for k in range(1, len(parts)))
    return sorted(found)


def plan_copy(old: Sequence[Leaf], new: Sequence[Leaf], excluded: Iterable[str]) -> CopyPlan:
    """The leaves of `old` the new object gets: not excluded at the top (any letter case, as CD/RO matches
    names), not already there, and carried whole by XML."""
    out = {name.lower() for name in excluded}
    have = {leaf.path: leaf for leaf in new}
    have_sheets = sheet_paths(new)
    writes: List[Leaf] = []
    left_out: List[Tuple[str, str]] = []
    for leaf in old:
        top = leaf.path.split("/", 1)[0].lower()
        if top in out:
            continue
        if _taken(leaf.path, have, have_sheets):
            continue  # the new job set it itself: its own value wins
        if _NOT_XML.search(leaf.value):
            left_out.append((leaf.path, "its value holds control characters the API cannot carry"))
            continue
        writes.append(leaf)
    return CopyPlan(tuple(writes), tuple(left_out))


# What the resume rule reads of the new job: an earlier job's value must not change what this one skips.
RULE_INPUTS = ("jobToRestart", "resumeDoneOutcomes")


def job_excluded(parameter_names: Iterable[str]) -> List[str]:
    return [*parameter_names, REPORT_URLS, BOOKKEEPING, *RULE_INPUTS]


# ------------------------------------------------------------------------------------------------ I/O


@record_type(frozen=False)
class Target:
    """The object properties are read from or written to: a job or a job step, by its id."""

    job_id: str = ""
    job_step_id: str = ""

    def locator(self) -> Dict[str, str]:
        return {"jobStepId": self.job_step_id} if self.job_step_id else {"jobId": self.job_id}


def read_leaves(client: CommanderClient, target: Target) -> Tuple[List[Leaf], List[Tuple[str, str]]]:
    """Every property of the object, sheets included, in one getProperties call (not expanded)."""
    params = {**target.locator(), "recurse": "1", "expand": "0"}
    answer = client.call("getProperties", "GET", "/properties", params=params)
    sheet = answer.get("propertySheet")
    return flatten(sheet.get("property") if isinstance(sheet, Mapping) else None)


def set_requests(target: Target, leaves: Iterable[Leaf]) -> List[Request]:
    """[U] setProperty with a jobId or jobStepId locator and a relative name writes on that object."""
    return [("setProperty", {**target.locator(), "propertyName": leaf.path, "value": leaf.value,
                             "expandable": "1" if leaf.expandable else "0"}) for leaf in leaves]


def output_requests(target: Target, values: Mapping[str, str]) -> List[Request]:
    return [("setOutputParameter", {**target.locator(), "outputParameterName": name, "value": value})
            for name, value in values.items() if not _NOT_XML.search(value)]


def read_output_parameters(client: CommanderClient, target: Target) -> Dict[str, str]:
    """The job's or call step's output parameters, by name (one XML call: getOutputParameters)."""
    reply = run_batch(client, [("getOutputParameters", target.locator())])[0]
    if not reply.ok:
        return {}
    value = reply.value if isinstance(reply.value, Mapping) else {}
    return {str(p.get("outputParameterName")): str(p.get("value") or "")
            for p in as_list(value.get("outputParameter")) if isinstance(p, Mapping)}


@record_type(frozen=False)
class Written:
    ok: int = 0
    failed: List[Tuple[str, str]] = field(default_factory=list)  # (what, error code and message)


def write_all(client: CommanderClient, requests: Sequence[Request], what: Optional[Sequence[str]] = None
              ) -> Written:
    """Run every request in one batch; which failed and why (the others still land)."""
    written = Written()
    if not requests:
        return written
    replies: List[Reply] = run_batch(client, requests)
    for index, reply in enumerate(replies):
        if reply.ok:
            written.ok += 1
        else:
            name = what[index] if what and index < len(what) else requests[index][0]
            written.failed.append((name, f"{reply.error_code}: {' '.join(reply.message.split())}"))
    return written
