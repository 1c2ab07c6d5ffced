"""End to end on the emulator: `ec-resume plan --json` is exactly what the restarted job then does.

Each scenario defines a user procedure in DSL, runs it until a step fails, and asks `ec-resume plan`
what a restart will skip and run; then it restarts (through the CLI or the stored link) and compares
the plan with the new job step by step (assert_plan_came_true), counting each step's marker. Every
scenario also states the plan it expects, so a planner that said "run" everywhere could not pass.

Scenarios: nested subprocedures with ResumableStep calls; parallel steps; restarts of restarts;
overrides (--param) of an ordinary parameter and of resumeDoneOutcomes; a start step inside a
subprocedure (--from-step); steps added after the failure; a jobToRestart naming a job of another
procedure; steps with names a property path cannot address; a restart by hand restarted again; and
issue 15's README procedure failing at `deploy` (failProcedure) under the default rule and `perStep`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import pytest
from conftest import RUN_CONDITION, find_step, unique
from restart_support import (
    PLUGIN,
    RESTARTER,
    RUN,
    SKIP,
    Cli,
    actions,
    assert_plan_came_true,
    cli_env,
    counts,
    delta,
    follow_restart_link,
    job_steps_in_order,
    launched_by,
    mark,
    parameters,
    plugin_setting,
    reason_of,
    report_urls,
    run_request_count,
    run_restart_job,
    step_summaries,
)
from test_readme import readme_dsl as readme_example

RC = RUN_CONDITION
LINK_STEP = f"step 'restart links', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'"


@pytest.fixture
def setup(api, server, ec_resume, tmp_path) -> Tuple[Any, Cli, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    return api, Cli(cli_env(server)), markers


def needs_fix(markers: Path) -> str:
    """Fails until fix(markers): the cause of the failure, repaired between the jobs."""
    return f"test -f {markers.as_posix()}/fixed.flag"


def fix(markers: Path) -> None:
    (markers / "fixed.flag").touch()


def restart_and_compare(api: Any, cli: Cli, markers: Path, job_id: str,
                        marker_of: Sequence[Tuple[str, str]], *options: str,
                        via_project: str = "") -> Tuple[Dict, Dict]:
    """Plan, restart with the same options (by the CLI, or by RestartJob run in `via_project`'s
    Restarter), wait; the plan came true. (plan, new job)."""
    plan = cli.plan(job_id, *options)
    before = counts(markers)
    if via_project:
        new_job = launched_by(api, run_restart_job(api, via_project, job_id, options))
    else:
        new_job = api.wait_for_job(cli.restart(job_id, *options))
    assert parameters(new_job)["jobToRestart"] == job_id
    assert_plan_came_true(plan, job_id, new_job, delta(before, counts(markers)), marker_of)
    return plan, new_job


def resumable(name: str, command: str, extra: str = "") -> str:
    """A ResumableStep call in DSL."""
    return (f"step '{name}', subprocedure: 'ResumableStep', {PLUGIN}{extra}, {{\n"
            f"      actualParameter 'command', '''{command}'''\n    }}")


# ------------------------------------------------------------------------------------------ nested


def nested_dsl(project: str, m: Path, extra: str = "") -> str:
    return f"""
project '{project}', {{
  procedure 'Inner', {{
    {resumable('unpack', mark(m, 'unpack'))}
  }}
  procedure 'Deploy', {{
    step 'upload', subprocedure: 'Inner'
    step 'verify', command: '''{mark(m, 'verify')}; {needs_fix(m)}''', condition: '{RC}'
  }}
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'build', command: '''{mark(m, 'build')}''', condition: '{RC}'
    {resumable('package', mark(m, 'package'))}
    step 'deploy', subprocedure: 'Deploy'
    step 'publish', command: '''{mark(m, 'publish')}''', condition: '{RC}'
  }}
{extra}
}}
"""


NESTED_MARKERS = [("build", "build"), ("package/jobSteps/runCommand", "package"),
                  ("deploy/jobSteps/upload/jobSteps/unpack/jobSteps/runCommand", "unpack"),
                  ("deploy/jobSteps/verify", "verify"), ("publish", "publish")]


def test_nested_subprocedures_and_resumable_step_calls(setup):
    api, cli, m = setup
    project = unique("Nested")
    api.call("evalDsl", dsl=nested_dsl(project, m))
    first = api.run_and_wait(project, "Main", {})
    assert find_step(first, "deploy", "verify")["outcome"] == "error"
    assert find_step(first, "publish")["outcome"] == "success"  # failProcedure went on after the failure
    fix(m)

    plan, second = restart_and_compare(api, cli, m, first["jobId"], NESTED_MARKERS)
    assert actions(plan) == [
        ("build", SKIP), ("package", SKIP), ("package/jobSteps/runCommand", SKIP), ("deploy", RUN),
        ("deploy/jobSteps/upload", SKIP), ("deploy/jobSteps/upload/jobSteps/unpack", SKIP),
        ("deploy/jobSteps/upload/jobSteps/unpack/jobSteps/runCommand", SKIP),
        ("deploy/jobSteps/verify", RUN), ("publish", RUN)]
    assert "ran after the failure of deploy/jobSteps/verify" in reason_of(plan, "publish")
    assert second["outcome"] == "success"
    assert counts(m) == {"build": 1, "package": 1, "unpack": 1, "verify": 2, "publish": 2}


# ---------------------------------------------------------------------------------------- parallel


def test_parallel_siblings_that_started_before_the_failure_keep_their_success(setup):
    api, cli, m = setup
    project = unique("Parallel")
    # `middle` fails only after its siblings have started: they began before the failure.
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'prep', command: '''{mark(m, 'prep')}''', condition: '{RC}'
    step 'left', command: '''{mark(m, 'left')}''', condition: '{RC}', parallel: '1'
    step 'middle', command: '''{mark(m, 'middle')}; sleep 0.3; {needs_fix(m)}''', condition: '{RC}',
      parallel: '1'
    {resumable('right', mark(m, 'right'), ", parallel: '1'")}
    step 'after', command: '''{mark(m, 'after')}''', condition: '{RC}'
  }}
}}
""")
    first = api.run_and_wait(project, "Main", {})
    assert [find_step(first, s)["outcome"] for s in ("prep", "left", "middle", "right", "after")] == [
        "success", "success", "error", "success", "success"]
    fix(m)
    plan, second = restart_and_compare(
        api, cli, m, first["jobId"],
        [("prep", "prep"), ("left", "left"), ("middle", "middle"), ("right/jobSteps/runCommand", "right"),
         ("after", "after")])
    assert actions(plan) == [("prep", SKIP), ("left", SKIP), ("middle", RUN), ("right", SKIP),
                             ("right/jobSteps/runCommand", SKIP), ("after", RUN)]
    assert second["outcome"] == "success"


# ------------------------------------------------------------------------------- restart of restart


def three_steps(project: str, m: Path, link: bool = False) -> str:
    links = LINK_STEP if link else ""
    return f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'one', command: '''{mark(m, 'one')}''', condition: '{RC}'
    step 'two', command: '''{mark(m, 'two')}; {needs_fix(m)}''', condition: '{RC}'
    step 'three', command: '''{mark(m, 'three')}''', condition: '{RC}'
    {links}
  }}
}}
"""


THREE_MARKERS = [("one", "one"), ("two", "two"), ("three", "three")]


def test_a_restart_of_a_restart_of_a_restart(setup):
    api, cli, m = setup
    project = unique("Chain")
    api.call("evalDsl", dsl=three_steps(project, m))
    first = api.run_and_wait(project, "Main", {})
    assert first["outcome"] == "error"

    plan, second = restart_and_compare(api, cli, m, first["jobId"], THREE_MARKERS)  # not fixed yet
    assert actions(plan) == [("one", SKIP), ("two", RUN), ("three", RUN)]
    assert second["outcome"] == "error"

    fix(m)
    plan, third = restart_and_compare(api, cli, m, second["jobId"], THREE_MARKERS)
    assert actions(plan) == [("one", SKIP), ("two", RUN), ("three", RUN)]  # `one` resolved through job 1
    assert third["outcome"] == "success"

    plan = cli.plan(third["jobId"])
    assert actions(plan) == [("one", SKIP), ("two", SKIP), ("three", SKIP)]
    before = counts(m)
    waited = cli("restart", third["jobId"], "--json", "--wait").json()
    assert waited["outcome"] in ("success", "skipped")
    fourth = api.wait_for_job(waited["newJobId"])
    assert waited["outcome"] == fourth["outcome"]
    assert_plan_came_true(plan, third["jobId"], fourth, delta(before, counts(m)), THREE_MARKERS)
    assert counts(m) == {"one": 1, "two": 3, "three": 3}


def test_a_restart_by_hand_then_restarted_with_ec_resume(setup):
    """jobToRestart given to runProcedure by hand (no link step, no CLI). The first job has no record of
    where it failed, so nothing can be told apart from what ran after the failure: every step runs. The CLI
    then restarts the second job (recording its failure point first), and its plan comes true."""
    api, cli, m = setup
    project = unique("ByHand")
    api.call("evalDsl", dsl=three_steps(project, m))
    first = api.run_and_wait(project, "Main", {})
    second = api.run_and_wait(project, "Main", {"jobToRestart": first["jobId"]})
    assert find_step(second, "one")["outcome"] == "success" and second["outcome"] == "error"
    assert counts(m)["one"] == 2
    fix(m)
    plan, third = restart_and_compare(api, cli, m, second["jobId"], THREE_MARKERS)
    assert actions(plan)[:2] == [("one", SKIP), ("two", RUN)]
    assert third["outcome"] == "success"


# ---------------------------------------------------------------------------------------- overrides

# ectool is on every agent's PATH (and the emulator's): the step sets its own outcome, as a real one can.
WARN = "echo run >> {m}/lint; ectool setProperty /myJobStep/outcome warning"


@pytest.mark.parametrize("via", ["ec-resume", "RestartJob"])
def test_overrides_reach_the_plan_and_the_new_job(setup, via):
    """--param version=2 repairs the failing deploy; --param resumeDoneOutcomes counts a warning as done."""
    api, cli, m = setup
    project = unique("Override")
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    formalParameter 'version', defaultValue: '1', type: 'entry'
    formalParameter 'resumeDoneOutcomes', defaultValue: '', type: 'entry'
    step 'stamp', command: '''echo $[version] >> {m.as_posix()}/stamp''', condition: '{RC}'
    step 'lint', command: '''{WARN.format(m=m.as_posix())}''',
      condition: '{RC}'
    step 'deploy', command: '''{mark(m, 'deploy')}; test "$[version]" = 2''', condition: '{RC}'
  }}
{RESTARTER}
}}
""")
    first = api.run_and_wait(project, "Main", {})
    assert [find_step(first, s)["outcome"] for s in ("stamp", "lint", "deploy")] == [
        "success", "warning", "error"]

    overrides = ("--param", "version=2", "--param", "resumeDoneOutcomes=success,warning")
    assert actions(cli.plan(first["jobId"], "--param", "version=2")) == [
        ("stamp", SKIP), ("lint", RUN), ("deploy", RUN)]  # a warning is not done by default
    plan, second = restart_and_compare(api, cli, m, first["jobId"],
                                       [("stamp", "stamp"), ("lint", "lint"), ("deploy", "deploy")],
                                       *overrides, via_project=project if via == "RestartJob" else "")
    assert actions(plan) == [("stamp", SKIP), ("lint", SKIP), ("deploy", RUN)]
    assert parameters(second)["version"] == "2"
    assert parameters(second)["resumeDoneOutcomes"] == "success,warning"
    assert second["outcome"] == "success"
    assert (m / "stamp").read_text().split() == ["1"]  # stamp did not run again, deploy saw version 2


# -------------------------------------------------------------------------------------- start step


@pytest.mark.parametrize("via", ["ec-resume", "RestartJob"])
def test_a_start_step_inside_a_subprocedure(setup, via):
    api, cli, m = setup
    project = unique("FromStep")
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Deploy', {{
    {resumable('upload', mark(m, 'upload'))}
    step 'verify', command: '''{mark(m, 'verify')}''', condition: '{RC}'
    step 'notify', command: '''{mark(m, 'notify')}''', condition: '{RC}'
  }}
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'build', command: '''{mark(m, 'build')}''', condition: '{RC}'
    step 'deploy', subprocedure: 'Deploy'
    step 'test', command: '''{mark(m, 'test')}; {needs_fix(m)}''', condition: '{RC}'
  }}
{RESTARTER}
}}
""")
    first = api.run_and_wait(project, "Main", {})
    assert [find_step(first, s)["outcome"] for s in ("deploy", "test")] == ["success", "error"]
    fix(m)
    start = "deploy/jobSteps/verify"
    plan, second = restart_and_compare(
        api, cli, m, first["jobId"],
        [("build", "build"), ("deploy/jobSteps/upload/jobSteps/runCommand", "upload"),
         ("deploy/jobSteps/verify", "verify"), ("deploy/jobSteps/notify", "notify"), ("test", "test")],
        "--from-step", start, via_project=project if via == "RestartJob" else "")
    assert actions(plan) == [
        ("build", SKIP), ("deploy", RUN), ("deploy/jobSteps/upload", SKIP),
        ("deploy/jobSteps/upload/jobSteps/runCommand", SKIP), ("deploy/jobSteps/verify", RUN),
        ("deploy/jobSteps/notify", RUN), ("test", RUN)]
    assert "at or after the start step" in reason_of(plan, "deploy/jobSteps/notify")
    assert second["outcome"] == "success"
    assert api.get_property(f"/jobs/{second['jobId']}/ec_resume/fromStep") == start
    # The hand-over value is gone once the new job holds its own start step.
    assert api.get_property(f"/jobs/{first['jobId']}/ec_resume/pendingFromStep") in (None, "")

    # A start step that is no step of the job: one line naming it, nothing launched.
    before = api.call("getJobs", projectName=project, procedureName="Main")
    wrong = "deploy/jobSteps/nothing"
    if via == "RestartJob":
        runner = run_restart_job(api, project, first["jobId"], ["--from-step", wrong])
        assert runner["outcome"] == "error"
        assert any(wrong in text for text in step_summaries(api, runner).values())
    else:
        bad = cli("restart", first["jobId"], "--from-step", wrong)
        assert bad.code == 2 and bad.out == "", bad  # bad usage, like any other bad argument
        assert len(bad.err.splitlines()) == 1 and wrong in bad.err
    assert api.call("getJobs", projectName=project, procedureName="Main") == before


@pytest.mark.emulator_only
def test_a_dry_run_shows_the_plan_and_launches_nothing(setup):
    api, cli, m = setup
    project = unique("DryRun")
    api.call("evalDsl", dsl=nested_dsl(project, m, RESTARTER))
    first = api.run_and_wait(project, "Main", {})
    fix(m)
    plan = cli.plan(first["jobId"])
    api.control("DELETE", "requests")
    assert cli("restart", first["jobId"], "--dry-run", "--json").json() == plan
    assert run_request_count(api) == 0
    runner = run_restart_job(api, project, first["jobId"], dry_run=True)
    assert run_request_count(api) == 1  # the Restarter job itself
    assert runner["outcome"] == "success"
    assert api.get_property(f"/jobs/{runner['jobId']}/ec_resume/launched") in (None, "")
    summary = "\n".join(step_summaries(api, runner).values())
    for path, action in actions(plan):  # RestartJob's summary shows the same plan, step by step
        assert path.split("/jobSteps/")[-1] in summary and action in summary, (path, summary)
    before = counts(m)
    second = api.wait_for_job(cli.restart(first["jobId"]))  # the plan still holds after the dry runs
    assert_plan_came_true(plan, first["jobId"], second, delta(before, counts(m)), NESTED_MARKERS)


# ------------------------------------------------------------------------------------- added steps


def test_steps_added_to_the_procedure_after_the_failure_run(setup):
    api, cli, m = setup
    project = unique("Added")
    api.call("evalDsl", dsl=f"""
project '{project}', {{
  procedure 'Checks', {{
    step 'lint', command: '''{mark(m, 'lint')}''', condition: '{RC}'
  }}
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'build', command: '''{mark(m, 'build')}''', condition: '{RC}'
    step 'checks', subprocedure: 'Checks'
    step 'test', command: '''{mark(m, 'test')}; {needs_fix(m)}''', condition: '{RC}'
  }}
}}
""")
    first = api.run_and_wait(project, "Main", {})
    assert find_step(first, "test")["outcome"] == "error"
    fix(m)
    api.call("createStep", projectName=project, procedureName="Checks", stepName="scan",
             command=mark(m, "scan"), condition=RC)
    api.call("createStep", projectName=project, procedureName="Main", stepName="notify",
             command=mark(m, "notify"), condition=RC)
    plan, second = restart_and_compare(
        api, cli, m, first["jobId"],
        [("build", "build"), ("checks/jobSteps/lint", "lint"), ("checks/jobSteps/scan", "scan"),
         ("test", "test"), ("notify", "notify")])
    assert actions(plan) == [("build", SKIP), ("checks", RUN), ("checks/jobSteps/lint", SKIP),
                             ("checks/jobSteps/scan", RUN), ("test", RUN), ("notify", RUN)]
    assert "new in the procedure" in reason_of(plan, "checks/jobSteps/scan")
    assert "new in the procedure" in reason_of(plan, "notify")
    assert second["outcome"] == "success"


# ------------------------------------------------------------------------------- another procedure


def same_names(project: str, procedure: str, m: Path, key: str, link: bool) -> str:
    links, gate = (LINK_STEP, needs_fix(m)) if link else ("", "true")
    return f"""
project '{project}', {{
  procedure '{procedure}', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'build', command: '''{mark(m, key + '-build')}''', condition: '{RC}'
    {resumable('package', mark(m, key + '-package'))}
    step 'test', command: '''{mark(m, key + '-test')}; {gate}''', condition: '{RC}'
    {links}
  }}
}}
"""


@pytest.mark.parametrize("other", ["another project's Main", "another procedure of the project"])
def test_a_job_to_restart_of_another_procedure_skips_nothing(setup, other):
    api, cli, m = setup
    project = unique("Mine")
    api.call("evalDsl", dsl=same_names(project, "Main", m, "mine", link=True))
    if other.startswith("another project"):
        other_project, other_procedure = unique("Theirs"), "Main"
    else:
        other_project, other_procedure = project, "Copy"
    api.call("evalDsl", dsl=same_names(other_project, other_procedure, m, "theirs", link=False))
    theirs = api.run_and_wait(other_project, other_procedure, {})
    assert theirs["outcome"] == "success"

    mine = api.run_and_wait(project, "Main", {"jobToRestart": theirs["jobId"]})
    assert [find_step(mine, *p)["outcome"] for p in (["build"], ["package", "runCommand"], ["test"])] == [
        "success", "success", "error"]
    assert counts(m) == {"theirs-build": 1, "theirs-package": 1, "theirs-test": 1,
                         "mine-build": 1, "mine-package": 1, "mine-test": 1}
    summaries = step_summaries(api, mine)
    assert any("not a job of this procedure" in text for text in summaries.values()), summaries

    fix(m)
    mine_markers = [("build", "mine-build"), ("package/jobSteps/runCommand", "mine-package"),
                    ("test", "mine-test")]
    plan, again = restart_and_compare(api, cli, m, mine["jobId"], mine_markers)
    assert actions(plan)[:4] == [("build", SKIP), ("package", SKIP), ("package/jobSteps/runCommand", SKIP),
                                 ("test", RUN)]
    assert again["outcome"] == "success"


# --------------------------------------------------------------------------------------- odd names

ODD_NAMES = ["a/b", "br[ack]et", "[lead", "dollar$[", "$[/myJob/jobId]"]


def odd_dsl(project: str, m: Path) -> str:
    odd = "\n    ".join(
        resumable(name, mark(m, f"odd{i}")) if name == "[lead" else
        f"step '{name}', command: '''{mark(m, f'odd{i}')}''', condition: '{RC}'"
        for i, name in enumerate(ODD_NAMES))
    return f"""
project '{project}', {{
  procedure 'Sub', {{
    step 'y', command: '''{mark(m, 'child-y')}''', condition: '{RC}'
  }}
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    step 'plain', command: '''{mark(m, 'plain')}''', condition: '{RC}'
    {odd}
    step 'x', subprocedure: 'Sub'
    step 'x/jobSteps/y', command: '''{mark(m, 'top-xy')}; {needs_fix(m)}''', condition: '{RC}'
  }}
}}
"""


def odd_markers() -> List[Tuple[str, str]]:
    paths = ["plain"] + [f"{n}/jobSteps/runCommand" if n == "[lead" else n for n in ODD_NAMES]
    keys = ["plain"] + [f"odd{i}" for i in range(len(ODD_NAMES))]
    return list(zip(paths, keys)) + [("x/jobSteps/y", "child-y"), ("x/jobSteps/y", "top-xy")]


def test_steps_with_names_a_property_path_cannot_address_run_and_never_fail(setup):
    """`x/jobSteps/y` at the top failed while the child y of call x succeeded: the failed one runs."""
    api, cli, m = setup
    project = unique("Odd")
    api.call("evalDsl", dsl=odd_dsl(project, m))
    first = api.run_and_wait(project, "Main", {})
    steps = [(path, step["outcome"]) for path, step in job_steps_in_order(first)]
    assert steps[-1] == ("x/jobSteps/y", "error") and ("x/jobSteps/y", "success") in steps[:-1]
    fix(m)

    plan, second = restart_and_compare(api, cli, m, first["jobId"], odd_markers())
    assert actions(plan) == (
        [("plain", SKIP)]
        + [step for n in ODD_NAMES for step in ([(n, RUN), (f"{n}/jobSteps/runCommand", RUN)]
                                                if n == "[lead" else [(n, RUN)])]
        + [("x", SKIP), ("x/jobSteps/y", SKIP), ("x/jobSteps/y", RUN)])
    for name in ODD_NAMES:  # the words of the reason, on the step that carries the run condition
        assert "property path" in reason_of(plan, name + "/jobSteps/runCommand" if name == "[lead" else name)
    assert reason_of(plan, "x/jobSteps/y", 1).endswith("always runs")
    assert second["outcome"] == "success"  # every odd-named step ran, none ended in error

    # Restarted again: the odd names still run (they cannot resume), and still never fail.
    plan, third = restart_and_compare(api, cli, m, second["jobId"], odd_markers())
    assert [a for p, a in actions(plan) if p in ODD_NAMES] == [RUN] * len(ODD_NAMES)
    assert third["outcome"] == "success"
    assert counts(m)["plain"] == 1 and counts(m)["child-y"] == 1 and counts(m)["odd1"] == 3


def test_a_job_to_restart_that_cannot_be_expanded_runs_every_step(setup):
    api, _cli, m = setup
    project = unique("BadRef")
    api.call("evalDsl", dsl=odd_dsl(project, m))
    fix(m)
    for ref in ("$[/myJob/x]", "../etc", "has space", "a]b"):
        job = api.run_and_wait(project, "Main", {"jobToRestart": ref})
        assert job["outcome"] == "success", (ref, job["outcome"])
    assert set(counts(m).values()) == {4}


# -------------------------------------------------------------------------- issue 15: the README example


def readme_dsl(project: str, m: Path) -> str:
    """The README's own Release procedure (no errorHandling: failProcedure), its commands made markers,
    `deploy` failing until fixed."""
    text = (readme_example().replace("project 'Shop'", f"project '{project}'")
            .replace("make dist VERSION=$[version]", mark(m, "build"))
            .replace("./deploy.sh $[version]", f"{mark(m, 'deploy')}; {needs_fix(m)}")
            .replace("./smoke.sh", mark(m, "smoke")))
    assert text.count(m.as_posix()) == 4, "the README example changed: update this test's stand-ins"
    return text


README_MARKERS = [("build", "build"), ("deploy/jobSteps/runCommand", "deploy"), ("smoke test", "smoke")]


def failed_release(api: Any, m: Path) -> Dict:
    project = unique("Readme")
    api.call("evalDsl", dsl=readme_dsl(project, m))
    first = api.run_and_wait(project, "Release", {"version": "1.0"})
    assert [find_step(first, s)["outcome"] for s in ("build", "deploy", "smoke test")] == [
        "success", "error", "success"]  # smoke ran against the old deployment, and passed
    fix(m)
    return first


def test_readme_release_resumes_deploy_and_everything_after_it(setup, server):
    api, cli, m = setup
    first = failed_release(api, m)
    plan = cli.plan(first["jobId"])
    assert [a for a in actions(plan) if a[0] in ("build", "deploy", "smoke test")] == [
        ("build", SKIP), ("deploy", RUN), ("smoke test", RUN)]
    reason = reason_of(plan, "smoke test")
    assert reason.startswith("ran after the failure of deploy"), reason

    before = counts(m)
    second = follow_restart_link(api, server, report_urls(api, first["jobId"])["Restart this job"])
    assert_plan_came_true(plan, first["jobId"], second, delta(before, counts(m)), README_MARKERS)
    assert counts(m) == {"build": 1, "deploy": 2, "smoke": 2}
    assert second["outcome"] == "success"


def test_readme_release_under_the_per_step_rule_skips_smoke(setup):
    api, cli, m = setup
    with plugin_setting(api, "rule", "perStep"):
        first = failed_release(api, m)
        plan, second = restart_and_compare(api, cli, m, first["jobId"], README_MARKERS)
    assert [a for a in actions(plan) if a[0] in ("build", "deploy", "smoke test")] == [
        ("build", SKIP), ("deploy", RUN), ("smoke test", SKIP)]
    assert counts(m) == {"build": 1, "deploy": 2, "smoke": 1}
    assert second["outcome"] == "success"
