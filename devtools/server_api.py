"""The developer side's one client of a CD/RO server (the emulator or a real one): REST v1.0 and the XML API.

Used by `build.py install`, the demo and the tests; never by the plugin's own steps, which run on the
agent with the standard library only (lib/ec_resume/client.py). Every error answer of the server, on
either wire, becomes one `ApiError`; a connection that fails stays the `requests` exception it is.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

import requests

from commander_emulator.xml_codec import parse_responses, request_envelope

REST = "/rest/v1.0"
TIMEOUT = 120.0  # seconds per HTTP call; reached only when a server hangs
POLL = 0.05  # seconds between two getJobStatus calls


class ApiError(Exception):
    """An error answer of the server: its CD/RO error `code`, `message`, HTTP `status` and `details`.

    An answer without CD/RO's error object has code HTTP<status> (InvalidResponse when the status was a
    success) and the start of the body as its message. str() is one line.
    """

    def __init__(self, code: str, message: str, status: int, details: str = "") -> None:
        super().__init__(f"[{code}] {' '.join(str(message).split())} (HTTP {status})")
        self.code, self.message, self.status, self.details = code, message, status, details


class JobTimeout(Exception):
    """A job did not complete in the time allowed; str() is one line naming it."""


def as_list(value: Any) -> List[Any]:
    """A repeated element as a list: XML gives one dict for one element, JSON may too."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _gist(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit] + "..."


def not_cd_ro(response: requests.Response) -> ApiError:
    """The error of an answer that does not carry CD/RO's error object (a proxy's page, a 404 text)."""
    code = "InvalidResponse" if response.ok else f"HTTP{response.status_code}"
    return ApiError(code, _gist(response.text) or "an empty answer", response.status_code)


def answer_of(response: requests.Response) -> Dict[str, Any]:
    """The JSON object of a REST answer; ApiError for CD/RO's error body `{"error": {code, message,
    details}}` (whatever the HTTP status) and for an answer that is not a JSON object."""
    try:
        body = response.json() if response.content.strip() else {}
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code"):
        raise ApiError(str(error["code"]), str(error.get("message", "")), response.status_code,
                       str(error.get("details", "")))
    if response.ok and isinstance(body, dict) and error is None:
        return body
    raise not_cd_ro(response)


class ServerApi:
    """One user of one CD/RO server. Logs in (a session cookie) unless `basic_auth`, then sends
    user and password with every REST call instead."""

    def __init__(self, base_url: str, user: str, password: str, *, basic_auth: bool = False,
                 verify_tls: bool = True, timeout: float = TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.timeout = timeout
        self.http = requests.Session()
        self.http.verify = verify_tls
        self._ids = itertools.count(1)
        self.session_id = ""
        if basic_auth:
            self.http.auth = (user, password)
            return
        try:
            self.session_id = self.login(password)
        except BaseException:
            self.http.close()
            raise

    def __enter__(self) -> ServerApi:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # ---- REST

    def login(self, password: str) -> str:
        """POST /sessions; later calls carry the session id as the sessionId cookie."""
        answer = self.rest("POST", "sessions", json={"userName": self.user, "password": password})
        session_id = str(answer.get("sessionId") or "")
        if not session_id:
            raise ApiError("InvalidResponse", "the server answered without a sessionId", 200)
        if self.http.cookies.get("sessionId") != session_id:  # a server that sets no cookie of its own
            self.http.cookies.set("sessionId", session_id)
        return session_id

    def rest_url(self, path: str) -> str:
        return f"{self.base_url}{REST}/{path.lstrip('/')}"

    def rest(self, method: str, path: str, params: Optional[Dict[str, Any]] = None,
             json: Optional[Dict[str, Any]] = None, **kwargs: Any) -> Dict[str, Any]:
        """One REST call on a route below /rest/v1.0, e.g. rest("GET", "jobs/<id>"); ApiError on an error."""
        return self._request(method, self.rest_url(path), params=params, json=json, **kwargs)

    def call(self, name: str, **args: Any) -> Dict[str, Any]:
        """Any API by its name over REST (`POST /server?request=<name>`), arguments in the JSON body."""
        return self.rest("POST", "server", params={"request": name}, json=args)

    def control(self, method: str, what: str, json: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """The emulator-only control endpoint (/__emulator__/faults|requests|settings)."""
        return self._request(method, f"{self.base_url}/__emulator__/{what}", json=json)

    def _request(self, method: str, url: str, **kwargs: Any) -> Dict[str, Any]:
        kwargs.setdefault("timeout", self.timeout)
        return answer_of(self.http.request(method, url, **kwargs))

    # ---- the XML API

    def xml_batch(self, calls: Sequence[Tuple[str, Dict[str, Any]]], mode: Optional[str] = None,
                  session_id: Optional[str] = None) -> List[Tuple[str, Any]]:
        """Several calls in one envelope: ("response", value) or ("error", {code, message, details}) each.

        The envelope alone carries the session (no cookie is sent), so `session_id` decides who calls.
        """
        ids = [f"t{next(self._ids)}" for _ in calls]
        body = request_envelope([(i, name, args) for i, (name, args) in zip(ids, calls)],
                                session_id=session_id or self.session_id, mode=mode)
        response = requests.post(f"{self.base_url}/commanderRequest", data=body, verify=self.http.verify,
                                 headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=self.timeout)
        if response.status_code != 200:
            raise not_cd_ro(response)
        by_id = {rid: (kind, value) for rid, kind, value in parse_responses(response.content)}
        return [by_id[i] for i in ids]

    def xml(self, name: str, **args: Any) -> Dict[str, Any]:
        """One API call over the XML API; ApiError on an `<error>` answer."""
        kind, value = self.xml_batch([(name, args)])[0]
        if kind == "error":
            raise ApiError(value.get("code", ""), value.get("message", ""), 200, value.get("details", ""))
        return value

    # ---- jobs and properties

    def run_procedure(self, project: str, procedure: str, params: Optional[Dict[str, str]] = None,
                      credentials: Optional[List[Dict[str, str]]] = None) -> str:
        """Start a job (runProcedure); its id."""
        args: Dict[str, Any] = {
            "projectName": project,
            "procedureName": procedure,
            "actualParameter": [{"actualParameterName": k, "value": v} for k, v in (params or {}).items()],
        }
        if credentials:
            args["credential"] = credentials
        return self.rest("POST", "jobs", params={"request": "runProcedure"}, json=args)["jobId"]

    def wait_for_job(self, job_id: str, timeout: float = 60) -> Dict[str, Any]:
        """Poll getJobStatus until the job completes; its getJobDetails `job`. JobTimeout past `timeout` s."""
        route = f"jobs/{quote(job_id, safe='')}"
        deadline = time.monotonic() + timeout
        while True:
            status = self.rest("GET", route, params={"request": "getJobStatus"}).get("status")
            if status == "completed":
                return self.rest("GET", route)["job"]
            if time.monotonic() > deadline:
                raise JobTimeout(f"job {job_id} did not complete within {timeout:g} s (still {status})")
            time.sleep(POLL)

    def run_and_wait(self, project: str, procedure: str, params: Optional[Dict[str, str]] = None,
                     timeout: float = 60, credentials: Optional[List[Dict[str, str]]] = None
                     ) -> Dict[str, Any]:
        return self.wait_for_job(self.run_procedure(project, procedure, params, credentials), timeout)

    def get_property(self, path: str) -> Optional[str]:
        """The (expanded) value of the property at `path`, or None when there is none."""
        try:
            return str(self.call("getProperty", propertyName=path)["property"].get("value", ""))
        except ApiError as exc:
            if exc.code == "NoSuchProperty":
                return None
            raise
