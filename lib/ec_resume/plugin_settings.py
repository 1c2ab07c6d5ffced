"""The plugin's settings that the agent code reads: properties of /plugins/EC-Resume/project/resume/.

`timeout` bounds each server call of a plugin step (and of ec-resume inside a job step without
--timeout or COMMANDER_TIMEOUT); `linkRunNow` chooses whether the stored restart link starts the job at
once (1) or opens the filled-in run form (0).
"""

from __future__ import annotations

from .client import CommanderApiError, NotFound, parse_timeout

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Optional

SETTINGS = "/plugins/EC-Resume/project/resume/"
TIMEOUT, LINK_RUN_NOW = "timeout", "linkRunNow"


def setting(client: Any, name: str) -> Optional[str]:
    """The setting's text, or None when the plugin (or this version of it) does not have it."""
    try:
        value = client.get_property(SETTINGS + name, expand=False)
    except NotFound:
        return None
    return None if value is None else value.strip()


def apply_timeout_setting(client: Any) -> str:
    """Set the client's timeout from resume/timeout; a warning line when the value is unusable, else ""."""
    text = setting(client, TIMEOUT)
    if not text:
        return ""
    try:
        client.timeout = parse_timeout(text, "resume/" + TIMEOUT)
    except CommanderApiError as exc:
        return f"{exc.message}; using {client.timeout:g} s"
    return ""


def link_runs_now(client: Any) -> bool:
    """resume/linkRunNow: anything but 0/false/no means the link starts the job at once (the default)."""
    text = (setting(client, LINK_RUN_NOW) or "").lower()
    return text not in ("0", "false", "no")
