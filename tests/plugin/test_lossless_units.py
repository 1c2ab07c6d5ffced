"""The pure parts of lossless resume: which properties are copied, the outputs patterns and digest check,
the XML batch envelope and replies, and provenance in words."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from ec_resume.carry_over import Leaf, flatten, job_excluded, plan_copy
from ec_resume.outputs import (
    BadOutputs,
    FileRecord,
    Manifest,
    check,
    match_files,
    parse_patterns,
    record,
    restore,
)
from ec_resume.provenance import Provenance, status_lines, with_provenance
from ec_resume.xml_batch import element_value, envelope, parse_replies


def _sheet(**props):
    out = []
    for name, value in props.items():
        if isinstance(value, dict):
            out.append({"propertyName": name, "propertySheetId": "s",
                        "propertySheet": {"property": _sheet(**value)}})
        else:
            out.append({"propertyName": name, "value": value, "expandable": "1"})
    return out


def test_flatten_walks_nested_sheets_and_leaves_out_names_a_path_cannot_address():
    records = _sheet(version="1", meta={"arch": "x86", "deep": {"x": "y"}}) + [
        {"propertyName": "a[1]", "value": "v"}, {"propertyName": "raw", "value": "$[x]", "expandable": "0"}]
    leaves, odd = flatten(records)
    assert [(leaf.path, leaf.value) for leaf in leaves] == [
        ("version", "1"), ("meta/arch", "x86"), ("meta/deep/x", "y"), ("raw", "$[x]")]
    assert leaves[-1].expandable is False
    assert [path for path, _ in odd] == ["a[1]"]


def test_plan_copy_keeps_what_the_new_job_set_and_skips_parameters_links_and_bookkeeping():
    old = [Leaf("version", "1"), Leaf("meta/arch", "x"), Leaf("meta/os", "linux"), Leaf("Flavour", "p"),
           Leaf("report-urls/Restart", "u"), Leaf("ec_resume/resumes", "j"), Leaf("mine", "old"),
           Leaf("clash/inner", "c"), Leaf("ctl", "a\x01b"), Leaf("resumeDoneOutcomes", "success,warning")]
    new = [Leaf("mine", "new"), Leaf("meta/os", "mac"), Leaf("clash", "a string")]
    plan = plan_copy(old, new, job_excluded(["flavour"]))
    assert plan.names == ["version", "meta/arch"]
    assert [path for path, _ in plan.left_out] == ["ctl"]


def test_patterns_are_relative_to_the_workspace_and_stay_inside_it():
    assert parse_patterns("dist/*.tar.gz\n\n  reports/** \n./a/./b") == ["dist/*.tar.gz", "reports/**", "a/b"]
    for bad in ("/etc/passwd", "../x", "a/../../b", "C:\\x"):
        with pytest.raises(BadOutputs) as info:
            parse_patterns(bad)
        assert str(info.value).startswith("outputs: pattern") and "\n" not in str(info.value)


def test_match_record_and_restore_with_odd_names(tmp_path: Path):
    ws, keep, new = tmp_path / "ws", tmp_path / "keep", tmp_path / "new"
    (ws / "dist" / "sub dir").mkdir(parents=True)
    (ws / "dist" / "app.tar.gz").write_bytes(b"\x00\x01binary")
    (ws / "dist" / "sub dir" / "ü [1] $x.txt").write_text("odd")
    files, unmatched = match_files(str(ws), ["dist/*.tar.gz", "dist/sub dir", "nothing/*"])
    assert files == ["dist/app.tar.gz", "dist/sub dir/ü [1] $x.txt"] and unmatched == ["nothing/*"]
    manifest = record(str(ws), files, str(keep), "j1", "build")
    again = Manifest.from_text(manifest.to_text())
    assert again == manifest
    assert restore(again, str(new)) == []
    assert (new / "dist" / "app.tar.gz").read_bytes() == b"\x00\x01binary"
    (keep / "dist" / "app.tar.gz").write_bytes(b"tampered")
    (keep / "dist" / "sub dir" / "ü [1] $x.txt").unlink()
    problems = restore(again, str(tmp_path / "newer"))
    assert len(problems) == 2 and "changed since it was recorded" in problems[0] and "missing" in problems[1]


def test_check_names_the_file_and_both_digests():
    expected = FileRecord("a", 3, "ab" * 32)
    assert check(expected, (3, "ab" * 32), "x") == ""
    assert check(expected, None, "/keep") == "a: missing from /keep"
    assert "recorded abababababab" in check(expected, (4, "cd" * 32), "x")


def test_a_manifest_that_leaves_the_workspace_is_refused():
    bad = Manifest("j", "s", "/k", (FileRecord("../escape", 1, "0"),)).to_text()
    with pytest.raises(BadOutputs):
        Manifest.from_text(bad)


def test_envelope_and_replies_round_trip():
    body = envelope([("setProperty", {"propertyName": "a/b", "value": "x <&> y", "jobId": "1"}),
                     ("getOutputParameters", {"jobStepId": "2"})], "secret-session")
    root = ElementTree.fromstring(body)
    assert root.get("mode") == "serial" and root.get("sessionId") == "secret-session"
    assert element_value(root.find("request/setProperty")) == {"propertyName": "a/b", "value": "x <&> y",
                                                               "jobId": "1"}
    reply = (b"<responses><response requestId='1'><property><value>x</value></property></response>"
             b"<error requestId='2'><code>NoSuchJobStep</code><message>no</message></error></responses>")
    first, second, third = parse_replies(reply, 3)
    assert first.ok and first.value == {"property": {"value": "x"}}
    assert (second.ok, second.error_code) == (False, "NoSuchJobStep")
    assert third.error_code == "InvalidResponse"


def test_provenance_in_words_names_the_job_the_step_and_what_came():
    p = Provenance(step="build", source_job_id="id1", source_job_name="job_1", source_step="build",
                   properties=tuple(f"p{n}" for n in range(10)), output_parameters=("artifact",),
                   summary=True, files=({"path": "dist/a", "size": 1, "sha256": "0"},), origins={"p1": "id0"})
    line = p.line()
    assert line.startswith("Reused from job job_1 (id1), step build: 10 properties (p0, ")
    assert "and 2 more" in line and "1 output parameter (artifact)" in line and "the summary" in line
    assert "1 file, checked by SHA-256 (dist/a)" in line and line.endswith("first set in job id0.")
    assert Provenance.from_text(p.to_text()) == p
    assert with_provenance("built\n", p) == "built\n" + line
    lines = status_lines([p], lambda job: False)
    assert "The source job id1 no longer exists" in lines[0]


def test_a_step_that_left_nothing_says_so_in_words():
    from ec_resume.provenance import NOTHING_LEFT, Provenance

    line = Provenance(step="build", source_job_id="j1", source_job_name="job_1", source_step="build").line()
    assert line == f"Reused from job job_1 (j1), step build: {NOTHING_LEFT}."
