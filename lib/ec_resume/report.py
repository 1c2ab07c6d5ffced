"""What `ec-resume status` and `ec-resume plan` print, as pure functions of getJobDetails `job` objects.

The plan asks `resume_rule.decide` (the Python mirror of ``resume/runCondition``) about each step that
carries EC-Resume's run condition; this module only adds what a person reading the plan needs: which
steps carry the condition at all, what a subprocedure call does as a whole, and the decisions in words
("skipped in job_7, success in job_5").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

from .job_steps import JOB_STEPS_JOINER, StepRow, step_rows
from .resume_rule import Decision, JobView, Reason, decide

# The references that make a step resumable. A user's step names the plugin's property; the plugin's own
# ResumableStep names it through /myProject, which only means EC-Resume inside the plugin's project.
PLUGIN_RUN_CONDITION = "$[/plugins/EC-Resume/project/resume/runCondition]"
PLUGIN_LOCAL_RUN_CONDITION = "$[/myProject/resume/runCondition]"
PLUGIN_KEY = "EC-Resume"

SKIP, RUN = "skip", "run"
INDENT = "  "


def job_label(job: Mapping[str, Any]) -> str:
    """A job as people name it: its name, or its id when it has none."""
    return str(job.get("jobName") or job.get("jobId") or "?")


# ------------------------------------------------------------------------------------------- durations


def parse_time(text: Any) -> Optional[datetime]:
    """CD/RO's timestamps ("2024-01-31T12:34:56.789Z" [U]); None for anything else."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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


def _table(rows: Sequence[Sequence[str]]) -> List[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    if not rows:
        return []
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
    lines = [header + (f"  {took}" if took else "")] + _table(rows)
    lines.append(f"outcome: {_state(job)}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ plan


@dataclass(frozen=True)
class PlanLine:
    path: str
    name: str
    depth: int
    action: str  # SKIP or RUN
    reason: str
    is_leaf: bool  # a command step, or a call whose steps the job never reached


@dataclass
class RestartPlan:
    job_id: str
    job_name: str
    lines: List[PlanLine] = field(default_factory=list)
    done_outcomes: FrozenSet[str] = frozenset()
    max_depth: int = 0
    chain: List[str] = field(default_factory=list)  # names of the jobs read, the restarted one first

    @property
    def skip_count(self) -> int:
        return sum(1 for line in self.lines if line.is_leaf and line.action == SKIP)

    @property
    def run_count(self) -> int:
        return sum(1 for line in self.lines if line.is_leaf and line.action == RUN)

    def summary(self) -> str:
        return f"restart of {self.job_name} would skip {self.skip_count} steps and run {self.run_count}"


def has_resume_condition(row: StepRow) -> bool:
    """Whether the step is gated by EC-Resume's run condition, from its `condition` field."""
    # [U] getJobDetails gives each job step its step's run condition as written, unexpanded.
    condition = str(row.raw.get("condition") or "")
    if PLUGIN_RUN_CONDITION in condition:
        return True
    # [U] A call of a plugin procedure names the called project as "<key>-<version>" (EC-Resume-1.0.0).
    in_plugin = row.project == PLUGIN_KEY or row.project.startswith(PLUGIN_KEY + "-")
    return in_plugin and PLUGIN_LOCAL_RUN_CONDITION in condition


def _never_reached(raw: Mapping[str, Any]) -> bool:
    # [U] A step an abort never reached has no start time; one its condition skipped has one.
    return not raw.get("start")


@dataclass(frozen=True)
class ReadJob:
    """A job of the chain, as the words of a decision need it."""

    label: str
    rows: Mapping[str, StepRow]  # by step path


def explain(path: str, decision: Decision, max_depth: int, read: Mapping[str, ReadJob]) -> str:
    """A decision in words, naming every job the chain passed through.

    `read` holds the jobs read, under every reference that reached them (id, or a job name).
    """
    reason, job = decision.reason, decision.job
    if reason is Reason.NO_JOB_TO_RESTART:
        return "no job to restart"
    if reason is Reason.JOB_NOT_FOUND:
        return f"job {job} not found"
    if reason is Reason.LOOP:
        return f"job {job} restarts itself in a loop"
    if reason is Reason.STEP_NOT_IN_JOB:
        return f"step not in job {job}"
    if reason is Reason.CHAIN_TOO_LONG:
        return f"restart chain longer than {max_depth} jobs"

    def name(ref: str) -> str:
        return read[ref].label if ref in read else f"job {ref}"

    outcome = decision.outcome or "no outcome"
    # The rule only walks on past "skipped": every job before the final one skipped this step.
    passed = [f"skipped in {name(ref)}" for ref in decision.skipped_in]
    row = read[job].rows.get(path) if job in read else None
    if decision.done:
        last = f"{outcome} in {name(job)}"
    elif outcome == "notRun":
        last = "never reached (notRun)"
    elif outcome == "skipped" and row is not None and _never_reached(row.raw):
        last = f"never reached (skipped) in {name(job)}"
    elif outcome == "skipped":
        last = f"skipped by its own condition in {name(job)}"
    else:
        last = f"{outcome} in {name(job)}"
    return ", ".join(passed + [last])


def build_plan(chain: Sequence[Mapping[str, Any]], views: Mapping[str, JobView],
               done_outcomes: Iterable[str], max_depth: int) -> RestartPlan:
    """What restarting chain[0] would do, step path by step path.

    `chain` holds the getJobDetails `job` objects read: the job to restart first, then the job it
    restarted, and so on; `views` maps every id (and every jobToRestart value used to reach a job) to
    its `JobView`.
    """
    job = chain[0]
    job_id = str(job.get("jobId", ""))
    done_set = frozenset(done_outcomes)
    read_by_id = {str(j.get("jobId", "")): ReadJob(job_label(j), {r.path: r for r in step_rows(j)})
                  for j in chain}
    read = {ref: read_by_id[view.job_id] for ref, view in views.items() if view.job_id in read_by_id}
    rows = list(read_by_id[job_id].rows.values())
    plan = RestartPlan(job_id=job_id, job_name=job_label(job), done_outcomes=done_set, max_depth=max_depth,
                       chain=[job_label(j) for j in chain])
    lines: Dict[str, PlanLine] = {}
    children: Dict[str, List[str]] = {}
    for row in rows:
        parent = row.path.rpartition(JOB_STEPS_JOINER)[0]
        children.setdefault(parent, []).append(row.path)

    def own_decision(row: StepRow) -> Tuple[str, str]:
        if not has_resume_condition(row):
            if str(row.raw.get("condition") or "").strip():
                return RUN, "not EC-Resume's run condition: its own condition decides afresh"
            return RUN, "no run condition: always runs"
        decision = decide(row.path, job_id, views, done_set, max_depth)
        return (SKIP if decision.done else RUN), explain(row.path, decision, max_depth, read)

    def visit(row: StepRow, inside_skipped: str) -> None:
        kids = [read_by_id[job_id].rows[p] for p in children.get(row.path, [])]
        leaf = not kids
        if inside_skipped:
            lines[row.path] = PlanLine(row.path, row.record.step_name, row.depth, SKIP,
                                       f"inside skipped {inside_skipped}", leaf)
            for kid in kids:
                visit(kid, inside_skipped)
            return
        action, reason = own_decision(row)
        if leaf:
            lines[row.path] = PlanLine(row.path, row.record.step_name, row.depth, action, reason, True)
            return
        if action == SKIP:  # a skipped call runs none of its steps
            lines[row.path] = PlanLine(row.path, row.record.step_name, row.depth, SKIP, reason, False)
            for kid in kids:
                visit(kid, row.record.step_name)
            return
        for kid in kids:
            visit(kid, "")
        running = sum(1 for kid in kids if lines[kid.path].action == RUN)
        # [U] A call whose steps are all skipped ends skipped itself (outcome roll-up).
        summary = (f"all {len(kids)} of its steps skipped" if running == 0
                   else f"runs {running} of its {len(kids)} steps")
        if has_resume_condition(row):
            summary = f"{reason}; {summary}"
        lines[row.path] = PlanLine(row.path, row.record.step_name, row.depth,
                                   SKIP if running == 0 else RUN, summary, False)

    for row in rows:
        if row.depth == 0:
            visit(row, "")
    plan.lines = [lines[row.path] for row in rows]
    return plan


def render_plan(plan: RestartPlan) -> str:
    header = (f"plan: restart of {plan.job_name} ({plan.job_id}); done outcomes: "
              f"{', '.join(sorted(plan.done_outcomes))}; jobs read: {', '.join(plan.chain)} "
              f"(at most {plan.max_depth})")
    rows = [["ACTION", "STEP", "REASON"]]
    rows += [[line.action, INDENT * line.depth + line.name, line.reason] for line in plan.lines]
    return "\n".join([header] + _table(rows) + [plan.summary()]) + "\n"
