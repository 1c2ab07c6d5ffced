"""The pure decisions of EnableResume / DisableResume (lib/ec_resume/enable_resume.py) and the DSL diff of
the dry run (procedure_dsl.py): what is added, what is refused, what is left alone, and that undoing the
record gives back the very definition it started from."""

from __future__ import annotations

import urllib.parse
from dataclasses import replace

import pytest
from ec_resume.adoption import AdoptionRequest, enable
from ec_resume.enable_resume import (
    CARRY_OVER_STEP,
    PLUGIN_PROJECT_PATH,
    RESTART_LINK_STEP,
    WRAPPED_CONDITION,
    AddParameter,
    AddStep,
    AdoptionInputError,
    EnableOptions,
    EnableRecord,
    ParameterDef,
    ProcedureDef,
    SetCondition,
    StepDef,
    apply_edits,
    plan_disable,
    plan_enable,
)
from ec_resume.procedure_dsl import dsl_diff, groovy_string, render
from ec_resume.report import PLUGIN_RUN_CONDITION

PLUGIN = (("subproject", PLUGIN_PROJECT_PATH),)
NO_OPTIONS = EnableOptions()


def proc(*steps: StepDef, params=()) -> ProcedureDef:
    return ProcedureDef("Shop", "Release", (("description", "d"),), tuple(params), tuple(steps))


def cmd(name: str, condition=None, **fields) -> StepDef:
    pairs = (("command", f"echo {name}"),) + tuple(fields.items())
    if condition is not None:
        pairs += (("condition", condition),)
    return StepDef(name, pairs)


def enabled(definition: ProcedureDef, options: EnableOptions = NO_OPTIONS) -> ProcedureDef:
    """The definition after EnableResume, as the server would hold it, with its record."""
    plan = plan_enable(definition, options)
    return replace(apply_edits(definition, plan.edits), record=plan.record,
                   has_sheet=definition.has_sheet or bool(plan.edits))


def test_a_plain_procedure_gets_the_parameter_carry_over_first_conditions_and_the_link_last() -> None:
    plan = plan_enable(proc(cmd("build"), cmd("deploy")), EnableOptions())
    assert plan.edits == (AddParameter(), AddStep(CARRY_OVER_STEP, "CarryOver", before="build"),
                          AddStep(RESTART_LINK_STEP, "CreateRestartLink", always_run=True),
                          SetCondition("build", PLUGIN_RUN_CONDITION),
                          SetCondition("deploy", PLUGIN_RUN_CONDITION))
    after = apply_edits(plan.procedure, plan.edits)
    assert [s.name for s in after.steps] == [CARRY_OVER_STEP, "build", "deploy", RESTART_LINK_STEP]
    assert [p.name for p in after.parameters] == ["jobToRestart"]


def test_a_second_run_changes_nothing() -> None:
    once = enabled(proc(cmd("build"), cmd("test", "$[go]")), EnableOptions(wrap=True))
    again = plan_enable(once, EnableOptions(wrap=True))
    assert again.edits == () and not again.changed and again.record == once.record


def test_own_conditions_are_refused_unless_wrapped_or_excluded() -> None:
    definition = proc(cmd("build"), cmd("migrate", "$[runMigrations]"), cmd("docs", "0"))
    refused = plan_enable(definition, EnableOptions())
    assert refused.refusals and "'migrate', 'docs' have run conditions of their own" in refused.refusals[0]
    assert plan_enable(definition, EnableOptions(exclude=("migrate", "docs"))).refusals == ()
    wrapped = plan_enable(definition, EnableOptions(wrap=True))
    assert SetCondition("migrate", WRAPPED_CONDITION, keep="$[runMigrations]") in wrapped.edits


def test_an_excluded_step_that_does_not_exist_is_one_line() -> None:
    with pytest.raises(AdoptionInputError) as caught:
        plan_enable(proc(cmd("build")), EnableOptions(exclude=("biuld",)))
    assert "exclude names 'biuld'" in str(caught.value) and "\n" not in str(caught.value)


def test_plugin_calls_and_resumable_steps_are_left_alone() -> None:
    definition = proc(StepDef("carry", (("subprocedure", "CarryOver"),) + PLUGIN),
                      StepDef("deploy", (("subprocedure", "ResumableStep"),) + PLUGIN),
                      cmd("done", PLUGIN_RUN_CONDITION),
                      StepDef("links", (("subprocedure", "CreateRestartLink"),
                                        ("subproject", "EC-Resume-1.0.0"))))
    plan = plan_enable(definition, EnableOptions())
    assert plan.edits == (AddParameter(),)


def test_a_parameter_with_a_default_is_refused() -> None:
    definition = proc(cmd("build"), params=[ParameterDef("jobToRestart", (("defaultValue", "job_1"),))])
    assert "every run would resume that job" in plan_enable(definition, EnableOptions()).refusals[0]


def test_a_subprocedure_gets_conditions_only() -> None:
    plan = plan_enable(proc(cmd("a"), StepDef("call", (("subprocedure", "Lib"),))), EnableOptions(),
                       top_level=False)
    assert plan.edits == (SetCondition("a", PLUGIN_RUN_CONDITION), SetCondition("call", PLUGIN_RUN_CONDITION))
    assert plan.calls == (("", "Lib"),)


def test_whitespace_only_condition_counts_as_none_and_comes_back() -> None:
    definition = proc(cmd("a", "  "))
    after = enabled(definition)
    assert after.step("a").condition == PLUGIN_RUN_CONDITION
    undo = plan_disable(after)
    assert apply_edits(after, undo.edits).steps == definition.steps


@pytest.mark.parametrize("options", [EnableOptions(), EnableOptions(wrap=True, exclude=("x",))])
def test_disable_gives_back_the_definition_exactly(options: EnableOptions) -> None:
    definition = proc(cmd("x", "$[a]"), cmd("build", timeLimit="5"), cmd("y", "$[/javascript 1]"),
                      params=[ParameterDef("version", (("defaultValue", "1"),))])
    if not options.wrap:
        definition = replace(definition, steps=tuple(s for s in definition.steps if s.condition is None))
    after = enabled(definition, options)
    assert after != definition
    undo = plan_disable(after)
    back = apply_edits(after, undo.edits)
    assert (back.steps, back.parameters) == (definition.steps, definition.parameters)
    assert undo.record is None


def test_disable_leaves_a_condition_changed_since_alone() -> None:
    after = enabled(proc(cmd("build")))
    edited = replace(after, steps=tuple(replace(s, fields=(("condition", "mine"),))
                                        if s.name == "build" else s for s in after.steps))
    undo = plan_disable(edited)
    assert not any(isinstance(e, SetCondition) for e in undo.edits)
    assert any("changed after EnableResume" in note for note in undo.notes)


def test_disable_without_a_record_does_nothing() -> None:
    undo = plan_disable(proc(cmd("build")))
    assert undo.edits == () and "nothing to undo" in undo.notes[0]


def test_record_round_trips_through_json() -> None:
    record = enabled(proc(cmd("a", "$[x]")), EnableOptions(wrap=True)).record
    assert record is not None and EnableRecord.from_json(record.to_json()) == record
    with pytest.raises(AdoptionInputError):
        EnableRecord.from_json("{}")


def test_dry_run_diff_shows_the_change_as_dsl() -> None:
    definition = proc(cmd("build", "$[go]"))
    plan = plan_enable(definition, EnableOptions(wrap=True))
    diff = dsl_diff(definition, apply_edits(definition, plan.edits))
    assert "+  step 'EC-Resume carry over', {" in diff
    assert "-    condition = '$[go]'" in diff
    assert "+      property 'originalCondition', value: '$[go]'" in diff
    assert dsl_diff(definition, definition) == ""
    assert render(definition) == render(definition)


def test_groovy_strings_keep_the_text() -> None:
    assert groovy_string("it's $[x]") == "'it\\'s $[x]'"
    assert groovy_string("a\\b\nc") == "'''a\\\\b\nc'''"


def test_the_plugins_own_procedures_are_refused() -> None:
    with pytest.raises(AdoptionInputError):
        plan_enable(replace(proc(cmd("a")), project="EC-Resume-1.0.0"), NO_OPTIONS)


class _DefinitionsOnly:
    """A server holding two projects' definitions, read-only: what a dry run reads."""

    def __init__(self) -> None:
        self.projects = {"Shop": {}, "EC-Git-1.0": {"pluginKey": "EC-Git"}}
        self.steps = {("Shop", "Release"): [{"stepName": "build", "command": "make"},
                                            {"stepName": "checkout", "subprocedure": "Checkout",
                                             "subproject": "EC-Git-1.0"},
                                            {"stepName": "tool", "subprocedure": "Run",
                                             "subproject": "/plugins/EC-Tool/project"}]}

    def call(self, api: str, method: str, path: str, **kwargs):
        from ec_resume.client import NotFound

        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if api == "getProject":
            if parts[1] not in self.projects:
                raise NotFound("NoSuchProject", "no", 404)
            return {"project": self.projects[parts[1]]}
        key = (parts[1], parts[3])
        if key not in self.steps:
            raise NotFound("NoSuchProcedure", "no", 404)
        if api == "getProcedure":
            return {"procedure": {"procedureName": key[1]}}
        return {"step": self.steps[key]}

    def get_formal_parameters(self, project: str, procedure: str):
        return []

    def get_property(self, path: str, expand: bool = True, **locator):
        return None


def test_calls_of_other_plugins_procedures_are_left_alone() -> None:
    outcome = enable(_DefinitionsOnly(), AdoptionRequest("Shop", "Release", EnableOptions(subprocedures=True),
                                                         dry_run=True))
    text = outcome.text()
    assert "note: 'Checkout' is a plugin's procedure (EC-Git-1.0): left as it is" in text
    assert "note: 'Run' is a plugin's procedure (/plugins/EC-Tool/project): left as it is" in text
    assert "Would enable Shop/Release:" in text and "+  step 'EC-Resume carry over', {" in text


def test_a_subprocedure_step_with_its_own_condition_is_refused_without_wrapping() -> None:
    plan = plan_enable(proc(cmd("a", "$[x]")), NO_OPTIONS, top_level=False)
    assert "'a' has a run condition of its own" in plan.refusals[0] and "exclude" not in plan.refusals[0]
