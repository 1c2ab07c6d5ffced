"""The resume rule (version 2), as pure functions that answer with records.

One rule, applied by the run condition (``dsl/properties/resume/runCondition.js``) at the start of each
step of the new job and predicted here for the plan; a test feeds both the same case table. Safety first:
when the rule cannot be sure that a step is done in an earlier job of the SAME project and procedure,
the step runs. `decide` walks the rule's steps in the run condition's order; the first that decides wins:

1. the current job's jobToRestart must be a plain job reference (no ``/``, ``[``, ``]``, ``$``, spaces);
2. that job must exist and not be the current job; 3. it must be a job of the same project and procedure;
4. it must be completed;
5. the step's names must all be addressable in a property path, and the path must lead back to this very
   step (leading names that do not belong, such as a named root step, are dropped);
   then a step the current job's ``ec_resume/runAgain/<path>`` names runs (ResumableStep could not
   restore what it produced in that job);
6. a step at, below, above or (by start time) after the start step runs;
7. in that job, then back through the chain of restarts: a step that started after the job's failure
   runs, and so does every step of a job with no record of its failure point (unless the rule setting
   is ``perStep``); a done outcome skips, ``skipped`` follows the job's own
   jobToRestart, anything else runs.

The answer is a `Decision`; putting it into words is the report's job.
"""

from __future__ import annotations

from collections import abc
from enum import Enum

from .job_steps import (
    JOB_STEPS_JOINER,
    StepRecord,
    addressable_raw_steps,
    is_mapping,
    is_odd_name,
    walk_steps,
)
from .records import field, record_type

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import (
        Any,
        Callable,
        Dict,
        FrozenSet,
        Iterator,
        Mapping,
        Optional,
        Sequence,
        Set,
        Tuple,
    )

DEFAULT_DONE_OUTCOMES: FrozenSet[str] = frozenset({"success"})
DEFAULT_MAX_DEPTH = 10
MAX_NESTING = 100  # the run condition gives up on deeper step trees (and runs the step)
JOB_TO_RESTART = "jobToRestart"
RUN_AGAIN = "ec_resume/runAgain"  # below the current job: <step path> -> why that step must run
PLUGIN_KEY = "EC-Resume"
RESTART_LINK_PROCEDURE = "CreateRestartLink"
RULE_AFTER_FAILURE, RULE_PER_STEP = "afterFailure", "perStep"
# ec_resume/failedAt of a job none of whose steps failed. Empty or missing: nobody recorded the failure
# point (a job restarted by hand, without CreateRestartLink), so under afterFailure every step runs.
NO_FAILURE = "none"
COMPLETED = "completed"
SKIPPED = "skipped"
# What a job reference (an id or a job name) may look like: nothing that could change the property path.
# ASCII letters, digits and _, then . : - too (the run condition's /^\w(\w|\.|:|-)*$/). Sets, not a regex:
# compiling one cost every step that loads the rule some 0.3 ms.
JOB_REFERENCE_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
JOB_REFERENCE_CHARACTERS = JOB_REFERENCE_START | frozenset(".:-")


# ------------------------------------------------------------------------------------------- settings


def _squeezed(text: Optional[str]) -> str:
    return "".join((text or "").lower().split())  # split() drops what regex \s matches, the same set


def parse_done_outcomes(text: Optional[str]) -> FrozenSet[str]:
    """"success, Warning" -> {"success", "warning"}; blank means the default (success).

    As the run condition reads it: lower case, all white space dropped, split at commas.
    """
    if not (text or "").strip():
        return DEFAULT_DONE_OUTCOMES
    return frozenset(part for part in _squeezed(text).split(",") if part)


def parse_max_depth(text: Optional[str]) -> int:
    """resume/maxChainDepth; anything but a positive decimal integer means the default."""
    value = (text or "").strip()
    if not (value.isascii() and value.isdigit()) or int(value) < 1:  # [0-9]+: isdigit alone takes "²"
        return DEFAULT_MAX_DEPTH
    return int(value)


def parse_rule(text: Optional[str]) -> str:
    """resume/rule: ``perStep`` (any case) is the old per-step rule; anything else the safe default."""
    return RULE_PER_STEP if _squeezed(text) == RULE_PER_STEP.lower() else RULE_AFTER_FAILURE


@record_type
class RuleSettings:
    done_outcomes: FrozenSet[str] = DEFAULT_DONE_OUTCOMES  # lower case
    max_depth: int = DEFAULT_MAX_DEPTH
    rule: str = RULE_AFTER_FAILURE

    @classmethod
    def parse(cls, done_outcomes: Optional[str], max_depth: Optional[str],
              rule: Optional[str]) -> RuleSettings:
        """From the texts the run condition reads (the job's resumeDoneOutcomes already preferred)."""
        return cls(parse_done_outcomes(done_outcomes), parse_max_depth(max_depth), parse_rule(rule))


DEFAULT_SETTINGS = RuleSettings()


def settings_for(done_outcomes_parameter: str, read_setting: Callable[[str], Optional[str]]) -> RuleSettings:
    """The settings as the run condition reads them: the job's resumeDoneOutcomes before the plugin's
    doneOutcomes; `read_setting` answers a plugin setting by name (None when missing)."""
    done = done_outcomes_parameter.strip() or (read_setting("doneOutcomes") or "")
    return RuleSettings.parse(done, read_setting("maxChainDepth"), read_setting("rule"))


# -------------------------------------------------------------------------------------------- records


@record_type(slots=True)
class StepFacts:
    """One step of a job, as its properties read (``/jobs/<id>/jobSteps/<path>/...``)."""

    outcome: str = ""
    start: str = ""  # the server's own timestamp, compared as text [U] one format throughout
    job_step_id: str = ""


@record_type
class JobFacts:
    """What the rule reads of one job. Text values are as read (expanded), "" when missing or unreadable."""

    job_id: str
    project: str = ""
    procedure: str = ""
    status: str = ""
    label: str = ""  # the job's name, for the words of a plan
    job_to_restart: str = ""
    steps: Mapping[str, StepFacts] = field(default_factory=dict)  # by path; addressable steps only
    from_step: str = ""  # ec_resume/fromStep
    pending_from_step: str = ""  # ec_resume/pendingFromStep
    failed_at: str = ""  # ec_resume/failedAt
    failed_step: str = ""  # ec_resume/failedStep
    done_outcomes: str = ""  # the resumeDoneOutcomes parameter (read for the current job only)
    # Paths under ec_resume/runAgain (current job only): a plugin step could not restore what the step
    # produced (ResumableStep's outputs), so it runs again.
    run_again: FrozenSet[str] = frozenset()


# The job properties the rule reads, relative to the job (``/jobs/<id>/<name>``).
JOB_PROPERTIES = {"from_step": "ec_resume/fromStep", "pending_from_step": "ec_resume/pendingFromStep",
                  "failed_at": "ec_resume/failedAt", "failed_step": "ec_resume/failedStep",
                  "job_to_restart": JOB_TO_RESTART, "done_outcomes": "resumeDoneOutcomes"}


def step_facts(records: Mapping[str, StepRecord]) -> Dict[str, StepFacts]:
    return {path: StepFacts(r.outcome, r.start, r.job_step_id) for path, r in records.items()}


_ABSENT = object()


class StepsView(abc.Mapping):
    """A job's steps by path as StepFacts, each made when asked for from what `source` holds for its path
    (`make(path, held)`): a plan of thousands of steps asks for few of them (those it decides, not those
    inside a skipped call), so the facts of the others are never made."""

    __slots__ = ("_source", "_make")

    def __init__(self, source: Mapping[str, Any], make: Callable[[str, Any], StepFacts]) -> None:
        self._source, self._make = source, make

    def __getitem__(self, path: str) -> StepFacts:
        return self._make(path, self._source[path])

    def get(self, path: str, default: Any = None) -> Any:
        held = self._source.get(path, _ABSENT)
        return default if held is _ABSENT else self._make(path, held)

    def __contains__(self, path: object) -> bool:
        return path in self._source

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


def _from_raw(path: str, step: Mapping[str, Any]) -> StepFacts:
    """A step's facts from its getJobDetails object, as its StepRecord reads them (job_steps.step_record)."""
    get = step.get
    return StepFacts(str(get("outcome") or ""), str(get("start") or ""), str(get("jobStepId") or ""))


def job_facts(job: Mapping[str, Any], read: Callable[[str], Optional[str]],
              run_again_paths: Sequence[str] = ()) -> JobFacts:
    """A getJobDetails `job` and its properties; `read` takes a path below the job (``ec_resume/failedAt``)
    and answers its value as the run condition reads it (expanded), None when missing or unreadable."""

    def text(key: str) -> str:
        return str(job.get(key) or "").strip()

    properties = {key: (read(name) or "").strip() for key, name in JOB_PROPERTIES.items()}
    again = frozenset(p for p in run_again_paths if (read(RUN_AGAIN + "/" + p) or "").strip())
    return JobFacts(job_id=text("jobId"), project=text("projectName"), procedure=text("procedureName"),
                    status=text("status"), label=text("jobName") or text("jobId"),
                    steps=StepsView(addressable_raw_steps(job), _from_raw), run_again=again, **properties)


# ------------------------------------------------------------------------------------------- decision


class Reason(str, Enum):
    """Why the rule decided as it did; the value is the kind's name (the plan's `kind`)."""

    NO_JOB_TO_RESTART = "NO_JOB_TO_RESTART"  # jobToRestart is empty (or unreadable): a fresh run
    BAD_JOB_REFERENCE = "BAD_JOB_REFERENCE"  # not a plain job id or name
    JOB_NOT_FOUND = "JOB_NOT_FOUND"
    SAME_JOB = "SAME_JOB"  # jobToRestart names the current job
    OTHER_PROCEDURE = "OTHER_PROCEDURE"  # a job of another project or procedure
    JOB_NOT_COMPLETED = "JOB_NOT_COMPLETED"
    ODD_NAME = "ODD_NAME"  # a name with / [ ] $ cannot be addressed in a property path
    PATH_UNVERIFIED = "PATH_UNVERIFIED"  # the step's path does not lead back to this very step
    AT_OR_AFTER_START_STEP = "AT_OR_AFTER_START_STEP"
    RUN_AGAIN = "RUN_AGAIN"  # the current job's ec_resume/runAgain/<path> says so (outputs not restored)
    STEP_NOT_IN_JOB = "STEP_NOT_IN_JOB"  # new in the procedure, or a step that job never had
    RAN_AFTER_FAILURE = "RAN_AFTER_FAILURE"  # started after a step of that job failed
    FAILURE_POINT_UNKNOWN = "FAILURE_POINT_UNKNOWN"  # that job has no ec_resume/failedAt record
    DONE = "DONE"  # its outcome there is a done outcome: the one reason to skip
    NOT_DONE = "NOT_DONE"  # error, warning when not done, skipped with nothing behind it, ...
    NEVER_REACHED = "NEVER_REACHED"  # no start time there, outcome skipped, notRun or none
    LOOP = "LOOP"  # the chain of restarts comes back to a job already looked at
    CHAIN_TOO_LONG = "CHAIN_TOO_LONG"  # max_depth jobs looked at, and the last one points further back


@record_type
class Decision:
    """The rule's answer for one step."""

    done: bool
    kind: Reason
    job_id: str = ""  # the job the decision was made in
    outcome: str = ""  # the step's outcome there (lower case)
    detail: str = ""  # RAN_AFTER_FAILURE: the failed step; LOOP, CHAIN_TOO_LONG: the job pointed at


def run(kind: Reason, job_id: str = "", outcome: str = "", detail: str = "") -> Decision:
    return Decision(False, kind, job_id, outcome, detail)


def is_job_reference(text: str) -> bool:
    return bool(text) and text[0] in JOB_REFERENCE_START and JOB_REFERENCE_CHARACTERS.issuperset(text)


if TYPE_CHECKING:  # for the annotations only, which are never evaluated
    JobLookup = Callable[[str], Optional[JobFacts]]  # a job by reference (id or name); None when missing


def usable_job(ref: str, current: JobFacts, jobs: JobLookup) -> Tuple[Optional[JobFacts], Optional[Reason]]:
    """Steps 1-4 of the rule for a job reference: the job, or why it cannot be the job to restart."""
    ref = ref.strip()
    if not ref:
        return None, Reason.NO_JOB_TO_RESTART
    if not is_job_reference(ref):
        return None, Reason.BAD_JOB_REFERENCE
    job = jobs(ref)
    if job is None or not job.job_id:
        return None, Reason.JOB_NOT_FOUND
    if job.job_id == current.job_id:
        return None, Reason.SAME_JOB
    if (job.project, job.procedure) != (current.project, current.procedure):
        return None, Reason.OTHER_PROCEDURE
    if job.status != COMPLETED:
        return None, Reason.JOB_NOT_COMPLETED
    return job, None


def verified_path(names: Sequence[str], job_step_id: str, current: JobFacts) -> Optional[str]:
    """Step 5: the path of the step, from the first k whose names[k:] leads back to `job_step_id`."""
    if not job_step_id:
        return None
    for k in range(len(names)):
        candidate = JOB_STEPS_JOINER.join(names[k:])
        found = current.steps.get(candidate)
        if found is not None and found.job_step_id == job_step_id:
            return candidate
    return None


def _after_start_step(path: str, job: JobFacts, current: JobFacts) -> bool:
    """Step 6: the step is the start step, inside it, a call around it, or started after it."""
    start_step = current.from_step or job.pending_from_step
    if not start_step:
        return False
    if (path == start_step or path.startswith(start_step + JOB_STEPS_JOINER)
            or start_step.startswith(path + JOB_STEPS_JOINER)):
        return True
    from_facts = job.steps.get(start_step)
    if from_facts is None or not from_facts.start:
        return True  # the start step never started there: nothing can be ordered before it
    own = job.steps.get(path)
    if own is not None and own.outcome.strip() and not own.start:
        return True  # in the job but never started: cannot be ordered before the start step
    return own is not None and own.start >= from_facts.start


def decide(names: Sequence[str], job_step_id: str, current: JobFacts, jobs: JobLookup,
           settings: RuleSettings = DEFAULT_SETTINGS) -> Decision:
    """Whether the current job's step (its names from the top down, and its id) is skipped.

    `current` is the new job (its steps by path, each with its job step id), `jobs` finds earlier jobs.
    """
    job, refused = usable_job(current.job_to_restart, current, jobs)
    if job is None:
        return run(refused or Reason.JOB_NOT_FOUND)
    if len(names) > MAX_NESTING or any(is_odd_name(name) for name in names):
        return run(Reason.ODD_NAME)
    path = verified_path(names, job_step_id, current)
    if path is None:
        return run(Reason.PATH_UNVERIFIED)
    if path in current.run_again:
        return run(Reason.RUN_AGAIN, job.job_id)
    if _after_start_step(path, job, current):
        return run(Reason.AT_OR_AFTER_START_STEP, job.job_id)
    return done_in_chain(path, job, current, jobs, settings)


def _caller_never_started(path: str, job: JobFacts) -> bool:
    """Whether a call step around `path` is in `job` but never started (so its steps were never made)."""
    names = path.split(JOB_STEPS_JOINER)
    for k in range(len(names) - 1, 0, -1):
        caller = job.steps.get(JOB_STEPS_JOINER.join(names[:k]))
        if caller is not None:
            return not caller.start
    return False


def done_in_chain(path: str, job: JobFacts, current: JobFacts, jobs: JobLookup,
                  settings: RuleSettings) -> Decision:
    """Step 7: the step's outcome in `job`, then back through the jobs it restarted."""
    visited: Set[str] = {current.job_id} if current.job_id else set()
    depth = 1
    while True:
        visited.add(job.job_id)
        facts = job.steps.get(path) or StepFacts()
        outcome = facts.outcome.strip().lower()
        if not outcome:
            if _caller_never_started(path, job):
                return run(Reason.NEVER_REACHED, job.job_id)
            return run(Reason.STEP_NOT_IN_JOB, job.job_id)
        if settings.rule != RULE_PER_STEP:
            failed_at = job.failed_at.strip()
            if not failed_at:
                return run(Reason.FAILURE_POINT_UNKNOWN, job.job_id, outcome)
            # A done step with no start time cannot be ordered before the failure either. The failed step
            # itself is not ordered against its own finish: one that ended in the millisecond it started
            # (or under a clock that stepped back) is still the failure, and runs as NOT_DONE.
            unordered = not facts.start and outcome in settings.done_outcomes
            if (failed_at != NO_FAILURE and path != job.failed_step
                    and (facts.start >= failed_at or unordered)):
                return run(Reason.RAN_AFTER_FAILURE, job.job_id, outcome, job.failed_step)
        if outcome in settings.done_outcomes:
            return Decision(True, Reason.DONE, job.job_id, outcome)
        if outcome == SKIPPED:
            earlier, refused = usable_job(job.job_to_restart, current, jobs)
            if earlier is not None and earlier.job_id in visited:
                return run(Reason.LOOP, job.job_id, outcome, earlier.job_id)
            if earlier is not None and depth >= settings.max_depth:
                return run(Reason.CHAIN_TOO_LONG, job.job_id, outcome, earlier.job_id)
            if earlier is not None:
                job, depth = earlier, depth + 1
                continue
            # SAME_JOB here is a loop through the current job itself
            if refused is Reason.SAME_JOB:
                return run(Reason.LOOP, job.job_id, outcome, current.job_id)
        if not facts.start and outcome in (SKIPPED, "notrun"):
            return run(Reason.NEVER_REACHED, job.job_id, outcome)
        return run(Reason.NOT_DONE, job.job_id, outcome)


# --------------------------------------------------------------------------------- the failure point


@record_type
class FailurePoint:
    """The step of a job that failed first: its path and finish timestamp (as the server gave it)."""

    path: str
    finish: str


def is_plugin_project(project: str) -> bool:
    # [U] A call of a plugin procedure names the called project as "<key>-<version>" (EC-Resume-1.0.0).
    return project == PLUGIN_KEY or project.startswith(PLUGIN_KEY + "-")


def _is_restart_link_call(step: Mapping[str, Any]) -> bool:
    called = step.get("calledProcedure")
    if called is None or not is_mapping(called):
        return False
    return (str(called.get("procedureName") or "") == RESTART_LINK_PROCEDURE
            and is_plugin_project(str(called.get("projectName") or "")))


def _is_error(outcome: str) -> bool:
    return outcome == "error" or (outcome != "success" and outcome.strip().lower() == "error")


def failure_point(job: Mapping[str, Any]) -> Optional[FailurePoint]:
    """The first step (by finish time) of a getJobDetails job whose outcome is error; None when none failed.

    EC-Resume's own CreateRestartLink call (and what it runs) is not part of the job's work. Among steps
    that finished at the same moment the deepest wins (a call ends when its failed child does), then job
    order; a failed step without a finish time comes after every timed one.
    """
    failed = []
    ignored: Tuple[str, ...] = ()
    # The steps' own objects as the walk gives them (what a StepRecord of each would read: its outcome and
    # finish as text), so that a job of 100,000 steps is walked with no record made per step.
    for order, (path, _, depth, step, _) in enumerate(walk_steps(job)):
        if ignored and any(path == p or path.startswith(p + JOB_STEPS_JOINER) for p in ignored):
            continue
        if "calledProcedure" in step and _is_restart_link_call(step):
            ignored += (path,)
            continue
        if _is_error(str(step.get("outcome") or "")):
            finish = str(step.get("finish") or "")
            failed.append(((finish == "", finish, -depth, order), path))
    if not failed:
        return None
    (_, finish, _, _), path = min(failed, key=lambda item: item[0])
    return FailurePoint(path=path, finish=finish)
