"""The claim on a job that is being restarted: /jobs/<id>/ec_resume/restartLock.

createProperty fails when the property exists, so of two restarts of one job that come together only
one gets the claim; the other is refused. The value is "<holder> <UTC ISO time>". A claim older than
`STALE_AFTER` is left over from a restart that died, and is taken over. [U] The clocks of the hosts
that restart jobs agree to within minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .records import record_type

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Callable, Optional

STALE_AFTER = timedelta(minutes=10)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def lock_path(job_id: str) -> str:
    return f"/jobs/{job_id}/ec_resume/restartLock"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@record_type
class Claim:
    job_id: str
    value: str


class AlreadyClaimed(Exception):
    """Another restart holds the claim; str() says who and since when, in words for a refusal line."""


def _since(value: str) -> Optional[datetime]:
    stamp = value.strip().rpartition(" ")[2]
    try:
        return datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def claim(client: Any, job_id: str, holder: str, now: Callable[[], datetime] = utc_now) -> Claim:
    """Take the claim on `job_id` for `holder` (no spaces), or raise AlreadyClaimed."""
    path = lock_path(job_id)
    moment = now()
    value = f"{holder} {moment.strftime(TIME_FORMAT)}"
    if client.create_property(path, value):
        return Claim(job_id, value)
    held = (client.get_property(path, expand=False) or "").strip()
    since = _since(held)
    if since is not None and moment - since > STALE_AFTER:
        # Left over from a restart that did not finish; of two that take it over, one creates it first.
        client.delete_property(path)
        if client.create_property(path, value):
            return Claim(job_id, value)
        held = (client.get_property(path, expand=False) or "").strip()
    who = held.rpartition(" ")[0] or held or "another restart"
    when = f" since {since.strftime(TIME_FORMAT)}" if since else ""
    minutes = int(STALE_AFTER.total_seconds() // 60)
    raise AlreadyClaimed(f"claimed by {who}{when}; try again when it is done (a claim older than {minutes} "
                         f"minutes is taken over, or delete {path} if no restart is under way)")


def release(client: Any, held: Claim) -> None:
    """Give the claim up, unless another restart has taken it over meanwhile."""
    path = lock_path(held.job_id)
    if (client.get_property(path, expand=False) or "").strip() == held.value:
        client.delete_property(path)
