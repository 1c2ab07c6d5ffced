"""The one quirk of CD/RO's REST JSON that every reader of it meets."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: see docs/ARCHITECTURE.md
    from typing import Any, List


def as_list(value: Any) -> List[Any]:
    """REST renders a one-element list as a bare object now and then: accept None, a dict or a list."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    return [value]
