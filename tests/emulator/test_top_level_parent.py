"""The emulator setting topLevelParent (issue 14): what the parent of a top-level job step is.

`none`: nothing; `job`: the job; `rootStep`: a job step named after the procedure, with an id of its own,
that holds the top-level steps. JavaScript (`myJobStep.parent`) and property paths (`/myJobStep/parent/...`)
see the same parent; `/myJob/jobSteps/<name>` addresses the top-level steps under every value.
Same world as test_properties: job_2 of Shop/Build, at "step 1" (top level) and "Call Subproc/verify".
"""

from __future__ import annotations

from typing import Iterator

import pytest
from conftest import ApiError, ServerApi, find_step, make_procedure

from commander_emulator import javascript
from commander_emulator.context import Context
from commander_emulator.errors import CommanderError
from commander_emulator.expansion import PROPERTY_READER
from commander_emulator.properties import get_property
from tests.emulator.emulator_settings import emulator_setting
from tests.emulator.test_properties import World, build_world


def evaluate(ctx: Context, script: str) -> str:
    return javascript.evaluate(ctx, script, PROPERTY_READER)


def world_with(setting: str) -> World:
    world = build_world()
    world.store.settings.top_level_parent = setting
    return world


def test_none_a_top_level_step_has_no_parent() -> None:
    world = world_with("none")
    ctx = world.step_ctx(world.top_step)
    assert evaluate(ctx, "typeof myJobStep.parent") == "undefined"
    with pytest.raises(CommanderError) as caught:
        get_property(ctx, "/myJobStep/parent/stepName")
    assert caught.value.code == "NoSuchProperty"


def test_job_the_parent_of_a_top_level_step_is_the_job() -> None:
    world = world_with("job")
    ctx = world.step_ctx(world.top_step)
    assert evaluate(ctx, "myJobStep.parent.jobName + ',' + myJobStep.parent.jobId") == f"job_2,{world.job.id}"
    assert evaluate(ctx, "typeof myJobStep.parent.stepName") == "undefined"
    assert get_property(ctx, "/myJobStep/parent/jobName") == "job_2"
    assert get_property(ctx, "/myJobStep/parent/jobSteps/step 1/jobStepId") == world.top_step.id


def test_root_step_holds_the_top_level_steps_with_a_name_and_id_of_its_own() -> None:
    world = world_with("rootStep")
    ctx = world.step_ctx(world.top_step)
    root_id = world.job.root_step_id
    all_ids = {js.id for j in world.store.jobs.values() for js in j.walk()}
    assert root_id not in all_ids and root_id != world.job.id
    # JavaScript and property paths agree on the root step's name, id and children.
    for name, expected in (("stepName", "Build"), ("jobStepId", root_id)):
        assert evaluate(ctx, f"myJobStep.parent.{name}") == expected
        assert get_property(ctx, f"/myJobStep/parent/{name}") == expected
    assert evaluate(ctx, "typeof myJobStep.parent.parent") == "undefined"
    assert get_property(ctx, "/myJobStep/parent/jobSteps/step 1/jobStepId") == world.top_step.id
    assert get_property(ctx, "/myJobStep/parent/steps/step 1/jobStepId") == world.top_step.id
    assert evaluate(ctx, "getProperty(myJobStep.parent, '/myJob/jobName')") == "job_2"
    assert get_property(Context(world.store), f"/jobSteps/{root_id}/stepName") == "Build"


def test_root_step_nested_steps_climb_to_it() -> None:
    world = world_with("rootStep")
    ctx = world.step_ctx(world.inner_step)
    walk = ("var names = ''; var s = myJobStep; while (s && s.stepName) "
            "{ names = s.stepName + (names ? '/' : '') + names; s = s.parent; } names")
    assert evaluate(ctx, walk) == "Build/Call Subproc/verify"
    assert get_property(ctx, "/myJobStep/parent/parent/stepName") == "Build"


@pytest.mark.parametrize("setting", ["none", "job", "rootStep"])
def test_job_steps_address_the_top_level_steps_under_every_setting(setting: str) -> None:
    world = world_with(setting)
    ctx = world.step_ctx(world.inner_step)
    assert get_property(ctx, "/myJob/jobSteps/Call Subproc/jobSteps/verify/jobStepId") == world.inner_step.id
    assert get_property(ctx, f"/jobs/{world.old_job.id}/jobSteps/step 1/outcome") == "success"
    with pytest.raises(CommanderError):
        get_property(ctx, "/myJob/jobSteps/Build/jobSteps/step 1/jobStepId")  # the root step is not a step


def test_root_step_is_not_shown_under_other_settings() -> None:
    world = world_with("job")
    with pytest.raises(CommanderError) as caught:
        get_property(Context(world.store), f"/jobSteps/{world.job.root_step_id}/stepName")
    assert caught.value.code == "NoSuchProperty"


# ------------------------------------------------------------------------------ through the server

PARENT_NAME = ('$[/javascript var p = myJobStep.parent; '
               'p ? (p.stepName || "job " + p.jobName) : "none"]')


@pytest.fixture
def top_level_parent(api: ServerApi, request: pytest.FixtureRequest) -> Iterator[str]:
    with emulator_setting(api, "topLevelParent", request.param) as value:
        yield value


@pytest.mark.emulator_only
@pytest.mark.parametrize("top_level_parent, outcome",
                         [("none", "skipped"), ("job", "success"), ("rootStep", "success")],
                         indirect=["top_level_parent"])
def test_a_running_step_sees_the_setting(api: ServerApi, top_level_parent: str, outcome: str) -> None:
    condition = '$[/javascript myJobStep.parent ? "true" : "false"]'
    project, procedure = make_procedure(api.call, {"top": {"command": "exit 0", "condition": condition}})
    job = api.run_and_wait(project, procedure)
    top = find_step(job, "top")
    assert top["outcome"] == outcome
    name = api.call("expandString", value=PARENT_NAME, jobStepId=top["jobStepId"])["value"]
    assert name == {"none": "none", "job": "job " + job["jobName"], "rootStep": procedure}[top_level_parent]


@pytest.mark.emulator_only
def test_a_bad_setting_is_refused_with_one_line(api: ServerApi) -> None:
    with pytest.raises(ApiError) as caught:
        api.control("PUT", "settings", json={"topLevelParent": "parent"})
    assert caught.value.status == 400 and "topLevelParent" in caught.value.message
    assert "none or job or rootStep" in caught.value.message and "\n" not in caught.value.message
    assert api.control("GET", "settings")["topLevelParent"] in ("none", "job", "rootStep")
