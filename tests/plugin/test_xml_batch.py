"""The XML API batch's own writer and reader (ec_resume.xml_batch), checked against ElementTree, which they
replace on the agent, and against the emulator's codec (lxml), which reads the envelopes and writes the
replies: the same bytes out, the same values in, the same one-line error for an answer that is not XML."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import pytest
from ec_resume.client import CommanderApiError
from ec_resume.xml_batch import (
    XML_VERSION,
    element_value,
    envelope,
    escape_attribute,
    escape_text,
    parse_replies,
    read_replies,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from commander_emulator.xml_codec import XSI, append_value, element_to_value, local_name, parse_responses

Request = Tuple[str, Mapping[str, Any]]  # as xml_batch names it for type checkers
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------- ElementTree, as the agent used it


def _et_append(parent: ElementTree.Element, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _et_append(parent, name, item)
        return
    element = ElementTree.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            _et_append(element, str(key), item)
    else:
        element.text = str(value)


def _et_envelope(requests: Sequence[Request], session_id: Optional[str]) -> bytes:
    root = ElementTree.Element("requests", {"version": XML_VERSION, "mode": "serial"})
    if session_id:
        root.set("sessionId", session_id)
    for number, (api, args) in enumerate(requests, start=1):
        request = ElementTree.SubElement(root, "request", {"requestId": str(number)})
        call = ElementTree.SubElement(request, api)
        for key, value in args.items():
            _et_append(call, key, value)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _et_read(body: bytes) -> Any:
    """What the agent read with ElementTree: (tag, requestId, value) per child, or the error's words."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        return f"XML batch: the answer is not XML ({exc})"
    return [(child.tag, child.get("requestId"), element_value(child)) for child in root]


def _read(body: bytes) -> Any:
    try:
        return read_replies(body)
    except CommanderApiError as exc:
        assert exc.code == "InvalidResponse"
        return exc.message


# ----------------------------------------------------------------------------------------- strategies

NAMES = st.sampled_from(["property", "value", "propertyName", "a", "b", "jobStep", "x-y", "n.1", "_u"])
# Any character XML 1.0 can carry, the markup ones and the far planes often; no CR, which a parser reads
# as a LF (line-end normalization, in ElementTree as in lxml and on the server).
XML_CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\ufffe\uffff",
                               min_codepoint=0x9).filter(lambda c: c in "\t\n" or c >= " ")
TEXT = st.one_of(st.text(XML_CHARACTERS, max_size=20),
                 st.text(st.sampled_from("&<>\"' \t\né✓\U0001f600]"), max_size=12))
RAW_TEXT = st.one_of(TEXT, st.text(max_size=10))  # anything at all: the writers write it alike


def _values(text: Any) -> Any:
    """Argument values as callers pass them: text, numbers, None, lists and tuples, nested mappings."""
    leaves = st.one_of(text, st.integers(), st.none(), st.booleans())
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(NAMES, inner, max_size=3)), max_leaves=12)


def _requests(text: Any) -> Any:
    apis = st.sampled_from(["setProperty", "getProperty", "getJobDetails", "runProcedure"])
    return st.lists(st.tuples(apis, st.dictionaries(NAMES, _values(text), max_size=4)), max_size=5)


def _normal_values() -> Any:
    """Values as a reply reads: text, a dict of them, two or more under one name a list (never empty)."""
    return st.recursive(TEXT, lambda inner: st.dictionaries(
        NAMES, st.one_of(inner, st.lists(inner, min_size=2, max_size=3)), min_size=1, max_size=3),
        max_leaves=12)


def _child(name: str, request_id: Optional[str], content: List[str]) -> str:
    attribute = "" if request_id is None else f' requestId="{request_id}"'
    return f"<{name}{attribute}>{''.join(content)}</{name}>"


def _document() -> Any:
    """Documents a server might send and some it would not: any nesting, repeated names, text beside
    elements, white space, comments, processing instructions, CDATA, references, a namespace."""
    pieces = st.one_of(TEXT.map(escape_text), st.sampled_from(
        ["\n  ", " ", "<!-- a comment -->", "<?pi data?>", "<![CDATA[<&>]]]]>", "&amp;&lt;&gt;&quot;&apos;",
         "&#233;&#x1F600;", "<empty/>", "<empty></empty>"]))
    tree = st.recursive(pieces, lambda inner: st.builds(_child, NAMES, st.none(), st.lists(
        st.one_of(inner, pieces), max_size=4)), max_leaves=15)
    child = st.builds(_child, st.sampled_from(["response", "error", "other"]),
                      st.one_of(st.none(), st.integers(1, 4).map(str)), st.lists(tree, max_size=3))
    return st.lists(child, max_size=4).map(lambda children: (
        f"<?xml version='1.0' encoding='UTF-8'?>\n<responses xmlns:xsi='{XSI}' version='2.1'>\n"
        + "".join(children) + "</responses>"))


# ------------------------------------------------------------------------------------------- writing


@EXAMPLES
@given(requests=_requests(RAW_TEXT), session_id=st.one_of(st.none(), RAW_TEXT))
def test_the_envelope_is_byte_for_byte_what_element_tree_wrote(requests: List[Request],
                                                               session_id: Optional[str]) -> None:
    assert envelope(requests, session_id) == _et_envelope(requests, session_id)


def test_escaping_covers_the_markup_characters_and_keeps_the_rest() -> None:
    assert escape_text("a&b<c>d\"e'f é\t\n") == "a&amp;b&lt;c&gt;d\"e'f é\t\n"
    assert escape_attribute("a&b<c>d\"e'f é\t\n\r") == "a&amp;b&lt;c&gt;d&quot;e'f é&#09;&#10;&#13;"
    assert escape_text("&amp;") == "&amp;amp;"  # escaped once, not taken for a reference
    lone_surrogate = [("setProperty", {"value": "a\ud800b"})]  # a reference, as ElementTree wrote it
    assert envelope(lone_surrogate, None) == _et_envelope(lone_surrogate, None)
    assert b"a&#55296;b" in envelope(lone_surrogate, None)


@EXAMPLES
@given(args=st.dictionaries(NAMES, _normal_values(), min_size=1, max_size=4), session_id=TEXT)
def test_an_envelope_reads_back_as_its_arguments_here_and_on_the_server(args: Dict[str, Any],
                                                                         session_id: str) -> None:
    body = envelope([("setProperty", args), ("getServerStatus", {})], session_id)
    assert read_replies(body) == [("request", "1", {"setProperty": args}),
                                  ("request", "2", {"getServerStatus": ""})]
    root = etree.fromstring(body)  # the emulator's reading (wire_xml: lxml and the codec's rule)
    assert (root.get("sessionId") or "") == session_id and root.get("mode") == "serial"
    assert [element_to_value(request[0]) for request in root] == [args, ""]


def test_an_envelope_leaves_out_none_and_repeats_a_list() -> None:
    body = envelope([("setProperty", {
        "propertyName": "a/b", "value": "x <&> \"y\" é", "jobId": 1, "gone": None,
        "actualParameter": [{"name": "p", "value": ""}, {"name": "q"}]})], None)
    assert b"gone" not in body and b"sessionId" not in body and "é".encode() in body
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n"
                           b'<requests version="2.2" mode="serial"><request requestId="1"><setProperty>')
    assert read_replies(body)[0][2] == {"setProperty": {
        "propertyName": "a/b", "value": "x <&> \"y\" é", "jobId": "1",
        "actualParameter": [{"name": "p", "value": ""}, {"name": "q"}]}}


# ------------------------------------------------------------------------------------------- reading


@EXAMPLES
@given(document=_document())
def test_a_reply_reads_as_element_tree_read_it(document: str) -> None:
    body = document.encode("utf-8")
    assert _read(body) == _et_read(body)


@EXAMPLES
@given(replies=st.lists(st.tuples(st.sampled_from(["response", "error"]), st.integers(1, 6).map(str),
                                  st.dictionaries(NAMES, _normal_values(), max_size=3)), max_size=5))
def test_a_reply_of_the_server_reads_as_the_emulator_codec_reads_it(
        replies: List[Tuple[str, str, Dict[str, Any]]]) -> None:
    root = etree.Element("responses", nsmap={"xsi": XSI})
    root.set(f"{{{XSI}}}noNamespaceSchemaLocation", "commander.xsd")
    for name, request_id, value in replies:
        child = etree.SubElement(root, name, requestId=request_id)
        for key, item in value.items():
            append_value(child, key, item)
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    assert [(local_name(el), el.get("requestId")) for el in root] == [r[:2] for r in read_replies(body)]
    assert [(rid, name, value if value != "" else {}) for name, rid, value in read_replies(body)] == (
        parse_responses(body))


@pytest.mark.parametrize("body", [
    b"<r xmlns='urn:x'><a requestId='1'>1</a><b xmlns='urn:y'><c>2</c></b></r>",  # a default namespace
    b"\xef\xbb\xbf<r><response requestId='1'><v>\xc3\xa9</v></response></r>",  # a byte order mark
    b"<?xml version='1.0' encoding='ISO-8859-1'?><r><response><v>\xe9</v></response></r>",
    b"<!DOCTYPE r [<!ENTITY e 'an &#233; entity'>]><r><response><v>x&e;y</v></response></r>",  # an entity
    b"<!DOCTYPE r [<!ATTLIST response requestId CDATA '7'>]><r><response/></r>",  # a defaulted attribute
    b"<r>text<response requestId='1'>a<!--c-->b<?p?>c</response>tail</r>"])
def test_odd_documents_read_as_element_tree_read_them(body: bytes) -> None:
    assert _read(body) == _et_read(body) and not isinstance(_read(body), str)


def test_text_that_expat_delivers_in_pieces_is_read_whole() -> None:
    # expat hands character data over in pieces of at most its buffer (8 KiB), and around references
    # and CDATA sections: this text is some 400 KiB of them.
    text = "".join(f"line {n} &amp; <![CDATA[<{n}>]]> é\U0001f600 &#x41;&lt;\n" for n in range(8000))
    value = "".join(f"line {n} & <{n}> é\U0001f600 A<\n" for n in range(8000))
    body = f"<responses><response requestId='1'><property><value>{text}</value></property></response>" \
           f"</responses>".encode()
    assert read_replies(body) == [("response", "1", {"property": {"value": value}})]
    assert _read(body) == _et_read(body)


def test_text_beside_children_is_dropped_and_white_space_of_a_leaf_kept() -> None:
    body = (b"<responses>\n  <response requestId='1'>\n    <job> text <jobId>5</jobId> more\n"
            b"      <blank>  </blank><empty/><jobStep><n>a</n></jobStep><jobStep><n>b</n></jobStep>"
            b"<jobStep><n>c</n></jobStep><!-- c --></job>\n  </response>\n</responses>")
    assert parse_replies(body, 1)[0].value == {"job": {
        "jobId": "5", "blank": "  ", "empty": "", "jobStep": [{"n": "a"}, {"n": "b"}, {"n": "c"}]}}


def test_replies_in_request_order_with_errors_and_the_missing() -> None:
    body = (b"<?xml version='1.0' encoding='UTF-8'?><responses xmlns:xsi='" + XSI.encode() + b"'>"
            b"<error requestId='3'><code>NoSuchProperty</code><message>no\nsuch  property</message></error>"
            b"<response requestId='1'><property><propertyName>p</propertyName><value>v</value></property>"
            b"</response><response requestId='2'/><error requestId='5'><message>m</message></error>"
            b"<error requestId='6'>odd</error></responses>")
    first, second, third, fourth, fifth, sixth = parse_replies(body, 6)
    assert first.ok and first.value == {"property": {"propertyName": "p", "value": "v"}}
    assert second.ok and second.value == {}
    assert (third.ok, third.error_code, third.message) == (False, "NoSuchProperty", "no\nsuch  property")
    assert (fourth.error_code, fourth.message) == (
        "InvalidResponse", "no answer to this request in the batch reply")
    assert (fifth.error_code, fifth.message) == ("InternalFault", "m")
    assert (sixth.error_code, sixth.message) == ("InternalFault", "")


def test_an_error_without_request_id_refuses_the_whole_batch() -> None:
    body = (b"<responses><error><code>InvalidSession</code><message>no session\n here</message></error>"
            b"</responses>")
    with pytest.raises(CommanderApiError) as caught:
        parse_replies(body, 2)
    assert (caught.value.code, caught.value.message) == (
        "InvalidSession", "XML batch refused: no session here")


def test_a_whole_document_is_read_before_an_envelope_error_counts() -> None:
    with pytest.raises(CommanderApiError) as caught:
        parse_replies(b"<responses><error><code>InvalidSession</code></error><response>", 1)
    assert caught.value.code == "InvalidResponse"


@pytest.mark.parametrize("body", [
    b"", b"   ", b"not xml", b"<html><body>502 Bad Gateway</body>", b"<responses/><responses/>",
    b"<responses><a>&undefined;</a></responses>", b"<responses><x:a/></responses>", b"<r>\xff</r>",
    b'<!DOCTYPE r SYSTEM "r.dtd"><r><a>&outside;</a></r>', b"\x00<r/>"])
def test_an_answer_that_is_not_xml_is_one_line_as_element_tree_put_it(body: bytes) -> None:
    with pytest.raises(CommanderApiError) as caught:
        parse_replies(body, 1)
    assert caught.value.code == "InvalidResponse"
    assert caught.value.message.startswith("XML batch: the answer is not XML (")
    assert caught.value.message == _et_read(body)


def test_thousands_of_replies_and_of_one_repeated_name() -> None:
    # A reader that copied a list or joined the text so far at each element would take minutes here.
    def body(count: int) -> bytes:
        replies = "".join(f"<response requestId='{n}'><property><value>{n}</value></property></response>\n"
                          for n in range(1, count + 1))
        return f"<responses>{replies}<error requestId='0'><code>X</code></error></responses>".encode()

    replies = parse_replies(body(20000), 20000)
    assert [r.value["property"]["value"] for r in replies] == [str(n) for n in range(1, 20001)]
    many = read_replies(b"<responses><response requestId='1'><p>"
                        + b"<v>x</v>" * 50000 + b"</p></response></responses>")
    assert many[0][2] == {"p": {"v": ["x"] * 50000}}
