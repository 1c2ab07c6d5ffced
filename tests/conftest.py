"""Shared fixtures of every end-to-end test: a CD/RO server on loopback and a small client for it.

- `emulator` (session scope): the embedded CD/RO emulator, started on a free port with a temporary
  workspace. Tests use it for its `url` and admin credentials; they reach it only over HTTP.
- `api` (function scope): a `CommanderClient` logged in as the admin user.

Tests that need what only the emulator gives (fault injection, its request log, its settings) carry
`@pytest.mark.emulator_only` and use the `/__emulator__/...` control endpoint through `api.control`.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
import requests

from commander_emulator.wire_xml import parse_responses, request_envelope


class ApiError(Exception):
    """An error answer of the server: its CD/RO error code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int, details: str = "") -> None:
        super().__init__(f"[{code}]: {message} (HTTP {status})")
        self.code, self.message, self.status, self.details = code, message, status, details


def as_list(value: Any) -> List[Any]:
    """A repeated element as a list: XML gives one dict for one element, JSON may too."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class CommanderClient:
    """A tiny client of one CD/RO server: REST v1.0 and the XML API, as one user."""

    def __init__(self, base_url: str, user: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.user, self.password = user, password
        self.http = requests.Session()
        self._ids = itertools.count(1)
        self.session_id = self.login()

    # ---- REST

    def login(self) -> str:
        response = self.http.post(
            self.rest_url("sessions"), json={"userName": self.user, "password": self.password}
        )
        return self._json(response)["sessionId"]

    def rest_url(self, path: str) -> str:
        return f"{self.base_url}/rest/v1.0/{path.lstrip('/')}"

    def rest(
        self,
        method: str,
        path: str,
        params: Optional[Dict[str, Any]] = None,
        json: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> Dict[str, Any]:
        """One REST call on a resource route, e.g. rest("GET", "jobs/<id>"); ApiError on an error answer."""
        return self._json(self.http.request(method, self.rest_url(path), params=params, json=json, **kwargs))

    def call(self, name: str, **args: Any) -> Dict[str, Any]:
        """Any API over REST with `?request=<name>`, arguments in the JSON body."""
        return self.rest("POST", "server", params={"request": name}, json=args)

    @staticmethod
    def _json(response: requests.Response) -> Dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or "error" in body:
            err = body.get("error", {}) if isinstance(body, dict) else {}
            raise ApiError(
                err.get("code", f"HTTP{response.status_code}"),
                err.get("message", response.text),
                response.status_code,
                err.get("details", ""),
            )
        return body

    # ---- XML API

    def xml_batch(
        self,
        calls: Sequence[Tuple[str, Dict[str, Any]]],
        mode: Optional[str] = None,
        session_id: Optional[str] = None,
    ) -> List[Tuple[str, Any]]:
        """Several calls in one envelope: ("response", value) or ("error", {code, message, details}) each."""
        ids = [f"t{next(self._ids)}" for _ in calls]
        body = request_envelope(
            [(i, name, args) for i, (name, args) in zip(ids, calls)],
            session_id=session_id or self.session_id,
            mode=mode,
        )
        response = requests.post(
            f"{self.base_url}/commanderRequest",
            data=body,
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        if response.status_code != 200:
            raise ApiError(f"HTTP{response.status_code}", response.text, response.status_code)
        by_id = {rid: (kind, value) for rid, kind, value in parse_responses(response.content)}
        return [by_id[i] for i in ids]

    def xml(self, name: str, **args: Any) -> Dict[str, Any]:
        """One API call over the XML API; ApiError on an `<error>` answer."""
        kind, value = self.xml_batch([(name, args)])[0]
        if kind == "error":
            raise ApiError(value.get("code", ""), value.get("message", ""), 200, value.get("details", ""))
        return value

    # ---- helpers for tests

    def run_procedure(
        self,
        project: str,
        procedure: str,
        params: Optional[Dict[str, str]] = None,
        credentials: Optional[List[Dict[str, str]]] = None,
    ) -> str:
        args: Dict[str, Any] = {
            "projectName": project,
            "procedureName": procedure,
            "actualParameter": [{"actualParameterName": k, "value": v} for k, v in (params or {}).items()],
        }
        if credentials:
            args["credential"] = credentials
        return self.rest("POST", "jobs", params={"request": "runProcedure"}, json=args)["jobId"]

    def wait_for_job(self, job_id: str, timeout: float = 60) -> Dict[str, Any]:
        """Poll getJobStatus every 0.05 s until the job completes; its getJobDetails `job`."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.rest("GET", f"jobs/{job_id}", params={"request": "getJobStatus"})
            if status["status"] == "completed":
                return self.rest("GET", f"jobs/{job_id}")["job"]
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {status['status']} after {timeout} s")
            time.sleep(0.05)

    def run_and_wait(
        self,
        project: str,
        procedure: str,
        params: Optional[Dict[str, str]] = None,
        timeout: float = 60,
        credentials: Optional[List[Dict[str, str]]] = None,
    ) -> Dict[str, Any]:
        return self.wait_for_job(self.run_procedure(project, procedure, params, credentials), timeout)

    def control(self, method: str, what: str, json: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The emulator-only control endpoint (/__emulator__/faults|requests|settings)."""
        return self._json(self.http.request(method, f"{self.base_url}/__emulator__/{what}", json=json))


def find_step(job: Dict[str, Any], *names: str) -> Dict[str, Any]:
    """The job step at a path of step names, descending through subprocedure calls."""
    steps = as_list(job.get("jobStep"))
    step: Dict[str, Any] = {}
    for depth, name in enumerate(names):
        matches = [s for s in steps if s.get("stepName") == name]
        if not matches:
            raise AssertionError(
                f"no job step {'/'.join(names[: depth + 1])}; have {[s.get('stepName') for s in steps]}"
            )
        step = matches[0]
        steps = as_list(step.get("calledProcedure", {}).get("jobStep"))
    return step


_names = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test uses: the server is shared by a whole test session."""
    return f"{prefix}-{next(_names)}-{int(time.time() * 1000) % 100000}"


def make_procedure(call: Callable[..., Dict[str, Any]], steps: Dict[str, Dict[str, Any]],
                   params: Sequence[str] = (), prefix: str = "proj") -> Tuple[str, str]:
    """A new project with procedure "Main": `params` as formal parameters, `steps` (name -> createStep
    fields) in order. `call(api_name, **args)` is any wire's call function."""
    project, procedure = unique(prefix), "Main"
    call("createProject", projectName=project)
    call("createProcedure", projectName=project, procedureName=procedure)
    for name in params:
        call("createFormalParameter", projectName=project, procedureName=procedure, formalParameterName=name)
    for name, fields in steps.items():
        call("createStep", projectName=project, procedureName=procedure, stepName=name, **fields)
    return project, procedure


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from commander_emulator.server import Emulator

    server = Emulator(workspace_root=str(tmp_path_factory.mktemp("commander-emulator")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(emulator: Any) -> Iterator[CommanderClient]:
    client = CommanderClient(emulator.url, emulator.admin_user, emulator.admin_password)
    yield client
    client.http.close()
    emulator.faults.clear()  # a fault a failed test left armed must not leak into the next test


# ------------------------------------------------------------------------------ the EC-Resume plugin

RUN_CONDITION = "$[/plugins/EC-Resume/project/resume/runCondition]"


@pytest.fixture(scope="session")
def built_jar(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """out/EC-Resume.jar built from this checkout into a temporary folder, exactly as build.py builds it."""
    from pathlib import Path

    from devtools.package import build_jar

    root = Path(__file__).resolve().parent.parent
    return build_jar(root, tmp_path_factory.mktemp("jar"))


@pytest.fixture(scope="session")
def ec_resume(emulator: Any, built_jar: Any) -> str:
    """The built jar installed and promoted over REST, with plugin steps run by an isolated interpreter.

    `python -I -S` ignores site-packages and the environment, so a plugin step that needed anything
    beyond the standard library and the code that travels inside the plugin fails the test.
    """
    import sys

    client = CommanderClient(emulator.url, emulator.admin_user, emulator.admin_password)
    with open(built_jar, "rb") as jar:
        installed = client.rest("POST", "plugins", params={"request": "installPlugin"},
                                files={"file": ("EC-Resume.jar", jar, "application/java-archive")})
    name = installed["plugin"]["pluginName"]
    client.rest("POST", f"plugins/{name}", params={"request": "promotePlugin"})
    client.call("setProperty", propertyName="/plugins/EC-Resume/project/resume/pythonInterpreter",
                value=f"{sys.executable} -I -S")
    client.http.close()
    return name
