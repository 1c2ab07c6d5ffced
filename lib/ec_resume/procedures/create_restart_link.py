"""Step code of the plugin procedure CreateRestartLink.

Runs as the last (alwaysRun) step of a user's procedure: puts "Restart this job" and "Run all steps
again" links on the job page (``/myJob/report-urls/<name>``) and says in the step summary which
parameters the links carry and which were left out, and why.
"""

from __future__ import annotations

import os
import sys
from typing import Any, List, Mapping, Optional, TextIO

from ..client import CommanderApiError, CommanderClient
from ..job_steps import actual_parameters
from ..restart_link import (
    DEFAULT_TEMPLATE,
    LEFT_OUT_REASONS,
    LinkTemplateError,
    RestartLinks,
    build_restart_links,
)
from ..restart_parameters import CREDENTIAL
from ..resume_rule import JOB_TO_RESTART

DEFAULT_LINK_NAME = "Restart this job"
DEFAULT_RUN_ALL_LINK_NAME = "Run all steps again"
PROG = "CreateRestartLink"


class BadInput(Exception):
    """Input the step cannot work with; str() is the one line the user sees."""


def _link_name(client: Any, parameter: str, default: str) -> str:
    value = client.get_property(parameter)
    name = default if value is None else value.strip()
    # The name becomes a property name under /myJob/report-urls, so it cannot hold a path separator.
    if name and any(ch in name for ch in "/[]"):
        raise BadInput(f"{parameter} '{name}' cannot contain '/', '[' or ']': expected a plain link name")
    return name


def describe(links: RestartLinks, link_name: str, project: str, procedure: str) -> str:
    """The step summary: what the links carry and what they leave out."""
    lines: List[str] = []
    if links.missing_job_to_restart:
        lines.append(f"No restart link: procedure '{procedure}' of project '{project}' has no formal "
                     f"parameter '{JOB_TO_RESTART}', so a restart could not skip any step.")
        lines.append(f"Fix: add a formal parameter named '{JOB_TO_RESTART}' with an empty default value "
                     f"to procedure '{procedure}'.")
    else:
        carried = ", ".join(links.carried) if links.carried else "none"
        lines.append(f"'{link_name}' carries {len(links.carried)} parameter(s): {carried}.")
    for item in links.left_out:
        again = "; enter it again when you start the new job" if item.why == CREDENTIAL else ""
        lines.append(f"Left out '{item.name}': {LEFT_OUT_REASONS[item.why]}{again}.")
    return "\n".join(lines)


def run(client: Any, env: Mapping[str, str], out: TextIO) -> int:
    """Do the step's work with `client`; returns the exit code. Raises BadInput or CommanderApiError."""
    job_id = env.get("COMMANDER_JOBID", "").strip()
    if not job_id:
        raise BadInput("COMMANDER_JOBID is not set: expected to run as a step of a CD/RO job")
    link_name = _link_name(client, "linkName", DEFAULT_LINK_NAME)
    run_all_name = _link_name(client, "runAllLinkName", DEFAULT_RUN_ALL_LINK_NAME)
    if not link_name:
        raise BadInput("linkName is empty: expected the name of the restart link, e.g. "
                       f"'{DEFAULT_LINK_NAME}'")

    job = client.get_job_details(job_id)
    project = str(job.get("projectName") or "")
    procedure = str(job.get("procedureName") or "")
    if not project or not procedure:
        raise BadInput(f"job {job_id} names no project or procedure: expected a procedure job")
    formals = client.get_formal_parameters(project, procedure)
    # The template holds no $[...] references, and must reach us exactly as written.
    template: Optional[str] = client.get_property("/myProject/resume/linkTemplate", expand=False)
    template = (template or "").strip() or DEFAULT_TEMPLATE
    try:
        links = build_restart_links(template, project, procedure, actual_parameters(job), formals, job_id)
    except LinkTemplateError as exc:
        raise BadInput(str(exc)) from None

    if not links.missing_job_to_restart:
        client.set_property(f"/myJob/report-urls/{link_name}", links.restart_url)
    if run_all_name:
        client.set_property(f"/myJob/report-urls/{run_all_name}", links.run_all_url)
    summary = describe(links, link_name, project, procedure)
    client.set_property("/myJobStep/summary", summary)
    if links.missing_job_to_restart:
        client.set_property("/myJobStep/outcome", "warning")
    # Names only: values may be sensitive and are visible on the job page to those allowed to see them.
    print(summary, file=out)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    try:
        return run(CommanderClient.from_environment(), os.environ, sys.stdout)
    except BadInput as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
    except CommanderApiError as exc:
        print(f"{PROG}: the server refused a request: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
