"""The one dispatcher: every API call of every wire (REST, XML, the UI link) goes through `Dispatcher.call`.

A call is an API name, a dict of arguments (strings, nested dicts, lists; bytes for an uploaded file)
and the caller's session. The dispatcher counts the call in the request log, applies injected faults,
checks the session, runs the handler from `HANDLERS`, and guarantees that only `CommanderError` leaves
it (anything else becomes `InternalError`, with the traceback in the server log, never on the wire).

Definitions (projects, procedures, steps, formal parameters) are saved by one function per kind with a
mode: "create" (fails on a duplicate), "modify" (fails on a missing object) or "upsert" (what applying a
DSL op does). The API calls and the DSL share these functions, so there is one copy of each rule.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import unquote, urlparse

from .context import Context
from .errors import CommanderError, invalid, no_such
from .faults import DroppedConnection, Faults, RequestLog
from .model import (
    ERROR_HANDLING,
    PARAMETER_TYPES,
    FormalParameter,
    Job,
    JobStep,
    Plugin,
    Procedure,
    Project,
    PropertySheet,
    Session,
    Step,
    Store,
)

log = logging.getLogger("commander_emulator")

Args = Dict[str, Any]

# ------------------------------------------------------------------------------------- argument helpers


def normalize(value: Any) -> Any:
    """Arguments as the XML wire would give them: strings everywhere ("1"/"0" for JSON booleans)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value if v is not None]
    return value


def as_list(value: Any) -> List[Any]:
    """A repeated argument arrives as one dict (one XML element) or a list (several): always a list."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]


_TRUE = ("1", "true")
_FALSE = ("0", "false", "")


def parse_bool(value: Any, name: str) -> bool:
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid(name, f"0, 1, true or false (got '{value}')")


def arg_bool(args: Args, name: str, default: bool = False) -> bool:
    return parse_bool(args[name], name) if name in args else default


def arg_str(args: Args, name: str, default: Optional[str] = None) -> Optional[str]:
    value = args.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid(name, "a string")
    return value


def required(args: Args, name: str) -> str:
    value = arg_str(args, name)
    if not value:
        # [U] the exact code CD/RO uses for a missing argument
        raise CommanderError("InvalidArgument", f"Missing required argument '{name}'", where=name)
    return value


def b01(flag: bool) -> str:
    return "1" if flag else "0"


def parameter_map(entries: Any, argument: str = "actualParameter") -> OrderedDict[str, str]:
    """[{actualParameterName, value}, ...] (or one such dict) as an ordered name -> value map."""
    result: OrderedDict[str, str] = OrderedDict()
    for entry in as_list(entries):
        if not isinstance(entry, dict) or not entry.get("actualParameterName"):
            raise invalid(argument, "entries with actualParameterName and value")
        value = entry.get("value", "")
        if not isinstance(value, str):
            raise invalid(f"{argument}/value", "a string")
        result[str(entry["actualParameterName"])] = value
    return result


def parameter_list(params: OrderedDict[str, str]) -> List[Dict[str, str]]:
    return [{"actualParameterName": k, "value": v} for k, v in params.items()]


# ------------------------------------------------------------------------ definition fields, one table each


@dataclass(frozen=True)
class Field:
    """One ectool argument of an object and the model attribute it sets."""

    arg: str
    attr: str
    kind: str = "str"  # "str" | "bool"
    choices: Tuple[str, ...] = ()


def apply_fields(obj: Any, args: Args, fields: Sequence[Field]) -> None:
    """Validate every given field first, then set them all, so a bad argument changes nothing."""
    updates: Dict[str, Any] = {}
    for f in fields:
        if f.arg not in args:
            continue
        if f.kind == "bool":
            updates[f.attr] = parse_bool(args[f.arg], f.arg)
            continue
        value = arg_str(args, f.arg)
        if f.choices and value not in f.choices:
            raise invalid(f.arg, "one of " + ", ".join(f.choices) + f" (got '{value}')")
        updates[f.attr] = value
    for attr, value in updates.items():
        setattr(obj, attr, value)


def render_fields(obj: Any, fields: Sequence[Field]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for f in fields:
        value = getattr(obj, f.attr)
        if value is None:
            continue
        out[f.arg] = b01(value) if f.kind == "bool" else str(value)
    return out


PROJECT_FIELDS = (Field("description", "description"),)
PROCEDURE_FIELDS = (
    Field("description", "description"),
    Field("resourceName", "resource_name"),
    Field("workspaceName", "workspace_name"),
    Field("jobNameTemplate", "job_name_template"),
)
# Every createStep field of commander-api.md §5 (ordering fields and actualParameter are handled apart).
STEP_FIELDS = (
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
    Field("timeLimitUnits", "time_limit_units", choices=("hours", "minutes", "seconds")),
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
)
FORMAL_PARAMETER_FIELDS = (
    Field("type", "type", choices=PARAMETER_TYPES),
    Field("required", "required", "bool"),
    Field("defaultValue", "default_value"),
    Field("description", "description"),
    Field("label", "label"),
    Field("expansionDeferred", "expansion_deferred", "bool"),
)

MODES = ("create", "modify", "upsert")


def duplicate(kind: str, name: str) -> CommanderError:
    # [U] CD/RO reports a duplicate as Duplicate<Kind>Name
    return CommanderError(f"Duplicate{kind}Name", f"{kind} '{name}' already exists",
                          where=kind[0].lower() + kind[1:])


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


def save_project(store: Store, args: Args, mode: str) -> Project:
    name = required(args, "projectName")
    with store.lock:
        proj = store.projects.get(name)
        if proj is None and mode == "modify":
            raise no_such("Project", name)
        if proj is not None and mode == "create":
            raise duplicate("Project", name)
        apply_fields(Project(name=name), args, PROJECT_FIELDS)  # validate before creating anything
        proj = proj or store.ensure_project(name)
        apply_fields(proj, args, PROJECT_FIELDS)
        return proj


def save_procedure(store: Store, args: Args, mode: str) -> Procedure:
    project_name, name = required(args, "projectName"), required(args, "procedureName")
    with store.lock:
        proj = store.project(project_name)
        proc = proj.procedures.get(name)
        if proc is None and mode == "modify":
            raise no_such("Procedure", name)
        if proc is not None and mode == "create":
            raise duplicate("Procedure", name)
        new_name = _check_new_name(args, mode, lambda n: n != name and n in proj.procedures, "Procedure")
        target = proc or Procedure(name=name, project_name=project_name)
        apply_fields(target, args, PROCEDURE_FIELDS)
        if proc is None:
            proj.procedures[name] = target
        if new_name and new_name != name:
            _rename_key(proj.procedures, name, new_name)
            target.name = new_name
        return target


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


def save_step(store: Store, args: Args, mode: str) -> Step:
    project_name, proc_name = required(args, "projectName"), required(args, "procedureName")
    name = required(args, "stepName")
    with store.lock:
        proc = store.procedure(project_name, proc_name)
        step = next((s for s in proc.steps if s.name == name), None)
        if step is None and mode == "modify":
            raise no_such("Step", name)
        if step is not None and mode == "create":
            raise duplicate("Step", name)
        new_name = _check_new_name(args, mode, lambda n: n != name and any(s.name == n for s in proc.steps),
                                   "Step")
        params = parameter_map(args["actualParameter"]) if "actualParameter" in args else None
        apply_fields(Step(name=name), args, STEP_FIELDS)  # validate before placing anything
        target = step or Step(name=name)
        _place_step(proc, target, args)
        apply_fields(target, args, STEP_FIELDS)
        if params is not None:
            target.actual_parameters = params  # [U] a given actualParameter list replaces the old one
        if new_name:
            target.name = new_name
        return target


def save_formal_parameter(store: Store, args: Args, mode: str) -> FormalParameter:
    project_name, proc_name = required(args, "projectName"), required(args, "procedureName")
    name = required(args, "formalParameterName")
    with store.lock:
        proc = store.procedure(project_name, proc_name)
        param = proc.formal_parameters.get(name)
        if param is None and mode == "modify":
            raise no_such("FormalParameter", name)
        if param is not None and mode == "create":
            raise duplicate("FormalParameter", name)
        new_name = _check_new_name(args, mode, lambda n: n != name and n in proc.formal_parameters,
                                   "FormalParameter")
        target = param or FormalParameter(name=name)
        apply_fields(target, args, FORMAL_PARAMETER_FIELDS)
        if param is None:
            proc.formal_parameters[name] = target
        if new_name and new_name != name:
            _rename_key(proc.formal_parameters, name, new_name)
            target.name = new_name
        return target


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
        else:
            expandable = arg_bool(args, "expandable") if "expandable" in args else None
            sheet.set_value(names[-1], arg_str(args, "value", "") or "", expandable)
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


# The outermost object kind of a DSL script names evalDsl's value ([U] CD/RO answers with the value of the
# script's last top-level statement, which is usually the project).
_DSL_KINDS = ("project", "procedure", "formalParameter", "step", "property")
_DSL_NAME_ARG = {"project": "projectName", "procedure": "procedureName",
                 "formalParameter": "formalParameterName", "step": "stepName", "property": "propertyName"}


def apply_dsl_ops(store: Store, ops: Iterable[Any]) -> str:
    """Apply DslOps in order (each an upsert); answer the name of the last object of the outermost kind."""
    savers: Dict[str, Callable[[Store, Args], Any]] = {
        "project": lambda s, a: save_project(s, a, "upsert"),
        "procedure": lambda s, a: save_procedure(s, a, "upsert"),
        "formalParameter": lambda s, a: save_formal_parameter(s, a, "upsert"),
        "step": lambda s, a: save_step(s, a, "upsert"),
        "property": save_dsl_property,
    }
    last: Dict[str, str] = {}
    for op in ops:
        saver = savers.get(op.kind)
        if saver is None:
            raise CommanderError("InvalidDsl", f"DSL object kind '{op.kind}' is not supported")
        args = normalize(dict(op.args))
        saver(store, args)
        last[op.kind] = str(args.get(_DSL_NAME_ARG[op.kind], ""))
    for kind in _DSL_KINDS:
        if kind in last:
            return last[kind]
    return ""


# -------------------------------------------------------------------------------------------- rendering


def project_record(proj: Project) -> Dict[str, Any]:
    rec = {"projectName": proj.name, "projectId": proj.id, **render_fields(proj, PROJECT_FIELDS)}
    if proj.plugin_key:
        rec["pluginKey"] = proj.plugin_key
    return rec


def procedure_record(proc: Procedure) -> Dict[str, Any]:
    return {"procedureName": proc.name, "projectName": proc.project_name, "procedureId": proc.id,
            **render_fields(proc, PROCEDURE_FIELDS)}


def step_record(proc: Procedure, step: Step) -> Dict[str, Any]:
    rec: Dict[str, Any] = {"stepName": step.name, "stepId": step.id, "projectName": proc.project_name,
                           "procedureName": proc.name, **render_fields(step, STEP_FIELDS)}
    if step.actual_parameters:
        rec["actualParameter"] = parameter_list(step.actual_parameters)
    return rec


def formal_parameter_record(proc: Procedure, param: FormalParameter) -> Dict[str, Any]:
    return {"formalParameterName": param.name, "formalParameterId": param.id,
            "projectName": proc.project_name, "procedureName": proc.name,
            **render_fields(param, FORMAL_PARAMETER_FIELDS)}


def plugin_record(plugin: Plugin) -> Dict[str, Any]:
    return {"pluginName": plugin.name, "pluginKey": plugin.key, "pluginVersion": plugin.version,
            "projectName": plugin.name, "label": plugin.label, "description": plugin.description,
            "author": plugin.author, "category": plugin.category, "promoted": b01(plugin.promoted)}


def custom_properties_record(owner: Any) -> Dict[str, Any]:
    """The custom properties of a job or job step (raw values, sheets nested) in getProperties' shape."""
    from .properties import JobNode, JobStepNode, custom_resolved, record

    node = JobNode(owner) if isinstance(owner, Job) else JobStepNode(owner)
    return {"property": [record(custom_resolved(prop, node), None, False, True) for prop in owner.properties]}


def _put(rec: Dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        rec[key] = value if isinstance(value, (str, list, dict)) else str(value)


def job_record(job: Job, with_steps: bool) -> Dict[str, Any]:
    rec: Dict[str, Any] = {"jobId": job.id, "jobName": job.name, "status": job.status,
                           # [U] outcome of a job that is still running: "" until the engine decides it
                           "outcome": job.outcome or "", "projectName": job.project_name,
                           "procedureName": job.procedure_name, "launchedByUser": job.launched_by}
    _put(rec, "start", job.start)
    _put(rec, "finish", job.finish)
    if job.abort_requested:
        rec["abortStatus"] = "abort"  # [U] field name and value, from memory of the XML schema
    rec["actualParameter"] = parameter_list(job.actual_parameters)
    if len(job.properties):
        rec["propertySheet"] = custom_properties_record(job)
    if with_steps:
        rec["jobStep"] = [job_step_record(js) for js in job.steps]
    return rec


def job_step_record(js: JobStep, with_children: bool = True) -> Dict[str, Any]:
    step = js.step
    rec: Dict[str, Any] = {"jobStepId": js.id, "jobId": js.job.id, "stepName": js.step_name,
                           "status": js.status, "outcome": js.outcome or ""}
    _put(rec, "exitCode", js.exit_code)
    _put(rec, "start", js.start)
    _put(rec, "finish", js.finish)
    _put(rec, "condition", js.condition if js.condition is not None else step.condition)
    _put(rec, "runConditionResult", js.run_condition_result)
    rec["alwaysRun"] = b01(step.always_run)
    rec["errorHandling"] = step.error_handling
    rec["parallel"] = b01(step.parallel)
    _put(rec, "command", js.command if js.command is not None else step.command)
    _put(rec, "shell", js.shell if js.shell is not None else step.shell)
    _put(rec, "subprocedure", step.subprocedure)
    _put(rec, "subproject", step.subproject)
    _put(rec, "resourceName", js.resource_name)
    _put(rec, "errorMessage", js.error_message)
    if js.parent is not None:
        rec["parentJobStepId"] = js.parent.id
    if js.log_path:
        rec["logFileName"] = os.path.basename(js.log_path)
    if js.is_call:
        called: Dict[str, Any] = {"projectName": js.called_project or js.project_name,
                                  "procedureName": js.called_procedure,
                                  "actualParameter": parameter_list(js.call_parameters)}
        if with_children:
            called["jobStep"] = [job_step_record(child) for child in js.children]
        rec["calledProcedure"] = called
    return rec


# --------------------------------------------------------------------------------------------- dispatch


@dataclass
class Call:
    """What a handler gets besides its arguments: the dispatcher's collaborators and the caller."""

    dispatcher: Dispatcher
    session: Optional[Session]

    @property
    def store(self) -> Store:
        return self.dispatcher.store

    @property
    def user_name(self) -> Optional[str]:
        return self.session.user_name if self.session else None

    def context(self, args: Args) -> Context:
        return Context.from_args(self.store, args, self.user_name)


Handler = Callable[[Call, Args], Dict[str, Any]]
HANDLERS: Dict[str, Handler] = {}
NO_SESSION_APIS = ("login",)


def handler(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = fn
        return fn

    return register


class Dispatcher:
    def __init__(self, store: Store, engine: Any, faults: Faults, request_log: RequestLog,
                 plugins_root: str) -> None:
        self.store = store
        self.engine = engine
        self.faults = faults
        self.request_log = request_log
        self.plugins_root = plugins_root
        self._basic_sessions: Dict[str, str] = {}
        self._basic_lock = threading.Lock()

    def call(self, api: str, args: Optional[Args] = None, session: Optional[Session] = None,
             wire: str = "internal") -> Dict[str, Any]:
        """Run one API call; raises CommanderError (or DroppedConnection for an injected drop)."""
        try:
            fault = self.faults.take(api)
            if fault is not None:
                if fault.latency:
                    time.sleep(fault.latency)
                if fault.drop:
                    raise DroppedConnection(api)
                if fault.error_code:
                    raise CommanderError(fault.error_code, f"Injected fault for {api}", where="emulator")
            fn = HANDLERS.get(api)
            if fn is None:
                # [U] the code CD/RO uses for an unknown request name
                raise CommanderError("InvalidRequest", f"Unknown API '{api}'")
            if api not in NO_SESSION_APIS and (session is None or session.id not in self.store.sessions):
                raise CommanderError("InvalidSession", "No valid session: log in or send credentials")
            return fn(Call(self, session), normalize(dict(args or {})))
        except (CommanderError, DroppedConnection):
            raise
        except Exception:
            log.exception("internal error in API %s", api)
            raise CommanderError("InternalError", f"Internal error while processing {api}") from None
        finally:
            self.request_log.record(api, wire)

    # ---- authentication, shared by every wire

    def authenticate(self, session_id: Optional[str] = None, user_name: Optional[str] = None,
                     password: Optional[str] = None) -> Optional[Session]:
        """The caller's session from a session id or from user/password (Basic auth); None if not valid."""
        if session_id:
            session = self.store.sessions.get(session_id)
            if session is not None:
                return session
        if user_name is not None and password is not None:
            user = self.store.users.get(user_name)
            if user is None or user.password != password:
                return None
            # Basic auth is checked per request; reuse one session per user rather than growing the store.
            with self._basic_lock:
                known = self._basic_sessions.get(user_name)
                if known and known in self.store.sessions:
                    return self.store.sessions[known]
                session = self.store.new_session(user_name)
                self._basic_sessions[user_name] = session.id
                return session
        return None


# -------------------------------------------------------------------------------------- sessions, server


@handler("login")
def _login(call: Call, args: Args) -> Dict[str, Any]:
    name, password = required(args, "userName"), arg_str(args, "password", "") or ""
    user = call.store.users.get(name)
    if user is None or user.password != password:
        # [U] code of a failed login
        raise CommanderError("InvalidCredentials", "Invalid user name or password", where="login")
    session = call.store.new_session(name)
    return {"sessionId": session.id, "userName": name}


@handler("logout")
def _logout(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        if call.session is not None:
            call.store.sessions.pop(call.session.id, None)
    return {}


@handler("getServerStatus")
def _server_status(call: Call, args: Args) -> Dict[str, Any]:
    # [U] fields beyond serverState
    return {"serverStatus": {"serverState": "running", "serverVersion": "emulator"}}


# ------------------------------------------------------------------------------------------- properties


def _properties():
    from . import properties  # written alongside; imported late so this module loads on its own

    return properties


def _property_path(args: Args) -> str:
    path = arg_str(args, "propertyName") or arg_str(args, "path")
    if not path:
        raise CommanderError("InvalidArgument", "Missing required argument 'propertyName'",
                             where="propertyName")
    return path


@handler("getProperty")
def _get_property(call: Call, args: Args) -> Dict[str, Any]:
    ctx = call.context(args)
    expand = arg_bool(args, "expand", True)
    return {"property": _properties().get_property_record(ctx, _property_path(args), expand)}


@handler("setProperty")
def _set_property(call: Call, args: Args) -> Dict[str, Any]:
    ctx = call.context(args)
    expandable = arg_bool(args, "expandable") if "expandable" in args else None
    value = arg_str(args, "value", "") or ""
    return {"property": _properties().set_property(ctx, _property_path(args), value, expandable)}


@handler("createProperty")
def _create_property(call: Call, args: Args) -> Dict[str, Any]:
    ctx = call.context(args)
    sheet = args.get("propertyType") == "sheet" or arg_bool(args, "sheet")
    record = _properties().create_property(ctx, _property_path(args), arg_str(args, "value", "") or "",
                                           arg_bool(args, "expandable", True), sheet)
    return {"property": record}


@handler("deleteProperty")
def _delete_property(call: Call, args: Args) -> Dict[str, Any]:
    _properties().delete_property(call.context(args), _property_path(args))
    return {}


@handler("getProperties")
def _get_properties(call: Call, args: Args) -> Dict[str, Any]:
    ctx = call.context(args)
    # Without a path, the sheet of the object the locators name (jobStepId, jobId, projectName, ...).
    path = arg_str(args, "path") or arg_str(args, "propertyName") or None
    props = _properties().get_properties(ctx, path, arg_bool(args, "expand", True), arg_bool(args, "recurse"))
    return {"propertySheet": {"property": props}}


@handler("expandString")
def _expand_string(call: Call, args: Args) -> Dict[str, Any]:
    value = args.get("value")
    if not isinstance(value, str):
        raise CommanderError("InvalidArgument", "Missing required argument 'value'", where="value")
    return {"value": _properties().expand(call.context(args), value)}


def json_object(raw: Any, argument: str) -> Dict[str, Any]:
    """`raw` parsed as a JSON object, or InvalidArgument naming `argument`."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise invalid(argument, f"a JSON object ({exc})") from None
    if not isinstance(value, dict):
        raise invalid(argument, "a JSON object")
    return value


# ------------------------------------------------------------------------------------------ definitions


@handler("createProject")
def _create_project(call: Call, args: Args) -> Dict[str, Any]:
    return {"project": project_record(save_project(call.store, args, "create"))}


@handler("modifyProject")
def _modify_project(call: Call, args: Args) -> Dict[str, Any]:
    return {"project": project_record(save_project(call.store, args, "modify"))}


@handler("getProject")
def _get_project(call: Call, args: Args) -> Dict[str, Any]:
    return {"project": project_record(call.store.project(required(args, "projectName")))}


@handler("getProjects")
def _get_projects(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        return {"project": [project_record(p) for p in call.store.projects.values()]}


@handler("deleteProject")
def _delete_project(call: Call, args: Args) -> Dict[str, Any]:
    name = required(args, "projectName")
    with call.store.lock:
        call.store.project(name)
        del call.store.projects[name]
    return {}


def _procedure(call: Call, args: Args) -> Procedure:
    return call.store.procedure(required(args, "projectName"), required(args, "procedureName"))


@handler("createProcedure")
def _create_procedure(call: Call, args: Args) -> Dict[str, Any]:
    return {"procedure": procedure_record(save_procedure(call.store, args, "create"))}


@handler("modifyProcedure")
def _modify_procedure(call: Call, args: Args) -> Dict[str, Any]:
    return {"procedure": procedure_record(save_procedure(call.store, args, "modify"))}


@handler("getProcedure")
def _get_procedure(call: Call, args: Args) -> Dict[str, Any]:
    return {"procedure": procedure_record(_procedure(call, args))}


@handler("getProcedures")
def _get_procedures(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        proj = call.store.project(required(args, "projectName"))
        return {"procedure": [procedure_record(p) for p in proj.procedures.values()]}


@handler("deleteProcedure")
def _delete_procedure(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        proc = _procedure(call, args)
        del call.store.project(proc.project_name).procedures[proc.name]
    return {}


@handler("createStep")
def _create_step(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        return {"step": step_record(_procedure(call, args), save_step(call.store, args, "create"))}


@handler("modifyStep")
def _modify_step(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        return {"step": step_record(_procedure(call, args), save_step(call.store, args, "modify"))}


@handler("getStep")
def _get_step(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        proc = _procedure(call, args)
        return {"step": step_record(proc, proc.step(required(args, "stepName")))}


@handler("getSteps")
def _get_steps(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        proc = _procedure(call, args)
        return {"step": [step_record(proc, s) for s in proc.steps]}


@handler("deleteStep")
def _delete_step(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        proc = _procedure(call, args)
        proc.steps.remove(proc.step(required(args, "stepName")))
    return {}


@handler("createFormalParameter")
def _create_formal_parameter(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        param = save_formal_parameter(call.store, args, "create")
        return {"formalParameter": formal_parameter_record(_procedure(call, args), param)}


@handler("modifyFormalParameter")
def _modify_formal_parameter(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        param = save_formal_parameter(call.store, args, "modify")
        return {"formalParameter": formal_parameter_record(_procedure(call, args), param)}


def _formal_parameter(proc: Procedure, name: str) -> FormalParameter:
    param = proc.formal_parameters.get(name)
    if param is None:
        raise no_such("FormalParameter", name)
    return param


@handler("getFormalParameter")
def _get_formal_parameter(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        proc = _procedure(call, args)
        param = _formal_parameter(proc, required(args, "formalParameterName"))
        return {"formalParameter": formal_parameter_record(proc, param)}


@handler("getFormalParameters")
def _get_formal_parameters(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        proc = _procedure(call, args)
        params = proc.formal_parameters.values()
        return {"formalParameter": [formal_parameter_record(proc, p) for p in params]}


@handler("deleteFormalParameter")
def _delete_formal_parameter(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        proc = _procedure(call, args)
        name = required(args, "formalParameterName")
        _formal_parameter(proc, name)
        del proc.formal_parameters[name]
    return {}


@handler("createCredential")
def _create_credential(call: Call, args: Args) -> Dict[str, Any]:
    from .model import Credential

    project_name, name = required(args, "projectName"), required(args, "credentialName")
    with call.store.lock:
        proj = call.store.project(project_name)
        if name in proj.credentials:
            raise duplicate("Credential", name)
        cred = Credential(name=name, project_name=project_name, user_name=arg_str(args, "userName", "") or "",
                          password=arg_str(args, "password", "") or "",
                          description=arg_str(args, "description", "") or "")
        proj.credentials[name] = cred
    # The password never travels back.
    return {"credential": {"credentialName": name, "credentialId": cred.id, "projectName": project_name,
                           "userName": cred.user_name, "description": cred.description}}


# ------------------------------------------------------------------------------------------------- jobs


def _credential_entries(value: Any) -> List[Dict[str, str]]:
    """runProcedure's credential list: each names a transient credential the job's parameters refer to."""
    entries = []
    for entry in as_list(value):
        if not isinstance(entry, dict) or not entry.get("credentialName"):
            raise invalid("credential", "entries with credentialName, userName and password")
        entries.append({"credentialName": str(entry["credentialName"]),
                        "userName": str(entry.get("userName", "")),
                        "password": str(entry.get("password", ""))})
    return entries


@handler("runProcedure")
def _run_procedure(call: Call, args: Args) -> Dict[str, Any]:
    project_name, proc_name = required(args, "projectName"), required(args, "procedureName")
    params = parameter_map(args.get("actualParameter"))
    credentials = _credential_entries(args.get("credential"))
    call.store.procedure(project_name, proc_name)  # NoSuchProject / NoSuchProcedure before anything starts
    job = call.dispatcher.engine.run_procedure(project_name, proc_name, dict(params), credentials,
                                               call.user_name)
    return {"jobId": job.id}


def _job(call: Call, args: Args) -> Job:
    return call.store.job(required(args, "jobId"))


@handler("getJobDetails")
def _get_job_details(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        return {"job": job_record(_job(call, args), with_steps=True)}


@handler("getJobInfo")
def _get_job_info(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        return {"job": job_record(_job(call, args), with_steps=False)}


@handler("getJobStatus")
def _get_job_status(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        job = _job(call, args)
        return {"jobId": job.id, "status": job.status, "outcome": job.outcome or ""}


@handler("getJobStepDetails")
def _get_job_step_details(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        js = call.store.job_step(required(args, "jobStepId"))
        rec = job_step_record(js)
        rec["propertySheet"] = custom_properties_record(js)
        return {"jobStep": rec}


@handler("getJobs")
def _get_jobs(call: Call, args: Args) -> Dict[str, Any]:
    filters = {key: arg_str(args, key) for key in ("projectName", "procedureName", "status")}
    max_results = arg_str(args, "maxResults")
    if max_results is not None and not max_results.isdigit():
        raise invalid("maxResults", f"a non-negative integer (got '{max_results}')")
    with call.store.lock:
        jobs = [j for j in reversed(list(call.store.jobs.values()))
                if all(value is None or getattr(j, attr) == value
                       for value, attr in ((filters["projectName"], "project_name"),
                                           (filters["procedureName"], "procedure_name"),
                                           (filters["status"], "status")))]
        if max_results is not None:
            jobs = jobs[: int(max_results)]
        return {"job": [job_record(j, with_steps=False) for j in jobs]}


@handler("abortJob")
def _abort_job(call: Call, args: Args) -> Dict[str, Any]:
    job = _job(call, args)
    call.dispatcher.engine.abort_job(job.id, force=arg_bool(args, "force"))
    with call.store.lock:
        return {"job": job_record(job, with_steps=False)}


# ------------------------------------------------------------------------------------------ DSL, plugins


@handler("evalDsl")
def _eval_dsl(call: Call, args: Args) -> Dict[str, Any]:
    from .dsl import parse_dsl

    text = required(args, "dsl")
    fmt = arg_str(args, "format", "groovy")
    if fmt != "groovy":
        raise invalid("format", f"groovy (got '{fmt}')")
    binding = None
    raw = arg_str(args, "parameters")
    if raw:
        # The script sees evalDsl's JSON parameters as `args` (promote scripts read args.pluginName).
        binding = {"args": json_object(raw, "parameters")}
    ops = parse_dsl(text, filename="<evalDsl>", binding=binding, project_name=arg_str(args, "projectName"))
    return {"value": apply_dsl_ops(call.store, ops)}


def _jar_bytes(args: Args) -> bytes:
    """installPlugin's jar: an uploaded file, base64 in `contentBase64`, or `url` naming a local file."""
    upload = args.get("file")
    if isinstance(upload, (bytes, bytearray)):
        return bytes(upload)
    encoded = arg_str(args, "contentBase64")
    if encoded:
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise invalid("contentBase64", "the jar file in base64") from None
    url = arg_str(args, "url")
    if not url:
        raise CommanderError("InvalidArgument",
                             "installPlugin needs an uploaded file, 'url' or 'contentBase64'", where="url")
    parsed = urlparse(url)
    if parsed.scheme not in ("", "file"):
        # [U] a real server can fetch http(s) URLs; the emulator never reaches the network
        raise invalid("url", f"a local path or file:// URL (got '{url}')")
    path = unquote(parsed.path) if parsed.scheme == "file" else url
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise invalid("url", f"a readable jar file ({exc.strerror}: {path})") from None


@handler("installPlugin")
def _install_plugin(call: Call, args: Args) -> Dict[str, Any]:
    from .plugins import install_plugin

    plugin = install_plugin(call.store, _jar_bytes(args), call.dispatcher.plugins_root)
    return {"plugin": plugin_record(plugin)}


@handler("promotePlugin")
def _promote_plugin(call: Call, args: Args) -> Dict[str, Any]:
    plugin = _set_promoted(call, required(args, "pluginName"), arg_bool(args, "promote", True))
    return {"plugin": plugin_record(plugin)}


@handler("demotePlugin")  # [U] ectool demotes with promotePlugin --promote 0; this alias is a convenience
def _demote_plugin(call: Call, args: Args) -> Dict[str, Any]:
    return {"plugin": plugin_record(_set_promoted(call, required(args, "pluginName"), False))}


def _set_promoted(call: Call, name: str, promote: bool) -> Plugin:
    from .plugins import mark_promoted, promotion_ops

    if promote:
        apply_dsl_ops(call.store, promotion_ops(call.store, name))
    return mark_promoted(call.store, name, promote)


def _find_plugin(store: Store, name: str) -> Plugin:
    """A plugin by its name KEY-VERSION, or by its key (the promoted version, else the newest installed)."""
    with store.lock:
        if name in store.plugins:
            return store.plugins[name]
        same_key = [p for p in store.plugins.values() if p.key == name]
        promoted = [p for p in same_key if p.promoted]
        if promoted or same_key:
            return (promoted or same_key)[-1]
    raise no_such("Plugin", name)


@handler("getPlugin")
def _get_plugin(call: Call, args: Args) -> Dict[str, Any]:
    return {"plugin": plugin_record(_find_plugin(call.store, required(args, "pluginName")))}


@handler("getPlugins")
def _get_plugins(call: Call, args: Args) -> Dict[str, Any]:
    with call.store.lock:
        return {"plugin": [plugin_record(p) for p in call.store.plugins.values()]}
