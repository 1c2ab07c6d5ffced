"""One field schema per object kind: the arguments of projects, procedures, steps, formal parameters and
properties, the model attribute each sets, which are booleans and which take one of a few values.

createX/modifyX (`backend`), their records (`records`) and the DSL reader (`dsl`) all take their fields
from here, so a field one accepts the others accept too, and a bad value is refused by every one of them
with the same message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Tuple, Union

from .errors import CommanderError
from .model import ERROR_HANDLING, PARAMETER_TYPES


@dataclass(frozen=True)
class Field:
    """One argument of an object (ectool's name) and the model attribute it sets."""

    arg: str
    attr: str
    kind: str = "str"  # "str" | "bool" | "int" (a whole number, written as a string)
    choices: Tuple[str, ...] = ()


@dataclass(frozen=True)
class ObjectSchema:
    """The fields of one object kind; `kind` is also the DSL method and the DslOp kind."""

    kind: str
    name_arg: str
    fields: Tuple[Field, ...]

    @property
    def args(self) -> Tuple[str, ...]:
        return tuple(f.arg for f in self.fields)

    def field(self, arg: str) -> Field:
        """The field of an argument name; KeyError when the kind has no such field."""
        for f in self.fields:
            if f.arg == arg:
                return f
        raise KeyError(f"{self.kind} has no field '{arg}'")


# The createProject fields (CloudBees API reference, createProject; generateDsl writes them).
PROJECT = ObjectSchema("project", "projectName", (
    Field("description", "description"),
    Field("resourceName", "resource_name"),
    Field("workspaceName", "workspace_name"),
    Field("credentialName", "credential_name"),
    Field("tracked", "tracked", "bool"),
))
_TIME_UNITS = ("hours", "minutes", "seconds")
# The createProcedure fields, as generateDsl writes them for every procedure (with credentialName).
PROCEDURE = ObjectSchema("procedure", "procedureName", (
    Field("description", "description"),
    Field("resourceName", "resource_name"),
    Field("workspaceName", "workspace_name"),
    Field("jobNameTemplate", "job_name_template"),
    Field("credentialName", "credential_name"),
    Field("timeLimit", "time_limit"),
    Field("timeLimitUnits", "time_limit_units", choices=_TIME_UNITS),
))
# Every createStep field of commander-api.md §5; ordering (before/afterProcedureStep) and actualParameter
# are arguments of their own, not fields.
STEP = ObjectSchema("step", "stepName", (
    Field("command", "command"),
    Field("shell", "shell"),
    Field("subprocedure", "subprocedure"),
    Field("subproject", "subproject"),
    Field("condition", "condition"),
    Field("precondition", "precondition"),
    Field("alwaysRun", "always_run", "bool"),
    Field("parallel", "parallel", "bool"),
    Field("errorHandling", "error_handling", choices=ERROR_HANDLING),
    Field("timeLimit", "time_limit"),
    Field("timeLimitUnits", "time_limit_units", choices=_TIME_UNITS),
    Field("resourceName", "resource_name"),
    Field("workspaceName", "workspace_name"),
    Field("workingDirectory", "working_directory"),
    Field("logFileName", "log_file_name"),
    Field("postProcessor", "post_processor"),
    Field("credentialName", "credential_name"),
    Field("broadcast", "broadcast", "bool"),
    Field("exclusive", "exclusive", "bool"),
    Field("exclusiveMode", "exclusive_mode", choices=("none", "job", "step", "call")),
    Field("releaseExclusive", "release_exclusive", "bool"),
    Field("releaseMode", "release_mode", choices=("none", "release", "releaseToJob")),
    Field("comment", "comment"),
    Field("description", "description"),
))
FORMAL_PARAMETER = ObjectSchema("formalParameter", "formalParameterName", (
    Field("type", "type", choices=PARAMETER_TYPES),
    Field("required", "required", "bool"),
    Field("defaultValue", "default_value"),
    Field("description", "description"),
    Field("label", "label"),
    Field("expansionDeferred", "expansion_deferred", "bool"),
    # createFormalParameter fields that generateDsl writes (CloudBees API reference, formalParameter):
    Field("orderIndex", "order_index", "int"),  # [U] a whole number (generateDsl writes '1', '2', ...)
    Field("checkedValue", "checked_value"),
    Field("uncheckedValue", "unchecked_value"),
    Field("dependsOn", "depends_on"),
    Field("renderCondition", "render_condition"),
    Field("simpleList", "simple_list"),
))
# formalOutputParameter: a name and a description (CloudBees API reference, createFormalOutputParameter).
FORMAL_OUTPUT_PARAMETER = ObjectSchema("formalOutputParameter", "formalOutputParameterName", (
    Field("description", "description"),
))
PROPERTY = ObjectSchema("property", "propertyName", (
    Field("value", "value"),
    Field("expandable", "expandable", "bool"),
    Field("description", "description"),
))

SCHEMAS: Dict[str, ObjectSchema] = {s.kind: s for s in (PROJECT, PROCEDURE, STEP, FORMAL_PARAMETER,
                                                         FORMAL_OUTPUT_PARAMETER, PROPERTY)}


# ------------------------------------------------------------------------------------------ values


class FieldValueError(CommanderError):
    """A value an argument cannot take: InvalidArgument on the API; the DSL adds the file and line."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__("InvalidArgument", message, where=argument)


def describe_value(value: Any) -> str:
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, (bytes, bytearray)):
        return "an uploaded file"
    return repr(value)


def parse_bool(value: Any, name: str) -> bool:
    """true/false or 1/0 in any case; "" is false (an empty XML element)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in ("1", "true"):
        return True
    if text in ("0", "false", ""):
        return False
    raise FieldValueError(name, f"'{name}' expects true/false or 1/0, got {describe_value(value)}")


def text_value(name: str, value: Any) -> str:
    """A string argument; true/false and whole numbers read as Groovy renders them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int)):
        return str(value)
    raise FieldValueError(name, f"'{name}' expects a string, got {describe_value(value)}")


def coerce(field: Field, value: Any) -> Union[str, bool]:
    """A field's value as the model holds it: a bool for a boolean field, else a string in its choices."""
    if field.kind == "bool":
        return parse_bool(value, field.arg)
    text = text_value(field.arg, value)
    if field.kind == "int" and not re.fullmatch(r"-?[0-9]+", text.strip()):
        raise FieldValueError(field.arg, f"'{field.arg}' expects a whole number, got {describe_value(value)}")
    if field.choices and text not in field.choices:
        raise FieldValueError(field.arg, f"'{field.arg}' must be one of {', '.join(field.choices)}; "
                                         f"got '{text}'")
    return text


def flag(value: bool) -> str:
    """A boolean as CD/RO answers and stores it."""
    return "1" if value else "0"


def argument_text(field: Field, value: Any) -> str:
    """A field's value as an argument string (booleans "1"/"0"), checked like the API checks it."""
    checked = coerce(field, value)
    return flag(checked) if isinstance(checked, bool) else checked
