"""CommanderClient against a scripted stdlib HTTP server: retries, error mapping, bounded waits, a lost
reply told from no connection, server URLs checked, secrets kept secret."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from ec_resume.client import CommanderApiError, CommanderClient, base_url_from_env, server_root
from ec_resume.client_errors import ReplyLost, ServerUnreachable

SESSION = "S3CR3T-SESSION-0123456789"
DROP = object()  # scripted answer: read the request, then close the connection without answering
STALL = 2.5  # scripted answer (STALL, body): hold the answer this long, past the clients' timeouts


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
                if status == STALL:
                    time.sleep(STALL)
                    status = 200
                if answer is DROP:
                    self.close_connection = True
                    return
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = _serve

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
    kwargs.setdefault("jitter", lambda: 1.0)
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


def test_backoff_has_jitter_within_half_and_all_of_the_step(server):
    server.answers = [(503, error("ServerNotReady", "starting"))] * 2
    delays: list[float] = []
    client = step_client(server.url, sleep=delays.append, backoff=0.5, jitter=lambda: 0.0)
    client.get_job_status("J1")
    assert delays == [0.25, 0.5]  # half of 0.5 and of 1.0: many agents do not come back in step


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_get_is_retried_after_each_retryable_status(server, status):
    server.answers = [(status, error("InternalError", "x"))]
    assert step_client(server.url).get_job_status("J1") == {}
    assert len(server.requests) == 2


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
    assert isinstance(caught.value, ReplyLost) and caught.value.code == "NoReply"
    assert f"cannot reach {silent_server}" in message and "no answer within" in message
    assert "tried GET /rest/v1.0/jobs/J1" in message and "timeout 0.3 s" in message
    assert "\n" not in message and SESSION not in message
    assert sum(ticks) <= 0.3  # retries never wait past the call's own bound


@pytest.mark.parametrize("bad", [0, -1])
def test_a_timeout_must_be_positive(bad):
    with pytest.raises(CommanderApiError, match="expected seconds > 0"):
        CommanderClient("http://127.0.0.1:9", timeout=bad)


def test_a_reply_lost_after_the_request_went_out_is_its_own_kind_and_a_post_is_not_sent_again(server):
    server.answers = [(200, DROP)]
    client = step_client(server.url)
    with pytest.raises(ReplyLost) as caught:
        client.run_procedure("P", "Build", {})
    assert caught.value.may_have_acted and len(server.requests) == 1
    assert "after the request was sent" in str(caught.value) and "\n" not in str(caught.value)
    server.answers = [(200, DROP), (200, {"job": {"jobId": "J1"}})]
    assert client.get_job_details("J1") == {"jobId": "J1"}  # a GET may be asked again


def test_no_connection_is_not_a_lost_reply_and_is_never_called_a_refusal_by_the_server():
    client = CommanderClient("http://127.0.0.1:9", session_id=SESSION, attempts=1)
    with pytest.raises(ServerUnreachable) as caught:
        client.run_procedure("P", "Build", {})
    assert not isinstance(caught.value, ReplyLost) and not caught.value.may_have_acted
    message = str(caught.value)
    assert message.startswith("[ConnectionFailed] runProcedure: cannot reach http://127.0.0.1:9: ")
    assert "tried POST /rest/v1.0/jobs once" in message and "server refused" not in message


def test_an_answer_that_trickles_in_is_cut_at_the_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        while not stop.wait(0.05):
            try:
                conn.sendall(b" ")
            except OSError:
                break
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    client = CommanderClient(f"http://127.0.0.1:{listener.getsockname()[1]}", session_id=SESSION,
                             timeout=0.4, attempts=1)
    try:
        with pytest.raises(ReplyLost, match="no answer within"):
            client.get_job_details("J1")
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize("url, root", [
    ("https://cd.example.com/", "https://cd.example.com"),
    ("https://cd.example.com:8443/rest/v1.0", "https://cd.example.com:8443"),
    ("http://gw.example.com/cd", "http://gw.example.com/cd"),  # a reverse proxy's prefix stays
])
def test_a_server_url_is_its_root(url, root):
    assert server_root(url) == root


@pytest.mark.parametrize("url, says", [
    ("https://cd.example.com/commander", "points below the server root (/commander): give "
                                         "https://cd.example.com instead"),
    ("https://cd.example.com/commander/link/jobDetails/jobs/5", "give https://cd.example.com instead"),
    ("http://cd:8000/rest", "points below the server root (/rest): give http://cd:8000 instead"),
    ("https://b\u00fccher.example", "is not ASCII; give its xn-- (IDNA) form (give https://xn--bcher-kva.example)"),
    ("http://[::1", "is malformed"),
    ("http://cd:99999", "is malformed"),
    ("http://", "names no host"),
    ("cd.example.com", "must start with http:// or https://"),
    ("https://u:pw@cd.example.com", "has a user name or password in it"),
])
def test_a_server_url_that_is_not_a_root_is_one_line_saying_what_to_give(url, says):
    with pytest.raises(CommanderApiError) as caught:
        CommanderClient(url)
    assert caught.value.code == "InvalidArgument" and says in str(caught.value), str(caught.value)
    assert "pw" not in str(caught.value).replace("password", "")


def test_create_property_is_the_claim_it_is_false_when_taken_and_not_retried(server):
    server.answers = [(200, {"property": {}}), (409, error("DuplicatePropertyName", "exists")),
                      (500, error("InternalError", "boom"))]
    client = step_client(server.url)
    assert client.create_property("/jobs/J1/ec_resume/restartLock", "me") is True
    assert client.create_property("/jobs/J1/ec_resume/restartLock", "me") is False
    with pytest.raises(CommanderApiError):
        client.create_property("/jobs/J1/ec_resume/restartLock", "me")
    assert [r["method"] for r in server.requests] == ["POST", "POST", "POST"]


def test_properties_of_a_sheet_leave_out_nested_sheets_and_a_missing_sheet_is_empty(server):
    server.answers = [(200, {"propertySheet": {"property": [
        {"propertyName": "J7", "value": "link"}, {"propertyName": "sub", "propertySheetId": "9"}]}}),
        (404, error("NoSuchProperty", "none"))]
    client = step_client(server.url)
    assert client.get_properties("/jobs/J1/ec_resume/resumedBy") == {"J7": "link"}
    assert server.requests[0]["query"]["path"] == ["/jobs/J1/ec_resume/resumedBy"]
    assert client.get_properties("/jobs/J2/ec_resume/resumedBy") == {}


def test_run_procedure_carries_credential_references(server):
    server.answers = [(200, {"jobId": "J3"})]
    refs = [{"name": "cred", "value": "/projects/P/credentials/vault"}]
    assert step_client(server.url).run_procedure("P", "Build", {}, refs) == "J3"
    assert server.requests[0]["body"]["credentialReferenceParameters"] == refs


def test_get_jobs_filters_by_project_and_procedure(server):
    server.answers = [(200, {"job": {"jobId": "J1"}})]
    assert step_client(server.url).get_jobs("P", "Build") == [{"jobId": "J1"}]
    assert server.requests[0]["query"] == {"projectName": ["P"], "procedureName": ["Build"]}


def test_a_stalled_answer_costs_one_attempt_not_the_whole_call(server):
    """Attempts but the last give up after an eighth of the timeout (at least 1 s): the retry is answered."""
    server.answers = [(STALL, {}), (200, {"job": {"jobId": "J1"}})]
    client = step_client(server.url, timeout=3.0)
    started = time.monotonic()
    assert client.get_job_details("J1")["jobId"] == "J1"
    assert time.monotonic() - started < 3.0
    assert len(server.requests) == 2


def test_a_call_that_is_not_retried_gets_the_whole_timeout(server):
    server.answers = [(STALL, {"jobId": "J2"})]
    client = step_client(server.url, timeout=STALL + 1.5)
    assert client.call("runProcedure", "POST", "/jobs", body={}, idempotent=False) == {"jobId": "J2"}
    assert len(server.requests) == 1


def test_turning_tls_verification_off_is_explicit_and_warned(capsys, monkeypatch):
    from ec_resume import cli
    from ec_resume.procedures import step_io

    env = {"COMMANDER_SERVER": "cd", "COMMANDER_SECURE": "1", "EC_RESUME_TLS_VERIFY": "0"}
    assert not CommanderClient.from_environment(env).verify_tls
    connection = cli.Connection(url=None, verify_tls=True, timeout=5)
    cli.connect(connection, env)  # inside a job step: the agent's environment turns it off
    assert capsys.readouterr().err == cli.TLS_OFF_WARNING + "\n"
    monkeypatch.setattr(step_io.os, "environ", env)
    step_io.step_main("Step", lambda client, environ, out: 0, ())
    assert "TLS certificate is not verified" in capsys.readouterr().out
    cli.connect(cli.Connection(url=None, verify_tls=True, timeout=5), {"COMMANDER_SERVER": "cd"})
    assert capsys.readouterr().err == ""  # verified: nothing to say
