"""prefetch.Prefetched with its writes held, as CreateRestartLink uses it, on a fake server that speaks the
XML API batch: the lineage of a resumed job read ahead and written in the one batch of writes, the create
of `resumedBy/<job>` still the server's own create (a name taken in between is never overwritten), and the
same end state when the server refuses the batch and every call goes over REST."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any, Dict, List, Optional

import pytest
from ec_resume.client_errors import RequestRefused
from ec_resume.lineage import CLI, LINK, RESTART_JOB, lineage_reads, read_lineage, record_lineage
from ec_resume.prefetch import Prefetched, may_overlap
from ec_resume.xml_batch import element_value
from fake_commander import FakeCommander
from lxml import etree

from commander_emulator.xml_codec import append_value

OLD, NEW = "1", "2"
ENTRY = f"/jobs/{OLD}/ec_resume/resumedBy/{NEW}"
OLDER_LINK = f"/jobs/{OLD}/report-urls/Resumed by job_0"


def job(job_id: str) -> Dict[str, Any]:
    return {"jobId": job_id, "jobName": f"job_{job_id}", "projectName": "P", "procedureName": "Main",
            "status": "completed", "jobStep": []}


class BatchingFake(FakeCommander):
    """FakeCommander that also answers XML API envelopes, request by request, as a serial batch does.
    `between`: called once before the first envelope of writes runs (another writer's moment)."""

    def __init__(self, *args: Any, refuse_batches: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_id = "fake-session"
        self.envelopes: List[List[str]] = []
        self.refuse_batches = refuse_batches
        self.between: Optional[Any] = None

    def _locator(self, locator: Dict[str, Any]) -> Dict[str, Any]:
        return dict(locator)

    def post_xml(self, what: str, body: bytes, idempotent: bool = True) -> bytes:
        if self.refuse_batches:
            raise RequestRefused("InvalidRequest", "no XML API here", 404)
        requests = [(r.get("requestId"), r[0].tag, element_value(r[0])) for r in ElementTree.fromstring(body)]
        self.envelopes.append([api for _, api, _ in requests])
        if self.between is not None and any(not api.startswith("get") for _, api, _ in requests):
            self.between()
            self.between = None
        root = etree.Element("responses")  # written by the server's rule (xml_codec), read by the agent's
        for request_id, api, args in requests:
            name, value = self._answer(api, args if isinstance(args, dict) else {})
            if name == "error":
                error = etree.SubElement(root, "error", requestId=request_id)
                append_value(error, "code", value)
                append_value(error, "message", value)
            else:
                response = etree.SubElement(root, "response", requestId=request_id)
                append_value(response, name, value)
        return etree.tostring(root)

    def _answer(self, api: str, args: Dict[str, Any]) -> Any:
        path = str(args.get("propertyName") or args.get("path") or "")
        if api == "getProperty":
            value = self.get_property(path)
            return ("error", "NoSuchProperty") if value is None else ("property", {"value": value})
        if api == "getProperties":
            sheet = self.get_properties(path)
            return "propertySheet", {"property": [{"propertyName": k, "value": v} for k, v in sheet.items()]}
        if api == "getJobDetails":
            return "job", self.get_job_details(str(args["jobId"]))
        if api == "setProperty":
            self.set_property(path, str(args.get("value") or ""))
            return "property", {"propertyName": path}
        if api == "createProperty":
            made = self.create_property(path, str(args.get("value") or ""))
            return ("property", {"propertyName": path}) if made else ("error", "DuplicatePropertyName")
        if api == "deleteProperty":
            return ("property", {}) if self.delete_property(path) else ("error", "NoSuchProperty")
        return "error", "InvalidRequest"


def resumed_job_step(fake: BatchingFake) -> List[Any]:
    """What CreateRestartLink does of the lineage in job NEW resuming OLD: read ahead, hold the writes,
    record, send; the refusals send_writes reports."""
    ahead = Prefetched(fake)
    ahead.fetch(lineage_reads(ahead, NEW, OLD))
    ahead.hold_writes()
    ahead.set_property(f"/jobs/{NEW}/ec_resume/failedAt", "none")  # as the step writes before the lineage
    record_lineage(ahead, NEW, OLD, LINK)
    return ahead.send_writes()


def fresh(**kwargs: Any) -> BatchingFake:
    return BatchingFake({n: job(n) for n in (OLD, NEW)}, properties={OLDER_LINK: "/older"}, **kwargs)


def test_the_lineage_of_a_resumed_job_takes_one_batch_of_reads_and_one_of_writes():
    fake = fresh()
    assert resumed_job_step(fake) == []
    assert len(fake.envelopes) == 2 and "createProperty" in fake.envelopes[1], fake.envelopes
    assert not [entry for entry in fake.log if entry[0] in ("createProperty", "getProperties")
                and entry not in [("createProperty", ENTRY), ("getProperties", f"/jobs/{OLD}/report-urls")]]
    plain = FakeCommander({n: job(n) for n in (OLD, NEW)}, properties={OLDER_LINK: "/older"})
    plain.set_property(f"/jobs/{NEW}/ec_resume/failedAt", "none")
    record_lineage(plain, NEW, OLD, LINK)
    assert fake.properties == plain.properties
    assert fake.properties[ENTRY] == LINK and OLDER_LINK not in fake.properties
    assert fake.properties[f"/jobs/{OLD}/report-urls/Resumed by job_{NEW}"].endswith(f"/jobs/{NEW}")


@pytest.mark.parametrize("how", [CLI, RESTART_JOB])
def test_a_launcher_that_wrote_first_keeps_its_word_and_its_link(how):
    fake = fresh()
    fake.properties[ENTRY] = how
    fake.properties[f"/jobs/{OLD}/report-urls/Resumed by job_{NEW}"] = "/by the launcher"
    del fake.properties[OLDER_LINK]
    before = dict(fake.properties)
    assert resumed_job_step(fake) == []
    assert "createProperty" not in fake.envelopes[1]  # the read ahead found it: nothing to create
    assert {p: v for p, v in fake.properties.items() if not p.startswith(f"/jobs/{NEW}/")} == \
        {p: v for p, v in before.items() if not p.startswith(f"/jobs/{NEW}/")}


@pytest.mark.parametrize("how", [CLI, RESTART_JOB])
def test_a_launcher_that_writes_between_the_reads_and_the_writes_is_never_overwritten(how):
    fake = fresh()
    fake.between = lambda: fake.properties.__setitem__(ENTRY, how)
    assert resumed_job_step(fake) == []  # the create that found the name taken is no refusal
    assert read_lineage(fake, OLD).resumed_by == {NEW: how}
    assert fake.properties[f"/jobs/{OLD}/report-urls/Resumed by job_{NEW}"].endswith(f"/jobs/{NEW}")


def test_without_the_xml_api_every_call_goes_over_rest_to_the_same_end():
    fake = fresh(refuse_batches=True)
    assert resumed_job_step(fake) == []
    assert fake.envelopes == []
    batched = fresh()
    resumed_job_step(batched)
    assert fake.properties == batched.properties


def test_writes_refused_as_a_batch_go_one_by_one_the_create_still_a_create():
    fake = fresh()
    ahead = Prefetched(fake)
    ahead.fetch(lineage_reads(ahead, NEW, OLD))
    ahead.hold_writes()
    record_lineage(ahead, NEW, OLD, LINK)
    fake.refuse_batches = True
    fake.properties[ENTRY] = CLI  # taken meanwhile
    assert ahead.send_writes() == []
    assert fake.properties[ENTRY] == CLI and OLDER_LINK not in fake.properties


def test_a_held_write_that_may_touch_the_entry_sends_the_create_at_once():
    fake = fresh()
    ahead = Prefetched(fake)
    ahead.fetch(lineage_reads(ahead, NEW, OLD))
    ahead.hold_writes()
    ahead.set_property(f"/jobs/{OLD}/ec_resume/resumedBy", "a sheet no more")
    assert ahead.create_property(ENTRY, LINK) is True
    assert ("createProperty", ENTRY) in fake.log and len(fake.envelopes) == 1  # sent now, over REST


@pytest.mark.parametrize("a, b, overlap", [
    (ENTRY, ENTRY, True),
    (ENTRY, f"/jobs/{OLD}/ec_resume/resumedBy", True),
    (ENTRY, f"/jobs/job_1/ec_resume/resumedBy/{NEW}/x", True),
    (ENTRY, f"/jobs/{NEW}/ec_resume/failedAt", False),
    (ENTRY, f"/jobs/{OLD}/report-urls/Resumed by job_{NEW}", False),
    (ENTRY, "/myJob/report-urls/Restart this job", False),
    (ENTRY, f"/myJob/ec_resume/resumedBy/{NEW}", True),
    (ENTRY, "resumedBy", True),
])
def test_which_paths_may_name_one_property(a, b, overlap):
    assert may_overlap(a, b) is overlap and may_overlap(b, a) is overlap
