"""Property paths and `$[...]` expansion of the emulator, as a CD/RO user writes and reads them.

The world is built from records directly (no engine): project "Shop" with procedure "Build" (steps
"step 1", "Call Subproc" calling "Deploy", "step 3") and procedure "Deploy" (steps "upload", "verify").
Job "job_1" ran it to the end; job "job_2" restarts it (jobToRestart=job_1) and is at "Call Subproc/verify".
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, Optional

import pytest

from commander_emulator.context import Context
from commander_emulator.errors import CommanderError
from commander_emulator.expansion import MAX_EXPANSION_DEPTH, expand, format_java_timestamp
from commander_emulator.model import Job, JobStep, Plugin, Procedure, Step, Store
from commander_emulator.properties import (
    create_property,
    delete_property,
    get_properties,
    get_property,
    get_property_record,
    parse_path,
    set_property,
)


@dataclass
class World:
    store: Store
    old_job: Job
    job: Job
    top_step: JobStep  # job_2 / "step 1"
    call_step: JobStep  # job_2 / "Call Subproc"
    inner_step: JobStep  # job_2 / "Call Subproc" / "verify"

    def step_ctx(self, js: Optional[JobStep] = None) -> Context:
        return Context.for_job_step(js or self.inner_step)


def _run_step(store: Store, job: Job, parent: Optional[JobStep], step: Step, procedure: Procedure,
              outcome: Optional[str], **extra: object) -> JobStep:
    js = JobStep(step_name=step.name, job=job, parent=parent, step=step, project_name=procedure.project_name,
                 procedure_name=procedure.name, outcome=outcome,
                 status="completed" if outcome else "running", **extra)  # type: ignore[arg-type]
    (parent.children if parent is not None else job.steps).append(js)
    store.register_job_step(js)
    return js


def _run_job(store: Store, name: str, params: Dict[str, str], outcomes: Dict[str, Optional[str]]) -> Job:
    """A job of Shop/Build with the given step outcomes keyed "step 1", "Call Subproc/upload", ..."""
    build = store.procedure("Shop", "Build")
    deploy = store.procedure("Shop", "Deploy")
    job = Job(name=name, project_name="Shop", procedure_name="Build", launched_by="alice",
              actual_parameters=OrderedDict(params), status="completed", outcome="success",
              start="2024-01-31T10:00:00.000Z", finish="2024-01-31T10:05:00.000Z")
    job.store = store
    store.register_job(job)
    for step in build.steps:
        if step.subprocedure:
            call = _run_step(store, job, None, step, build, outcomes.get(step.name), called_project="Shop",
                             called_procedure=step.subprocedure,
                             call_parameters=OrderedDict([("target", "prod"), ("region", "eu")]))
            for inner in deploy.steps:
                _run_step(store, job, call, inner, deploy, outcomes.get(f"{step.name}/{inner.name}"),
                          exit_code=0)
        else:
            _run_step(store, job, None, step, build, outcomes.get(step.name), exit_code=0)
    return job


def build_world() -> World:
    store = Store("/tmp/unused-workspaces")
    store.add_user("alice", "secret", "Alice Example")
    shop = store.ensure_project("Shop")
    shop.description = "the shop"
    shop.properties.set_value("level", "project")
    build = Procedure("Build", "Shop", description="builds it")
    build.steps = [Step("step 1", command="make", condition="$[/javascript true]"),
                   Step("Call Subproc", subprocedure="Deploy", subproject="Shop"),
                   Step("step 3", command="make check", error_handling="ignore", always_run=True)]
    build.properties.set_value("level", "procedure")
    deploy = Procedure("Deploy", "Shop")
    deploy.steps = [Step("upload", command="scp"), Step("verify", command="curl")]
    deploy.properties.set_value("deployLevel", "deploy procedure")
    shop.procedures.update(Build=build, Deploy=deploy)

    plugin = Plugin(key="EC-Resume", version="1.2.0", promoted=True)
    store.plugins[plugin.name] = plugin
    store.ensure_project(plugin.name).properties.ensure_sheet("resume").set_value("doneOutcomes", "success")
    store.server_properties.set_value("serverLevel", "server")

    old = _run_job(store, "job_1", {"branch": "main"},
                   {"step 1": "success", "Call Subproc": "error", "Call Subproc/upload": "success",
                    "Call Subproc/verify": "error", "step 3": "success"})
    job = _run_job(store, "job_2", {"branch": "main", "jobToRestart": old.id},
                   {"step 1": "skipped", "Call Subproc/upload": "skipped"})
    job.status, job.outcome, job.finish = "running", None, None
    call = job.steps[1]
    return World(store=store, old_job=old, job=job, top_step=job.steps[0], call_step=call,
                 inner_step=call.children[1])


@pytest.fixture
def world() -> World:
    return build_world()


def _error(fn, *args, **kwargs) -> CommanderError:
    with pytest.raises(CommanderError) as caught:
        fn(*args, **kwargs)
    return caught.value


# ------------------------------------------------------------------------------------------ path syntax


def test_path_segments_split_on_slashes_and_bracketed_keys():
    assert parse_path("/jobs[42]/jobSteps[Call Subproc]/outcome") == (
        True, ["jobs", "42", "jobSteps", "Call Subproc", "outcome"])
    assert parse_path("myJob/report-urls[http://x/y]") == (False, ["myJob", "report-urls", "http://x/y"])
    assert parse_path("/myJob/step 1//x/") == (True, ["myJob", "step 1", "x"])


def test_unbalanced_bracket_in_a_path_is_a_clear_error(world):
    err = _error(get_property, world.step_ctx(), "/myJob/jobSteps[Call Subproc/outcome")
    assert err.code == "InvalidPropertyName"
    assert "/myJob/jobSteps[Call Subproc/outcome" in err.message and "no matching ']'" in err.message


# ------------------------------------------------------------------------------------------ absolute paths


def test_project_paths_read_custom_and_intrinsic_properties(world):
    ctx = Context(world.store)
    assert get_property(ctx, "/projects/Shop/level") == "project"
    assert get_property(ctx, "/projects/Shop/projectName") == "Shop"
    assert get_property(ctx, "/projects/Shop/description") == "the shop"
    assert get_property(ctx, "/projects/Shop/procedures/Build/level") == "procedure"
    assert get_property(ctx, "/projects/Shop/procedures/Build/description") == "builds it"
    assert get_property(ctx, "/projects/Shop/procedures/Build/steps/step 3/command") == "make check"
    assert get_property(ctx, "/projects/Shop/procedures/Build/steps/step 3/errorHandling") == "ignore"
    err = _error(get_property, ctx, "/projects/Nope/level")
    assert err.code == "NoSuchProperty" and "'Nope'" in err.message


def test_job_paths_by_id_and_by_name_read_intrinsics_parameters_and_custom(world):
    ctx = Context(world.store)
    old = world.old_job
    old.properties.set_value("summary", "all good")
    for ref in (f"/jobs/{old.id}", "/jobs/job_1", f"/jobs[{old.id}]"):
        assert get_property(ctx, f"{ref}/jobId") == old.id
        assert get_property(ctx, f"{ref}/jobName") == "job_1"
    expected = {"status": "completed", "outcome": "success", "projectName": "Shop", "procedureName": "Build",
                "launchedByUser": "alice", "start": "2024-01-31T10:00:00.000Z",
                "finish": "2024-01-31T10:05:00.000Z", "branch": "main", "summary": "all good"}
    for name, value in expected.items():
        assert get_property(ctx, f"/jobs/job_1/{name}") == value, name
    assert get_property(ctx, "/jobs/job_2/finish") == ""  # still running


def test_job_step_paths_walk_top_level_steps_then_subprocedure_children(world):
    ctx = Context(world.store)
    old_id = world.old_job.id
    assert get_property(ctx, f"/jobs/{old_id}/jobSteps/step 1/outcome") == "success"
    assert get_property(ctx, f"/jobs/{old_id}/jobSteps/Call Subproc/jobSteps/upload/outcome") == "success"
    assert get_property(ctx, f"/jobs/{old_id}/jobSteps/Call Subproc/jobSteps/verify/outcome") == "error"
    assert get_property(ctx, f"/jobs[{old_id}]/jobSteps[Call Subproc]/jobSteps[verify]/outcome") == "error"
    err = _error(get_property, ctx, f"/jobs/{old_id}/jobSteps/verify/outcome")  # not a top-level step
    assert err.code == "NoSuchProperty" and "'verify'" in err.message


def test_job_step_by_id_exposes_its_intrinsics(world):
    js = world.old_job.steps[0]
    ctx = Context(world.store)
    expected = {"jobStepId": js.id, "stepName": "step 1", "status": "completed", "outcome": "success",
                "exitCode": "0", "jobId": world.old_job.id, "jobName": "job_1", "projectName": "Shop",
                "procedureName": "Build", "resourceName": "local", "condition": "$[/javascript true]",
                "command": "make", "shell": "", "errorHandling": "failProcedure", "alwaysRun": "0"}
    for name, value in expected.items():
        assert get_property(ctx, f"/jobSteps/{js.id}/{name}") == value, name
    assert get_property(ctx, f"/jobSteps/{world.old_job.steps[2].id}/alwaysRun") == "1"


def test_parent_of_a_job_step_is_the_call_step_and_absent_at_top_level(world):
    ctx = Context(world.store)
    inner = world.inner_step
    assert get_property(ctx, f"/jobSteps/{inner.id}/parent/stepName") == "Call Subproc"
    assert get_property(ctx, f"/jobSteps/{inner.id}/parent/jobSteps/upload/outcome") == "skipped"
    # topLevelParent default "job": the parent of a top-level step is the job, as /myParent is
    assert get_property(ctx, f"/jobSteps/{world.top_step.id}/parent/jobName") == world.job.name
    world.store.settings.top_level_parent = "none"
    err = _error(get_property, ctx, f"/jobSteps/{world.top_step.id}/parent/stepName")
    assert err.code == "NoSuchProperty" and "'parent'" in err.message


def test_a_call_steps_actual_parameters_read_as_its_properties(world):
    ctx = Context(world.store)
    assert get_property(ctx, f"/jobSteps/{world.call_step.id}/target") == "prod"
    assert get_property(world.step_ctx(), "/myJob/jobSteps[Call Subproc]/region") == "eu"


def test_server_users_and_plugin_paths(world):
    ctx = Context(world.store)
    assert get_property(ctx, "/server/serverLevel") == "server"
    assert get_property(ctx, "/users/alice/fullUserName") == "Alice Example"
    assert get_property(ctx, "/plugins/EC-Resume/projectName") == "EC-Resume-1.2.0"
    assert get_property(ctx, "/plugins/EC-Resume/project/resume/doneOutcomes") == "success"
    assert get_property(ctx, "/plugins/EC-Resume/project/projectName") == "EC-Resume-1.2.0"


def test_plugin_key_finds_only_the_promoted_version(world):
    ctx = Context(world.store)
    older = Plugin(key="EC-Resume", version="1.1.0", promoted=False)
    world.store.plugins[older.name] = older
    assert get_property(ctx, "/plugins/EC-Resume/projectName") == "EC-Resume-1.2.0"
    world.store.plugins["EC-Resume-1.2.0"].promoted = False
    err = _error(get_property, ctx, "/plugins/EC-Resume/projectName")
    assert err.code == "NoSuchProperty" and "EC-Resume" in err.message


# ------------------------------------------------------------------------------------------ shortcuts


def test_my_shortcuts_inside_a_subprocedure(world):
    ctx = world.step_ctx()  # job_2 / Call Subproc / verify
    assert get_property(ctx, "/myJob/jobName") == "job_2"
    assert get_property(ctx, "/myJobStep/stepName") == "verify"
    assert get_property(ctx, "/myParent/stepName") == "Call Subproc"
    assert get_property(ctx, "/myParent/jobSteps/upload/outcome") == "skipped"
    assert get_property(ctx, "/myCall/target") == "prod"
    assert get_property(ctx, "/myProject/level") == "project"
    assert get_property(ctx, "/myProcedure/deployLevel") == "deploy procedure"  # owner of the step: Deploy
    assert get_property(ctx, "/myProcedure/procedureName") == "Deploy"
    assert get_property(ctx, "/myUser/userName") == "alice"
    assert get_property(ctx, "/myStep/command") == "curl"


def test_my_shortcuts_at_the_top_level_of_a_job(world):
    ctx = world.step_ctx(world.top_step)
    assert get_property(ctx, "/myParent/jobName") == "job_2"  # the job itself
    assert get_property(ctx, "/myCall/jobToRestart") == world.old_job.id  # the job's own parameters
    assert get_property(ctx, "/myProcedure/procedureName") == "Build"
    err = _error(get_property, Context(world.store), "/myJob/jobName")
    assert err.code == "NoSuchProperty" and "'myJob' names nothing in this context" in err.message


def test_relative_paths_may_start_with_a_shortcut(world):
    world.job.properties.set_value("summary", "resumed")
    assert get_property(world.step_ctx(), "myJob/summary") == "resumed"
    assert get_property(world.step_ctx(), "myJob/jobSteps[step 1]/outcome") == "skipped"


# ------------------------------------------------------------------------------------------ relative names


def test_relative_names_resolve_innermost_first(world):
    """Step custom > enclosing call parameters > job (parameters, custom, intrinsic) > procedure > project."""
    ctx = world.step_ctx()
    world.store.project("Shop").properties.set_value("who", "project")
    assert get_property(ctx, "who") == "project"
    world.store.procedure("Shop", "Deploy").properties.set_value("who", "procedure")
    assert get_property(ctx, "who") == "procedure"
    world.job.properties.set_value("who", "job custom")
    assert get_property(ctx, "who") == "job custom"
    world.job.actual_parameters["who"] = "job parameter"
    assert get_property(ctx, "who") == "job parameter"
    world.call_step.call_parameters["who"] = "call parameter"
    assert get_property(ctx, "who") == "call parameter"
    world.inner_step.properties.set_value("who", "step custom")
    assert get_property(ctx, "who") == "step custom"


def test_relative_names_see_every_enclosing_call_innermost_first(world):
    """verify becomes a call too; a step under it sees verify's parameters, then Call Subproc's."""
    verify = world.inner_step
    verify.called_project, verify.called_procedure = "Shop", "Deploy"
    verify.call_parameters.update(target="staging")
    deep = _run_step(world.store, world.job, verify, Step("upload"), world.store.procedure("Shop", "Deploy"),
                     None)
    ctx = world.step_ctx(deep)
    assert get_property(ctx, "target") == "staging"
    assert get_property(ctx, "region") == "eu"  # only the outer call has it
    assert get_property(ctx, "/myCall/target") == "staging"
    assert get_property(ctx, "/myParent/parent/stepName") == "Call Subproc"


def test_relative_names_reach_intrinsics_of_the_job_and_the_step(world):
    ctx = world.step_ctx()
    assert get_property(ctx, "jobName") == "job_2"
    assert get_property(ctx, "jobStepId") == world.inner_step.id
    assert get_property(ctx, "stepName") == "verify"


def test_a_subprocedure_parameter_is_not_shadowed_by_a_step_intrinsic(world):
    world.call_step.call_parameters["resourceName"] = "deploy-agent"
    assert get_property(world.step_ctx(), "resourceName") == "deploy-agent"
    assert get_property(world.step_ctx(world.top_step), "resourceName") == "local"


def test_missing_relative_name_says_no_match_in_any_context(world):
    err = _error(get_property, world.step_ctx(), "nothingLikeThis")
    assert err.code == "NoSuchProperty"
    assert "nothingLikeThis" in err.message and "Found no match in any context" in err.message


def test_custom_names_are_case_insensitive_intrinsics_case_sensitive(world):
    ctx = world.step_ctx()
    world.job.properties.set_value("Summary", "x")
    assert get_property(ctx, "/myJob/SUMMARY") == "x"
    assert get_property(ctx, "/myJob/JOBTORESTART") == world.old_job.id  # parameters are properties too
    assert _error(get_property, ctx, "/myJob/JOBNAME").code == "NoSuchProperty"


# ------------------------------------------------------------------------------------------ expansion


def test_text_outside_references_is_kept(world):
    assert expand(world.step_ctx(), "echo $[jobName] ] [x] $ [y]") == "echo job_2 ] [x] $ [y]"
    assert expand(world.step_ctx(), "no references") == "no references"


def test_nested_references_expand_inner_first(world):
    world.job.properties.set_value("x_prod", "production value")
    ctx = world.step_ctx()
    assert expand(ctx, "$[/myJob/x_$[target]]") == "production value"
    assert expand(ctx, "$[/myJob/jobSteps[$[/myParent/stepName]]/outcome]") == ""


def test_stored_values_expand_recursively_unless_raw_or_not_expandable(world):
    ctx = world.step_ctx()
    set_property(ctx, "/myJob/greeting", "hello $[/myJob/who]")
    set_property(ctx, "/myJob/who", "$[/myJobStep/stepName] of $[jobName]")
    assert get_property(ctx, "/myJob/greeting") == "hello verify of job_2"
    assert expand(ctx, "[$[/myJob/greeting]]") == "[hello verify of job_2]"
    assert get_property(ctx, "/myJob/greeting", expand=False) == "hello $[/myJob/who]"
    set_property(ctx, "/myJob/literal", "cost: $[price]", expandable=False)
    assert get_property(ctx, "/myJob/literal") == "cost: $[price]"
    assert get_property_record(ctx, "/myJob/literal")["expandable"] == "0"


def test_a_reference_cycle_is_a_clear_error_not_a_hang(world):
    ctx = world.step_ctx()
    set_property(ctx, "/myJob/a", "<$[/myJob/b]>")
    set_property(ctx, "/myJob/b", "<$[/myJob/a]>")
    err = _error(expand, ctx, "$[/myJob/a]")
    assert err.code == "ExpansionError"
    assert f"{MAX_EXPANSION_DEPTH} references deep" in err.message


def test_unbalanced_reference_is_a_clear_error(world):
    err = _error(expand, world.step_ctx(), "echo $[/myJob/jobName and more")
    assert err.code == "ExpansionError"
    assert "Unbalanced '$['" in err.message and "echo $[/myJob/jobName and more" in err.message


def test_missing_property_in_a_reference_fails_the_expansion(world):
    err = _error(expand, world.step_ctx(), "echo $[/myJob/nope]")
    assert err.code == "NoSuchProperty" and "/myJob/nope" in err.message


def test_increment_creates_at_one_then_counts(world):
    ctx = world.step_ctx()
    assert expand(ctx, "$[/increment /myProcedure/count]") == "1"
    assert expand(ctx, "build #$[/increment /myProcedure/count]") == "build #2"
    assert get_property(ctx, "/projects/Shop/procedures/Deploy/count") == "2"
    set_property(ctx, "/myJob/word", "abc")
    err = _error(expand, ctx, "$[/increment /myJob/word]")
    assert err.code == "InvalidPropertyValue" and "/myJob/word" in err.message and "integer" in err.message


def test_timestamp_default_and_java_patterns(world):
    ctx = world.step_ctx()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", expand(ctx, "$[/timestamp]"))
    assert re.fullmatch(r"\d{8}-\d{6}\.\d{3}", expand(ctx, "$[/timestamp yyyyMMdd-HHmmss.SSS]"))


def test_java_timestamp_pattern_fields():
    moment = datetime(2024, 3, 5, 14, 7, 9, 45000, tzinfo=timezone(timedelta(hours=1)))
    assert format_java_timestamp("yyyy-MM-dd HH:mm:ss.SSS", moment) == "2024-03-05 14:07:09.045"
    assert format_java_timestamp("yy/M/d h:mm a", moment) == "24/3/5 2:07 PM"
    assert format_java_timestamp("EEE, d MMM yyyy 'at' HH''mm Z", moment) == "Tue, 5 Mar 2024 at 14'07 +0100"
    err = _error(format_java_timestamp, "yyyy-qq", moment)
    assert err.code == "InvalidArgument" and "'q'" in err.message


# ------------------------------------------------------------------------------------------ writes


def test_set_property_creates_missing_sheets(world):
    ctx = world.step_ctx()
    url = "/commander/runProcedure.php?projectName=Shop"
    set_property(ctx, "/myJob/report-urls/Restart this job", url)
    assert get_property(Context(world.store), "/jobs/job_2/report-urls/Restart this job") == url
    names = [r["propertyName"] for r in get_properties(ctx, "/myJob/report-urls")]
    assert names == ["Restart this job"]


def test_relative_set_lands_on_the_job_step(world):
    ctx = world.step_ctx()
    set_property(ctx, "summary", "uploaded 3 files")
    assert get_property(ctx, "/myJobStep/summary") == "uploaded 3 files"
    by_id = f"/jobSteps/{world.inner_step.id}/summary"
    assert get_property(Context(world.store), by_id) == "uploaded 3 files"


def test_a_step_may_set_its_own_outcome_but_only_to_a_real_outcome(world):
    ctx = world.step_ctx()
    set_property(ctx, "/myJobStep/outcome", "warning")
    assert world.inner_step.outcome_override == "warning"
    assert get_property(ctx, "/myJobStep/outcome") == "warning"  # still running: reads what it asked for
    world.inner_step.outcome = "error"
    assert get_property(ctx, "/myJobStep/outcome") == "error"  # recorded outcome wins once recorded
    err = _error(set_property, ctx, "/myJobStep/outcome", "great")
    assert err.code == "InvalidPropertyValue" and "'great'" in err.message and "success" in err.message


def test_other_intrinsics_are_read_only(world):
    ctx = world.step_ctx()
    for path in ("/myJob/jobName", "/myJobStep/stepName", "/myProject/projectName"):
        err = _error(set_property, ctx, path, "x")
        assert err.code == "InvalidPropertyValue" and path in err.message and "read-only" in err.message
    assert get_property(ctx, "/myJob/jobName") == "job_2"


def test_setting_a_job_parameter_overwrites_what_it_reads(world):
    ctx = world.step_ctx()
    set_property(ctx, "/myJob/branch", "release")
    assert get_property(ctx, "/myJob/branch") == "release"


def test_create_property_refuses_duplicates_and_makes_sheets(world):
    ctx = world.step_ctx()
    create_property(ctx, "/myJob/outputs", sheet=True)
    rec = create_property(ctx, "/myJob/outputs/artifact", "app.tgz", expandable=False)
    assert rec["value"] == "app.tgz" and rec["expandable"] == "0"
    for path in ("/myJob/outputs/ARTIFACT", "/myJob/jobName", "/myJob/branch"):
        err = _error(create_property, ctx, path, "again")
        assert err.code == "DuplicatePropertyName" and path in err.message


def test_delete_property(world):
    ctx = world.step_ctx()
    set_property(ctx, "/myJob/tmp", "1")
    delete_property(ctx, "/myJob/tmp")
    assert _error(get_property, ctx, "/myJob/tmp").code == "NoSuchProperty"
    assert _error(delete_property, ctx, "/myJob/tmp").code == "NoSuchProperty"
    assert _error(delete_property, ctx, "/myJob/jobName").code == "InvalidPropertyValue"


# ------------------------------------------------------------------------------------------ records


def test_property_and_sheet_records(world):
    ctx = world.step_ctx()
    set_property(ctx, "/myJob/report-urls/Restart", "$[/myJob/jobName]")
    rec = get_property_record(ctx, "/myJob/report-urls/Restart")
    assert rec["propertyName"] == "Restart" and rec["value"] == "job_2" and rec["expandable"] == "1"
    assert rec["propertyId"]
    raw = get_property_record(ctx, "/myJob/report-urls/Restart", expand=False)
    assert raw["value"] == "$[/myJob/jobName]"
    sheet = get_property_record(ctx, "/myJob/report-urls")
    assert sheet["propertyName"] == "report-urls" and sheet["propertySheetId"] and "value" not in sheet


def test_get_properties_lists_the_context_objects_own_sheet(world):
    ctx = Context(world.store, job=world.job)
    set_property(ctx, "/myJob/summary", "$[jobName] resumed")
    set_property(ctx, "/myJob/report-urls/Restart", "u")
    records = {r["propertyName"]: r for r in get_properties(ctx, None)}
    assert records["summary"]["value"] == "job_2 resumed"
    assert records["jobToRestart"]["value"] == world.old_job.id  # parameters are listed with the job
    assert "value" not in records["report-urls"] and "propertySheet" not in records["report-urls"]
    raw = {r["propertyName"]: r for r in get_properties(ctx, "/myJob", expand=False, recurse=True)}
    assert raw["summary"]["value"] == "$[jobName] resumed"
    assert raw["report-urls"]["propertySheet"]["property"][0]["value"] == "u"
    err = _error(get_properties, ctx, "/myJob/summary")
    assert "not a property sheet" in err.message
