"""The restart of a completed job: the one core behind `ec-resume restart` and the RestartJob procedure.

In order, and each refusal one line before anything is written or launched (`Refused`; bad input is
`BadRequest`): the job must exist, not be the job doing the restart, be completed; its procedure must
still exist and have ``jobToRestart``; a credential parameter travels only as a reference to a stored
credential (runProcedure's credentialReferenceParameters), else it is left out when the procedure lets
it be empty, and refused when not. Then the claim on the job (`restart_lock`), the failure point
(`lineage.ensure_failure_point`), the start step as ``pendingFromStep`` on the old job, the plan, shown
before acting, and the launch.

No duplicate launch: before launching, the ids of the jobs of the procedure are noted; when the launch
fails in a way that the server may have acted on (`may_have_acted`: a lost reply, a 5xx), the new job
is looked for among the jobs not noted before, with this job's parameters, before anything else. Found:
the restart goes on with it. Not found: `LaunchUnknown`, the claim is kept (it goes stale in 10
minutes), and nothing is launched again.
"""

from __future__ import annotations

import time

from .client import CommanderApiError, NotFound
from .job_steps import actual_parameters
from .lineage import CLI, ec_resume_path, ensure_failure_point, record_lineage
from .planning import plan_restart, validate_from_step
from .prefetch import Prefetched, plan_reads
from .records import field, record_type
from .report import RestartPlan, job_label
from .restart_lock import AlreadyClaimed, Claim, claim, release
from .restart_parameters import CREDENTIAL, NOT_FORMAL, credential_names, formal_names, restart_parameters
from .resume_rule import JOB_TO_RESTART

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

CREDENTIAL_LEFT_OUT = ("a credential parameter that names no stored credential cannot be carried into a "
                       "new job; give it when you run the job yourself")
NOT_A_PARAMETER = "no longer a parameter of the procedure"
LEFT_OUT_REASONS = {CREDENTIAL: CREDENTIAL_LEFT_OUT, NOT_FORMAL: NOT_A_PARAMETER}
STORED_CREDENTIAL_PREFIX = "/projects/"
MAX_JOB_REFERENCE = 255  # [U] longer than any job id (a UUID) or job name CD/RO makes
LOOKUP_WINDOW = 500  # newest jobs of the procedure compared before and after a launch [U] enough
LOOKUP_DELAYS = (0.0, 0.5, 1.0)  # a server that lost the reply may still be creating the job


class Refused(Exception):
    """The restart is refused; str() is the one line that says why. Nothing was launched."""


class JobNotFound(Refused):
    """The job named does not exist."""


class BadRequest(Exception):
    """The request itself is wrong (an override, a start step); str() is one line."""


class LaunchUnknown(Exception):
    """The launch may have happened and no new job was found; str() says what to check."""


@record_type
class RestartRequest:
    job_ref: str
    overrides: Tuple[Tuple[str, str], ...] = ()
    from_step: str = ""
    dry_run: bool = False
    run_all: bool = False  # jobToRestart empty: every step runs (the CLI's --all)
    how: str = CLI  # the lineage word: ec-resume or RestartJob
    holder: str = CLI  # who holds the claim, no spaces
    own_job_id: str = ""  # the job this runs in, which must not restart itself
    option: Callable[[str], str] = field(default=lambda name: f"--param {name}", compare=False)


@record_type(frozen=False)
class Launch:
    """What the restart decided, then did."""

    job: Mapping[str, Any]
    project: str
    procedure: str
    parameters: Dict[str, str]
    credential_references: List[Dict[str, str]] = field(default_factory=list)
    left_out: List[Tuple[str, str]] = field(default_factory=list)  # (name, why in words)
    plan: Optional[RestartPlan] = None
    new_job_id: str = ""
    found_after_lost_reply: bool = False

    @property
    def job_id(self) -> str:
        return str(self.job.get("jobId", ""))


# ------------------------------------------------------------------------------------------ the checks


def parse_overrides(lines: Sequence[str], what: Callable[[str], str]) -> List[Tuple[str, str]]:
    """NAME=VALUE items, in order; the value may hold '=' and may be empty."""
    pairs = []
    for line in lines:
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise BadRequest(f"{what(line)}: expected NAME=VALUE")
        pairs.append((name.strip(), value))
    return pairs


def stored_credential(client: Any, project: str, value: str) -> bool:
    """Whether a credential parameter's value names a stored credential, so it may travel by reference.

    "/projects/<p>/credentials/<c>" is how a job holds one it was given by reference [U]; a bare name
    is one of the procedure's project when the server knows it.
    """
    text = value.strip()
    parts = text.split("/")
    if text.startswith(STORED_CREDENTIAL_PREFIX) and len(parts) == 5 and parts[3] == "credentials":
        known = client.credential_exists(parts[2], parts[4])
        return known is not False  # None: the server cannot say; it checks at the launch
    if not text or "/" in text:
        return False
    return bool(client.credential_exists(project, text))


def fetch_job(client: Any, ref: str) -> Dict[str, Any]:
    """getJobDetails of a job id or name; raises JobNotFound or BadRequest (an empty reference)."""
    if not ref.strip():
        raise BadRequest("JOB is empty: expected a job id or job name")
    text = ref.strip()
    if len(text) > MAX_JOB_REFERENCE or "/" in text or any(ord(c) < 32 for c in text):
        shown = text if len(text) <= 60 else text[:60] + "..."
        raise BadRequest(f"JOB {shown!r}: expected a job id or job name (no '/' or control characters, "
                         f"at most {MAX_JOB_REFERENCE} characters)")
    try:
        return client.get_job_details(ref.strip())  # [U] /jobs/<ref> takes a job name as well as an id
    except NotFound:
        raise JobNotFound(f"job '{ref}' not found") from None


def prepare(client: Any, request: RestartRequest) -> Launch:
    """Every check that needs no claim; the parameters of the new job. Raises Refused or BadRequest."""
    job = fetch_job(client, request.job_ref)
    if isinstance(client, Prefetched):  # what the checks and the plan read, in one round trip
        client.fetch(plan_reads(client, job))
    label, job_id = job_label(job), str(job.get("jobId", ""))
    if request.own_job_id and job_id == request.own_job_id:
        raise Refused(f"job {label} is the job running {request.how}: a job cannot restart itself")
    status = str(job.get("status") or "")
    if status != "completed":
        raise Refused(f"job {label} is still running (status {status or 'unknown'}): restart it once it has "
                      "completed")
    project, procedure = str(job.get("projectName") or ""), str(job.get("procedureName") or "")
    try:
        formals = client.get_formal_parameters(project, procedure)
    except NotFound:
        raise Refused(f"procedure '{procedure}' of project '{project}' no longer exists, so job {label} "
                      "cannot be restarted") from None
    found = restart_parameters(actual_parameters(job), formals)
    if not found.has_job_to_restart and not request.run_all:
        raise Refused(f"procedure '{procedure}' of project '{project}' has no '{JOB_TO_RESTART}' parameter, "
                      f"so a restart cannot skip anything: add formalParameter '{JOB_TO_RESTART}' with an "
                      "empty default to it (see 'Making a procedure resumable' in the README), or run all "
                      "steps again (ec-resume restart --all)")
    if request.run_all and request.from_step.strip():
        raise BadRequest("a start step and running all steps again exclude each other: give one")
    problem = validate_from_step(job, request.from_step)
    if problem:
        raise BadRequest(problem)
    launch = Launch(job=job, project=project, procedure=procedure, parameters=dict(found.carried))
    _apply_overrides(launch, request, formals)
    _carry_credentials(client, launch, found.left_out, formals)
    if found.has_job_to_restart:
        launch.parameters[JOB_TO_RESTART] = "" if request.run_all else job_id
    return launch


def _apply_overrides(launch: Launch, request: RestartRequest, formals: Sequence[Mapping[str, Any]]) -> None:
    formal = set(formal_names(formals))
    credentials = set(credential_names(formals))
    for name, value in request.overrides:
        where = request.option(name)
        if name not in formal:
            raise BadRequest(f"{where}: procedure '{launch.procedure}' has no parameter '{name}'; it has "
                             + (", ".join(sorted(formal)) or "none"))
        if name in credentials:
            raise BadRequest(f"{where}: '{name}' is a credential parameter; it cannot be given as text")
        if name == JOB_TO_RESTART:
            raise BadRequest(f"{where}: the restart sets it to the job it restarts")
        launch.parameters[name] = value


def _carry_credentials(client: Any, launch: Launch, left_out: Sequence[Any],
                       formals: Sequence[Mapping[str, Any]]) -> None:
    required = {str(f.get("formalParameterName", "")) for f in formals
                if str(f.get("required", "")).strip().lower() in ("1", "true")}
    values = dict(actual_parameters(launch.job))
    for item in left_out:
        if item.why != CREDENTIAL:
            launch.left_out.append((item.name, LEFT_OUT_REASONS[item.why]))
            continue
        value = values.get(item.name, "")
        if stored_credential(client, launch.project, value):
            launch.credential_references.append({"name": item.name, "value": value.strip()})
        elif item.name in required:
            raise Refused(f"credential parameter '{item.name}' cannot be carried: its value names no stored "
                          f"credential and procedure '{launch.procedure}' requires it; run the job yourself "
                          "and give it, or give it a stored credential")
        else:
            launch.left_out.append((item.name, CREDENTIAL_LEFT_OUT))


# ---------------------------------------------------------------------------------------- the launch


def _job_ids(jobs: Sequence[Mapping[str, Any]]) -> Set[str]:
    return {str(j.get("jobId", "")) for j in jobs}


def _matches(job: Mapping[str, Any], parameters: Mapping[str, str]) -> bool:
    have = dict(actual_parameters(job))
    return all(have.get(name, "") == value for name, value in parameters.items())


def find_launched(client: Any, launch: Launch, before: Set[str],
                  sleep: Callable[[float], None] = time.sleep) -> str:
    """The id of the job our launch started: new since `before`, with our parameters; "" if none or many."""
    for delay in LOOKUP_DELAYS:
        sleep(delay)
        fresh = [j for j in client.get_jobs(launch.project, launch.procedure, LOOKUP_WINDOW)
                 if str(j.get("jobId", "")) not in before and _matches(j, launch.parameters)]
        if len(fresh) == 1:
            return str(fresh[0]["jobId"])
        if len(fresh) > 1:
            return ""  # more than one candidate: which one is ours cannot be told
    return ""


def _launch(client: Any, launch: Launch, sleep: Callable[[float], None]) -> None:
    before = _job_ids(client.get_jobs(launch.project, launch.procedure, LOOKUP_WINDOW))
    try:
        launch.new_job_id = client.run_procedure(launch.project, launch.procedure, launch.parameters,
                                                 launch.credential_references)
        return
    except CommanderApiError as exc:
        if not exc.may_have_acted:
            raise
        lost = exc
    try:
        found = find_launched(client, launch, before, sleep)
    except CommanderApiError:  # the look-up failed too: whether a job started is unknown
        found = ""
    if not found:
        target = launch.parameters.get(JOB_TO_RESTART, "")
        raise LaunchUnknown(
            f"the launch of {launch.project}/{launch.procedure} may have started a job ({lost.message}), and "
            f"none was found: look for a new job with {JOB_TO_RESTART}={target} before restarting again; "
            "the claim on the job stays for 10 minutes")
    launch.new_job_id = found
    launch.found_after_lost_reply = True


def restart(client: Any, request: RestartRequest, show: Callable[[RestartPlan], None],
            on_launched: Callable[[str], None] = lambda job_id: None,
            sleep: Callable[[float], None] = time.sleep) -> Launch:
    """Check, plan, show the plan, launch (not when dry_run); returns what was done.

    `on_launched` hears the new job's id as soon as it is known, before the writes that follow. What the
    checks and the plan read goes in one round trip (`prefetch`).
    """
    if Prefetched.can_batch(client) and not isinstance(client, Prefetched):
        client = Prefetched(client)
    launch = prepare(client, request)
    from_step = request.from_step.strip()
    if request.dry_run:
        launch.plan = plan_restart(client, launch.job, launch.parameters, from_step)
        show(launch.plan)
        return launch
    try:
        held: Optional[Claim] = claim(client, launch.job_id, request.holder)
    except AlreadyClaimed as exc:
        raise Refused(f"job {job_label(launch.job)} is already being restarted: {exc}") from None
    try:
        ensure_failure_point(client, launch.job)
        pending = ec_resume_path(launch.job_id, "pendingFromStep")
        if from_step:  # read by the new job's steps until its own fromStep is written: no race
            client.set_property(pending, from_step, expandable=False)
        else:
            client.delete_property(pending)  # left by a restart that died: it would make more steps run
        if isinstance(client, Prefetched):  # the writes dropped some of the properties read ahead
            client.fetch(plan_reads(client, launch.job))
        launch.plan = plan_restart(client, launch.job, launch.parameters, from_step)
        show(launch.plan)
        try:
            _launch(client, launch, sleep)
        except LaunchUnknown:
            held = None  # keep the claim (and the start step): a job may be on its way
            raise
        except CommanderApiError:
            if from_step:  # nothing started: a start step left behind would apply to the next restart
                client.delete_property(pending)
            raise
        on_launched(launch.new_job_id)
        if from_step:
            client.set_property(ec_resume_path(launch.new_job_id, "fromStep"), from_step, expandable=False)
            client.delete_property(pending)
        if launch.parameters.get(JOB_TO_RESTART):
            record_lineage(client, launch.new_job_id, launch.job_id, request.how)
    finally:
        if held is not None:
            release(client, held)
    return launch
