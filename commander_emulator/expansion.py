"""`$[...]` expansion, as CD/RO expands property references (commander-api.md §4).

Inner references expand first; a stored value that holds references expands when read, one level deeper
each time (so a reference cycle ends in a clear error). Besides property paths a reference may be
`/javascript <script>`, `/increment <path>` or `/timestamp [<Java date pattern>]`.
"""

from __future__ import annotations

import contextvars
import re
from datetime import datetime
from typing import List, Tuple

from . import javascript
from .context import Context
from .errors import CommanderError, ExpansionLimit
from .property_graph import Resolved, Value
from .property_paths import assign, matching_bracket, resolve, resolve_or_error, shortcut

# How deep stored values may expand into further `$[...]` references before we call it a loop.
MAX_EXPANSION_DEPTH = 32  # [U] CD/RO's own bound is not documented
# [U] CD/RO's default /timestamp pattern is not documented; this one reads well and sorts.
DEFAULT_TIMESTAMP_PATTERN = "yyyy-MM-dd HH:mm:ss"

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("property_expansion_depth", default=0)


def expand(ctx: Context, text: str) -> str:
    """Replace every `$[...]` in text (inner references first); text outside references is kept as is."""
    with ctx.store.lock:
        return _expand_text(ctx, text)


def value_text(ctx: Context, value: Resolved, expand: bool = True) -> str:
    """The string a path's target reads as. A sheet or object reads as "" [U]."""
    if not isinstance(value, Value):
        return ""
    if expand and value.expandable and "$[" in value.text:
        return _expand_stored(ctx, value.text, value.name)
    return value.text


# What a /javascript script reads through.
PROPERTY_READER = javascript.PropertyReader(resolve=resolve, value_text=value_text, shortcut=shortcut)


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
        raise ExpansionLimit(f"Expanding property '{name}' went {MAX_EXPANSION_DEPTH} references deep: "
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
        return value_text(ctx, resolve_or_error(ctx, reference.strip()), True)
    form, argument = special.group(1), special.group(2)
    if form == "javascript":
        return javascript.evaluate(ctx, argument, PROPERTY_READER)
    if form == "increment":
        return _increment(ctx, argument.strip())
    # [U] the server's local time zone
    return format_java_timestamp(argument.strip() or DEFAULT_TIMESTAMP_PATTERN, datetime.now().astimezone())


def _increment(ctx: Context, path: str) -> str:
    if not path:
        raise CommanderError("InvalidPropertyName", "'$[/increment]' needs a property path: expected "
                                                    "'$[/increment <path>]'")
    return increment(ctx, path, 1)[1]  # [U] a missing property is created at 1, as incrementProperty does


def increment(ctx: Context, path: str, by: int) -> Tuple[Resolved, str]:
    """Add `by` to the integer property at `path` (a missing one is created holding `by`); the property
    written and its new value. Read and write happen under one hold of the store lock: atomic, as
    incrementProperty's reference says ("cannot be interrupted ... parallel or thread-safe")."""
    with ctx.store.lock:
        current = resolve(ctx, path)
        if current is None:
            new = by  # incrementProperty: "created with an initial value of the incrementBy amount"
        elif isinstance(current, Value) and re.fullmatch(r"\s*-?\d+\s*", current.text):
            new = int(current.text) + by
        else:
            shown = current.text if isinstance(current, Value) else "a property sheet"
            raise CommanderError("InvalidPropertyValue",
                                 f"Cannot increment '{path}': it holds '{shown}', expected an integer")
        return assign(ctx, path, str(new)), str(new)


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
