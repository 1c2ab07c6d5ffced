"""The `ec-resume` command line against the emulator over HTTP: plan, restart, status, errors, secrets.

The user's procedure mixes steps under the shared run condition, a ResumableStep call, a subprocedure
nested two levels deep (whose innermost step is a ResumableStep call), a subprocedure call that carries
the run condition itself, a plain step without it, a `jobToRestart` parameter and a credential parameter.
`test` and `publish` fail until the marker file `fixed` exists. Every step appends a line to its own
marker file, so the tests count how often each step really ran.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import ec_resume.cli as cli
import pytest
from conftest import RUN_CONDITION, as_list, unique
from ec_resume.cli import main
from ec_resume.client import NotFound

LIB = str(Path(__file__).resolve().parents[2] / "lib")
PLUGIN = "subproject: '/plugins/EC-Resume/project'"
MARKERS = ("build", "package", "unpack", "verify", "render", "announce", "test", "publish")


def user_dsl(project: str, markers: Path) -> str:
    m = markers.as_posix()  # pytest's tmp_path holds no spaces

    def mark(name: str) -> str:
        return f"echo run >> {m}/{name}"

    needs_fix = f"test -f {m}/fixed"
    return f"""
project '{project}', {{
  procedure 'Inner', {{
    step 'unpack', subprocedure: 'ResumableStep', {PLUGIN}, {{
      actualParameter 'command', '''{mark('unpack')}'''
    }}
  }}
  procedure 'Deploy', {{
    step 'upload', subprocedure: 'Inner'
    step 'verify', command: '''{mark('verify')}''', condition: '{RUN_CONDITION}'
  }}
  procedure 'Docs', {{
    step 'render', command: '''{mark('render')}'''
  }}
  procedure 'Release', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    formalParameter 'greeting', defaultValue: '', type: 'entry'
    formalParameter 'deployCredential', type: 'credential', required: '0'
    step 'build', command: '''{mark('build')}''', condition: '{RUN_CONDITION}'
    step 'package', subprocedure: 'ResumableStep', {PLUGIN}, {{
      actualParameter 'command', '''{mark('package')}'''
    }}
    step 'deploy', subprocedure: 'Deploy'
    step 'docs', subprocedure: 'Docs', condition: '{RUN_CONDITION}'
    step 'announce', command: '''printf '%s\\n' '$[greeting]' >> {m}/announce'''
    step 'test', command: '''{mark('test')}; {needs_fix}''', condition: '{RUN_CONDITION}'
    step 'publish', command: '''{mark('publish')}; {needs_fix}''', condition: '{RUN_CONDITION}'
  }}
  procedure 'Plain', {{
    formalParameter 'version', defaultValue: '1', type: 'entry'
    step 'only', command: '''{mark('plain')}'''
  }}
}}
"""


PASSWORD_OF_CREDENTIAL = "cred-Pa55word"
CREDENTIAL = {"credentialName": "deployCredential", "userName": "deployer",
              "password": PASSWORD_OF_CREDENTIAL}


@pytest.fixture
def shop(api, ec_resume, tmp_path) -> Tuple[str, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    project = unique("CliShop")
    api.call("evalDsl", dsl=user_dsl(project, markers))
    return project, markers


@pytest.fixture
def login_env(emulator, monkeypatch):
    """The connection as a terminal user gives it: URL and user in the environment, password too."""
    for name in ("COMMANDER_SERVER", "COMMANDER_SESSIONID", "COMMANDER_JOBSTEPID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMMANDER_URL", emulator.url)
    monkeypatch.setenv("COMMANDER_USER", emulator.admin_user)
    monkeypatch.setenv("COMMANDER_PASSWORD", emulator.admin_password)


def first_failed_job(api, project: str) -> Dict:
    return api.run_and_wait(project, "Release", {"greeting": "hi", "deployCredential": "deployCredential"},
                            credentials=[CREDENTIAL])


def run_cli(capsys, *argv: str) -> Tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def runs(markers: Path) -> Dict[str, int]:
    return {p.name: len(p.read_text().splitlines()) for p in markers.iterdir() if p.name != "fixed"}


def outcomes_by_path(job: Dict) -> Dict[str, str]:
    found: Dict[str, str] = {}

    def walk(steps, prefix: str) -> None:
        for step in as_list(steps):
            path = f"{prefix}/jobSteps/{step['stepName']}" if prefix else step["stepName"]
            found[path] = step.get("outcome", "")
            walk(step.get("calledProcedure", {}).get("jobStep"), path)

    walk(job.get("jobStep"), "")
    return found


def plan_lines(output: str) -> List[Tuple[str, str, str]]:
    """(action, indented step name, reason) per plan line, cut at the header's column positions."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("ACTION"))
    step_col, reason_col = lines[start].index("STEP"), lines[start].index("REASON")
    table = lines[start + 1: -1]
    return [(row[:step_col].strip(), row[step_col:reason_col].rstrip(), row[reason_col:]) for row in table]


def paths_of(lines: List[Tuple[str, str, str]]) -> List[Tuple[str, str]]:
    """(action, step path) per plan line: the indentation says which call a step belongs to."""
    stack: List[str] = []
    found = []
    for action, name, _reason in lines:
        depth = (len(name) - len(name.lstrip(" "))) // 2
        stack[depth:] = [name.strip()]
        found.append((action, "/jobSteps/".join(stack)))
    return found


def assert_plan_matches_run(lines: List[Tuple[str, str, str]], job: Dict) -> None:
    """A planned skip is a skipped step (or one inside a skipped call, never created); a run is not."""
    outcomes = outcomes_by_path(job)
    for action, path in paths_of(lines):
        if action == "skip":
            assert outcomes.get(path, "skipped") == "skipped", (path, outcomes.get(path))
        else:
            assert path in outcomes and outcomes[path] not in ("skipped", ""), (path, outcomes.get(path))


def new_job_id(output: str) -> str:
    first = output.splitlines()[0]
    assert first.startswith("started job "), output
    return first.split()[2]


def params(job: Dict) -> Dict[str, str]:
    return {p["actualParameterName"]: p["value"] for p in as_list(job.get("actualParameter"))}


def test_plan_lists_what_a_restart_skips_and_the_restart_does_exactly_that(api, shop, login_env, capsys):
    project, markers = shop
    first = first_failed_job(api, project)
    assert first["outcome"] == "error"
    j1 = first["jobName"]

    code, out, err = run_cli(capsys, "plan", first["jobId"])
    assert (code, err) == (0, "")
    plan1 = plan_lines(out)
    assert plan1 == [
        ("skip", "build", f"success in {j1}"),
        ("skip", "package", "all 1 of its steps skipped"),
        ("skip", "  runCommand", f"success in {j1}"),
        ("skip", "deploy", "all 2 of its steps skipped"),
        ("skip", "  upload", "all 1 of its steps skipped"),
        ("skip", "    unpack", "all 1 of its steps skipped"),
        ("skip", "      runCommand", f"success in {j1}"),
        ("skip", "  verify", f"success in {j1}"),
        ("skip", "docs", f"success in {j1}"),
        ("skip", "  render", "inside skipped docs"),
        ("run", "announce", "no run condition: always runs"),
        ("run", "test", f"error in {j1}"),
        ("run", "publish", f"error in {j1}"),
    ]
    assert out.splitlines()[-1] == f"restart of {j1} would skip 5 steps and run 3"
    assert runs(markers) == dict.fromkeys(MARKERS, 1)  # planning ran nothing

    # --- restart before the fix: the plan comes true step by step; the failing steps fail again
    code, out, err = run_cli(capsys, "restart", first["jobName"], "--wait")
    assert code == 1
    second = api.wait_for_job(new_job_id(out))
    assert err == f"ec-resume: job {second['jobName']} finished with outcome error\n"
    assert "parameters: greeting, jobToRestart" in out.splitlines()
    assert any(line.startswith("left out deployCredential: a credential parameter")
               for line in out.splitlines())
    assert params(second)["jobToRestart"] == first["jobId"]
    assert params(second)["greeting"] == "hi"
    assert params(second).get("deployCredential", "") == ""
    assert_plan_matches_run(plan1, second)
    assert out.splitlines()[-1] == "outcome: error"  # --wait printed the new job's status table
    skipped_once = {"build": 1, "package": 1, "unpack": 1, "verify": 1, "render": 1}
    assert runs(markers) == {**skipped_once, "announce": 2, "test": 2, "publish": 2}

    # --- fixed: the plan of the restarted restart follows the chain back to the first job
    (markers / "fixed").touch()
    j2 = second["jobName"]
    code, out, err = run_cli(capsys, "plan", second["jobId"])
    assert (code, err) == (0, "")
    plan2 = plan_lines(out)
    chained = f"skipped in {j2}, success in {j1}"
    assert plan2 == [
        ("skip", "build", chained),
        ("skip", "package", "all 1 of its steps skipped"),
        ("skip", "  runCommand", chained),
        ("skip", "deploy", "all 2 of its steps skipped"),
        ("skip", "  upload", "all 1 of its steps skipped"),
        ("skip", "    unpack", "all 1 of its steps skipped"),
        ("skip", "      runCommand", chained),
        ("skip", "  verify", chained),
        ("skip", "docs", chained),  # the skipped call has no steps in job 2
        ("run", "announce", "no run condition: always runs"),
        ("run", "test", f"error in {j2}"),
        ("run", "publish", f"error in {j2}"),
    ]
    assert out.splitlines()[-1] == f"restart of {j2} would skip 5 steps and run 3"
    assert f"jobs read: {j2}, {j1}" in out.splitlines()[0]

    # --- restart with a changed parameter: succeeds, agrees with the plan, runs only the planned steps
    code, out, err = run_cli(capsys, "restart", second["jobId"], "--wait", "--param", "greeting=yo = ok")
    assert (code, err) == (0, "")
    third = api.wait_for_job(new_job_id(out))
    assert third["outcome"] == "success"
    assert params(third)["greeting"] == "yo = ok" and params(third)["jobToRestart"] == second["jobId"]
    assert_plan_matches_run(plan2, third)
    assert runs(markers) == {**skipped_once, "announce": 3, "test": 3, "publish": 3}
    assert (markers / "announce").read_text().splitlines() == ["hi", "hi", "yo = ok"]

    # --- --all: every step runs again, jobToRestart empty, the changed parameter carried on
    code, out, err = run_cli(capsys, "restart", third["jobId"], "--all", "--wait")
    assert (code, err) == (0, "")
    fourth = api.wait_for_job(new_job_id(out))
    assert params(fourth)["jobToRestart"] == ""
    assert fourth["outcome"] == "success"
    assert "skipped" not in outcomes_by_path(fourth).values()
    assert runs(markers) == {**{k: 2 for k in skipped_once}, "announce": 4, "test": 4, "publish": 4}
    assert (markers / "announce").read_text().splitlines()[-1] == "yo = ok"


def test_restart_without_wait_prints_the_new_job_and_returns(api, shop, login_env, capsys):
    project, markers = shop
    first = first_failed_job(api, project)
    code, out, err = run_cli(capsys, "restart", first["jobId"])
    assert (code, err) == (0, "")
    job = api.wait_for_job(new_job_id(out))
    assert params(job)["jobToRestart"] == first["jobId"]
    assert "STEP" not in out  # no status table without --wait


def test_status_shows_every_step_indented_with_outcome_and_duration(api, shop, login_env, capsys):
    project, _ = shop
    first = first_failed_job(api, project)
    code, out, err = run_cli(capsys, "status", first["jobName"])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"{first['jobName']} ({first['jobId']})  {project}/Release  error")
    outcome_col = lines[1].index("OUTCOME")
    table = lines[2:-1]
    assert [(row[:outcome_col].rstrip(), row[outcome_col:].split()[0]) for row in table] == [
        ("build", "success"), ("package", "success"), ("  runCommand", "success"),
        ("deploy", "success"), ("  upload", "success"), ("    unpack", "success"),
        ("      runCommand", "success"), ("  verify", "success"), ("docs", "success"),
        ("  render", "success"), ("announce", "success"), ("test", "error"), ("publish", "error")]
    for row in table:  # every completed step has a duration such as 0.1s or 1m05s
        assert re.fullmatch(r"\d+\.\ds|\d+m\d\ds|\d+h\d\dm", row[outcome_col:].split()[1]), row
    assert lines[-1] == "outcome: error"


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1 and err.startswith("ec-resume: "), err
    return err


def test_errors_are_one_line_with_the_right_exit_status(api, shop, login_env, capsys, monkeypatch):
    project, markers = shop
    first = first_failed_job(api, project)
    job = first["jobId"]

    cases = [
        (["status", "no-such-job"], 1, "job 'no-such-job' not found"),
        (["plan", "no-such-job"], 1, "job 'no-such-job' not found"),
        (["restart", job, "--param", "greeting"], 2, "--param 'greeting': expected NAME=VALUE"),
        (["restart", job, "--param", "colour=red"], 2, "procedure 'Release' has no parameter 'colour'"),
        (["restart", job, "--param", "deployCredential=x"], 2, "'deployCredential' is a credential"),
        (["restart", job, "--param", "jobToRestart=x"], 2, "--param jobToRestart"),
        (["resume", job], 2, "invalid choice: 'resume'"),
        (["plan"], 2, "JOB"),
    ]
    for argv, status, text in cases:
        code, out, err = run_cli(capsys, *argv)
        assert (code, out) == (status, ""), argv
        assert text in one_line(err), (argv, err)
    assert runs(markers) == dict.fromkeys(MARKERS, 1)  # no refused restart started a job

    plain = api.run_and_wait(project, "Plain", {"version": "7"})
    code, out, err = run_cli(capsys, "restart", plain["jobId"])
    assert (code, out) == (2, "")
    assert "has no 'jobToRestart' parameter" in one_line(err) and "--all" in err
    code, out, err = run_cli(capsys, "restart", plain["jobId"], "--all", "--wait")
    assert (code, err) == (0, "")
    assert params(api.wait_for_job(new_job_id(out))) == {"version": "7"}
    assert (markers / "plain").read_text().splitlines() == ["run", "run"]

    monkeypatch.delenv("COMMANDER_URL")
    code, out, err = run_cli(capsys, "status", job)
    assert code == 2 and "no server: give --server URL" in one_line(err)
    code, out, err = run_cli(capsys, "status", job, "--server", "http://127.0.0.1:1")
    assert code == 1 and "ConnectionFailed" in one_line(err)


def test_errors_without_a_server_answer_fail_fast(monkeypatch, capsys):
    for name in ("COMMANDER_URL", "COMMANDER_SERVER", "COMMANDER_SESSIONID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMMANDER_USER", "admin")
    code, out, err = run_cli(capsys, "plan", "x", "--server", "ftp://example.invalid")
    assert code == 2 and "--server 'ftp://example.invalid': " in one_line(err) and "http://" in err
    monkeypatch.delenv("COMMANDER_PASSWORD", raising=False)  # and pytest's stdin is no terminal
    code, out, err = run_cli(capsys, "plan", "x", "--server", "http://127.0.0.1:1")
    assert code == 2 and "no password: set COMMANDER_PASSWORD" in one_line(err)
    code, out, err = run_cli(capsys, "--server", "http://127.0.0.1:1", "restart", "x", "--param", "=v")
    assert code == 2 and "--param '=v': expected NAME=VALUE" in one_line(err)
    for option in (["--timeout", "soon"], ["--timeout", "0"]):
        code, out, err = run_cli(capsys, "plan", "x", "--server", "http://127.0.0.1:1", *option)
        assert code == 2 and f"--timeout '{option[1]}': expected a number of seconds" in one_line(err)
    monkeypatch.setenv("COMMANDER_TIMEOUT", "-5")
    code, out, err = run_cli(capsys, "plan", "x", "--server", "http://127.0.0.1:1")
    assert code == 2 and "COMMANDER_TIMEOUT '-5'" in one_line(err)


def test_a_server_that_never_answers_fails_within_the_timeout(silent_server, monkeypatch, capsys):
    monkeypatch.setenv("COMMANDER_PASSWORD", "pw")
    code, out, err = run_cli(capsys, "status", "x", "--server", silent_server, "--user", "u",
                             "--timeout", "0.5")
    assert code == 1
    line = one_line(err)
    assert f"cannot reach {silent_server}" in line and "no answer within" in line and "pw" not in line


def test_the_session_id_and_the_password_never_appear(api, emulator, shop, login_env, capsys, monkeypatch):
    project, _ = shop
    first = first_failed_job(api, project)
    sessions: List[str] = []

    class Recording(cli.CommanderClient):
        def login(self, user: str, password: str) -> None:
            super().login(user, password)
            sessions.append(self._session_id)

    monkeypatch.setattr(cli, "CommanderClient", Recording)
    outputs = []
    for argv in (["status", first["jobId"]], ["plan", first["jobId"]], ["restart", first["jobId"], "--wait"],
                 ["status", "nope"], ["restart", first["jobId"], "--param", "colour=x"]):
        outputs.append(run_cli(capsys, *argv))
    assert len(sessions) == 5 and all(sessions)
    monkeypatch.setenv("COMMANDER_PASSWORD", "Wrong-Secret-42")
    code, out, err = run_cli(capsys, "status", first["jobId"])
    assert code == 1 and one_line(err)
    outputs.append((code, out, err))

    # Inside a job step: the agent's session, from the environment.
    monkeypatch.delenv("COMMANDER_URL")
    host, port = emulator.url.split("://")[1].split(":")
    monkeypatch.setenv("COMMANDER_SERVER", f"{host}:{port.rstrip('/')}")
    monkeypatch.setenv("COMMANDER_SECURE", "0")
    monkeypatch.setenv("COMMANDER_SESSIONID", api.session_id)
    code, out, err = run_cli(capsys, "status", first["jobId"])
    assert (code, err) == (0, "") and first["jobName"] in out
    outputs.append((code, out, err))
    monkeypatch.setenv("COMMANDER_SESSIONID", "bogus-Session-7f3a")
    code, out, err = run_cli(capsys, "status", first["jobId"])
    assert code == 1 and one_line(err)
    outputs.append((code, out, err))

    everything = "".join(out + err for _, out, err in outputs)
    secrets = [api.session_id, "bogus-Session-7f3a", emulator.admin_password, "Wrong-Secret-42",
               PASSWORD_OF_CREDENTIAL]
    for secret in sessions + secrets:
        assert secret not in everything


def test_runs_on_a_bare_interpreter_as_python_m(api, emulator, shop, capsys, monkeypatch, login_env):
    """`python -I -S`: no site-packages, no PYTHON* variables; only the standard library and lib/."""
    project, _ = shop
    first = first_failed_job(api, project)
    bootstrap = (f"import runpy, sys; sys.path.insert(0, {LIB!r}); "
                 "runpy.run_module('ec_resume.cli', run_name='__main__', alter_sys=True)")
    env = {"PATH": os.environ.get("PATH", ""), "COMMANDER_URL": emulator.url,
           "COMMANDER_USER": emulator.admin_user, "COMMANDER_PASSWORD": emulator.admin_password}
    done = subprocess.run([sys.executable, "-I", "-S", "-c", bootstrap, "plan", first["jobId"]], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (done.returncode, done.stderr) == (0, "")
    code, out, _ = run_cli(capsys, "plan", first["jobId"])
    assert done.stdout == out
    assert out.splitlines()[-1] == f"restart of {first['jobName']} would skip 5 steps and run 3"

    missing = subprocess.run([sys.executable, "-I", "-S", "-c", bootstrap, "status", "no-such-job"], env=env,
                             capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, "", "ec-resume: job 'no-such-job' "
                                                                          "not found\n")


# ------------------------------------------------------------------ pure parts, on hand-made job records

RC = RUN_CONDITION


def step(name: str, outcome: str, condition: str = RC, started: bool = True, **extra) -> Dict:
    record = {"stepName": name, "outcome": outcome, "status": "completed", "condition": condition, **extra}
    if started:
        record.update(start="2024-01-31T12:00:00.000Z", finish="2024-01-31T12:01:05.400Z")
    return record


def job(job_id: str, steps: List[Dict], restarts: str = "", **params: str) -> Dict:
    actual = [{"actualParameterName": k, "value": v} for k, v in {"jobToRestart": restarts, **params}.items()]
    return {"jobId": job_id, "jobName": f"job_{job_id}", "projectName": "P", "procedureName": "Release",
            "status": "completed", "outcome": "error", "actualParameter": actual, "jobStep": steps}


class FakeClient:
    """getJobDetails and getProperty from a dict, counting the jobs read."""

    def __init__(self, jobs: Dict[str, Dict], properties: Dict[str, str]) -> None:
        self.jobs, self.properties, self.read = jobs, properties, []

    def get_job_details(self, ref: str) -> Dict:
        self.read.append(ref)
        if ref not in self.jobs:
            raise NotFound("NoSuchJob", f"Job '{ref}' does not exist", 404)
        return self.jobs[ref]

    def get_property(self, path: str):
        return self.properties.get(path)


def test_plan_words_each_reason_a_restart_can_have():
    from ec_resume.report import build_plan, render_plan

    earlier = job("1", [step("a", "success"), step("b", "warning"), step("c", "success"),
                        step("d", "skipped", started=False), step("e", "skipped")])
    failed = job("2", [
        step("a", "skipped"),  # skipped because done in job 1
        step("b", "skipped"),  # skipped in 2, but only a warning in 1
        step("boom", "error"),
        step("never", "notRun", started=False),
        step("unreached", "skipped", started=False, condition=""),  # no condition: always runs
        step("c", "skipped", started=False),  # an abort never reached it in job 2: the chain decides
        step("d", "skipped", started=False),
        step("e", "skipped"),
        step("own", "skipped", condition="$[/myJob/wanted]"),
        step("helper", "success", condition="", calledProcedure={"projectName": "Mine", "jobStep": [
            step("local", "success", condition="$[/myProject/resume/runCondition]")]}),
    ], restarts="1")
    client = FakeClient({"2": failed, "1": earlier}, {})
    chain, views = cli.fetch_chain(client, failed, 10)
    plan = build_plan(chain, views, {"success"}, 10)
    assert [(line.action, line.path, line.reason) for line in plan.lines] == [
        ("skip", "a", "skipped in job_2, success in job_1"),
        ("run", "b", "skipped in job_2, warning in job_1"),
        ("run", "boom", "error in job_2"),
        ("run", "never", "never reached (notRun)"),
        ("run", "unreached", "no run condition: always runs"),
        ("skip", "c", "skipped in job_2, success in job_1"),
        ("run", "d", "skipped in job_2, never reached (skipped) in job_1"),
        ("run", "e", "skipped in job_2, skipped by its own condition in job_1"),
        ("run", "own", "not EC-Resume's run condition: its own condition decides afresh"),
        ("run", "helper", "runs 1 of its 1 steps"),
        # /myProject means EC-Resume only inside the plugin's own project
        ("run", "helper/jobSteps/local", "not EC-Resume's run condition: its own condition decides afresh"),
    ]
    assert plan.summary() == "restart of job_2 would skip 2 steps and run 8"
    assert build_plan(chain, views, {"success", "warning"}, 10).lines[1].action == "skip"
    # A chain cut short by the depth, or a job that no longer exists, runs the step.
    assert build_plan(chain[:1], {"2": views["2"]}, {"success"}, 1).lines[0].reason == (
        "restart chain longer than 1 jobs")
    gone = job("3", [step("a", "skipped")], restarts="deleted")
    chain3, views3 = cli.fetch_chain(FakeClient({}, {}), gone, 10)
    assert [line.reason for line in build_plan(chain3, views3, {"success"}, 10).lines] == [
        "job deleted not found"]
    assert render_plan(plan).splitlines()[-1] == plan.summary()
    from ec_resume.report import render_status

    assert "  1m05s" in render_status(failed).splitlines()[2]


def test_chain_is_read_up_to_the_depth_and_settings_come_from_the_job_first():
    jobs = {str(n): job(str(n), [step("a", "skipped")], restarts=str(n - 1) if n > 1 else "")
            for n in range(1, 7)}
    client = FakeClient(jobs, {"/plugins/EC-Resume/project/resume/doneOutcomes": "Success, Warning",
                               "/plugins/EC-Resume/project/resume/maxChainDepth": "3"})
    done, depth = cli.resume_settings(client, jobs["6"])
    assert (done, depth) == ({"success", "warning"}, 3)
    chain, _ = cli.fetch_chain(client, jobs["6"], depth)
    assert [j["jobId"] for j in chain] == ["6", "5", "4"] and client.read == ["5", "4"]
    own = job("7", [], resumeDoneOutcomes="success,skipped")
    assert cli.resume_settings(client, own)[0] == {"success", "skipped"}
    assert cli.resume_settings(FakeClient({}, {}), {**own, "actualParameter": []}) == ({"success"}, 10)


def test_restart_parameters_carry_the_job_s_own_minus_what_cannot_travel():
    formals = [{"formalParameterName": "jobToRestart"}, {"formalParameterName": "greeting"},
               {"formalParameterName": "pw", "type": "credential"}, {"formalParameterName": "notes"}]
    old = job("9", [], restarts="8", greeting="a=b & c", pw="pw", gone="x", notes="")
    request = cli.restart_request(old, formals, [("notes", "new")], run_all=False)
    assert request.parameters == {"greeting": "a=b & c", "notes": "new", "jobToRestart": "9"}
    assert [name for name, _ in request.left_out] == ["pw", "gone"]
    assert cli.restart_request(old, formals, [], run_all=True).parameters["jobToRestart"] == ""
    assert cli.parse_param_options(["a=1=2", "b="]) == [("a", "1=2"), ("b", "")]
