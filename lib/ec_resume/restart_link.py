"""The "Restart this job" and "Run all steps again" links of a job, as a pure function.

The links run the job's procedure again with every parameter it had: the restart link with
``jobToRestart`` set to this job's id (so steps already done here are skipped), the run-all link with
``jobToRestart`` empty. Names and values are UTF-8 percent-encoded (``urllib.parse.quote(..., safe="")``),
so ``&``, ``=``, ``#``, ``+``, spaces and non-ASCII text survive the round trip byte for byte.
Credential parameters are left out: a credential cannot travel in a URL.

The link's form comes from the plugin property ``resume/linkTemplate``. Placeholders in ``{braces}``:

    {projectName}    the job's project, percent-encoded
    {procedureName}  the job's procedure, percent-encoded
    {numParameters}  how many parameters the link carries
    {parameters}     "&parameters1_name=<n>&parameters1_value=<v>&parameters2_name=..." (empty if none)
    {jobId}          this job's id, percent-encoded

``{{`` and ``}}`` stand for literal braces. Any other placeholder is refused with one line naming it.
The default is the knowledge-base (KBEC-00160) form of the CD/RO UI's run-procedure page.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Sequence, Tuple
from urllib.parse import quote

DEFAULT_TEMPLATE = ("/commander/runProcedure.php?runNow=1&projectName={projectName}"
                    "&procedureName={procedureName}&numParameters={numParameters}{parameters}")
PLACEHOLDERS = ("projectName", "procedureName", "numParameters", "parameters", "jobId")
CREDENTIAL_REASON = "credential parameters cannot travel in a URL"


class LinkTemplateError(ValueError):
    """The link template cannot be used; str() is one line naming the problem."""


@dataclass
class RestartLinks:
    restart_url: str  # "" when the procedure has no jobToRestart parameter: a restart could skip nothing
    run_all_url: str
    carried: List[str] = field(default_factory=list)
    omitted: List[Tuple[str, str]] = field(default_factory=list)
    missing_job_to_restart: bool = False


def _encode(text: str) -> str:
    return quote(text, safe="")


def template_fields(template: str) -> List[str]:
    """The placeholders a template uses; raises LinkTemplateError for an unknown or malformed one."""
    if not template.strip():
        raise LinkTemplateError("resume/linkTemplate is empty: expected a URL such as " + DEFAULT_TEMPLATE)
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise LinkTemplateError(f"resume/linkTemplate is malformed ({exc}); write literal braces as "
                                "{{ and }}") from None
    names = []
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            shown = "{" + name + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}"
            raise LinkTemplateError(f"resume/linkTemplate has unknown placeholder {shown}; expected one of "
                                    + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
        names.append(name)
    return names


def _render(template: str, values: Mapping[str, str]) -> str:
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values[name])
    return "".join(out)


def _ordered_parameters(actual_parameters: Sequence[Tuple[str, str]],
                        formal_parameters: Sequence[Mapping[str, Any]]) -> List[Tuple[str, str]]:
    """Actual parameters in formal parameter order, then any extras in their own order; first value wins."""
    actual: Dict[str, str] = {}
    for name, value in actual_parameters:
        actual.setdefault(str(name), "" if value is None else str(value))
    formal_names = [str(f.get("formalParameterName", "")) for f in formal_parameters]
    ordered = [(name, actual[name]) for name in formal_names if name in actual]
    ordered += [(name, value) for name, value in actual.items() if name not in formal_names]
    return ordered


def _link(template: str, project: str, procedure: str, job_id: str,
          parameters: Sequence[Tuple[str, str]]) -> str:
    encoded = "".join(f"&parameters{i}_name={_encode(name)}&parameters{i}_value={_encode(value)}"
                      for i, (name, value) in enumerate(parameters, start=1))
    return _render(template, {"projectName": _encode(project), "procedureName": _encode(procedure),
                              "numParameters": str(len(parameters)), "parameters": encoded,
                              "jobId": _encode(job_id)})


def build_restart_links(template: str, project: str, procedure: str,
                        actual_parameters: Sequence[Tuple[str, str]],
                        formal_parameters: Sequence[Mapping[str, Any]], job_id: str,
                        job_to_restart_param: str = "jobToRestart") -> RestartLinks:
    """Both links for the job `job_id` of `project`/`procedure`."""
    template_fields(template)
    if not job_id:
        raise LinkTemplateError("job id is empty: expected the id of the job the links restart")
    credential_names = {str(f.get("formalParameterName")) for f in formal_parameters
                        if str(f.get("type", "")).lower() == "credential"}
    has_param = any(str(f.get("formalParameterName")) == job_to_restart_param for f in formal_parameters)

    actual = list(actual_parameters)
    if has_param:  # a job that ran with the default has no actual value; the link still needs its place
        actual.append((job_to_restart_param, ""))
    restart_params: List[Tuple[str, str]] = []
    run_all_params: List[Tuple[str, str]] = []
    omitted: List[Tuple[str, str]] = []
    for name, value in _ordered_parameters(actual, formal_parameters):
        if name in credential_names:
            omitted.append((name, CREDENTIAL_REASON))
        elif name == job_to_restart_param:
            # An earlier restart's value is replaced where it stood, never repeated.
            restart_params.append((name, job_id))
            run_all_params.append((name, ""))
        else:
            restart_params.append((name, value))
            run_all_params.append((name, value))
    if not has_param:
        # Without the parameter a restart would run every step: there is no restart link to offer.
        restart_params = [p for p in restart_params if p[0] != job_to_restart_param]
        run_all_params = [p for p in run_all_params if p[0] != job_to_restart_param]

    return RestartLinks(
        restart_url=_link(template, project, procedure, job_id, restart_params) if has_param else "",
        run_all_url=_link(template, project, procedure, job_id, run_all_params),
        carried=[name for name, _ in (restart_params if has_param else run_all_params)],
        omitted=omitted,
        missing_job_to_restart=not has_param,
    )
