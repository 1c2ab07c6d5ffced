"""What every plugin step does around its work: the client of the step, the timeout setting, the step
summary, and one line for a failure (in the log and in the summary), never a traceback."""

from __future__ import annotations

import os
import sys

from ..client import CommanderApiError, CommanderClient, RequestRefused
from ..plugin_settings import apply_timeout_setting

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Callable, Mapping, Optional, TextIO, Tuple, Type

    StepWork = Callable[[Any, Mapping[str, str], TextIO], int]
    # What a step may put around its client before the first call (reads ahead, say); the client it uses.
    Prepare = Callable[[CommanderClient, Mapping[str, str]], Any]


def write_summary(client: Any, prog: str, summary: str, out: TextIO, outcome: str = "",
                  expandable: Optional[bool] = None) -> None:
    """The step summary (and outcome); expandable=False for text that quotes `$[...]` references. The work
    is done by then, so a failure here is only a warning."""
    try:
        if expandable is None:
            client.set_property("/myJobStep/summary", summary)
        else:
            client.set_property("/myJobStep/summary", summary, expandable=expandable)
        if outcome:
            client.set_property("/myJobStep/outcome", outcome)
    except CommanderApiError as exc:
        print(f"{prog}: warning: the step summary could not be written: {exc}", file=out)


def failure_line(prog: str, exc: Exception) -> str:
    """One line for a failed step; a connection failure is never called a refusal by the server."""
    text = " ".join(str(exc).split())
    if isinstance(exc, RequestRefused) and not exc.transient:
        return f"{prog}: the server refused a request: {text}"
    return f"{prog}: {text}"


def step_main(prog: str, work: StepWork, input_errors: Tuple[Type[Exception], ...],
              prepare: Optional[Prepare] = None) -> int:
    """Run `work` in this job step; its exit code, or 1 with the failure's line in log and summary.

    `prepare` gets the step's client before anything is read, the timeout setting included, and gives
    the client that is used from then on."""
    client: Any = None
    try:
        client = CommanderClient.from_environment()
        if not client.verify_tls:  # EC_RESUME_TLS_VERIFY=0 on the agent: an explicit choice, said each time
            print(f"{prog}: warning: the server's TLS certificate is not verified (EC_RESUME_TLS_VERIFY=0)")
        if prepare is not None:
            client = prepare(client, os.environ)
        warning = apply_timeout_setting(client)
        if warning:
            print(f"{prog}: warning: {warning}")
        return work(client, os.environ, sys.stdout)
    except (CommanderApiError, *input_errors) as exc:
        line = failure_line(prog, exc)
    print(line, file=sys.stderr)
    if client is not None:
        write_summary(client, prog, line, sys.stdout)  # stderr keeps its one line
        _send_held_writes(client, prog)
    return 1


def _send_held_writes(client: Any, prog: str) -> None:
    """A client that holds writes back (prefetch.Prefetched) sends them now, the failure's summary among
    them, as they would have gone had they not been held."""
    send = getattr(client, "send_writes", None)
    if send is None:
        return
    try:
        for path, reply in send():
            print(f"{prog}: warning: {path} could not be written: [{reply.error_code}] {reply.message}")
    except CommanderApiError as exc:
        print(f"{prog}: warning: the step summary could not be written: {exc}")
