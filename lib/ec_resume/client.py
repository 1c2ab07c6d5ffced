"""A small CloudBees CD/RO REST v1.0 (JSON) client on the standard library.

Inside a job step, `CommanderClient.from_environment()` reads the agent environment (COMMANDER_SERVER,
COMMANDER_HTTPS_PORT/COMMANDER_PORT, COMMANDER_SECURE, COMMANDER_SESSIONID, COMMANDER_JOBSTEPID) and adds
the step's ``jobStepId`` to property calls that name no other object, as CD/RO's own clients do.

Only idempotent calls are retried (GET, and setProperty's PUT), on connection errors, HTTP 5xx and
``ServerNotReady``, with capped exponential back-off. Errors are `CommanderApiError`s of a kind to catch
by: `ServerUnreachable` (no answer), `RequestRefused` (the server's error), and of those `NotFound`
(NoSuch*) and `AuthError`.
TLS is verified unless the caller turns it off. The session id is a secret: it never appears in an
exception, a repr or a log line.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, List, Mapping, Optional

from .rest_json import as_list

log = logging.getLogger("ec_resume.client")

REST_PREFIX = "/rest/v1.0"
DEFAULT_TIMEOUT = 30.0  # seconds for one call in all, retries included; --timeout / COMMANDER_TIMEOUT
# Locator arguments name the object a property call is about; without one, a step's calls use the step.
LOCATORS = frozenset({"jobStepId", "jobId", "projectName", "procedureName", "stepName", "resourceName",
                      "workspaceName", "userName", "groupName", "scheduleName", "path", "pluginName",
                      "credentialName", "flowRuntimeId", "applicationName", "environmentName"})
RETRYABLE_CODES = frozenset({"ServerNotReady"})


class CommanderApiError(Exception):
    """Base of every client error: `code` (NoSuchProperty, ConnectionFailed, ...), `message`, `http_status`.

    Raised as is for what goes wrong on this side: ``InvalidArgument``, ``InvalidEnvironment`` and
    ``InvalidResponse`` (an answer that is not CD/RO's JSON). Catch a subclass to handle one kind of
    failure; http_status is 0 when there was no HTTP answer.
    """

    def __init__(self, code: str, message: str, http_status: int = 0) -> None:
        self.code = code
        self.message = " ".join(str(message).split())  # one line, whatever the server sent
        self.http_status = http_status
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f" (HTTP {self.http_status})" if self.http_status else ""
        return f"[{self.code}] {self.message}{status}"

    @property
    def transient(self) -> bool:
        """Whether the same request may succeed when sent again."""
        return False


class ServerUnreachable(CommanderApiError):
    """No answer: the connection failed or timed out (code ``ConnectionFailed``)."""

    def __init__(self, message: str, code: str = "ConnectionFailed") -> None:
        super().__init__(code, message)

    @property
    def transient(self) -> bool:
        return True


class TlsRefused(ServerUnreachable):
    """TLS with the server failed, a refused certificate most often (code ``TlsError``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "TlsError")

    @property
    def transient(self) -> bool:
        return False  # a certificate problem does not go away on retry


class RequestRefused(CommanderApiError):
    """The server answered with an error: its code and HTTP status."""

    @property
    def transient(self) -> bool:
        # 501 Not Implemented: the server has no such route; asking again cannot help.
        return (self.http_status >= 500 and self.http_status != 501) or self.code in RETRYABLE_CODES


class NotFound(RequestRefused):
    """A NoSuch<Object> error: the job, project, property ... does not exist."""


class PropertyNotFound(NotFound):
    """NoSuchProperty: the object exists, the property on it does not."""


class AuthError(RequestRefused):
    """The session or the credentials were refused (HTTP 401, InvalidSession, InvalidCredentials)."""


AUTH_CODES = frozenset({"InvalidSession", "InvalidCredentials"})


def refused(code: str, message: str, http_status: int) -> RequestRefused:
    """The error class that names what the server's error code means."""
    if code == "NoSuchProperty":
        return PropertyNotFound(code, message, http_status)
    if code.startswith("NoSuch"):
        return NotFound(code, message, http_status)
    if http_status == 401 or code in AUTH_CODES:
        return AuthError(code, message, http_status)
    return RequestRefused(code, message, http_status)


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
                 job_step_id: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT, attempts: int = 5,
                 backoff: float = 0.25, backoff_cap: float = 8.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        url = base_url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise CommanderApiError("InvalidArgument", f"server URL '{base_url}' must start with http:// or "
                                    "https://")
        self.base_url = url[: -len(REST_PREFIX)] if url.endswith(REST_PREFIX) else url
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
        self._ssl = ssl.create_default_context()
        if not verify_tls:
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE

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

        Retried only when `idempotent` (default: GET only) on connection errors, 5xx and ServerNotReady.
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
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ServerUnreachable(f"{api}: cannot reach {self.base_url}: no answer within "
                                        f"{self.timeout:g} s ({attempt - 1} attempts of {method} {path})")
            try:
                return self._send(api, method, url, data, remaining)
            except CommanderApiError as exc:
                if not (retry and exc.transient and attempt < self.attempts):
                    raise
                delay = min(self.backoff_cap, self.backoff * (2 ** (attempt - 1)), max(0.0, remaining))
                log.info("%s %s: %s; retry %d of %d in %.2fs", method, path, exc.code, attempt,
                         self.attempts - 1, delay)
                self._sleep(delay)

    def _headers(self, has_body: bool) -> Dict[str, str]:
        headers = {"Accept": "application/json"}
        if has_body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        if self._session_id:
            headers["Cookie"] = f"sessionId={self._session_id}"
        elif self.user and self._password is not None:
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
              timeout: float) -> Dict[str, Any]:
        headers = self._headers(data is not None)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        log.debug("%s %s (%s)", method, url, api)
        context = self._ssl if url.startswith("https:") else None
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            raw = exc.read() if exc.fp is not None else b""
            raise self._error_from(api, exc.code, raw) from None
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLError):
                raise TlsRefused(f"{api}: TLS with {self.base_url} failed: {reason}") from None
            if isinstance(reason, socket.timeout) or isinstance(exc, socket.timeout):
                reason = f"no answer within {timeout:.3g} s"
            raise ServerUnreachable(self._scrub(f"{api}: cannot reach {self.base_url}: {reason} "
                                                f"({method} {url.split('?', 1)[0]})")) from None
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

    def set_property(self, path: str, value: str, **locator: Any) -> None:
        body = dict(self._locator(locator))
        body["value"] = value
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

    def run_procedure(self, project: str, procedure: str, params: Mapping[str, str]) -> str:
        """Start a job; returns its id. Never retried: a second POST would start a second job."""
        body = {"projectName": project, "procedureName": procedure,
                "actualParameter": [{"actualParameterName": k, "value": v} for k, v in params.items()]}
        result = self.call("runProcedure", "POST", "/jobs", params={"request": "runProcedure"}, body=body)
        job_id = result.get("jobId")
        if not job_id:
            raise CommanderApiError("InvalidResponse", "runProcedure answered without a jobId")
        return str(job_id)


def _segment(value: str, what: str) -> str:
    if not value:
        raise CommanderApiError("InvalidArgument", f"{what} is empty")
    return urllib.parse.quote(str(value), safe="")
