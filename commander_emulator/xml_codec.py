"""CD/RO's XML envelope as data: values <-> elements, a client's `<requests>` and the `<responses>` it
reads. Pure (lxml only, nothing of the emulator), so the server (wire_xml) and any client, such as the
tests' ServerApi, share one copy of the rules without loading the emulator.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from lxml import etree

XSI = "http://www.w3.org/2001/XMLSchema-instance"
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
    root = etree.fromstring(body, parser=safe_parser())
    out = []
    for child in root:
        if isinstance(child.tag, str):
            value = element_to_value(child)
            out.append((child.get("requestId", ""), local_name(child), value if value != "" else {}))
    return out


def safe_parser() -> Any:
    # No entities, no network, no DTD: a request body is data, never a pointer to other data.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True,
                           remove_pis=True)
