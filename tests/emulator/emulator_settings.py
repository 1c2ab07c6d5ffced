"""Changing an emulator setting for one test: the server is shared by the whole session, so the old
value always comes back."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from conftest import ServerApi


@contextmanager
def emulator_setting(api: ServerApi, name: str, value: str) -> Iterator[str]:
    original = api.control("GET", "settings")[name]
    api.control("PUT", "settings", json={name: value})
    try:
        yield value
    finally:
        api.control("PUT", "settings", json={name: original})
