"""Every API of the dispatcher, called over both wires (REST `?request=` and the XML API).

Each test takes `call`, parametrized over the two wires, so one body checks both. XML renders a list of
one element as that element, so list results are read through `as_list`.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pytest
import requests
from conftest import ApiError, ServerApi, as_list, find_step, make_procedure, unique

from commander_emulator.model import OUTCOMES
from commander_emulator.server import Emulator  # the in_process fixture's type
from tests.emulator.emulator_settings import emulator_setting
from tests.emulator.in_process import in_process  # noqa: F401 (a fixture)

Call = Callable[..., Dict[str, Any]]


@pytest.fixture(params=["rest", "xml"])
def call(request: pytest.FixtureRequest, api: ServerApi) -> Call:
    return api.call if request.param == "rest" else api.xml


def error_of(fn: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as info:
        fn()
    return info.value


# ------------------------------------------------------------------------------------------ sessions


def test_login_with_a_wrong_password_is_refused_and_a_good_one_gives_a_session(server: Any) -> None:
    url = server.url + "/rest/v1.0/sessions"
    bad = requests.post(url, json={"userName": "admin", "password": "wrong"})
    assert bad.status_code >= 400 and bad.json()["error"]["code"] == "InvalidCredentials"
    good = requests.post(url, json={"userName": server.user, "password": server.password})
    session_id = good.json()["sessionId"]
    status = requests.get(server.url + "/rest/v1.0/server/status", cookies={"sessionId": session_id})
    assert status.json()["serverStatus"]["serverState"] == "running"


def test_logout_ends_the_session(server: Any) -> None:
    client = ServerApi(server.url, server.user, server.password)
    client.call("logout")
    assert error_of(lambda: client.call("getServerStatus")).status == 401


def test_get_server_status(call: Call) -> None:
    assert call("getServerStatus")["serverStatus"]["serverState"] == "running"


def test_an_unknown_api_is_an_error_naming_it(call: Call) -> None:
    err = error_of(lambda: call("getNoSuchThing"))
    assert err.code == "InvalidRequest" and "getNoSuchThing" in err.message


# ---------------------------------------------------------------------------------------- definitions

ALL_STEP_FIELDS = {
    "command": "echo hi",
    "shell": "bash",
    "condition": "$[run]",
    "precondition": "1",
    "alwaysRun": "1",
    "parallel": "1",
    "errorHandling": "abortJob",
    "timeLimit": "5",
    "timeLimitUnits": "minutes",
    "resourceName": "local",
    "workspaceName": "default",
    "workingDirectory": "/tmp",
    "logFileName": "x.log",
    "postProcessor": "postp",
    "credentialName": "cred",
    "broadcast": "1",
    "exclusive": "1",
    "exclusiveMode": "job",
    "releaseExclusive": "1",
    "releaseMode": "releaseToJob",
    "comment": "c",
    "description": "d",
}


def test_create_step_keeps_every_field_and_actual_parameters(call: Call) -> None:
    project, procedure = make_procedure(call, {})
    call(
        "createStep",
        projectName=project,
        procedureName=procedure,
        stepName="all",
        actualParameter=[
            {"actualParameterName": "a", "value": "1 & 2"},
            {"actualParameterName": "b", "value": ""},
        ],
        **ALL_STEP_FIELDS,
    )
    step = call("getStep", projectName=project, procedureName=procedure, stepName="all")["step"]
    assert {k: step[k] for k in ALL_STEP_FIELDS} == ALL_STEP_FIELDS
    assert as_list(step["actualParameter"]) == [
        {"actualParameterName": "a", "value": "1 & 2"},
        {"actualParameterName": "b", "value": ""},
    ]


def test_a_subprocedure_step_names_its_call(call: Call) -> None:
    project, procedure = make_procedure(call, {"call": {"subprocedure": "Other", "subproject": "Lib"}})
    step = call("getStep", projectName=project, procedureName=procedure, stepName="call")["step"]
    assert (step["subprocedure"], step["subproject"]) == ("Other", "Lib")


def test_a_bad_enum_names_the_argument_and_changes_nothing(call: Call) -> None:
    project, procedure = make_procedure(call, {"one": {"command": "true"}})
    err = error_of(
        lambda: call(
            "modifyStep",
            projectName=project,
            procedureName=procedure,
            stepName="one",
            command="false",
            errorHandling="sometimes",
        )
    )
    assert err.code == "InvalidArgument" and "errorHandling" in err.message and "sometimes" in err.message
    step = call("getStep", projectName=project, procedureName=procedure, stepName="one")["step"]
    assert step["command"] == "true"


def test_steps_keep_their_order_and_honour_before_and_after(call: Call) -> None:
    project, procedure = make_procedure(call, {"a": {}, "c": {}})
    call("createStep", projectName=project, procedureName=procedure, stepName="b", afterProcedureStep="a")
    call(
        "createStep", projectName=project, procedureName=procedure, stepName="first", beforeProcedureStep="a"
    )
    steps = as_list(call("getSteps", projectName=project, procedureName=procedure)["step"])
    assert [s["stepName"] for s in steps] == ["first", "a", "b", "c"]


def test_modify_step_with_an_empty_condition_takes_it_off_as_if_never_set(call: Call) -> None:
    project, procedure = make_procedure(call, {"a": {"command": "true"}})
    where = {"projectName": project, "procedureName": procedure, "stepName": "a"}
    before = call("getStep", **where)["step"]
    assert "condition" not in before
    call("modifyStep", condition="$[runIt]", timeLimit="5", **where)
    assert call("getStep", **where)["step"]["condition"] == "$[runIt]"
    call("modifyStep", condition="", timeLimit="", **where)
    assert call("getStep", **where)["step"] == before  # [U] "" clears an optional text field


def test_modify_and_delete_steps(call: Call) -> None:
    project, procedure = make_procedure(call, {"a": {"command": "one"}, "b": {}})
    call(
        "modifyStep",
        projectName=project,
        procedureName=procedure,
        stepName="a",
        newName="renamed",
        command="two",
        alwaysRun="true",
    )
    step = call("getStep", projectName=project, procedureName=procedure, stepName="renamed")["step"]
    assert (step["command"], step["alwaysRun"]) == ("two", "1")
    call("deleteStep", projectName=project, procedureName=procedure, stepName="b")
    steps = as_list(call("getSteps", projectName=project, procedureName=procedure)["step"])
    assert [s["stepName"] for s in steps] == ["renamed"]
    err = error_of(lambda: call("getStep", projectName=project, procedureName=procedure, stepName="b"))
    assert err.code == "NoSuchStep"


def test_creating_a_duplicate_is_refused(call: Call) -> None:
    project, procedure = make_procedure(call, {"a": {}})
    assert error_of(lambda: call("createProject", projectName=project)).code == "DuplicateProjectName"
    err = error_of(lambda: call("createStep", projectName=project, procedureName=procedure, stepName="a"))
    assert err.code == "DuplicateStepName"


def test_projects_and_procedures(call: Call) -> None:
    project, procedure = make_procedure(call, {})
    assert call("getProject", projectName=project)["project"]["projectName"] == project
    call("createProcedure", projectName=project, procedureName="Second", description="two")
    call("modifyProcedure", projectName=project, procedureName="Second", description="changed")
    assert (
        call("getProcedure", projectName=project, procedureName="Second")["procedure"]["description"]
        == "changed"
    )
    names = [p["procedureName"] for p in as_list(call("getProcedures", projectName=project)["procedure"])]
    assert names == [procedure, "Second"]
    call("deleteProcedure", projectName=project, procedureName="Second")
    err = error_of(lambda: call("getProcedure", projectName=project, procedureName="Second"))
    assert err.code == "NoSuchProcedure"
    assert error_of(lambda: call("getProject", projectName=unique("none"))).code == "NoSuchProject"


def test_formal_parameters(call: Call) -> None:
    project, procedure = make_procedure(call, {})
    call(
        "createFormalParameter",
        projectName=project,
        procedureName=procedure,
        formalParameterName="branch",
        type="entry",
        required="1",
        defaultValue="main",
        expansionDeferred="0",
        label="Branch",
    )
    call(
        "createFormalParameter",
        projectName=project,
        procedureName=procedure,
        formalParameterName="cred",
        type="credential",
    )
    call(
        "modifyFormalParameter",
        projectName=project,
        procedureName=procedure,
        formalParameterName="branch",
        defaultValue="dev",
    )
    params = as_list(
        call("getFormalParameters", projectName=project, procedureName=procedure)["formalParameter"]
    )
    assert [(p["formalParameterName"], p["type"]) for p in params] == [
        ("branch", "entry"),
        ("cred", "credential"),
    ]
    assert (params[0]["defaultValue"], params[0]["required"], params[0]["label"]) == ("dev", "1", "Branch")
    call("deleteFormalParameter", projectName=project, procedureName=procedure, formalParameterName="cred")
    params = as_list(
        call("getFormalParameters", projectName=project, procedureName=procedure)["formalParameter"]
    )
    assert [p["formalParameterName"] for p in params] == ["branch"]
    err = error_of(
        lambda: call(
            "createFormalParameter",
            projectName=project,
            procedureName=procedure,
            formalParameterName="x",
            type="dropdown",
        )
    )
    assert err.code == "InvalidArgument" and "type" in err.message


def test_create_credential_never_returns_the_password(call: Call) -> None:
    project, _ = make_procedure(call, {})
    cred = call(
        "createCredential", projectName=project, credentialName="deploy", userName="bot", password="s3cret"
    )["credential"]
    assert cred["userName"] == "bot" and "s3cret" not in str(cred)


# ------------------------------------------------------------------------------------------ properties


def test_get_credential_answers_a_stored_credential_without_its_password(call: Call, api: ServerApi) -> None:
    project = unique("cred")
    call("createProject", projectName=project)
    call("createCredential", projectName=project, credentialName="deploy", userName="bot", password="s3cret")
    got = call("getCredential", projectName=project, credentialName="deploy")["credential"]
    assert (got["credentialName"], got["userName"]) == ("deploy", "bot") and "s3cret" not in str(got)
    by_route = api.rest("GET", f"projects/{project}/credentials/deploy")["credential"]
    assert by_route["credentialName"] == "deploy"
    missing = error_of(lambda: call("getCredential", projectName=project, credentialName="nope"))
    assert missing.code == "NoSuchCredential" and "nope" in missing.message


def test_property_create_get_set_delete_and_list(call: Call) -> None:
    project, _ = make_procedure(call, {})
    call("createProperty", projectName=project, propertyName="greeting", value="hello")
    call("createProperty", projectName=project, propertyName="sheet", propertyType="sheet")
    call("setProperty", projectName=project, propertyName="sheet/inner", value="$[greeting] world")
    record = call("getProperty", projectName=project, propertyName="sheet/inner")["property"]
    assert record["value"] == "hello world"
    raw = call("getProperty", projectName=project, propertyName="sheet/inner", expand="0")["property"]
    assert raw["value"] == "$[greeting] world"
    listed = as_list(call("getProperties", projectName=project)["propertySheet"]["property"])
    assert [p["propertyName"] for p in listed] == ["greeting", "sheet"]
    call("deleteProperty", projectName=project, propertyName="greeting")
    err = error_of(lambda: call("getProperty", projectName=project, propertyName="greeting"))
    assert err.code == "NoSuchProperty"


def test_expand_string(call: Call) -> None:
    project, _ = make_procedure(call, {})
    call("setProperty", projectName=project, propertyName="who", value="world")
    assert call("expandString", projectName=project, value="hello $[who]")["value"] == "hello world"


# ------------------------------------------------------------------------------------------------ jobs


def test_job_details_carry_the_whole_tree(call: Call, api: ServerApi) -> None:
    lib_project, lib_procedure = make_procedure(call, {"inner": {"command": "echo $[what]"}}, params=["what"])
    project, procedure = make_procedure(
        call,
        {
            "first": {"command": "exit 0"},
            "sub": {
                "subprocedure": lib_procedure,
                "subproject": lib_project,
                "actualParameter": [{"actualParameterName": "what", "value": "$[branch]"}],
            },
            "fail": {"command": "exit 3", "errorHandling": "abortProcedure"},
            "never": {"command": "exit 0"},
        },
        params=["branch"],
    )
    job_id = call(
        "runProcedure",
        projectName=project,
        procedureName=procedure,
        actualParameter={"actualParameterName": "branch", "value": "main"},
    )["jobId"]
    api.wait_for_job(job_id)
    job = call("getJobDetails", jobId=job_id)["job"]
    assert (job["status"], job["outcome"], job["projectName"], job["launchedByUser"]) == (
        "completed",
        "error",
        project,
        "admin",
    )
    assert as_list(job["actualParameter"]) == [{"actualParameterName": "branch", "value": "main"}]
    assert [s["stepName"] for s in as_list(job["jobStep"])] == ["first", "sub", "fail", "never"]
    sub = find_step(job, "sub")
    assert sub["calledProcedure"]["procedureName"] == lib_procedure
    assert as_list(sub["calledProcedure"]["actualParameter"]) == [
        {"actualParameterName": "what", "value": "main"}
    ]
    inner = find_step(job, "sub", "inner")
    assert (inner["outcome"], inner["exitCode"], inner["command"]) == ("success", "0", "echo main")
    fail = find_step(job, "fail")
    assert (fail["exitCode"], fail["errorHandling"], fail["outcome"]) == ("3", "abortProcedure", "error")
    never = find_step(job, "never")  # never reached, still listed
    assert never["outcome"] in ("skipped", "notRun") and "exitCode" not in never

    info = call("getJobInfo", jobId=job_id)["job"]
    assert info["jobName"] == job["jobName"] and "jobStep" not in info
    status = call("getJobStatus", jobId=job_id)
    assert (status["jobId"], status["status"], status["outcome"]) == (job_id, "completed", "error")


def test_job_step_details_show_the_steps_custom_properties(call: Call, api: ServerApi) -> None:
    project, procedure = make_procedure(call, {"only": {"command": "exit 0"}})
    job = api.run_and_wait(project, procedure)
    step_id = find_step(job, "only")["jobStepId"]
    call("setProperty", jobStepId=step_id, propertyName="summary", value="all good")
    details = call("getJobStepDetails", jobStepId=step_id)["jobStep"]
    assert details["stepName"] == "only"
    props = as_list(details["propertySheet"]["property"])
    assert {p["propertyName"]: p["value"] for p in props}["summary"] == "all good"


def test_get_jobs_lists_newest_first(call: Call, api: ServerApi) -> None:
    project, procedure = make_procedure(call, {"s": {"command": "exit 0"}})
    first = api.run_and_wait(project, procedure)["jobId"]
    second = api.run_and_wait(project, procedure)["jobId"]
    jobs = as_list(call("getJobs", projectName=project)["job"])
    assert [j["jobId"] for j in jobs] == [second, first]
    assert [j["jobId"] for j in as_list(call("getJobs", projectName=project, maxResults="1")["job"])] == [
        second
    ]


def test_abort_job_stops_a_running_job(call: Call, api: ServerApi) -> None:
    project, procedure = make_procedure(
        call, {"wait": {"command": "sleep 30"}, "after": {"command": "exit 0"}}
    )
    job_id = api.run_procedure(project, procedure)
    call("abortJob", jobId=job_id, force="1")
    job = api.wait_for_job(job_id, timeout=20)
    assert find_step(job, "after")["outcome"] in ("skipped", "notRun")
    assert job["outcome"] != "success"


def test_run_procedure_errors(call: Call) -> None:
    project, _ = make_procedure(call, {})
    err = error_of(lambda: call("runProcedure", projectName=project, procedureName="Nope"))
    assert err.code == "NoSuchProcedure"
    err = error_of(
        lambda: call(
            "runProcedure", projectName=project, procedureName="Main", actualParameter=[{"value": "no name"}]
        )
    )
    assert err.code == "InvalidArgument" and "actualParameter" in err.message


def test_a_credential_parameter_uses_the_transient_credential(call: Call, api: ServerApi) -> None:
    project, procedure = make_procedure(call, {"s": {"command": "exit 0"}})
    call(
        "createFormalParameter",
        projectName=project,
        procedureName=procedure,
        formalParameterName="login",
        type="credential",
    )
    job_id = call(
        "runProcedure",
        projectName=project,
        procedureName=procedure,
        actualParameter=[{"actualParameterName": "login", "value": "temp"}],
        credential=[{"credentialName": "temp", "userName": "bot", "password": "pw"}],
    )["jobId"]
    job = api.wait_for_job(job_id)
    assert as_list(job["actualParameter"]) == [{"actualParameterName": "login", "value": "temp"}]
    assert "pw" not in str(job)


# ------------------------------------------------------------------------------------------------- DSL


def test_eval_dsl_creates_then_modifies(call: Call) -> None:
    project = unique("dsl")
    dsl = f"""project '{project}', {{
  procedure 'Build', {{
    formalParameter 'branch', defaultValue: 'main'
    step 'compile', command: 'make', alwaysRun: '1'
  }}
}}"""
    assert call("evalDsl", dsl=dsl)["value"] == project
    step = call("getStep", projectName=project, procedureName="Build", stepName="compile")["step"]
    assert (step["command"], step["alwaysRun"]) == ("make", "1")
    call("evalDsl", dsl=dsl.replace("'make'", "'make all'"))
    steps = as_list(call("getSteps", projectName=project, procedureName="Build")["step"])
    assert [(s["stepName"], s["command"]) for s in steps] == [("compile", "make all")]


def test_eval_dsl_parameters_reach_the_script_as_args(call: Call) -> None:
    project = unique("dslargs")
    dsl = "project args.projectName, { procedure args.procedureName, { step 'only', command: 'true' } }"
    parameters = json.dumps({"projectName": project, "procedureName": "Made"})
    assert call("evalDsl", dsl=dsl, parameters=parameters)["value"] == project
    made = call("getProcedure", projectName=project, procedureName="Made")["procedure"]
    assert made["procedureName"] == "Made"
    with pytest.raises(ApiError) as bad:
        call("evalDsl", dsl=dsl, parameters="[1, 2]")
    assert bad.value.code == "InvalidArgument" and "parameters" in bad.value.message


def test_eval_dsl_errors_name_the_line(call: Call) -> None:
    err = error_of(lambda: call("evalDsl", dsl="project 'x', {\n  bogus 'y'\n}"))
    assert ":2" in err.message


# --------------------------------------------------------------------------------------------- plugins


def plugin_jar(key: str, version: str = "1.0.0") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        jar.writestr(
            "META-INF/plugin.xml",
            f"<plugin><key>{key}</key><version>{version}</version><label>Test plugin</label></plugin>",
        )
        jar.writestr(
            "dsl/procedures/Hello/procedure.dsl",
            "procedure 'Hello', {\n  step 'say', command: 'echo hello'\n}\n",
        )
    return buffer.getvalue()


def test_install_by_upload_then_promote_and_demote(api: ServerApi) -> None:
    key = unique("EC-Test")
    installed = api.rest("POST", "plugins", files={"file": ("p.jar", plugin_jar(key))})["plugin"]
    name = installed["pluginName"]
    assert (name, installed["promoted"]) == (f"{key}-1.0.0", "0")
    api.rest("POST", f"plugins/{name}", params={"request": "promotePlugin"})
    assert api.rest("GET", f"plugins/{key}")["plugin"]["promoted"] == "1"
    step = api.call("getStep", projectName=name, procedureName="Hello", stepName="say")["step"]
    assert step["command"] == "echo hello"
    api.call("promotePlugin", pluginName=name, promote="0")
    assert api.xml("getPlugin", pluginName=name)["plugin"]["promoted"] == "0"
    assert name in [p["pluginName"] for p in as_list(api.xml("getPlugins")["plugin"])]


def test_install_from_base64_and_from_a_local_path(api: ServerApi, tmp_path: Any) -> None:
    key = unique("EC-B64")
    by_base64 = api.xml("installPlugin", contentBase64=base64.b64encode(plugin_jar(key)).decode())["plugin"]
    assert by_base64["pluginKey"] == key
    jar = tmp_path / "p.jar"
    jar.write_bytes(plugin_jar(key, "2.0.0"))
    by_path = api.call("installPlugin", url=str(jar))["plugin"]
    assert by_path["pluginName"] == f"{key}-2.0.0"
    err = error_of(lambda: api.call("installPlugin", url=str(tmp_path / "missing.jar")))
    assert err.code == "InvalidArgument" and "missing.jar" in err.message


# ------------------------------------------------------------------ issue 14: jobs as a real server answers


def jobs_of(call: Call, project: str, **filters: str) -> list:
    return as_list(call("getJobs", projectName=project, **filters).get("job"))


# ------------------------------------------------------------------------ credentialReferenceParameters


def make_credential_procedure(call: Call) -> str:
    """A project with stored credential "deploy" and procedure Main(login: credential, branch: entry)."""
    project, procedure = make_procedure(call, {"s": {"command": "exit 0"}}, ["branch"])
    call("createFormalParameter", projectName=project, procedureName=procedure, formalParameterName="login",
         type="credential")
    call("createCredential", projectName=project, credentialName="deploy", userName="bot", password="pw-7731")
    return project


@pytest.fixture
def credential_procedure(call: Call) -> str:
    return make_credential_procedure(call)


@pytest.mark.parametrize("wire", ["rest", "xml"])
@pytest.mark.parametrize("reference", ["deploy", "/projects/{project}/credentials/deploy"])
def test_a_credential_parameter_refers_to_a_stored_credential(
        in_process: Emulator, wire: str, reference: str) -> None:  # noqa: F811 (the fixture)
    api = ServerApi(in_process.url, in_process.admin_user, in_process.admin_password)
    call = api.call if wire == "rest" else api.xml
    project = make_credential_procedure(call)
    job_id = call("runProcedure", projectName=project, procedureName="Main",
                  actualParameter=[{"actualParameterName": "branch", "value": "main"}],
                  credentialReferenceParameters=[{"name": "login",
                                                  "value": reference.format(project=project)}])["jobId"]
    job = api.wait_for_job(job_id)
    path = f"/projects/{project}/credentials/deploy"
    assert {p["actualParameterName"]: p["value"] for p in as_list(job["actualParameter"])} == {
        "branch": "main", "login": path}
    held = in_process.store.jobs[job_id].credentials[path]
    assert (held.user_name, held.password) == ("bot", "pw-7731")  # the job holds the stored credential
    assert "pw-7731" not in str(job)


@pytest.mark.parametrize("entry, code, words", [
    ({"name": "login", "value": "nope"}, "NoSuchCredential", ["'login'", "'nope'"]),
    ({"name": "login", "value": "/projects/no-such-project/credentials/deploy"}, "NoSuchCredential",
     ["'login'", "no-such-project"]),
    ({"name": "branch", "value": "deploy"}, "InvalidActualParameter", ["'branch'", "not a credential"]),
    ({"name": "other", "value": "deploy"}, "InvalidActualParameter", ["'other'"]),
    ({"value": "deploy"}, "InvalidArgument", ["credentialReferenceParameters"]),
])
def test_a_bad_credential_reference_is_one_clear_error_and_starts_no_job(
        call: Call, credential_procedure: str, entry: Dict[str, str], code: str, words: list) -> None:
    project = credential_procedure
    err = error_of(lambda: call("runProcedure", projectName=project, procedureName="Main",
                                credentialReferenceParameters=[entry]))
    assert err.code == code and "\n" not in err.message
    assert all(word in err.message for word in words), err.message
    assert jobs_of(call, project) == []


# ------------------------------------------------------------------------------------------ abortStatus


@pytest.mark.parametrize("force, status", [("0", "ABORT"), ("1", "FORCE_ABORT")])
def test_abort_records_the_abort_status(call: Call, api: ServerApi, tmp_path: Path, force: str,
                                        status: str) -> None:
    # "a" waits (at most 10 s) for a file the test writes after the abort, so the job is still running.
    go = tmp_path / "go"
    wait = f"i=0; while [ ! -f {go} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done"
    project, procedure = make_procedure(call, {"a": {"command": wait}, "b": {"command": "exit 0"}})
    job_id = api.run_procedure(project, procedure)
    assert call("abortJob", jobId=job_id, force=force)["job"]["abortStatus"] == status
    go.write_text("")
    job = api.wait_for_job(job_id)
    assert (job["abortStatus"], job["outcome"]) == (status, "error")
    assert call("getProperty", propertyName=f"/jobs/{job_id}/abortStatus")["property"]["value"] == status


def test_a_job_never_aborted_has_no_abort_status(call: Call, api: ServerApi) -> None:
    project, procedure = make_procedure(call, {"a": {"command": "exit 0"}})
    job = api.run_and_wait(project, procedure)
    assert "abortStatus" not in job
    assert call("getProperty", propertyName=f"/jobs/{job['jobId']}/abortStatus")["property"]["value"] == ""


# ------------------------------------------------------------------------------------------------ getJobs


def test_get_jobs_filters_and_shows_each_jobs_actual_parameters(call: Call, api: ServerApi,
                                                               server: Any) -> None:
    project, procedure = make_procedure(call, {"s": {"command": "exit $[code]"}}, ["code", "jobToRestart"])
    call("createProcedure", projectName=project, procedureName="Other")
    done = api.run_and_wait(project, procedure, {"code": "0", "jobToRestart": "j-41"})["jobId"]
    failed = api.run_and_wait(project, procedure, {"code": "3", "jobToRestart": "j-42"})["jobId"]
    other = api.run_and_wait(project, "Other")["jobId"]
    assert [j["jobId"] for j in jobs_of(call, project)] == [other, failed, done]
    mine = jobs_of(call, project, procedureName=procedure, status="completed")
    assert [j["jobId"] for j in mine] == [failed, done]
    params = [{p["actualParameterName"]: p["value"] for p in as_list(j["actualParameter"])} for j in mine]
    assert params == [{"code": "3", "jobToRestart": "j-42"}, {"code": "0", "jobToRestart": "j-41"}]
    assert jobs_of(call, project, procedureName=procedure, status="running") == []
    assert jobs_of(call, unique("no-such-project")) == []


# ------------------------------------------------------------------------------- unreached outcome


@pytest.fixture(params=["skipped", "notRun"])
def unreached(api: ServerApi, request: pytest.FixtureRequest) -> Iterator[str]:
    with emulator_setting(api, "unreachedOutcome", request.param) as value:
        yield value


@pytest.mark.emulator_only
def test_a_step_an_abort_never_reached_gets_the_outcome_the_setting_names(call: Call, api: ServerApi,
                                                                          unreached: str) -> None:
    assert "notRun" in OUTCOMES  # a listed outcome in the API reference, whichever one a server gives
    steps = {"fail": {"command": "exit 1", "errorHandling": "abortJob"}, "later": {"command": "exit 0"}}
    project, procedure = make_procedure(call, steps)
    job = api.run_and_wait(project, procedure)
    assert (find_step(job, "fail")["outcome"], find_step(job, "later")["outcome"]) == ("error", unreached)


# ------------------------------------------------------------------------------- run conditions


def test_a_run_condition_that_catches_a_failed_read_runs_the_step(call: Call, api: ServerApi) -> None:
    # Before issue 14 the step ended "error" with [InvalidPropertyName] although the script caught it.
    bad_path = "'/myJob/jobSteps/' + '\\x5blead/outcome'"  # '\x5b' is '[': the script has no bracket
    condition = (f"$[/javascript (function () {{ try {{ return getProperty({bad_path}) !== 'success'; }} "
                 "catch (e) { return true; } }())]")
    project, procedure = make_procedure(call, {"[lead": {"command": "exit 0", "condition": condition}})
    job = api.run_and_wait(project, procedure)
    assert find_step(job, "[lead")["outcome"] == "success"
