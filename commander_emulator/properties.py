"""Property reads and writes by path, as the property APIs answer them (getProperty, setProperty, ...).

The layers below: property_graph.py holds the objects a path walks, property_paths.py finds where a path
leads and writes there, expansion.py reads a value's text with its `$[...]` references expanded. They sit
below this module, because expansion resolves paths and `/increment` writes one; this module re-exports
the names its callers know from here.

Facts come from commander-api.md §4 (property references and expansion); every choice taken on trust is
marked [U].
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .context import Context
from .errors import CommanderError
from .expansion import increment, value_text
from .property_graph import Node, Resolved, SheetNode, Value, as_flag, as_text, custom_resolved
from .property_paths import (
    assign,
    home_node,
    missing_property,
    parent_for_write,
    parse_path,
    resolve,
    resolve_or_error,
    shortcut,
)

__all__ = [
    "create_property", "custom_resolved", "delete_property", "get_properties", "get_property",
    "get_property_record", "increment_property", "parse_path", "record", "resolve", "set_property",
    "shortcut", "value_text",
]


def record(item: Resolved, ctx: Optional[Context] = None, expand: bool = False, recurse: bool = False
           ) -> Dict[str, Any]:
    """The wire record of a property or sheet (what getProperty/getProperties return)."""
    if isinstance(item, Value):
        text = value_text(ctx, item, expand) if ctx is not None else item.text
        return {"propertyName": item.name, "value": text, "expandable": as_flag(item.expandable),
                "propertyId": item.id, "description": item.description}
    prop = item.prop if isinstance(item, SheetNode) else None
    rec: Dict[str, Any] = {"propertyName": item.name, "propertySheetId": item.object_id(),
                           "expandable": as_flag(prop.expandable if prop else True),
                           "propertyId": prop.id if prop else item.object_id(),
                           "description": prop.description if prop else ""}
    if recurse:
        children = [record(child, ctx, expand, recurse) for child in item.children()]
        rec["propertySheet"] = {"property": children}
    return rec


def get_property(ctx: Context, path: str, expand: bool = True) -> str:
    """The value of a custom or intrinsic property; NoSuchProperty when nothing is there."""
    with ctx.store.lock:
        return value_text(ctx, resolve_or_error(ctx, path), expand)


def get_property_record(ctx: Context, path: str, expand: bool = True) -> Dict[str, Any]:
    with ctx.store.lock:
        return record(resolve_or_error(ctx, path), ctx, expand)


def set_property(ctx: Context, path: str, value: str, expandable: Optional[bool] = None) -> Dict[str, Any]:
    """Create or overwrite a property; see `property_paths.assign` for what may be written."""
    with ctx.store.lock:
        return record(assign(ctx, path, value, expandable))


def increment_property(ctx: Context, path: str, by: int) -> Dict[str, Any]:
    """incrementProperty: add `by` to an integer property, atomically; a missing one is created at `by`."""
    return record(increment(ctx, path, by)[0])


def create_property(ctx: Context, path: str, value: str = "", expandable: bool = True, sheet: bool = False
                    ) -> Dict[str, Any]:
    """Create a property or (sheet=True) an empty sheet; DuplicatePropertyName if the name is taken."""
    with ctx.store.lock:
        node, name = parent_for_write(ctx, path, create_sheets=True)
        if node.lookup(name) is not None:
            raise CommanderError("DuplicatePropertyName", f"Property '{path}' already exists in {node.label}")
        target = node.custom()
        if target is None:
            raise CommanderError("InvalidPropertyName",
                                 f"Cannot create '{path}': {node.label} holds no properties")
        if sheet:
            target.ensure_sheet(name)
        else:
            target.set_value(name, as_text(value), expandable)
        prop = target.get(name)
        assert prop is not None
        prop.expandable = expandable
        return record(custom_resolved(prop, node))


def delete_property(ctx: Context, path: str) -> None:
    with ctx.store.lock:
        node, name = parent_for_write(ctx, path, create_sheets=False)
        target = node.custom()
        if target is not None and name in target:
            target.delete(name)
            return
        if node.lookup(name) is not None:
            raise CommanderError("InvalidPropertyValue",
                                 f"Cannot delete '{path}': it is not a custom property")
        raise missing_property(path, f"no property '{name}' in {node.label}")


def get_properties(ctx: Context, path: Optional[str], expand: bool = True, recurse: bool = False
                   ) -> List[Dict[str, Any]]:
    """Records of a sheet's children; path None lists the context object's own properties."""
    with ctx.store.lock:
        node = home_node(ctx, "") if path is None else resolve_or_error(ctx, path)
        if not isinstance(node, Node):
            raise CommanderError("InvalidPropertyValue",
                                 f"'{path}' is a string property, not a property sheet")
        return [record(child, ctx, expand, recurse) for child in node.children()]
