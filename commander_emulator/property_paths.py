"""Where a property path leads, and writing there.

Absolute paths start at the root (`/projects`, `/jobs`, `/jobSteps`, `/users`, `/plugins`, `/server`) or at a
`/my*` shortcut; relative names are looked up through the context chain (see `_scopes`). `name[key]`
segments are the same as `name/key`. Reading a value's text (with `$[...]` expansion) is expansion.py's job.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from .context import Context
from .errors import CommanderError
from .graph_root import RootNode
from .job_graph import JobNode, JobStepNode
from .property_graph import (
    ALL_PARTS,
    CUSTOM,
    INTRINSIC,
    PARAMS,
    CallNode,
    Node,
    Resolved,
    StepNode,
    UserNode,
    Value,
    as_text,
    custom_resolved,
    find_key,
    procedure_node,
    project_node,
)

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
    "myProject": lambda c: project_node(c.store, c.project_name or ""),
    "myProcedure": lambda c: procedure_node(c.store, c.project_name, c.procedure_name),
    "myStep": lambda c: (None if c.job_step is None else StepNode(
        c.store, c.job_step.project_name, c.job_step.procedure_name, c.job_step.step)),
    "myUser": _my_user,
}


def shortcut(ctx: Context, name: str) -> Optional[Node]:
    """The object a `/my*` shortcut names in this context, or None (shortcut names are case-sensitive [U])."""
    make = SHORTCUTS.get(name)
    return make(ctx) if make is not None else None


# ------------------------------------------------------------------------------------------ paths


_BRACKET = re.compile(r"[\[\]]")


def parse_path(path: str) -> Tuple[bool, List[str]]:
    """Split a property path into (absolute, segments); `a[b c]/d` gives ["a", "b c", "d"].

    Empty segments (`a//b`, a trailing `/`) are dropped. A bracketed key may hold `/` and nested brackets.
    """
    if "[" not in path:  # the common case, split in C: the loop below gives the same for it
        return path.startswith("/"), [s for s in path.split("/") if s != ""]
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
    # Jump from bracket to bracket: a run condition is kilobytes of script with one pair (a loop over
    # every character took 0.2 ms a step).
    for match in _BRACKET.finditer(text, open_index):
        if match.group() == "[":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return match.start()
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
    procedure = procedure_node(store, ctx.project_name, ctx.procedure_name)
    if procedure is not None:
        scopes.append((procedure, (CUSTOM, INTRINSIC)))
    project = project_node(store, ctx.project_name or "")
    if project is not None:
        scopes.append((project, (CUSTOM, INTRINSIC)))
    if js is not None:
        scopes.append((JobStepNode(js), (INTRINSIC,)))
    return scopes


def missing_property(path: str, reason: str) -> CommanderError:
    """The NoSuchProperty error for path, with why."""
    return CommanderError("NoSuchProperty", f"Invalid property path: '{path}': {reason}")


def resolve_or_error(ctx: Context, path: str) -> Resolved:
    """The node or value a path names; NoSuchProperty saying where the path stopped."""
    absolute, segments = parse_path(path)
    if not segments:
        if absolute:
            raise missing_property(path, "the root is not a property")
        raise CommanderError("InvalidPropertyName", "Invalid property path '': expected a property name")
    if absolute or segments[0] in SHORTCUTS:
        start: Node = RootNode(ctx.store)
        if segments[0] in SHORTCUTS:
            node = shortcut(ctx, segments[0])
            if node is None:
                raise missing_property(path, f"'{segments[0]}' names nothing in this context")
            start, segments = node, segments[1:]
        found, matched = _walk(start, segments)
        if found is None:
            where = start if matched == 0 else _walk(start, segments[:matched])[0]
            label = where.label if isinstance(where, Node) else f"string property '{segments[matched - 1]}'"
            raise missing_property(path, f"no property '{segments[matched]}' in {label}")
        return found
    unset: Optional[Resolved] = None
    for node, parts in _scopes(ctx):
        found, _ = _walk(node, segments, parts)
        if isinstance(found, Value) and not found.is_set:
            unset = unset or found  # an intrinsic with no value does not hide a later scope's value [U]
        elif found is not None:
            return found
    if unset is not None:
        return unset
    raise missing_property(path, "Evaluation failed. Found no match in any context")


def resolve(ctx: Context, path: str) -> Optional[Resolved]:
    """The node or value a path names, or None when nothing is there (a missing object counts as missing)."""
    try:
        return resolve_or_error(ctx, path)
    except CommanderError as err:
        if err.code == "NoSuchProperty":
            return None
        raise


# ------------------------------------------------------------------------------------------ writes


def home_node(ctx: Context, path: str) -> Node:
    """Where a relative write lands: the most specific object of the context [U]."""
    if ctx.job_step is not None:
        return JobStepNode(ctx.job_step)
    if ctx.job is not None:
        return JobNode(ctx.job)
    node = procedure_node(ctx.store, ctx.project_name, ctx.procedure_name) or project_node(
        ctx.store, ctx.project_name or "")
    if node is None:
        raise CommanderError("InvalidPropertyName",
                             f"Relative property path '{path}' needs a context: expected jobStepId, jobId "
                             "or projectName")
    return node


def parent_for_write(ctx: Context, path: str, create_sheets: bool) -> Tuple[Node, str]:
    """The node that holds the last segment of path, creating missing custom sheets on the way if asked."""
    absolute, segments = parse_path(path)
    if not segments:
        raise CommanderError("InvalidPropertyName",
                             f"Invalid property path '{path}': expected a property name")
    if segments[0] in SHORTCUTS:
        node = shortcut(ctx, segments[0])
        if node is None:
            raise missing_property(path, f"'{segments[0]}' names nothing in this context")
        segments = segments[1:]
        if not segments:
            raise CommanderError("InvalidPropertyName", f"'{path}' names an object, not a property")
    elif absolute:
        node = RootNode(ctx.store)
    else:
        node = home_node(ctx, path)
    for seg in segments[:-1]:
        nxt = node.lookup(seg)
        if nxt is None and create_sheets and node.custom() is not None:
            sheet = node.custom()
            assert sheet is not None
            sheet.ensure_sheet(seg)
            nxt = node.lookup(seg, (CUSTOM,))
        if nxt is None:
            raise missing_property(path, f"no property '{seg}' in {node.label}")
        if not isinstance(nxt, Node):
            raise CommanderError("InvalidPropertyValue",
                                 f"Invalid property path '{path}': '{seg}' is a string property, not a sheet")
        node = nxt
    return node, segments[-1]


def _read_only(path: str, node: Node) -> CommanderError:
    # [U] error code for writing an intrinsic
    return CommanderError("InvalidPropertyValue",
                          f"Property '{path}' is a read-only intrinsic property of {node.label}")


def assign(ctx: Context, path: str, value: str, expandable: Optional[bool] = None) -> Resolved:
    """Create or overwrite a property (missing intermediate sheets are created [U]); intrinsics are read-only
    except a job step's `outcome`. An actual parameter of that name is overwritten in place [U: in CD/RO a
    job's parameters are properties of the job]. Returns what now stands at path."""
    value = as_text(value)
    with ctx.store.lock:
        node, name = parent_for_write(ctx, path, create_sheets=True)
        params = node.params()
        key = find_key(params, name)
        if params is not None and key is not None:
            params[key] = value
            return Value(key, value, True, f"{node.object_id()}:{key}")
        sheet = node.custom()
        if (sheet is None or name not in sheet) and name in node.INTRINSICS:
            if not node.write_intrinsic(name, value, path):
                raise _read_only(path, node)
            return Value(name, value, False, f"{node.object_id()}:{name}")
        if sheet is None:
            raise CommanderError("InvalidPropertyName",
                                 f"Cannot set '{path}': {node.label} holds no properties")
        return custom_resolved(sheet.set_value(name, value, expandable), node)
