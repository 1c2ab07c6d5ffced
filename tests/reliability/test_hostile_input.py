"""Hostile and odd input, table-driven, end to end on the emulator: each case either works correctly or
fails with one clear line; none gives a traceback, none ends a step in error that should not, and none
loses a parameter. Steps that must not run twice leave markers, and the markers are counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from conftest import RUN_CONDITION, find_step, unique
from restart_support import (
    PLUGIN,
    cli_env,
    counts,
    follow_restart_link,
    launched_by,
    mark,
    parameters,
    report_urls,
    step_summaries,
)

from tests.reliability.reliability_support import run_cli

RC = RUN_CONDITION


def restart_through_the_link(api: Any, server: Any, job_id: str) -> Dict[str, Any]:
    """Click the job's stored restart link; the job it restarts with (a link past 8 KB runs RestartJob,
    whose job then launches the restart)."""
    clicked = follow_restart_link(api, server, report_urls(api, job_id)["Restart this job"])
    return clicked if clicked["procedureName"] == "Main" else launched_by(api, clicked)


# --------------------------------------------------------------------------------- jobToRestart

def two_steps(project: str, m: Path) -> str:
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'one', command: '''{mark(m, 'one')}''', condition: '{RC}'
    step 'two', command: '''{mark(m, 'two')}''', condition: '{RC}'
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
  procedure 'Other', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'one', command: 'true'
    step 'two', command: 'true'
  }}
  procedure 'Slow', {{
    step 'wait', command: 'sleep 20'
  }}
}}
"""


JOB_REFERENCES: List[Tuple[str, str]] = [
    ("empty", ""), ("whitespace", "  \t "), ("garbage", "no such job"), ("a path", "/jobs/123"),
    ("a relative path", "../jobs/1"), ("a wrong-format UUID", "12345678-zzzz-1234-1234-1234567890ab"),
    ("an unknown UUID", "00000000-0000-0000-0000-000000000000"), ("10 KB of text", "x" * 10240),
    ("a property reference", "$[/myJob/jobId]"), ("a broken reference", "$[/myJob/"),
    ("JavaScript injection", '"); return "false"; ("'), ("a closing bracket", "]"),
    ("markup", "<script>alert(1)</script>"), ("non-ASCII", "jöb_1"), ("a newline", "job\nname"),
]


@pytest.mark.parametrize("label, reference", JOB_REFERENCES, ids=[label for label, _ in JOB_REFERENCES])
def test_a_job_to_restart_that_names_no_usable_job_runs_every_step(api: Any, ec_resume: str, tmp_path: Path,
                                                                   label: str, reference: str) -> None:
    project = unique("BadRef")
    api.call("evalDsl", dsl=two_steps(project, tmp_path))
    job = api.run_and_wait(project, "Main", {"jobToRestart": reference})
    assert job["outcome"] == "success", (label, step_summaries(api, job))
    assert counts(tmp_path) == {"one": 1, "two": 1}


def test_jobs_that_are_not_a_completed_job_of_this_procedure_skip_nothing(api: Any, ec_resume: str,
                                                                          tmp_path: Path) -> None:
    """Another procedure's job, a running job, and a completed job named by its job name (which resumes)."""
    project = unique("Refs")
    api.call("evalDsl", dsl=two_steps(project, tmp_path))
    other = api.run_and_wait(project, "Other", {})
    running = api.run_procedure(project, "Slow", {})
    try:
        for reference in (other["jobId"], other["jobName"], running):
            job = api.run_and_wait(project, "Main", {"jobToRestart": reference})
            assert [find_step(job, s)["outcome"] for s in ("one", "two")] == ["success"] * 2, reference
        assert counts(tmp_path) == {"one": 3, "two": 3}
        done = api.run_and_wait(project, "Main", {})
        again = api.run_and_wait(project, "Main", {"jobToRestart": done["jobName"]})  # by name: resumes
        assert [find_step(again, s)["outcome"] for s in ("one", "two")] == ["skipped"] * 2
        assert counts(tmp_path) == {"one": 4, "two": 4}
    finally:
        api.call("abortJob", jobId=running, force="1")


# ---------------------------------------------------------------------------------- parameters

PARAMETER_VALUES: List[Tuple[str, str]] = [
    ("ampersand", "a&b&numParameters=0"), ("equals", "k=v=w"), ("hash", "#fragment"),
    ("percent", "100%25 %zz"),
    ("plus", "1+1 = 2"), ("newlines", "line 1\nline 2\r\nline 3"), ("quotes", "it's \"quoted\" `x`"),
    ("markup", "<script>alert('x')</script>"), ("non-ASCII", "grüße 日本 🚀"), ("8 KB", "v" * 8192),
    ("empty", ""), ("a reference", "$[/myJob/jobId]"), ("backslashes", "C:\\path\\to\\"),
    ("tab and spaces", "\t two  spaces \t"),
]


def fixed_flag(m: Path) -> Path:
    """The cause of the failure, repaired between the jobs (beside the markers, not among them)."""
    return m.parent / f"{m.name}.fixed"


def parameter_dsl(project: str, m: Path, names: List[str]) -> str:
    formals = "\n    ".join(f"formalParameter '{n}', defaultValue: '', type: 'textarea'" for n in names)
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    {formals}
    step 'build', command: '''{mark(m, 'build')}''', condition: '{RC}'
    step 'deploy', command: '''{mark(m, 'deploy')}; test -f {fixed_flag(m).as_posix()}''', condition: '{RC}'
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
"""


def test_every_odd_parameter_value_survives_the_restart_link_byte_for_byte(api: Any, server: Any,
                                                                           ec_resume: str,
                                                                           tmp_path: Path) -> None:
    names = [f"p_{label.replace(' ', '_').replace('-', '_')}" for label, _ in PARAMETER_VALUES] + [
        "name with spaces"]
    values = {name: value for name, (_, value) in zip(names, PARAMETER_VALUES)}
    values["name with spaces"] = "value & more"
    project = unique("Params")
    api.call("evalDsl", dsl=parameter_dsl(project, tmp_path, names))
    first = api.run_and_wait(project, "Main", values)
    assert first["outcome"] == "error"
    fixed_flag(tmp_path).touch()
    second = restart_through_the_link(api, server, first["jobId"])
    assert second["outcome"] == "success", step_summaries(api, second)
    carried = parameters(second)
    assert {n: carried.get(n) for n in names} == values
    assert counts(tmp_path) == {"build": 1, "deploy": 2}


def test_two_hundred_parameters_are_carried(api: Any, server: Any, ec_resume: str, tmp_path: Path) -> None:
    names = [f"param{i:03d}" for i in range(200)]
    values = {name: f"value {i} & {'x' * (i % 7)}" for i, name in enumerate(names)}
    project = unique("Many")
    api.call("evalDsl", dsl=parameter_dsl(project, tmp_path, names))
    first = api.run_and_wait(project, "Main", values)
    fixed_flag(tmp_path).touch()
    second = restart_through_the_link(api, server, first["jobId"])
    assert second["outcome"] == "success"
    assert {n: parameters(second).get(n) for n in names} == values


# --------------------------------------------------------------------------------------- steps

STEP_NAMES = ["with spaces", "it's", 'say "hi"', "grüße 日本", "a/b", "[lead", "trail]", "br[ack]et",
              "dollar$[", "$[/myJob/jobId]", "semi;colon", "back\\slash", "percent %20", "tab\there"]


def test_odd_step_names_never_fail_and_the_plain_ones_still_resume(api: Any, ec_resume: str,
                                                                   tmp_path: Path) -> None:
    def quoted(name: str) -> str:
        return name.replace("\\", "\\\\").replace("'", "\\'")

    steps = "\n    ".join(f"step '{quoted(n)}', command: '''{mark(tmp_path, f's{i}')}''', condition: '{RC}'"
                          for i, n in enumerate(STEP_NAMES))
    project = unique("Names")
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'plain', command: '''{mark(tmp_path, 'plain')}''', condition: '{RC}'
    {steps}
    step 'fails', command: '''test -f {fixed_flag(tmp_path).as_posix()}''', condition: '{RC}'
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
""")
    first = api.run_and_wait(project, "Main", {})
    assert first["outcome"] == "error"
    fixed_flag(tmp_path).touch()
    second = api.run_and_wait(project, "Main", {"jobToRestart": first["jobId"]})
    assert second["outcome"] == "success", step_summaries(api, second)
    assert find_step(second, "plain")["outcome"] == "skipped"
    # Names a property path cannot address run every time; the others resume.
    odd = {i for i, n in enumerate(STEP_NAMES) if any(c in n for c in "/[]$")}
    assert counts(tmp_path) == {"plain": 1, **{f"s{i}": 2 if i in odd else 1 for i in range(len(STEP_NAMES))}}


def test_twenty_levels_of_nesting_resume(api: Any, ec_resume: str, tmp_path: Path) -> None:
    levels = 20
    procedures = [f"""
  procedure 'L{levels}', {{
    step 'leaf', command: '''{mark(tmp_path, 'leaf')}''', condition: '{RC}'
    step 'fails', command: '''test -f {fixed_flag(tmp_path).as_posix()}''', condition: '{RC}'
  }}"""]
    procedures += [f"""
  procedure 'L{i}', {{
    step 'down', subprocedure: 'L{i + 1}'
  }}""" for i in range(1, levels)]
    project = unique("Deep")
    api.call("evalDsl", dsl=f"""
project '{project}', {{{''.join(procedures)}
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'down', subprocedure: 'L1'
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
""")
    first = api.run_and_wait(project, "Main", {})
    fixed_flag(tmp_path).touch()
    second = api.run_and_wait(project, "Main", {"jobToRestart": first["jobId"]})
    assert second["outcome"] == "success"
    assert counts(tmp_path) == {"leaf": 1}


# ------------------------------------------------------------------------------------------ CLI

CLI_CASES: List[Tuple[str, List[Any], int]] = [
    ("no command", [], 2), ("an unknown command", ["frobnicate"], 2), ("plan without a job", ["plan"], 2),
    ("a non-UTF-8 job", ["plan", b"\xff\xfe"], 2), ("a huge job id", ["plan", "9" * 100000], 2),
    ("an empty job", ["status", ""], 2), ("a job that is a path", ["plan", "/jobs/1"], 2),
    ("a job with markup: no such job", ["status", "<b>x"], 1), ("a job of spaces", ["restart", "   "], 2),
    ("a job with a newline", ["plan", "job\n1"], 2),
    ("--param without =", ["restart", "J", "--param", "novalue"], 2),
    ("--param with an empty name", ["restart", "J", "--param", "=v"], 2),
    ("--param non-UTF-8", ["restart", "J", "--param", b"a=\xff"], 2),
    ("--timeout 0", ["plan", "J", "--timeout", "0"], 2),
    ("--timeout -1", ["plan", "J", "--timeout", "-1"], 2),
    ("--timeout not a number", ["plan", "J", "--timeout", "soon"], 2),
    ("--timeout too big", ["plan", "J", "--timeout", "1e9"], 2),
    ("--from-step empty: no start step", ["plan", "J", "--from-step", ""], 3),
    ("an unknown flag", ["plan", "J", "--frobnicate"], 2),
    ("--server not a URL", ["plan", "J", "--server", "not a url"], 2),
    ("--server below the root", ["plan", "J", "--server", "http://127.0.0.1:1/commander"], 2),
    ("--server an IDN host", ["plan", "J", "--server", "http://bücher.example"], 2),
    ("--server a bad port", ["plan", "J", "--server", "http://127.0.0.1:99999"], 2),
]


@pytest.mark.parametrize("label, argv, code", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_cli_input_is_one_line_and_its_exit_code(server: Any, ec_resume: str, label: str,
                                                     argv: List[Any], code: int) -> None:
    result = run_cli(*argv, env=cli_env(server))
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == code, (label, err)
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ec-resume"), err
    assert server.password not in err + result.stdout.decode("utf-8", "replace")


def test_five_thousand_steps_are_planned_one_by_one() -> None:
    """A procedure of 5,000 steps (the last one failed): the plan skips 4,999, runs the failed one, and
    reads each procedure definition once."""
    from ec_resume.planning import plan_restart
    from test_report_plan import FakeServer, defined, job, ran

    names = [f"step {i}" for i in range(5000)]
    steps = [ran(name, second=i * 0.001) for i, name in enumerate(names[:-1])]
    steps.append(ran(names[-1], "error", second=5))
    failed = job("9", steps)
    server = FakeServer({"Shop/Release": [defined(name) for name in names]}, {"9": failed})
    plan = plan_restart(server, failed, {"jobToRestart": "9"})
    assert (plan.skip_count, plan.run_count) == (4999, 1)
    assert [line.action for line in plan.lines[-2:]] == ["skip", "run"]
    assert server.steps_read == ["Shop/Release"]
