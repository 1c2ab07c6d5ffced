"""The object graph a property path walks: projects, procedures, steps, users, plugins, the server,
collections of those, and custom property sheets (*nodes*), down to *values* (a custom string property, an
actual parameter or an intrinsic property). Jobs and job steps are in job_graph.py, the root of absolute
paths in graph_root.py.

Lookup order inside one object: actual parameters, custom properties, intrinsics. Facts come from
commander-api.md §4; every choice taken on trust is marked [U].
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, Iterable, List, MutableMapping, Optional, Union

from .context import Context
from .errors import CommanderError
from .model import Plugin, Procedure, Project, Property, PropertySheet, Step, Store, User

# Outcomes a step may give itself by writing its `outcome` property (commander-api.md §5, postp).
SETTABLE_OUTCOMES = ("success", "warning", "error", "skipped")

# The parts of one object a name is looked up in.
PARAMS, CUSTOM, INTRINSIC = "params", "custom", "intrinsic"
ALL_PARTS = (PARAMS, CUSTOM, INTRINSIC)


def as_flag(flag: bool) -> str:
    return "1" if flag else "0"


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


class Unset:
    """What an intrinsic getter answers for a property the object has but that holds no value yet (a running
    job's `finish`, a command step's `subprocedure`): it reads as "" in a path and as `null` in JavaScript."""


UNSET = Unset()


def optional(value: Any) -> Union[str, Unset]:
    return UNSET if value is None else str(value)


def find_key(mapping: Optional[MutableMapping[str, str]], name: str) -> Optional[str]:
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


@dataclass
class Value:
    """A string at the end of a path: a custom property, an actual parameter or an intrinsic."""

    name: str
    text: str
    expandable: bool
    id: str
    description: str = ""
    is_set: bool = True  # False for an intrinsic that holds no value (UNSET)


Resolved = Union["Node", Value]
Getter = Callable[[Any], Union[str, Unset, "Node", None]]


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
            key = find_key(params, name)
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
                if isinstance(got, Unset):
                    return Value(name, "", False, f"{self.object_id()}:{name}", is_set=False)
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
    return Value(prop.name, as_text(prop.value), prop.expandable, prop.id, prop.description)


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
            lambda name: procedure_node(n.store, n.project.name, name),
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
        "resourceName": lambda n: optional(n.procedure.resource_name),
        "workspaceName": lambda n: optional(n.procedure.workspace_name),
        "jobNameTemplate": lambda n: optional(n.procedure.job_name_template),
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
        "command": lambda n: optional(n.step.command),
        "shell": lambda n: optional(n.step.shell),
        "condition": lambda n: optional(n.step.condition),
        "precondition": lambda n: optional(n.step.precondition),
        "subprocedure": lambda n: optional(n.step.subprocedure),
        "subproject": lambda n: optional(n.step.subproject),
        "errorHandling": lambda n: n.step.error_handling,
        "alwaysRun": lambda n: as_flag(n.step.always_run),
        "parallel": lambda n: as_flag(n.step.parallel),
        "resourceName": lambda n: optional(n.step.resource_name),
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.step.properties

    def context(self, ctx: Context) -> Context:
        return Context(store=self.store, user_name=ctx.user_name, project_name=self.project_name,
                       procedure_name=self.procedure_name)


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
        "promoted": lambda n: as_flag(n.plugin.promoted),
        "projectName": lambda n: n.plugin.name,
        "project": lambda n: project_node(n.store, n.plugin.name),
    }


class ServerSettingsNode(Node):
    """`/server/settings`: the server settings a plugin reads (pluginsDirectory), read only."""

    name = "settings"
    label = "the server settings"

    def __init__(self, store: Store) -> None:
        self.store = store

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        # The folder plugins are unpacked in, also COMMANDER_PLUGINS of a step.
        "pluginsDirectory": lambda n: os.path.join(n.store.workspace_root, "plugins"),
    }


class ServerNode(Node):
    name = "server"
    label = "the server"

    def __init__(self, store: Store) -> None:
        self.store = store

    INTRINSICS: ClassVar[Dict[str, Getter]] = {
        # [U] the name agents reach the server by (COMMANDER_SERVER); a real server answers its host name.
        "hostName": lambda n: n.store.settings.server_host,
        "settings": lambda n: ServerSettingsNode(n.store),
    }

    def custom(self) -> Optional[PropertySheet]:
        return self.store.server_properties


def project_node(store: Store, name: str) -> Optional[ProjectNode]:
    project = store.projects.get(name)
    return ProjectNode(store, project) if project is not None else None


def procedure_node(store: Store, project_name: Optional[str], name: Optional[str]
                    ) -> Optional[ProcedureNode]:
    project = store.projects.get(project_name or "")
    procedure = project.procedures.get(name or "") if project is not None else None
    return ProcedureNode(store, procedure) if procedure is not None else None


def plugin_node(store: Store, key: str) -> Optional[PluginNode]:
    """`/plugins/<key>`: the promoted version of the key; a full name KEY-VERSION addresses that exact
    version, promoted or not [U]. A missing plugin reads as no such property."""
    try:
        return PluginNode(store, store.promoted_plugin(key))
    except CommanderError as err:
        if err.code == "NoSuchPlugin":
            return None
        raise
