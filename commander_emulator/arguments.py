"""Reading API arguments: a dict of strings, nested dicts and lists (XML children, a JSON body, a query).

The dispatcher `normalize`s every call's arguments to what the XML wire would give; handlers and the
backend read them with the helpers here, so a missing or malformed argument is reported one way.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Dict, List, Optional

from .errors import CommanderError, invalid
from .schema import flag, parse_bool, text_value

Args = Dict[str, Any]


def normalize(value: Any) -> Any:
    """Arguments as the XML wire would give them: strings everywhere ("1"/"0" for JSON booleans)."""
    if isinstance(value, bool):
        return flag(value)
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


def arg_bool(args: Args, name: str, default: bool = False) -> bool:
    return parse_bool(args[name], name) if name in args else default


def arg_str(args: Args, name: str, default: Optional[str] = None) -> Optional[str]:
    value = args.get(name)
    if value is None:
        return default
    return value if isinstance(value, str) else text_value(name, value)  # refuses a map or a list


def required(args: Args, name: str) -> str:
    value = arg_str(args, name)
    if not value:
        # [U] the exact code CD/RO uses for a missing argument
        raise CommanderError("InvalidArgument", f"Missing required argument '{name}'", where=name)
    return value


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


def json_object(raw: Any, argument: str) -> Dict[str, Any]:
    """`raw` parsed as a JSON object, or InvalidArgument naming `argument`."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise invalid(argument, f"a JSON object ({exc})") from None
    if not isinstance(value, dict):
        raise invalid(argument, "a JSON object")
    return value
