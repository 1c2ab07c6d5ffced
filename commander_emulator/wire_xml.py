"""The XML API: `POST /commanderRequest`, the protocol of ectool and ElectricCommander.pm.

One envelope carries one or more requests (commander-api.md §1):

    <requests version="2.2" sessionId="..." mode="serial">
      <request requestId="1"><getProperty><propertyName>/myJob/x</propertyName></getProperty></request>
    </requests>

Arguments are the API element's children: a leaf is a string, an element with children is a dict, and
a repeated name becomes a list. The reply renders each dispatcher answer the same way, one `<response>`
or `<error>` per request, matched by `requestId`. The helpers that convert between elements and values
are public so that a test client can speak this protocol without a second copy of the rules.
"""

from __future__ import annotations

import itertools
from typing import Any, Dict, List, Optional, Tuple

from lxml import etree
from werkzeug.wrappers import Request, Response

from .authentication import invalid_session
from .dispatch import Dispatcher
from .errors import CommanderError
from .model import Session
from .xml_codec import (  # noqa: F401 (re-exported: the wire's helpers)
    XSI,
    append_value,
    element_to_value,
    local_name,
    parse_responses,
    request_envelope,
    safe_parser,
)

RESPONSE_VERSION = "2.1"  # what a captured reply carries [V commander-api.md §1]
MODES = ("single", "serial", "parallel")
CONTENT_TYPE = "text/xml; charset=utf-8"

_dispatch_ids = itertools.count(1)


# ------------------------------------------------------------------------------------------ the wire


def _responses_root() -> Any:
    root = etree.Element("responses", nsmap={"xsi": XSI})
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", "commander.xsd")
    root.set("version", RESPONSE_VERSION)
    root.set("dispatchId", str(next(_dispatch_ids)))
    return root


def _append_error(root: Any, error: CommanderError, request_id: Optional[str]) -> None:
    el = etree.SubElement(root, "error")
    if request_id is not None:
        el.set("requestId", request_id)
    for key, value in error.as_dict().items():
        if value or key != "where":
            append_value(el, key, value)


def _reply(root: Any, status: int = 200, session: Optional[Session] = None) -> Response:
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    response = Response(body, status=status, content_type=CONTENT_TYPE)
    if session is not None:
        response.set_cookie("sessionId", session.id, httponly=True, path="/")
    return response


def envelope_error(error: CommanderError, status: int) -> Response:
    """A whole-envelope failure (malformed XML, no session): one `<error>` without requestId."""
    root = _responses_root()
    _append_error(root, error, None)
    return _reply(root, status)


ParsedRequest = Tuple[str, Optional[str], Dict[str, Any], Optional[str]]


def _parse_envelope(body: bytes) -> Tuple[Any, List[ParsedRequest]]:
    """The <requests> root and (requestId, api, args, problem) per request; CommanderError if malformed."""
    if not body.strip():
        raise CommanderError("InvalidXml", "Empty request body: expected a <requests> XML document")
    try:
        root = etree.fromstring(body, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise CommanderError("InvalidXml", f"Malformed XML request: {exc}") from None
    if local_name(root) != "requests":
        raise CommanderError("InvalidXml", f"Expected a <requests> envelope, got <{local_name(root)}>")
    mode = root.get("mode")
    if mode is not None and mode not in MODES:
        raise CommanderError("InvalidXml", f"<requests mode='{mode}'>: expected one of {', '.join(MODES)}")
    items: List[ParsedRequest] = []
    for index, req in enumerate((c for c in root if isinstance(c.tag, str)), start=1):
        request_id = req.get("requestId") or str(index)  # [U] a request without requestId gets its position
        if local_name(req) != "request":
            items.append((request_id, None, {}, f"Expected <request>, got <{local_name(req)}>"))
            continue
        calls = [c for c in req if isinstance(c.tag, str)]
        if len(calls) != 1:
            problem = f"<request requestId='{request_id}'> must hold one API element, found {len(calls)}"
            items.append((request_id, None, {}, problem))
            continue
        args = element_to_value(calls[0])
        items.append((request_id, local_name(calls[0]), args if isinstance(args, dict) else {}, None))
    if not items:
        raise CommanderError("InvalidXml", "The <requests> envelope holds no <request>")
    return root, items


def handle_xml(dispatcher: Dispatcher, request: Request) -> Response:
    """Answer one `/commanderRequest` envelope. DroppedConnection (an injected fault) propagates."""
    if request.method != "POST":
        return envelope_error(CommanderError("InvalidRequest", "/commanderRequest expects POST"), 405)
    try:
        root, items = _parse_envelope(request.get_data())
    except CommanderError as exc:
        return envelope_error(exc, 400)
    session = dispatcher.authenticator.session_for(request, root.get("sessionId"))
    # A batch may open with a login whose session the later requests use; otherwise no session is a 401.
    if session is None and items[0][1] != "login":
        return envelope_error(invalid_session(), 401)
    dispatcher.record_exchange("xml", len(items), session)
    try:
        dispatcher.batch_fault([api for _, api, _, problem in items if api and problem is None], session)
    except CommanderError as exc:
        return envelope_error(exc, exc.http_status)
    responses = _responses_root()
    new_session: Optional[Session] = None
    # Every mode runs the requests one by one, in order [U: "single" is no real transaction here].
    for request_id, api, args, problem in items:
        if problem is not None or api is None:
            error = CommanderError("InvalidRequest", problem or "no API element")
            _append_error(responses, error, request_id)
            continue
        try:
            result = dispatcher.call(api, args, session, wire="xml")
        except CommanderError as exc:
            _append_error(responses, exc, request_id)
            continue
        if api == "login":
            new_session = dispatcher.store.sessions.get(result.get("sessionId", ""))
            session = new_session or session  # later requests of the batch run as the new user
        append_value(responses, "response", result)
        responses[-1].set("requestId", request_id)
    return _reply(responses, 200, new_session)
