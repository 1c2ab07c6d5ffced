"""How objects are rendered in API answers: plain dicts of strings shaped like CD/RO's XML.

Booleans are "1"/"0", numbers strings, lists under the singular key. Both wires render these dicts, so
a record is built once, here, for every API that shows that kind of object.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Sequence

from .job_graph import JobNode, JobStepNode
from .model import (
    Credential,
    FormalOutputParameter,
    FormalParameter,
    Job,
    JobStep,
    Plugin,
    Procedure,
    Project,
    Step,
)
from .properties import custom_resolved, record
from .schema import FORMAL_OUTPUT_PARAMETER, FORMAL_PARAMETER, PROCEDURE, PROJECT, STEP, Field, flag

Record = Dict[str, Any]


def render_fields(obj: Any, fields: Sequence[Field]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for f in fields:
        value = getattr(obj, f.attr)
        if value is None:
            continue
        out[f.arg] = flag(value) if f.kind == "bool" else str(value)
    return out


def parameter_list(params: OrderedDict[str, str]) -> List[Dict[str, str]]:
    return [{"actualParameterName": k, "value": v} for k, v in params.items()]


def project_record(proj: Project) -> Record:
    rec = {"projectName": proj.name, "projectId": proj.id, **render_fields(proj, PROJECT.fields)}
    if proj.plugin_key:
        rec["pluginKey"] = proj.plugin_key
    return rec


def procedure_record(proc: Procedure) -> Record:
    return {"procedureName": proc.name, "projectName": proc.project_name, "procedureId": proc.id,
            **render_fields(proc, PROCEDURE.fields)}


def step_record(proc: Procedure, step: Step) -> Record:
    rec: Record = {"stepName": step.name, "stepId": step.id, "projectName": proc.project_name,
                   "procedureName": proc.name, **render_fields(step, STEP.fields)}
    if step.actual_parameters:
        rec["actualParameter"] = parameter_list(step.actual_parameters)
    return rec


def formal_parameter_record(proc: Procedure, param: FormalParameter) -> Record:
    return {"formalParameterName": param.name, "formalParameterId": param.id,
            "projectName": proc.project_name, "procedureName": proc.name,
            **render_fields(param, FORMAL_PARAMETER.fields)}


def formal_output_parameter_record(proc: Procedure, param: FormalOutputParameter) -> Record:
    return {"formalOutputParameterName": param.name, "formalOutputParameterId": param.id,
            "projectName": proc.project_name, "procedureName": proc.name,
            **render_fields(param, FORMAL_OUTPUT_PARAMETER.fields)}


def credential_record(cred: Credential) -> Record:
    # The password never travels back.
    return {"credentialName": cred.name, "credentialId": cred.id, "projectName": cred.project_name,
            "userName": cred.user_name, "description": cred.description}


def plugin_record(plugin: Plugin) -> Record:
    return {"pluginName": plugin.name, "pluginKey": plugin.key, "pluginVersion": plugin.version,
            "projectName": plugin.name, "label": plugin.label, "description": plugin.description,
            "author": plugin.author, "category": plugin.category, "promoted": flag(plugin.promoted)}


def custom_properties_record(owner: Any) -> Record:
    """The custom properties of a job or job step (raw values, sheets nested) in getProperties' shape."""
    node = JobNode(owner) if isinstance(owner, Job) else JobStepNode(owner)
    return {"property": [record(custom_resolved(prop, node), None, False, True) for prop in owner.properties]}


def output_parameters_record(params: Mapping[str, str]) -> Record:
    """[U] How a job or call step shows its output parameters: one list, like its actual parameters."""
    return {"outputParameter": [{"outputParameterName": k, "value": v} for k, v in params.items()]}


def _put(rec: Record, key: str, value: Any) -> None:
    if value is not None:
        rec[key] = value if isinstance(value, (str, list, dict)) else str(value)


def job_record(job: Job, with_steps: bool) -> Record:
    rec: Record = {"jobId": job.id, "jobName": job.name, "status": job.status,
                   # [U] outcome of a job that is still running: "" until the engine decides it
                   "outcome": job.outcome or "", "projectName": job.project_name,
                   "procedureName": job.procedure_name, "launchedByUser": job.launched_by}
    _put(rec, "start", job.start)
    _put(rec, "finish", job.finish)
    _put(rec, "abortStatus", job.abort_status)  # after abortJob: ABORT [U] or FORCE_ABORT
    rec["actualParameter"] = parameter_list(job.actual_parameters)
    if len(job.properties):
        rec["propertySheet"] = custom_properties_record(job)
    if job.output_parameters:
        rec["outputParameters"] = output_parameters_record(job.output_parameters)
    if with_steps:
        rec["jobStep"] = [job_step_record(js) for js in job.steps]
    return rec


def job_step_record(js: JobStep) -> Record:
    """A job step with, for a subprocedure call, the whole tree of steps it called."""
    step = js.step
    rec: Record = {"jobStepId": js.id, "jobId": js.job.id, "stepName": js.step_name,
                   "status": js.status, "outcome": js.outcome or ""}
    _put(rec, "exitCode", js.exit_code)
    _put(rec, "start", js.start)
    _put(rec, "finish", js.finish)
    _put(rec, "condition", js.effective_condition)
    _put(rec, "runConditionResult", js.run_condition_result)
    rec["alwaysRun"] = flag(step.always_run)
    rec["errorHandling"] = step.error_handling
    rec["parallel"] = flag(step.parallel)
    _put(rec, "command", js.effective_command)
    _put(rec, "shell", js.effective_shell)
    _put(rec, "subprocedure", step.subprocedure)
    _put(rec, "subproject", step.subproject)
    _put(rec, "resourceName", js.resource_name)
    _put(rec, "errorMessage", js.error_message)
    if js.output_parameters:
        rec["outputParameters"] = output_parameters_record(js.output_parameters)
    if js.parent is not None:
        rec["parentJobStepId"] = js.parent.id
    if js.log_path:
        rec["logFileName"] = os.path.basename(js.log_path)
    if js.is_call:
        rec["calledProcedure"] = {"projectName": js.called_project or js.project_name,
                                  "procedureName": js.called_procedure,
                                  "actualParameter": parameter_list(js.call_parameters),
                                  "jobStep": [job_step_record(child) for child in js.children]}
    return rec
