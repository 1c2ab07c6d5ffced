"""The emulator's HTTP server: REST, the XML API, the UI links, and a control endpoint for tests.

URLs:
- `/rest/v1.0/...`                      REST v1.0 (wire_rest)
- `POST /commanderRequest`              the XML API (wire_xml)
- `GET /commander/runProcedure.php?...`, `GET /commander/link/runProcedure/projects/<p>/procedures/<q>?...`
                                        the UI's run links (see ui.py): with runNow=1 they run the procedure
                                        as the session user (cookie or Basic) and redirect (302) to the job's
                                        page; without it they show the filled-in run form, which POSTs the
                                        runNow form to runProcedure.php
- `GET /commander/link/jobDetails/jobs/<jobId>`  a tiny HTML page naming the job
- `/__emulator__/...`                   emulator-only control for tests; not part of CD/RO:
    `GET|POST|DELETE /__emulator__/faults`   list / inject / clear faults. POST body (JSON):
        {"api": "getProperty", "errorCode": "ServerNotReady", "latency": 0.5, "drop": false, "count": 1}
        ("dropAfter": true runs the call, then drops the reply)
    `GET|PUT|DELETE /__emulator__/chaos`     random faults from a seed on the idempotent APIs (or "apis"):
        {"rate": 0.2, "stallRate": 0.05, "stall": 3, "seed": 1, "errorCode": "ServerNotReady",
        "stepsOnly": true (only calls with a job step's session), "drop": false (errors only)}; GET shows
        it with the count of what fired; DELETE (or DELETE /faults) stops it
    `GET|DELETE /__emulator__/requests`      the request log {"request": [{"api", "wire"}], "count": {api: n}}
                                             in the order calls finished / clear it
    `GET|PUT /__emulator__/settings`         {"unreachedOutcome": "skipped"|"notRun",
                                              "topLevelParent": "job"|"none"|"rootStep", "defaultShell": ...,
                                              "stripIndent": "java"|"groovy"}
    `GET /__emulator__/jobs?projectName=P`  what the model holds of each job and no API shows: its session
                                             id, its workspace and each step's log file
                                             {"job": [{"jobId", "jobName", "projectName", "sessionId",
                                             "workspace", "jobStep": [{"jobStepId", "stepName", "logPath"}]}]}
  The control endpoint needs no session: it exists only on the emulator, which listens on loopback.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .dispatch import Dispatcher
from .dsl_strings import STRIP_INDENT_MODES
from .engine import Engine
from .errors import CommanderError, invalid
from .faults import Chaos, DroppedConnection, Faults, RequestLog
from .model import TOP_LEVEL_PARENTS, UNREACHED_OUTCOMES, Store
from .schema import parse_bool
from .ui import UI_JOB, is_run_link, job_page, read_run_link, run_form_page
from .wire_rest import error_response, handle_rest, json_response
from .wire_xml import handle_xml

log = logging.getLogger("commander_emulator")

CONTROL = "/__emulator__/"


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: tests make thousands of them."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass


def _drop_connection(environ: Dict[str, Any]) -> None:
    """Close the client's socket without an answer (an injected `drop` fault)."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    # werkzeug treats a ConnectionError from the app as a connection the client dropped: no 500 is written.
    raise ConnectionAbortedError("connection dropped by an injected fault")


def _text(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


class Emulator:
    """An embedded CD/RO server on 127.0.0.1. `start()` returns its base URL."""

    def __init__(self, workspace_root: Optional[str] = None, admin_user: str = "admin",
                 admin_password: str = "changeme") -> None:
        self._own_workspace = workspace_root is None
        self.workspace_root = workspace_root or tempfile.mkdtemp(prefix="commander-emulator-")
        os.makedirs(self.workspace_root, exist_ok=True)
        self.admin_user, self.admin_password = admin_user, admin_password
        self.store = Store(self.workspace_root)
        self.store.add_user(admin_user, admin_password, "Administrator")
        self.engine = Engine(self.store)
        self.faults = Faults()
        self.request_log = RequestLog()
        self.dispatcher = Dispatcher(self.store, self.engine, self.faults, self.request_log,
                                     os.path.join(self.workspace_root, "plugins"))
        self._server: Optional[BaseWSGIServer] = None
        self._thread: Optional[threading.Thread] = None
        self.url = ""

    # ---- lifecycle

    def start(self, port: int = 0) -> str:
        if self._server is not None:
            return self.url
        self._server = make_server("127.0.0.1", port, self.wsgi_app, threaded=True,
                                   request_handler=_QuietHandler)
        self._server.daemon_threads = True  # a hung step callback must not keep the process alive
        self.store.settings.server_host = "127.0.0.1"
        self.store.settings.server_port = self._server.port
        self.url = f"http://127.0.0.1:{self._server.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="commander-emulator",
                                        daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None
        if self._own_workspace:
            shutil.rmtree(self.workspace_root, ignore_errors=True)

    def admin_session_id(self) -> str:
        """A session for in-process callers (serve_forever's plugin install)."""
        return self.store.new_session(self.admin_user).id

    # ---- WSGI

    def wsgi_app(self, environ: Dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._route(request)
        except DroppedConnection:
            _drop_connection(environ)
            raise  # unreachable: _drop_connection raises
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/rest/v1.0/") or path == "/rest/v1.0":
            return handle_rest(self.dispatcher, request)
        if path == "/commanderRequest":
            return handle_xml(self.dispatcher, request)
        if is_run_link(path):
            return self._ui_run(request)
        if path.startswith(UI_JOB):
            return self._ui_job_page(path[len(UI_JOB):])
        if path.startswith(CONTROL):
            return self._control(request, path[len(CONTROL):])
        return _text(f"No such page: {path}", 404)

    # ---- the UI

    def _ui_run(self, request: Request) -> Response:
        session = self.dispatcher.authenticator.session_for(request)
        if session is None:
            response = _text("Run link: log in first (session cookie or Basic auth)", 401)
            response.headers["WWW-Authenticate"] = 'Basic realm="CloudBees CD"'
            return response
        query = {key: request.values[key] for key in request.values.keys()}
        raw_path = (request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
                    or request.full_path).split("?", 1)[0]
        try:
            link = read_run_link(raw_path, query)
        except ValueError as exc:
            return _text(f"Run link: {exc}", 400)
        try:
            if not link.run_now:
                names = {"projectName": link.project_name, "procedureName": link.procedure_name}
                formal = self.dispatcher.call("getFormalParameters", names, session, wire="ui")
                page = run_form_page(link, formal["formalParameter"])
                return Response(page, content_type="text/html; charset=utf-8")
            result = self.dispatcher.call("runProcedure", link.run_procedure_arguments(), session, wire="ui")
        except CommanderError as exc:
            return _text(f"Run link: [{exc.code}]: {exc.message}", exc.http_status)
        response = Response("", status=302)
        response.headers["Location"] = UI_JOB + quote(result["jobId"], safe="")
        return response

    def _ui_job_page(self, job_id: str) -> Response:
        # [U] the real page needs a login; this one is public so a redirect followed without cookies renders
        with self.store.lock:
            try:
                job = self.store.job(job_id)
            except CommanderError as exc:
                return _text(exc.message, 404)
            page = job_page(job_id, job.name, job.status, job.outcome or "")
        return Response(page, content_type="text/html; charset=utf-8")

    # ---- the control endpoint

    def _control(self, request: Request, what: str) -> Response:
        try:
            return self._control_inner(request, what.strip("/"))
        except CommanderError as exc:
            return error_response(exc)

    def _control_inner(self, request: Request, what: str) -> Response:
        method = request.method
        if what == "faults":
            if method == "POST":
                body = _json_body(request)
                fault = self.faults.inject(
                    str(body.get("api", "")), error_code=body.get("errorCode") or None,
                    latency=_number(body, "latency", 0.0), drop=parse_bool(body.get("drop", False), "drop"),
                    count=int(_number(body, "count", 1)),
                    drop_after=parse_bool(body.get("dropAfter", False), "dropAfter"))
                return json_response({"fault": fault.as_dict()})
            if method == "DELETE":
                self.faults.clear()
                return json_response({})
            return json_response({"fault": [f.as_dict() for f in self.faults.pending()]})
        if what == "chaos":
            if method == "PUT":
                self.faults.set_chaos(_chaos(_json_body(request)))
            elif method == "DELETE":
                self.faults.set_chaos(None)
            return json_response({"chaos": self.faults.chaos() or {}})
        if what == "requests":
            if method == "DELETE":
                self.request_log.clear()
                return json_response({})
            return json_response({"request": [{"api": a, "wire": w} for a, w in self.request_log.entries()],
                                  "count": {k: str(v) for k, v in self.request_log.counts().items()},
                                  "exchange": [e.as_dict() for e in self.request_log.exchanges()]})
        if what == "settings":
            if method == "PUT":
                self._put_settings(_json_body(request))
            settings = self.store.settings
            return json_response({"unreachedOutcome": settings.unreached_outcome,
                                  "topLevelParent": settings.top_level_parent,
                                  "defaultShell": settings.default_shell,
                                  "stripIndent": settings.strip_indent,
                                  "serverHost": settings.server_host,
                                  "serverPort": str(settings.server_port)})
        if what == "jobs" and method == "GET":
            return json_response({"job": self._job_internals(request.args.get("projectName"))})
        return _text(f"No such control: {CONTROL}{what} (expected faults, chaos, requests, settings or jobs)",
                     404)

    def _job_internals(self, project: Optional[str]) -> List[Dict[str, Any]]:
        with self.store.lock:
            jobs = [job for job in self.store.jobs.values() if project is None or job.project_name == project]
            return [{"jobId": job.id, "jobName": job.name, "projectName": job.project_name,
                     "sessionId": job.session_id or "", "workspace": job.workspace or "",
                     "jobStep": [{"jobStepId": js.id, "stepName": js.step_name, "logPath": js.log_path or ""}
                                 for js in job.walk()]}
                    for job in jobs]

    def _put_settings(self, body: Dict[str, Any]) -> None:
        """Check every given setting first, then apply them all, so a bad one changes nothing."""
        unknown = set(body) - set(_SETTINGS)
        if unknown:
            raise invalid(sorted(unknown)[0], "one of " + ", ".join(_SETTINGS))
        for name, choices in _SETTINGS.items():
            value = body.get(name)
            if value is not None and choices and value not in choices:
                raise invalid(name, f"{' or '.join(choices)} (got '{value}')")
        with self.store.lock:
            settings = self.store.settings
            if body.get("unreachedOutcome") is not None:
                settings.unreached_outcome = body["unreachedOutcome"]
            if body.get("topLevelParent") is not None:
                settings.top_level_parent = body["topLevelParent"]
            if body.get("defaultShell"):
                settings.default_shell = str(body["defaultShell"])
            if body.get("stripIndent") is not None:
                settings.strip_indent = body["stripIndent"]


# The settings PUT accepts, with their allowed values (empty: any text).
_SETTINGS: Dict[str, Tuple[str, ...]] = {
    "unreachedOutcome": UNREACHED_OUTCOMES,
    "topLevelParent": TOP_LEVEL_PARENTS,
    "defaultShell": (),
    "stripIndent": STRIP_INDENT_MODES,
}


def _json_body(request: Request) -> Dict[str, Any]:
    raw = request.get_data()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise CommanderError("InvalidArgument", f"Request body: expected a JSON object ({exc})") from None
    if not isinstance(body, dict):
        raise CommanderError("InvalidArgument", "Request body: expected a JSON object")
    return body


def _chaos(body: Dict[str, Any]) -> Chaos:
    known = {"rate", "stallRate", "stall", "seed", "apis", "errorCode", "stepsOnly", "drop"}
    unknown = set(body) - known
    if unknown:
        raise invalid(sorted(unknown)[0], "one of " + ", ".join(sorted(known)))
    apis = body.get("apis")
    if apis is not None and not (isinstance(apis, list) and all(isinstance(a, str) and a for a in apis)):
        raise invalid("apis", "a list of API names, e.g. [\"getProperty\"]")
    return Chaos(rate=_number(body, "rate", 0.0), stall_rate=_number(body, "stallRate", 0.0),
                 stall=_number(body, "stall", 0.0), seed=int(_number(body, "seed", 0)),
                 apis=frozenset(apis) if apis is not None else None,
                 error_code=str(body.get("errorCode") or "ServerNotReady"),
                 steps_only=parse_bool(body.get("stepsOnly", False), "stepsOnly"),
                 drops=parse_bool(body.get("drop", True), "drop"))


def _number(body: Dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise invalid(name, f"a number (got '{value}')") from None


def serve_forever(port: int = 0, plugin_jar: Optional[Any] = None) -> int:
    """`python -m commander_emulator`: run the emulator until Ctrl-C, with a plugin jar installed if given.

    (`python3 build.py serve` adds the EC-Resume sample procedure: devtools/demo.py.)
    """
    emulator = Emulator()
    url = emulator.start(port)
    if plugin_jar is not None:
        session = emulator.store.sessions[emulator.admin_session_id()]
        try:
            with open(plugin_jar, "rb") as fh:
                jar = fh.read()
            installed = emulator.dispatcher.call("installPlugin", {"file": jar}, session)
            name = installed["plugin"]["pluginName"]
            emulator.dispatcher.call("promotePlugin", {"pluginName": name}, session)
            print(f"Installed and promoted {name}", flush=True)
        except (OSError, CommanderError) as exc:
            emulator.stop()
            print(f"serve: cannot install the plugin {plugin_jar}: {exc}", flush=True)
            return 1
    print(f"CloudBees CD/RO emulator at {url}", flush=True)
    print(f"  REST: {url}/rest/v1.0   XML API: {url}/commanderRequest", flush=True)
    print(f"  user: {emulator.admin_user}   password: {emulator.admin_password}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        wait_until_interrupted(lambda text: print(text, flush=True))
    finally:
        emulator.stop()
    return 0


def wait_until_interrupted(out: Callable[[str], None]) -> None:
    """Block until Ctrl-C or SIGTERM (`kill`, a test's terminate()), then say so; the caller cleans up."""
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out("stopping")
