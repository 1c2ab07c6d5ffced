"""What every benchmark in bench/ shares: the in-process emulator with the plugin installed, procedures
built over its API, the request log, medians, and the one result line that `build.py bench` reads.

A script prints what it measured as it goes, then one last line `BENCH {json}` with the figure, the
value, the target and whether it is met (`build.py bench` turns those lines into out/bench.md).
`--quick` (or BENCH_QUICK=1) makes a script take fewer repetitions and smaller sizes: for the test that
checks the command runs, never for the figures.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "lib"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from contextlib import contextmanager  # noqa: E402

from commander_emulator.server import Emulator  # noqa: E402
from devtools.install import install_jar  # noqa: E402
from devtools.package import build_jar  # noqa: E402
from devtools.server_api import ServerApi, as_list  # noqa: E402

RUN_CONDITION = "$[/plugins/EC-Resume/project/resume/runCondition]"
PLUGIN_PROJECT = "/plugins/EC-Resume/project"
QUICK = "--quick" in sys.argv[1:] or os.environ.get("BENCH_QUICK", "") == "1"
RESULT_PREFIX = "BENCH "
JAR_VARIABLE = "EC_RESUME_BENCH_JAR"


def repetitions(full: int = 5) -> int:
    """At least 5 for a figure; 1 under --quick."""
    return 1 if QUICK else max(5, full)


def real_python() -> str:
    """The interpreter itself, not a venv launcher or a version-manager shim."""
    base = getattr(sys, "_base_executable", "") or sys.executable
    return os.path.realpath(base)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], Any]) -> Tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def say(text: str) -> None:
    print(text, flush=True)


def result(figure: str, value: str, target: str, met: Optional[bool], note: str = "",
           **numbers: Any) -> None:
    """The script's last line: what `build.py bench` puts in the table (met None: nothing to meet)."""
    say(RESULT_PREFIX + json.dumps({"figure": figure, "value": value, "target": target, "met": met,
                                    "note": note, "numbers": numbers, "quick": QUICK}, ensure_ascii=False))


# ------------------------------------------------------------------------------------------ the server


class Bench:
    """The emulator on loopback with the built plugin installed, and an admin client."""

    def __init__(self, emulator: Emulator, api: ServerApi) -> None:
        self.emulator, self.api = emulator, api
        self._names = iter(range(1, 1 << 30))

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names)}"

    # ---- procedures

    def procedure(self, steps: Sequence[Tuple[str, Dict[str, Any]]],
                  params: Sequence[str] = ("jobToRestart",), prefix: str = "Bench") -> Tuple[str, str]:
        """A new project with procedure "Main": formal parameters `params`, `steps` in order."""
        project, procedure = self.unique(prefix), "Main"
        call = self.api.call
        call("createProject", projectName=project)
        call("createProcedure", projectName=project, procedureName=procedure)
        for name in params:
            call("createFormalParameter", projectName=project, procedureName=procedure,
                 formalParameterName=name, defaultValue="", type="entry")
        for name, fields in steps:
            call("createStep", projectName=project, procedureName=procedure, stepName=name, **fields)
        return project, procedure

    @staticmethod
    def link_step() -> Tuple[str, Dict[str, Any]]:
        return ("restart link", {"subprocedure": "CreateRestartLink", "subproject": PLUGIN_PROJECT,
                                 "alwaysRun": "1"})

    def run(self, project: str, procedure: str, params: Optional[Dict[str, str]] = None,
            timeout: float = 300) -> Dict[str, Any]:
        """Start a job and wait for it; its getJobDetails record."""
        return self.run_timed(project, procedure, params, timeout)[1]

    def run_timed(self, project: str, procedure: str, params: Optional[Dict[str, str]] = None,
                  timeout: float = 300) -> Tuple[float, Dict[str, Any]]:
        """(seconds from the runProcedure call until the job completed, the job's record)."""
        start = time.perf_counter()
        values = {"jobToRestart": ""} if params is None else params
        job_id = self.api.run_procedure(project, procedure, values)
        return self._completed(job_id, start, timeout)

    def follow_timed(self, job_id: str, link: str = "Restart this job", timeout: float = 300
                     ) -> Tuple[float, Dict[str, Any]]:
        """Click a stored link of the job as its user would: (seconds from the click until the job it
        started completed, that job's record)."""
        from devtools.demo import follow

        url = self.api.get_property(f"/jobs/{job_id}/report-urls/{link}")
        if not url:
            raise RuntimeError(f"job {job_id} has no '{link}' link")
        start = time.perf_counter()
        return self._completed(follow(self.api, url), start, timeout)

    def follow(self, job_id: str, link: str = "Restart this job", timeout: float = 300) -> Dict[str, Any]:
        return self.follow_timed(job_id, link, timeout)[1]

    def _completed(self, job_id: str, start: float, timeout: float) -> Tuple[float, Dict[str, Any]]:
        # The engine's own completion event: no polling interval in the time.
        with self.emulator.store.lock:
            job = self.emulator.store.jobs[job_id]
        if not job.done.wait(timeout):
            raise RuntimeError(f"job {job_id} did not complete within {timeout:g} s")
        seconds = time.perf_counter() - start
        return seconds, self.api.rest("GET", f"jobs/{job_id}")["job"]

    # ---- the request log

    def clear_log(self) -> None:
        self.emulator.request_log.clear()

    def exchanges(self, job_id: Optional[str] = None) -> int:
        """Round trips to the server since the log was cleared (those of one job's session, if given)."""
        return sum(1 for e in self.emulator.request_log.exchanges()
                   if job_id is None or e.job_id == job_id)

    def api_calls(self, job_id: Optional[str] = None) -> int:
        """API calls inside those round trips (a batch counts each of its calls)."""
        return sum(e.calls for e in self.emulator.request_log.exchanges()
                   if job_id is None or e.job_id == job_id)

    # ---- job steps as the engine ran them

    def step_seconds(self, job_id: str, name: str) -> float:
        """How long the engine's process for the job step named `name` ran (start to exit)."""
        with self.emulator.store.lock:
            job = self.emulator.store.jobs[job_id]
            for js in _all_steps(job):
                if js.step_name == name and js.finish_monotonic and js.start_monotonic:
                    return js.finish_monotonic - js.start_monotonic
        raise KeyError(f"job {job_id} has no finished process step {name!r}")


def _all_steps(job: Any) -> Iterator[Any]:
    return job.walk()


def outcomes(job: Dict[str, Any]) -> List[Tuple[str, str]]:
    return [(str(s.get("stepName")), str(s.get("outcome"))) for s in as_list(job.get("jobStep"))]


@contextmanager
def bench_server(interpreter: Optional[str] = None, warm: bool = True) -> Iterator[Bench]:
    """The emulator with this checkout's jar installed; plugin steps run by `interpreter` (default: the
    real interpreter of this Python, with site-packages and the environment ignored). `warm`: the agent
    code is cached on the agent before the benchmark starts."""
    work = Path(tempfile.mkdtemp(prefix="ec-resume-bench-"))
    given = os.environ.get(JAR_VARIABLE, "")  # run_all.py builds the jar once for every script
    jar = Path(given) if given else build_jar(ROOT, work / "jar")
    emulator = Emulator(workspace_root=str(work / "workspace"))
    emulator.start()
    try:
        with ServerApi(emulator.url, emulator.admin_user, emulator.admin_password) as api:
            install_jar(api, jar)
            api.call("setProperty", propertyName=f"{PLUGIN_PROJECT}/resume/pythonInterpreter",
                     value=interpreter or f"{real_python()} -I -S")
            bench = Bench(emulator, api)
            if warm:  # the first plugin step on an agent fetches the agent code; figures are of later ones
                bench.run(*bench.procedure([bench.link_step()]))
            yield bench
    finally:
        emulator.stop()
        shutil.rmtree(work, ignore_errors=True)
