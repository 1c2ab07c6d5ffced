"""Property paths and `$[...]` expansion, as CD/RO resolves them.

A path is walked segment by segment through *nodes* (projects, procedures, steps, jobs, job steps, users,
plugins, the server, collections of those, and custom property sheets) down to a *value* (a custom string
property, an actual parameter or an intrinsic property). Absolute paths start at the root (`/projects`,
`/jobs`, `/jobSteps`, `/users`, `/plugins`, `/server`) or at a `/my*` shortcut; relative names are looked
up through the context chain (see `_scopes`). `name[key]` segments are the same as `name/key`.

Facts come from commander-api.md §4 (property references and expansion); every choice taken on trust is
marked [U].
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, ClassVar, Dict, Iterable, List, MutableMapping, Optional, Tuple, Union

from .context import Context
from .errors import CommanderError
from .model import Job, JobStep, Plugin, Procedure, Project, Property, PropertySheet, Step, Store, User

# How deep stored values may expand into further `$[...]` references before we call it a loop.
MAX_EXPANSION_DEPTH = 32  # [U] CD/RO's own bound is not documented
# [U] CD/RO's default /timestamp pattern is not documented; this one reads well and sorts.
DEFAULT_TIMESTAMP_PATTERN = "yyyy-MM-dd HH:mm:ss"
# Outcomes a step may give itself by writing its `outcome` property (commander-api.md §5, postp).
SETTABLE_OUTCOMES = ("success", "warning", "error", "skipped")

PARAMS, CUSTOM, INTRINSIC = "params", "custom", "intrinsic"
ALL_PARTS = (PARAMS, CUSTOM, INTRINSIC)

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("property_expansion_depth", default=0)


def _bool(flag: bool) -> str:
    return "1" if flag else "0"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _find_key(mapping: Optional[MutableMapping[str, str]], name: str) -> Optional[str]:
    """Actual parameters are properties in CD/RO, so their names match case-insensitively."""
    if not mapping:
        return None
    if name in mapping:
        return name
    lowered = name.lower()
    for key in mapping:
        if key.lower() == lowered:
            return key
    return None


# ------------------------------------------------------------------------------------------ values/nodes


@dataclass
class Value:
    """A string at the end of a path: a custom property, an actual parameter or an intrinsic."""

    name: str
    text: str
    expandable: bool
    id: str
    description: str = ""


Resolved = Union["Node", Value]
Getter = Callable[[Any], Union[str, "Node", None]]


class Node:
    """Something a path can step into. Lookup order inside one object: actual parameters, custom, intrinsic.
    """

    INTRINSICS: ClassVar[Dict[str, Getter]] = {}

    name: str = ""
    label: str = ""  # for error messages, e.g. "job 'job_1'"

    # ---- what the node holds
    def custom(self) -> Optional[PropertySheet]:
        return None

    def params(self) -> Optional[MutableMapping[str, str]]:
        return None

    def object_id(self) -> str:
        sheet = self.custom()
        return sheet.id if sheet is not None else ""

    def context(self, ctx: Context) -> Context:
        """The context a path given relative to this object resolves in (JS `getProperty(obj, path)`)."""
        return ctx

    def write_intrinsic(self, name: str, value: str, path: str) -> bool:
        """Set a writable intrinsic; False when `name` is read-only here."""
        return False

    def collection_member(self, name: str) -> Optional[Node]:
        return None

    def collection_members(self) -> List[Node]:
        return []

    # ---- lookups
    def lookup(self, name: str, parts: Iterable[str] = ALL_PARTS) -> Optional[Resolved]:
        for part in parts:
            found = self._lookup_part(name, part)
            if found is not None:
                return found
        return self.collection_member(name)

    def _lookup_part(self, name: str, part: str) -> Optional[Resolved]:
        if part == PARAMS:
            params = self.params()
            key = _find_key(params, name)
            if params is not None and key is not None:
                # [U] parameter values stay expandable: a deferred-expansion parameter is expanded on read.
                return Value(key, params[key], True, f"{self.object_id()}:{key}")
        elif part == CUSTOM:
            sheet = self.custom()
            prop = sheet.get(name) if sheet is not None else None
            if prop is not None:
                return custom_resolved(prop, self)
        elif part == INTRINSIC:
            getter = self.INTRINSICS.get(name)  # intrinsic names are case-sensitive
            if getter is not None:
                got = getter(self)
                if isinstance(got, Node) or got is None:
                    return got
                # [U] intrinsic values are never expanded (a step's condition reads as written).
                return Value(name, got, False, f"{self.object_id()}:{name}")
        return None

    def children(self) -> List[Resolved]:
        """What getProperties lists: custom properties, then actual parameters they do not shadow."""
        out: List[Resolved] = []
        sheet = self.custom()
        if sheet is not None:
            out.extend(custom_resolved(prop, self) for prop in sheet)
        params = self.params()
        for key in params or {}:
            if sheet is None or key not in sheet:
                out.append(Value(key, params[key], True, f"{self.object_id()}:{key}"))  # type: ignore[index]
        out.extend(self.collection_members())
        return out


class SheetNode(Node):
    """A nested custom property sheet; paths relative to it resolve in its owner's context."""

    def __init__(self, prop: Property, owner: Optional[Node]) -> None:
        self.prop = prop
        self.owner = owner
        self.name = prop.name
        self.label = f"property sheet '{prop.name}'"

    def custom(self) -> Optional[PropertySheet]:
        return self.prop.sheet

    def context(self, ctx: Context) -> Context:
        return self.owner.context(ctx) if self.owner is not None else ctx


def custom_resolved(prop: Property, owner: Optional[Node]) -> Resolved:
    if prop.is_sheet:
        return SheetNode(prop, owner)
    return Value(prop.name, _text(prop.value), prop.expandable, prop.id, prop.description)


class CollectionNode(Node):
    """`/projects`, `/jobs`, a job's `jobSteps`, ...: members by name, no custom properties."""

    def __init__(self, name: str, label: str, find: Callable[[str], Optional[Node]],
                 members: Callable[[], List[Node]]) -> None:
        self.name = name
        self.label = label
        self._find = find
        self._members = members

    def collection_member(self, name: str) -> Optional[Node]:
        return self._find(name)

    def collection_members(self) -> List[Node]:
        return self._members()


class ProjectNode(Node):
    def __init__(self, store: Store, project: Project) -> None:
        self.store = store
        self.project = project
        self.name = project.name
        self.label = f"project '{project.name}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "projectName": lambda n: n.project.name,
        "projectId": lambda n: n.project.id,
        "description": lambda n: n.project.description,
        "pluginKey": lambda n: n.project.plugin_key,
        "procedures": lambda n: CollectionNode(
            "procedures", f"procedures of project '{n.project.name}'",
            lambda name: _procedure_node(n.store, n.project.name, name),
            lambda: [ProcedureNode(n.store, p) for p in n.project.procedures.values()]),
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.project.properties

    def context(self, ctx: Context) -> Context:
        return Context(store=self.store, user_name=ctx.user_name, project_name=self.project.name)


class ProcedureNode(Node):
    def __init__(self, store: Store, procedure: Procedure) -> None:
        self.store = store
        self.procedure = procedure
        self.name = procedure.name
        self.label = f"procedure '{procedure.name}' of project '{procedure.project_name}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "procedureName": lambda n: n.procedure.name,
        "procedureId": lambda n: n.procedure.id,
        "projectName": lambda n: n.procedure.project_name,
        "description": lambda n: n.procedure.description,
        "resourceName": lambda n: n.procedure.resource_name,
        "workspaceName": lambda n: n.procedure.workspace_name,
        "jobNameTemplate": lambda n: n.procedure.job_name_template,
        "steps": lambda n: CollectionNode(
            "steps", f"steps of {n.label}",
            lambda name: next((n.step_node(s) for s in n.procedure.steps if s.name == name), None),
            lambda: [n.step_node(s) for s in n.procedure.steps]),
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.procedure.properties

    def step_node(self, step: Step) -> StepNode:
        return StepNode(self.store, self.procedure.project_name, self.procedure.name, step)

    def context(self, ctx: Context) -> Context:
        return Context(store=self.store, user_name=ctx.user_name, project_name=self.procedure.project_name,
                       procedure_name=self.procedure.name)


class StepNode(Node):
    """A procedure step definition (`/projects/p/procedures/q/steps/s`, `/myStep`)."""

    def __init__(self, store: Store, project_name: str, procedure_name: str, step: Step) -> None:
        self.store = store
        self.project_name = project_name
        self.procedure_name = procedure_name
        self.step = step
        self.name = step.name
        self.label = f"step '{step.name}' of procedure '{procedure_name}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "stepName": lambda n: n.step.name,
        "stepId": lambda n: n.step.id,
        "projectName": lambda n: n.project_name,
        "procedureName": lambda n: n.procedure_name,
        "description": lambda n: n.step.description,
        "command": lambda n: n.step.command,
        "shell": lambda n: n.step.shell,
        "condition": lambda n: n.step.condition,
        "precondition": lambda n: n.step.precondition,
        "subprocedure": lambda n: n.step.subprocedure,
        "subproject": lambda n: n.step.subproject,
        "errorHandling": lambda n: n.step.error_handling,
        "alwaysRun": lambda n: _bool(n.step.always_run),
        "parallel": lambda n: _bool(n.step.parallel),
        "resourceName": lambda n: n.step.resource_name,
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.step.properties

    def context(self, ctx: Context) -> Context:
        return Context(store=self.store, user_name=ctx.user_name, project_name=self.project_name,
                       procedure_name=self.procedure_name)


def _job_steps_collection(label: str, steps: Callable[[], List[JobStep]]) -> CollectionNode:
    # [U] when two job steps share a name (e.g. created at run time) the first one answers.
    return CollectionNode(
        "jobSteps", label,
        lambda name: next((JobStepNode(js) for js in steps() if js.step_name == name), None),
        lambda: [JobStepNode(js) for js in steps()])


class JobNode(Node):
    def __init__(self, job: Job) -> None:
        self.job = job
        self.name = job.name
        self.label = f"job '{job.name}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "jobId": lambda n: n.job.id,
        "jobName": lambda n: n.job.name,
        "status": lambda n: n.job.status,
        "outcome": lambda n: _text(n.job.outcome),
        "projectName": lambda n: n.job.project_name,
        "procedureName": lambda n: n.job.procedure_name,
        "launchedByUser": lambda n: n.job.launched_by,
        "start": lambda n: _text(n.job.start),
        "finish": lambda n: _text(n.job.finish),
        "jobSteps": lambda n: _job_steps_collection(f"job steps of {n.label}", lambda: n.job.steps),
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.job.properties

    def params(self) -> Optional[MutableMapping[str, str]]:
        return self.job.actual_parameters

    def context(self, ctx: Context) -> Context:
        return Context(store=ctx.store, user_name=ctx.user_name, job=self.job,
                       project_name=self.job.project_name, procedure_name=self.job.procedure_name)


def _step_outcome(js: JobStep) -> str:
    # The recorded outcome; while the step still runs, what it asked for, so a step reads back its own
    # write [U].
    return _text(js.outcome if js.outcome is not None else js.outcome_override)


class JobStepNode(Node):
    def __init__(self, js: JobStep) -> None:
        self.js = js
        self.name = js.step_name
        self.label = f"job step '{js.path()}' of job '{js.job.name}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "jobStepId": lambda n: n.js.id,
        "stepName": lambda n: n.js.step_name,
        "status": lambda n: n.js.status,
        "outcome": lambda n: _step_outcome(n.js),
        "exitCode": lambda n: _text(n.js.exit_code),
        "start": lambda n: _text(n.js.start),
        "finish": lambda n: _text(n.js.finish),
        "parent": lambda n: JobStepNode(n.js.parent) if n.js.parent is not None else None,
        "jobSteps": lambda n: _job_steps_collection(f"job steps of {n.label}", lambda: n.js.children),
        "jobId": lambda n: n.js.job.id,
        "jobName": lambda n: n.js.job.name,
        "projectName": lambda n: n.js.project_name,
        "procedureName": lambda n: n.js.procedure_name,
        "resourceName": lambda n: n.js.resource_name,
        "condition": lambda n: _text(n.js.condition if n.js.condition is not None else n.js.step.condition),
        "command": lambda n: _text(n.js.command if n.js.command is not None else n.js.step.command),
        "shell": lambda n: _text(n.js.shell if n.js.shell is not None else n.js.step.shell),
        "errorHandling": lambda n: n.js.step.error_handling,
        "alwaysRun": lambda n: _bool(n.js.step.always_run),
        "subprocedure": lambda n: n.js.called_procedure,
        "subproject": lambda n: n.js.called_project,
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.js.properties

    def params(self) -> Optional[MutableMapping[str, str]]:
        return self.js.call_parameters if self.js.is_call else None

    def context(self, ctx: Context) -> Context:
        return Context(store=ctx.store, user_name=ctx.user_name, job=self.js.job, job_step=self.js,
                       project_name=self.js.project_name, procedure_name=self.js.procedure_name)

    def write_intrinsic(self, name: str, value: str, path: str) -> bool:
        if name != "outcome":
            return False
        if value not in SETTABLE_OUTCOMES:
            raise CommanderError("InvalidPropertyValue",
                                 f"Invalid outcome '{value}' for '{path}': expected one of "
                                 + ", ".join(SETTABLE_OUTCOMES))
        self.js.outcome_override = value
        return True


class CallNode(Node):
    """`/myCall`: the actual parameters of the nearest enclosing call; its owner holds custom ones."""

    def __init__(self, name: str, label: str, params: MutableMapping[str, str], sheet: PropertySheet) -> None:
        self.name = name
        self.label = label
        self._params = params
        self._sheet = sheet

    def params(self) -> Optional[MutableMapping[str, str]]:
        return self._params

    def custom(self) -> Optional[PropertySheet]:
        return self._sheet


class UserNode(Node):
    def __init__(self, user: User) -> None:
        self.user = user
        self.name = user.name
        self.label = f"user '{user.name}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "userName": lambda n: n.user.name,
        "fullUserName": lambda n: n.user.full_name,
        "email": lambda n: n.user.email,
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.user.properties


class PluginNode(Node):
    def __init__(self, store: Store, plugin: Plugin) -> None:
        self.store = store
        self.plugin = plugin
        self.name = plugin.key
        self.label = f"plugin '{plugin.key}'"

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        "pluginKey": lambda n: n.plugin.key,
        "pluginVersion": lambda n: n.plugin.version,
        "pluginName": lambda n: n.plugin.name,
        "label": lambda n: n.plugin.label,
        "description": lambda n: n.plugin.description,
        "promoted": lambda n: _bool(n.plugin.promoted),
        "projectName": lambda n: n.plugin.name,
        "project": lambda n: _project_node(n.store, n.plugin.name),
    }


class ServerNode(Node):
    name = "server"
    label = "the server"

    def __init__(self, store: Store) -> None:
        self.store = store

    def custom(self) -> Optional[PropertySheet]:
        return self.store.server_properties


def _project_node(store: Store, name: str) -> Optional[ProjectNode]:
    project = store.projects.get(name)
    return ProjectNode(store, project) if project is not None else None


def _procedure_node(store: Store, project_name: Optional[str], name: Optional[str]
                    ) -> Optional[ProcedureNode]:
    project = store.projects.get(project_name or "")
    procedure = project.procedures.get(name or "") if project is not None else None
    return ProcedureNode(store, procedure) if procedure is not None else None


def _job_node(store: Store, id_or_name: str) -> Optional[JobNode]:
    job = store.jobs.get(id_or_name)
    if job is None:
        job = next((j for j in store.jobs.values() if j.name == id_or_name), None)
    return JobNode(job) if job is not None else None


def _plugin_node(store: Store, key: str) -> Optional[PluginNode]:
    promoted = next((p for p in store.plugins.values() if p.key == key and p.promoted), None)
    # [U] a full plugin name (KEY-VERSION) also addresses that exact version, promoted or not.
    plugin = promoted or store.plugins.get(key)
    return PluginNode(store, plugin) if plugin is not None else None


class RootNode(Node):
    name = ""
    label = "the server root"

    def __init__(self, store: Store) -> None:
        self.store = store

    def collection_member(self, name: str) -> Optional[Node]:
        s = self.store
        if name == "projects":
            return CollectionNode("projects", "projects", lambda n: _project_node(s, n),
                                  lambda: [ProjectNode(s, p) for p in s.projects.values()])
        if name == "jobs":
            return CollectionNode("jobs", "jobs", lambda n: _job_node(s, n),
                                  lambda: [JobNode(j) for j in s.jobs.values()])
        if name == "jobSteps":
            return CollectionNode("jobSteps", "job steps",
                                  lambda n: JobStepNode(s.job_steps[n]) if n in s.job_steps else None,
                                  lambda: [JobStepNode(js) for js in s.job_steps.values()])
        if name == "users":
            return CollectionNode("users", "users",
                                  lambda n: UserNode(s.users[n]) if n in s.users else None,
                                  lambda: [UserNode(u) for u in s.users.values()])
        if name == "plugins":
            return CollectionNode("plugins", "plugins", lambda n: _plugin_node(s, n),
                                  lambda: [PluginNode(s, p) for p in s.plugins.values() if p.promoted])
        if name == "server":
            return ServerNode(s)
        return None


# ---------------------------------------------------------------------------------------- shortcuts


def _enclosing_call(ctx: Context) -> Optional[CallNode]:
    """`/myCall`: the subprocedure call around the current step, or the job's own call at top level [U]."""
    js = ctx.job_step
    if js is not None and js.parent is not None:
        call = js.parent
        return CallNode("myCall", f"call of '{call.called_procedure}' by {JobStepNode(call).label}",
                        call.call_parameters, call.properties)
    if ctx.job is not None:
        return CallNode("myCall", f"call of procedure '{ctx.job.procedure_name}' by job '{ctx.job.name}'",
                        ctx.job.actual_parameters, ctx.job.properties)
    return None


def _my_user(ctx: Context) -> Optional[Node]:
    name = ctx.user_name or (ctx.job.launched_by if ctx.job is not None else None)
    user = ctx.store.users.get(name or "")
    return UserNode(user) if user is not None else None


def _my_parent(ctx: Context) -> Optional[Node]:
    js = ctx.job_step
    if js is None:
        return None
    # [U] at the top level of a job, /myParent is the job itself.
    return JobStepNode(js.parent) if js.parent is not None else JobNode(js.job)


SHORTCUTS: Dict[str, Callable[[Context], Optional[Node]]] = {
    "myJob": lambda c: JobNode(c.job) if c.job is not None else None,
    "myJobStep": lambda c: JobStepNode(c.job_step) if c.job_step is not None else None,
    "myParent": _my_parent,
    "myCall": _enclosing_call,
    "myProject": lambda c: _project_node(c.store, c.project_name or ""),
    "myProcedure": lambda c: _procedure_node(c.store, c.project_name, c.procedure_name),
    "myStep": lambda c: (None if c.job_step is None else StepNode(
        c.store, c.job_step.project_name, c.job_step.procedure_name, c.job_step.step)),
    "myUser": _my_user,
}


def shortcut(ctx: Context, name: str) -> Optional[Node]:
    """The object a `/my*` shortcut names in this context, or None (shortcut names are case-sensitive [U])."""
    make = SHORTCUTS.get(name)
    return make(ctx) if make is not None else None


# ------------------------------------------------------------------------------------------ paths


def parse_path(path: str) -> Tuple[bool, List[str]]:
    """Split a property path into (absolute, segments); `a[b c]/d` gives ["a", "b c", "d"].

    Empty segments (`a//b`, a trailing `/`) are dropped. A bracketed key may hold `/` and nested brackets.
    """
    segments: List[str] = []
    current: List[str] = []
    i = 0
    while i < len(path):
        ch = path[i]
        if ch == "/":
            segments.append("".join(current))
            current = []
        elif ch == "[":
            end = matching_bracket(path, i)
            if end < 0:
                raise CommanderError("InvalidPropertyName",
                                     f"Invalid property path '{path}': '[' at offset {i} has no matching ']'")
            segments.append("".join(current))
            segments.append(path[i + 1:end])
            current = []
            i = end
        else:
            current.append(ch)
        i += 1
    segments.append("".join(current))
    return path.startswith("/"), [s for s in segments if s != ""]


def matching_bracket(text: str, open_index: int) -> int:
    """Index of the `]` closing the `[` at open_index (brackets nest), or -1."""
    depth = 0
    for i in range(open_index, len(text)):
        if text[i] == "[":
            depth += 1
        elif text[i] == "]":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _walk(start: Resolved, segments: List[str], first_parts: Iterable[str] = ALL_PARTS
          ) -> Tuple[Optional[Resolved], int]:
    """Follow segments from start; returns (what was reached or None, how many segments matched)."""
    current: Optional[Resolved] = start
    for i, seg in enumerate(segments):
        if not isinstance(current, Node):
            return None, i
        current = current.lookup(seg, first_parts if i == 0 else ALL_PARTS)
        if current is None:
            return None, i
    return current, len(segments)


def _scopes(ctx: Context) -> List[Tuple[Node, Tuple[str, ...]]]:
    """Where a relative name is looked up, in order [U: the order the emulator fixes, see README]:
    the job step's custom properties (and a call step's own parameters); the actual parameters of each
    enclosing call, innermost first; the job (actual parameters, custom, intrinsic); the procedure; the
    project; finally the job step's intrinsics (so `$[resourceName]` works without letting
    `resourceName` shadow a subprocedure's parameter)."""
    store = ctx.store
    scopes: List[Tuple[Node, Tuple[str, ...]]] = []
    js = ctx.job_step
    if js is not None:
        scopes.append((JobStepNode(js), (CUSTOM, PARAMS)))  # a call step's own parameters are its own
        call = js.parent
        while call is not None:
            scopes.append((JobStepNode(call), (PARAMS,)))
            call = call.parent
    if ctx.job is not None:
        scopes.append((JobNode(ctx.job), ALL_PARTS))
    procedure = _procedure_node(store, ctx.project_name, ctx.procedure_name)
    if procedure is not None:
        scopes.append((procedure, (CUSTOM, INTRINSIC)))
    project = _project_node(store, ctx.project_name or "")
    if project is not None:
        scopes.append((project, (CUSTOM, INTRINSIC)))
    if js is not None:
        scopes.append((JobStepNode(js), (INTRINSIC,)))
    return scopes


def _missing(path: str, reason: str) -> CommanderError:
    return CommanderError("NoSuchProperty", f"Invalid property path: '{path}': {reason}")


def _resolve_or_error(ctx: Context, path: str) -> Resolved:
    absolute, segments = parse_path(path)
    if not segments:
        if absolute:
            raise _missing(path, "the root is not a property")
        raise CommanderError("InvalidPropertyName", "Invalid property path '': expected a property name")
    if absolute or segments[0] in SHORTCUTS:
        start: Node = RootNode(ctx.store)
        if segments[0] in SHORTCUTS:
            node = shortcut(ctx, segments[0])
            if node is None:
                raise _missing(path, f"'{segments[0]}' names nothing in this context")
            start, segments = node, segments[1:]
        found, matched = _walk(start, segments)
        if found is None:
            where = start if matched == 0 else _walk(start, segments[:matched])[0]
            label = where.label if isinstance(where, Node) else f"string property '{segments[matched - 1]}'"
            raise _missing(path, f"no property '{segments[matched]}' in {label}")
        return found
    for node, parts in _scopes(ctx):
        found, _ = _walk(node, segments, parts)
        if found is not None:
            return found
    raise _missing(path, "Evaluation failed. Found no match in any context")


def resolve(ctx: Context, path: str) -> Optional[Resolved]:
    """The node or value a path names, or None when nothing is there (a missing object counts as missing)."""
    try:
        return _resolve_or_error(ctx, path)
    except CommanderError as err:
        if err.code == "NoSuchProperty":
            return None
        raise


def value_text(ctx: Context, value: Resolved, expand: bool = True) -> str:
    """The string a path's target reads as. A sheet or object reads as "" [U]."""
    if not isinstance(value, Value):
        return ""
    if expand and value.expandable and "$[" in value.text:
        return _expand_stored(ctx, value.text, value.name)
    return value.text


def _home(ctx: Context, path: str) -> Node:
    """Where a relative write lands: the most specific object of the context [U]."""
    if ctx.job_step is not None:
        return JobStepNode(ctx.job_step)
    if ctx.job is not None:
        return JobNode(ctx.job)
    node = _procedure_node(ctx.store, ctx.project_name, ctx.procedure_name) or _project_node(
        ctx.store, ctx.project_name or "")
    if node is None:
        raise CommanderError("InvalidPropertyName",
                             f"Relative property path '{path}' needs a context: expected jobStepId, jobId "
                             "or projectName")
    return node


def _parent_for_write(ctx: Context, path: str, create_sheets: bool) -> Tuple[Node, str]:
    """The node that holds the last segment of path, creating missing custom sheets on the way if asked."""
    absolute, segments = parse_path(path)
    if not segments:
        raise CommanderError("InvalidPropertyName",
                             f"Invalid property path '{path}': expected a property name")
    if segments[0] in SHORTCUTS:
        node = shortcut(ctx, segments[0])
        if node is None:
            raise _missing(path, f"'{segments[0]}' names nothing in this context")
        segments = segments[1:]
        if not segments:
            raise CommanderError("InvalidPropertyName", f"'{path}' names an object, not a property")
    elif absolute:
        node = RootNode(ctx.store)
    else:
        node = _home(ctx, path)
    for seg in segments[:-1]:
        nxt = node.lookup(seg)
        if nxt is None and create_sheets and node.custom() is not None:
            sheet = node.custom()
            assert sheet is not None
            sheet.ensure_sheet(seg)
            nxt = node.lookup(seg, (CUSTOM,))
        if nxt is None:
            raise _missing(path, f"no property '{seg}' in {node.label}")
        if not isinstance(nxt, Node):
            raise CommanderError("InvalidPropertyValue",
                                 f"Invalid property path '{path}': '{seg}' is a string property, not a sheet")
        node = nxt
    return node, segments[-1]


def _read_only(path: str, node: Node) -> CommanderError:
    # [U] error code for writing an intrinsic
    return CommanderError("InvalidPropertyValue",
                          f"Property '{path}' is a read-only intrinsic property of {node.label}")


# ---------------------------------------------------------------------------------------- records


def record(item: Resolved, ctx: Optional[Context] = None, expand: bool = False, recurse: bool = False
           ) -> Dict[str, Any]:
    """The wire record of a property or sheet (what getProperty/getProperties return)."""
    if isinstance(item, Value):
        text = value_text(ctx, item, expand) if ctx is not None else item.text
        return {"propertyName": item.name, "value": text, "expandable": _bool(item.expandable),
                "propertyId": item.id, "description": item.description}
    prop = item.prop if isinstance(item, SheetNode) else None
    rec: Dict[str, Any] = {"propertyName": item.name, "propertySheetId": item.object_id(),
                           "expandable": _bool(prop.expandable if prop else True),
                           "propertyId": prop.id if prop else item.object_id(),
                           "description": prop.description if prop else ""}
    if recurse:
        children = [record(child, ctx, expand, recurse) for child in item.children()]
        rec["propertySheet"] = {"property": children}
    return rec


# ------------------------------------------------------------------------------------- public API


def get_property(ctx: Context, path: str, expand: bool = True) -> str:
    """The value of a custom or intrinsic property; NoSuchProperty when nothing is there."""
    with ctx.store.lock:
        return value_text(ctx, _resolve_or_error(ctx, path), expand)


def get_property_record(ctx: Context, path: str, expand: bool = True) -> Dict[str, Any]:
    with ctx.store.lock:
        return record(_resolve_or_error(ctx, path), ctx, expand)


def set_property(ctx: Context, path: str, value: str, expandable: Optional[bool] = None) -> Dict[str, Any]:
    """Create or overwrite a property (missing intermediate sheets are created [U]); intrinsics are read-only
    except a job step's `outcome`. An actual parameter of that name is overwritten in place [U: in CD/RO a
    job's parameters are properties of the job]."""
    value = _text(value)
    with ctx.store.lock:
        node, name = _parent_for_write(ctx, path, create_sheets=True)
        params = node.params()
        key = _find_key(params, name)
        if params is not None and key is not None:
            params[key] = value
            return record(Value(key, value, True, f"{node.object_id()}:{key}"))
        sheet = node.custom()
        if (sheet is None or name not in sheet) and name in node.INTRINSICS:
            if not node.write_intrinsic(name, value, path):
                raise _read_only(path, node)
            return record(Value(name, value, False, f"{node.object_id()}:{name}"))
        if sheet is None:
            raise CommanderError("InvalidPropertyName",
                                 f"Cannot set '{path}': {node.label} holds no properties")
        return record(custom_resolved(sheet.set_value(name, value, expandable), node))


def create_property(ctx: Context, path: str, value: str = "", expandable: bool = True, sheet: bool = False
                    ) -> Dict[str, Any]:
    """Create a property or (sheet=True) an empty sheet; DuplicatePropertyName if the name is taken."""
    with ctx.store.lock:
        node, name = _parent_for_write(ctx, path, create_sheets=True)
        if node.lookup(name) is not None:
            raise CommanderError("DuplicatePropertyName", f"Property '{path}' already exists in {node.label}")
        target = node.custom()
        if target is None:
            raise CommanderError("InvalidPropertyName",
                                 f"Cannot create '{path}': {node.label} holds no properties")
        if sheet:
            target.ensure_sheet(name)
        else:
            target.set_value(name, _text(value), expandable)
        prop = target.get(name)
        assert prop is not None
        prop.expandable = expandable
        return record(custom_resolved(prop, node))


def delete_property(ctx: Context, path: str) -> None:
    with ctx.store.lock:
        node, name = _parent_for_write(ctx, path, create_sheets=False)
        target = node.custom()
        if target is not None and name in target:
            target.delete(name)
            return
        if node.lookup(name) is not None:
            raise CommanderError("InvalidPropertyValue",
                                 f"Cannot delete '{path}': it is not a custom property")
        raise _missing(path, f"no property '{name}' in {node.label}")


def get_properties(ctx: Context, path: Optional[str], expand: bool = True, recurse: bool = False
                   ) -> List[Dict[str, Any]]:
    """Records of a sheet's children; path None lists the context object's own properties."""
    with ctx.store.lock:
        node = _home(ctx, "") if path is None else _resolve_or_error(ctx, path)
        if not isinstance(node, Node):
            raise CommanderError("InvalidPropertyValue",
                                 f"'{path}' is a string property, not a property sheet")
        return [record(child, ctx, expand, recurse) for child in node.children()]


# -------------------------------------------------------------------------------------- expansion


def expand(ctx: Context, text: str) -> str:
    """Replace every `$[...]` in text (inner references first); text outside references is kept as is."""
    with ctx.store.lock:
        return _expand_text(ctx, text)


def _expand_text(ctx: Context, text: str) -> str:
    out: List[str] = []
    i = 0
    while True:
        start = text.find("$[", i)
        if start < 0:
            out.append(text[i:])
            return "".join(out)
        end = matching_bracket(text, start + 1)
        if end < 0:
            raise CommanderError("ExpansionError",  # [U] error code
                                 f"Unbalanced '$[' at offset {start} in '{text}': expected a closing ']'")
        out.append(text[i:start])
        out.append(_evaluate_reference(ctx, _expand_text(ctx, text[start + 2:end])))
        i = end + 1


def _expand_stored(ctx: Context, text: str, name: str) -> str:
    """Expand a stored value: one level deeper, so self-reference ends in a clear error, not a hang."""
    depth = _depth.get()
    if depth >= MAX_EXPANSION_DEPTH:
        raise CommanderError("ExpansionError",  # [U] error code
                             f"Expanding property '{name}' went {MAX_EXPANSION_DEPTH} references deep: "
                             "expected no reference cycle")
    token = _depth.set(depth + 1)
    try:
        return _expand_text(ctx, text)
    finally:
        _depth.reset(token)


_SPECIAL = re.compile(r"^/(javascript|increment|timestamp)(?:\s+|$)(.*)$", re.DOTALL)


def _evaluate_reference(ctx: Context, reference: str) -> str:
    special = _SPECIAL.match(reference.lstrip())
    if special is None:
        # [U] blanks around a path are ignored
        return value_text(ctx, _resolve_or_error(ctx, reference.strip()), True)
    form, argument = special.group(1), special.group(2)
    if form == "javascript":
        from . import javascript  # javascript imports this module

        return javascript.evaluate(ctx, argument)
    if form == "increment":
        return _increment(ctx, argument.strip())
    # [U] the server's local time zone
    return format_java_timestamp(argument.strip() or DEFAULT_TIMESTAMP_PATTERN, datetime.now().astimezone())


def _increment(ctx: Context, path: str) -> str:
    if not path:
        raise CommanderError("InvalidPropertyName", "'$[/increment]' needs a property path: expected "
                                                    "'$[/increment <path>]'")
    current = resolve(ctx, path)
    if current is None:
        new = 1  # [U] a missing property is created at 1
    elif isinstance(current, Value) and re.fullmatch(r"\s*-?\d+\s*", current.text):
        new = int(current.text) + 1
    else:
        shown = current.text if isinstance(current, Value) else "a property sheet"
        raise CommanderError("InvalidPropertyValue",
                             f"Cannot increment '{path}': it holds '{shown}', expected an integer")
    set_property(ctx, path, str(new))
    return str(new)


# ------------------------------------------------------------------------------------- timestamps

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _java_field(letter: str, count: int, t: datetime) -> str:
    def num(n: int) -> str:
        return str(n).zfill(count)

    if letter == "y":
        return str(t.year % 100).zfill(2) if count == 2 else num(t.year)
    if letter == "M":
        if count >= 4:
            return _MONTHS[t.month - 1]
        return _MONTHS[t.month - 1][:3] if count == 3 else num(t.month)
    if letter == "E":
        return _DAYS[t.weekday()] if count >= 4 else _DAYS[t.weekday()][:3]
    if letter == "a":
        return "AM" if t.hour < 12 else "PM"
    if letter == "z":
        return t.tzname() or ""
    if letter == "Z":
        return t.strftime("%z")
    numbers = {"d": t.day, "H": t.hour, "h": (t.hour % 12) or 12, "k": t.hour or 24, "K": t.hour % 12,
               "m": t.minute, "s": t.second, "S": t.microsecond // 1000, "D": t.timetuple().tm_yday}
    if letter in numbers:
        return num(numbers[letter])
    raise CommanderError("InvalidArgument",
                         f"Unsupported letter '{letter}' in timestamp pattern: expected a Java date pattern "
                         "of y M d H h m s S E a z Z D")


def format_java_timestamp(pattern: str, moment: datetime) -> str:
    """Format moment with a Java SimpleDateFormat pattern ('quoted' text is literal, '' is a quote)."""
    out: List[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            if pattern.startswith("''", i):
                out.append("'")
                i += 2
                continue
            end = pattern.find("'", i + 1)
            if end < 0:
                raise CommanderError("InvalidArgument", f"Unterminated quote in timestamp pattern "
                                                        f"'{pattern}': expected a closing '")
            out.append(pattern[i + 1:end])
            i = end + 1
        elif ch.isascii() and ch.isalpha():
            run = i
            while run < len(pattern) and pattern[run] == ch:
                run += 1
            out.append(_java_field(ch, run - i, moment))
            i = run
        else:
            out.append(ch)
            i += 1
    return "".join(out)
