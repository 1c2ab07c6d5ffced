"""The one error type of the emulator: a CD/RO error code, a message and details.

Both wires render it: the XML API as `<error requestId=".."><code/><message/><details/></error>`, REST as a
non-2xx status with `{"error": {"code", "message", "details", "where"}}` (REST's exact shape is [U]).
"""

from __future__ import annotations

# HTTP status used by the REST wire for each code; anything unlisted is a 400.
_HTTP_STATUS = {
    "InvalidSession": 401,
    "AccessDenied": 403,
    "ServerNotReady": 503,
    "InternalError": 500,
    "InternalFault": 500,
    "NotImplemented": 501,
}


class CommanderError(Exception):
    """An API error as CD/RO reports it: `code` is the machine-readable error code (e.g. NoSuchProperty)."""

    def __init__(self, code: str, message: str, details: str = "", where: str = "") -> None:
        super().__init__(f"[{code}]: {message}")
        self.code = code
        self.message = message
        self.details = details
        self.where = where

    @property
    def http_status(self) -> int:
        if self.code.startswith("NoSuch"):
            return 404
        return _HTTP_STATUS.get(self.code, 400)

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "details": self.details, "where": self.where}


class ExpansionLimit(CommanderError):
    """A runaway expansion (a reference cycle). It ends the whole evaluation, even inside a script that
    catches errors, so that a loop cannot turn into a value."""

    def __init__(self, message: str) -> None:
        super().__init__("ExpansionError", message)  # [U] error code


def no_such(kind: str, name: str, where: str = "") -> CommanderError:
    """The NoSuch<Kind> error CD/RO raises for a missing object, e.g. NoSuchProcedure."""
    label = kind[0].lower() + kind[1:]
    return CommanderError(f"NoSuch{kind}", f"{kind} '{name}' does not exist", where=where or label)


def invalid(argument: str, expected: str) -> CommanderError:
    return CommanderError("InvalidArgument", f"Invalid value for '{argument}': expected {expected}")
