"""What every plugin step does around its work: the client of the step, the timeout setting, the step
summary, and one line for a failure (in the log and in the summary), never a traceback."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Mapping, Optional, TextIO, Tuple, Type

from ..client import CommanderApiError, CommanderClient, RequestRefused
from ..plugin_settings import apply_timeout_setting

StepWork = Callable[[Any, Mapping[str, str], TextIO], int]


def write_summary(client: Any, prog: str, summary: str, out: TextIO, outcome: str = "") -> None:
    """The step summary (and outcome). The work is done by then, so a failure here is only a warning."""
    try:
        client.set_property("/myJobStep/summary", summary)
        if outcome:
            client.set_property("/myJobStep/outcome", outcome)
    except CommanderApiError as exc:
        print(f"{prog}: warning: the step summary could not be written: {exc}", file=out)


def failure_line(prog: str, exc: Exception) -> str:
    """One line for a failed step; a connection failure is never called a refusal by the server."""
    text = " ".join(str(exc).split())
    if isinstance(exc, RequestRefused):
        return f"{prog}: the server refused a request: {text}"
    return f"{prog}: {text}"


def step_main(prog: str, work: StepWork, input_errors: Tuple[Type[Exception], ...]) -> int:
    """Run `work` in this job step; its exit code, or 1 with the failure's line in log and summary."""
    client: Optional[CommanderClient] = None
    try:
        client = CommanderClient.from_environment()
        warning = apply_timeout_setting(client)
        if warning:
            print(f"{prog}: warning: {warning}")
        return work(client, os.environ, sys.stdout)
    except (CommanderApiError, *input_errors) as exc:
        line = failure_line(prog, exc)
    print(line, file=sys.stderr)
    if client is not None:
        write_summary(client, prog, line, sys.stdout)  # stderr keeps its one line
    return 1
