"""The `ec-resume` command line against the emulator over HTTP: plan, restart, status, errors, secrets.

The user's procedure mixes steps under the shared run condition, a ResumableStep call, a subprocedure
nested two levels deep (whose innermost step is a ResumableStep call), a subprocedure call that carries
the run condition itself, a plain step without it, a `jobToRestart` parameter and a credential parameter.
`test` and `publish` fail until the marker file `fixed` exists. Every step appends a line to its own
marker file, so the tests count how often each step really ran.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import ec_resume.cli as cli
import pytest
from conftest import RUN_CONDITION, as_list, find_step, unique
from ec_resume.cli import main
from fake_commander import FakeCommander

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
def login_env(server, monkeypatch):
    """The connection as a terminal user gives it: URL and user in the environment, password too."""
    for name in ("COMMANDER_SERVER", "COMMANDER_SESSIONID", "COMMANDER_JOBSTEPID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMMANDER_URL", server.url)
    monkeypatch.setenv("COMMANDER_USER", server.user)
    monkeypatch.setenv("COMMANDER_PASSWORD", server.password)


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


# ResumableStep's own steps around the command (lossless resume) end skipped, and the plan says so.
OWN_STEP = "EC-Resume's own step: it ends skipped (its summary says what it did)"


def new_job_id(output: str) -> str:
    """The id on the "started job <id>" line, which follows the plan that restart prints first."""
    started = [line for line in output.splitlines() if line.startswith("started job ")]
    assert len(started) == 1, output
    return started[0].split()[2]


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
        ("skip", "build", f"succeeded in {j1}"),
        ("skip", "package", "all 1 of its steps skipped"),
        ("skip", "  restoreOutputs", OWN_STEP),
        ("skip", "  runCommand", f"succeeded in {j1}"),
        ("skip", "  recordOutputs", OWN_STEP),
        ("skip", "deploy", "all 2 of its steps skipped"),
        ("skip", "  upload", "all 1 of its steps skipped"),
        ("skip", "    unpack", "all 1 of its steps skipped"),
        ("skip", "      restoreOutputs", OWN_STEP),
        ("skip", "      runCommand", f"succeeded in {j1}"),
        ("skip", "      recordOutputs", OWN_STEP),
        ("skip", "  verify", f"succeeded in {j1}"),
        ("skip", "docs", f"succeeded in {j1}"),
        ("skip", "  render", "inside skipped docs"),
        ("run", "announce", "no run condition: always runs"),
        ("run", "test", "failed"),
        ("run", "publish", f"ran after the failure of test in {j1}"),
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
    table = out.splitlines()
    assert f"resumes: {j1} (chain root {j1})" in table  # ... with its lineage, as `status` shows it
    assert any(line.startswith("deploy ") and line.endswith("(all of its steps skipped)")
               for line in table), table
    skipped_once = {"build": 1, "package": 1, "unpack": 1, "verify": 1, "render": 1}
    assert runs(markers) == {**skipped_once, "announce": 2, "test": 2, "publish": 2}

    # --- fixed: the plan of the restarted restart follows the chain back to the first job
    (markers / "fixed").touch()
    j2 = second["jobName"]
    code, out, err = run_cli(capsys, "plan", second["jobId"])
    assert (code, err) == (0, "")
    plan2 = plan_lines(out)
    chained = f"succeeded in {j1}"  # skipped in job 2, decided where it was done
    assert plan2 == [
        ("skip", "build", chained),
        ("skip", "package", "all 1 of its steps skipped"),
        ("skip", "  restoreOutputs", OWN_STEP),
        ("skip", "  runCommand", chained),
        ("skip", "  recordOutputs", OWN_STEP),
        ("skip", "deploy", "all 2 of its steps skipped"),
        ("skip", "  upload", "all 1 of its steps skipped"),
        ("skip", "    unpack", "all 1 of its steps skipped"),
        ("skip", "      restoreOutputs", OWN_STEP),
        ("skip", "      runCommand", chained),
        ("skip", "      recordOutputs", OWN_STEP),
        ("skip", "  verify", chained),
        ("skip", "docs", chained),
        ("skip", "  render", "inside skipped docs"),  # from the procedure: job 2 never created it
        ("run", "announce", "no run condition: always runs"),
        ("run", "test", "failed"),
        ("run", "publish", f"ran after the failure of test in {j2}"),
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
    assert "skipped" not in [outcome for path, outcome in outcomes_by_path(fourth).items()
                             if not path.endswith(("/restoreOutputs", "/recordOutputs"))]
    assert runs(markers) == {**{k: 2 for k in skipped_once}, "announce": 4, "test": 4, "publish": 4}
    assert (markers / "announce").read_text().splitlines()[-1] == "yo = ok"


def test_restart_without_wait_prints_the_new_job_and_returns(api, shop, login_env, capsys):
    project, markers = shop
    first = first_failed_job(api, project)
    code, out, err = run_cli(capsys, "restart", first["jobId"])
    assert (code, err) == (0, "")
    job = api.wait_for_job(new_job_id(out))
    assert params(job)["jobToRestart"] == first["jobId"]
    assert "OUTCOME" not in out and "waiting for" not in out  # no status table without --wait


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
        ("build", "success"), ("package", "success"), ("  restoreOutputs", "skipped"),
        ("  runCommand", "success"), ("  recordOutputs", "skipped"),
        ("deploy", "success"), ("  upload", "success"), ("    unpack", "success"),
        ("      restoreOutputs", "skipped"), ("      runCommand", "success"),
        ("      recordOutputs", "skipped"),
        ("  verify", "success"), ("docs", "success"),
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
        (["plan", "no-such-job"], 3, "refused: job 'no-such-job' not found"),
        (["restart", "no-such-job"], 3, "refused: job 'no-such-job' not found"),
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
    assert (code, out) == (3, "")
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
    assert code == 2 and "--server 'ftp://example.invalid' must start with http://" in one_line(err)
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


def test_the_session_id_and_the_password_never_appear(api, server, shop, login_env, capsys, monkeypatch):
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
    host, port = server.url.split("://")[1].split(":")
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
    secrets = [api.session_id, "bogus-Session-7f3a", server.password, "Wrong-Secret-42",
               PASSWORD_OF_CREDENTIAL]
    for secret in sessions + secrets:
        assert secret not in everything


def test_runs_on_a_bare_interpreter_as_python_m(api, server, shop, capsys, monkeypatch, login_env):
    """`python -I -S`: no site-packages, no PYTHON* variables; only the standard library and lib/."""
    project, _ = shop
    first = first_failed_job(api, project)
    bootstrap = (f"import runpy, sys; sys.path.insert(0, {LIB!r}); "
                 "runpy.run_module('ec_resume.cli', run_name='__main__', alter_sys=True)")
    env = {"PATH": os.environ.get("PATH", ""), "COMMANDER_URL": server.url,
           "COMMANDER_USER": server.user, "COMMANDER_PASSWORD": server.password}
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


# ------------------------------------------------------------- JSON, dry run, start step, status, bad input


def test_json_everywhere_and_a_dry_run_that_starts_nothing(api, shop, login_env, capsys):
    project, markers = shop
    first = first_failed_job(api, project)
    code, out, err = run_cli(capsys, "plan", first["jobId"], "--json")
    assert (code, err) == (0, "")
    plan = json.loads(out)
    assert plan["jobId"] == first["jobId"]
    assert [(s["path"], s["action"]) for s in plan["steps"]][:2] == [("build", "skip"), ("package", "skip")]
    assert all(set(s) >= {"path", "action", "reason"} for s in plan["steps"])

    code, out, err = run_cli(capsys, "restart", first["jobId"], "--dry-run", "--json")
    assert (code, err) == (0, "") and json.loads(out) == plan  # the dry run is the plan, nothing more
    code, out, err = run_cli(capsys, "restart", first["jobId"], "--dry-run")
    assert code == 0 and out.splitlines()[-1] == "dry run: nothing started"
    assert runs(markers) == dict.fromkeys(MARKERS, 1)
    assert api.get_property(f"/jobs/{first['jobId']}/ec_resume/restartLock") is None

    code, out, err = run_cli(capsys, "restart", first["jobId"], "--json", "--wait")
    assert code == 1 and err.splitlines()[-1].endswith("finished with outcome error")
    assert any(line.startswith("waiting for ") for line in err.splitlines())  # progress, off stdout
    started = json.loads(out)
    assert started["outcome"] == "error" and started["steps"] == plan["steps"]
    assert params(api.wait_for_job(started["newJobId"]))["jobToRestart"] == first["jobId"]

    code, out, err = run_cli(capsys, "status", started["newJobId"], "--json")
    status = json.loads(out)
    assert (code, status["jobId"], status["lineage"]["resumes"]) == (0, started["newJobId"], first["jobId"])
    notes = {s["path"]: s["note"] for s in status["steps"]}
    assert notes["build"] == "skipped by the resume" and notes["test"] == ""


def test_a_start_step_runs_it_and_everything_after_it_again(api, shop, login_env, capsys):
    project, markers = shop
    first = first_failed_job(api, project)
    (markers / "fixed").touch()
    code, out, err = run_cli(capsys, "plan", first["jobId"], "--from-step", "docs", "--json")
    assert (code, err) == (0, "")
    planned = {s["path"]: s["action"] for s in json.loads(out)["steps"]}
    assert (planned["build"], planned["docs"], planned["docs/jobSteps/render"]) == ("skip", "run", "run")
    code, out, err = run_cli(capsys, "restart", first["jobId"], "--from-step", "docs", "--wait")
    assert (code, err) == (0, "")
    again = api.wait_for_job(new_job_id(out))
    assert runs(markers) == {**dict.fromkeys(MARKERS, 1), "render": 2, "announce": 2, "test": 2, "publish": 2}
    assert api.get_property(f"/jobs/{again['jobId']}/ec_resume/fromStep") == "docs"
    assert api.get_property(f"/jobs/{first['jobId']}/ec_resume/pendingFromStep") is None

    code, out, err = run_cli(capsys, "restart", first["jobId"], "--from-step", "nowhere")
    assert (code, out) == (2, "") and "start step 'nowhere'" in one_line(err)


def test_status_shows_summaries_why_steps_were_skipped_and_the_lineage(api, shop, login_env, capsys):
    project, markers = shop
    first = first_failed_job(api, project)
    step_id = find_step(first, "test")["jobStepId"]
    api.call("setProperty", propertyName="summary", jobStepId=step_id, value="3 of 40 tests failed")
    code, out, err = run_cli(capsys, "restart", first["jobId"], "--wait")
    second = api.wait_for_job(new_job_id(out))
    code, out, err = run_cli(capsys, "status", second["jobId"])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    outcome_col, summary_col = lines[1].index("OUTCOME"), lines[1].index("SUMMARY")
    by_step = {row[:outcome_col].rstrip(): row[summary_col:] for row in lines[2:]}
    assert by_step["build"] == "(skipped by the resume)"
    assert by_step["test"] == ""  # ran again; its summary was job 1's
    assert f"resumes: {first['jobName']} (chain root {first['jobName']})" in lines
    code, out, err = run_cli(capsys, "status", first["jobId"])
    assert "3 of 40 tests failed" in out and f"resumed by: {second['jobName']} (ec-resume)" in out
    assert "failed first: test" in out.splitlines()


@pytest.mark.parametrize("argv, says", [
    (["status", "x", "--server", "https://cd.example.com/commander"],
     "--server 'https://cd.example.com/commander' points below the server root (/commander): give "
     "https://cd.example.com instead"),
    (["status", "x", "--server", "http://cd:8000/rest"], "give http://cd:8000 instead"),
    (["status", "x", "--server", "https://b\u00fccher.example"], "give https://xn--bcher-kva.example"),
    (["status", "x", "--server", "http://[::1"], "is malformed"),
    (["status", "bad-\udcff-bytes"], "argument 2 ('bad-\\udcff-bytes') is not UTF-8 text"),
])
def test_bad_input_is_one_line_with_exit_2(monkeypatch, capsys, argv, says):
    monkeypatch.setenv("COMMANDER_USER", "u")
    monkeypatch.setenv("COMMANDER_PASSWORD", "pw")
    monkeypatch.setenv("COMMANDER_URL", "http://127.0.0.1:1")
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert says in one_line(err), err


def test_a_server_url_from_the_environment_is_named_as_such(monkeypatch, capsys):
    monkeypatch.setenv("COMMANDER_USER", "u")
    monkeypatch.setenv("COMMANDER_URL", "https://cd.example.com/commander/")
    code, out, err = run_cli(capsys, "status", "x")
    assert code == 2 and one_line(err).startswith("ec-resume: COMMANDER_URL 'https://cd.example.com/commander/'")


def test_interrupting_wait_names_the_job_already_started(monkeypatch, capsys):
    fake = FakeCommander({"7": {"jobId": "7", "jobName": "job_7", "projectName": "P", "procedureName": "R",
                                "status": "completed", "outcome": "error", "jobStep": [],
                                "actualParameter": [{"actualParameterName": "jobToRestart", "value": ""}]}},
                         {("P", "R"): [{"formalParameterName": "jobToRestart"}]})
    monkeypatch.setattr(cli, "connect", lambda conn, env: fake)
    monkeypatch.setattr(cli, "render_plan", lambda plan: "the plan\n")
    monkeypatch.setattr("ec_resume.restart.plan_restart", lambda *args, **kwargs: object())

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "wait_for_job", interrupted)
    env = {"COMMANDER_URL": "http://fake:8000", "COMMANDER_USER": "u", "COMMANDER_PASSWORD": "pw"}
    code = main(["restart", "7", "--wait"], env)
    out, err = capsys.readouterr()
    new = next(j for j in fake.jobs if j != "7")
    assert code == 130 and out.startswith("the plan\nstarted job " + new)
    assert one_line(err) == (f"ec-resume: interrupted; job {new} was already started and goes on running "
                             f"(see it with 'ec-resume status {new}')\n")


def test_wait_reports_progress_each_time_more_steps_have_completed():
    states = iter([("running", 0), ("running", 0), ("running", 1), ("completed", 2)])

    class Polled:
        def get_job_details(self, job_id):
            status, done = next(states)
            steps = [{"stepName": f"s{n}", "status": "completed" if n < done else "pending"}
                     for n in range(2)]
            return {"jobId": job_id, "jobName": "job_9", "status": status, "jobStep": steps}

    said: List[str] = []
    job = cli.wait_for_job(Polled(), "9", said.append, sleep=lambda s: None)
    assert job["status"] == "completed"
    assert said == ["waiting for job_9: running, 0 of 2 steps completed",
                    "waiting for job_9: running, 1 of 2 steps completed",
                    "waiting for job_9: completed, 2 of 2 steps completed"]


def test_a_timeout_comes_from_the_flag_then_the_environment_and_is_checked():
    assert cli.timeout_from("2.5", {"COMMANDER_TIMEOUT": "9"}) == 2.5
    assert cli.timeout_from(None, {"COMMANDER_TIMEOUT": "9"}) == 9.0
    assert cli.timeout_from(None, {}) is None  # then resume/timeout inside a job step, else 30 s
    with pytest.raises(cli.CliError, match="COMMANDER_TIMEOUT 'x': expected a number of seconds"):
        cli.timeout_from(None, {"COMMANDER_TIMEOUT": "x"})
