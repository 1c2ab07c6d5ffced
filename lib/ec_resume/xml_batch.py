"""Many API calls in one round trip: CD/RO's XML API batch (``POST /commanderRequest``).

REST v1.0 has no batch; the XML API that ectool and ElectricCommander.pm speak carries any number of
``<request>``s in one ``<requests>`` envelope and answers each by its ``requestId``, a ``<response>`` or
an ``<error>`` of its own. Mode ``serial`` runs them one at a time, each in its own transaction, so one
refused request does not undo the others. This is how EC-Resume writes thousands of properties in a
number of calls that does not grow with their count.

The envelope is written as text and the reply read with expat directly, the parser ElementTree itself
drives: `import xml.etree.ElementTree` costs every plugin step some 4 ms (copy, weakref, ElementPath,
_elementtree) for a tree this module would only walk once. The envelope's bytes are still those
ElementTree.tostring wrote, and a reply reads as ElementTree read it (tests/plugin/test_xml_batch.py).

[U] A real server's limit on the size of one envelope is not documented: `MAX_REQUESTS` requests go in
one envelope, more in further ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.parsers import expat

from .client import CommanderApiError, CommanderClient
from .records import record_type

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

    Request = Tuple[str, Mapping[str, Any]]  # (API name, arguments)

MAX_REQUESTS = 50000  # per envelope [U]
XML_VERSION = "2.2"
# What ElementTree.tostring(..., encoding="utf-8", xml_declaration=True) starts with.
DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"


@record_type
class Reply:
    """One request's answer: its value (dicts of strings as in REST) or its error code and message."""

    value: Any = None
    error_code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return not self.error_code


# ------------------------------------------------------------------------------------------- writing


def escape_text(text: str) -> str:
    """Character data as ElementTree escapes it: & and <, and > (which only matters after ]])."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def escape_attribute(text: str) -> str:
    """A value in double quotes. Tab, LF and CR as character references, as ElementTree writes them
    from Python 3.9: written as they are, a parser would read them as spaces."""
    text = escape_text(text)
    for raw, reference in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if raw in text:
            text = text.replace(raw, reference)
    return text


def _append(parts: List[str], name: str, value: Any) -> None:
    """`value` as element(s) named `name` onto `parts`: a mapping nests, a list or tuple repeats the
    element, None is left out, anything else is its str() as the text."""
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _append(parts, name, item)
    elif isinstance(value, Mapping):
        _element(parts, name, value.items())
    else:
        text = escape_text(str(value))
        parts.append(f"<{name}>{text}</{name}>" if text else f"<{name} />")


def _element(parts: List[str], name: str, children: Iterable[Tuple[Any, Any]]) -> None:
    """An element with its children, or ``<name />`` when none is written, as ElementTree writes it."""
    at = len(parts)
    parts.append(f"<{name}>")
    for key, value in children:
        _append(parts, str(key), value)
    if len(parts) == at + 1:
        parts[at] = f"<{name} />"
    else:
        parts.append(f"</{name}>")


def envelope(requests: Sequence[Request], session_id: Optional[str]) -> bytes:
    """The `<requests>` document, byte for byte what ElementTree.tostring made of the same tree."""
    attributes = f' version="{XML_VERSION}" mode="serial"'
    if session_id:
        attributes += f' sessionId="{escape_attribute(session_id)}"'
    parts = [DECLARATION]
    if not requests:
        parts.append(f"<requests{attributes} />")
    else:
        parts.append(f"<requests{attributes}>")
        for number, (api, args) in enumerate(requests, start=1):
            parts.append(f'<request requestId="{number}">')
            _element(parts, api, args.items())
            parts.append("</request>")
        parts.append("</requests>")
    # A lone surrogate becomes a character reference, as with ElementTree: never an exception here.
    return "".join(parts).encode("utf-8", "xmlcharrefreplace")


# ------------------------------------------------------------------------------------------- reading


def element_value(element: Any) -> Any:
    """A leaf is its text; an element with children a dict; a repeated child name a list. For an
    element already parsed (ElementTree or alike), as the tests read envelopes; replies are read by
    `read_replies`, which applies the same rule as expat reports the elements."""
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


def read_replies(body: bytes) -> List[Tuple[str, Optional[str], Any]]:
    """(name, requestId or None, value) of each child of the reply's document element, in order, the
    value as `element_value` makes it; CommanderApiError InvalidResponse when the body is not XML.

    Made as expat reports the elements, in one pass and without a tree. Each open element is a frame
    [name, requestId, children, text pieces]: children is None until its first child ends, then the dict
    of the children's values, and the element's text is dropped from then on; the pieces are joined once,
    at its end, since expat may deliver one text in several.
    """
    replies: List[Tuple[str, Optional[str], Any]] = []
    stack: List[List[Any]] = []

    def start(name: str, attributes: Dict[str, str]) -> None:
        if "}" in name:  # expat's "uri}local" of a namespaced name, ElementTree's "{uri}local"
            name = "{" + name
        depth = len(stack)
        # The document element's own value is never made: a dict from the start, so no text kept.
        stack.append([name, attributes.get("requestId") if depth == 1 else None, None if depth else {}, []])

    def text(data: str) -> None:
        frame = stack[-1]
        if frame[2] is None:
            frame[3].append(data)

    def end(_: str) -> None:
        name, request_id, children, pieces = stack.pop()
        value = "".join(pieces) if children is None else children
        if len(stack) == 1:
            replies.append((name, request_id, value))
        elif stack:
            parent = stack[-1]
            if parent[2] is None:
                parent[2], parent[3] = {}, []
            out = parent[2]
            if name not in out:
                out[name] = value
            elif isinstance(out[name], list):  # a value is a str or a dict until its name repeats
                out[name].append(value)
            else:
                out[name] = [out[name], value]

    parser = expat.ParserCreate(None, "}")  # namespaces as ElementTree reads them
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text

    def skipped(entity: str, parameter: bool) -> None:
        # An entity expat cannot expand (declared outside the document): ElementTree refuses it too.
        if not parameter:
            raise expat.error(f"undefined entity &{entity};: line {parser.ErrorLineNumber}, "
                              f"column {parser.ErrorColumnNumber}")

    parser.SkippedEntityHandler = skipped
    try:
        parser.Parse(body, True)
    except expat.error as exc:
        raise CommanderApiError("InvalidResponse", f"XML batch: the answer is not XML ({exc})") from None
    return replies


def parse_replies(body: bytes, count: int) -> List[Reply]:
    """The replies in request order; a request the server did not answer is an error reply."""
    found: Dict[str, Reply] = {}
    for name, request_id, value in read_replies(body):
        if name == "error":
            info = value if isinstance(value, dict) else {}
            reply = Reply(error_code=str(info.get("code") or "InternalFault"),
                          message=str(info.get("message") or ""))
            if request_id is None:  # the whole envelope was refused
                raise CommanderApiError(reply.error_code, f"XML batch refused: {reply.message}")
        else:
            reply = Reply(value=value if value != "" else {})
        found[request_id or ""] = reply
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
