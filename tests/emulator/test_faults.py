"""Fault injection, the request log and the settings, through the emulator-only control endpoint."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import pytest
import requests
from conftest import ApiError, ServerApi, as_list, make_procedure, unique

from commander_emulator.faults import Faults, RequestLog
from commander_emulator.handlers import HANDLERS
from tests.emulator.in_process import in_process  # noqa: F401 (a fixture)

pytestmark = pytest.mark.emulator_only


def inject(client: ServerApi, **fault: Any) -> Dict[str, Any]:
    return client.control("POST", "faults", json=fault)["fault"]


def log_entries(api: ServerApi) -> List[Dict[str, str]]:
    return api.control("GET", "requests")["request"]


def test_an_injected_error_fails_the_next_calls_then_clears(api: ServerApi) -> None:
    inject(api, api="getServerStatus", errorCode="ServerNotReady", count=2)
    for call in (api.call, api.xml):
        with pytest.raises(ApiError) as info:
            call("getServerStatus")
        assert info.value.code == "ServerNotReady"
    assert api.call("getServerStatus")["serverStatus"]["serverState"] == "running"


def test_rest_maps_an_injected_error_to_its_http_status(api: ServerApi) -> None:
    inject(api, api="getServerStatus", errorCode="ServerNotReady")
    response = api.http.get(api.rest_url("server/status"))
    assert response.status_code == 503 and response.json()["error"]["code"] == "ServerNotReady"


def test_a_fault_for_one_api_leaves_the_others_alone(api: ServerApi) -> None:
    inject(api, api="getJobs", errorCode="InternalError")
    assert api.call("getServerStatus")["serverStatus"]["serverState"] == "running"
    assert len(api.control("GET", "faults")["fault"]) == 1
    api.control("DELETE", "faults")
    assert api.control("GET", "faults")["fault"] == []
    api.call("getJobs")


def test_latency_shows_in_the_order_calls_finish(api: ServerApi) -> None:
    api.control("DELETE", "requests")
    inject(api, api="getServerStatus", latency=1.5)
    slow = threading.Thread(target=api.xml, args=("getServerStatus",))
    slow.start()
    # Wait until the slow call has taken its fault (it is then sleeping inside the server).
    deadline = time.monotonic() + 10
    while api.control("GET", "faults")["fault"] and time.monotonic() < deadline:
        time.sleep(0.01)
    project = unique("fast")
    api.call("createProject", projectName=project)
    slow.join()
    order = [e["api"] for e in log_entries(api) if e["api"] in ("getServerStatus", "createProject")]
    assert order == ["createProject", "getServerStatus"]


def test_a_dropped_connection_is_a_connection_error(api: ServerApi) -> None:
    inject(api, api="getServerStatus", drop=True)
    with pytest.raises(requests.ConnectionError):
        api.http.get(api.rest_url("server/status"))
    inject(api, api="getServerStatus", drop=True)
    with pytest.raises(requests.ConnectionError):
        api.xml("getServerStatus")
    assert api.call("getServerStatus")["serverStatus"]["serverState"] == "running"


def test_drop_after_runs_the_call_then_loses_its_reply(api: ServerApi) -> None:
    project, procedure = make_procedure(api.call, {"only": {"command": "true"}})
    inject(api, api="runProcedure", dropAfter=True, count=3)
    for _ in range(3):
        with pytest.raises(requests.ConnectionError):
            api.run_procedure(project, procedure)
    started = api.call("getJobs", projectName=project, procedureName=procedure)["job"]
    assert len(started) == 3  # the server acted each time although no caller heard of it
    assert api.run_procedure(project, procedure)  # armed three times: the fourth call answers
    with pytest.raises(ApiError):
        inject(api, api="runProcedure", dropAfter=True, drop=True)


def test_a_hundred_lost_replies_start_a_hundred_jobs_and_every_caller_sees_the_drop(api: ServerApi) -> None:
    project, procedure = make_procedure(api.call, {"only": {"command": "true"}})
    inject(api, api="runProcedure", dropAfter=True, count=100)
    dropped = 0
    for _ in range(100):
        try:
            api.run_procedure(project, procedure)
        except requests.ConnectionError:
            dropped += 1
    assert dropped == 100
    started = as_list(api.call("getJobs", projectName=project, procedureName=procedure).get("job"))
    assert len(started) == 100 and len({j["jobId"] for j in started}) == 100
    assert api.control("GET", "faults")["fault"] == []


def test_the_request_log_counts_calls_per_api_and_wire(api: ServerApi) -> None:
    api.control("DELETE", "requests")
    api.call("getServerStatus")
    api.xml("getServerStatus")
    with pytest.raises(ApiError):
        api.call("getProject", projectName=unique("missing"))
    log = api.control("GET", "requests")
    assert [(e["api"], e["wire"]) for e in log["request"]] == [
        ("getServerStatus", "rest"),
        ("getServerStatus", "xml"),
        ("getProject", "rest"),
    ]
    assert log["count"] == {"getServerStatus": "2", "getProject": "1"}


def test_internal_errors_hide_the_traceback(in_process: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    def explode(call: Any, args: Any) -> Dict[str, Any]:
        raise KeyError("secret-detail-from-/srv/emulator/handler.py")

    monkeypatch.setitem(HANDLERS, "explodeForTest", explode)  # the handler table of this process's emulator
    api = ServerApi(in_process.url, in_process.admin_user, in_process.admin_password)
    response = api.http.post(api.rest_url("server"), params={"request": "explodeForTest"}, json={})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "InternalError" and "explodeForTest" in error["message"]
    for text in (response.text, str(api.xml_batch([("explodeForTest", {})]))):
        assert "Traceback" not in text and "secret-detail" not in text and "handler.py" not in text


@pytest.mark.parametrize(
    "fault, expected",
    [
        ({"api": "", "errorCode": "X"}, "'api'"),
        ({"api": "getJobs", "count": 0}, "'count'"),
        ({"api": "getJobs", "latency": "soon"}, "'latency'"),
        ({"api": "getJobs", "drop": True, "errorCode": "X"}, "'drop'"),
    ],
)
def test_a_bad_fault_is_refused_with_one_line_naming_the_field(
    api: ServerApi, fault: Dict[str, Any], expected: str
) -> None:
    with pytest.raises(ApiError) as info:
        inject(api, **fault)
    assert info.value.status == 400 and expected in info.value.message and "\n" not in info.value.message


def test_settings_read_and_write(api: ServerApi) -> None:
    settings = api.control("GET", "settings")
    assert settings["unreachedOutcome"] in ("skipped", "notRun") and settings["serverPort"] != "0"
    original = settings["unreachedOutcome"]
    try:
        assert (
            api.control("PUT", "settings", json={"unreachedOutcome": "notRun"})["unreachedOutcome"]
            == "notRun"
        )
        with pytest.raises(ApiError) as info:
            api.control("PUT", "settings", json={"unreachedOutcome": "maybe"})
        assert "unreachedOutcome" in info.value.message
    finally:
        api.control("PUT", "settings", json={"unreachedOutcome": original})


def test_faults_fire_in_order_and_count_down() -> None:
    faults = Faults()
    faults.inject("a", error_code="First", count=2)
    faults.inject("a", error_code="Second")
    fired = [faults.take("a") for _ in range(4)]
    assert [f.error_code if f else None for f in fired] == ["First", "First", "Second", None]


def test_request_log_is_thread_safe() -> None:
    log = RequestLog()
    threads = [
        threading.Thread(target=lambda: [log.record("x", "rest") for _ in range(500)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.count("x") == 2000 and len(log.entries()) == 2000
    log.clear()
    assert log.count("x") == 0


# ------------------------------------------------------------------------------------------- chaos


def test_chaos_fails_idempotent_calls_at_its_rate_from_a_seed_and_spares_the_others(api: ServerApi) -> None:
    """A seeded run is reproducible; runProcedure (not idempotent) is never touched by default."""
    project, procedure = make_procedure(api.call, {"noop": {"command": "true"}}, prefix="Chaos")

    def outcomes() -> List[str]:
        seen = []
        for _ in range(40):
            try:
                api.call("getServerStatus")
                seen.append("ok")
            except ApiError as exc:
                seen.append(exc.code)
            except requests.ConnectionError:
                seen.append("drop")
        return seen

    try:
        settings = api.control("PUT", "chaos", json={"rate": 0.5, "seed": 7})["chaos"]
        assert settings["rate"] == "0.5" and settings["errorCode"] == "ServerNotReady"
        first = outcomes()
        api.control("PUT", "chaos", json={"rate": 0.5, "seed": 7})
        assert outcomes() == first  # the same seed, the same faults
        assert {"ok", "ServerNotReady", "drop"} <= set(first)
        for _ in range(10):
            api.call("runProcedure", projectName=project, procedureName=procedure)
        fired = api.control("GET", "chaos")["chaos"]["fired"]
        assert sum(int(n) for n in fired.values()) == 40  # runProcedure drew no dice
    finally:
        api.control("DELETE", "chaos")
    assert api.control("GET", "chaos")["chaos"] == {}
    assert outcomes() == ["ok"] * 40


def test_chaos_stalls_a_call_then_runs_it_and_an_armed_fault_wins(api: ServerApi) -> None:
    try:
        api.control("PUT", "chaos", json={"stallRate": 1, "stall": 0.2, "apis": ["getServerStatus"]})
        inject(api, api="getServerStatus", errorCode="InternalError")
        with pytest.raises(ApiError) as info:
            api.call("getServerStatus")
        assert info.value.code == "InternalError"
        api.call("getServerStatus")
        assert api.control("GET", "chaos")["chaos"]["fired"] == {"stall": "1"}
    finally:
        api.control("DELETE", "faults")  # clears chaos too
    assert api.control("GET", "chaos")["chaos"] == {}


@pytest.mark.parametrize("body, field", [({"rate": 2}, "rate"), ({"rate": 0.6, "stallRate": 0.6}, "rate"),
                                         ({"stall": -1}, "stall"), ({"apis": "getProperty"}, "apis"),
                                         ({"rat": 0.1}, "rat"), ({"seed": "x"}, "seed")])
def test_a_bad_chaos_is_refused_naming_the_field(api: ServerApi, body: Dict[str, Any], field: str) -> None:
    response = api.http.put(api.base_url + "/__emulator__/chaos", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["message"]
    assert api.control("GET", "chaos")["chaos"] == {}


def test_chaos_draws_once_for_a_whole_xml_batch(api: ServerApi) -> None:
    """A proxy or an overloaded server fails a request as a whole, not one call inside it."""
    try:
        api.control("PUT", "chaos", json={"rate": 1, "seed": 3})
        outcomes = []
        for _ in range(6):
            try:
                api.xml_batch([("getServerStatus", {}), ("getServerStatus", {}), ("getServerStatus", {})])
                outcomes.append("ok")
            except ApiError as exc:
                outcomes.append(exc.code)
            except requests.ConnectionError:
                outcomes.append("drop")
        assert "ok" not in outcomes and set(outcomes) == {"HTTP503", "drop"}  # the envelope as a whole
        assert sum(int(n) for n in api.control("GET", "chaos")["chaos"]["fired"].values()) == 6
    finally:
        api.control("DELETE", "chaos")
