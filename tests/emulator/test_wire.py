"""The wires themselves: authentication, REST routes and error shapes, XML envelopes and batches, the
UI run link, and "the same call on both wires returns the same data"."""

from __future__ import annotations

import json
from typing import Any, Dict
from urllib.parse import quote, urlencode

import pytest
import requests
from conftest import ServerApi, find_step, make_procedure, unique

from commander_emulator.xml_codec import parse_responses, request_envelope


def post_xml(server: Any, body: bytes, **kwargs: Any) -> requests.Response:
    return requests.post(
        server.url + "/commanderRequest",
        data=body,
        headers={"Content-Type": "text/xml; charset=utf-8"},
        **kwargs,
    )


def collapse(value: Any) -> Any:
    """XML cannot tell a one-element list from its element, nor an empty list, sheet or string from an
    absent one: normalise both wires the same way."""
    if isinstance(value, list):
        items = [collapse(v) for v in value]
        return items[0] if len(items) == 1 else (items or None)
    if isinstance(value, dict):
        out = {k: collapse(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None} or None
    return value if value != "" else None


# ---------------------------------------------------------------------------------------------- auth


def test_rest_without_a_session_is_401(server: Any) -> None:
    response = requests.get(server.url + "/rest/v1.0/jobs")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidSession"
    stale = requests.get(server.url + "/rest/v1.0/jobs", cookies={"sessionId": "NOT-A-SESSION"})
    assert stale.status_code == 401


def test_xml_without_a_session_is_401(server: Any) -> None:
    body = request_envelope([("1", "getServerStatus", {})])
    response = post_xml(server, body)
    assert response.status_code == 401
    assert parse_responses(response.content)[0][2]["code"] == "InvalidSession"
    assert (
        post_xml(server, request_envelope([("1", "getServerStatus", {})], session_id="BOGUS")).status_code
        == 401
    )


def test_ui_link_without_a_session_is_401(server: Any) -> None:
    response = requests.get(
        server.url + "/commander/runProcedure.php?runNow=1&projectName=p&procedureName=q",
        allow_redirects=False,
    )
    assert response.status_code == 401


def test_basic_auth_works_on_rest_xml_and_rejects_a_wrong_password(server: Any) -> None:
    good = (server.user, server.password)
    assert requests.get(server.url + "/rest/v1.0/server/status", auth=good).status_code == 200
    assert requests.get(server.url + "/rest/v1.0/server/status", auth=("admin", "nope")).status_code == 401
    response = post_xml(server, request_envelope([("1", "getServerStatus", {})]), auth=good)
    assert parse_responses(response.content)[0][1] == "response"


def test_cookie_and_attribute_sessions(server: Any, api: ServerApi) -> None:
    sid = api.session_id
    assert (
        requests.get(server.url + "/rest/v1.0/server/status", cookies={"sessionId": sid}).status_code == 200
    )
    newer = quote(json.dumps({"username": "admin", "sessionId": sid}))
    assert (
        requests.get(server.url + "/rest/v1.0/server/status", cookies={"session": newer}).status_code == 200
    )
    by_cookie = post_xml(
        server, request_envelope([("1", "getServerStatus", {})]), cookies={"sessionId": sid}
    )
    assert by_cookie.status_code == 200
    by_attribute = post_xml(server, request_envelope([("1", "getServerStatus", {})], session_id=sid))
    assert parse_responses(by_attribute.content)[0][1] == "response"


def test_xml_login_answers_a_session_id_usable_in_the_same_envelope(server: Any) -> None:
    body = request_envelope(
        [
            ("a", "login", {"userName": server.user, "password": server.password}),
            ("b", "getServerStatus", {}),
        ]
    )
    replies = parse_responses(post_xml(server, body).content)
    assert replies[0][0] == "a" and replies[0][2]["sessionId"]
    assert replies[1][:2] == ("b", "response")


# ---------------------------------------------------------------------------------------------- REST


def test_rest_resource_routes(api: ServerApi) -> None:
    project = unique("routes")
    api.rest("POST", "projects", json={"projectName": project})
    api.rest("POST", f"projects/{project}/procedures", json={"procedureName": "Build"})
    api.rest(
        "POST",
        f"projects/{project}/procedures/Build/formalParameters",
        json={"formalParameterName": "p", "required": True},
    )
    api.rest("POST", f"projects/{project}/procedures/Build/steps", json={"stepName": "s", "alwaysRun": True})
    api.rest("PUT", f"projects/{project}/procedures/Build/steps/s", json={"command": "exit 0"})
    step = api.rest("GET", f"projects/{project}/procedures/Build/steps/s")["step"]
    assert (step["alwaysRun"], step["command"]) == ("1", "exit 0")  # JSON true arrives as "1"
    params = api.rest("GET", f"projects/{project}/procedures/Build/formalParameters")["formalParameter"]
    assert [(p["formalParameterName"], p["required"]) for p in params] == [("p", "1")]
    assert [p["procedureName"] for p in api.rest("GET", f"projects/{project}/procedures")["procedure"]] == [
        "Build"
    ]
    api.rest("PUT", "properties/a name with spaces", params={"projectName": project}, json={"value": "v"})
    got = api.rest("GET", "properties/a%20name%20with%20spaces", params={"projectName": project})
    assert got["property"]["value"] == "v"
    assert api.rest(
        "POST", "expandString", json={"projectName": project, "value": "[$[a name with spaces]]"}
    ) == {"value": "[v]"}
    api.rest("DELETE", "properties/a name with spaces", params={"projectName": project})
    api.rest("DELETE", f"projects/{project}/procedures/Build/steps/s")
    assert api.rest("GET", f"projects/{project}/procedures/Build/steps")["step"] == []


def test_rest_errors_carry_the_status_and_the_error_object(api: ServerApi) -> None:
    response = api.http.get(api.rest_url(f"projects/{unique('none')}/procedures/x"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "NoSuchProject" and set(error) == {"code", "message", "details", "where"}
    bad_body = api.http.post(
        api.rest_url("projects"), data=b"[1, 2]", headers={"Content-Type": "application/json"}
    )
    assert bad_body.status_code == 400 and "JSON object" in bad_body.json()["error"]["message"]
    # Issue 14: a path no route matches is "501, Not Implemented" on a real server, not 404.
    unrouted = api.http.get(api.rest_url("no/such/route"))
    assert unrouted.status_code == 501 and unrouted.json()["error"]["code"] == "NotImplemented"
    wrong_method = api.http.delete(api.rest_url("server/status"))
    assert wrong_method.status_code == 400 and "GET" in wrong_method.json()["error"]["message"]


def test_rest_job_routes(api: ServerApi) -> None:
    project, procedure = make_procedure(api.call, {"s": {"command": "exit 0"}}, ["p"])
    job_id = api.rest(
        "POST",
        "jobs",
        params={"request": "runProcedure"},
        json={
            "projectName": project,
            "procedureName": procedure,
            "actualParameter": [{"actualParameterName": "p", "value": "x"}],
        },
    )["jobId"]
    job = api.wait_for_job(job_id)
    assert (
        api.rest("GET", f"jobs/{job_id}", params={"request": "getJobInfo"})["job"]["jobName"]
        == job["jobName"]
    )
    step_id = find_step(job, "s")["jobStepId"]
    assert api.rest("GET", f"jobSteps/{step_id}")["jobStep"]["outcome"] == "success"
    assert job_id in [j["jobId"] for j in api.rest("GET", "jobs")["job"]]
    api.rest("POST", f"jobs/{job_id}", params={"request": "abortJob"})  # a finished job: nothing to do


# ----------------------------------------------------------------------------------------------- XML


def test_a_batch_of_three_with_one_failing(api: ServerApi) -> None:
    project, _ = make_procedure(api.call, {})
    for mode in ("serial", "parallel", "single"):
        replies = api.xml_batch(
            [
                ("setProperty", {"projectName": project, "propertyName": "k", "value": mode}),
                ("getProperty", {"projectName": project, "propertyName": "missing"}),
                ("getProperty", {"projectName": project, "propertyName": "k"}),
            ],
            mode=mode,
        )
        assert [kind for kind, _ in replies] == ["response", "error", "response"]
        assert replies[1][1]["code"] == "NoSuchProperty" and replies[1][1]["message"]
        assert replies[2][1]["property"]["value"] == mode


def test_malformed_envelopes_are_refused_with_a_clear_error(server: Any, api: ServerApi) -> None:
    broken = post_xml(server, b"<requests><request requestId='1'><getServerStatus></request>")
    assert broken.status_code == 400
    error = parse_responses(broken.content)[0][2]
    assert error["code"] == "InvalidXml" and "Malformed XML" in error["message"]
    wrong_root = post_xml(server, b"<commands/>")
    assert "<requests>" in parse_responses(wrong_root.content)[0][2]["message"]
    bad_mode = post_xml(
        server, b"<requests mode='sometimes'><request><getServerStatus/></request></requests>"
    )
    assert "mode" in parse_responses(bad_mode.content)[0][2]["message"]
    two_apis = request_envelope([("1", "getServerStatus", {})], session_id=api.session_id).replace(
        b"<getServerStatus/>", b"<getServerStatus/><getJobs/>"
    )
    kind, value = api_reply(post_xml(server, two_apis))
    assert kind == "error" and "found 2" in value["message"]


def api_reply(response: requests.Response) -> tuple:
    rid, kind, value = parse_responses(response.content)[0]
    return kind, value


def test_xml_arguments_nest_and_repeat(server: Any, api: ServerApi) -> None:
    project, procedure = make_procedure(api.call, {"s": {"command": "echo $[a]$[b]"}}, ["a", "b"])
    body = (
        f"<requests sessionId='{api.session_id}'><request requestId='r'><runProcedure>"
        f"<projectName>{project}</projectName><procedureName>{procedure}</procedureName>"
        "<actualParameter><actualParameterName>a</actualParameterName><value> one </value></actualParameter>"
        "<actualParameter><actualParameterName>b</actualParameterName><value/></actualParameter>"
        "</runProcedure></request></requests>"
    ).encode()
    kind, value = api_reply(post_xml(server, body))
    assert kind == "response"
    job = api.wait_for_job(value["jobId"])
    assert job["actualParameter"] == [
        {"actualParameterName": "a", "value": " one "},
        {"actualParameterName": "b", "value": ""},
    ]


def test_the_same_call_on_both_wires_returns_the_same_data(api: ServerApi) -> None:
    lib, lib_proc = make_procedure(api.call, {"inner": {"command": "echo $[x]"}}, ["x"])
    project, procedure = make_procedure(api.call,
        {
            "a": {"command": "exit 0"},
            "call": {
                "subprocedure": lib_proc,
                "subproject": lib,
                "actualParameter": [{"actualParameterName": "x", "value": "<&>"}],
            },
            "b": {"command": "exit 1", "errorHandling": "ignore"},
        },
    )
    job = api.run_and_wait(project, procedure)
    api.call("setProperty", jobId=job["jobId"], propertyName="note", value="a & b < c")
    rest = api.call("getJobDetails", jobId=job["jobId"])
    xml = api.xml("getJobDetails", jobId=job["jobId"])
    assert collapse(xml) == collapse(rest)
    assert find_step(rest["job"], "call", "inner")["command"] == "echo <&>"
    for name in ("getJobStepDetails",):
        step_id = find_step(rest["job"], "call")["jobStepId"]
        assert collapse(api.xml(name, jobStepId=step_id)) == collapse(api.call(name, jobStepId=step_id))


# ------------------------------------------------------------------------------------------- UI link

TRICKY = {
    "amp": "a&b",
    "eq": "x=y",
    "hash": "#frag",
    "space": "two  words ",
    "utf8": "Grüße, 東京 ✓",
    "empty": "",
    "plus": "1+1",
}


def run_link(server: Any, project: str, procedure: str, params: Dict[str, str]) -> str:
    query = {
        "runNow": "1",
        "projectName": project,
        "procedureName": procedure,
        "numParameters": str(len(params)),
    }
    for i, (name, value) in enumerate(params.items(), start=1):
        query[f"parameters{i}_name"] = name
        query[f"parameters{i}_value"] = value
    return server.url + "/commander/runProcedure.php?" + urlencode(query, quote_via=quote)


def test_ui_link_runs_the_procedure_with_parameters_byte_identical(
    server: Any, api: ServerApi
) -> None:
    project, procedure = make_procedure(api.call, {"s": {"command": "exit 0"}}, list(TRICKY))
    response = api.http.get(run_link(server, project, procedure, TRICKY), allow_redirects=False)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/commander/link/jobDetails/jobs/")
    job_id = location.rsplit("/", 1)[1]
    job = api.wait_for_job(job_id)
    assert {p["actualParameterName"]: p["value"] for p in job["actualParameter"]} == TRICKY
    assert job["launchedByUser"] == server.user
    page = api.http.get(server.url + location)
    assert page.status_code == 200 and job["jobName"] in page.text


def test_ui_link_with_basic_auth_follows_to_the_job_page(server: Any, api: ServerApi) -> None:
    project, procedure = make_procedure(api.call, {"s": {"command": "exit 0"}})
    page = requests.get(
        run_link(server, project, procedure, {}), auth=(server.user, server.password)
    )
    assert page.status_code == 200 and "<h1>Job " in page.text


@pytest.mark.parametrize(
    "query, expected",
    [
        ("numParameters=two", "numParameters: expected a non-negative integer, got 'two'"),
        ("numParameters=2&parameters1_name=a&parameters1_value=1&parameters2_name=b", "parameters2_value"),
        ("numParameters=1&parameters1_value=1", "parameters1_name"),
    ],
)
def test_ui_link_refuses_malformed_parameters(
    server: Any, api: ServerApi, query: str, expected: str
) -> None:
    url = f"{server.url}/commander/runProcedure.php?runNow=1&projectName=p&procedureName=q&{query}"
    response = api.http.get(url, allow_redirects=False)
    assert response.status_code == 400
    assert expected in response.text and response.text.count("\n") == 1


def test_ui_link_for_a_missing_procedure_says_so(server: Any, api: ServerApi) -> None:
    project, _ = make_procedure(api.call, {})
    response = api.http.get(run_link(server, project, "Nope", {}), allow_redirects=False)
    assert response.status_code == 404 and "NoSuchProcedure" in response.text
