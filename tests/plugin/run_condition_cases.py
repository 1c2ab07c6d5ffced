"""The resume rule's case table, as data, so that every evaluator decides the same cases: the run condition
under Rhino (rhino_harness.js), under the emulator's engine (tests/conformance), and the Python rule
(test_resume_rule.py), which must also name the expected reason kind.

A case holds jobs (id -> JobRecord: name, project, procedure, status, actual parameters, job properties
such as ``ec_resume/failedAt``, and a tree of steps with outcomes, start times and job step ids), the step
of the current job being decided (its names from the top down), how the server shows the parent of a
top-level step (``top_parent``), the plugin's settings and the expected decision: "true" (the step runs)
or "false" (skipped), with the Python rule's reason kind.

The property model every evaluator's getProperty follows (a real server's, as far as we know it [U]):
- ``/myJob/<rest>`` is the current job, ``/jobs/<id or name>/<rest>`` any job, and
  ``/plugins/EC-Resume/project/resume/<setting>`` a plugin setting;
- below a job: ``jobId``, ``jobName``, ``projectName``, ``procedureName``, ``status``, an actual parameter,
  a job property (``ec_resume/failedAt``), or ``jobSteps/<name>(/jobSteps/<name>)*/<field>`` with field
  ``outcome``, ``start``, ``finish`` or ``jobStepId``; the path is split at every ``/`` (so a step named
  ``x/jobSteps/y`` is never reached, call x's child y is);
- ``/myJobStep/jobStepId`` is the current step's id;
- a path with ``[`` or ``]`` throws (InvalidPropertyName); a value is expanded: each ``$[path]`` in it is
  replaced by that property's value, and a reference to a missing property throws;
- anything else is undefined (missing); with ``get_property_throws`` every read throws.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]
RUN_CONDITION_FILE = REPO / "dsl" / "properties" / "resume" / "runCondition.js"
SCRIPT_PREFIX = "$[/javascript "
SCRIPT_SUFFIX = "]"
CURRENT_JOB = "job-current"
PROJECT, PROCEDURE = "Shop", "Pipeline"
PLUGIN_SETTINGS = "/plugins/EC-Resume/project/resume/"
SEP = "/jobSteps/"
DEFAULT_PLUGIN = {"doneOutcomes": "success", "maxChainDepth": "10"}
TOP_PARENTS = ("none", "empty", "job", "rootStep")  # undefined, {}, the job object, a named root step
ROOT_STEP_NAME = PROCEDURE  # the emulator names the root step after the procedure [U]


def ts(second: float) -> str:
    """A server timestamp, `second` seconds into the test day (same format throughout [U])."""
    whole, millis = int(second), int(round((second % 1) * 1000))
    return f"2024-05-01T10:{whole // 60:02d}:{whole % 60:02d}.{millis:03d}Z"


NEVER = ""  # start of a step that never started
NO_FAILURE = "none"  # ec_resume/failedAt of a job that recorded that none of its steps failed


@dataclass(frozen=True)
class Step:
    """One job step; a step with children is a subprocedure call. start None: one second after the step
    before it in job order (see `timed`); finish: start + 0.5 s for a command, its last child's for a call."""

    name: str
    outcome: str = "success"
    children: Tuple[Step, ...] = ()
    start: Optional[str] = None
    finish: str = ""
    step_id: str = ""


def S(name: str, outcome: str = "success", *children: Step, start: Optional[str] = None) -> Step:
    return Step(name, outcome, tuple(children), start)


def timed(steps: Tuple[Step, ...], job_id: str) -> Tuple[Step, ...]:
    """Fill in start, finish and ids: the n-th started step in job order starts at second n."""
    clock = [0]

    def fill(step: Step, prefix: str) -> Step:
        path = prefix + SEP + step.name if prefix else step.name
        start = step.start
        if start is None:
            start = NEVER if step.outcome == "notRun" else ts(clock[0] + 1)
        if start:
            clock[0] += 1
        children = tuple(fill(child, path) for child in step.children)
        finish = step.finish
        if not finish and start:
            finished = [c.finish for c in children if c.finish]
            finish = max(finished) if finished else start.replace(".000Z", ".500Z")
        return replace(step, start=start, finish=finish, children=children,
                       step_id=step.step_id or f"{job_id}:{path}")

    return tuple(fill(step, "") for step in steps)


def walk(steps: Tuple[Step, ...], prefix: Tuple[str, ...] = ()) -> Iterator[Tuple[Tuple[str, ...], Step]]:
    for step in steps:
        names = prefix + (step.name,)
        yield names, step
        yield from walk(step.children, names)


def find(steps: Tuple[Step, ...], names: Tuple[str, ...]) -> Optional[Step]:
    return next((step for found, step in walk(steps) if found == names), None)


@dataclass(frozen=True)
class JobRecord:
    """What a job exposes to the rule. Steps are given untimed; `JobRecord.timed` fills the clock in."""

    params: Dict[str, str] = field(default_factory=dict)
    steps: Tuple[Step, ...] = ()
    # below the job: "ec_resume/failedAt" -> value. By default the job recorded that no step failed, as
    # CreateRestartLink writes it; a job without the record has its failure point unknown.
    props: Dict[str, str] = field(default_factory=lambda: {"ec_resume/failedAt": NO_FAILURE})
    name: str = ""
    project: str = PROJECT
    procedure: str = PROCEDURE
    status: str = "completed"

    def label(self, job_id: str) -> str:
        return self.name or f"job_{job_id}"


def failed_at(record: JobRecord, job_id: str, path: str) -> JobRecord:
    """`record` with ec_resume/failedAt and failedStep of its step at `path` (as CreateRestartLink writes)."""
    step = find(timed(record.steps, job_id), tuple(path.split(SEP)))
    assert step is not None, path
    return replace(record, props={**record.props, "ec_resume/failedAt": step.finish,
                                  "ec_resume/failedStep": path})


@dataclass(frozen=True)
class RunConditionCase:
    name: str
    step_path: Tuple[str, ...]  # names of the current job's step being decided, from the top down
    jobs: Dict[str, JobRecord]  # must hold CURRENT_JOB; its steps default to the calls down to step_path
    expected: str  # "true" = run, "false" = skip
    kind: str  # the Python rule's Reason name
    plugin: Dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PLUGIN))
    get_property_throws: bool = False
    top_parent: str = "none"
    step_id_mismatch: bool = False  # myJobStep.jobStepId is not the id its path leads to
    step_id_on_object: bool = True  # False: myJobStep has no jobStepId; /myJobStep/jobStepId has it

    def timed_jobs(self) -> Dict[str, Tuple[Step, ...]]:
        trees = {}
        for job_id, record in self.jobs.items():
            steps = record.steps
            if job_id == CURRENT_JOB and find(steps, self.step_path) is None:
                steps = _calls_down_to(self.step_path, steps)
            trees[job_id] = timed(steps, job_id)
        return trees

    def current_step(self) -> Step:
        step = find(self.timed_jobs()[CURRENT_JOB], self.step_path)
        assert step is not None
        return step

    def script_step_id(self) -> str:
        """The id the script finds on myJobStep (or, without one there, at /myJobStep/jobStepId)."""
        return "js-somewhere-else" if self.step_id_mismatch else self.current_step().step_id

    def script_names(self) -> Tuple[str, ...]:
        """The names the script collects walking myJobStep and its parents."""
        return ((ROOT_STEP_NAME,) if self.top_parent == "rootStep" else ()) + self.step_path

    def as_json(self) -> Dict[str, Any]:
        """The plain-data form the Rhino harness reads."""
        trees = self.timed_jobs()
        return {
            "name": self.name,
            "currentJob": CURRENT_JOB,
            "stepPath": list(self.step_path),
            "jobs": {job_id: {"jobName": job.label(job_id), "projectName": job.project,
                              "procedureName": job.procedure, "status": job.status,
                              "params": dict(job.params), "props": dict(job.props),
                              "steps": [_step_json(s) for s in trees[job_id]]}
                     for job_id, job in self.jobs.items()},
            "plugin": dict(self.plugin),
            "getPropertyThrows": self.get_property_throws,
            "topParent": self.top_parent,
            "rootStepName": ROOT_STEP_NAME,
            "stepIdMismatch": self.step_id_mismatch,
            "stepIdOnObject": self.step_id_on_object,
            "expected": self.expected,
        }


def _step_json(step: Step) -> Dict[str, Any]:
    return {"stepName": step.name, "outcome": step.outcome, "start": step.start, "finish": step.finish,
            "jobStepId": step.step_id, "children": [_step_json(c) for c in step.children]}


def _calls_down_to(names: Tuple[str, ...], steps: Tuple[Step, ...]) -> Tuple[Step, ...]:
    """`steps` plus the current step at `names` (running), inside calls created on the way."""
    if not names:
        return steps
    head = next((s for s in steps if s.name == names[0]), None)
    if head is None:
        head = Step(names[0], "", ())
        steps = steps + (head,)
    rebuilt = replace(head, outcome="", children=_calls_down_to(names[1:], head.children))
    return tuple(rebuilt if s is head else s for s in steps)


def read_run_condition() -> str:
    """The property file exactly as promotion stores it."""
    return RUN_CONDITION_FILE.read_text(encoding="utf-8")


def script_body(text: str) -> str:
    """The JavaScript inside ``$[/javascript ...]``, as the server hands it to its engine."""
    if not text.startswith(SCRIPT_PREFIX) or not text.endswith(SCRIPT_SUFFIX):
        raise ValueError(f"{RUN_CONDITION_FILE}: expected '{SCRIPT_PREFIX}<script>{SCRIPT_SUFFIX}' "
                         "with nothing before or after")
    return text[len(SCRIPT_PREFIX):-len(SCRIPT_SUFFIX)]


def cases_json(cases: List[RunConditionCase]) -> str:
    return json.dumps([case.as_json() for case in cases], ensure_ascii=False)


# ------------------------------------------------------------------ the property model, in Python


class PropertyFailure(Exception):
    """A read the server refuses (bad path, failed expansion): the script sees an exception."""


REFERENCE = re.compile(r"\$\[([^\]]*)\]")


class CaseWorld:
    """getProperty over a case's jobs, as the module docstring describes (the harness's twin)."""

    def __init__(self, case: RunConditionCase) -> None:
        self.case = case
        self.trees = case.timed_jobs()

    def job_id(self, ref: str) -> Optional[str]:
        if ref in self.case.jobs:
            return ref
        return next((i for i, j in self.case.jobs.items() if j.label(i) == ref), None)

    def details(self, job_id: str) -> Dict[str, Any]:
        """The job as getJobDetails answers it."""
        record = self.case.jobs[job_id]

        def step(s: Step) -> Dict[str, Any]:
            out: Dict[str, Any] = {"stepName": s.name, "jobStepId": s.step_id, "outcome": s.outcome,
                                   "status": "completed" if s.outcome else "running"}
            if s.start:
                out.update(start=s.start, finish=s.finish)
            if s.children:
                out["calledProcedure"] = {"projectName": PROJECT, "jobStep": [step(c) for c in s.children]}
            return out

        return {"jobId": job_id, "jobName": record.label(job_id), "projectName": record.project,
                "procedureName": record.procedure, "status": record.status,
                "actualParameter": [{"actualParameterName": k, "value": v} for k, v in record.params.items()],
                "jobStep": [step(s) for s in self.trees[job_id]]}

    def get_property(self, path: str, depth: int = 0) -> Optional[str]:
        if self.case.get_property_throws:
            raise PropertyFailure(f"getProperty unavailable: {path}")
        if "[" in path or "]" in path:
            raise PropertyFailure(f"InvalidPropertyName: {path}")
        value = self._raw(path)
        return None if value is None else self._expand(value, depth)

    def _expand(self, value: str, depth: int) -> str:
        def one(match: re.Match) -> str:
            found = self.get_property(match.group(1), depth + 1) if depth < 20 else None
            if found is None:
                raise PropertyFailure(f"cannot expand $[{match.group(1)}]")
            return found

        return REFERENCE.sub(one, value)

    def _raw(self, path: str) -> Optional[str]:
        if path.startswith(PLUGIN_SETTINGS):
            return self.case.plugin.get(path[len(PLUGIN_SETTINGS):])
        if path == "/myJobStep/jobStepId":
            return self.case.current_step().step_id
        parts = path.split("/")
        if len(parts) >= 3 and parts[:2] == ["", "myJob"]:
            job_id: Optional[str] = CURRENT_JOB
            rest = parts[2:]
        elif len(parts) >= 4 and parts[:2] == ["", "jobs"]:
            job_id, rest = self.job_id(parts[2]), parts[3:]
        else:
            return None
        if job_id is None:
            return None
        return self._below_job(job_id, rest)

    def _below_job(self, job_id: str, rest: List[str]) -> Optional[str]:
        record = self.case.jobs[job_id]
        if rest[0] == "jobSteps":
            return self._step_field(self.trees[job_id], rest)
        if len(rest) == 1:
            intrinsic = {"jobId": job_id, "jobName": record.label(job_id), "projectName": record.project,
                         "procedureName": record.procedure, "status": record.status}
            if rest[0] in intrinsic:
                return intrinsic[rest[0]]
            if rest[0] in record.params:
                return record.params[rest[0]]
        return record.props.get("/".join(rest))

    @staticmethod
    def _step_field(steps: Tuple[Step, ...], rest: List[str]) -> Optional[str]:
        step: Optional[Step] = None
        while len(rest) >= 3 and rest[0] == "jobSteps":
            step = next((s for s in steps if s.name == rest[1]), None)
            if step is None:
                return None
            steps, rest = step.children, rest[2:]
        if step is None or len(rest) != 1:
            return None
        values = {"outcome": step.outcome, "start": step.start, "finish": step.finish,
                  "jobStepId": step.step_id, "stepName": step.name}
        value = values.get(rest[0])
        return value or None


# -------------------------------------------------------------------------------------- the cases


def _restart(job_to_restart: str, **more: str) -> JobRecord:
    return JobRecord(params={"jobToRestart": job_to_restart, **more})


def _one_earlier(outcome: str, step: str = "build", current: Optional[JobRecord] = None,
                 **record: Any) -> Dict[str, JobRecord]:
    """The current job restarts job 'earlier', where the step at path `step` ended with `outcome`."""
    return {CURRENT_JOB: current or _restart("earlier"),
            "earlier": JobRecord(steps=_tree(step, outcome), **record)}


def _tree(path: str, outcome: str) -> Tuple[Step, ...]:
    """The calls down to one step at `path` ("a/jobSteps/b"), all with `outcome`."""
    names = path.split(SEP)
    step = S(names[-1], outcome)
    for name in reversed(names[:-1]):
        step = S(name, outcome, step)
    return (step,)


NESTED = "deploy/jobSteps/install/jobSteps/upload"
NESTED_NAMES = ("deploy", "install", "upload")
ODD_NAMES = ("Déployer \"prod\" l'étape", "上传 files")
ODD_PATH = SEP.join(ODD_NAMES)
UNADDRESSABLE = ("a/b", "br[ack]et", "[lead", "dollar$[", "$[/myJob/jobId]", "x/jobSteps/y")
GARBAGE = "; rm -rf / #" + "é&?=" * 20


def _chain(b_restarts_a: bool) -> Dict[str, JobRecord]:
    """Current job restarts C, C restarted B, B (maybe) restarted A; the step succeeded only in A."""
    return {CURRENT_JOB: _restart("C"),
            "C": JobRecord(params={"jobToRestart": "B"}, steps=(S("build", "skipped"),)),
            "B": JobRecord(params={"jobToRestart": "A" if b_restarts_a else ""},
                           steps=(S("build", "skipped"),)),
            "A": JobRecord(steps=(S("build"),))}


def _chain_from(outcome_in_c: str, b: Optional[JobRecord] = None) -> Dict[str, JobRecord]:
    """Current job restarts C, where the step ended with `outcome_in_c`; C restarted B, which did it."""
    return {CURRENT_JOB: _restart("C"),
            "C": JobRecord(params={"jobToRestart": "B"}, steps=(S("build", outcome_in_c),)),
            "B": b or JobRecord(steps=(S("build"),))}


def _plugin(**settings: str) -> Dict[str, str]:
    return {**DEFAULT_PLUGIN, **settings}


def _basic_cases() -> List[RunConditionCase]:
    C = RunConditionCase
    return [
        C("no jobToRestart parameter", ("build",),
          {CURRENT_JOB: JobRecord(), "earlier": JobRecord(steps=(S("build"),))}, "true", "NO_JOB_TO_RESTART"),
        C("empty jobToRestart", ("build",), _one_earlier("success", current=_restart("")), "true",
          "NO_JOB_TO_RESTART"),
        C("blank jobToRestart", ("build",), _one_earlier("success", current=_restart("  ")), "true",
          "NO_JOB_TO_RESTART"),
        C("success in restarted job -> skip", ("build",), _one_earlier("success"), "false", "DONE"),
        C("jobToRestart with surrounding spaces", ("build",),
          _one_earlier("success", current=_restart(" earlier\n")), "false", "DONE"),
        C("jobToRestart names the job by its name", ("build",),
          _one_earlier("success", current=_restart("job_earlier")), "false", "DONE"),
        C("warning is not done by default", ("build",), _one_earlier("warning"), "true", "NOT_DONE"),
        C("error -> run", ("build",), _one_earlier("error"), "true", "NOT_DONE"),
        C("skipped, restarted job was no restart -> run", ("build",), _one_earlier("skipped"), "true",
          "NOT_DONE"),
        C("notRun (abort never reached it) -> run", ("build",), _one_earlier("notRun"), "true",
          "NEVER_REACHED"),
        C("job sets resumeDoneOutcomes=success,warning", ("build",),
          _one_earlier("warning", current=_restart("earlier", resumeDoneOutcomes="success,warning")),
          "false", "DONE"),
        C("plugin doneOutcomes with spaces", ("build",), _one_earlier("warning"), "false", "DONE",
          plugin=_plugin(doneOutcomes=" success , Warning ")),
        C("job's resumeDoneOutcomes overrides the plugin's", ("build",),
          _one_earlier("warning", current=_restart("earlier", resumeDoneOutcomes="success")), "true",
          "NOT_DONE", plugin=_plugin(doneOutcomes="success,warning")),
        C("missing job -> run", ("build",), {CURRENT_JOB: _restart("no-such-job")}, "true", "JOB_NOT_FOUND"),
        C("missing step -> run", ("build",), _one_earlier("success", step="test"), "true", "STEP_NOT_IN_JOB"),
        C("three levels of nesting, success there -> skip", NESTED_NAMES, _one_earlier("success", NESTED),
          "false", "DONE"),
        C("three levels, top call step empty parent object", NESTED_NAMES, _one_earlier("success", NESTED),
          "false", "DONE", top_parent="empty"),
        C("same name at another level does not count", NESTED_NAMES, _one_earlier("success", "upload"),
          "true", "STEP_NOT_IN_JOB"),
        C("three levels, error there -> run", NESTED_NAMES, _one_earlier("error", NESTED), "true",
          "NOT_DONE"),
        C("spaces, quotes and non-ASCII names -> skip", ODD_NAMES, _one_earlier("success", ODD_PATH),
          "false", "DONE"),
        C("spaces, quotes and non-ASCII names, error -> run", ODD_NAMES, _one_earlier("error", ODD_PATH),
          "true", "NOT_DONE"),
        C("getProperty throws -> run", ("build",), _one_earlier("success"), "true", "NO_JOB_TO_RESTART",
          get_property_throws=True),
    ]


def _job_cases() -> List[RunConditionCase]:
    C = RunConditionCase
    cases = [
        C("job of another project -> run", ("build",), _one_earlier("success", project="Other"), "true",
          "OTHER_PROCEDURE"),
        C("job of another procedure -> run", ("build",), _one_earlier("success", procedure="Release"), "true",
          "OTHER_PROCEDURE"),
        C("procedure name differs only in case -> run", ("build",),
          _one_earlier("success", procedure=PROCEDURE.lower()), "true", "OTHER_PROCEDURE"),
        C("job not completed -> run", ("build",), _one_earlier("success", status="running"), "true",
          "JOB_NOT_COMPLETED"),
        C("jobToRestart names the current job -> run", ("build",),
          {CURRENT_JOB: JobRecord(params={"jobToRestart": CURRENT_JOB}, steps=(S("build"),))}, "true",
          "SAME_JOB"),
        C("jobToRestart $[/myJob/jobId] expands to the current job -> run", ("build",),
          _one_earlier("success", current=_restart("$[/myJob/jobId]")), "true", "SAME_JOB"),
        C("jobToRestart $[/myJob/x] fails to expand -> run", ("build",),
          _one_earlier("success", current=_restart("$[/myJob/x]")), "true", "NO_JOB_TO_RESTART"),
        C("jobToRestart is a property path -> run", ("build",),
          _one_earlier("success", current=_restart("/jobs/earlier")), "true", "BAD_JOB_REFERENCE"),
        C("jobToRestart with a step path in it -> run", ("build",),
          _one_earlier("success", current=_restart("earlier/jobSteps/build")), "true", "BAD_JOB_REFERENCE"),
        C("jobToRestart garbage -> run", ("build",), _one_earlier("success", current=_restart(GARBAGE)),
          "true", "BAD_JOB_REFERENCE"),
        C("jobToRestart 10 KB of one letter -> run", ("build",),
          _one_earlier("success", current=_restart("e" * 10240)), "true", "JOB_NOT_FOUND"),
        C("jobToRestart 10 KB of garbage -> run", ("build",),
          _one_earlier("success", current=_restart((GARBAGE * 200)[:10240])), "true", "BAD_JOB_REFERENCE"),
    ]
    for name in UNADDRESSABLE:
        cases.append(C(f"step named {name!r}, success there -> run", (name,),
                       {CURRENT_JOB: _restart("earlier"), "earlier": JobRecord(steps=(S(name),))},
                       "true", "ODD_NAME"))
    cases.append(C("a step inside a call named 'br[ack]et' -> run", ("br[ack]et", "upload"),
                   {CURRENT_JOB: _restart("earlier"),
                    "earlier": JobRecord(steps=(S("br[ack]et", "success", S("upload")),))},
                   "true", "ODD_NAME"))
    # A top-level step named "x/jobSteps/y" beside call x with child y: only the child is addressable.
    odd, call = S("x/jobSteps/y"), S("x", "error", S("y", "error"))
    both_current = JobRecord(params={"jobToRestart": "earlier"},
                             steps=(Step("x/jobSteps/y", ""), Step("x", "", (Step("y", ""),))))
    cases += [
        C("call x child y failed, top-level 'x/jobSteps/y' succeeded -> run", ("x", "y"),
          {CURRENT_JOB: both_current, "earlier": JobRecord(steps=(odd, call))}, "true", "NOT_DONE"),
        C("call x child y succeeded, top-level 'x/jobSteps/y' failed -> skip", ("x", "y"),
          {CURRENT_JOB: both_current,
           "earlier": JobRecord(steps=(S("x/jobSteps/y", "error"), S("x", "success", S("y"))))},
          "false", "DONE"),
        C("child y of x, only a top-level 'x/jobSteps/y' there -> run", ("x", "y"),
          {CURRENT_JOB: _restart("earlier"), "earlier": JobRecord(steps=(odd,))}, "true", "STEP_NOT_IN_JOB"),
        C("top-level 'x/jobSteps/y', call x child y succeeded -> run", ("x/jobSteps/y",),
          {CURRENT_JOB: both_current, "earlier": JobRecord(steps=(S("x", "success", S("y")),))},
          "true", "ODD_NAME"),
    ]
    return cases


def _path_cases() -> List[RunConditionCase]:
    C = RunConditionCase
    return [
        C("named root step above the top-level steps, success -> skip", ("build",), _one_earlier("success"),
          "false", "DONE", top_parent="rootStep"),
        C("named root step, error -> run", ("build",), _one_earlier("error"), "true", "NOT_DONE",
          top_parent="rootStep"),
        C("named root step, three levels, success -> skip", NESTED_NAMES, _one_earlier("success", NESTED),
          "false", "DONE", top_parent="rootStep"),
        C("named root step, the root's name is also a top-level call -> skip", (PROCEDURE, "build"),
          _one_earlier("success", f"{PROCEDURE}{SEP}build"), "false", "DONE", top_parent="rootStep"),
        C("the job above the top-level steps -> skip", NESTED_NAMES, _one_earlier("success", NESTED), "false",
          "DONE", top_parent="job"),
        C("path does not lead back to this step -> run", ("build",), _one_earlier("success"), "true",
          "PATH_UNVERIFIED", step_id_mismatch=True),
        C("step id only at /myJobStep/jobStepId -> skip", ("build",), _one_earlier("success"), "false",
          "DONE", step_id_on_object=False),
    ]


# The job restarted in the start-step and failure cases: build, test, deploy (a call: prepare, upload),
# smoke, one after the other, all succeeded unless a case says otherwise.
def _pipeline(**outcomes: str) -> Tuple[Step, ...]:
    def o(name: str) -> str:
        return outcomes.get(name, "success")

    return (S("build", o("build")), S("test", o("test")),
            S("deploy", o("deploy"), S("prepare", o("prepare")), S("upload", o("upload"))),
            S("smoke", o("smoke")))


def _from(start_step: str, current: Tuple[str, ...], expected: str, kind: str, name: str,
          pending: bool = False, earlier: Optional[JobRecord] = None) -> RunConditionCase:
    earlier = earlier or JobRecord(steps=_pipeline())
    if pending:
        jobs = {CURRENT_JOB: _restart("earlier"),
                "earlier": replace(earlier, props={**earlier.props, "ec_resume/pendingFromStep": start_step})}
    else:
        jobs = {CURRENT_JOB: replace(_restart("earlier"), props={"ec_resume/fromStep": start_step}),
                "earlier": earlier}
    return RunConditionCase(name, current, jobs, expected, kind)


def _start_step_cases() -> List[RunConditionCase]:
    up, prep = ("deploy", "upload"), ("deploy", "prepare")
    unreached = JobRecord(steps=_pipeline()[:3] + (S("smoke", "skipped", start=NEVER),))
    return [
        _from("test", ("test",), "true", "AT_OR_AFTER_START_STEP", "the start step itself runs"),
        _from("test", ("smoke",), "true", "AT_OR_AFTER_START_STEP",
              "a step started after the start step runs"),
        _from("test", ("build",), "false", "DONE", "a step started before the start step is skipped"),
        _from("deploy", up, "true", "AT_OR_AFTER_START_STEP", "a step inside the start step runs"),
        _from(f"deploy{SEP}upload", ("deploy",), "true", "AT_OR_AFTER_START_STEP",
              "the call around the start step runs"),
        _from(f"deploy{SEP}upload", prep, "false", "DONE",
              "an earlier sibling of a nested start step is skipped"),
        _from(f"deploy{SEP}prepare", up, "true", "AT_OR_AFTER_START_STEP",
              "a later sibling of a nested start step runs"),
        _from("test", ("smoke",), "true", "AT_OR_AFTER_START_STEP",
              "pendingFromStep of the restarted job: a later step runs", pending=True),
        _from("test", ("build",), "false", "DONE",
              "pendingFromStep of the restarted job: an earlier step is skipped", pending=True),
        _from("nosuch", ("build",), "true", "AT_OR_AFTER_START_STEP",
              "a start step the job never had: every step runs"),
        _from("test", ("smoke",), "true", "AT_OR_AFTER_START_STEP",
              "a step there that never started cannot be ordered: runs", earlier=unreached),
    ]


def _failed_pipeline(job_id: str = "earlier", rule_steps: Optional[Tuple[Step, ...]] = None,
                     **record: Any) -> JobRecord:
    """build, test, deploy (prepare, upload failed), smoke (ran after the failure) as CreateRestartLink
    leaves the job: ec_resume/failedAt = upload's finish."""
    steps = rule_steps or _pipeline(deploy="error", upload="error")
    return failed_at(JobRecord(steps=steps, **record), job_id, f"deploy{SEP}upload")


def _failure_cases() -> List[RunConditionCase]:
    C = RunConditionCase
    failed = {CURRENT_JOB: _restart("earlier"), "earlier": _failed_pipeline()}
    # lint ran beside the failed upload (parallel), started before upload finished at second 5.5
    parallel_steps = (S("build"), S("test"),
                      S("deploy", "error", S("prepare"), S("upload", "error"),
                        S("lint", "success", start=ts(5.2)), S("late", "success", start=ts(5.5))),
                      S("smoke"))
    parallel = {CURRENT_JOB: _restart("earlier"), "earlier": _failed_pipeline(rule_steps=parallel_steps)}
    # C failed at deploy/upload, smoke skipped after that; C restarted B, where smoke succeeded in time.
    c_steps = _pipeline(build="skipped", smoke="skipped", deploy="error", upload="error")
    c_after = _failed_pipeline("C", c_steps, params={"jobToRestart": "B"})
    chain_c = {CURRENT_JOB: _restart("C"), "C": c_after, "B": JobRecord(steps=_pipeline())}
    # C skipped smoke before its own failure; in B smoke succeeded after B's failure.
    c_before = failed_at(JobRecord(params={"jobToRestart": "B"},
                                   steps=(S("smoke", "skipped"), S("deploy", "error", S("upload", "error")))),
                         "C", f"deploy{SEP}upload")
    chain_b = {CURRENT_JOB: _restart("C"), "C": c_before, "B": _failed_pipeline("B")}
    # upload failed in the millisecond it started: its start is not after its own failure
    instant_steps = _pipeline(deploy="error")[:2] + (
        S("deploy", "error", S("prepare"), Step("upload", "error", start=ts(5), finish=ts(5))),
        S("smoke"))
    instant = {CURRENT_JOB: _restart("earlier"), "earlier": _failed_pipeline(rule_steps=instant_steps)}
    return [
        C("a step that ran after the failure runs", ("smoke",), failed, "true", "RAN_AFTER_FAILURE"),
        C("a failed step that ended the millisecond it started is the failure: runs", ("deploy", "upload"),
          instant, "true", "NOT_DONE"),
        C("a step that started as an instant failure ended runs", ("smoke",), instant, "true",
          "RAN_AFTER_FAILURE"),
        C("a step before the failure is skipped", ("build",), failed, "false", "DONE"),
        C("an earlier sibling of the failed step is skipped", ("deploy", "prepare"), failed, "false", "DONE"),
        C("the failed step itself runs", ("deploy", "upload"), failed, "true", "NOT_DONE"),
        C("rule perStep: a step that succeeded after the failure is skipped", ("smoke",), failed, "false",
          "DONE", plugin=_plugin(rule="perStep")),
        C("rule ' PERSTEP ' reads as perStep", ("smoke",), failed, "false", "DONE",
          plugin=_plugin(rule=" PERSTEP ")),
        C("rule afterFailure, spelled out", ("smoke",), failed, "true", "RAN_AFTER_FAILURE",
          plugin=_plugin(rule="afterFailure")),
        C("an unknown rule is the safe one", ("smoke",), failed, "true", "RAN_AFTER_FAILURE",
          plugin=_plugin(rule="whatever")),
        C("a parallel sibling that started before the failure keeps its success", ("deploy", "lint"),
          parallel, "false", "DONE"),
        C("a parallel sibling that started as the failed step finished runs", ("deploy", "late"), parallel,
          "true", "RAN_AFTER_FAILURE"),
        C("a success with no start time in a job that failed cannot be ordered: runs", ("smoke",),
          {CURRENT_JOB: _restart("earlier"), "earlier": _failed_pipeline(
              rule_steps=_pipeline(deploy="error", upload="error")[:3] + (S("smoke", start=NEVER),))},
          "true", "RAN_AFTER_FAILURE"),
        C("a success with no start time in a job that recorded no failure: skipped", ("smoke",),
          {CURRENT_JOB: _restart("earlier"),
           "earlier": JobRecord(steps=_pipeline()[:3] + (S("smoke", start=NEVER),))}, "false", "DONE"),
        C("failedAt none (a job that recorded no failure): per step", ("smoke",),
          {CURRENT_JOB: _restart("earlier"), "earlier": JobRecord(steps=_pipeline())}, "false", "DONE"),
        C("no failedAt (restarted by hand, no CreateRestartLink): failure point unknown -> run", ("build",),
          {CURRENT_JOB: _restart("earlier"), "earlier": JobRecord(steps=_pipeline(), props={})}, "true",
          "FAILURE_POINT_UNKNOWN"),
        C("failedAt empty (an older plugin's 'no failure'): unknown -> run", ("build",),
          {CURRENT_JOB: _restart("earlier"),
           "earlier": JobRecord(steps=_pipeline(), props={"ec_resume/failedAt": ""})}, "true",
          "FAILURE_POINT_UNKNOWN"),
        C("no failedAt under perStep: per step", ("build",),
          {CURRENT_JOB: _restart("earlier"), "earlier": JobRecord(steps=_pipeline(), props={})}, "false",
          "DONE", plugin=_plugin(rule="perStep")),
        C("chain: skipped in C after C's failure -> run", ("smoke",), chain_c, "true", "RAN_AFTER_FAILURE"),
        C("chain: skipped in C before its failure, success in B -> skip", ("build",), chain_c, "false",
          "DONE"),
        C("chain: skipped in C in time, but in B it ran after B's failure -> run", ("smoke",), chain_b,
          "true", "RAN_AFTER_FAILURE"),
    ]


def _chain_cases() -> List[RunConditionCase]:
    C = RunConditionCase
    loop = JobRecord(params={"jobToRestart": "loop"}, steps=(S("build", "skipped"),))
    other = JobRecord(steps=(S("build"),), procedure="Release")
    return [
        C("chain C,B skipped, A success -> skip", ("build",), _chain(True), "false", "DONE"),
        C("chain C,B skipped, B had no jobToRestart -> run", ("build",), _chain(False), "true", "NOT_DONE"),
        C("only skipped follows the chain: notRun in C, success in B -> run", ("build",),
          _chain_from("notRun"), "true", "NEVER_REACHED"),
        C("only skipped follows the chain: error in C, success in B -> run", ("build",),
          _chain_from("error"), "true", "NOT_DONE"),
        C("chain longer than maxChainDepth -> run", ("build",), _chain(True), "true", "CHAIN_TOO_LONG",
          plugin=_plugin(maxChainDepth="2")),
        C("chain exactly maxChainDepth jobs -> skip", ("build",), _chain(True), "false", "DONE",
          plugin=_plugin(maxChainDepth="3")),
        C("unparsable maxChainDepth falls back to 10", ("build",), _chain(True), "false", "DONE",
          plugin=_plugin(maxChainDepth="lots")),
        C("maxChainDepth '2 jobs' is not a number: 10", ("build",), _chain(True), "false", "DONE",
          plugin=_plugin(maxChainDepth="2 jobs")),
        C("a job that restarts itself terminates -> run", ("build",), {CURRENT_JOB: _restart("loop"),
                                                                       "loop": loop}, "true", "LOOP"),
        C("chain into a job of another procedure -> run", ("build",), _chain_from("skipped", other), "true",
          "NOT_DONE"),
        C("chain into a running job -> run", ("build",),
          _chain_from("skipped", JobRecord(steps=(S("build"),), status="running")), "true", "NOT_DONE"),
        C("chain: C restarted the current job -> run", ("build",),
          {CURRENT_JOB: _restart("C"),
           "C": JobRecord(params={"jobToRestart": CURRENT_JOB}, steps=(S("build", "skipped"),))},
          "true", "LOOP"),
    ]


def _run_again_cases() -> List[RunConditionCase]:
    """ResumableStep's restore step could not restore a step's outputs: this job's
    ec_resume/runAgain/<path> makes exactly that step run; anything else there changes nothing."""
    C = RunConditionCase

    def again(**props: str) -> JobRecord:
        return JobRecord(params={"jobToRestart": "earlier"}, props=props)

    nested = SEP.join(NESTED_NAMES)
    return [
        C("runAgain names the step -> run", ("build",),
          _one_earlier("success", current=again(**{"ec_resume/runAgain/build": "dist/a: missing"})), "true",
          "RUN_AGAIN"),
        C("runAgain names another step -> skip", ("build",),
          _one_earlier("success", current=again(**{"ec_resume/runAgain/test": "changed"})), "false", "DONE"),
        C("runAgain names a nested step -> run", NESTED_NAMES,
          _one_earlier("success", NESTED, current=again(**{f"ec_resume/runAgain/{nested}": "x"})), "true",
          "RUN_AGAIN"),
        C("runAgain names the call around the step -> skip", NESTED_NAMES,
          _one_earlier("success", NESTED, current=again(**{"ec_resume/runAgain/deploy": "x"})), "false",
          "DONE"),
        C("runAgain for a step that failed there -> run", ("build",),
          _one_earlier("error", current=again(**{"ec_resume/runAgain/build": "x"})), "true", "RUN_AGAIN"),
    ]


CASES: List[RunConditionCase] = (_basic_cases() + _job_cases() + _path_cases() + _start_step_cases()
                                 + _failure_cases() + _chain_cases() + _run_again_cases())

