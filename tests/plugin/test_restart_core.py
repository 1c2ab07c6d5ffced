"""restart.py, the core of `ec-resume restart` and RestartJob, on a fake server: each refusal launches
nothing and writes nothing; parameters, credentials and the start step reach the new job; a launch whose
reply is lost is found, never repeated; the claim on the job is taken and given back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import ec_resume.restart as core
import pytest
from ec_resume.client_errors import RequestRefused, ServerUnreachable
from ec_resume.restart import BadRequest, LaunchUnknown, Refused, RestartRequest, restart
from ec_resume.restart_lock import TIME_FORMAT, lock_path
from fake_commander import FakeCommander, param_list

P, PROC = "Shop", "Release"
FORMALS = [{"formalParameterName": "jobToRestart", "type": "entry"},
           {"formalParameterName": "version", "type": "entry", "required": "1"},
           {"formalParameterName": "cred", "type": "credential", "required": "0"}]


def step(name: str, outcome: str, finish: str) -> Dict[str, Any]:
    return {"stepName": name, "outcome": outcome, "status": "completed", "start": finish, "finish": finish,
            "jobStepId": f"s-{name}"}


def failed_job(job_id: str = "7", status: str = "completed", **params: str) -> Dict[str, Any]:
    actual = {"jobToRestart": "", "version": "1.0", "gone": "x", **params}
    return {"jobId": job_id, "jobName": f"job_{job_id}", "projectName": P, "procedureName": PROC,
            "status": status, "outcome": "error", "actualParameter": param_list(actual),
            "jobStep": [step("build", "success", "2024-01-01T00:00:01.000Z"),
                        step("deploy", "error", "2024-01-01T00:00:02.000Z")]}


class Plan:
    """Stands in for planning.plan_restart's RestartPlan: records what it was asked."""

    def __init__(self, job: Dict[str, Any], params: Dict[str, str], from_step: str) -> None:
        self.job_id, self.params, self.from_step = job["jobId"], dict(params), from_step


@pytest.fixture(autouse=True)
def planner(monkeypatch) -> List[Plan]:
    made: List[Plan] = []

    def plan_restart(client, job, params, from_step=""):
        made.append(Plan(job, params, from_step))
        return made[-1]

    monkeypatch.setattr(core, "plan_restart", plan_restart)
    return made


@pytest.fixture
def fake() -> FakeCommander:
    return FakeCommander({"7": failed_job()}, {(P, PROC): FORMALS})


def run(fake: FakeCommander, **options: Any) -> core.Launch:
    shown: List[Any] = []
    launch = restart(fake, RestartRequest(job_ref=options.pop("job", "7"), **options), shown.append,
                     sleep=lambda s: None)
    assert shown == ([launch.plan] if launch.plan is not None else [])
    return launch


def new_params(fake: FakeCommander, job_id: str) -> Dict[str, str]:
    return {p["actualParameterName"]: p["value"] for p in fake.jobs[job_id]["actualParameter"]}


@pytest.mark.parametrize("setup, options, fragment", [
    (lambda f: None, {"job": "nope"}, "job 'nope' not found"),
    (lambda f: f.jobs.update({"7": failed_job(status="running")}), {}, "is still running"),
    (lambda f: None, {"own_job_id": "7", "how": "RestartJob"}, "is the job running RestartJob"),
    (lambda f: f.formals.clear(), {}, "no longer exists"),
    (lambda f: f.formals.update({(P, PROC): FORMALS[1:]}), {}, "has no 'jobToRestart' parameter"),
    (lambda f: f.properties.update({lock_path("7"): "ec-resume:other " + datetime.now(timezone.utc)
                                    .strftime(TIME_FORMAT)}), {}, "is already being restarted"),
    (lambda f: f.formals.update({(P, PROC): FORMALS[:2] + [{**FORMALS[2], "required": "1"}]}), {},
     "credential parameter 'cred' cannot be carried"),
])
def test_each_refusal_is_one_line_and_launches_and_writes_nothing(fake, setup, options, fragment):
    fake.jobs["7"] = failed_job(cred="transient-cred")
    setup(fake)
    before = dict(fake.properties)
    with pytest.raises(Refused) as caught:
        run(fake, **options)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert fake.count("runProcedure") == 0
    assert fake.properties == before


def test_the_new_job_gets_the_job_s_parameters_with_overrides_and_job_to_restart(fake):
    launch = run(fake, overrides=(("version", "2.0 = new"),))
    assert new_params(fake, launch.new_job_id) == {"version": "2.0 = new", "jobToRestart": "7"}
    assert launch.left_out == [("gone", core.NOT_A_PARAMETER)]
    assert fake.count("runProcedure") == 1
    assert lock_path("7") not in fake.properties  # the claim ends with the launch
    assert fake.properties["/jobs/7/ec_resume/failedStep"] == "deploy"  # written before the launch
    assert fake.properties[f"/jobs/{launch.new_job_id}/ec_resume/resumes"] == "7"
    assert fake.properties[f"/jobs/7/ec_resume/resumedBy/{launch.new_job_id}"] == "ec-resume"


@pytest.mark.parametrize("overrides, says", [
    ((("colour", "red"),), "has no parameter 'colour'"),
    ((("cred", "x"),), "'cred' is a credential parameter"),
    ((("jobToRestart", "x"),), "--param jobToRestart"),
])
def test_a_bad_override_is_one_line_and_launches_nothing(fake, overrides, says):
    with pytest.raises(BadRequest, match=says):
        run(fake, overrides=overrides)
    assert fake.count("runProcedure") == 0


def test_a_credential_naming_a_stored_credential_travels_by_reference_else_it_is_left_out(fake):
    stored = f"/projects/{P}/credentials/vault"
    fake.credentials[(P, "vault")] = True
    fake.jobs["7"] = failed_job(cred=stored)
    launch = run(fake)
    assert launch.credential_references == [{"name": "cred", "value": stored}]
    assert new_params(fake, launch.new_job_id)["cred"] == stored
    fake.jobs["8"] = failed_job("8", cred="typed-in-at-run-time")
    launch = run(fake, job="8")
    assert launch.credential_references == [] and "cred" not in new_params(fake, launch.new_job_id)
    assert ("cred", core.CREDENTIAL_LEFT_OUT) in launch.left_out


def test_a_dry_run_plans_and_launches_and_writes_nothing(fake, planner):
    launch = run(fake, dry_run=True, overrides=(("version", "3"),))
    assert launch.new_job_id == "" and fake.count("runProcedure") == 0
    assert fake.properties == {}
    assert planner[0].params == {"version": "3", "jobToRestart": "7"}


def test_the_start_step_is_pending_on_the_old_job_at_launch_then_the_new_job_s_own(fake, planner):
    pending = "/jobs/7/ec_resume/pendingFromStep"
    seen_at_launch: List[Any] = []
    fake.on_launch = lambda job_id: seen_at_launch.append(fake.properties.get(pending))
    launch = run(fake, from_step="deploy")
    assert seen_at_launch == ["deploy"]  # no race: the first step of the new job can read it
    assert fake.properties[f"/jobs/{launch.new_job_id}/ec_resume/fromStep"] == "deploy"
    assert pending not in fake.properties
    assert planner[0].from_step == "deploy"
    with pytest.raises(BadRequest, match="start step 'nowhere'"):
        run(fake, from_step="nowhere")
    with pytest.raises(BadRequest, match="exclude each other"):
        run(fake, from_step="deploy", run_all=True)


def test_a_stale_start_step_is_removed_before_a_restart_without_one(fake):
    fake.properties["/jobs/7/ec_resume/pendingFromStep"] = "build"
    run(fake)
    assert "/jobs/7/ec_resume/pendingFromStep" not in fake.properties


def test_a_lost_launch_reply_is_found_not_launched_again(fake):
    fake.lose_launch_replies = 1
    launch = run(fake)
    assert launch.found_after_lost_reply and fake.count("runProcedure") == 1
    assert new_params(fake, launch.new_job_id)["jobToRestart"] == "7"
    assert lock_path("7") not in fake.properties
    assert fake.properties[f"/jobs/7/ec_resume/resumedBy/{launch.new_job_id}"] == "ec-resume"


def test_a_hundred_lost_replies_give_a_hundred_jobs_and_no_duplicate(fake):
    for n in range(100):
        fake.jobs[f"f{n}"] = failed_job(f"f{n}")
    fake.lose_launch_replies = 100
    reported = {f"f{n}": run(fake, job=f"f{n}").new_job_id for n in range(100)}
    launched = [new_params(fake, j)["jobToRestart"] for j in fake.jobs if not j.startswith("f") and j != "7"]
    assert sorted(launched) == sorted(reported) and fake.count("runProcedure") == 100
    assert {new_params(fake, new)["jobToRestart"] for new in reported.values()} == set(reported)


def test_a_lost_reply_with_no_job_to_be_found_keeps_the_claim_and_launches_nothing_more(fake, monkeypatch):
    def lost(*args: Any, **kwargs: Any) -> str:
        fake.log.append(("runProcedure", {}))
        raise RequestRefused("InternalError", "gateway said 502", 502)

    monkeypatch.setattr(fake, "run_procedure", lost)
    with pytest.raises(LaunchUnknown, match="look for a new job with jobToRestart=7 before restarting"):
        run(fake, from_step="deploy")
    assert fake.count("runProcedure") == 1
    assert lock_path("7") in fake.properties  # a second restart is refused while a job may be coming
    assert fake.properties["/jobs/7/ec_resume/pendingFromStep"] == "deploy"


def test_no_connection_at_the_launch_gives_the_claim_back_and_leaves_no_start_step(fake, monkeypatch):
    def unreachable(*args: Any, **kwargs: Any) -> str:
        raise ServerUnreachable("runProcedure: cannot reach http://fake:8000: nothing accepts connections")

    monkeypatch.setattr(fake, "run_procedure", unreachable)
    with pytest.raises(ServerUnreachable):
        run(fake, from_step="deploy")
    assert lock_path("7") not in fake.properties
    assert "/jobs/7/ec_resume/pendingFromStep" not in fake.properties


def test_a_claim_older_than_ten_minutes_is_taken_over(fake):
    old = (datetime.now(timezone.utc) - timedelta(minutes=11)).strftime(TIME_FORMAT)
    fake.properties[lock_path("7")] = f"RestartJob:job_3 {old}"
    launch = run(fake)
    assert launch.new_job_id and lock_path("7") not in fake.properties
    fake.properties[lock_path("7")] = "garbled"
    with pytest.raises(Refused, match=r"delete /jobs/7/ec_resume/restartLock if no restart is under way"):
        run(fake)
