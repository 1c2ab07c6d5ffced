"""The backend: what the API does to the store, apart from reading arguments and rendering answers.

Definitions (projects, procedures, steps, formal parameters) are saved by one function per kind with a
mode: "create" (fails on a duplicate), "modify" (fails on a missing object) or "upsert" (what applying a
DSL op does). The API calls and the DSL share these functions, and take their fields from `schema`, so
there is one copy of each rule.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from .arguments import Args, arg_bool, arg_str, as_list, normalize, parameter_map, required
from .dsl import DslOp, parse_dsl
from .errors import CommanderError, invalid, no_such
from .model import (
    Credential,
    FormalOutputParameter,
    FormalParameter,
    Job,
    Plugin,
    Procedure,
    Project,
    PropertySheet,
    Step,
    Store,
)
from .plugins import mark_promoted, promotion_ops
from .schema import (
    FORMAL_OUTPUT_PARAMETER,
    FORMAL_PARAMETER,
    PROCEDURE,
    PROJECT,
    SCHEMAS,
    STEP,
    ObjectSchema,
    coerce,
)

MODES = ("create", "modify", "upsert")


def apply_fields(obj: Any, args: Args, schema: ObjectSchema) -> None:
    """Check every given field first, then set them all, so a bad argument changes nothing."""
    updates = {f.attr: coerce(f, args[f.arg]) for f in schema.fields if f.arg in args}
    for attr, value in updates.items():
        setattr(obj, attr, value)


def duplicate(kind: str, name: str) -> CommanderError:
    # [U] CD/RO reports a duplicate as Duplicate<Kind>Name
    return CommanderError(f"Duplicate{kind}Name", f"{kind} '{name}' already exists",
                          where=kind[0].lower() + kind[1:])


def _check_mode(found: Any, mode: str, kind: str, name: str) -> None:
    if found is None and mode == "modify":
        raise no_such(kind, name)
    if found is not None and mode == "create":
        raise duplicate(kind, name)


def _check_new_name(args: Args, mode: str, taken: Callable[[str], bool], kind: str) -> Optional[str]:
    new_name = arg_str(args, "newName") if mode != "create" else None
    if new_name and taken(new_name):
        raise duplicate(kind, new_name)
    return new_name or None


def _rename_key(mapping: OrderedDict[str, Any], old: str, new: str) -> None:
    """Rename a key of an ordered map in place, keeping its position."""
    items = [(new if k == old else k, v) for k, v in mapping.items()]
    mapping.clear()
    mapping.update(items)


# ------------------------------------------------------------------------------------------ definitions


def save_project(store: Store, args: Args, mode: str) -> Project:
    name = required(args, "projectName")
    with store.lock:
        proj = store.projects.get(name)
        _check_mode(proj, mode, "Project", name)
        apply_fields(Project(name=name), args, PROJECT)  # check before creating anything
        proj = proj or store.ensure_project(name)
        apply_fields(proj, args, PROJECT)
        return proj


def _save_named(mapping: OrderedDict[str, Any], name: str, args: Args, mode: str, kind: str,
                schema: ObjectSchema, make: Callable[[], Any]) -> Any:
    """Save the object `name` of an ordered map (a project's procedures, a procedure's parameters),
    renamed in place when `newName` is given."""
    found = mapping.get(name)
    _check_mode(found, mode, kind, name)
    new_name = _check_new_name(args, mode, lambda n: n != name and n in mapping, kind)
    target = found or make()
    apply_fields(target, args, schema)
    if found is None:
        mapping[name] = target
    if new_name and new_name != name:
        _rename_key(mapping, name, new_name)
        target.name = new_name
    return target


def save_procedure(store: Store, args: Args, mode: str) -> Procedure:
    project_name, name = required(args, "projectName"), required(args, "procedureName")
    with store.lock:
        return _save_named(store.project(project_name).procedures, name, args, mode, "Procedure", PROCEDURE,
                           lambda: Procedure(name=name, project_name=project_name))


def _place_step(proc: Procedure, step: Step, args: Args) -> None:
    """Honour beforeProcedureStep / afterProcedureStep; a new step without them goes last."""
    before, after = arg_str(args, "beforeProcedureStep"), arg_str(args, "afterProcedureStep")
    if before and after:
        raise invalid("beforeProcedureStep", "either beforeProcedureStep or afterProcedureStep, not both")
    anchor_name = before or after
    if anchor_name:
        proc.step(anchor_name)  # NoSuchStep when the anchor is missing
    if step in proc.steps:
        if not anchor_name:
            return
        proc.steps.remove(step)
    if not anchor_name:
        proc.steps.append(step)
        return
    index = [s.name for s in proc.steps].index(anchor_name)
    proc.steps.insert(index if before else index + 1, step)


def _clear_emptied(step: Step, args: Args) -> None:
    """modifyStep with an optional text field given as "" (a condition, a time limit ...) clears it: the
    step then shows no such field, as before one was set. [U] CD/RO keeps an empty text as no value."""
    blank = Step(name=step.name)
    for f in STEP.fields:
        if f.kind == "str" and args.get(f.arg) == "" and getattr(blank, f.attr) is None:
            setattr(step, f.attr, None)


def save_step(store: Store, args: Args, mode: str) -> Step:
    project_name, proc_name = required(args, "projectName"), required(args, "procedureName")
    name = required(args, "stepName")
    with store.lock:
        proc = store.procedure(project_name, proc_name)
        step = next((s for s in proc.steps if s.name == name), None)
        _check_mode(step, mode, "Step", name)
        new_name = _check_new_name(args, mode, lambda n: n != name and any(s.name == n for s in proc.steps),
                                   "Step")
        params = parameter_map(args["actualParameter"]) if "actualParameter" in args else None
        apply_fields(Step(name=name), args, STEP)  # check before placing anything
        target = step or Step(name=name)
        _place_step(proc, target, args)
        apply_fields(target, args, STEP)
        if mode == "modify":
            _clear_emptied(target, args)
        if params is not None:
            target.actual_parameters = params  # [U] a given actualParameter list replaces the old one
        if new_name:
            target.name = new_name
        return target


def save_formal_parameter(store: Store, args: Args, mode: str) -> FormalParameter:
    project_name, proc_name = required(args, "projectName"), required(args, "procedureName")
    name = required(args, "formalParameterName")
    with store.lock:
        return _save_named(store.procedure(project_name, proc_name).formal_parameters, name, args, mode,
                           "FormalParameter", FORMAL_PARAMETER, lambda: FormalParameter(name=name))


def save_formal_output_parameter(store: Store, args: Args, mode: str) -> FormalOutputParameter:
    project_name, proc_name = required(args, "projectName"), required(args, "procedureName")
    name = required(args, "formalOutputParameterName")
    with store.lock:
        return _save_named(store.procedure(project_name, proc_name).formal_output_parameters, name, args,
                           mode, "FormalOutputParameter", FORMAL_OUTPUT_PARAMETER,
                           lambda: FormalOutputParameter(name=name))


def delete_project(store: Store, name: str) -> None:
    with store.lock:
        store.project(name)
        del store.projects[name]


def delete_procedure(store: Store, project_name: str, name: str) -> None:
    with store.lock:
        store.procedure(project_name, name)
        del store.project(project_name).procedures[name]


def delete_step(store: Store, project_name: str, procedure_name: str, name: str) -> None:
    with store.lock:
        proc = store.procedure(project_name, procedure_name)
        proc.steps.remove(proc.step(name))


def delete_formal_parameter(store: Store, project_name: str, procedure_name: str, name: str) -> None:
    with store.lock:
        proc = store.procedure(project_name, procedure_name)
        proc.formal_parameter(name)
        del proc.formal_parameters[name]


def delete_formal_output_parameter(store: Store, project_name: str, procedure_name: str, name: str) -> None:
    with store.lock:
        proc = store.procedure(project_name, procedure_name)
        proc.formal_output_parameter(name)
        del proc.formal_output_parameters[name]


def create_credential(store: Store, project_name: str, name: str, user_name: str = "", password: str = "",
                      description: str = "") -> Credential:
    with store.lock:
        proj = store.project(project_name)
        if name in proj.credentials:
            raise duplicate("Credential", name)
        cred = Credential(name=name, project_name=project_name, user_name=user_name, password=password,
                          description=description)
        proj.credentials[name] = cred
        return cred


# ------------------------------------------------------------------------------------------------- jobs

_CREDENTIAL_PATH = re.compile(r"^/projects/([^/]+)/credentials/([^/]+)$")
_REFERENCES = "credentialReferenceParameters"


def credential_references(store: Store, procedure: Procedure, actual: Mapping[str, str], entries: Any
                          ) -> Dict[str, Tuple[str, Credential]]:
    """runProcedure's credentialReferenceParameters ([{name, value}]): for each credential parameter, the
    path of the stored credential its value names ("cred" in the procedure's project, or
    "/projects/<p>/credentials/<c>") and that credential. Errors name the parameter; nothing is started."""
    found: Dict[str, Tuple[str, Credential]] = {}
    for entry in as_list(entries):
        if not isinstance(entry, dict) or not str(entry.get("name", "")).strip():
            raise invalid(_REFERENCES, "entries {name, value}: name a credential parameter, value a stored "
                                       "credential")
        name, value = str(entry["name"]), str(entry.get("value", "")).strip()
        formal = procedure.formal_parameters.get(name)
        if name in actual or name in found:
            raise invalid(_REFERENCES, f"parameter '{name}' given once (it is given twice)")
        if formal is not None and formal.type != "credential":
            raise CommanderError("InvalidActualParameter",  # [U] code
                                 f"{_REFERENCES}: '{name}' is a parameter of type '{formal.type}', not a "
                                 "credential parameter", where=_REFERENCES)
        # A name that is no formal parameter at all is refused with the other actual parameters.
        path_match = _CREDENTIAL_PATH.match(value)
        project_name, cred_name = path_match.groups() if path_match else (procedure.project_name, value)
        project = store.projects.get(project_name)
        cred = project.credentials.get(cred_name) if project is not None and cred_name else None
        if cred is None:
            raise CommanderError("NoSuchCredential",
                                 f"{_REFERENCES}: parameter '{name}' names credential '{value}', which does "
                                 f"not exist (expected a credential of project '{procedure.project_name}' or "
                                 "/projects/<project>/credentials/<credential>)", where=_REFERENCES)
        found[name] = (f"/projects/{project_name}/credentials/{cred_name}", cred)
    return found



def find_jobs(store: Store, project_name: Optional[str] = None, procedure_name: Optional[str] = None,
              status: Optional[str] = None, max_results: Optional[int] = None) -> List[Job]:
    """getJobs: the newest first, filtered by each criterion that is given."""
    wanted = (("project_name", project_name), ("procedure_name", procedure_name), ("status", status))
    with store.lock:
        jobs = [j for j in reversed(list(store.jobs.values()))
                if all(value is None or getattr(j, attr) == value for attr, value in wanted)]
    return jobs if max_results is None else jobs[:max_results]


# ------------------------------------------------------------------------------------------ DSL, plugins


def save_dsl_property(store: Store, args: Args) -> str:
    """A DSL `property` op: create or overwrite a property (or sheet) on a project, procedure or step."""
    path = required(args, "propertyName")
    names = [n for n in path.split("/") if n]
    if not names:
        raise invalid("propertyName", "a property name")
    with store.lock:
        sheet = _owner_sheet(store, args)
        for parent in names[:-1]:
            sheet = sheet.ensure_sheet(parent)
        if arg_bool(args, "sheet"):
            sheet.ensure_sheet(names[-1])
            prop = sheet.get(names[-1])
        else:
            expandable = arg_bool(args, "expandable") if "expandable" in args else None
            prop = sheet.set_value(names[-1], arg_str(args, "value", "") or "", expandable)
        if "description" in args and prop is not None:  # a sheet's description too
            prop.description = arg_str(args, "description") or ""
    return names[-1]


def _owner_sheet(store: Store, args: Args) -> PropertySheet:
    if not args.get("projectName"):
        return store.server_properties
    proj = store.project(required(args, "projectName"))
    if not args.get("procedureName"):
        return proj.properties
    proc = proj.procedure(required(args, "procedureName"))
    if not args.get("stepName"):
        return proc.properties
    return proc.step(required(args, "stepName")).properties


_SAVERS: Dict[str, Callable[[Store, Args], Any]] = {
    "project": lambda s, a: save_project(s, a, "upsert"),
    "procedure": lambda s, a: save_procedure(s, a, "upsert"),
    "formalParameter": lambda s, a: save_formal_parameter(s, a, "upsert"),
    "formalOutputParameter": lambda s, a: save_formal_output_parameter(s, a, "upsert"),
    "step": lambda s, a: save_step(s, a, "upsert"),
    "property": save_dsl_property,
}
# The outermost object kind of a DSL script names evalDsl's value ([U] CD/RO answers with the value of the
# script's last top-level statement, which is usually the project).
_OUTERMOST_FIRST = ("project", "procedure", "formalParameter", "formalOutputParameter", "step", "property")


def apply_dsl_ops(store: Store, ops: Iterable[DslOp]) -> str:
    """Apply DslOps in order (each an upsert); answer the name of the last object of the outermost kind."""
    last: Dict[str, str] = {}
    for op in ops:
        saver = _SAVERS.get(op.kind)
        if saver is None:
            raise CommanderError("InvalidDsl", f"DSL object kind '{op.kind}' is not supported")
        args = normalize(dict(op.args))
        saver(store, args)
        last[op.kind] = str(args.get(SCHEMAS[op.kind].name_arg, ""))
    return next((last[kind] for kind in _OUTERMOST_FIRST if kind in last), "")


def eval_dsl(store: Store, text: str, binding: Optional[Dict[str, Any]] = None,
             project_name: Optional[str] = None) -> str:
    """evalDsl: read the script, then apply what it describes."""
    ops = parse_dsl(text, filename="<evalDsl>", binding=binding, project_name=project_name,
                    strip_indent=store.settings.strip_indent)
    return apply_dsl_ops(store, ops)


def set_promoted(store: Store, name: str, promote: bool) -> Plugin:
    """promotePlugin: promoting applies the plugin's DSL first; demoting runs no DSL [U]."""
    if promote:
        apply_dsl_ops(store, promotion_ops(store, name))
    return mark_promoted(store, name, promote)


# ------------------------------------------------------------------------------------ output parameters


def output_parameter_owner(store: Store, job_id: Optional[str], job_step_id: Optional[str]) -> Any:
    """The job or call step whose output parameters a setOutputParameter / getOutputParameters means.

    [U] A job step locator names the procedure invocation the step runs in: a call step is its own
    container, a command step's is the call step around it, or the job for a top-level step (so a
    ResumableStep's command sets the output parameters of the ResumableStep call, read as
    `/myJob/jobSteps/<call>/outputParameters/<name>`). A jobId locator names the job.
    """
    if job_step_id:
        js = store.job_step(job_step_id)
        if js.is_call:
            return js
        return js.parent if js.parent is not None else js.job
    if job_id:
        return store.job(job_id)
    raise CommanderError("InvalidArgument", "setOutputParameter needs a jobStepId or jobId locator "
                                            "(inside a job step, COMMANDER_JOBSTEPID)", where="jobStepId")
