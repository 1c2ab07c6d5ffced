"""Many API calls in one round trip: CD/RO's XML API batch (``POST /commanderRequest``).

REST v1.0 has no batch; the XML API that ectool and ElectricCommander.pm speak carries any number of
``<request>``s in one ``<requests>`` envelope and answers each by its ``requestId``, a ``<response>`` or
an ``<error>`` of its own. Mode ``serial`` runs them one at a time, each in its own transaction, so one
refused request does not undo the others. This is how EC-Resume writes thousands of properties in a
number of calls that does not grow with their count.

[U] A real server's limit on the size of one envelope is not documented: `MAX_REQUESTS` requests go in
one envelope, more in further ones.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .client import CommanderApiError, CommanderClient
from .records import record_type

MAX_REQUESTS = 50000  # per envelope [U]
XML_VERSION = "2.2"
Request = Tuple[str, Mapping[str, Any]]  # (API name, arguments)


@record_type
class Reply:
    """One request's answer: its value (dicts of strings as in REST) or its error code and message."""

    value: Any = None
    error_code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return not self.error_code


def _append(parent: ElementTree.Element, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _append(parent, name, item)
        return
    element = ElementTree.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _append(element, str(key), item)
    else:
        element.text = str(value)


def envelope(requests: Sequence[Request], session_id: Optional[str]) -> bytes:
    root = ElementTree.Element("requests", {"version": XML_VERSION, "mode": "serial"})
    if session_id:
        root.set("sessionId", session_id)
    for number, (api, args) in enumerate(requests, start=1):
        request = ElementTree.SubElement(root, "request", {"requestId": str(number)})
        call = ElementTree.SubElement(request, api)
        for key, value in args.items():
            _append(call, key, value)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def element_value(element: ElementTree.Element) -> Any:
    """A leaf is its text; an element with children a dict; a repeated child name a list."""
    children = list(element)
    if not children:
        return element.text or ""
    out: Dict[str, Any] = {}
    for child in children:
        value = element_value(child)
        if child.tag in out:
            if not isinstance(out[child.tag], list):
                out[child.tag] = [out[child.tag]]
            out[child.tag].append(value)
        else:
            out[child.tag] = value
    return out


def parse_replies(body: bytes, count: int) -> List[Reply]:
    """The replies in request order; a request the server did not answer is an error reply."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise CommanderApiError("InvalidResponse", f"XML batch: the answer is not XML ({exc})") from None
    found: Dict[str, Reply] = {}
    for child in root:
        value = element_value(child)
        if child.tag == "error":
            info = value if isinstance(value, dict) else {}
            reply = Reply(error_code=str(info.get("code") or "InternalFault"),
                          message=str(info.get("message") or ""))
            if child.get("requestId") is None:  # the whole envelope was refused
                raise CommanderApiError(reply.error_code, f"XML batch refused: {reply.message}")
        else:
            reply = Reply(value=value if value != "" else {})
        found[child.get("requestId", "")] = reply
    missing = Reply(error_code="InvalidResponse", message="no answer to this request in the batch reply")
    return [found.get(str(number), missing) for number in range(1, count + 1)]


def run_batch(client: CommanderClient, requests: Sequence[Request], *, idempotent: bool = True,
              max_requests: int = MAX_REQUESTS) -> List[Reply]:
    """Send `requests` in as few envelopes as the size limit allows; one Reply per request, in order."""
    replies: List[Reply] = []
    for first in range(0, len(requests), max_requests):
        part = list(requests[first:first + max_requests])
        body = client.post_xml(f"XML batch of {len(part)} requests", envelope(part, client.session_id),
                               idempotent=idempotent)
        replies.extend(parse_replies(body, len(part)))
    return replies
