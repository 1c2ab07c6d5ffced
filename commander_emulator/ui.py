"""The few UI pages a plugin's links reach: the run links, the filled-in run form, and the job page.

Run links seen in real use (commander-api.md §5, "Links"):
- `/commander/runProcedure.php?runNow=1&projectName=..&procedureName=..&numParameters=N
   &parameters1_name=..&parameters1_value=..` (the knowledge-base form, KBEC-00160)
- `/commander/link/runProcedure/projects/<p>/procedures/<proc>?...` (CommanderClient.groovy), the project
  and procedure in the path (percent-encoded segments), the parameters in the query as above.
Each comes with or without `numParameters` (without it, `parameters<i>_name/_value` are read for i = 1, 2,
... while they are there) and with or without `runNow`. With `runNow=1` the link runs the procedure;
without it, it opens the filled-in run form, whose Run button posts the runNow form [U: the real UI's form
is a JavaScript application; this page shows the same facts].

Pure functions: the server checks the session and calls the API; this module reads links and writes pages.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import unquote

UI_RUN = "/commander/runProcedure.php"
UI_RUN_LINK = "/commander/link/runProcedure/"
UI_JOB = "/commander/link/jobDetails/jobs/"

_PARAMETER_KEY = re.compile(r"^parameters([0-9]+)_(name|value)$")
_RUN_NOW = {"1": True, "true": True, "0": False, "false": False, "": False}


@dataclass(frozen=True)
class RunLink:
    """What a run link asks for."""

    project_name: str
    procedure_name: str
    parameters: List[Tuple[str, str]]  # (name, value) in link order
    run_now: bool

    def run_procedure_arguments(self) -> Dict[str, Any]:
        return {"projectName": self.project_name, "procedureName": self.procedure_name,
                "actualParameter": [{"actualParameterName": n, "value": v} for n, v in self.parameters]}


def is_run_link(path: str) -> bool:
    return path == UI_RUN or path.startswith(UI_RUN_LINK)


def read_run_link(raw_path: str, query: Mapping[str, str]) -> RunLink:
    """The run link's request; ValueError with a one-line reason when it is malformed.

    `raw_path` is the path as sent (still percent-encoded), so a name holding `/` survives; `query` the
    decoded query (or form) values.
    """
    if raw_path.startswith(UI_RUN_LINK):
        project, procedure = _names_from_path(raw_path[len(UI_RUN_LINK):])
    else:
        project, procedure = query.get("projectName", ""), query.get("procedureName", "")
        for name, value in (("projectName", project), ("procedureName", procedure)):
            if not value:
                raise ValueError(f"missing {name}")
    run_now = str(query.get("runNow", "")).strip().lower()
    if run_now not in _RUN_NOW:
        raise ValueError(f"runNow: expected 1 or 0, got '{query.get('runNow')}'")
    return RunLink(project, procedure, _parameters(query), _RUN_NOW[run_now])


def _names_from_path(rest: str) -> Tuple[str, str]:
    parts = rest.split("?", 1)[0].split("/")
    if len(parts) != 4 or parts[0] != "projects" or parts[2] != "procedures" or not parts[1] or not parts[3]:
        raise ValueError(f"expected {UI_RUN_LINK}projects/<project>/procedures/<procedure>, got "
                         f"{UI_RUN_LINK}{rest}")
    return unquote(parts[1]), unquote(parts[3])


def _parameters(query: Mapping[str, str]) -> List[Tuple[str, str]]:
    raw = query.get("numParameters")
    if raw is None:
        # No count: every parameters<i>_name given, numbered from 1 without a gap.
        numbers = {int(m.group(1)) for m in map(_PARAMETER_KEY.match, query.keys()) if m}
        count = max(numbers, default=0)
    elif not raw.isdigit():
        raise ValueError(f"numParameters: expected a non-negative integer, got '{raw}'")
    else:
        count = int(raw)
    params = []
    for i in range(1, count + 1):
        name_key, value_key = f"parameters{i}_name", f"parameters{i}_value"
        missing = name_key if name_key not in query else value_key if value_key not in query else None
        if missing is not None:
            given = f"numParameters={raw}" if raw is not None else f"parameters{count}_name or _value"
            raise ValueError(f"{given} but {missing} is missing")
        params.append((query[name_key], query[value_key]))
    return params


# ------------------------------------------------------------------------------------------------ pages


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body>{body}</body></html>")


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def run_form_page(link: RunLink, formal_parameters: Sequence[Mapping[str, Any]]) -> str:
    """The filled-in run form: the procedure, each parameter with its prefilled value, and a Run button that
    posts the runNow form. Parameters: the procedure's formal ones in order (the link's value, else the
    default), then any the link names that the procedure lacks (running will say so). A credential
    parameter cannot be given here."""
    given = dict(link.parameters)
    rows: List[Tuple[str, Optional[str]]] = []  # (name, value); value None: a credential
    for formal in formal_parameters:
        name = str(formal.get("formalParameterName", ""))
        if str(formal.get("type", "")) == "credential":
            rows.append((name, None))
        else:
            rows.append((name, given.get(name, str(formal.get("defaultValue", "")))))
    known = {name for name, _ in rows}
    rows.extend((name, value) for name, value in link.parameters if name not in known)
    fields = ["<input type='hidden' name='runNow' value='1'>",
              f"<input type='hidden' name='projectName' value='{_attr(link.project_name)}'>",
              f"<input type='hidden' name='procedureName' value='{_attr(link.procedure_name)}'>"]
    table = []
    number = 0
    for name, value in rows:
        if value is None:
            table.append(f"<tr><th>{html.escape(name)}</th><td class='credential'>a credential: cannot be "
                         "given in this form</td></tr>")
            continue
        number += 1
        fields.append(f"<input type='hidden' name='parameters{number}_name' value='{_attr(name)}'>")
        table.append(f"<tr><th><label for='parameters{number}_value'>{html.escape(name)}</label></th>"
                     f"<td><input id='parameters{number}_value' name='parameters{number}_value' "
                     f"value='{_attr(value)}'></td></tr>")
    fields.append(f"<input type='hidden' name='numParameters' value='{number}'>")
    body = (f"<h1>Run procedure <span id='procedureName'>{html.escape(link.procedure_name)}</span></h1>"
            f"<p>Project: <span id='projectName'>{html.escape(link.project_name)}</span></p>"
            f"<form id='run-form' method='post' action='{UI_RUN}'>{''.join(fields)}"
            f"<table id='parameters'>{''.join(table)}</table>"
            "<button type='submit' id='run'>Run</button></form>")
    return _page(f"Run {link.procedure_name}", body)


def job_page(job_id: str, name: str, status: str, outcome: str) -> str:
    """A tiny page naming the job (the real job details page is a JavaScript application)."""
    return _page(f"Job {name}", f"<h1>Job {html.escape(name)}</h1>"
                                f"<p>jobId: <code>{html.escape(job_id)}</code></p>"
                                f"<p>status: {html.escape(status)}, outcome: {html.escape(outcome)}</p>")
