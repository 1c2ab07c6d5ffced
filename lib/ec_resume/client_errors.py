"""The errors of the agent client, by kind, so callers catch what they can handle.

`CommanderApiError` is the base (`code`, one-line `message`, `http_status`). `ServerUnreachable`: no
answer; of it `ReplyLost` (the request went out, so the server may have acted on it) and `TlsRefused`.
`RequestRefused`: the server answered with an error; of it `NotFound` (NoSuch*), `PropertyNotFound`,
`AuthError` and `AlreadyExists` (Duplicate*Name).
"""

from __future__ import annotations

# 501 Not Implemented means no such route: asking again cannot help. The others may pass.
RETRYABLE_HTTP = frozenset({500, 502, 503, 504})
RETRYABLE_CODES = frozenset({"ServerNotReady"})
AUTH_CODES = frozenset({"InvalidSession", "InvalidCredentials"})


class CommanderApiError(Exception):
    """Base of every client error: `code` (NoSuchProperty, ConnectionFailed, ...), `message`, `http_status`.

    Raised as is for what goes wrong on this side: ``InvalidArgument``, ``InvalidEnvironment`` and
    ``InvalidResponse`` (an answer that is not CD/RO's JSON). http_status is 0 without an HTTP answer.
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

    @property
    def may_have_acted(self) -> bool:
        """Whether the server may have carried the request out although the caller saw this error."""
        return False


class ServerUnreachable(CommanderApiError):
    """No connection (code ``ConnectionFailed``): the request never reached the server."""

    def __init__(self, message: str, code: str = "ConnectionFailed") -> None:
        super().__init__(code, message)

    @property
    def transient(self) -> bool:
        return True


class ReplyLost(ServerUnreachable):
    """The request was sent and no (whole) answer came back (code ``NoReply``): it may have been done."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "NoReply")

    @property
    def may_have_acted(self) -> bool:
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
        return self.http_status in RETRYABLE_HTTP or self.code in RETRYABLE_CODES

    @property
    def may_have_acted(self) -> bool:
        # [U] A 5xx may come from a gateway in front of a server that did the work; CD/RO's own
        # refusals (4xx: bad argument, no such object, no permission) are given before it acts.
        return self.http_status >= 500


class NotFound(RequestRefused):
    """A NoSuch<Object> error: the job, project, property ... does not exist."""


class PropertyNotFound(NotFound):
    """NoSuchProperty: the object exists, the property on it does not."""


class AuthError(RequestRefused):
    """The session or the credentials were refused (HTTP 401, InvalidSession, InvalidCredentials)."""


class AlreadyExists(RequestRefused):
    """Duplicate<Kind>Name: createProperty (or another create) found the name taken."""


def refused(code: str, message: str, http_status: int) -> RequestRefused:
    """The error class that names what the server's error code means."""
    if code == "NoSuchProperty":
        return PropertyNotFound(code, message, http_status)
    if code.startswith("NoSuch"):
        return NotFound(code, message, http_status)
    if code.startswith("Duplicate"):
        return AlreadyExists(code, message, http_status)
    if http_status == 401 or code in AUTH_CODES:
        return AuthError(code, message, http_status)
    return RequestRefused(code, message, http_status)
