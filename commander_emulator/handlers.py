"""The API handlers, registered by name in `HANDLERS`: each reads its arguments, calls the backend (or the
engine, or the property layer) and renders the answer with `records`.

A new API is one function here with `@handler("apiName")`; `Dispatcher.call` finds it by that name.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import unquote, urlparse

from . import backend
from .arguments import Args, arg_bool, arg_str, as_list, json_object, parameter_map, required
from .context import Context
from .engine import Engine
from .errors import CommanderError, invalid, no_such
from .expansion import expand
from .model import Job, Procedure, Session, Store
from .plugins import install_plugin, uninstall_plugin
from .properties import (
    create_property,
    delete_property,
    get_properties,
    get_property_record,
    increment_property,
    set_property,
)
from .records import (
    credential_record,
    custom_properties_record,
    formal_output_parameter_record,
    formal_parameter_record,
    job_record,
    job_step_record,
    plugin_record,
    procedure_record,
    project_record,
    step_record,
)

Answer = Dict[str, Any]


@dataclass
class Call:
    """What a handler gets besides its arguments: the emulator's parts and the caller's session."""

    store: Store
    engine: Engine
    plugins_root: str
    session: Optional[Session]

    @property
    def user_name(self) -> Optional[str]:
        return self.session.user_name if self.session else None

    def context(self, args: Args) -> Context:
        return Context.from_args(self.store, args, self.user_name)


Handler = Callable[[Call, Args], Answer]
HANDLERS: Dict[str, Handler] = {}
NO_SESSION_APIS = ("login",)


def handler(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


# -------------------------------------------------------------------------------------- sessions, server


@handler("login")
def _login(call: Call, args: Args) -> Answer:
    name, password = required(args, "userName"), arg_str(args, "password", "") or ""
    if not call.store.check_password(name, password):
        # [U] code of a failed login
        raise CommanderError("InvalidCredentials", "Invalid user name or password", where="login")
    session = call.store.new_session(name)
    return {"sessionId": session.id, "userName": name}


@handler("logout")
def _logout(call: Call, args: Args) -> Answer:
    with call.store.lock:
        if call.session is not None:
            call.store.sessions.pop(call.session.id, None)
    return {}


@handler("getServerStatus")
def _server_status(call: Call, args: Args) -> Answer:
    # [U] fields beyond serverState
    return {"serverStatus": {"serverState": "running", "serverVersion": "emulator"}}


# ------------------------------------------------------------------------------------------- properties


def _property_path(args: Args) -> str:
    path = arg_str(args, "propertyName") or arg_str(args, "path")
    if not path:
        raise CommanderError("InvalidArgument", "Missing required argument 'propertyName'",
                             where="propertyName")
    return path


@handler("getProperty")
def _get_property(call: Call, args: Args) -> Answer:
    ctx = call.context(args)
    return {"property": get_property_record(ctx, _property_path(args), arg_bool(args, "expand", True))}


@handler("setProperty")
def _set_property(call: Call, args: Args) -> Answer:
    ctx = call.context(args)
    expandable = arg_bool(args, "expandable") if "expandable" in args else None
    value = arg_str(args, "value", "") or ""
    return {"property": set_property(ctx, _property_path(args), value, expandable)}


@handler("incrementProperty")
def _increment_property(call: Call, args: Args) -> Answer:
    # incrementBy is "required" in the API reference, yet ectool lets it be left out; 1 then [U].
    text = (arg_str(args, "incrementBy", "") or "").strip() or "1"
    try:
        by = int(text)
    except ValueError:
        raise CommanderError("InvalidArgument", f"incrementBy must be an integer, got '{text}'",
                             where="incrementBy") from None
    return {"property": increment_property(call.context(args), _property_path(args), by)}


@handler("createProperty")
def _create_property(call: Call, args: Args) -> Answer:
    ctx = call.context(args)
    sheet = args.get("propertyType") == "sheet" or arg_bool(args, "sheet")
    return {"property": create_property(ctx, _property_path(args), arg_str(args, "value", "") or "",
                                        arg_bool(args, "expandable", True), sheet)}


@handler("deleteProperty")
def _delete_property(call: Call, args: Args) -> Answer:
    delete_property(call.context(args), _property_path(args))
    return {}


@handler("getProperties")
def _get_properties(call: Call, args: Args) -> Answer:
    ctx = call.context(args)
    # Without a path, the sheet of the object the locators name (jobStepId, jobId, projectName, ...).
    path = arg_str(args, "path") or arg_str(args, "propertyName") or None
    props = get_properties(ctx, path, arg_bool(args, "expand", True), arg_bool(args, "recurse"))
    return {"propertySheet": {"property": props}}


def _output_owner(call: Call, args: Args) -> Any:
    return backend.output_parameter_owner(call.store, arg_str(args, "jobId"), arg_str(args, "jobStepId"))


def _output_parameter_record(owner: Any, name: str) -> Answer:
    return {"outputParameterName": name, "value": owner.output_parameters[name]}


@handler("setOutputParameter")
def _set_output_parameter(call: Call, args: Args) -> Answer:
    # [U] CD/RO may want a declared formalOutputParameter of the procedure; the emulator takes any name.
    name = required(args, "outputParameterName")
    value = arg_str(args, "value")
    if value is None:
        raise CommanderError("InvalidArgument", "Missing required argument 'value'", where="value")
    with call.store.lock:
        owner = _output_owner(call, args)
        owner.output_parameters[name] = value
        return {"outputParameter": _output_parameter_record(owner, name)}


@handler("getOutputParameter")
def _get_output_parameter(call: Call, args: Args) -> Answer:
    name = required(args, "outputParameterName")
    with call.store.lock:
        owner = _output_owner(call, args)
        if name not in owner.output_parameters:
            raise no_such("OutputParameter", name)
        return {"outputParameter": _output_parameter_record(owner, name)}


@handler("getOutputParameters")
def _get_output_parameters(call: Call, args: Args) -> Answer:
    with call.store.lock:
        owner = _output_owner(call, args)
        return {"outputParameter": [_output_parameter_record(owner, n) for n in owner.output_parameters]}


@handler("expandString")
def _expand_string(call: Call, args: Args) -> Answer:
    value = args.get("value")
    if not isinstance(value, str):
        raise CommanderError("InvalidArgument", "Missing required argument 'value'", where="value")
    return {"value": expand(call.context(args), value)}


# ------------------------------------------------------------------------------------------ definitions


def _procedure(call: Call, args: Args) -> Procedure:
    return call.store.procedure(required(args, "projectName"), required(args, "procedureName"))


@handler("createProject")
def _create_project(call: Call, args: Args) -> Answer:
    return {"project": project_record(backend.save_project(call.store, args, "create"))}


@handler("modifyProject")
def _modify_project(call: Call, args: Args) -> Answer:
    return {"project": project_record(backend.save_project(call.store, args, "modify"))}


@handler("getProject")
def _get_project(call: Call, args: Args) -> Answer:
    return {"project": project_record(call.store.project(required(args, "projectName")))}


@handler("getProjects")
def _get_projects(call: Call, args: Args) -> Answer:
    with call.store.lock:
        return {"project": [project_record(p) for p in call.store.projects.values()]}


@handler("deleteProject")
def _delete_project(call: Call, args: Args) -> Answer:
    backend.delete_project(call.store, required(args, "projectName"))
    return {}


@handler("createProcedure")
def _create_procedure(call: Call, args: Args) -> Answer:
    return {"procedure": procedure_record(backend.save_procedure(call.store, args, "create"))}


@handler("modifyProcedure")
def _modify_procedure(call: Call, args: Args) -> Answer:
    return {"procedure": procedure_record(backend.save_procedure(call.store, args, "modify"))}


@handler("getProcedure")
def _get_procedure(call: Call, args: Args) -> Answer:
    return {"procedure": procedure_record(_procedure(call, args))}


@handler("getProcedures")
def _get_procedures(call: Call, args: Args) -> Answer:
    with call.store.lock:
        proj = call.store.project(required(args, "projectName"))
        return {"procedure": [procedure_record(p) for p in proj.procedures.values()]}


@handler("deleteProcedure")
def _delete_procedure(call: Call, args: Args) -> Answer:
    backend.delete_procedure(call.store, required(args, "projectName"), required(args, "procedureName"))
    return {}


@handler("createStep")
def _create_step(call: Call, args: Args) -> Answer:
    with call.store.lock:
        return {"step": step_record(_procedure(call, args), backend.save_step(call.store, args, "create"))}


@handler("modifyStep")
def _modify_step(call: Call, args: Args) -> Answer:
    with call.store.lock:
        return {"step": step_record(_procedure(call, args), backend.save_step(call.store, args, "modify"))}


@handler("getStep")
def _get_step(call: Call, args: Args) -> Answer:
    with call.store.lock:
        proc = _procedure(call, args)
        return {"step": step_record(proc, proc.step(required(args, "stepName")))}


@handler("getSteps")
def _get_steps(call: Call, args: Args) -> Answer:
    with call.store.lock:
        proc = _procedure(call, args)
        return {"step": [step_record(proc, s) for s in proc.steps]}


@handler("deleteStep")
def _delete_step(call: Call, args: Args) -> Answer:
    backend.delete_step(call.store, required(args, "projectName"), required(args, "procedureName"),
                        required(args, "stepName"))
    return {}


@handler("createFormalParameter")
def _create_formal_parameter(call: Call, args: Args) -> Answer:
    with call.store.lock:
        param = backend.save_formal_parameter(call.store, args, "create")
        return {"formalParameter": formal_parameter_record(_procedure(call, args), param)}


@handler("modifyFormalParameter")
def _modify_formal_parameter(call: Call, args: Args) -> Answer:
    with call.store.lock:
        param = backend.save_formal_parameter(call.store, args, "modify")
        return {"formalParameter": formal_parameter_record(_procedure(call, args), param)}


@handler("getFormalParameter")
def _get_formal_parameter(call: Call, args: Args) -> Answer:
    with call.store.lock:
        proc = _procedure(call, args)
        param = proc.formal_parameter(required(args, "formalParameterName"))
        return {"formalParameter": formal_parameter_record(proc, param)}


@handler("getFormalParameters")
def _get_formal_parameters(call: Call, args: Args) -> Answer:
    with call.store.lock:
        proc = _procedure(call, args)
        params = proc.formal_parameters.values()
        return {"formalParameter": [formal_parameter_record(proc, p) for p in params]}


@handler("deleteFormalParameter")
def _delete_formal_parameter(call: Call, args: Args) -> Answer:
    project_name, procedure_name = required(args, "projectName"), required(args, "procedureName")
    backend.delete_formal_parameter(call.store, project_name, procedure_name,
                                    required(args, "formalParameterName"))
    return {}


def _save_formal_output_parameter(call: Call, args: Args, mode: str) -> Answer:
    with call.store.lock:
        param = backend.save_formal_output_parameter(call.store, args, mode)
        return {"formalOutputParameter": formal_output_parameter_record(_procedure(call, args), param)}


@handler("createFormalOutputParameter")
def _create_formal_output_parameter(call: Call, args: Args) -> Answer:
    return _save_formal_output_parameter(call, args, "create")


@handler("modifyFormalOutputParameter")
def _modify_formal_output_parameter(call: Call, args: Args) -> Answer:
    return _save_formal_output_parameter(call, args, "modify")


@handler("getFormalOutputParameter")
def _get_formal_output_parameter(call: Call, args: Args) -> Answer:
    with call.store.lock:
        proc = _procedure(call, args)
        param = proc.formal_output_parameter(required(args, "formalOutputParameterName"))
        return {"formalOutputParameter": formal_output_parameter_record(proc, param)}


@handler("getFormalOutputParameters")
def _get_formal_output_parameters(call: Call, args: Args) -> Answer:
    with call.store.lock:
        proc = _procedure(call, args)
        return {"formalOutputParameter": [formal_output_parameter_record(proc, p)
                                          for p in proc.formal_output_parameters.values()]}


@handler("deleteFormalOutputParameter")
def _delete_formal_output_parameter(call: Call, args: Args) -> Answer:
    backend.delete_formal_output_parameter(call.store, required(args, "projectName"),
                                           required(args, "procedureName"),
                                           required(args, "formalOutputParameterName"))
    return {}


@handler("createCredential")
def _create_credential(call: Call, args: Args) -> Answer:
    project_name, name = required(args, "projectName"), required(args, "credentialName")
    cred = backend.create_credential(call.store, project_name, name,
                                     user_name=arg_str(args, "userName", "") or "",
                                     password=arg_str(args, "password", "") or "",
                                     description=arg_str(args, "description", "") or "")
    return {"credential": credential_record(cred)}


@handler("getCredential")
def _get_credential(call: Call, args: Args) -> Answer:
    with call.store.lock:
        project = call.store.project(required(args, "projectName"))
        name = required(args, "credentialName")
        cred = project.credentials.get(name)
        if cred is None:
            raise no_such("Credential", name)
        return {"credential": credential_record(cred)}


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
def _run_procedure(call: Call, args: Args) -> Answer:
    project_name, proc_name = required(args, "projectName"), required(args, "procedureName")
    params = parameter_map(args.get("actualParameter"))
    credentials = _credential_entries(args.get("credential"))
    with call.store.lock:
        procedure = call.store.procedure(project_name, proc_name)  # NoSuch* before anything starts
        references = backend.credential_references(call.store, procedure, params,
                                                   args.get("credentialReferenceParameters"))
    # The parameter names the stored credential by its path [U]; the job holds that credential under it.
    params.update((name, path) for name, (path, _cred) in references.items())
    stored = {path: cred for path, cred in references.values()}
    job = call.engine.run_procedure(project_name, proc_name, dict(params), credentials, call.user_name or "",
                                    stored)
    return {"jobId": job.id}


def _job(call: Call, args: Args) -> Job:
    return call.store.job(required(args, "jobId"))


@handler("getJobDetails")
def _get_job_details(call: Call, args: Args) -> Answer:
    with call.store.lock:
        return {"job": job_record(_job(call, args), with_steps=True)}


@handler("getJobInfo")
def _get_job_info(call: Call, args: Args) -> Answer:
    with call.store.lock:
        return {"job": job_record(_job(call, args), with_steps=False)}


@handler("getJobStatus")
def _get_job_status(call: Call, args: Args) -> Answer:
    with call.store.lock:
        job = _job(call, args)
        return {"jobId": job.id, "status": job.status, "outcome": job.outcome or ""}


@handler("getJobStepDetails")
def _get_job_step_details(call: Call, args: Args) -> Answer:
    with call.store.lock:
        js = call.store.job_step(required(args, "jobStepId"))
        return {"jobStep": {**job_step_record(js), "propertySheet": custom_properties_record(js)}}


@handler("getJobs")
def _get_jobs(call: Call, args: Args) -> Answer:
    max_results = arg_str(args, "maxResults")
    if max_results is not None and not max_results.isdigit():
        raise invalid("maxResults", f"a non-negative integer (got '{max_results}')")
    jobs = backend.find_jobs(call.store, arg_str(args, "projectName"), arg_str(args, "procedureName"),
                             arg_str(args, "status"), None if max_results is None else int(max_results))
    with call.store.lock:
        return {"job": [job_record(j, with_steps=False) for j in jobs]}


@handler("deleteJob")
def _delete_job(call: Call, args: Args) -> Answer:
    with call.store.lock:
        job = _job(call, args)
        if job.status != "completed":
            # [U] the code and wording for deleting a job that still runs
            raise invalid("jobId", f"a completed job (job '{job.name}' is {job.status})")
        for js in job.walk():
            call.store.job_steps.pop(js.id, None)
        call.store.jobs.pop(job.id, None)
    return {}


@handler("abortJob")
def _abort_job(call: Call, args: Args) -> Answer:
    job = _job(call, args)
    call.engine.abort_job(job.id, force=arg_bool(args, "force"))
    with call.store.lock:
        return {"job": job_record(job, with_steps=False)}


# ------------------------------------------------------------------------------------------ DSL, plugins


@handler("evalDsl")
def _eval_dsl(call: Call, args: Args) -> Answer:
    text = required(args, "dsl")
    fmt = arg_str(args, "format", "groovy")
    if fmt != "groovy":
        raise invalid("format", f"groovy (got '{fmt}')")
    raw = arg_str(args, "parameters")
    # The script sees evalDsl's JSON parameters as `args` (promote scripts read args.pluginName).
    binding = {"args": json_object(raw, "parameters")} if raw else None
    return {"value": backend.eval_dsl(call.store, text, binding, arg_str(args, "projectName"))}


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
def _install_plugin(call: Call, args: Args) -> Answer:
    return {"plugin": plugin_record(install_plugin(call.store, _jar_bytes(args), call.plugins_root))}


@handler("promotePlugin")
def _promote_plugin(call: Call, args: Args) -> Answer:
    plugin = backend.set_promoted(call.store, required(args, "pluginName"), arg_bool(args, "promote", True))
    return {"plugin": plugin_record(plugin)}


@handler("uninstallPlugin")
def _uninstall_plugin(call: Call, args: Args) -> Answer:
    uninstall_plugin(call.store, required(args, "pluginName"))
    return {}


@handler("getPlugin")
def _get_plugin(call: Call, args: Args) -> Answer:
    return {"plugin": plugin_record(call.store.plugin(required(args, "pluginName")))}


@handler("getPlugins")
def _get_plugins(call: Call, args: Args) -> Answer:
    with call.store.lock:
        return {"plugin": [plugin_record(p) for p in call.store.plugins.values()]}
