"""The job engine: steps, conditions, errorHandling, alwaysRun, parallel steps, subprocedures, processes.

Procedures are built directly in a Store; step commands are sh scripts whose side effects (marker files)
prove what ran. Every test runs with the stand-in expander below and, once it exists, with the real
`commander_emulator.expansion.expand`.
"""

from __future__ import annotations

import os
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

from commander_emulator.context import Context
from commander_emulator.engine import (
    Engine,
    condition_skips,
    parallel_groups,
    resolve_actual_parameters,
    rollup_outcome,
    shell_argv,
    time_limit_seconds,
)
from commander_emulator.errors import CommanderError
from commander_emulator.model import FormalParameter, Job, JobStep, Procedure, Step, Store

WAIT = 30.0  # generous upper bound for a job to finish; tests never assert on durations

# ------------------------------------------------------------------------------------ expanders

_REFERENCE = re.compile(r"\$\[([^\[\]]*)\]")


def stand_in_expand(ctx: Context, text: str) -> str:
    """`$[name]` -> the nearest call's parameter, else the job's; innermost references first."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        node: Optional[JobStep] = ctx.job_step.parent if ctx.job_step else None
        while node is not None:
            if name in node.call_parameters:
                return node.call_parameters[name]
            node = node.parent
        if ctx.job is not None and name in ctx.job.actual_parameters:
            return ctx.job.actual_parameters[name]
        raise CommanderError("NoSuchProperty", f"Property '{name}' does not exist")

    while _REFERENCE.search(text):
        text = _REFERENCE.sub(lookup, text)
    return text


def _expanders() -> List[object]:
    try:
        from commander_emulator.expansion import expand as real_expand
    except ImportError:
        return [pytest.param(stand_in_expand, id="stand-in")]
    return [pytest.param(stand_in_expand, id="stand-in"), pytest.param(real_expand, id="properties")]


# ------------------------------------------------------------------------------------ helpers


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "workspaces"))


@pytest.fixture(params=_expanders())
def engine(request: pytest.FixtureRequest, store: Store) -> Engine:
    return Engine(store, expand=request.param)


def step(name: str, command: Optional[str] = None, **fields: object) -> Step:
    return Step(name=name, command=command, **fields)  # type: ignore[arg-type]


def call(name: str, subprocedure: str, parameters: Optional[Dict[str, str]] = None, **fields: object) -> Step:
    return Step(name=name, subprocedure=subprocedure, actual_parameters=OrderedDict(parameters or {}),
                **fields)  # type: ignore[arg-type]


def add_procedure(store: Store, name: str, steps: List[Step],
                  parameters: Optional[List[FormalParameter]] = None, project: str = "P") -> Procedure:
    proc = Procedure(name=name, project_name=project, steps=steps,
                     formal_parameters=OrderedDict((p.name, p) for p in parameters or []))
    store.ensure_project(project).procedures[name] = proc
    return proc


def run(engine: Engine, procedure: str = "main", parameters: Optional[Dict[str, str]] = None,
        project: str = "P") -> Job:
    return engine.run_procedure(project, procedure, parameters or {}, [], "admin")


def run_to_end(engine: Engine, procedure: str = "main", parameters: Optional[Dict[str, str]] = None) -> Job:
    job = run(engine, procedure, parameters)
    return engine.wait(job.id, WAIT)


def by_name(steps: List[JobStep]) -> Dict[str, JobStep]:
    return {js.step_name: js for js in steps}


def outcomes(steps: List[JobStep]) -> Dict[str, Optional[str]]:
    return {js.step_name: js.outcome for js in steps}


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def await_file(name: str) -> str:
    """sh that waits (bounded) for a file in the working directory, exiting 3 if it never comes."""
    return f"i=0; while [ ! -f {name} ]; do i=$((i+1)); [ $i -gt 1500 ] && exit 3; sleep 0.02; done\n"


def ran(job: Job) -> List[str]:
    """The steps whose process ran, in order: every test step appends its name to ran.txt."""
    path = Path(job.workspace or "") / "ran.txt"
    return path.read_text().split() if path.exists() else []


def logged(name: str, command: str = "") -> str:
    return f"echo {name} >> ran.txt\n{command}"


# ------------------------------------------------------------------------------------ pure decisions


def test_rollup_error_beats_warning_beats_success_and_skips_do_not_count() -> None:
    fp = "failProcedure"
    assert rollup_outcome([("success", fp), ("warning", fp), ("error", fp)]) == "error"
    assert rollup_outcome([("success", fp), ("warning", fp), ("skipped", fp)]) == "warning"
    assert rollup_outcome([("success", fp), ("notRun", fp), ("skipped", fp)]) == "success"
    assert rollup_outcome([("skipped", fp), ("skipped", fp)]) == "skipped"
    assert rollup_outcome([("error", "ignore"), ("success", fp)]) == "success"
    assert rollup_outcome([("error", "ignore")]) == "success"
    assert rollup_outcome([]) == "success"


@pytest.mark.parametrize("result,skips", [("", True), ("0", True), ("false", True), ("FALSE", True),
                                          ("False", True), (" false ", True), ("1", False),
                                          ("true", False), ("no", False), ("00", False)])
def test_condition_results(result: str, skips: bool) -> None:
    assert condition_skips(result) is skips


def test_parallel_groups_join_only_adjacent_parallel_steps() -> None:
    steps = [step("a"), step("b", parallel=True), step("c", parallel=True), step("d"),
             step("e", parallel=True)]
    assert parallel_groups(steps) == [[0], [1, 2], [3], [4]]


def test_shell_argv_places_the_script() -> None:
    assert shell_argv("sh", "/w/s.cmd") == ["sh", "/w/s.cmd"]
    assert shell_argv("sh -e", "/w/s.cmd") == ["sh", "-e", "/w/s.cmd"]
    assert shell_argv("cp {0} copy.txt", "/w x/s.cmd") == ["cp", "/w x/s.cmd", "copy.txt"]
    assert shell_argv('python3 "{0}" --flag', "/w/s.cmd") == ["python3", "/w/s.cmd", "--flag"]
    with pytest.raises(CommanderError, match="shell"):
        shell_argv("   ", "/w/s.cmd")


def test_time_limit_units() -> None:
    assert time_limit_seconds("", "hours") is None
    assert time_limit_seconds("2", "minutes") == 120
    assert time_limit_seconds("2", None) == 120
    assert time_limit_seconds("1", "hours") == 3600
    with pytest.raises(CommanderError, match="timeLimitUnits"):
        time_limit_seconds("1", "days")
    with pytest.raises(CommanderError, match="timeLimit"):
        time_limit_seconds("soon", "seconds")


def test_resolve_actual_parameters_applies_defaults_in_formal_order() -> None:
    formals = [FormalParameter("branch", required=True), FormalParameter("type", default_value="Debug"),
               FormalParameter("note")]
    proc = Procedure(name="build", project_name="P",
                     formal_parameters=OrderedDict((p.name, p) for p in formals))
    resolved = resolve_actual_parameters(proc, {"branch": "main"})
    assert list(resolved.items()) == [("branch", "main"), ("type", "Debug"), ("note", "")]
    assert resolve_actual_parameters(proc, {"type": "Release", "branch": "b"})["type"] == "Release"
    with pytest.raises(CommanderError) as missing:
        resolve_actual_parameters(proc, {"type": "x"})
    assert missing.value.code == "MissingActualParameter" and "'branch'" in missing.value.message
    with pytest.raises(CommanderError) as unknown:
        resolve_actual_parameters(proc, {"branch": "b", "colour": "red"})
    assert unknown.value.code == "InvalidActualParameter" and "'colour'" in unknown.value.message


# ------------------------------------------------------------------------------------ runProcedure


def test_run_procedure_validates_synchronously(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [step("one", "true")], [FormalParameter("branch", required=True)])
    with pytest.raises(CommanderError) as no_project:
        engine.run_procedure("Nope", "main", {"branch": "b"}, [], "admin")
    assert no_project.value.code == "NoSuchProject"
    with pytest.raises(CommanderError) as no_procedure:
        engine.run_procedure("P", "nope", {"branch": "b"}, [], "admin")
    assert no_procedure.value.code == "NoSuchProcedure"
    with pytest.raises(CommanderError) as missing:
        engine.run_procedure("P", "main", {}, [], "admin")
    assert missing.value.code == "MissingActualParameter" and "branch" in missing.value.message
    with pytest.raises(CommanderError) as unknown:
        engine.run_procedure("P", "main", {"branch": "b", "extra": "1"}, [], "admin")
    assert unknown.value.code == "InvalidActualParameter" and "extra" in unknown.value.message
    assert store.jobs == {} and store.job_steps == {}


def test_run_procedure_registers_job_workspace_session_and_credentials(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [step("one", "true")],
                  [FormalParameter("branch", required=True), FormalParameter("type", default_value="Debug")])
    job = engine.run_procedure("P", "main", {"branch": "main"},
                               [{"credentialName": "deploy", "userName": "u", "password": "pw"}], "alice")
    assert store.job(job.id) is job and store.job(job.name) is job
    assert job.store is store and job.launched_by == "alice"
    assert dict(job.actual_parameters) == {"branch": "main", "type": "Debug"}
    assert job.credentials["deploy"].user_name == "u" and job.credentials["deploy"].password == "pw"
    assert job.workspace == os.path.join(store.workspace_root, job.name) and os.path.isdir(job.workspace)
    assert store.sessions[job.session_id or ""].user_name == "alice"
    assert re.fullmatch(r"[0-9a-f-]{36}", job.id)
    finished = engine.wait(job.id, WAIT)
    assert (finished.status, finished.outcome) == ("completed", "success")
    assert finished.start and finished.finish and finished.done.is_set()


def test_job_name_template_is_expanded_with_the_job_parameters(engine: Engine, store: Store) -> None:
    proc = add_procedure(store, "main", [step("one", "true")],
                         [FormalParameter("branch", default_value="dev")])
    proc.job_name_template = "build-$[branch]"
    job = run(engine, parameters={"branch": "main"})
    assert job.name == "build-main" and job.workspace == os.path.join(store.workspace_root, "build-main")
    with pytest.raises(CommanderError) as duplicate:
        run(engine, parameters={"branch": "main"})
    assert duplicate.value.code == "DuplicateJobName"
    engine.wait(job.id, WAIT)


def test_all_steps_exist_pending_before_they_run(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [step("first", "touch started\n" + await_file("go")), step("second", "true"),
                                  call("third", "sub")])
    add_procedure(store, "sub", [step("inner", "true")])
    job = run(engine)
    first, second, third = job.steps
    assert all(store.job_step(js.id) is js for js in job.steps)
    wait_for(lambda: (Path(job.workspace or "") / "started").exists(), "the first step to start")
    assert (job.status, first.status) == ("running", "running")
    assert (second.status, second.outcome, third.status, third.children) == ("pending", None, "pending", [])
    (Path(job.workspace or "") / "go").touch()
    engine.wait(job.id, WAIT)
    assert [js.status for js in job.walk()] == ["completed"] * 4
    assert store.job_step(third.children[0].id).parent is third


# ------------------------------------------------------------------------------------ errorHandling

TEN_STEP_EXPECTATIONS = {
    # errorHandling of step 5: (outcome of steps 6-10, job outcome); "unreached" = the version setting
    "failProcedure": ("success", "error"),
    "abortProcedure": ("unreached", "error"),
    "abortProcedureNow": ("unreached", "error"),
    "abortJob": ("unreached", "error"),
    "abortJobNow": ("unreached", "error"),
    "ignore": ("success", "success"),  # the failure is not counted upward
}


@pytest.mark.parametrize("unreached", ["skipped", "notRun"])
@pytest.mark.parametrize("handling", list(TEN_STEP_EXPECTATIONS))
def test_ten_steps_failing_at_five(engine: Engine, store: Store, handling: str, unreached: str) -> None:
    store.settings.unreached_outcome = unreached
    steps = [step(f"s{i}", logged(f"s{i}")) for i in range(1, 11)]
    steps[4] = step("s5", logged("s5", "exit 1"), error_handling=handling)
    add_procedure(store, "main", steps)
    job = run_to_end(engine)
    later, job_outcome = TEN_STEP_EXPECTATIONS[handling]
    later = unreached if later == "unreached" else later
    got = by_name(job.steps)
    assert [got[f"s{i}"].outcome for i in range(1, 5)] == ["success"] * 4
    assert (got["s5"].outcome, got["s5"].exit_code) == ("error", 1)
    assert [got[f"s{i}"].outcome for i in range(6, 11)] == [later] * 5
    assert all(js.status == "completed" for js in job.steps)
    assert (job.status, job.outcome) == ("completed", job_outcome)
    expected_ran = [f"s{i}" for i in range(1, 11)] if later == "success" else [f"s{i}" for i in range(1, 6)]
    assert ran(job) == expected_ran
    assert all(got[f"s{i}"].exit_code is None for i in range(6, 11) if later != "success")


@pytest.mark.parametrize("handling,next_outcome", [("abortProcedure", "success"), ("abortJob", "skipped")])
def test_abort_procedure_stays_in_its_procedure_but_abort_job_does_not(
        engine: Engine, store: Store, handling: str, next_outcome: str) -> None:
    add_procedure(store, "sub", [step("fail", logged("fail", "exit 1"), error_handling=handling),
                                 step("after", logged("after"))])
    add_procedure(store, "main", [call("callSub", "sub"), step("next", logged("next"))])
    job = run_to_end(engine)
    call_step = job.steps[0]
    assert outcomes(call_step.children) == {"fail": "error", "after": "skipped"}
    assert call_step.outcome == "error"
    assert job.steps[1].outcome == next_outcome
    assert job.outcome == "error"


def test_failed_call_applies_its_own_error_handling(engine: Engine, store: Store) -> None:
    add_procedure(store, "sub", [step("fail", logged("fail", "exit 1")), step("after", logged("after"))])
    add_procedure(store, "main", [call("callSub", "sub", error_handling="abortProcedure"),
                                  step("next", logged("next"))])
    job = run_to_end(engine)
    assert outcomes(job.steps[0].children) == {"fail": "error", "after": "success"}
    assert outcomes(job.steps) == {"callSub": "error", "next": "skipped"}
    assert ran(job) == ["fail", "after"]


def test_ignored_failing_call_is_not_counted(engine: Engine, store: Store) -> None:
    add_procedure(store, "sub", [step("fail", "exit 1")])
    add_procedure(store, "main", [call("callSub", "sub", error_handling="ignore"), step("next", "true")])
    job = run_to_end(engine)
    assert outcomes(job.steps) == {"callSub": "error", "next": "success"}
    assert job.outcome == "success"


def test_abort_procedure_now_kills_running_sibling(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [
        step("sleeper", "touch started; sleep 60; touch finished", parallel=True),
        step("fail", await_file("started") + "exit 1", parallel=True, error_handling="abortProcedureNow"),
        step("later", logged("later")),
    ])
    job = run_to_end(engine)
    sleeper, fail, later = job.steps
    assert (sleeper.outcome, sleeper.aborted) == ("error", True)
    assert (fail.outcome, fail.aborted) == ("error", False)
    assert later.outcome == "skipped"
    assert not (Path(job.workspace or "") / "finished").exists()


def test_abort_procedure_now_kills_a_running_sibling_call_and_its_steps(engine: Engine, store: Store) -> None:
    add_procedure(store, "sub", [step("sleeper", "touch started; sleep 60; touch finished"),
                                 step("after", logged("after"))])
    add_procedure(store, "main", [
        call("callSub", "sub", parallel=True),
        step("fail", await_file("started") + "exit 1", parallel=True, error_handling="abortProcedureNow"),
    ])
    job = run_to_end(engine)
    call_step = job.steps[0]
    assert (call_step.outcome, call_step.aborted) == ("error", True)
    assert outcomes(call_step.children) == {"sleeper": "error", "after": "skipped"}
    assert call_step.children[0].aborted
    assert ran(job) == [] and not (Path(job.workspace or "") / "finished").exists()


def test_a_step_killed_by_an_abort_skips_its_own_error_handling(engine: Engine, store: Store) -> None:
    # The killed sleeper would abort the whole job if its abortJob applied; it was aborted, not failing [U].
    add_procedure(store, "sub", [
        step("sleeper", "touch started; sleep 60", parallel=True, error_handling="abortJob"),
        step("fail", await_file("started") + "exit 1", parallel=True, error_handling="abortProcedureNow"),
    ])
    add_procedure(store, "main", [call("callSub", "sub"), step("next", logged("next"))])
    job = run_to_end(engine)
    assert outcomes(job.steps[0].children) == {"sleeper": "error", "fail": "error"}
    assert outcomes(job.steps) == {"callSub": "error", "next": "success"}


@pytest.mark.parametrize("handling,sibling_killed", [("abortJobNow", True), ("abortProcedureNow", False)])
def test_abort_now_reach(engine: Engine, store: Store, handling: str, sibling_killed: bool) -> None:
    # The failing step sits in a subprocedure; a step of the top procedure runs beside the call.
    add_procedure(store, "sub", [step("fail", await_file("started") + "exit 1", error_handling=handling)])
    add_procedure(store, "main", [
        step("outside", "touch started\n" + await_file("release") + "touch finished", parallel=True),
        call("callSub", "sub", parallel=True),
    ])
    job = run(engine)
    # Release the outside step only once the failure has been handled (its call step is complete).
    wait_for(lambda: job.steps[1].status == "completed", "the subprocedure call to complete")
    (Path(job.workspace or "") / "release").touch()
    engine.wait(job.id, WAIT)
    outside = job.steps[0]
    assert (outside.outcome, outside.aborted) == (("error", True) if sibling_killed else ("success", False))
    assert (Path(job.workspace or "") / "finished").exists() is not sibling_killed
    assert job.outcome == "error"


def test_time_limit_kills_the_step(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [step("slow", "sleep 60; touch finished", time_limit="0.3",
                                       time_limit_units="seconds"), step("next", "true")])
    job = run_to_end(engine)
    slow = job.steps[0]
    assert (slow.outcome, slow.aborted) == ("error", True)
    assert "time limit" in (slow.error_message or "")
    assert "time limit" in Path(slow.log_path or "").read_text()
    assert job.steps[1].outcome == "success"  # failProcedure: carry on
    assert not (Path(job.workspace or "") / "finished").exists()


# ------------------------------------------------------------------------------------ alwaysRun and abortJob


@pytest.mark.parametrize("unreached", ["skipped", "notRun"])
def test_always_run_runs_after_abort_job(engine: Engine, store: Store, unreached: str) -> None:
    store.settings.unreached_outcome = unreached
    add_procedure(store, "cleanup", [step("tidy", logged("tidy")), step("report", logged("report"))])
    add_procedure(store, "sub", [step("fail", logged("fail", "exit 1"), error_handling="abortJob"),
                                 step("subAfter", logged("subAfter")),
                                 step("subAlways", logged("subAlways"), always_run=True)])
    add_procedure(store, "main", [call("callSub", "sub"), step("normal", logged("normal")),
                                  step("always", logged("always"), always_run=True),
                                  call("callCleanup", "cleanup", always_run=True)])
    job = run_to_end(engine)
    assert outcomes(job.steps[0].children) == {"fail": "error", "subAfter": unreached, "subAlways": "success"}
    assert outcomes(job.steps) == {"callSub": "error", "normal": unreached, "always": "success",
                                   "callCleanup": "success"}
    # The steps of an alwaysRun subprocedure run too, though they are not alwaysRun themselves [U].
    assert outcomes(job.steps[3].children) == {"tidy": "success", "report": "success"}
    assert ran(job) == ["fail", "subAlways", "always", "tidy", "report"]
    assert job.outcome == "error"


def test_abort_job_lets_running_steps_finish_and_always_run_steps_start(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [step("busy", "touch started\n" + await_file("go") + logged("busy")),
                                  step("normal", logged("normal")),
                                  step("always", logged("always"), always_run=True)])
    job = run(engine)
    workspace = Path(job.workspace or "")
    wait_for(lambda: (workspace / "started").exists(), "the busy step to start")
    engine.abort_job(job.id)
    (workspace / "go").touch()
    engine.wait(job.id, WAIT)
    assert outcomes(job.steps) == {"busy": "success", "normal": "skipped", "always": "success"}
    assert ran(job) == ["busy", "always"]
    assert (job.outcome, job.abort_requested) == ("error", True)


def test_forced_abort_job_kills_and_skips_always_run(engine: Engine, store: Store) -> None:
    store.settings.unreached_outcome = "notRun"
    add_procedure(store, "main", [step("busy", "touch started; sleep 60; touch finished"),
                                  step("always", logged("always"), always_run=True)])
    job = run(engine)
    workspace = Path(job.workspace or "")
    wait_for(lambda: (workspace / "started").exists(), "the busy step to start")
    engine.abort_job(job.id, force=True)
    engine.wait(job.id, WAIT)
    busy, always = job.steps
    assert (busy.outcome, busy.aborted, always.outcome) == ("error", True, "notRun")
    assert ran(job) == [] and not (workspace / "finished").exists()
    assert job.outcome == "error"


def test_wait_times_out_and_abort_of_a_finished_job_is_harmless(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [step("busy", await_file("go"))])
    job = run(engine)
    with pytest.raises(TimeoutError, match=job.name):
        engine.wait(job.id, 0.05)
    (Path(job.workspace or "") / "go").touch()
    engine.wait(job.id, WAIT)
    engine.abort_job(job.id)
    assert (job.outcome, job.abort_requested) == ("success", False)


# ------------------------------------------------------------------------------------ conditions


@pytest.mark.parametrize("condition,flag,runs", [
    (None, "", True),
    ("", "", True),
    ("   ", "", True),
    ("0", "", False),
    ("false", "", False),
    ("FALSE", "", False),
    ("1", "", True),
    ("$[flag]", "", False),  # expands to ""
    ("$[flag]", "0", False),
    ("$[flag]", "yes", True),
])
def test_run_condition(engine: Engine, store: Store, condition: Optional[str], flag: str, runs: bool) -> None:
    add_procedure(store, "main", [step("maybe", "touch marker", condition=condition)],
                  [FormalParameter("flag")])
    job = run_to_end(engine, parameters={"flag": flag})
    maybe = job.steps[0]
    assert (Path(job.workspace or "") / "marker").exists() is runs
    assert maybe.outcome == ("success" if runs else "skipped")
    assert maybe.status == "completed"
    if condition and condition.strip():
        assert maybe.run_condition_result == condition.replace("$[flag]", flag)
    if not runs:  # a skipped step never started a process
        assert (maybe.exit_code, maybe.log_path, maybe.start_monotonic) == (None, None, None)
        assert job.outcome == "skipped"


def test_condition_that_fails_to_expand_is_a_step_error(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [step("maybe", "touch marker", condition="$[noSuchProperty]"),
                                  step("next", "true")])
    job = run_to_end(engine)
    maybe = job.steps[0]
    assert maybe.outcome == "error" and "noSuchProperty" in (maybe.error_message or "")
    assert "noSuchProperty" in Path(maybe.log_path or "").read_text()
    assert not (Path(job.workspace or "") / "marker").exists()
    assert (job.steps[1].outcome, job.outcome) == ("success", "error")


def test_condition_is_evaluated_when_the_step_is_reached(engine: Engine, store: Store) -> None:
    # The parameter the condition reads changes while the first step runs: the second step sees the new value.
    add_procedure(store, "main", [step("first", "touch started\n" + await_file("go")),
                                  step("second", "touch marker", condition="$[flag]")],
                  [FormalParameter("flag", default_value="1")])
    job = run(engine)
    wait_for(lambda: (Path(job.workspace or "") / "started").exists(), "the first step to start")
    with store.lock:
        job.actual_parameters["flag"] = "false"
    (Path(job.workspace or "") / "go").touch()
    engine.wait(job.id, WAIT)
    assert (job.steps[1].outcome, job.steps[1].run_condition_result) == ("skipped", "false")


# ------------------------------------------------------------------------------------ parallel


def test_parallel_steps_overlap_and_the_next_serial_step_waits(engine: Engine, store: Store) -> None:
    rendezvous = "touch {me}.ready\n" + "{wait}"
    add_procedure(store, "main", [
        step("first", "true"),
        step("a", rendezvous.format(me="a", wait=await_file("b.ready")), parallel=True),
        step("b", rendezvous.format(me="b", wait=await_file("a.ready")), parallel=True),
        step("after", "true"),
    ])
    job = run_to_end(engine)
    first, a, b, after = job.steps
    assert outcomes(job.steps) == {"first": "success", "a": "success", "b": "success", "after": "success"}
    stamps = [(js.start_monotonic or 0.0, js.finish_monotonic or 0.0) for js in (first, a, b, after)]
    assert a.start_monotonic and b.start_monotonic
    assert stamps[1][0] < stamps[2][1] and stamps[2][0] < stamps[1][1]  # a and b overlap
    assert stamps[0][1] <= min(stamps[1][0], stamps[2][0])
    assert stamps[3][0] >= max(stamps[1][1], stamps[2][1])


# ------------------------------------------------------------------------------------ subprocedures


def test_nested_subprocedures_pass_parameters_through(engine: Engine, store: Store) -> None:
    add_procedure(store, "leaf", [step("write", 'echo "$[Y] $[Z]" > leaf.txt')],
                  [FormalParameter("Y", required=True), FormalParameter("Z", default_value="zdef")])
    add_procedure(store, "mid", [call("callLeaf", "leaf", {"Y": "$[X]-leaf"})],
                  [FormalParameter("X", required=True)])
    add_procedure(store, "main", [call("callMid", "mid", {"X": "$[A]-mid"}, subproject="P")],
                  [FormalParameter("A", required=True)])
    job = run_to_end(engine, parameters={"A": "a"})
    assert (Path(job.workspace or "") / "leaf.txt").read_text().strip() == "a-mid-leaf zdef"
    call_mid = job.steps[0]
    call_leaf = call_mid.children[0]
    write = call_leaf.children[0]
    assert (call_mid.called_project, call_mid.called_procedure) == ("P", "mid")
    assert dict(call_mid.call_parameters) == {"X": "a-mid"}
    assert dict(call_leaf.call_parameters) == {"Y": "a-mid-leaf", "Z": "zdef"}
    assert (write.parent, call_leaf.parent) == (call_leaf, call_mid)
    assert (write.procedure_name, call_leaf.procedure_name) == ("leaf", "mid")
    assert [js.outcome for js in job.walk()] == ["success"] * 3
    assert write.command == 'echo "a-mid-leaf zdef" > leaf.txt'


def test_call_steps_are_running_while_their_children_run(engine: Engine, store: Store) -> None:
    add_procedure(store, "leaf", [step("wait", "touch started\n" + await_file("go"))])
    add_procedure(store, "mid", [call("callLeaf", "leaf")])
    add_procedure(store, "main", [call("callMid", "mid")])
    job = run(engine)
    wait_for(lambda: (Path(job.workspace or "") / "started").exists(), "the leaf step to start")
    call_mid = job.steps[0]
    call_leaf = call_mid.children[0]
    assert (job.status, call_mid.status, call_leaf.status, call_leaf.children[0].status) == ("running",) * 4
    assert call_mid.outcome is None
    (Path(job.workspace or "") / "go").touch()
    engine.wait(job.id, WAIT)
    assert [js.status for js in job.walk()] == ["completed"] * 3


def test_call_rolls_up_warning_and_all_skipped(engine: Engine, store: Store) -> None:
    add_procedure(store, "skips", [step("a", "true", condition="0"), step("b", "true", condition="false")])
    add_procedure(store, "main", [call("callSkips", "skips"),
                                  step("marks", "touch started\n" + await_file("go"))])
    job = run(engine)
    wait_for(lambda: (Path(job.workspace or "") / "started").exists(), "the marks step to start")
    with store.lock:
        job.steps[1].outcome_override = "warning"  # what setProperty /myJobStep/outcome does
    (Path(job.workspace or "") / "go").touch()
    engine.wait(job.id, WAIT)
    assert outcomes(job.steps) == {"callSkips": "skipped", "marks": "warning"}
    assert job.outcome == "warning"


@pytest.mark.parametrize("parameters,code,named", [
    ({}, "MissingActualParameter", "need"),
    ({"need": "1", "bogus": "2"}, "InvalidActualParameter", "bogus"),
])
def test_call_with_bad_parameters_fails_the_call_step(
        engine: Engine, store: Store, parameters: Dict[str, str], code: str, named: str) -> None:
    add_procedure(store, "sub", [step("inner", "touch marker")], [FormalParameter("need", required=True)])
    add_procedure(store, "main", [call("callSub", "sub", parameters), step("next", "true")])
    job = run_to_end(engine)
    call_step = job.steps[0]
    assert call_step.outcome == "error" and call_step.children == []
    assert code in (call_step.error_message or "") and named in (call_step.error_message or "")
    assert not (Path(job.workspace or "") / "marker").exists()
    assert (job.steps[1].outcome, job.outcome) == ("success", "error")


def test_call_of_missing_procedure_fails_the_call_step(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [call("callSub", "nope")])
    job = run_to_end(engine)
    assert job.steps[0].outcome == "error" and "NoSuchProcedure" in (job.steps[0].error_message or "")


# ------------------------------------------------------------------------------------ processes


def test_agent_environment_reaches_the_process(engine: Engine, store: Store) -> None:
    store.settings.server_host, store.settings.server_port = "127.0.0.9", 8123
    add_procedure(store, "main", [step("env", "env | grep '^COMMANDER_' > env.txt", resource_name="$[res]")],
                  [FormalParameter("res", default_value="agent7")])
    job = run_to_end(engine)
    lines = (Path(job.workspace or "") / "env.txt").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines)
    js = job.steps[0]
    assert env == {
        "COMMANDER_SERVER": "127.0.0.9",
        "COMMANDER_PORT": "8123",
        "COMMANDER_HTTPS_PORT": "8123",
        "COMMANDER_SECURE": "0",
        "COMMANDER_SESSIONID": job.session_id,
        "COMMANDER_JOBID": job.id,
        "COMMANDER_JOBSTEPID": js.id,
        "COMMANDER_WORKSPACE": job.workspace,
        "COMMANDER_RESOURCENAME": "agent7",
        "COMMANDER_PLUGINS": os.path.join(store.workspace_root, "plugins"),
    }
    assert os.path.isdir(env["COMMANDER_PLUGINS"]) and js.resource_name == "agent7"
    assert store.sessions[env["COMMANDER_SESSIONID"]].user_name == "admin"


def test_shell_placeholder_stands_for_the_script_file(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [
        step("copy", "echo $[word]", shell="cp {0} copy.txt"),
        step("append", "echo $[word]", shell="cat"),  # no {0}: the file is the last argument
        step("expanded", "echo from-$[word] > expanded.txt", shell="$[myShell]"),
        step("default", "echo default > default.txt"),
    ], [FormalParameter("word", default_value="hello"),
        FormalParameter("myShell", default_value="sh -e {0}")])
    job = run_to_end(engine)
    workspace = Path(job.workspace or "")
    copy, append, expanded, default = job.steps
    assert (workspace / "copy.txt").read_text() == "echo hello"
    assert Path(append.log_path or "").read_text() == "echo hello"
    assert (workspace / "expanded.txt").read_text().strip() == "from-hello"
    assert (workspace / "default.txt").read_text().strip() == "default"
    assert (expanded.shell, default.shell) == ("sh -e {0}", "sh")
    assert [js.outcome for js in job.steps] == ["success"] * 4


def test_exit_code_log_and_working_directory(engine: Engine, store: Store, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    add_procedure(store, "main", [step("here", "pwd > where.txt; echo out; echo err >&2; exit 7",
                                       working_directory="$[dir]")],
                  [FormalParameter("dir", default_value=str(elsewhere))])
    job = run_to_end(engine)
    here = job.steps[0]
    assert (here.exit_code, here.outcome) == (7, "error")
    assert (elsewhere / "where.txt").read_text().strip() == str(elsewhere)
    assert Path(here.log_path or "").read_text().split() == ["out", "err"]
    assert here.start and here.finish and here.start_monotonic and here.finish_monotonic
    assert here.start_monotonic <= here.finish_monotonic


def test_outcome_set_by_the_step_wins_over_its_exit_code(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [step("failing", "touch started\n" + await_file("go") + "exit 1")])
    job = run(engine)
    wait_for(lambda: (Path(job.workspace or "") / "started").exists(), "the step to start")
    with store.lock:
        job.steps[0].outcome_override = "success"
    (Path(job.workspace or "") / "go").touch()
    engine.wait(job.id, WAIT)
    assert (job.steps[0].exit_code, job.steps[0].outcome, job.outcome) == (1, "success", "success")


def test_shell_that_cannot_start_is_a_step_error(engine: Engine, store: Store) -> None:
    add_procedure(store, "main", [step("bad", "true", shell="/no/such/shell-xyz"), step("next", "true")])
    job = run_to_end(engine)
    bad = job.steps[0]
    assert bad.outcome == "error" and "/no/such/shell-xyz" in (bad.error_message or "")
    assert job.steps[1].outcome == "success"
