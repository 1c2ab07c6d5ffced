"""What `ec-resume status` and `ec-resume plan` print, as pure functions of records.

The plan (built by planning.plan_restart) asks `resume_rule.decide` about each step of the new job that
carries EC-Resume's run condition; this module adds what a person reading the plan needs: which steps
carry the condition at all, what a subprocedure call does as a whole, and the decisions in words
("succeeded in job_5", "ran after the failure of deploy").
"""

from __future__ import annotations

from .job_steps import no_cycle_collection, step_rows
from .records import field, record_type
from .resume_rule import Decision, Reason, is_plugin_project

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from datetime import datetime
    from typing import (
        Any,
        Callable,
        Dict,
        FrozenSet,
        Iterable,
        List,
        Mapping,
        Optional,
        Sequence,
        Tuple,
    )

# The references that make a step resumable. A user's step names the plugin's property; the plugin's own
# ResumableStep names it through /myProject, which only means EC-Resume inside the plugin's project.
PLUGIN_RUN_CONDITION = "$[/plugins/EC-Resume/project/resume/runCondition]"
PLUGIN_LOCAL_RUN_CONDITION = "$[/myProject/resume/runCondition]"

SKIP, RUN = "skip", "run"
RENDER_CHUNK = 2048  # plan lines put into words at a time
INDENT = "  "


def job_label(job: Mapping[str, Any]) -> str:
    """A job as people name it: its name, or its id when it has none."""
    return str(job.get("jobName") or job.get("jobId") or "?")


# ------------------------------------------------------------------------------------------- durations


# The datetime module, imported by the first parse_time: only a status shows durations, and the import
# would cost over 1 ms of every CreateRestartLink step, which imports this module for its plan. Kept here
# because an import statement in parse_time would double its cost for each step of a status.
_datetime: Any = None


def parse_time(text: Any) -> Optional[datetime]:
    """CD/RO's timestamps ("2024-01-31T12:34:56.789Z" [U]); None for anything else."""
    global _datetime
    if not isinstance(text, str) or not text.strip():
        return None
    if _datetime is None:
        import datetime as _datetime
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        moment = _datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_datetime.timezone.utc)


def format_seconds(seconds: float) -> str:
    if seconds < 0:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def duration(record: Mapping[str, Any]) -> str:
    """finish - start of a job or step; "" when it never started or has not finished."""
    start, finish = parse_time(record.get("start")), parse_time(record.get("finish"))
    if start is None or finish is None:
        return ""
    return format_seconds((finish - start).total_seconds())


def table(rows: Sequence[Sequence[str]]) -> List[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    if not rows:
        return []
    if len(rows[0]) == 3 and all(len(row) == 3 for row in rows):  # the plan's and the status's tables
        columns = list(zip(*rows))
        first, second = max(map(len, columns[0])), max(map(len, columns[1]))
        return [f"{a.ljust(first)}  {b.ljust(second)}  {c}".rstrip() for a, b, c in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append("  ".join(cells).rstrip())
    return lines


# ---------------------------------------------------------------------------------------------- status


def _state(record: Mapping[str, Any]) -> str:
    """The outcome once completed, else the status (running, pending, ...)."""
    status = str(record.get("status") or "")
    outcome = str(record.get("outcome") or "")
    if status == "completed" or (outcome and not status):
        return outcome or "completed"
    return status or "?"


def render_status(job: Mapping[str, Any]) -> str:
    """The status table of a job: every step indented by nesting, its outcome and duration."""
    header = (f"{job_label(job)} ({job.get('jobId', '')})  {job.get('projectName', '')}/"
              f"{job.get('procedureName', '')}  {_state(job)}")
    took = duration(job)
    rows = [["STEP", "OUTCOME", "DURATION"]]
    for row in step_rows(job):
        rows.append([INDENT * row.depth + row.record.step_name, _state(row.raw), duration(row.raw)])
    lines = [header + (f"  {took}" if took else "")] + table(rows)
    lines.append(f"outcome: {_state(job)}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ plan

# Kinds of plan lines that no rule decision makes (the others are resume_rule.Reason names).
NO_CONDITION = "NO_CONDITION"  # the step has no run condition: it always runs
OTHER_CONDITION = "OTHER_CONDITION"  # its own run condition, not EC-Resume's, decides afresh
INSIDE_SKIPPED_CALL = "INSIDE_SKIPPED_CALL"  # a skipped call runs none of its steps
PLUGIN_STEP = "PLUGIN_STEP"  # EC-Resume's own step inside ResumableStep, which ends skipped
CALL_STEPS = "CALL_STEPS"  # a call that runs: what it does is what its steps do


def has_resume_condition(condition: str, project: str) -> bool:
    """Whether a step's run condition (as written, unexpanded) is EC-Resume's, in a procedure of `project`."""
    if PLUGIN_RUN_CONDITION in condition:
        return True
    return is_plugin_project(project) and PLUGIN_LOCAL_RUN_CONDITION in condition


@record_type(slots=True)
class PlannedStep:
    """A step the new job will have, from the current procedure definition."""

    path: str
    name: str
    depth: int  # 0 for a top-level step; its names from the top down are made only for a decision
    condition: str  # the step's run condition as written ("" for none)
    project: str  # the project of the procedure the step belongs to
    children: Tuple[PlannedStep, ...] = ()
    is_call: bool = False
    bookkeeping: bool = False  # EC-Resume's own restart-link call or a step inside it
    ends_skipped: bool = False  # ResumableStep's restoreOutputs and recordOutputs: they end skipped

    @property
    def resumable(self) -> bool:
        return has_resume_condition(self.condition, self.project)


@record_type(slots=True)
class PlanLine:
    path: str
    name: str
    depth: int
    action: str  # SKIP or RUN
    reason: str  # in words
    kind: str  # a resume_rule.Reason name, or one of the kinds above
    is_leaf: bool  # a command step, or a call with no steps
    counted: bool = True  # False for EC-Resume's own restart-link step: not the job's work

    @property
    def counts_as(self) -> str:
        """SKIP or RUN when the line counts in the plan's totals, else ""."""
        return self.action if self.is_leaf and self.counted else ""


@record_type(frozen=False)
class RestartPlan:
    job_id: str
    job_name: str
    lines: List[PlanLine] = field(default_factory=list)
    done_outcomes: FrozenSet[str] = frozenset()
    max_depth: int = 0
    rule: str = ""
    chain: List[str] = field(default_factory=list)  # names of the jobs read, the restarted one first

    def _count(self, action: str) -> int:
        return sum(1 for line in self.lines if line.action == action and line.is_leaf and line.counted)

    @property
    def skip_count(self) -> int:
        """Steps of the job's work that the restart skips (EC-Resume's restart-link step is not one)."""
        return self._count(SKIP)

    @property
    def run_count(self) -> int:
        return self._count(RUN)

    def counts(self) -> str:
        """"skip N steps and run M": the work steps (as the demo counts them)."""
        skipped = self.skip_count
        return f"skip {skipped} step{'' if skipped == 1 else 's'} and run {self.run_count}"

    def summary(self) -> str:
        return f"restart of {self.job_name} would {self.counts()}"

    def to_json(self) -> Dict[str, Any]:
        """`plan --json`: the job being restarted and each step in job order."""
        with no_cycle_collection():
            return self._json()

    def _json(self) -> Dict[str, Any]:
        return {"jobId": self.job_id,
                "steps": [{"path": line.path, "action": line.action, "reason": line.reason}
                          for line in self.lines]}


def explain(decision: Decision, labels: Mapping[str, str], max_depth: int = 0) -> str:
    """A decision in words; `labels` names jobs by id (a job not in it is named by its id)."""
    kind, outcome = decision.kind, decision.outcome
    job = labels.get(decision.job_id) or (f"job {decision.job_id}" if decision.job_id else "the job")
    if kind is Reason.DONE:
        return f"succeeded in {job}" if outcome == "success" else f"{outcome} in {job}"
    if kind is Reason.NOT_DONE:
        return "failed" if outcome == "error" else f"{outcome} in {job}"
    if kind is Reason.RAN_AFTER_FAILURE:
        return f"ran after the failure of {decision.detail or 'a step'} in {job}"
    if kind is Reason.CHAIN_TOO_LONG:
        return f"restart chain longer than {max_depth} jobs" if max_depth else "restart chain too long"
    if kind is Reason.LOOP:
        return f"the chain of restarts loops back to {labels.get(decision.detail) or decision.detail}"
    return WORDS[kind]


WORDS = {
    Reason.NO_JOB_TO_RESTART: "no job to restart (jobToRestart is empty)",
    Reason.BAD_JOB_REFERENCE: "jobToRestart is not a job id or name",
    Reason.JOB_NOT_FOUND: "the job to restart was not found",
    Reason.SAME_JOB: "jobToRestart names the job itself",
    Reason.OTHER_PROCEDURE: "not a job of this procedure",
    Reason.JOB_NOT_COMPLETED: "the job to restart has not completed",
    Reason.ODD_NAME: "name cannot be addressed in a property path; it always runs",
    Reason.PATH_UNVERIFIED: "its path does not lead back to the step",
    Reason.AT_OR_AFTER_START_STEP: "at or after the start step",
    Reason.RUN_AGAIN: "what it produced could not be restored, so it runs again",
    Reason.STEP_NOT_IN_JOB: "new in the procedure",
    Reason.NEVER_REACHED: "never reached",
    Reason.FAILURE_POINT_UNKNOWN: ("the job has no record of where it failed (no CreateRestartLink step): "
                                   "what ran after a failure cannot be told apart"),
}


def plan_lines(steps: Iterable[PlannedStep], decide: Callable[[PlannedStep, Tuple[str, ...]], Decision],
               labels: Mapping[str, str], max_depth: int = 0) -> List[PlanLine]:
    """The plan's lines in job order: each step's own decision, and what a call does as a whole.
    `decide` takes the step and its names from the top down."""
    planner = _LinePlanner(decide, labels, max_depth)
    for step in steps:
        planner.visit(step, ())
    return planner.lines


def _line(step: PlannedStep, action: str, reason: str, kind: str) -> PlanLine:
    return PlanLine(step.path, step.name, step.depth, action, reason, kind, not step.children,
                    not step.bookkeeping)


class _LinePlanner:
    """plan_lines' walk. Methods, not nested functions: a nested function that calls itself is a reference
    cycle, which kept every line (and the rule's jobs and their steps) for the cyclic collector to find."""

    __slots__ = ("lines", "decide", "labels", "max_depth")

    def __init__(self, decide: Callable[[PlannedStep, Tuple[str, ...]], Decision], labels: Mapping[str, str],
                 max_depth: int) -> None:
        self.lines: List[PlanLine] = []
        self.decide, self.labels, self.max_depth = decide, labels, max_depth

    def skip_inside(self, step: PlannedStep, reason: str) -> None:
        add = self.lines.append
        for child in step.children:
            add(PlanLine(child.path, child.name, child.depth, SKIP, reason, INSIDE_SKIPPED_CALL,
                         not child.children, not child.bookkeeping))
            if child.children:
                self.skip_inside(child, reason)

    def own_decision(self, step: PlannedStep, names: Tuple[str, ...]) -> Tuple[str, str, str]:
        if step.ends_skipped:
            return SKIP, "EC-Resume's own step: it ends skipped (its summary says what it did)", PLUGIN_STEP
        if step.resumable:
            decision = self.decide(step, names)
            return ((SKIP if decision.done else RUN), explain(decision, self.labels, self.max_depth),
                    decision.kind.name)
        if step.condition.strip():
            return RUN, "not EC-Resume's run condition: its own condition decides afresh", OTHER_CONDITION
        return RUN, "no run condition: always runs", NO_CONDITION

    def visit(self, step: PlannedStep, above: Tuple[str, ...]) -> str:
        lines = self.lines
        names = above + (step.name,)
        action, reason, kind = self.own_decision(step, names)
        lines.append(_line(step, action, reason, kind))
        if action == SKIP and step.children:  # a skipped call runs none of its steps
            self.skip_inside(step, f"inside skipped {step.name}")
        if action == SKIP or not step.children:
            return action
        at = len(lines) - 1  # the call's line: replaced once its steps are planned
        running = sum(1 for child in step.children if self.visit(child, names) == RUN)
        count = sum(1 for child in step.children if not child.ends_skipped)
        # [U] A call whose steps are all skipped ends skipped itself (outcome roll-up).
        rollup = (f"all {count} of its steps skipped" if running == 0
                  else f"runs {running} of its {count} steps")
        if step.resumable:
            reason = f"{reason}; {rollup}"
        else:
            reason, kind = rollup, CALL_STEPS
        lines[at] = _line(step, SKIP if running == 0 else RUN, reason, kind)
        return lines[at].action


def render_plan(plan: RestartPlan) -> str:
    with no_cycle_collection():
        return _rendered(plan)


def _rendered(plan: RestartPlan) -> str:
    header = (f"plan: restart of {plan.job_name} ({plan.job_id}); done outcomes: "
              f"{', '.join(sorted(plan.done_outcomes))}; rule: {plan.rule}; "
              f"jobs read: {', '.join(plan.chain)} (at most {plan.max_depth})")
    # table()'s layout for the three columns, written straight from the lines (no row lists, no columns),
    # the widths in one pass over them.
    lines = plan.lines
    width = len(INDENT)
    first, second, deepest = len("ACTION"), len("STEP"), 0
    for line in lines:
        depth = line.depth
        if len(line.action) > first:
            first = len(line.action)
        if width * depth + len(line.name) > second:
            second = width * depth + len(line.name)
        if depth > deepest:
            deepest = depth
    indents = [INDENT * depth for depth in range(deepest + 1)]
    text = [header, f"{'ACTION'.ljust(first)}  {'STEP'.ljust(second)}  REASON"]
    # A chunk of lines at a time: each line's string lives only until its chunk is joined, so that a plan
    # of 100,000 steps does not hold 100,000 strings besides the text they make.
    for at in range(0, len(lines), RENDER_CHUNK):
        text.append("\n".join([
            f"{line.action.ljust(first)}  {(indents[line.depth] + line.name).ljust(second)}  {line.reason}"
            .rstrip() for line in lines[at:at + RENDER_CHUNK]]))
    text.append(plan.summary())
    return "\n".join(text) + "\n"
