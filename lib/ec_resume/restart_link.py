"""The "Restart this job" and "Run all steps again" links of a job, as a pure function.

The links run the job's procedure again with the parameters a restart carries (`restart_parameters`:
the job's values of the procedure's formal parameters, without credentials, which cannot travel in a
URL), then ``jobToRestart``: this job's id in the restart link (so steps already done here are skipped),
empty in the run-all link. Names and values are UTF-8 percent-encoded (``urllib.parse.quote(...,
safe="")``), so ``&``, ``=``, ``#``, ``+``, spaces and non-ASCII text survive the round trip byte for byte.

The link's form comes from the plugin property ``resume/linkTemplate``. Placeholders in ``{braces}``:

    {projectName}    the job's project, percent-encoded
    {procedureName}  the job's procedure, percent-encoded
    {numParameters}  how many parameters the link carries
    {parameters}     "&parameters1_name=<n>&parameters1_value=<v>&parameters2_name=..." (empty if none)
    {jobId}          this job's id, percent-encoded

``{{`` and ``}}`` stand for literal braces. Any other placeholder is refused with one line naming it.
The default is the knowledge-base (KBEC-00160) form of the CD/RO UI's run-procedure page.

``runNow=1`` makes the page start the job at once; without it the page opens the run form filled in
(`without_run_now`, for the plugin setting ``resume/linkRunNow`` = 0). A link longer than
`MAX_LINK_LENGTH` is refused by browsers and servers (HTTP 414); `restart_job_link` is the short link
that runs the plugin's RestartJob for the job instead, which reads the parameters from the job itself.
"""

from __future__ import annotations

import string
from urllib.parse import quote

from .records import field, record_type
from .restart_parameters import CREDENTIAL, NOT_FORMAL, LeftOut, restart_parameters
from .resume_rule import JOB_TO_RESTART

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, List, Mapping, Sequence, Tuple

DEFAULT_TEMPLATE = ("/commander/runProcedure.php?runNow=1&projectName={projectName}"
                    "&procedureName={procedureName}&numParameters={numParameters}{parameters}")
MAX_LINK_LENGTH = 8192  # what browsers and web servers take in a URL, with room to spare [U]
RESTART_JOB_PROCEDURE = "RestartJob"
PLACEHOLDERS = ("projectName", "procedureName", "numParameters", "parameters", "jobId")
CREDENTIAL_REASON = "credential parameters cannot travel in a URL"
NOT_FORMAL_REASON = "no longer a parameter of the procedure"
LEFT_OUT_REASONS = {CREDENTIAL: CREDENTIAL_REASON, NOT_FORMAL: NOT_FORMAL_REASON}


class LinkTemplateError(ValueError):
    """The link template cannot be used; str() is one line naming the problem."""


@record_type
class RestartLinks:
    restart_url: str  # "" when the procedure has no jobToRestart parameter: a restart could skip nothing
    run_all_url: str
    carried: List[str] = field(default_factory=list)  # names, in link order
    left_out: List[LeftOut] = field(default_factory=list)
    missing_job_to_restart: bool = False

    @property
    def omitted(self) -> List[Tuple[str, str]]:
        """(name, why in words) of each parameter the links leave out."""
        return [(item.name, LEFT_OUT_REASONS[item.why]) for item in self.left_out]


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
                        job_to_restart_param: str = JOB_TO_RESTART) -> RestartLinks:
    """Both links for the job `job_id` of `project`/`procedure`."""
    template_fields(template)
    if not job_id:
        raise LinkTemplateError("job id is empty: expected the id of the job the links restart")
    found = restart_parameters(actual_parameters, formal_parameters, job_to_restart_param)
    carried = list(found.carried)
    left_out = list(found.left_out)
    if not found.has_job_to_restart:
        # Without the parameter a restart would run every step: there is no restart link to offer.
        return RestartLinks(restart_url="", run_all_url=_link(template, project, procedure, job_id, carried),
                            carried=[name for name, _ in carried], left_out=left_out,
                            missing_job_to_restart=True)
    restart = carried + [(job_to_restart_param, job_id)]
    run_all = carried + [(job_to_restart_param, "")]
    return RestartLinks(restart_url=_link(template, project, procedure, job_id, restart),
                        run_all_url=_link(template, project, procedure, job_id, run_all),
                        carried=[name for name, _ in restart], left_out=left_out)


def restart_job_link(template: str, plugin_project: str, job_id: str) -> str:
    """The short link that runs the plugin's RestartJob procedure with jobId = `job_id`."""
    template_fields(template)
    return _link(template, plugin_project, RESTART_JOB_PROCEDURE, job_id, [("jobId", job_id)])


def without_run_now(url: str) -> str:
    """The link without its runNow query argument: the run form opens filled in, nothing starts."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    kept = [item for item in query.split("&") if item.split("=", 1)[0] != "runNow"]
    return base + ("?" + "&".join(kept) if kept else "")
