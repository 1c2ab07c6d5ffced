"""The planner and its report on a large procedure, in this process with no server: the definition and
the failed job are answered from memory, so what is timed is EC-Resume's own work (planning.plan_restart,
the plan's JSON and its table). Used by planner_10k.py and planner_100k.py.

The procedure is 5 levels deep: `top` call steps at the top, each calling a procedure of 10 call steps,
and so on down to 10 command steps at the fifth level, all under the run condition. The job to restart
ran it all and failed at its last step. Times are this process's CPU time (time.process_time): nothing
here waits for I/O, and so what other processes do on the machine stays out of the figure.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any, Dict, List, Mapping, Optional, Tuple

from support import RUN_CONDITION, median  # puts lib/ on the path

# isort: split
from ec_resume.client_errors import NotFound
from ec_resume.planning import plan_restart
from ec_resume.report import render_plan

LEVELS, FAN_OUT = 5, 10
PROJECT = "Big"


def level_procedure(level: int) -> str:
    return "Main" if level == 0 else f"Level{level}"


class MemoryServer:
    """Answers what the planner asks (getSteps, getJobDetails, properties) from a definition in memory."""

    def __init__(self, top: int) -> None:
        self.steps: Dict[str, List[Dict[str, str]]] = {}
        for level in range(LEVELS):
            count = top if level == 0 else FAN_OUT
            last = level == LEVELS - 1
            self.steps[level_procedure(level)] = [
                {"stepName": f"s{n}", "condition": RUN_CONDITION,
                 **({} if last else {"subprocedure": level_procedure(level + 1)})} for n in range(count)]
        self.clock = 0
        self.job = {"jobId": "j1", "jobName": "job_1", "projectName": PROJECT, "procedureName": "Main",
                    "status": "completed", "outcome": "error",
                    "actualParameter": [{"actualParameterName": "jobToRestart", "value": ""}],
                    "jobStep": self._job_steps(0)}
        self.leaves = self.clock
        self._fail_last(self.job)
        self.properties = {"/jobs/j1/ec_resume/failedAt": self._stamp(self.clock),
                           "/jobs/j1/ec_resume/failedStep": ""}

    def _stamp(self, tick: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_700_000_000 + tick)) + ".000Z"

    def _job_steps(self, level: int) -> List[Dict[str, Any]]:
        found = []
        for step in self.steps[level_procedure(level)]:
            start = self.clock
            record: Dict[str, Any] = {"stepName": step["stepName"], "jobStepId": f"js{start}-{level}",
                                      "status": "completed", "outcome": "success"}
            if "subprocedure" in step:
                record["calledProcedure"] = {"projectName": PROJECT, "procedureName": step["subprocedure"],
                                             "jobStep": self._job_steps(level + 1)}
            else:
                self.clock += 1
            record.update(start=self._stamp(start), finish=self._stamp(self.clock))
            found.append(record)
        return found

    def _fail_last(self, node: Mapping[str, Any]) -> None:
        step = node["jobStep"][-1]
        while True:
            step["outcome"] = "error"
            called = step.get("calledProcedure")
            if not called:
                return
            step = called["jobStep"][-1]

    # ---- the client's surface the planner uses

    timeout = 30.0

    def call(self, api: str, method: str, path: str, params: Optional[Mapping[str, Any]] = None,
             body: Any = None, **_: Any) -> Dict[str, Any]:
        if api == "getSteps":
            procedure = path.split("/procedures/")[1].split("/")[0]
            return {"step": self.steps[procedure]}
        raise NotFound("NoSuchObject", f"{api} {path}")

    def get_job_details(self, job_id: str) -> Dict[str, Any]:
        if job_id not in ("j1", "job_1"):
            raise NotFound("NoSuchJob", job_id)
        return self.job

    def get_property(self, path: str, expand: bool = True, **_: Any) -> Optional[str]:
        return self.properties.get(path)

    def get_properties(self, path: str, expand: bool = False, **_: Any) -> Dict[str, str]:
        return {}


def plan_once(server: MemoryServer) -> Tuple[int, str]:
    plan = plan_restart(server, server.job, {"jobToRestart": "j1"})
    text = render_plan(plan)
    plan.to_json()
    return len(plan.lines), text


def measure(top: int, rounds: int) -> Tuple[float, int, int]:
    """(median CPU seconds of planner + report, the number of steps, peak memory in bytes)."""
    server = MemoryServer(top)
    lines, text = plan_once(server)
    assert "RAN_AFTER" in text or "run" in text.lower()
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()  # CPU time: no I/O here, and other processes' load stays out of it
        plan_once(server)
        times.append(time.process_time() - start)
    gc.collect()
    tracemalloc.start()
    plan_once(server)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return median(times), lines, peak


def _bare_walk(steps: List[Mapping[str, Any]], path: str, index: Dict[str, Tuple[Any, ...]]) -> None:
    for step in steps:
        here = path + str(step["stepName"])
        index[here] = (step["outcome"], step.get("start"), step.get("finish"))
        called = step.get("calledProcedure")
        if called:
            _bare_walk(called["jobStep"], here + "/jobSteps/", index)


def measure_floor(top: int, rounds: int) -> float:
    """The least any planner does with the same job: one pass over its steps that indexes one small
    tuple per step by path, then frees it. Median CPU seconds; the control for the planner's ratio."""
    server = MemoryServer(top)
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        index: Dict[str, Tuple[Any, ...]] = {}
        _bare_walk(server.job["jobStep"], "", index)
        del index
        times.append(time.process_time() - start)
    return median(times)
