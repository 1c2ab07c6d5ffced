"""The run condition's case table, as data, so that every JavaScript evaluator runs the same cases.

Each case describes the jobs the condition can see (job id -> actual parameters and step outcomes keyed
by the step's path through subprocedure calls, e.g. ``deploy/jobSteps/upload``), which job and step the
condition is evaluated for, the plugin's settings, and the decision a CD/RO user expects: "true" (the
step runs) or "false" (it is skipped because the restarted job already did it).

An evaluator (the Rhino harness here, the emulator's engine elsewhere) provides:
  ``getProperty(path)`` over these jobs: ``/myJob/<param>``, ``/jobs/<id>/<param>``,
  ``/jobs/<id>/jobSteps/<path>/outcome`` and ``/plugins/EC-Resume/project/resume/<setting>``; undefined
  for anything else (or it throws, when the case says ``get_property_throws``);
  ``myJob`` (the current job's parameters) and ``myJobStep`` built from ``step_path`` as a chain of
  ``{stepName, parent}`` objects whose top ``parent`` is undefined (or ``{}`` with ``top_parent_empty``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]
RUN_CONDITION_FILE = REPO / "dsl" / "properties" / "resume" / "runCondition.js"
SCRIPT_PREFIX = "$[/javascript "
SCRIPT_SUFFIX = "]"
CURRENT_JOB = "job-current"


@dataclass(frozen=True)
class JobRecord:
    """What a finished (or running) job exposes to the condition."""

    params: Dict[str, str] = field(default_factory=dict)
    steps: Dict[str, str] = field(default_factory=dict)  # "a/jobSteps/b" -> outcome


@dataclass(frozen=True)
class RunConditionCase:
    name: str
    step_path: Tuple[str, ...]  # step names from the top of the job down to the evaluated step
    jobs: Dict[str, JobRecord]  # must hold CURRENT_JOB, the job whose step is being decided
    expected: str  # "true" = run, "false" = skip
    plugin: Dict[str, str] = field(default_factory=lambda: {"doneOutcomes": "success", "maxChainDepth": "10"})
    get_property_throws: bool = False
    top_parent_empty: bool = False

    def as_json(self) -> Dict[str, Any]:
        """The plain-data form every evaluator's harness reads."""
        return {
            "name": self.name,
            "currentJob": CURRENT_JOB,
            "stepPath": list(self.step_path),
            "jobs": {job_id: {"params": dict(job.params), "steps": dict(job.steps)}
                     for job_id, job in self.jobs.items()},
            "plugin": dict(self.plugin),
            "getPropertyThrows": self.get_property_throws,
            "topParentEmpty": self.top_parent_empty,
            "expected": self.expected,
        }


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


def _restart(job_to_restart: str, **more: str) -> JobRecord:
    return JobRecord(params={"jobToRestart": job_to_restart, **more})


def _one_earlier(outcome: str, step: str = "build",
                 current: Optional[JobRecord] = None) -> Dict[str, JobRecord]:
    """The current job restarts job 'earlier', where `step` ended with `outcome`."""
    return {CURRENT_JOB: current or _restart("earlier"), "earlier": JobRecord(steps={step: outcome})}


NESTED = "deploy/jobSteps/install/jobSteps/upload"
ODD_NAMES = ("Déployer \"prod\" l'étape", "上传 files")
ODD_PATH = "/jobSteps/".join(ODD_NAMES)


def _chain(b_restarts_a: bool, max_chain_depth: str = "10") -> Tuple[Dict[str, JobRecord], Dict[str, str]]:
    """Current job D restarts C, C restarted B, B (maybe) restarted A; the step succeeded only in A."""
    jobs = {
        CURRENT_JOB: _restart("C"),
        "C": JobRecord(params={"jobToRestart": "B"}, steps={"build": "skipped"}),
        "B": JobRecord(params={"jobToRestart": "A" if b_restarts_a else ""}, steps={"build": "skipped"}),
        "A": JobRecord(steps={"build": "success"}),
    }
    return jobs, {"doneOutcomes": "success", "maxChainDepth": max_chain_depth}


def _chain_from(outcome_in_c: str) -> Dict[str, JobRecord]:
    """Current job restarts C, where the step ended with `outcome_in_c`; C restarted B, which did it."""
    return {CURRENT_JOB: _restart("C"),
            "C": JobRecord(params={"jobToRestart": "B"}, steps={"build": outcome_in_c}),
            "B": JobRecord(steps={"build": "success"})}


def _cases() -> List[RunConditionCase]:
    chain_ok, plugin_ok = _chain(b_restarts_a=True)
    chain_broken, plugin_broken = _chain(b_restarts_a=False)
    chain_short, plugin_short = _chain(b_restarts_a=True, max_chain_depth="2")
    chain_exact, plugin_exact = _chain(b_restarts_a=True, max_chain_depth="3")
    return [
        RunConditionCase("no jobToRestart parameter", ("build",),
                         {CURRENT_JOB: JobRecord(), "earlier": JobRecord(steps={"build": "success"})},
                         "true"),
        RunConditionCase("empty jobToRestart", ("build",),
                         _one_earlier("success", current=_restart("")), "true"),
        RunConditionCase("blank jobToRestart", ("build",),
                         _one_earlier("success", current=_restart("  ")), "true"),
        RunConditionCase("success in restarted job -> skip", ("build",), _one_earlier("success"), "false"),
        RunConditionCase("jobToRestart with surrounding spaces", ("build",),
                         _one_earlier("success", current=_restart(" earlier\n")), "false"),
        RunConditionCase("warning is not done by default", ("build",), _one_earlier("warning"), "true"),
        RunConditionCase("error -> run", ("build",), _one_earlier("error"), "true"),
        RunConditionCase("skipped, restarted job was no restart -> run", ("build",),
                         _one_earlier("skipped"), "true"),
        RunConditionCase("notRun (abort never reached it) -> run", ("build",),
                         _one_earlier("notRun"), "true"),
        RunConditionCase("job sets resumeDoneOutcomes=success,warning", ("build",),
                         _one_earlier("warning",
                                      current=_restart("earlier", resumeDoneOutcomes="success,warning")),
                         "false"),
        RunConditionCase("plugin doneOutcomes with spaces", ("build",), _one_earlier("warning"), "false",
                         plugin={"doneOutcomes": " success , Warning ", "maxChainDepth": "10"}),
        RunConditionCase("job's resumeDoneOutcomes overrides the plugin's", ("build",),
                         _one_earlier("warning", current=_restart("earlier", resumeDoneOutcomes="success")),
                         "true", plugin={"doneOutcomes": "success,warning", "maxChainDepth": "10"}),
        RunConditionCase("missing job -> run", ("build",),
                         {CURRENT_JOB: _restart("no-such-job")}, "true"),
        RunConditionCase("missing step -> run", ("build",), _one_earlier("success", step="test"), "true"),
        RunConditionCase("three levels of nesting, success there -> skip", ("deploy", "install", "upload"),
                         _one_earlier("success", step=NESTED), "false"),
        RunConditionCase("three levels, top call step empty parent object", ("deploy", "install", "upload"),
                         _one_earlier("success", step=NESTED), "false", top_parent_empty=True),
        RunConditionCase("same name at another level does not count", ("deploy", "install", "upload"),
                         _one_earlier("success", step="upload"), "true"),
        RunConditionCase("three levels, error there -> run", ("deploy", "install", "upload"),
                         _one_earlier("error", step=NESTED), "true"),
        RunConditionCase("chain C,B skipped, A success -> skip", ("build",), chain_ok, "false",
                         plugin=plugin_ok),
        RunConditionCase("chain C,B skipped, B had no jobToRestart -> run", ("build",), chain_broken, "true",
                         plugin=plugin_broken),
        RunConditionCase("only skipped follows the chain: notRun in C, success in B -> run", ("build",),
                         _chain_from("notRun"), "true"),
        RunConditionCase("only skipped follows the chain: error in C, success in B -> run", ("build",),
                         _chain_from("error"), "true"),
        RunConditionCase("chain longer than maxChainDepth -> run", ("build",), chain_short, "true",
                         plugin=plugin_short),
        RunConditionCase("chain exactly maxChainDepth jobs -> skip", ("build",), chain_exact, "false",
                         plugin=plugin_exact),
        RunConditionCase("unparsable maxChainDepth falls back to 10", ("build",), chain_ok, "false",
                         plugin={"doneOutcomes": "success", "maxChainDepth": "lots"}),
        RunConditionCase("a job that restarts itself terminates -> run", ("build",),
                         {CURRENT_JOB: _restart("loop"),
                          "loop": JobRecord(params={"jobToRestart": "loop"}, steps={"build": "skipped"})},
                         "true"),
        RunConditionCase("spaces, quotes and non-ASCII names -> skip", ODD_NAMES,
                         _one_earlier("success", step=ODD_PATH), "false"),
        RunConditionCase("spaces, quotes and non-ASCII names, error -> run", ODD_NAMES,
                         _one_earlier("error", step=ODD_PATH), "true"),
        RunConditionCase("getProperty throws -> run", ("build",), _one_earlier("success"), "true",
                         get_property_throws=True),
    ]


CASES: List[RunConditionCase] = _cases()
