"""The job engine: runs procedure jobs step by step, as CD/RO does.

Conditions, `alwaysRun`, every `errorHandling` value, parallel steps, subprocedure calls and command
steps as real processes with the agent environment (commander-api.md §3-§5). The decisions (parameter
resolution, run conditions, parallel grouping, outcomes and their roll-up, the shell command line) are
pure functions at the top; the `Engine` below only sequences them, touches the store under its lock, and
never holds that lock while a step process runs.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from .context import Context
from .ectool import install_launcher
from .errors import CommanderError, invalid
from .expansion import expand as expand_property_references
from .model import ABORT, FORCE_ABORT, Credential, Job, JobStep, Procedure, Step, Store, now_iso

Expand = Callable[[Context, str], str]

# Run-condition results that mean "skip the step" (commander-api.md §4, KB95). Compared case-insensitively
# and after trimming whitespace [U]: the docs spell "false (FALSE)" without saying how case is handled.
_FALSE_RESULTS = ("", "0", "false")
_TIME_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0}
_PLUGIN_PROJECT = re.compile(r"^/plugins/([^/\[\]]+)/project$")


# ------------------------------------------------------------------------------------ pure decisions


def resolve_actual_parameters(procedure: Procedure, actual: Mapping[str, str]) -> OrderedDict[str, str]:
    """The actual parameters a job or call of `procedure` runs with: validated, defaults applied.

    Raises InvalidActualParameter for a name that is not a formal parameter, MissingActualParameter for a
    required one with neither value nor default [U codes]. An optional parameter with neither gets ""
    so that `$[name]` expands to nothing rather than failing [U].
    """
    where = f"procedure '{procedure.name}' of project '{procedure.project_name}'"
    for name in actual:
        if name not in procedure.formal_parameters:
            expected = ", ".join(procedure.formal_parameters) or "none"
            raise CommanderError("InvalidActualParameter",
                                 f"Actual parameter '{name}' is not a formal parameter of {where} "
                                 f"(expected one of: {expected})")
    resolved: OrderedDict[str, str] = OrderedDict()
    for name, formal in procedure.formal_parameters.items():
        if name in actual:
            resolved[name] = actual[name]  # an explicit "" counts as a value [U]
        elif formal.default_value is not None:
            resolved[name] = formal.default_value
        elif formal.required:
            raise CommanderError("MissingActualParameter",
                                 f"Missing actual parameter '{name}': {where} requires a value for it")
        else:
            resolved[name] = ""
    return resolved


def condition_skips(result: str) -> bool:
    """True when an expanded run condition means "skip": "", "0" or "false" (any case [U])."""
    return result.strip().lower() in _FALSE_RESULTS


def parallel_groups(steps: Sequence[Step]) -> List[List[int]]:
    """Indexes of steps that start together: a run of adjacent parallel steps, or one serial step."""
    groups: List[List[int]] = []
    for index, step in enumerate(steps):
        if step.parallel and groups and steps[groups[-1][-1]].parallel:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def may_start(stopped: bool, always_run: bool, force: bool) -> bool:
    """Whether a reached step starts: an abort stops everything but alwaysRun steps, a forced one all."""
    if not stopped:
        return True
    return always_run and not force


def command_outcome(exit_code: int, killed: bool, override: Optional[str]) -> str:
    """A command step's outcome: killed -> error; else the step's own `outcome` property; else exit code."""
    if killed:
        return "error"
    if override:
        return override
    return "success" if exit_code == 0 else "error"


def rollup_outcome(children: Iterable[Tuple[Optional[str], str]]) -> str:
    """The outcome of a procedure (job or call) from its steps' (outcome, errorHandling) pairs.

    error beats warning beats success; skipped/notRun steps do not count, and a failing step with
    errorHandling `ignore` counts as success [U]. All steps skipped -> skipped [U]; no steps -> success [U].
    """
    counted: List[str] = []
    seen_any = False
    for outcome, error_handling in children:
        seen_any = True
        if outcome in (None, "skipped", "notRun"):
            continue
        if error_handling == "ignore" and outcome in ("error", "warning"):
            outcome = "success"
        counted.append(outcome)
    if not counted:
        return "skipped" if seen_any else "success"
    for worst in ("error", "warning"):
        if worst in counted:
            return worst
    return "success"


def shell_argv(shell: str, script_path: str) -> List[str]:
    """The command line of a step: `{0}` in the shell stands for the script file, else it goes last.

    The shell is split first and `{0}` replaced inside each word, so a script path with spaces stays
    one argument.
    """
    words = shlex.split(shell)
    if not words:
        raise invalid("shell", "a program name, optionally with arguments and {0}")
    if "{0}" not in shell:
        return words + [script_path]
    return [word.replace("{0}", script_path) for word in words]


def time_limit_seconds(limit: str, units: Optional[str]) -> Optional[float]:
    """A step's timeLimit in seconds; None when there is none. Units default to minutes [U]."""
    if not limit.strip():
        return None
    unit = (units or "minutes").strip() or "minutes"
    if unit not in _TIME_UNITS:
        raise invalid("timeLimitUnits", "hours, minutes or seconds")
    try:
        value = float(limit)
    except ValueError:
        raise invalid("timeLimit", "a number") from None
    if value <= 0:
        return None  # CD/RO reads 0 as "no limit" [U]
    return value * _TIME_UNITS[unit]


def plugin_project_key(project: str) -> Optional[str]:
    """The plugin key of a `/plugins/<key>/project` subproject reference, else None."""
    match = _PLUGIN_PROJECT.match(project.strip())
    return match.group(1) if match else None


def _file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "step"


# ------------------------------------------------------------------------------------ run state


@dataclass
class _Invocation:
    """One run of a procedure's steps: the job's top procedure or one subprocedure call."""

    call_step: Optional[JobStep]
    steps: List[JobStep]
    # Job-level aborts numbered up to this one do not stop it: it belongs to an alwaysRun call that
    # started after them [U].
    tolerated_stops: int = 0
    stopped: bool = False  # abortProcedure(Now) inside it, or its call step was aborted


@dataclass
class _JobRun:
    job: Job
    top: _Invocation
    stop_count: int = 0  # job-level aborts so far (abortJob, abortJobNow, the abortJob API)
    force: bool = False  # abortJob API with force: alwaysRun steps do not start either
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)  # by job step id
    invocations: Dict[str, _Invocation] = field(default_factory=dict)  # by call step id
    abort_killed: Set[str] = field(default_factory=set)  # steps killed by an abort: no errorHandling

    def is_stopped(self, inv: _Invocation) -> bool:
        return inv.stopped or self.stop_count > inv.tolerated_stops


def _kill_process(proc: subprocess.Popen) -> None:
    """Kill the step's whole process group (the shell and whatever it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    except AttributeError:  # no process groups on this platform
        proc.kill()


# ------------------------------------------------------------------------------------ the engine


class Engine:
    """Runs jobs on background threads. Server address and version-dependent choices come from
    `store.settings`."""

    def __init__(self, store: Store, expand: Optional[Expand] = None) -> None:
        self.store = store
        self._expand = expand or expand_property_references
        self._runs: Dict[str, _JobRun] = {}
        self._agent_bin: Optional[str] = None  # the folder of the steps' `ectool`, written on first use
        self._agent_bin_lock = threading.Lock()

    # ---- public surface

    def run_procedure(self, project_name: str, procedure_name: str, actual_parameters: Mapping[str, str],
                      credentials: Sequence[Mapping[str, str]], user_name: str,
                      stored_credentials: Optional[Mapping[str, Credential]] = None) -> Job:
        """runProcedure: validate, register the job, start it on a thread and return at once.

        `credentials` are transient ones given with the call; `stored_credentials` are stored credentials
        that credential parameters refer to, by the parameter value that names them."""
        store = self.store
        with store.lock:
            procedure = store.procedure(project_name, procedure_name)
            parameters = resolve_actual_parameters(procedure, actual_parameters)
            job = Job(name="", project_name=project_name, procedure_name=procedure_name,
                      launched_by=user_name, actual_parameters=parameters)
            job.store = store
            for cred in credentials:
                name = cred.get("credentialName")
                if not name:
                    raise invalid("credential", "credentialName, userName and password")
                job.credentials[name] = _credential(name, project_name, cred)
            job.credentials.update(stored_credentials or {})
            job.name = self._job_name(job, procedure)
            if job.name in (j.name for j in store.jobs.values()):  # job names are unique [U code]
                raise CommanderError("DuplicateJobName", f"Job '{job.name}' already exists")
            job.workspace = os.path.join(store.workspace_root, _file_safe(job.name))
            os.makedirs(job.workspace, exist_ok=True)
            os.makedirs(self._plugins_dir(), exist_ok=True)
            job.session_id = store.new_session(user_name).id
            store.register_job(job)
            job.steps = self._create_job_steps(job, None, procedure)
            run = _JobRun(job=job, top=_Invocation(call_step=None, steps=job.steps))
            self._runs[job.id] = run
        threading.Thread(target=self._run_job, args=(run,), name=f"job {job.name}", daemon=True).start()
        return job

    def abort_job(self, job_id: str, force: bool = False) -> None:
        """abortJob: start no new steps (alwaysRun ones still start unless `force`); `force` also kills
        the running step processes. Aborting a finished job does nothing [U]."""
        with self.store.lock:
            job = self.store.job(job_id)
            run = self._runs.get(job.id)
            if run is None:
                return
            job.abort_requested = True
            # [U] A forced abort is FORCE_ABORT (reported from CloudBees' docs); a normal one is ABORT.
            job.abort_status = FORCE_ABORT if force or job.abort_status == FORCE_ABORT else ABORT
            run.stop_count += 1
            if force:
                run.force = True
                for js in job.steps:
                    self._abort_subtree(run, js, force=True)

    def wait(self, job_id: str, timeout: float) -> Job:
        """Block until the job completes; TimeoutError if it has not after `timeout` seconds."""
        with self.store.lock:
            job = self.store.job(job_id)
        if not job.done.wait(timeout):
            raise TimeoutError(f"job '{job.name}' did not complete within {timeout} seconds")
        return job

    # ---- job and invocation flow

    def _run_job(self, run: _JobRun) -> None:
        job = run.job
        with self.store.lock:
            job.status = "running"
            job.start = now_iso()
        try:
            self._run_invocation(run, run.top)
        finally:
            with self.store.lock:
                for js in job.walk():  # only after an engine bug: never leave a step open
                    if js.status != "completed":
                        js.status, js.outcome = "completed", js.outcome or "error"
                # An aborted job is an error even when no step failed [U].
                job.outcome = "error" if job.abort_requested else rollup_outcome(
                    (js.outcome, js.step.error_handling) for js in job.steps)
                job.status = "completed"
                job.finish = now_iso()
                self._runs.pop(job.id, None)
            job.done.set()

    def _run_invocation(self, run: _JobRun, inv: _Invocation) -> None:
        for group in parallel_groups([js.step for js in inv.steps]):
            if len(group) == 1:
                self._run_step(run, inv, inv.steps[group[0]])
                continue
            threads = [threading.Thread(target=self._run_step, args=(run, inv, inv.steps[i]), daemon=True,
                                        name=f"step {inv.steps[i].step_name}") for i in group]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    def _run_step(self, run: _JobRun, inv: _Invocation, js: JobStep) -> None:
        try:
            self._execute(run, inv, js)
        except Exception as exc:  # an engine bug must end the step, not hang the job
            self._fail(js, f"Internal error running step '{js.step_name}': {exc!r}")
        with self.store.lock:
            self._apply_error_handling(run, inv, js)

    def _execute(self, run: _JobRun, inv: _Invocation, js: JobStep) -> None:
        store = self.store
        with store.lock:
            if not may_start(run.is_stopped(inv), js.step.always_run, run.force):
                self._finish(js, store.settings.unreached_outcome)
                return
            js.status = "runnable"
        ctx = Context.for_job_step(js)
        condition = js.effective_condition
        if condition is not None and condition.strip():
            try:
                result = self._expand(ctx, condition)
            except CommanderError as exc:
                self._fail(js, f"Run condition of step '{js.step_name}' failed: {exc}")
                return
            with store.lock:
                js.run_condition_result = result
            if condition_skips(result):
                with store.lock:
                    js.start = now_iso()
                    self._finish(js, "skipped")
                return
        if js.step.subprocedure:
            self._run_call(run, inv, js, ctx)
        else:
            self._run_command(run, js, ctx)

    def _run_command(self, run: _JobRun, js: JobStep, ctx: Context) -> None:
        store, step, job = self.store, js.step, js.job
        workspace = job.workspace or store.workspace_root
        try:
            command = self._expand(ctx, step.command or "")
            shell = self._expand(ctx, step.shell or "").strip() or store.settings.default_shell
            workdir = self._expand(ctx, step.working_directory or "").strip()
            resource = self._expand(ctx, step.resource_name or "").strip() or "local"
            limit = time_limit_seconds(self._expand(ctx, step.time_limit or ""), step.time_limit_units)
            log_name = self._expand(ctx, step.log_file_name or "").strip()
            script = os.path.join(workspace, f"{_file_safe(js.step_name)}.{js.id}.cmd")
            argv = shell_argv(shell, script)
        except CommanderError as exc:
            self._fail(js, f"Step '{js.step_name}': {exc}")
            return
        workdir = os.path.join(workspace, workdir) if workdir else workspace  # relative to workspace [U]
        log_path = os.path.join(workspace, log_name or f"{_file_safe(js.step_name)}.{js.id}.log")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(command)
        os.chmod(script, 0o700)
        env = dict(os.environ)
        env.update(self._agent_environment(js, resource))
        env["PATH"] = os.pathsep.join(p for p in (self._agent_tools(), env.get("PATH", "")) if p)
        with store.lock:
            js.command, js.shell, js.resource_name, js.log_path = command, shell, resource, log_path
            if js.aborted:
                self._finish(js, "error")
                return
            js.status = "running"
            js.start = now_iso()
            js.start_monotonic = time.monotonic()
        try:
            os.makedirs(os.path.dirname(log_path), exist_ok=True)  # a logFileName in a subfolder
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            self._fail(js, f"Step '{js.step_name}' could not start {argv[0]!r} in {workdir!r}: {exc}")
            return
        with store.lock:
            run.processes[js.id] = proc
            if js.aborted:  # aborted between the check above and the start
                _kill_process(proc)
        timed_out = False
        try:
            exit_code = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_process(proc)
            exit_code = proc.wait()
        finish_monotonic = time.monotonic()
        with store.lock:
            run.processes.pop(js.id, None)
            js.finish_monotonic = finish_monotonic
            js.exit_code = exit_code
            if timed_out:
                # A step over its time limit is aborted with outcome error [U].
                js.aborted = True
                js.error_message = f"Step '{js.step_name}' exceeded its time limit and was aborted"
            self._finish(js, command_outcome(exit_code, js.aborted, js.outcome_override))
        if timed_out:
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(f"\n{js.error_message}\n")

    def _run_call(self, run: _JobRun, inv: _Invocation, js: JobStep, ctx: Context) -> None:
        store, step = self.store, js.step
        try:
            project_name = self._expand(ctx, step.subproject or "").strip() or js.project_name
            key = plugin_project_key(project_name)
            if key is not None:
                project_name = store.promoted_plugin(key).name
            procedure_name = self._expand(ctx, step.subprocedure or "").strip()
            with store.lock:
                procedure = store.procedure(project_name, procedure_name)
            # Parameters are expanded in the caller's step context, then checked like runProcedure.
            expanded = OrderedDict((name, self._expand(ctx, value))
                                   for name, value in step.actual_parameters.items())
            parameters = resolve_actual_parameters(procedure, expanded)
        except CommanderError as exc:
            self._fail(js, f"Subprocedure step '{js.step_name}': {exc}")
            return
        with store.lock:
            js.called_project, js.called_procedure = project_name, procedure_name
            js.call_parameters = parameters
            if js.aborted:
                self._finish(js, "error")
                return
            js.children = self._create_job_steps(js.job, js, procedure)
            tolerated = run.stop_count if step.always_run else inv.tolerated_stops
            child = _Invocation(call_step=js, steps=js.children,
                                tolerated_stops=max(tolerated, inv.tolerated_stops))
            run.invocations[js.id] = child
            js.status = "running"
            js.start = now_iso()
            js.start_monotonic = time.monotonic()
        try:
            self._run_invocation(run, child)
        finally:
            with store.lock:
                js.finish_monotonic = time.monotonic()
                outcome = rollup_outcome((c.outcome, c.step.error_handling) for c in js.children)
                self._finish(js, "error" if js.aborted else outcome)

    # ---- aborts

    def _apply_error_handling(self, run: _JobRun, inv: _Invocation, js: JobStep) -> None:
        """What a failed step's errorHandling does to the rest of its procedure or job. Lock held."""
        if js.outcome != "error" or js.id in run.abort_killed:
            return
        handling = js.step.error_handling
        if handling in ("abortProcedure", "abortProcedureNow"):
            inv.stopped = True
            if handling == "abortProcedureNow":
                for sibling in inv.steps:
                    if sibling is not js:
                        self._abort_subtree(run, sibling, force=False)
        elif handling in ("abortJob", "abortJobNow"):
            run.stop_count += 1
            if handling == "abortJobNow":
                for top in run.job.steps:
                    self._abort_subtree(run, top, force=False)
        # failProcedure: carry on, the roll-up makes the procedure an error; ignore: carry on, not counted.

    def _abort_subtree(self, run: _JobRun, js: JobStep, force: bool) -> None:
        """Abort a started step: kill its process, or stop its subprocedure and abort what runs inside.

        Without force an alwaysRun step and everything under it keeps running [U]. Caller holds the lock.
        """
        if js.status not in ("runnable", "running") or (js.step.always_run and not force):
            return
        js.aborted = True
        run.abort_killed.add(js.id)
        proc = run.processes.get(js.id)
        if proc is not None:
            _kill_process(proc)
        child = run.invocations.get(js.id)
        if child is not None:
            child.stopped = True
            for grandchild in js.children:
                self._abort_subtree(run, grandchild, force)

    # ---- helpers

    def _create_job_steps(self, job: Job, parent: Optional[JobStep], procedure: Procedure) -> List[JobStep]:
        """All steps of a procedure invocation, pending, so the job tree shows what is coming."""
        steps = []
        for step in procedure.steps:
            snapshot = copy.copy(step)  # the step as defined when the job reached it
            snapshot.actual_parameters = OrderedDict(step.actual_parameters)
            js = JobStep(step_name=step.name, job=job, parent=parent, step=snapshot,
                         project_name=procedure.project_name, procedure_name=procedure.name,
                         condition=step.condition)
            self.store.register_job_step(js)
            steps.append(js)
        return steps

    def _job_name(self, job: Job, procedure: Procedure) -> str:
        if not (procedure.job_name_template or "").strip():
            return self.store.next_job_name()
        ctx = Context(store=self.store, user_name=job.launched_by, job=job, project_name=job.project_name,
                      procedure_name=job.procedure_name)
        name = self._expand(ctx, procedure.job_name_template or "").strip()
        if not name:
            raise invalid("jobNameTemplate", "a template that expands to a non-empty job name")
        return name

    def _plugins_dir(self) -> str:
        return os.path.join(self.store.workspace_root, "plugins")

    def _agent_tools(self) -> str:
        """The folder put first on each step's PATH: `ectool`, as a real agent has it (ectool.py)."""
        with self._agent_bin_lock:
            if self._agent_bin is None:
                self._agent_bin = install_launcher(os.path.join(self.store.workspace_root, ".agent-bin"))
            return self._agent_bin

    def _agent_environment(self, js: JobStep, resource: str) -> Dict[str, str]:
        """What a CD/RO agent puts in a step's environment (commander-api.md §3)."""
        settings, job = self.store.settings, js.job
        port = str(settings.server_port)
        return {
            "COMMANDER_SERVER": settings.server_host,
            "COMMANDER_PORT": port,
            "COMMANDER_HTTPS_PORT": port,  # the emulator speaks plain http on one port [U]
            "COMMANDER_SECURE": "0",
            "COMMANDER_SESSIONID": job.session_id or "",
            "COMMANDER_JOBID": job.id,
            "COMMANDER_JOBSTEPID": js.id,
            "COMMANDER_WORKSPACE": job.workspace or "",
            "COMMANDER_RESOURCENAME": resource,
            "COMMANDER_PLUGINS": self._plugins_dir(),
        }

    def _finish(self, js: JobStep, outcome: str) -> None:
        """Complete a step with `outcome`. Caller holds the lock (it is re-entrant)."""
        with self.store.lock:
            js.outcome = outcome
            js.status = "completed"
            js.finish = now_iso()

    def _fail(self, js: JobStep, message: str) -> None:
        """End a step with outcome error before or instead of its process; the message goes to its log."""
        workspace = js.job.workspace or self.store.workspace_root
        log_path = js.log_path or os.path.join(workspace, f"{_file_safe(js.step_name)}.{js.id}.log")
        try:
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(message + "\n")
        except OSError:
            log_path = js.log_path  # the message stays in error_message
        with self.store.lock:
            js.error_message = message
            js.log_path = log_path
            js.start = js.start or now_iso()
            self._finish(js, "error")


def _credential(name: str, project_name: str, cred: Mapping[str, str]) -> Credential:
    return Credential(name=name, project_name=project_name, user_name=str(cred.get("userName", "")),
                      password=str(cred.get("password", "")))
