"""A small CloudBees CD/RO REST v1.0 (JSON) client on the standard library.

Inside a job step, `CommanderClient.from_environment()` reads the agent environment (COMMANDER_SERVER,
COMMANDER_HTTPS_PORT/COMMANDER_PORT, COMMANDER_SECURE, COMMANDER_SESSIONID, COMMANDER_JOBSTEPID) and adds
the step's ``jobStepId`` to property calls that name no other object, as CD/RO's own clients do.

Every call is bounded: `timeout` seconds in all (default 30), connecting, reading and every retry
included. Only idempotent calls are retried (GET, and setProperty's PUT), on no answer, HTTP 500, 502,
503, 504 and ``ServerNotReady``, with capped exponential back-off and jitter; never runProcedure. The
errors are those of `client_errors`; a call whose request went out but whose answer was lost raises
`ReplyLost`, so a caller can find out whether the server acted before it does anything again.
TLS is verified unless the caller turns it off. The session id is a secret: it never appears in an
exception, a repr or a log line.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse

from .client_errors import (
    AlreadyExists,
    CommanderApiError,
    NotFound,
    PropertyNotFound,
    RequestRefused,
    ServerUnreachable,
    refused,
)
from .http_exchange import exchange
from .rest_json import as_list

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

LOGGER = "ec_resume.client"

REST_PREFIX = "/rest/v1.0"
DEFAULT_TIMEOUT = 30.0  # seconds for one call in all, retries included; --timeout / COMMANDER_TIMEOUT
# A retried call's attempts but the last give up after timeout / ATTEMPT_SHARE (at least MIN_ATTEMPT_SECONDS).
ATTEMPT_SHARE, MIN_ATTEMPT_SECONDS = 8.0, 1.0
MAX_TIMEOUT = 3600.0
# Locator arguments name the object a property call is about; without one, a step's calls use the step.
LOCATORS = frozenset({"jobStepId", "jobId", "projectName", "procedureName", "stepName", "resourceName",
                      "workspaceName", "userName", "groupName", "scheduleName", "path", "pluginName",
                      "credentialName", "flowRuntimeId", "applicationName", "environmentName"})
# Below the server root, these mean the user gave a page or API address instead of the server's.
NOT_SERVER_ROOTS = frozenset({"commander", "rest", "flow"})


def _log(level: str, message: str, *args: Any) -> None:
    """Through `logging` when the program uses it; a plugin step, which does not, never pays its import."""
    logging = sys.modules.get("logging")
    if logging is not None:
        getattr(logging.getLogger(LOGGER), level)(message, *args)


def _random() -> float:
    import random  # only when a call is retried

    return random.random()


def parse_timeout(text: Any, source: str) -> float:
    """Seconds above 0 and at most an hour; raises InvalidArgument naming `source`."""
    try:
        value = float(str(text).strip())
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_TIMEOUT:
        raise CommanderApiError("InvalidArgument", f"{source} '{text}': expected a number of seconds above 0 "
                                f"and at most {MAX_TIMEOUT:g}")
    return value


def server_root(url: str) -> str:
    """scheme://host[:port] of a server URL, checked; raises InvalidArgument with one line saying why.

    A trailing /rest/v1.0 is dropped; a URL below the server root (/commander, /rest, ...) is refused
    with the address to give instead. A host that is not ASCII (an IDN) must be given in its xn-- form.
    """
    text = url.strip()
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise CommanderApiError("InvalidArgument", f"server URL '{url}' is malformed ({exc}): expected "
                                "https://host[:port]") from None
    if parts.scheme not in ("http", "https"):
        raise CommanderApiError("InvalidArgument", f"server URL '{url}' must start with http:// or https://")
    host = parts.hostname or ""
    if not host:
        raise CommanderApiError("InvalidArgument", f"server URL '{url}' names no host: expected "
                                f"{parts.scheme}://host[:port]")
    if not host.isascii():
        try:
            ascii_form = host.encode("idna").decode("ascii")
            hint = f" (give {parts.scheme}://{ascii_form}{':' + str(port) if port else ''})"
        except UnicodeError:
            hint = ""
        raise CommanderApiError("InvalidArgument", f"server URL '{url}': host '{host}' is not ASCII; give "
                                f"its xn-- (IDNA) form{hint}")
    if parts.username or parts.password:
        raise CommanderApiError("InvalidArgument", f"server URL has a user name or password in it: give "
                                f"{parts.scheme}://host[:port] and the user with --user")
    if parts.query or parts.fragment:
        raise CommanderApiError("InvalidArgument", f"server URL '{url}' has a query or fragment: expected "
                                f"{parts.scheme}://host[:port]")
    # A path is kept as the prefix a reverse proxy may put the server under, up to a page or API part.
    segments = [seg for seg in parts.path.split("/") if seg]
    if segments[-2:] == REST_PREFIX.strip("/").split("/"):
        segments = segments[:-2]
    for k, seg in enumerate(segments):
        if seg in NOT_SERVER_ROOTS:
            root = f"{parts.scheme}://{parts.netloc}" + "".join("/" + s for s in segments[:k])
            raise CommanderApiError("InvalidArgument", f"server URL '{url}' points below the server root "
                                    f"(/{seg}): give {root} instead")
    return f"{parts.scheme}://{parts.netloc}" + "".join("/" + s for s in segments)


def _secure_from_env(env: Mapping[str, str]) -> bool:
    flag = env.get("COMMANDER_SECURE", "").strip()
    if flag:
        return flag not in ("0", "false", "False", "no")
    # [U] Agents normally set COMMANDER_SECURE; without it, a lone COMMANDER_PORT means plain HTTP.
    return not (env.get("COMMANDER_PORT") and not env.get("COMMANDER_HTTPS_PORT"))


def base_url_from_env(env: Mapping[str, str]) -> str:
    """http(s)://host:port of the server a job step reports to."""
    server = env.get("COMMANDER_SERVER", "").strip()
    if not server:
        raise CommanderApiError("InvalidEnvironment",
                                "COMMANDER_SERVER is not set: expected to run inside a CD/RO job step")
    secure = _secure_from_env(env)
    scheme = "https" if secure else "http"
    if "://" in server:
        return server.rstrip("/")
    # COMMANDER_SERVER may carry its own port ("host:8443"); an IPv6 literal has more than one colon.
    host, port = server.split(":", 1) if server.count(":") == 1 else (server, "")
    if not port:
        port = env.get("COMMANDER_HTTPS_PORT" if secure else "COMMANDER_PORT", "")
        port = port.strip() or ("8443" if secure else "8000")
    if not port.isdigit():
        raise CommanderApiError("InvalidEnvironment", f"COMMANDER_PORT/COMMANDER_HTTPS_PORT is '{port}': "
                                "expected a TCP port number")
    return f"{scheme}://{host}:{port}"


def _tls_verify_from_env(env: Mapping[str, str]) -> bool:
    # [U] Opt-out for servers with self-signed certificates; verification stays the default.
    return env.get("EC_RESUME_TLS_VERIFY", "1").strip() not in ("0", "false", "no")


class CommanderClient:
    """REST v1.0 client. Create with a base URL (``https://cd.example.com``) or `from_environment()`."""

    def __init__(self, base_url: str, session_id: Optional[str] = None, user: Optional[str] = None,
                 password: Optional[str] = None, verify_tls: bool = True, *,
                 job_step_id: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT, attempts: int = 10,
                 backoff: float = 0.1, backoff_cap: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = _random) -> None:
        self.base_url = server_root(base_url)
        self._session_id = session_id or None
        self.user = user
        self._password = password
        self.verify_tls = verify_tls
        self.job_step_id = job_step_id or None
        if not timeout > 0:
            raise CommanderApiError("InvalidArgument", f"timeout {timeout!r}: expected seconds > 0")
        self.timeout = float(timeout)  # the whole of one call: connecting, reading, and every retry
        self._clock = clock
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._jitter = jitter
        self._tls: Any = None  # made at the first https call: loading the CA certificates takes time

    @classmethod
    def from_environment(cls, env: Optional[Mapping[str, str]] = None, **kwargs: Any) -> CommanderClient:
        """The client of the job step this process runs in."""
        env = os.environ if env is None else env
        kwargs.setdefault("verify_tls", _tls_verify_from_env(env))
        return cls(base_url_from_env(env), session_id=env.get("COMMANDER_SESSIONID") or None,
                   job_step_id=env.get("COMMANDER_JOBSTEPID") or None, **kwargs)

    def __repr__(self) -> str:
        session = "set" if self._session_id else "none"
        return f"CommanderClient(base_url={self.base_url!r}, user={self.user!r}, session={session})"

    # ------------------------------------------------------------------------------------ transport

    def login(self, user: str, password: str) -> None:
        """Open a session (POST /sessions); later calls send it as the sessionId cookie."""
        result = self.call("login", "POST", "/sessions", body={"userName": user, "password": password})
        session_id = result.get("sessionId")
        if not session_id:
            raise CommanderApiError("InvalidResponse", "login answered without a sessionId")
        self._session_id = str(session_id)
        self.user = user
        self._password = None

    def call(self, api: str, http_method: str, path: str, params: Optional[Mapping[str, Any]] = None,
             body: Optional[Mapping[str, Any]] = None, *,
             idempotent: Optional[bool] = None) -> Dict[str, Any]:
        """One REST call. `path` is below /rest/v1.0 and already percent-encoded; returns the JSON object.

        Retried only when `idempotent` (default: GET only), on no answer, 500/502/503/504 and
        ServerNotReady, within the call's `timeout`.
        """
        method = http_method.upper()
        retry = (method == "GET") if idempotent is None else idempotent
        query = urllib.parse.urlencode({k: str(v) for k, v in (params or {}).items() if v is not None})
        url = self.base_url + REST_PREFIX + path + ("?" + query if query else "")
        data = json.dumps(body).encode("utf-8") if body is not None else None
        deadline = self._clock() + self.timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._send(api, method, url, data, self._attempt_deadline(retry, attempt, deadline))
            except CommanderApiError as exc:
                if self._retry_after(exc, retry, attempt, deadline, method, path):
                    continue
                tried = f"{attempt} attempts" if attempt > 1 else "once"
                if isinstance(exc, RequestRefused) and exc.transient:
                    # The server (or a gateway) kept failing: say which and what was tried, in one line.
                    raise refused(exc.code, self._scrub(
                        f"{api}: {self.base_url} kept failing: {exc.message} (tried {method} {REST_PREFIX}"
                        f"{path} {tried}, timeout {self.timeout:g} s)"), exc.http_status) from None
                if not isinstance(exc, ServerUnreachable):
                    raise
                # One line: the server, why, and what was tried (no query: it may hold names).
                raise type(exc)(self._scrub(
                    f"{api}: cannot reach {self.base_url}: {exc.message} (tried {method} {REST_PREFIX}{path} "
                    f"{tried}, timeout {self.timeout:g} s)")) from None

    def _attempt_deadline(self, retry: bool, attempt: int, deadline: float) -> float:
        """When one attempt gives up: a call that may be retried gives each attempt but the last an eighth
        of the call's timeout, so one answer that stalls cannot use up the time of the retries; a call that
        is not retried, and the last attempt, get all that is left."""
        if not retry or attempt >= self.attempts:
            return deadline
        return min(deadline, self._clock() + max(self.timeout / ATTEMPT_SHARE, MIN_ATTEMPT_SECONDS))

    def _retry_after(self, exc: CommanderApiError, retry: bool, attempt: int, deadline: float,
                     method: str, path: str) -> bool:
        """Sleep before the next attempt and say True, or say False when this error is the answer."""
        remaining = deadline - self._clock()
        if not (retry and exc.transient and attempt < self.attempts and remaining > 0):
            return False
        # Exponential, capped, with jitter so that many agents do not come back in step; never past
        # the deadline.
        step = min(self.backoff_cap, self.backoff * (2 ** (attempt - 1)))
        delay = min(step * (0.5 + 0.5 * self._jitter()), remaining)
        _log("info", "%s %s: %s; retry %d of %d in %.2fs", method, path, exc.code, attempt, self.attempts - 1,
                 delay)
        self._sleep(delay)
        return deadline - self._clock() > 0

    def _headers(self, has_body: bool) -> Dict[str, str]:
        headers = {"Accept": "application/json"}
        if has_body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if self._session_id:
            headers["Cookie"] = f"sessionId={self._session_id}"
        elif self.user and self._password is not None:
            import base64  # only for a user and password without a session

            token = base64.b64encode(f"{self.user}:{self._password}".encode()).decode("ascii")
            headers["Authorization"] = "Basic " + token
        return headers

    def _scrub(self, text: str) -> str:
        """Never let the session id or the password reach an exception or a log line."""
        for secret in (self._session_id, self._password):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _send(self, api: str, method: str, url: str, data: Optional[bytes],
              deadline: float) -> Dict[str, Any]:
        _log("debug", "%s %s (%s)", method, url, api)
        context = self._ssl if url.startswith("https:") else None
        answer = exchange(method, url, data, self._headers(data is not None), deadline=deadline,
                          clock=self._clock, context=context)
        status, raw = answer.status, answer.body
        if status >= 400:
            raise self._error_from(api, status, raw)
        if status == 204 or not raw.strip():
            return {}
        try:
            parsed = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise CommanderApiError("InvalidResponse", f"{api}: the server's answer is not JSON",
                                    status) from None
        if not isinstance(parsed, dict):
            raise CommanderApiError("InvalidResponse", f"{api}: the server's answer is not a JSON object",
                                    status)
        return parsed

    def _error_from(self, api: str, status: int, raw: bytes) -> RequestRefused:
        try:
            error = json.loads(raw.decode("utf-8")).get("error")
        except (UnicodeDecodeError, ValueError, AttributeError):
            error = None
        if isinstance(error, dict) and error.get("code"):
            message = self._scrub(str(error.get("message") or api))
            return refused(str(error["code"]), message, status)
        # [U] Gateways and proxies answer without CD/RO's error body; ectool calls that InternalFault.
        return refused("InternalFault", f"{api}: HTTP {status} without a CD/RO error body", status)

    def post_xml(self, api: str, envelope: bytes, *, idempotent: bool) -> bytes:
        """POST an XML API envelope to /commanderRequest (the wire of ectool and its batches); the
        reply's bytes. Retried like `call` when `idempotent`. The session goes as the cookie, as for REST.
        """
        url = self.base_url + "/commanderRequest"
        deadline = self._clock() + self.timeout
        attempt = 0
        while True:
            attempt += 1
            headers = {**self._headers(False), "Content-Type": "text/xml; charset=utf-8",
                       "Accept": "text/xml"}
            try:
                answer = exchange("POST", url, envelope, headers,
                                  deadline=self._attempt_deadline(idempotent, attempt, deadline),
                                  clock=self._clock, context=self._ssl if url.startswith("https:") else None)
                if answer.status >= 500:
                    raise refused("ServerNotReady" if answer.status == 503 else "InternalFault",
                                  f"{api}: HTTP {answer.status}", answer.status)
                if answer.status >= 400:
                    raise refused("InvalidSession" if answer.status == 401 else "InvalidRequest",
                                  f"{api}: HTTP {answer.status} from /commanderRequest", answer.status)
                return answer.body
            except CommanderApiError as exc:
                if self._retry_after(exc, idempotent, attempt, deadline, "POST", "/commanderRequest"):
                    continue
                if not isinstance(exc, ServerUnreachable):
                    raise
                tried = f"{attempt} attempts" if attempt > 1 else "once"
                # One line, as `call` gives it: the server, why, and what was tried.
                raise type(exc)(self._scrub(
                    f"{api}: cannot reach {self.base_url}: {exc.message} (tried POST /commanderRequest "
                    f"{tried}, timeout {self.timeout:g} s)")) from None

    @property
    def _ssl(self) -> Any:
        """The TLS context of https calls: verified unless verify_tls is off."""
        if self._tls is None:
            import ssl

            context = ssl.create_default_context()
            if not self.verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return self._tls

    @property
    def session_id(self) -> Optional[str]:
        """The session the calls send (a secret: never log it)."""
        return self._session_id

    # ------------------------------------------------------------------------------------- the API

    def _locator(self, locator: Mapping[str, Any]) -> Dict[str, Any]:
        found = {k: v for k, v in locator.items() if v is not None}
        if not (LOCATORS & found.keys()) and self.job_step_id:
            found["jobStepId"] = self.job_step_id
        return found

    @staticmethod
    def _property_path(path: str) -> str:
        if not path or not path.strip():
            raise CommanderApiError("InvalidArgument", "property path is empty: expected a name or /path")
        # [U] The path goes in as written, slashes kept (an absolute one gives "properties//myJob/..."), as
        # CloudBees' own EFClient.groovy sends it; an encoded slash (%2F) is refused by many web servers.
        return "/properties/" + urllib.parse.quote(path, safe="/")

    def get_property(self, path: str, expand: bool = True, **locator: Any) -> Optional[str]:
        """The property's value (expanded unless expand=False), or None when it does not exist."""
        params = self._locator(locator)
        if not expand:
            params["expand"] = "0"
        try:
            result = self.call("getProperty", "GET", self._property_path(path), params=params)
        except PropertyNotFound:
            return None
        prop = result.get("property")
        if not isinstance(prop, dict):
            raise CommanderApiError("InvalidResponse", f"getProperty {path}: answer has no property object")
        value = prop.get("value")
        return "" if value is None else str(value)

    def set_property(self, path: str, value: str, expandable: Optional[bool] = None, **locator: Any) -> None:
        """Create or overwrite; expandable=False keeps $[...] in the value from being expanded on reads."""
        body = dict(self._locator(locator))
        body["value"] = value
        if expandable is not None:
            body["expandable"] = "1" if expandable else "0"
        self.call("setProperty", "PUT", self._property_path(path), body=body, idempotent=True)

    def get_job_details(self, job_id: str) -> Dict[str, Any]:
        result = self.call("getJobDetails", "GET", "/jobs/" + _segment(job_id, "job id"))
        job = result.get("job")
        if not isinstance(job, dict):
            raise CommanderApiError("InvalidResponse", f"getJobDetails {job_id}: answer has no job object")
        return job

    def get_job_status(self, job_id: str) -> Dict[str, Any]:
        """{"jobId", "status", "outcome"} of a job."""
        result = self.call("getJobStatus", "GET", "/jobs/" + _segment(job_id, "job id"),
                           params={"request": "getJobStatus"})
        job = result.get("job")
        return job if isinstance(job, dict) else result

    def get_formal_parameters(self, project: str, procedure: str) -> List[Dict[str, Any]]:
        path = (f"/projects/{_segment(project, 'project name')}/procedures/"
                f"{_segment(procedure, 'procedure name')}/formalParameters")
        result = self.call("getFormalParameters", "GET", path)
        return [p for p in as_list(result.get("formalParameter")) if isinstance(p, dict)]

    def create_property(self, path: str, value: str, **locator: Any) -> bool:
        """Create the property; False when it exists already (the one atomic claim the API offers)."""
        body = dict(self._locator(locator))
        body["value"] = value
        try:
            # Not retried: after a lost reply the retry would find our own property and say False.
            self.call("createProperty", "POST", self._property_path(path), body=body, idempotent=False)
        except AlreadyExists:
            return False
        return True

    def delete_property(self, path: str, **locator: Any) -> bool:
        """Delete the property or sheet; False when there was none."""
        try:
            self.call("deleteProperty", "DELETE", self._property_path(path), params=self._locator(locator),
                      idempotent=True)
        except NotFound:
            return False
        return True

    def get_properties(self, path: str, expand: bool = False, **locator: Any) -> Dict[str, str]:
        """name -> value of the properties in the sheet at `path` (sheets in it left out); {} if none."""
        params = self._locator(locator)
        params["path"] = path
        params["expand"] = "1" if expand else "0"
        try:
            result = self.call("getProperties", "GET", "/properties", params=params)
        except NotFound:
            return {}
        sheet = result.get("propertySheet")
        entries = as_list(sheet.get("property")) if isinstance(sheet, dict) else []
        # A nested sheet has a propertySheetId and no value.
        return {str(p["propertyName"]): "" if p.get("value") is None else str(p["value"])
                for p in entries if isinstance(p, dict) and p.get("propertyName") and "value" in p}

    def get_jobs(self, project: str, procedure: str, max_results: Optional[int] = None
                 ) -> List[Dict[str, Any]]:
        """The jobs of one procedure, newest first, each with its actual parameters.

        [U] REST getJobs with projectName/procedureName filters, as the emulator takes them; a real
        server may want getJobs' `filter` form.
        """
        params: Dict[str, Any] = {"projectName": project, "procedureName": procedure}
        if max_results is not None:
            params["maxResults"] = max_results
        result = self.call("getJobs", "GET", "/jobs", params=params)
        return [j for j in as_list(result.get("job")) if isinstance(j, dict)]

    def credential_exists(self, project: str, credential: str) -> Optional[bool]:
        """Whether the project holds the stored credential; None when the server cannot say."""
        path = (f"/projects/{_segment(project, 'project name')}/credentials/"
                f"{_segment(credential, 'credential name')}")
        try:
            self.call("getCredential", "GET", path)
        except NotFound:
            return False
        except RequestRefused as exc:
            if exc.http_status == 501:  # no such route on this server
                return None
            raise
        return True

    def run_procedure(self, project: str, procedure: str, params: Mapping[str, str],
                      credential_references: Sequence[Mapping[str, str]] = ()) -> str:
        """Start a job; returns its id. Never retried: a second POST would start a second job.

        `credential_references` ({name, value}, the value naming a stored credential) carry credential
        parameters (runProcedure's credentialReferenceParameters).
        """
        body: Dict[str, Any] = {
            "projectName": project, "procedureName": procedure,
            "actualParameter": [{"actualParameterName": k, "value": v} for k, v in params.items()]}
        if credential_references:
            body["credentialReferenceParameters"] = [dict(r) for r in credential_references]
        result = self.call("runProcedure", "POST", "/jobs", params={"request": "runProcedure"}, body=body,
                           idempotent=False)
        job_id = result.get("jobId")
        if not job_id:
            raise CommanderApiError("InvalidResponse", "runProcedure answered without a jobId")
        return str(job_id)


def _segment(value: str, what: str) -> str:
    if not value:
        raise CommanderApiError("InvalidArgument", f"{what} is empty")
    return urllib.parse.quote(str(value), safe="")
