"""EnableResume / DisableResume and `ec-resume enable` / `disable`: the one core behind both, around the
pure decisions of `enable_resume`. It reads a procedure's definition (getProcedure, getSteps,
getFormalParameters, the few properties EnableResume keeps), decides, and applies the edits through the
public API: createFormalParameter, createStep (beforeProcedureStep for the first step), modifyStep,
deleteStep, deleteFormalParameter and the property APIs. The record is written before the edits, so a
run cut short is still undone by DisableResume, and a second EnableResume finishes it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, replace

from .client import CommanderApiError, NotFound
from .enable_resume import (
    KEPT_CONDITION,
    RECORD_PROPERTY,
    RECORD_SHEET,
    AddParameter,
    AddStep,
    AdoptionInputError,
    AdoptionPlan,
    AdoptionRefused,
    EnableOptions,
    EnableRecord,
    Outcome,
    ParameterDef,
    ProcedureDef,
    RemoveParameter,
    RemoveStep,
    SetCondition,
    StepDef,
    addressable,
    apply_edits,
    plan_disable,
    plan_enable,
    plan_lines,
    read_fields,
    with_subprocedures,
)
from .procedure_dsl import dsl_diff
from .rest_json import as_list

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

MAX_PROCEDURES = 100  # subprocedures followed from one procedure, calls of calls included


def _seg(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _base(project: str, procedure: str) -> str:
    return f"/projects/{_seg(project)}/procedures/{_seg(procedure)}"


def _procedure_path(project: str, procedure: str) -> str:
    return f"/projects/{project}/procedures/{procedure}"


def _step_path(project: str, procedure: str, step: str) -> str:
    return f"{_procedure_path(project, procedure)}/steps/{step}"


def _raw(client: Any, path: str) -> Optional[str]:
    """A property's text unexpanded; None when it (or the object holding it) is not there."""
    try:
        return client.get_property(path, expand=False)
    except NotFound:
        return None


# ------------------------------------------------------------------------------------------- reading


def read_procedure(client: Any, project: str, procedure: str) -> ProcedureDef:
    """The definition; AdoptionInputError naming what is missing."""
    if not project.strip() or not procedure.strip():
        raise AdoptionInputError("a project name and a procedure name are both needed")
    if not addressable(project, procedure):
        raise AdoptionInputError(f"'{project}/{procedure}': a project or procedure name with '/', '[', ']' "
                                 "or '$' cannot be named in a property path, where EnableResume keeps its "
                                 "record")
    try:
        record = client.call("getProcedure", "GET", _base(project, procedure)).get("procedure") or {}
        steps = as_list(client.call("getSteps", "GET", _base(project, procedure) + "/steps").get("step"))
        params = client.get_formal_parameters(project, procedure)
    except NotFound as exc:
        if exc.code == "NoSuchProject":
            raise AdoptionInputError(f"there is no project '{project}'") from None
        raise AdoptionInputError(f"project '{project}' has no procedure '{procedure}'") from None
    base = _procedure_path(project, procedure)
    text = _raw(client, f"{base}/{RECORD_PROPERTY}")
    return ProcedureDef(
        project=project, name=procedure,
        fields=read_fields(record, ("procedureName", "projectName")),
        parameters=tuple(ParameterDef(str(p.get("formalParameterName")),
                                      read_fields(p, ("formalParameterName", "projectName", "procedureName")))
                         for p in params),
        steps=tuple(_step(client, project, procedure, s) for s in steps if isinstance(s, Mapping)),
        record=EnableRecord.from_json(text) if text is not None else None,
        has_sheet=_raw(client, f"{base}/{RECORD_SHEET}") is not None)


def _step(client: Any, project: str, procedure: str, record: Mapping[str, Any]) -> StepDef:
    name = str(record.get("stepName") or "")
    actual = tuple((str(p.get("actualParameterName")), str(p.get("value") or ""))
                   for p in as_list(record.get("actualParameter")) if isinstance(p, Mapping))
    step = StepDef(name, read_fields(record, ("stepName", "projectName", "procedureName")), actual)
    if not addressable(name):
        return step
    path = _step_path(project, procedure, name)
    return replace(step, kept_condition=_raw(client, f"{path}/{KEPT_CONDITION}"),
                   has_sheet=_raw(client, f"{path}/{RECORD_SHEET}") is not None)


# ------------------------------------------------------------------------------------------ applying


def _apply(client: Any, plan: AdoptionPlan) -> None:
    proc = plan.procedure
    project, name = proc.project, proc.name
    base = _base(project, name)
    record_path = f"{_procedure_path(project, name)}/{RECORD_PROPERTY}"
    if plan.record is not None:
        client.set_property(record_path, plan.record.to_json(), expandable=False)
    for edit in plan.edits:
        if isinstance(edit, AddParameter):
            body = {"formalParameterName": edit.name, **dict(edit.fields)}
            client.call("createFormalParameter", "POST", base + "/formalParameters", body=body,
                        idempotent=False)
        elif isinstance(edit, RemoveParameter):
            _delete(client, "deleteFormalParameter", f"{base}/formalParameters/{_seg(edit.name)}")
        elif isinstance(edit, AddStep):
            body = {"stepName": edit.name, **dict(edit.fields)}
            if edit.before:
                body["beforeProcedureStep"] = edit.before
            client.call("createStep", "POST", base + "/steps", body=body, idempotent=False)
        elif isinstance(edit, RemoveStep):
            _delete(client, "deleteStep", f"{base}/steps/{_seg(edit.name)}")
        else:
            _set_condition(client, proc, edit)
    if plan.record is None and proc.record is not None:
        client.delete_property(record_path)
        if proc.record.sheet_created:
            client.delete_property(f"{_procedure_path(project, name)}/{RECORD_SHEET}")


def _set_condition(client: Any, proc: ProcedureDef, edit: SetCondition) -> None:
    path = _step_path(proc.project, proc.name, edit.step)
    if edit.keep is not None:  # first, so the wrapper never runs without the old condition
        client.set_property(f"{path}/{KEPT_CONDITION}", edit.keep, expandable=True)
    # [U] an empty condition clears the field (the server stores no value), as a step that never had one
    client.call("modifyStep", "PUT", f"{_base(proc.project, proc.name)}/steps/{_seg(edit.step)}",
                body={"condition": edit.condition or ""}, idempotent=True)
    if edit.drop_kept:
        client.delete_property(f"{path}/{KEPT_CONDITION}")
    if edit.drop_sheet:
        client.delete_property(f"{path}/{RECORD_SHEET}")


def _delete(client: Any, api: str, path: str) -> None:
    try:
        client.call(api, "DELETE", path, idempotent=True)
    except NotFound:  # gone already (a retry after a lost reply finds it so)
        pass


# ----------------------------------------------------------------------------------------- enabling


@dataclass(frozen=True)
class AdoptionRequest:
    project: str
    procedure: str
    options: EnableOptions = EnableOptions()
    dry_run: bool = False


def _called(client: Any, subproject: str, project: str) -> Optional[str]:
    sub = subproject.strip()
    if "$[" in sub:
        return None
    if sub.startswith("/projects/"):
        sub = sub[len("/projects/"):].strip("/")
    return sub or project


def _subprocedure_plans(client: Any, top: AdoptionPlan, options: EnableOptions,
                        lines: List[str]) -> List[AdoptionPlan]:
    """Plans for what `top` calls, calls of calls included; a line for each that is not resumable."""
    plans: List[AdoptionPlan] = []
    seen: Set[Tuple[str, str]] = {(top.procedure.project, top.procedure.name)}
    queue = [(top.procedure.project, call) for call in top.calls]
    while queue and len(seen) < MAX_PROCEDURES:
        caller_project, (subproject, subprocedure) = queue.pop(0)
        project = _called(client, subproject, caller_project)
        if project is None or "$[" in subprocedure:
            lines.append(f"note: a call of '{subprocedure}' is decided when the job runs: not checked")
            continue
        if (project, subprocedure) in seen:
            continue
        seen.add((project, subprocedure))
        if subproject.strip().startswith("/plugins/") or _is_plugin(client, project):
            lines.append(f"note: '{subprocedure}' is a plugin's procedure ({subproject or project}): "
                         "left as it is")
            continue
        try:
            plan = plan_enable(read_procedure(client, project, subprocedure), options, top_level=False)
        except AdoptionInputError as exc:
            lines.append(f"note: a called procedure cannot be read: {exc}")
            continue
        queue += [(project, call) for call in plan.calls]
        if not plan.changed and not plan.refusals:
            continue
        if not options.subprocedures:
            count = sum(1 for e in plan.edits if isinstance(e, SetCondition))
            lines.append(f"not resumable: {plan.procedure.label}, which it calls ({count} step"
                         f"{'' if count == 1 else 's'} without the run condition"
                         f"{', some with conditions of their own' if plan.refusals else ''}); "
                         "give enableSubprocedures (ec-resume: --subprocedures) to enable it too")
            continue
        plans.append(plan)
    return plans


def _is_plugin(client: Any, project: str) -> bool:
    """Whether a project is a plugin's (its record names a pluginKey); a plugin's procedures are never
    changed. A project that cannot be read is left to read_procedure to report."""
    try:
        record = client.call("getProject", "GET", f"/projects/{_seg(project)}").get("project") or {}
    except NotFound:
        return False
    return bool(isinstance(record, Mapping) and record.get("pluginKey"))


def enable(client: Any, request: AdoptionRequest) -> Outcome:
    """Make the procedure resumable (or, on a dry run, say how). Raises AdoptionInputError, AdoptionRefused
    (nothing changed) or CommanderApiError."""
    top = plan_enable(read_procedure(client, request.project, request.procedure), request.options)
    lines: List[str] = []
    subs = _subprocedure_plans(client, top, request.options, lines)
    refusals = [r for plan in [top, *subs] for r in plan.refusals]
    if refusals:
        raise AdoptionRefused("; ".join(refusals) + ": nothing changed")
    enabled = [(p.procedure.project, p.procedure.name) for p in subs if p.changed]
    if enabled:
        base = top.record or EnableRecord(sheet_created=not top.procedure.has_sheet)
        top = replace(top, record=with_subprocedures(base, enabled))
    plans = [top, *subs]
    changed = any(p.changed for p in plans)
    verb = "Would enable" if request.dry_run else "Enabled"
    body = [line for p in plans for line in plan_lines(p, verb)]
    if not changed:
        head = [f"{top.procedure.label} is resumable already: nothing changed."]
        return Outcome(lines=tuple(head + body[1:] + lines), changed=False)
    diff = "".join(dsl_diff(p.procedure, apply_edits(p.procedure, p.edits)) for p in plans if p.changed)
    if request.dry_run:
        return Outcome(lines=tuple(["Dry run: nothing changed.", *body, *lines]), diff=diff, changed=True)
    for plan in plans:
        if plan.changed or plan is top:
            _apply(client, plan)
    tail = [f"The change is recorded in {RECORD_PROPERTY} of {top.procedure.label}; DisableResume undoes it."]
    return Outcome(lines=tuple([*body, *lines, *tail]), diff=diff, changed=True)


def disable(client: Any, request: AdoptionRequest) -> Outcome:
    """Undo what EnableResume recorded on the procedure (and on the subprocedures it enabled with it)."""
    top = plan_disable(read_procedure(client, request.project, request.procedure))
    plans = [top]
    lines: List[str] = []
    for project, name in top.subprocedures:
        try:
            plans.append(plan_disable(read_procedure(client, project, name)))
        except AdoptionInputError as exc:
            lines.append(f"note: {exc}")
    verb = "Would disable" if request.dry_run else "Disabled"
    body = [line for p in plans for line in plan_lines(p, verb)]
    if top.procedure.record is None:
        return Outcome(lines=tuple(f"{n}." if not n.endswith(".") else n for n in top.notes), changed=False)
    diff = "".join(dsl_diff(p.procedure, apply_edits(p.procedure, p.edits)) for p in plans if p.changed)
    if request.dry_run:
        return Outcome(lines=tuple(["Dry run: nothing changed.", *body, *lines]), diff=diff, changed=True)
    for plan in plans:
        if plan.procedure.record is not None:
            _apply(client, plan)
    return Outcome(lines=tuple([*body, *lines]), diff=diff, changed=True)


def outcome_json(outcome: Outcome) -> Dict[str, Any]:
    return {"changed": outcome.changed, "lines": list(outcome.lines), "diff": outcome.diff}


def parse_exclude(lines: Sequence[str]) -> Tuple[str, ...]:
    """Step names, one per item or line; blank lines dropped, blanks around a name kept out."""
    return tuple(dict.fromkeys(n.strip() for text in lines for n in text.splitlines() if n.strip()))


__all__ = ["AdoptionInputError", "AdoptionRefused", "AdoptionRequest", "CommanderApiError", "disable",
           "enable", "outcome_json", "parse_exclude"]
