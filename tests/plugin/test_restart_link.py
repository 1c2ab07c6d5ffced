"""The restart links: every parameter carried byte for byte, jobToRestart handled, credentials left out;
and the CreateRestartLink step code that puts them on the job."""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, urlsplit

import pytest
from ec_resume.client_errors import ServerUnreachable
from ec_resume.procedures.create_restart_link import BadInput, run
from ec_resume.procedures.step_io import failure_line
from ec_resume.restart_link import (
    CREDENTIAL_REASON,
    DEFAULT_TEMPLATE,
    NOT_FORMAL_REASON,
    LinkTemplateError,
    build_restart_links,
)
from fake_commander import FakeCommander
from hypothesis import given
from hypothesis import strategies as st


def formal(name: str, kind: str = "entry") -> dict:
    return {"formalParameterName": name, "type": kind, "required": "0", "defaultValue": ""}


def decoded(url: str) -> list[tuple[str, str]]:
    """(name, value) pairs a runProcedure.php link hands the server, in order."""
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True, strict_parsing=True))
    count = int(query["numParameters"])
    return [(query[f"parameters{i}_name"], query[f"parameters{i}_value"]) for i in range(1, count + 1)]


def test_tricky_values_survive_the_round_trip_byte_for_byte():
    tricky = [("branch", "feature/a&b=c#d"), ("message", "two  words + plus"), ("who", "Jürgen 東京 ✓"),
              ("empty", "")]
    formals = [formal(n) for n, _ in tricky] + [formal("jobToRestart")]
    links = build_restart_links(DEFAULT_TEMPLATE, "My Project", "Build & Deploy", tricky, formals, "J-1")
    assert decoded(links.restart_url) == tricky + [("jobToRestart", "J-1")]
    assert decoded(links.run_all_url) == tricky + [("jobToRestart", "")]
    query = dict(parse_qsl(urlsplit(links.restart_url).query))
    assert (query["projectName"], query["procedureName"]) == ("My Project", "Build & Deploy")
    assert "#" not in links.restart_url and " " not in links.restart_url


def test_an_earlier_job_to_restart_is_replaced_in_place_never_duplicated():
    actual = [("jobToRestart", "OLD"), ("env", "prod")]
    formals = [formal("env"), formal("jobToRestart")]
    links = build_restart_links(DEFAULT_TEMPLATE, "P", "Build", actual, formals, "NEW")
    assert decoded(links.restart_url) == [("env", "prod"), ("jobToRestart", "NEW")]
    assert decoded(links.run_all_url) == [("env", "prod"), ("jobToRestart", "")]
    assert links.carried == ["env", "jobToRestart"]


def test_formal_order_and_parameters_no_longer_formal_are_left_out_like_the_cli_does():
    actual = [("z", "1"), ("extra2", "x"), ("a", "2"), ("extra1", "y")]
    links = build_restart_links(DEFAULT_TEMPLATE, "P", "B", actual,
                                [formal("a"), formal("z"), formal("jobToRestart")], "7")
    assert [n for n, _ in decoded(links.restart_url)] == ["a", "z", "jobToRestart"]
    assert links.omitted == [("extra2", NOT_FORMAL_REASON), ("extra1", NOT_FORMAL_REASON)]


def test_credential_parameters_are_left_out_with_the_reason():
    actual = [("deployCred", "prodCredential"), ("env", "prod")]
    formals = [formal("deployCred", "credential"), formal("env"), formal("jobToRestart")]
    links = build_restart_links(DEFAULT_TEMPLATE, "P", "B", actual, formals, "9")
    assert links.omitted == [("deployCred", CREDENTIAL_REASON)]
    assert "prodCredential" not in links.restart_url + links.run_all_url
    assert decoded(links.restart_url) == [("env", "prod"), ("jobToRestart", "9")]


def test_without_a_job_to_restart_parameter_there_is_no_restart_link():
    links = build_restart_links(DEFAULT_TEMPLATE, "P", "B", [("env", "prod")], [formal("env")], "9")
    assert links.missing_job_to_restart
    assert links.restart_url == ""
    assert decoded(links.run_all_url) == [("env", "prod")]


def test_a_template_with_an_unknown_placeholder_is_refused_in_one_line():
    with pytest.raises(LinkTemplateError) as caught:
        build_restart_links("/run?p={projectName}&x={serverName}", "P", "B", [], [], "1")
    message = str(caught.value)
    assert "{serverName}" in message and "{projectName}" in message and "\n" not in message
    with pytest.raises(LinkTemplateError, match="malformed"):
        build_restart_links("/run?p={projectName", "P", "B", [], [], "1")


def test_a_custom_template_with_job_id_and_literal_braces():
    links = build_restart_links("/ui/{{x}}/{projectName}/{jobId}?n={numParameters}{parameters}", "a b", "B",
                                [("k", "v")], [formal("k"), formal("jobToRestart")], "id/1")
    assert links.restart_url.startswith("/ui/{x}/a%20b/id%2F1?n=2&parameters1_name=k&")


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(st.dictionaries(names.filter(lambda n: n != "jobToRestart"), values, max_size=6),
       st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10))
def test_decoding_a_link_gives_back_exactly_the_parameters(params, job_id):
    actual = list(params.items())
    formals = [formal(n) for n in params] + [formal("jobToRestart")]
    links = build_restart_links(DEFAULT_TEMPLATE, "P", "B", actual, formals, job_id)
    assert decoded(links.restart_url) == actual + [("jobToRestart", job_id)]
    assert decoded(links.run_all_url) == actual + [("jobToRestart", "")]


# --------------------------------------------------------------------- CreateRestartLink step code


def a_job(*params: tuple[str, str], job_id: str = "J7", procedure: str = "Release") -> dict:
    actual = [{"actualParameterName": n, "value": v} for n, v in params]
    return {"jobId": job_id, "jobName": f"job_{job_id}", "projectName": "Shop", "procedureName": procedure,
            "status": "running", "actualParameter": actual}


def FakeClient(job: dict, formals: list[dict], properties: dict[str, str]) -> FakeCommander:
    """A step's view of the server: its job, the procedure's formals, and properties by path."""
    fake = FakeCommander({job["jobId"]: job}, {(job["projectName"], job["procedureName"]): formals},
                         properties)
    fake.written = fake.properties  # what the step wrote, beside what was there
    return fake


def test_step_sets_both_links_and_summarises_what_they_carry():
    client = FakeClient(a_job(("env", "prod"), ("cred", "c1"), ("jobToRestart", "")),
                        [formal("env"), formal("cred", "credential"), formal("jobToRestart")],
                        {"linkName": "Restart this job", "runAllLinkName": "Run all steps again"})
    out = io.StringIO()
    assert run(client, {"COMMANDER_JOBID": "J7"}, out) == 0
    assert decoded(client.written["/myJob/report-urls/Restart this job"]) == [
        ("env", "prod"), ("jobToRestart", "J7")]
    assert decoded(client.written["/myJob/report-urls/Run all steps again"]) == [
        ("env", "prod"), ("jobToRestart", "")]
    summary = client.written["/myJobStep/summary"]
    assert "2 parameters: env, jobToRestart" in summary
    assert "Left out 'cred': " + CREDENTIAL_REASON in summary
    assert "/myJobStep/outcome" not in client.written
    assert "c1" not in out.getvalue()


def test_step_says_which_parameters_the_procedure_no_longer_has():
    client = FakeClient(a_job(("env", "prod"), ("retired", "x")), [formal("env"), formal("jobToRestart")], {})
    assert run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO()) == 0
    assert decoded(client.written["/myJob/report-urls/Restart this job"]) == [
        ("env", "prod"), ("jobToRestart", "J7")]
    assert f"Left out 'retired': {NOT_FORMAL_REASON}." in client.written["/myJobStep/summary"]


def test_step_without_job_to_restart_explains_the_fix_and_warns():
    client = FakeClient(a_job(("env", "prod")), [formal("env")], {})
    assert run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO()) == 0
    assert "/myJob/report-urls/Restart this job" not in client.written
    assert client.written["/myJobStep/outcome"] == "warning"
    summary = client.written["/myJobStep/summary"]
    assert "no formal parameter 'jobToRestart'" in summary
    assert "add a formal parameter named 'jobToRestart' with an empty default" in summary


def test_step_uses_the_plugin_link_template_and_refuses_a_bad_one():
    template = "/custom?p={projectName}{parameters}"
    setting = "/myProject/resume/linkTemplate"
    client = FakeClient(a_job(), [formal("jobToRestart")], {setting: template + "\n"})
    run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO())
    link = client.written["/myJob/report-urls/Restart this job"]
    assert link.startswith("/custom?p=Shop&parameters1_name=")
    client = FakeClient(a_job(), [formal("jobToRestart")], {setting: "/x?{nope}"})
    with pytest.raises(BadInput, match=r"unknown placeholder \{nope\}"):
        run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO())


def test_step_refuses_a_link_name_that_would_be_a_property_path():
    client = FakeClient(a_job(), [formal("jobToRestart")], {"linkName": "a/b"})
    with pytest.raises(BadInput, match="linkName 'a/b'"):
        run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO())
    with pytest.raises(BadInput, match="COMMANDER_JOBID"):
        run(client, {}, io.StringIO())


def test_step_writes_where_its_job_failed_first():
    job = {**a_job(("jobToRestart", "")), "jobStep": [
        {"stepName": "build", "outcome": "success", "finish": "2024-01-01T00:00:01.000Z"},
        {"stepName": "deploy", "outcome": "error", "finish": "2024-01-01T00:00:02.000Z"}]}
    client = FakeClient(job, [formal("jobToRestart")], {})
    run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO())
    assert client.written["/jobs/J7/ec_resume/failedStep"] == "deploy"
    assert client.written["/jobs/J7/ec_resume/failedAt"] == "2024-01-01T00:00:02.000Z"


def test_step_records_lineage_when_its_job_resumes_a_job_of_the_same_procedure_only():
    client = FakeClient(a_job(("jobToRestart", "J5")), [formal("jobToRestart")], {})
    client.jobs["J5"] = {**a_job(job_id="J5"), "status": "completed"}
    client.jobs["J6"] = {**a_job(job_id="J6", procedure="Other"), "status": "completed"}
    run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO())
    assert client.written["/jobs/J7/ec_resume/resumes"] == "J5"
    assert client.written["/jobs/J5/ec_resume/resumedBy/J7"] == "link"
    assert "This job resumes job_J5." in client.written["/myJobStep/summary"]

    other = FakeClient(a_job(("jobToRestart", "J6"), job_id="J8"), [formal("jobToRestart")], {})
    other.jobs["J6"] = client.jobs["J6"]
    run(other, {"COMMANDER_JOBID": "J8"}, io.StringIO())
    assert "/jobs/J8/ec_resume/resumes" not in other.written
    assert ("jobToRestart 'J6' names a job that is not a job of this procedure, so this job skipped nothing"
            in other.written["/myJobStep/summary"])


def test_a_link_longer_than_8_kb_becomes_a_short_link_that_runs_restart_job():
    big = [(f"p{n}", "x" * 1000) for n in range(10)]
    formals = [formal(n) for n, _ in big] + [formal("jobToRestart")]
    plugin = {"/myProject/projectName": "EC-Resume-1.0.0"}
    client = FakeClient(a_job(*big, ("jobToRestart", "")), formals, plugin)
    assert run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO()) == 0
    link = client.written["/myJob/report-urls/Restart this job"]
    assert len(link) < 300
    query = dict(parse_qsl(urlsplit(link).query))
    assert (query["projectName"], query["procedureName"]) == ("EC-Resume-1.0.0", "RestartJob")
    assert decoded(link) == [("jobId", "J7")]
    assert "/myJob/report-urls/Run all steps again" not in client.written
    summary = client.written["/myJobStep/summary"]
    assert "longer than 8 KB" in summary and "runs RestartJob for this job instead" in summary


def test_the_link_run_now_setting_makes_the_links_open_the_filled_in_form():
    setting = "/plugins/EC-Resume/project/resume/linkRunNow"
    client = FakeClient(a_job(("env", "prod")), [formal("env"), formal("jobToRestart")], {setting: "0"})
    run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO())
    for name in ("Restart this job", "Run all steps again"):
        link = client.written[f"/myJob/report-urls/{name}"]
        assert "runNow" not in link and decoded(link)[0] == ("env", "prod")
    assert "open the filled-in run form" in client.written["/myJobStep/summary"]
    client = FakeClient(a_job(("env", "prod")), [formal("env"), formal("jobToRestart")], {setting: "1"})
    run(client, {"COMMANDER_JOBID": "J7"}, io.StringIO())
    assert "runNow=1" in client.written["/myJob/report-urls/Restart this job"]


def test_a_summary_that_cannot_be_written_is_a_warning_not_a_failed_step(monkeypatch):
    client = FakeClient(a_job(("jobToRestart", "")), [formal("jobToRestart")], {})
    written = client.set_property

    def no_summary(path: str, value: str, expandable=None, **locator) -> None:
        if path == "/myJobStep/summary":
            raise ServerUnreachable("setProperty: cannot reach http://fake:8000: no answer within 30 s")
        written(path, value)

    monkeypatch.setattr(client, "set_property", no_summary)
    out = io.StringIO()
    assert run(client, {"COMMANDER_JOBID": "J7"}, out) == 0
    assert "/myJob/report-urls/Restart this job" in client.written
    assert "warning: the step summary could not be written" in out.getvalue()


def test_a_connection_failure_is_never_called_a_refusal():
    assert failure_line("CreateRestartLink", ServerUnreachable("x: cannot reach http://h:1: no answer")) == (
        "CreateRestartLink: [ConnectionFailed] x: cannot reach http://h:1: no answer")
