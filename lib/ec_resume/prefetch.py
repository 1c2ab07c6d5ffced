"""Fewer round trips for a client whose reads are known ahead: a stand-in for `CommanderClient` that
asks for them all in one XML API batch, answers the later calls from those replies, and can hold
property writes back to send them in one batch too.

A read that was not fetched goes to the server as before, so what is fetched changes how many round
trips a step takes, never what it reads: each reply is the server's own, errors included (a property
that does not exist still reads as None, a refused read still raises). A property written through the
wrapper (set, create, delete) drops every reply held of a path with a segment of its name, whatever path
the read spelled it with, so a value written is never read stale; a write held back changes nothing on
the server yet, so it drops nothing until it is sent.
`plan_reads` is what a plan of a job's restart reads (planning.plan_restart). A server that refuses the
batch as a whole (no XML API behind a proxy, say) gets each call on its own over REST instead.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .client_errors import CommanderApiError, PropertyNotFound, RequestRefused, refused
from .job_steps import actual_parameters, step_rows
from .planning import CHAIN_PROPERTIES
from .plugin_settings import SETTINGS
from .resume_rule import JOB_TO_RESTART
from .xml_batch import Reply, Request, run_batch

Key = Tuple[Any, ...]
RULE_SETTINGS = ("doneOutcomes", "maxChainDepth", "rule")  # what a plan reads of the plugin's settings
PLUGIN_PROJECT = "/plugins/EC-Resume/project"


def steps_path(project: str, procedure: str) -> str:
    """The REST path of getSteps, as the planner sends it."""
    quote = lambda text: urllib.parse.quote(text, safe="")  # noqa: E731
    return f"/projects/{quote(project)}/procedures/{quote(procedure)}/steps"


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
        """Drop the replies of every read that may be of `path` or below it (more than needed is safe)."""
        name = path.rstrip("/").rsplit("/", 1)[-1]
        for key in [k for k in self._replies if k[0] == "getProperty" and name in k[1].split("/")]:
            del self._replies[key]

    def create_property(self, path: str, value: str, **locator: Any) -> bool:
        self._forget(path)
        return self._client.create_property(path, value, **locator)

    def delete_property(self, path: str, **locator: Any) -> bool:
        self._forget(path)
        return self._client.delete_property(path, **locator)

    @classmethod
    def _raise(cls, reply: Reply) -> None:
        raise cls.error_of(reply)

    # ------------------------------------------------------------------ the client's reads, answered

    def get_property(self, path: str, expand: bool = True, **locator: Any) -> Optional[str]:
        reply = self._take(self._property_key(path, expand, locator))
        if reply is None:
            return self._client.get_property(path, expand, **locator)
        if not reply.ok:
            try:
                self._raise(reply)
            except PropertyNotFound:
                return None
        prop = reply.value.get("property") if isinstance(reply.value, dict) else None
        if not isinstance(prop, dict):
            raise CommanderApiError("InvalidResponse", f"getProperty {path}: answer has no property object")
        value = prop.get("value")
        return "" if value is None else str(value)

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
        """From now on set_property is queued until `send_writes`."""
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
        server refused. Writes are no longer held after this."""
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
        return [(str(args["propertyName"]), reply) for (_, args), reply in zip(held, replies) if not reply.ok]

    def _one_by_one(self, held: List[Request]) -> List[Tuple[str, Reply]]:
        refusals = []
        for _, args in held:
            fields = dict(args)
            path, value = str(fields.pop("propertyName")), str(fields.pop("value"))
            expandable = fields.pop("expandable", None)
            try:
                self._client.set_property(path, value, None if expandable is None else expandable == "1",
                                          **fields)
            except RequestRefused as exc:
                refusals.append((path, Reply(error_code=exc.code, message=exc.message)))
        return refusals

    @staticmethod
    def error_of(reply: Reply) -> CommanderApiError:
        return refused(reply.error_code, reply.message or reply.error_code, 0)


def plan_reads(ahead: Prefetched, job: Mapping[str, Any]) -> List[Tuple[Key, Request]]:
    """What a plan of `job`'s restart reads, as far as the job's record tells: the formal parameters and
    the steps of every procedure it ran (a procedure it did not run is read when the plan gets to it), the
    rule's settings, the job's own properties that the rule reads, and the job it resumes."""
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
    ref = dict(actual_parameters(job)).get(JOB_TO_RESTART, "").strip()
    if ref and not any(char in ref for char in "/[]$"):
        reads += [ahead.property_read(f"/jobs/{ref}/{name}", expand=False)
                  for name in ("jobId", "projectName", "procedureName", "status", "jobName")]
        reads += [ahead.property_read(f"/jobs/{ref}/{name}") for name in sorted(CHAIN_PROPERTIES)]
        reads += [ahead.property_read(f"/jobs/{ref}/ec_resume/chainRoot"),
                  ahead.property_read(f"/jobs/{ref}/jobName")]
    return reads
