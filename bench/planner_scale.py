"""The planner and its report on a large procedure, with no server: the definition and the failed job are
answered from memory, so what is timed is EC-Resume's own work (planning.plan_restart, the plan's JSON and
its table). Used by planner_10k.py and planner_100k.py.

The procedure is 5 levels deep: `top` call steps at the top, each calling a procedure of 10 call steps,
and so on down to 10 command steps at the fifth level, all under the run condition. The job to restart
ran it all and failed at its last step. Times are CPU time (time.process_time): nothing here waits for
I/O, and so what other processes do on the machine stays out of the figure.

Each sample is one plan in a new process, as `ec-resume plan` and RestartJob plan once per process; the
sizes are sampled in turn (small, large, small, ...), so that each pair is measured at the same moment of
a machine whose speed moves. A process that plans again and again is measured too (`measure_repeated`),
for the record: there the allocator keeps the small plan's pages mapped from one plan to the next but
gives the large plan's back to the system, so that the large plan alone pays its page faults again each
time. That compares the allocator's habits, not the planner.
"""

from __future__ import annotations

import gc
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
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


def _sample_here(kind: str, top: int) -> Dict[str, float]:
    """One sample in this (new) process: the job built, then timed once."""
    server = MemoryServer(top)
    gc.collect()
    faults = _page_faults()
    if kind == "setup":  # the job built and nothing more: what `instructions` subtracts
        return {"seconds": 0.0, "steps": 0, "peak_bytes": 0, "page_faults": 0}
    if kind == "peak":
        tracemalloc.start()
        lines = plan_once(server)[0]
        seconds, peak = 0.0, tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        start = time.process_time()
        if kind == "plan":
            lines = plan_once(server)[0]
        else:  # the control: the least any planner does
            index: Dict[str, Tuple[Any, ...]] = {}
            _bare_walk(server.job["jobStep"], "", index)
            lines = len(index)
            del index
        seconds, peak = time.process_time() - start, 0
    return {"seconds": seconds, "steps": lines, "peak_bytes": peak, "page_faults": _page_faults() - faults}


def _page_faults() -> int:
    try:
        import resource
    except ImportError:  # not on Windows: the figure goes without
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def sample(kind: str, top: int) -> Dict[str, float]:
    """One sample in a new process: kind "plan" (planner + report), "walk" (the bare walk, the control),
    "peak" (the plan's peak memory, from tracemalloc) or "setup" (the job built, nothing timed)."""
    done = subprocess.run([sys.executable, __file__, kind, str(top)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"planner sample {kind} {top} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@dataclass
class SideBySide:
    """Samples of two sizes taken in turn: each pair at the same moment of the machine."""

    small: List[Dict[str, float]]
    big: List[Dict[str, float]]

    def seconds(self, which: str) -> float:
        return median([s["seconds"] for s in getattr(self, which)])

    def faults(self, which: str) -> float:
        return median([s["page_faults"] for s in getattr(self, which)])

    @property
    def ratio(self) -> float:
        """The median of the pairs' ratios."""
        return median([b["seconds"] / s["seconds"] for s, b in zip(self.small, self.big) if s["seconds"]])


def side_by_side(kind: str, small_top: int, big_top: int, rounds: int) -> SideBySide:
    pairs = SideBySide([], [])
    for _ in range(rounds):
        pairs.small.append(sample(kind, small_top))
        pairs.big.append(sample(kind, big_top))
    return pairs


def instructions(top: int) -> Optional[int]:
    """The machine instructions one plan (with its report) executes, counted by valgrind's cachegrind: a
    run that builds the job and plans, less one that only builds it. Unlike a time it does not move with
    the machine, and so its ratio between two sizes is the planner's own scaling, free of what the caches
    and the memory add. None when valgrind is not installed."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return None
    counts = []
    for kind in ("setup", "plan"):
        command = [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                   sys.executable, __file__, kind, str(top)]
        same_hashes = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts in every count
        done = subprocess.run(command, capture_output=True, text=True, env=same_hashes)
        found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        if done.returncode != 0 or not found:
            raise RuntimeError(f"cachegrind of planner sample {kind} {top} failed: "
                               f"{done.stderr.strip()[-2000:]}")
        counts.append(int(found.group(1).replace(",", "")))
    return counts[1] - counts[0]


def measure(top: int, rounds: int) -> Tuple[float, int, int]:
    """(median CPU seconds of planner + report, each in a new process, the number of steps, peak bytes)."""
    samples = [sample("plan", top) for _ in range(rounds)]
    peak = int(sample("peak", top)["peak_bytes"])
    return median([s["seconds"] for s in samples]), int(samples[0]["steps"]), peak


def measure_repeated(top: int, rounds: int) -> float:
    """Median CPU seconds of planner + report repeated in this process, after one plan to warm it."""
    server = MemoryServer(top)
    plan_once(server)
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        plan_once(server)
        times.append(time.process_time() - start)
    return median(times)


def _bare_walk(steps: List[Mapping[str, Any]], path: str, index: Dict[str, Tuple[Any, ...]]) -> None:
    for step in steps:
        here = path + str(step["stepName"])
        index[here] = (step["outcome"], step.get("start"), step.get("finish"))
        called = step.get("calledProcedure")
        if called:
            _bare_walk(called["jobStep"], here + "/jobSteps/", index)


if __name__ == "__main__":  # a sample: planner_scale.py plan|walk|peak|setup TOP
    print(json.dumps(_sample_here(sys.argv[1], int(sys.argv[2]))))
