"""One field schema per object kind: the DSL takes every field that createX takes, and both refuse a bad
boolean or enumeration value with the same message.

The calls go through the emulator's dispatcher in-process, the way every wire reaches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Set, Tuple

import pytest

from commander_emulator.dispatch import Dispatcher
from commander_emulator.engine import Engine
from commander_emulator.errors import CommanderError
from commander_emulator.faults import Faults, RequestLog
from commander_emulator.model import (
    FormalOutputParameter,
    FormalParameter,
    Procedure,
    Project,
    Property,
    Step,
    Store,
)
from commander_emulator.schema import SCHEMAS, Field, ObjectSchema

pytestmark = pytest.mark.emulator_only

Call = Callable[..., Dict[str, Any]]

KINDS = tuple(SCHEMAS.values())
# A fresh model object of each kind, for the defaults a test value must differ from.
BLANK = {"project": Project(name="x"), "procedure": Procedure(name="x", project_name="x"),
         "step": Step(name="x"), "formalParameter": FormalParameter(name="x"), "property": Property(name="x"),
         "formalOutputParameter": FormalOutputParameter(name="x")}


@pytest.fixture
def call(tmp_path: Path) -> Call:
    store = Store(str(tmp_path))
    store.add_user("admin", "changeme")
    dispatcher = Dispatcher(store, Engine(store), Faults(), RequestLog(), str(tmp_path / "plugins"))
    session = store.new_session("admin")
    return lambda api, **args: dispatcher.call(api, args, session)


def valid_value(schema: ObjectSchema, field: Field) -> Any:
    """A value the field accepts that differs from a new object's default (so storing it shows)."""
    if field.kind == "bool":
        return not getattr(BLANK[schema.kind], field.attr)
    if field.choices:
        return field.choices[-1]
    if field.kind == "int":
        return "7"
    return f"{field.arg}-value"


def stored_text(value: Any) -> str:
    """How an object's record shows a value."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def groovy(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def dsl_for(kind: str, project: str, named: Dict[str, Any]) -> str:
    """A DSL script that declares one object of `kind` (inside project/procedure as needed) with `named`."""
    fields = ", ".join(f"{name}: {groovy(value)}" for name, value in named.items())
    inner = {"project": None, "procedure": f"procedure 'Q', {fields}", "property": f"property 'x', {fields}",
             "step": f"procedure 'Q', {{\n    step 's', {fields}\n  }}",
             "formalParameter": f"procedure 'Q', {{\n    formalParameter 'f', {fields}\n  }}",
             "formalOutputParameter":
                 f"procedure 'Q', {{\n    formalOutputParameter 'f', {fields}\n  }}"}[kind]
    if inner is None:
        return f"project '{project}', {fields}\n"
    return f"project '{project}', {{\n  {inner}\n}}\n"


def create_with_api(call: Call, kind: str, project: str, named: Dict[str, Any]) -> None:
    if kind == "project":
        call("createProject", projectName=project, **named)
        return
    call("createProject", projectName=project)
    if kind == "property":
        call("createProperty", projectName=project, propertyName="x", **named)
        return
    if kind == "procedure":
        call("createProcedure", projectName=project, procedureName="Q", **named)
        return
    call("createProcedure", projectName=project, procedureName="Q")
    if kind == "step":
        call("createStep", projectName=project, procedureName="Q", stepName="s", **named)
    elif kind == "formalOutputParameter":
        call("createFormalOutputParameter", projectName=project, procedureName="Q",
             formalOutputParameterName="f", **named)
    else:
        call("createFormalParameter", projectName=project, procedureName="Q", formalParameterName="f",
             **named)


def stored_record(call: Call, kind: str, project: str) -> Dict[str, Any]:
    where = {"projectName": project, "procedureName": "Q"}
    if kind == "project":
        return call("getProject", projectName=project)["project"]
    if kind == "procedure":
        return call("getProcedure", **where)["procedure"]
    if kind == "step":
        return call("getStep", **where, stepName="s")["step"]
    if kind == "formalParameter":
        return call("getFormalParameter", **where, formalParameterName="f")["formalParameter"]
    if kind == "formalOutputParameter":
        return call("getFormalOutputParameter", **where,
                    formalOutputParameterName="f")["formalOutputParameter"]
    return call("getProperty", projectName=project, propertyName="x", expand="0")["property"]


def fields_stored(record: Dict[str, Any], named: Dict[str, Any]) -> Set[str]:
    return {name for name, value in named.items() if record.get(name) == stored_text(value)}


@pytest.mark.parametrize("schema", KINDS, ids=[s.kind for s in KINDS])
def test_the_dsl_accepts_every_field_the_create_api_accepts(call: Call, schema: ObjectSchema) -> None:
    named = {f.arg: valid_value(schema, f) for f in schema.fields}
    create_with_api(call, schema.kind, "ByApi", named)
    by_api = fields_stored(stored_record(call, schema.kind, "ByApi"), named)
    call("evalDsl", dsl=dsl_for(schema.kind, "ByDsl", named))
    by_dsl = fields_stored(stored_record(call, schema.kind, "ByDsl"), named)
    assert by_api <= by_dsl, f"createX stores {sorted(by_api - by_dsl)}, the DSL does not"
    assert by_dsl == set(schema.args), f"the DSL does not store {sorted(set(schema.args) - by_dsl)}"


def test_a_procedure_takes_its_workspace_in_the_dsl_as_in_create_procedure(call: Call) -> None:
    call("evalDsl", dsl="project 'P', {\n  procedure 'q', workspaceName: 'w'\n}")
    assert call("getProcedure", projectName="P", procedureName="q")["procedure"]["workspaceName"] == "w"


def checked_fields() -> List[Tuple[ObjectSchema, Field]]:
    return [(s, f) for s in KINDS for f in s.fields if f.kind in ("bool", "int") or f.choices]


@pytest.mark.parametrize("schema, field", checked_fields(),
                         ids=[f"{s.kind}.{f.arg}" for s, f in checked_fields()])
def test_a_bad_value_is_refused_by_both_with_the_same_message(call: Call, schema: ObjectSchema,
                                                              field: Field) -> None:
    with pytest.raises(CommanderError) as by_api:
        create_with_api(call, schema.kind, "ByApi", {field.arg: "maybe"})
    with pytest.raises(CommanderError) as by_dsl:
        call("evalDsl", dsl=dsl_for(schema.kind, "ByDsl", {field.arg: "maybe"}))
    assert by_api.value.code == "InvalidArgument" and by_dsl.value.code == "InvalidScript"
    assert f"'{field.arg}'" in by_api.value.message and "'maybe'" in by_api.value.message
    # The DSL names the file and line, then says what the API says.
    assert by_dsl.value.message.startswith("<evalDsl>:")
    assert by_dsl.value.message.endswith(": " + by_api.value.message)
