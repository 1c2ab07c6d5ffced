"""`$[/javascript ...]` in the emulator's embedded engine, as CD/RO run conditions and parameters use it.

Same world as test_properties: job_2 restarts job_1 (jobToRestart) and is at "Call Subproc/verify".
"""

from __future__ import annotations

import pytest

from commander_emulator import javascript
from commander_emulator.context import Context
from commander_emulator.errors import CommanderError
from commander_emulator.expansion import PROPERTY_READER, expand
from commander_emulator.properties import get_property, set_property
from tests.emulator.test_properties import World, build_world


def evaluate(ctx: Context, script: str) -> str:
    """The script run as `$[/javascript ...]` runs it: reading through the emulator's properties."""
    return javascript.evaluate(ctx, script, PROPERTY_READER)


# The knowledge-base recipe's run condition (KBEC-00160), with its braces balanced.
RESTART_CONDITION = ('$[/javascript getProperty("/jobs/" + myJob.jobToRestart + "/jobSteps/" + '
                     'myJobStep.stepName + "/outcome") != "success"]')


@pytest.fixture
def world() -> World:
    return build_world()


def _script_error(ctx: Context, script: str) -> CommanderError:
    with pytest.raises(CommanderError) as caught:
        evaluate(ctx, script)
    return caught.value


# ------------------------------------------------------------------------------------------ acceptance


def test_restart_condition_skips_a_step_that_succeeded_in_the_restarted_job(world):
    assert expand(world.step_ctx(world.top_step), RESTART_CONDITION) == "false"  # step 1: success in job_1


def test_restart_condition_runs_a_step_that_failed_or_is_missing_there(world):
    step3 = world.job.steps[2]
    world.old_job.steps[2].outcome = "error"
    assert expand(world.step_ctx(step3), RESTART_CONDITION) == "true"
    world.job.actual_parameters["jobToRestart"] = ""  # a first run: nothing to restart
    assert expand(world.step_ctx(world.top_step), RESTART_CONDITION) == "true"
    world.job.actual_parameters["jobToRestart"] = "no-such-job"
    assert expand(world.step_ctx(world.top_step), RESTART_CONDITION) == "true"


def test_restart_condition_for_every_top_level_step(world):
    decisions = [expand(world.step_ctx(js), RESTART_CONDITION) for js in world.job.steps]
    # job_1: step 1 success, Call Subproc error, step 3 success
    assert decisions == ["false", "true", "false"]


# ------------------------------------------------------------------------------------------ values


@pytest.mark.parametrize("script, printed", [
    ("undefined", ""), ("null", ""), ("1 == 1", "true"), ("1 == 2", "false"), ("2.0", "2"),
    ("7 / 2", "3.5"), ("'a' + 'b'", "ab"), ("var x = 3; if (x > 2) 'big'", "big"),
    ("Math.max(2, 9)", "9"), ("JSON.stringify({a: [1, 2]})", '{"a":[1,2]}'),
    ("// a comment first\n40 + 2", "42"), ("40 + 2 // a trailing comment", "42"),
])
def test_value_is_the_last_expression_printed_the_cd_ro_way(world, script, printed):
    assert evaluate(world.step_ctx(), script) == printed


def test_script_inside_an_expansion_sees_inner_references_expanded_first(world):
    ctx = world.step_ctx()
    assert expand(ctx, "$[/javascript '$[/myJobStep/stepName]'.toUpperCase()]") == "VERIFY"
    assert expand(ctx, "ok=$[/javascript [1, 2, 3].length]!") == "ok=3!"


# ------------------------------------------------------------------------------------------ globals


def test_global_objects_read_parameters_custom_properties_and_intrinsics(world):
    ctx = world.step_ctx()
    world.job.properties.ensure_sheet("outputs").set_value("artifact", "app.tgz")
    assert evaluate(ctx, "myJob.jobToRestart") == world.old_job.id
    assert evaluate(ctx, "myJob.jobName") == "job_2"
    assert evaluate(ctx, "myJob.outputs.artifact") == "app.tgz"
    assert evaluate(ctx, "typeof myJob.outputs") == "object"
    assert evaluate(ctx, 'myJob.jobSteps["step 1"].outcome') == "skipped"
    assert evaluate(ctx, "myJobStep.stepName + '<' + myJobStep.parent.stepName") == "verify<Call Subproc"
    # the call step's parent: the job, as /myParent is at the top level (topLevelParent default "job")
    assert evaluate(ctx, "myJobStep.parent.parent.jobName") == "job_2"
    world.store.settings.top_level_parent = "none"
    assert evaluate(ctx, "myJobStep.parent.parent === undefined") == "true"
    assert evaluate(ctx, "myCall.target") == "prod"
    assert evaluate(ctx, "myProject.level + '/' + myProcedure.procedureName") == "project/Deploy"
    assert evaluate(ctx, "myUser.fullUserName") == "Alice Example"


def test_missing_properties_read_as_undefined(world):
    ctx = world.step_ctx()
    assert evaluate(ctx, "typeof myJob.nothingHere") == "undefined"
    assert evaluate(ctx, "typeof getProperty('/myJob/nothingHere')") == "undefined"
    assert evaluate(ctx, "typeof getProperty('/jobs/no-such-job/jobSteps/x/outcome')") == "undefined"
    assert evaluate(ctx, "typeof getProperty(myJobStep, 'nothingHere')") == "undefined"
    assert evaluate(ctx, "'jobName' in myJob") == "true"
    assert evaluate(ctx, "'nothingHere' in myJob") == "false"


def test_no_job_step_in_context_means_no_my_job_step(world):
    ctx = Context(world.store, job=world.job, project_name="Shop", procedure_name="Build")
    assert evaluate(ctx, "typeof myJobStep") == "undefined"
    assert evaluate(ctx, "myJob.jobName") == "job_2"


def test_get_property_resolves_relative_to_a_given_object(world):
    ctx = world.step_ctx()
    assert evaluate(ctx, "getProperty('/myJobStep/stepName')") == "verify"
    assert evaluate(ctx, "getProperty(myJobStep.parent, '/myJobStep/stepName')") == "Call Subproc"
    assert evaluate(ctx, "getProperty(myJobStep.parent, '/myParent/jobName')") == "job_2"
    assert evaluate(ctx, "getProperty(myJobStep.parent, 'target')") == "prod"
    assert evaluate(ctx, "getProperty('target')") == "prod"  # the enclosing call's parameter


def test_stored_values_read_from_a_script_are_expanded(world):
    ctx = world.step_ctx()
    set_property(ctx, "/myJob/label", "$[jobName]-$[/myJobStep/stepName]")
    assert evaluate(ctx, "myJob.label") == "job_2-verify"
    assert evaluate(ctx, "getProperty('/myJob/label')") == "job_2-verify"


def test_sheets_and_collections_can_be_enumerated(world):
    ctx = world.step_ctx()
    script = "var names = []; for (var n in myJob.jobSteps) names.push(n); names.join(',')"
    assert evaluate(ctx, script) == "step 1,Call Subproc,step 3"
    assert evaluate(ctx, "Object.keys(myCall).join(',')") == "target,region"


# ------------------------------------------------------------------------------------------ read-only


@pytest.mark.parametrize("script", ["myJob.jobToRestart = 'x'", "myJob.newThing = 1",
                                    "delete myJob.jobToRestart"])
def test_scripts_cannot_change_properties(world, script):
    ctx = world.step_ctx()
    err = _script_error(ctx, script)
    assert err.code == "InvalidScript" and "read-only" in err.message
    assert get_property(ctx, "/myJob/jobToRestart") == world.old_job.id
    assert world.job.properties.get("newThing") is None


def test_host_objects_outside_cd_ro_are_not_there(world):
    script = "[typeof process, typeof require, typeof module, typeof exports, typeof console].join()"
    assert evaluate(world.step_ctx(), script) == ",".join(["undefined"] * 5)  # as in Rhino


# ------------------------------------------------------------------------------------------ errors


def test_syntax_error_is_an_invalid_script_error(world):
    err = _script_error(world.step_ctx(), "if (myJob.x { 'y' }")
    assert err.code == "InvalidScript"
    assert "SyntaxError" in err.message and "if (myJob.x { 'y' }" in err.message


def test_runtime_error_is_an_invalid_script_error(world):
    err = _script_error(world.step_ctx(), "noSuchVariable.x")
    assert err.code == "InvalidScript" and "ReferenceError" in err.message and "noSuchVariable" in err.message


def test_get_property_with_a_non_object_first_argument_is_a_script_error(world):
    world.store.settings.top_level_parent = "none"  # a top-level step's parent is then undefined
    err = _script_error(world.step_ctx(world.top_step), "getProperty(myJobStep.parent, 'stepName')")
    assert err.code == "InvalidScript" and "first argument is not a CD/RO object" in err.message


def test_reference_cycle_through_a_script_stops_with_the_expansion_error(world):
    ctx = world.step_ctx()
    script = "try { getProperty('/myJob/loop') } catch (e) { 'caught' }"
    set_property(ctx, "/myJob/loop", f"$[/javascript {script}]")
    with pytest.raises(CommanderError) as caught:
        expand(ctx, "$[/myJob/loop]")
    assert caught.value.code == "ExpansionError"


# ------------------------------------------------------------------------------------------ issue 14


def test_a_read_that_fails_throws_an_exception_the_script_can_catch(world):
    ctx = world.step_ctx()
    set_property(ctx, "/myJob/broken", "$[/myJob/noSuchProperty]")
    caught = "catch (e) { 'caught ' + e.code }"
    assert evaluate(ctx, f"try {{ getProperty('/jobs/j/jobSteps/[lead/outcome'); 'read' }} {caught}"
                    ) == "caught InvalidPropertyName"
    assert evaluate(ctx, f"try {{ myJob.broken; 'read' }} {caught}") == "caught NoSuchProperty"
    assert evaluate(ctx, "try { getProperty('/myJob/broken') } catch (e) { e instanceof Error }") == "true"


def test_a_failed_read_the_script_does_not_catch_fails_with_the_servers_error(world):
    err = _script_error(world.step_ctx(), "getProperty('/jobs/j/jobSteps/[lead/outcome')")
    assert err.code == "InvalidPropertyName" and "[lead" in err.message


def test_a_guarded_run_condition_survives_a_job_to_restart_that_fails_to_expand(world):
    world.job.actual_parameters["jobToRestart"] = "$[/myJob/x]"
    condition = ("$[/javascript (function () { var ref; try { ref = getProperty('/myJob/jobToRestart'); } "
                 "catch (e) { return 'true'; } return ref ? 'false' : 'true'; }())]")
    assert expand(world.step_ctx(world.top_step), condition) == "true"


def test_an_unset_intrinsic_is_null_and_a_missing_property_undefined(world):
    ctx = world.step_ctx()  # job_2 still runs: it has no finish and no outcome yet
    assert evaluate(ctx, "myJob.finish === null && myJob.outcome === null") == "true"
    assert evaluate(ctx, "getProperty('/myJob/finish') === null && 'finish' in myJob") == "true"
    assert evaluate(ctx, "myJob.nothingHere === undefined && getProperty('/myJob/nothingHere') === undefined"
                    ) == "true"
    assert evaluate(ctx, "myJob.jobName === null || myJob.jobName === undefined") == "false"
    assert evaluate(ctx, f"typeof getProperty('/jobs/{world.old_job.id}/finish')") == "string"
    assert get_property(ctx, "/myJob/finish") == ""  # a property path reads it as empty text


def test_steps_is_an_alias_of_job_steps_on_jobs_and_job_steps(world):
    ctx = world.step_ctx()
    old = world.old_job.id
    assert get_property(ctx, f"/jobs/{old}/steps/Call Subproc/steps/verify/outcome") == "error"
    assert get_property(ctx, "/myJob/steps/Call Subproc/jobSteps/verify/jobStepId") == world.inner_step.id
    assert evaluate(ctx, 'myJob.steps["Call Subproc"].steps.verify.jobStepId') == world.inner_step.id
    assert evaluate(ctx, "myJobStep.parent.steps.upload.outcome") == "skipped"
