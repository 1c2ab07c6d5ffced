"""CommanderClient against a scripted stdlib HTTP server: retries, error mapping, secrets kept secret."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from ec_resume.client import CommanderApiError, CommanderClient, base_url_from_env

SESSION = "S3CR3T-SESSION-0123456789"


class ScriptedServer:
    """Answers each request with the next scripted (status, body); afterwards with 200 {}."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any]] = []
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                outer.requests.append({"method": self.command, "path": parts.path, "raw_path": self.path,
                                       "query": parse_qs(parts.query), "headers": dict(self.headers),
                                       "body": json.loads(body) if body else None})
                status, answer = outer.answers.pop(0) if outer.answers else (200, {})
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    fake = ScriptedServer()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def step_client(url: str, **kwargs: Any) -> CommanderClient:
    host_port = url.split("://", 1)[1]
    env = {"COMMANDER_SERVER": host_port, "COMMANDER_SECURE": "0", "COMMANDER_SESSIONID": SESSION,
           "COMMANDER_JOBSTEPID": "step-1"}
    kwargs.setdefault("sleep", lambda seconds: None)
    return CommanderClient.from_environment(env, **kwargs)


def error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "details": "", "where": ""}}


def test_inside_a_step_property_calls_carry_the_step_and_the_session_cookie(server):
    server.answers = [(200, {"property": {"propertyName": "linkName", "value": "Restart"}})]
    client = step_client(server.url)
    assert client.get_property("/myProject/resume/linkTemplate", expand=False) == "Restart"
    sent = server.requests[0]
    assert sent["raw_path"].startswith("/rest/v1.0/properties//myProject/resume/linkTemplate?")
    assert sent["query"] == {"jobStepId": ["step-1"], "expand": ["0"]}
    assert sent["headers"]["Cookie"] == f"sessionId={SESSION}"


def test_an_explicit_locator_replaces_the_implicit_step(server):
    client = step_client(server.url)
    client.set_property("summary", "done", jobId="J1")
    sent = server.requests[0]
    assert sent["method"] == "PUT"
    assert sent["body"] == {"jobId": "J1", "value": "done"}


def test_a_missing_property_is_none_other_errors_raise(server):
    server.answers = [(404, error("NoSuchProperty", "Property 'x' does not exist")),
                      (404, error("NoSuchJob", "Job 'J9' does not exist"))]
    client = step_client(server.url)
    assert client.get_property("x") is None
    with pytest.raises(CommanderApiError) as caught:
        client.get_job_details("J9")
    assert (caught.value.code, caught.value.http_status) == ("NoSuchJob", 404)
    assert str(caught.value) == "[NoSuchJob] Job 'J9' does not exist (HTTP 404)"


def test_a_get_is_retried_after_a_503_and_then_succeeds(server):
    server.answers = [(503, error("ServerNotReady", "starting")), (502, b"<html>bad gateway</html>"),
                      (200, {"job": {"jobId": "J1", "jobStep": []}})]
    delays: list[float] = []
    client = step_client(server.url, sleep=delays.append, backoff=0.5, backoff_cap=0.75)
    assert client.get_job_details("J1")["jobId"] == "J1"
    assert len(server.requests) == 3
    assert delays == [0.5, 0.75]  # doubled, then capped


def test_set_property_is_retried_because_it_is_idempotent(server):
    server.answers = [(500, error("InternalError", "boom"))]
    step_client(server.url).set_property("/myJob/x", "1")
    assert [r["method"] for r in server.requests] == ["PUT", "PUT"]


def test_a_post_is_never_retried(server):
    server.answers = [(503, error("ServerNotReady", "starting"))]
    client = step_client(server.url)
    with pytest.raises(CommanderApiError) as caught:
        client.run_procedure("P", "Build", {"a": "1"})
    assert caught.value.code == "ServerNotReady"
    assert len(server.requests) == 1


def test_a_501_is_not_retried(server):
    server.answers = [(501, error("NotImplemented", "No REST resource"))] * 3
    with pytest.raises(CommanderApiError) as caught:
        step_client(server.url).get_job_status("J1")
    assert (caught.value.code, caught.value.http_status) == ("NotImplemented", 501)
    assert len(server.requests) == 1


def test_retries_give_up_after_the_configured_attempts(server):
    server.answers = [(503, error("ServerNotReady", "starting"))] * 5
    with pytest.raises(CommanderApiError, match="ServerNotReady"):
        step_client(server.url, attempts=3).get_job_status("J1")
    assert len(server.requests) == 3


def test_run_procedure_sends_actual_parameters_and_returns_the_job_id(server):
    server.answers = [(200, {"jobId": "J2"})]
    assert step_client(server.url).run_procedure("P", "Build", {"env": "prod"}) == "J2"
    sent = server.requests[0]
    assert sent["query"] == {"request": ["runProcedure"]}
    assert sent["body"]["actualParameter"] == [{"actualParameterName": "env", "value": "prod"}]


def test_formal_parameters_tolerate_a_single_object(server):
    server.answers = [(200, {"formalParameter": {"formalParameterName": "jobToRestart", "type": "entry"}})]
    params = step_client(server.url).get_formal_parameters("My Project", "Build/Deploy")
    assert [p["formalParameterName"] for p in params] == ["jobToRestart"]
    assert server.requests[0]["raw_path"] == ("/rest/v1.0/projects/My%20Project/procedures/Build%2FDeploy/"
                                              "formalParameters")


def test_unreachable_server_is_one_line_connection_failed():
    client = CommanderClient("http://127.0.0.1:9", session_id=SESSION, attempts=2, sleep=lambda s: None)
    with pytest.raises(CommanderApiError) as caught:
        client.get_job_status("J1")
    assert caught.value.code == "ConnectionFailed" and "\n" not in str(caught.value)


def test_the_session_id_never_appears_in_errors_repr_or_logs(server, caplog):
    caplog.set_level(logging.DEBUG, logger="ec_resume.client")
    server.answers = [(401, error("InvalidSession", f"Session {SESSION} has\nexpired")),
                      (503, error("ServerNotReady", "wait")), (200, {"property": {"value": "1"}})]
    client = step_client(server.url, attempts=2)
    with pytest.raises(CommanderApiError) as caught:
        client.get_property("x")
    assert SESSION not in str(caught.value) and SESSION not in repr(caught.value)
    assert "\n" not in str(caught.value)
    client.get_property("y")  # retried once: logs its retry
    assert SESSION not in repr(client) and "session=set" in repr(client)
    assert caplog.records and all(SESSION not in r.getMessage() for r in caplog.records)


def test_login_uses_the_password_once_then_the_session(server):
    server.answers = [(200, {"sessionId": SESSION}), (200, {"property": {"value": "v"}})]
    client = CommanderClient(server.url + "/rest/v1.0/")
    client.login("admin", "pa55word")
    assert client.get_property("/server/x") == "v"
    assert server.requests[0]["body"] == {"userName": "admin", "password": "pa55word"}
    assert server.requests[1]["headers"]["Cookie"] == f"sessionId={SESSION}"
    assert "pa55word" not in repr(client)


def test_agent_environment_gives_the_server_address():
    assert base_url_from_env({"COMMANDER_SERVER": "cd", "COMMANDER_SECURE": "1"}) == "https://cd:8443"
    assert base_url_from_env({"COMMANDER_SERVER": "cd", "COMMANDER_SECURE": "0",
                              "COMMANDER_PORT": "9000"}) == "http://cd:9000"
    assert base_url_from_env({"COMMANDER_SERVER": "cd:1234", "COMMANDER_SECURE": "1"}) == "https://cd:1234"
    with pytest.raises(CommanderApiError, match="COMMANDER_SERVER is not set"):
        base_url_from_env({})


def test_tls_is_verified_by_default():
    assert CommanderClient("https://cd.example.com").verify_tls
    assert CommanderClient.from_environment({"COMMANDER_SERVER": "cd", "COMMANDER_SECURE": "1"}).verify_tls


def test_a_server_that_never_answers_fails_within_the_timeout_in_one_line(silent_server):
    ticks = []
    client = CommanderClient(silent_server, session_id=SESSION, timeout=0.3, attempts=5, sleep=ticks.append)
    with pytest.raises(CommanderApiError) as caught:
        client.get_job_details("J1")
    message = str(caught.value)
    assert caught.value.code == "ConnectionFailed"
    assert f"cannot reach {silent_server}" in message and "no answer within" in message
    assert "\n" not in message and SESSION not in message
    assert sum(ticks) <= 0.3  # retries never wait past the call's own bound


@pytest.mark.parametrize("bad", [0, -1])
def test_a_timeout_must_be_positive(bad):
    with pytest.raises(CommanderApiError, match="expected seconds > 0"):
        CommanderClient("http://127.0.0.1:9", timeout=bad)
