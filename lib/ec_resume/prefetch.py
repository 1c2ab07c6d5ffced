"""Fewer round trips for a client whose reads are known ahead: a stand-in for `CommanderClient` that
asks for them all in one XML API batch, answers the later calls from those replies, and can hold
property writes back to send them in one batch too.

A read that was not fetched goes to the server as before, so what is fetched changes how many round
trips a step takes, never what it reads: each reply is the server's own, errors included (a property
that does not exist still reads as None, a refused read still raises). A property written through the
wrapper (set, create, delete) drops every reply held of a path with a segment of its name, whatever path
the read spelled it with, and every sheet (getProperties) and job record (getJobDetails) held, so a value
written is never read stale; a write held back changes nothing on the server yet, so it drops nothing until
it is sent. While writes are held, deleteProperty is held too, and so is createProperty when a read ahead
of that very property found it missing (see `create_property`).
`plan_reads` is what a plan of a job's restart reads (planning.plan_restart). A server that refuses the
batch as a whole (no XML API behind a proxy, say) gets each call on its own over REST instead.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from .client_errors import (
    AlreadyExists,
    CommanderApiError,
    NotFound,
    PropertyNotFound,
    RequestRefused,
    refused,
)
from .job_steps import actual_parameters, step_rows
from .planning import CHAIN_PROPERTIES
from .plugin_settings import SETTINGS
from .resume_rule import JOB_TO_RESTART
from .xml_batch import Reply, run_batch

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, List, Optional, Sequence, Tuple

    from .xml_batch import Request

    Key = Tuple[Any, ...]

RULE_SETTINGS = ("doneOutcomes", "maxChainDepth", "rule")  # what a plan reads of the plugin's settings
PLUGIN_PROJECT = "/plugins/EC-Resume/project"
# A held write the server may refuse without the step failing, as the client's own call takes it: a
# createProperty that finds the name taken (False), a deleteProperty that finds nothing to delete (False).
# [U] A real server answers a name taken with the same Duplicate<Kind>Name code in a batch as over REST
# (the emulator does; CD/RO's REST and XML APIs are one API on two wires).
TOLERATED = {"createProperty": AlreadyExists, "deleteProperty": NotFound}


def steps_path(project: str, procedure: str) -> str:
    """The REST path of getSteps, as the planner sends it."""
    quote = lambda text: urllib.parse.quote(text, safe="")  # noqa: E731
    return f"/projects/{quote(project)}/procedures/{quote(procedure)}/steps"


def may_overlap(a: str, b: str) -> bool:
    """Whether property paths `a` and `b` may name one property, or one below the other (more than needed
    is safe). Two /jobs/<job>/... paths are taken as of one job (an id and a name may be one job) and
    compared below it, segment by segment; any other spelling (/myJob/..., a relative name) overlaps a path
    that holds its last segment, or whose last segment it holds. [U] Names are compared ignoring case."""
    sa, sb = a.casefold().strip("/").split("/"), b.casefold().strip("/").split("/")
    if a.startswith("/jobs/") and b.startswith("/jobs/") and len(sa) > 2 and len(sb) > 2:
        below = min(len(sa), len(sb))
        return sa[2:below] == sb[2:below]
    return sa[-1] in sb or sb[-1] in sa


class Prefetched:
    """Wraps a client: `fetch` reads ahead in one batch, `hold_writes` / `send_writes` batch the writes.

    Every other attribute is the wrapped client's (setting `timeout` sets the client's).
    """

    def __init__(self, client: Any) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_replies", {})
        object.__setattr__(self, "_held", None)

    @staticmethod
    def can_batch(client: Any) -> bool:
        """Whether `client` speaks the XML API (a stand-in in a unit test may not)."""
        return callable(getattr(client, "post_xml", None)) and callable(getattr(client, "_locator", None))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._client, name, value)

    # ------------------------------------------------------------------------------------ reading ahead

    def _locator(self, locator: Mapping[str, Any]) -> Dict[str, Any]:
        return self._client._locator(locator)

    def _property_key(self, path: str, expand: bool, locator: Mapping[str, Any]) -> Key:
        return ("getProperty", path, bool(expand), tuple(sorted(self._locator(locator).items())))

    def property_read(self, path: str, expand: bool = True, **locator: Any) -> Tuple[Key, Request]:
        args = {"propertyName": path, **self._locator(locator)}
        if not expand:
            args["expand"] = "0"
        return self._property_key(path, expand, locator), ("getProperty", args)

    @staticmethod
    def steps_read(project: str, procedure: str) -> Tuple[Key, Request]:
        return (("getSteps", steps_path(project, procedure)),
                ("getSteps", {"projectName": project, "procedureName": procedure}))

    @staticmethod
    def formal_parameters_read(project: str, procedure: str) -> Tuple[Key, Request]:
        return (("getFormalParameters", project, procedure),
                ("getFormalParameters", {"projectName": project, "procedureName": procedure}))

    @staticmethod
    def job_details_read(job_ref: str) -> Tuple[Key, Request]:
        # [U] The XML API's getJobDetails answers the record REST gives, a list of one being the item
        # itself (the emulator's two answers are equal so); every reader takes either (rest_json.as_list).
        return ("getJobDetails", job_ref), ("getJobDetails", {"jobId": job_ref})

    def properties_read(self, path: str, expand: bool = False, **locator: Any) -> Tuple[Key, Request]:
        args = {"path": path, "expand": "1" if expand else "0", **self._locator(locator)}
        return self._sheet_key(path, expand, locator), ("getProperties", args)

    def _sheet_key(self, path: str, expand: bool, locator: Mapping[str, Any]) -> Key:
        return ("getProperties", path, bool(expand), tuple(sorted(self._locator(locator).items())))

    def fetch(self, reads: Sequence[Tuple[Key, Request]]) -> None:
        """Send the reads not already held in one batch (no round trip when none is left)."""
        wanted = [(key, request) for key, request in dict(reads).items() if key not in self._replies]
        if not wanted:
            return
        try:
            replies = run_batch(self._client, [request for _, request in wanted])
        except RequestRefused:  # the envelope itself: each read goes over REST when it is made
            return
        for (key, _), reply in zip(wanted, replies):
            self._replies[key] = reply

    def _take(self, key: Key) -> Optional[Reply]:
        return self._replies.get(key)

    def _forget(self, path: str) -> None:
        """Drop the replies of every read that may be of `path` or below it, and every sheet and job record
        (more than needed is safe)."""
        name = path.rstrip("/").rsplit("/", 1)[-1]
        for key in [k for k in self._replies if k[0] in ("getProperties", "getJobDetails")
                    or (k[0] == "getProperty" and name in k[1].split("/"))]:
            del self._replies[key]

    def _missing(self, path: str, locator: Mapping[str, Any]) -> Optional[bool]:
        """Whether the reads ahead found the property missing (True) or there (False); None: not read, or
        a held write may touch it."""
        if any(may_overlap(path, str(args.get("propertyName", ""))) for _, args in self._held or []):
            return None
        for expand in (False, True):
            reply = self._take(self._property_key(path, expand, locator))
            if reply is not None and (reply.ok or reply.error_code == "NoSuchProperty"):
                return not reply.ok
        return None

    def create_property(self, path: str, value: str, **locator: Any) -> bool:
        """Create the property; False when it exists already.

        While writes are held and a read ahead found the property: False, nothing sent (the server would
        refuse the create). Found missing: the createProperty is held, to go in the batch of writes, and
        True. In that batch it is still the server's atomic create: if the name was taken in between it
        fails and changes nothing, and `send_writes` takes that refusal as the client takes it (False).
        Otherwise it is sent now, as the client sends it.
        """
        missing = self._missing(path, locator) if self._held is not None else None
        if missing is False:
            return False
        if missing:
            self._held.append(("createProperty", {"propertyName": path, "value": value,
                                                  **self._locator(locator)}))
            return True
        self._forget(path)
        return self._client.create_property(path, value, **locator)

    def delete_property(self, path: str, **locator: Any) -> bool:
        """Delete the property or sheet; False when there was none. While writes are held: held, and True
        (a property gone by the time the batch runs is no refusal)."""
        if self._held is not None:
            self._held.append(("deleteProperty", {"propertyName": path, **self._locator(locator)}))
            return True
        self._forget(path)
        return self._client.delete_property(path, **locator)

    @classmethod
    def _raise(cls, reply: Reply) -> None:
        raise cls.error_of(reply)

    @classmethod
    def _answer(cls, reply: Reply, absent: Any = ()) -> Optional[Dict[str, Any]]:
        """The reply's value ({} when it is not a dict); None for an error of the kind `absent`; any other
        error raised, as the client raises it."""
        if not reply.ok:
            error = cls.error_of(reply)
            if isinstance(error, absent):
                return None
            raise error
        return reply.value if isinstance(reply.value, dict) else {}

    # ------------------------------------------------------------------ the client's reads, answered

    def get_property(self, path: str, expand: bool = True, **locator: Any) -> Optional[str]:
        reply = self._take(self._property_key(path, expand, locator))
        if reply is None:
            return self._client.get_property(path, expand, **locator)
        answer = self._answer(reply, PropertyNotFound)
        if answer is None:
            return None
        prop = answer.get("property")
        if not isinstance(prop, dict):
            raise CommanderApiError("InvalidResponse", f"getProperty {path}: answer has no property object")
        value = prop.get("value")
        return "" if value is None else str(value)

    def get_properties(self, path: str, expand: bool = False, **locator: Any) -> Dict[str, str]:
        reply = self._take(self._sheet_key(path, expand, locator))
        if reply is None:
            return self._client.get_properties(path, expand, **locator)
        answer = self._answer(reply, NotFound)
        sheet = answer.get("propertySheet") if answer is not None else None
        entries = sheet.get("property") if isinstance(sheet, dict) else None
        entries = entries if isinstance(entries, list) else [entries] if entries is not None else []
        # As the client reads the sheet: a nested sheet has a propertySheetId and no value.
        return {str(p["propertyName"]): "" if p.get("value") is None else str(p["value"])
                for p in entries if isinstance(p, dict) and p.get("propertyName") and "value" in p}

    def get_job_details(self, job_id: str) -> Dict[str, Any]:
        reply = self._take(("getJobDetails", job_id))
        if reply is None:
            return self._client.get_job_details(job_id)
        job = self._answer(reply).get("job")
        if not isinstance(job, dict):
            raise CommanderApiError("InvalidResponse", f"getJobDetails {job_id}: answer has no job object")
        return job

    def get_formal_parameters(self, project: str, procedure: str) -> List[Dict[str, Any]]:
        reply = self._take(("getFormalParameters", project, procedure))
        if reply is None:
            return self._client.get_formal_parameters(project, procedure)
        if not reply.ok:
            self._raise(reply)
        found = reply.value.get("formalParameter") if isinstance(reply.value, dict) else None
        items = found if isinstance(found, list) else [found] if found is not None else []
        return [p for p in items if isinstance(p, dict)]

    def call(self, api: str, http_method: str, path: str, params: Optional[Mapping[str, Any]] = None,
             body: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> Dict[str, Any]:
        reply = self._take((api, path)) if api == "getSteps" and not params and body is None else None
        if reply is None:
            return self._client.call(api, http_method, path, params, body, **kwargs)
        if not reply.ok:
            self._raise(reply)
        return reply.value if isinstance(reply.value, dict) else {}

    # ------------------------------------------------------------------------------ holding writes back

    def hold_writes(self) -> None:
        """From now on set_property and delete_property are queued until `send_writes` (and
        create_property as it says)."""
        object.__setattr__(self, "_held", [])

    def set_property(self, path: str, value: str, expandable: Optional[bool] = None, **locator: Any) -> None:
        if self._held is None:
            self._forget(path)
            return self._client.set_property(path, value, expandable, **locator)
        args = {"propertyName": path, "value": value, **self._locator(locator)}
        if expandable is not None:
            args["expandable"] = "1" if expandable else "0"
        self._held.append(("setProperty", args))
        return None

    def send_writes(self) -> List[Tuple[str, Reply]]:
        """Send the held writes in one batch, in the order they were made; (path, reply) of those the
        server refused (a create of a name taken or a delete of nothing is no refusal, see TOLERATED).
        Writes are no longer held after this."""
        held = self._held or []
        object.__setattr__(self, "_held", None)
        for _, args in held:
            self._forget(str(args["propertyName"]))
        if not held:
            return []
        try:
            replies = run_batch(self._client, held, idempotent=True)
        except RequestRefused:  # the envelope itself: one REST call each, in order
            return self._one_by_one(held)
        return [(str(args["propertyName"]), reply) for (api, args), reply in zip(held, replies)
                if not reply.ok and not isinstance(self.error_of(reply), TOLERATED.get(api, ()))]

    def _one_by_one(self, held: List[Request]) -> List[Tuple[str, Reply]]:
        """The held writes over REST, in order, each as the client makes it (its False is no refusal)."""
        refusals = []
        for api, args in held:
            fields = dict(args)
            path = str(fields.pop("propertyName"))
            try:
                if api == "deleteProperty":
                    self._client.delete_property(path, **fields)
                elif api == "createProperty":
                    self._client.create_property(path, str(fields.pop("value")), **fields)
                else:
                    value, expandable = str(fields.pop("value")), fields.pop("expandable", None)
                    self._client.set_property(path, value, None if expandable is None else expandable == "1",
                                              **fields)
            except RequestRefused as exc:
                refusals.append((path, Reply(error_code=exc.code, message=exc.message)))
        return refusals

    @staticmethod
    def error_of(reply: Reply) -> CommanderApiError:
        return refused(reply.error_code, reply.message or reply.error_code, 0)


def job_to_restart(job: Mapping[str, Any]) -> str:
    """The job's jobToRestart when it can be read ahead as /jobs/<it>/...: a plain reference, else ""."""
    ref = dict(actual_parameters(job)).get(JOB_TO_RESTART, "").strip()
    return ref if ref and not any(char in ref for char in "/[]$") else ""


def plan_reads(ahead: Prefetched, job: Mapping[str, Any]) -> List[Tuple[Key, Request]]:
    """What a plan of `job`'s restart reads, as far as the job's record tells: the formal parameters and
    the steps of every procedure it ran (a procedure it did not run is read when the plan gets to it), the
    rule's settings, the job's own properties that the rule reads, and the job it resumes (its record
    too, which the plan reads when a step of `job` was skipped)."""
    project, procedure = str(job.get("projectName") or ""), str(job.get("procedureName") or "")
    job_id = str(job.get("jobId") or "")
    reads = [ahead.formal_parameters_read(project, procedure), ahead.steps_read(project, procedure),
             ahead.property_read(PLUGIN_PROJECT + "/projectName")]
    for row in step_rows(job):
        called = row.raw.get("calledProcedure")
        if isinstance(called, Mapping) and called.get("projectName") and called.get("procedureName"):
            reads.append(ahead.steps_read(str(called["projectName"]), str(called["procedureName"])))
    reads += [ahead.property_read(SETTINGS + name) for name in RULE_SETTINGS]
    if job_id:
        reads += [ahead.property_read(f"/jobs/{job_id}/{name}") for name in sorted(CHAIN_PROPERTIES)]
    ref = job_to_restart(job)
    if ref:
        reads.append(ahead.job_details_read(ref))
        reads += [ahead.property_read(f"/jobs/{ref}/{name}", expand=False)
                  for name in ("jobId", "projectName", "procedureName", "status", "jobName")]
        reads += [ahead.property_read(f"/jobs/{ref}/{name}") for name in sorted(CHAIN_PROPERTIES)]
        reads += [ahead.property_read(f"/jobs/{ref}/ec_resume/chainRoot"),
                  ahead.property_read(f"/jobs/{ref}/jobName")]
    return reads
