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
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from lxml import etree
from werkzeug.wrappers import Request, Response

from .authentication import invalid_session
from .dispatch import Dispatcher
from .errors import CommanderError
from .model import Session

XSI = "http://www.w3.org/2001/XMLSchema-instance"
RESPONSE_VERSION = "2.1"  # what a captured reply carries [V commander-api.md §1]
MODES = ("single", "serial", "parallel")
CONTENT_TYPE = "text/xml; charset=utf-8"

_dispatch_ids = itertools.count(1)
# XML 1.0 cannot carry most control characters; a value holding one (e.g. captured process output) is
# rendered with U+FFFD instead [U: what CD/RO does with them].
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# ------------------------------------------------------------------------------ values <-> elements


def local_name(el: Any) -> str:
    return etree.QName(el).localname


def element_to_value(el: Any) -> Any:
    """A leaf is its text ("" when empty); an element with children a dict, repeated names a list."""
    children = [c for c in el if isinstance(c.tag, str)]  # skip comments and processing instructions
    if not children:
        return el.text or ""
    out: Dict[str, Any] = {}
    for child in children:
        name, value = local_name(child), element_to_value(child)
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def append_value(parent: Any, name: str, value: Any) -> None:
    """Render `value` under `parent` as element(s) named `name`: a list repeats the element."""
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            append_value(parent, name, item)
        return
    el = etree.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            append_value(el, key, item)
    else:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        el.text = _NOT_XML.sub("\ufffd", text)


def request_envelope(requests: Sequence[Tuple[str, str, Dict[str, Any]]], session_id: Optional[str] = None,
                     mode: Optional[str] = None, version: str = "2.2") -> bytes:
    """A `<requests>` document for (requestId, api, args) triples, as a client sends it."""
    root = etree.Element("requests", nsmap={"xsi": XSI})
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", "commander.xsd")
    root.set("version", version)
    if session_id:
        root.set("sessionId", session_id)
    if mode:
        root.set("mode", mode)
    for request_id, api, args in requests:
        req = etree.SubElement(root, "request", requestId=request_id)
        call = etree.SubElement(req, api)
        for key, value in args.items():
            append_value(call, key, value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def parse_responses(body: bytes) -> List[Tuple[str, str, Any]]:
    """(requestId, "response" | "error", value) for each child of a `<responses>` document."""
    root = etree.fromstring(body, parser=_parser())
    out = []
    for child in root:
        if isinstance(child.tag, str):
            value = element_to_value(child)
            out.append((child.get("requestId", ""), local_name(child), value if value != "" else {}))
    return out


def _parser() -> Any:
    # No entities, no network, no DTD: a request body is data, never a pointer to other data.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True,
                           remove_pis=True)


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
        root = etree.fromstring(body, parser=_parser())
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
