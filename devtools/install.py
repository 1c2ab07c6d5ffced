"""Upload and promote a built plugin jar on a CD/RO server (the emulator or a real one) over REST.

The password comes from the environment (COMMANDER_PASSWORD) or a prompt, never from an argument, so it
stays out of shell history and process lists.
"""

from __future__ import annotations

import getpass
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Optional
from urllib.parse import quote

import requests

from devtools.package import BuildError, plugin_name_of
from devtools.server_api import ApiError, ServerApi


class InstallError(Exception):
    """Installing failed; str() is one line saying which call and why."""


@contextmanager
def _failing_as(what: str) -> Iterator[None]:
    """An error answer of the server as InstallError("<what> failed: [code] message (HTTP n)")."""
    try:
        yield
    except ApiError as exc:
        raise InstallError(f"{what} failed: {exc}") from None


def password_for(user: str) -> str:
    """COMMANDER_PASSWORD, else a prompt on the terminal; never a command-line argument."""
    password = os.environ.get("COMMANDER_PASSWORD")
    if password is not None:
        return password
    if not sys.stdin.isatty():
        raise InstallError(f"password for {user}: expected COMMANDER_PASSWORD in the environment "
                           "(no terminal to prompt on)")
    return getpass.getpass(f"CD/RO password for {user}: ")


def _plugin_name(jar: Path) -> str:
    try:
        return plugin_name_of(jar)
    except BuildError as exc:
        raise InstallError(str(exc)) from None


def install_jar(api: ServerApi, jar: Path, *, force: bool = False) -> str:
    """installPlugin `jar` and promotePlugin it as `api`'s user; returns the plugin name."""
    jar = Path(jar)
    fallback_name = _plugin_name(jar)
    data: Optional[Dict[str, str]] = {"force": "1"} if force else None
    with jar.open("rb") as handle, _failing_as(f"installPlugin {jar.name}"):
        installed = api.rest("POST", "plugins", params={"request": "installPlugin"}, data=data,
                             files={"file": (jar.name, handle, "application/java-archive")})
    plugin = installed.get("plugin")
    # [U] installPlugin answers with the plugin object; the jar's own descriptor is the fallback.
    name = str(plugin.get("pluginName") or fallback_name) if isinstance(plugin, dict) else fallback_name
    with _failing_as(f"promotePlugin {name}"):
        api.rest("POST", f"plugins/{quote(name, safe='')}", params={"request": "promotePlugin"})
    return name


def install(server_url: str, user: str, jar: Path, *, password: Optional[str] = None, verify_tls: bool = True,
            force: bool = False, timeout: float = 120.0) -> str:
    """Log in as `user`, install `jar` and promote it; returns the plugin name.

    `password` is for callers that already hold one; otherwise see password_for.
    """
    base = server_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InstallError(f"server URL '{server_url}': expected http(s)://host[:port]")
    _plugin_name(Path(jar))  # a jar that is not a plugin fails before the password is asked for
    try:
        with _failing_as(f"login as {user}"):
            api = ServerApi(base, user, password if password is not None else password_for(user),
                            verify_tls=verify_tls, timeout=timeout)
        with api:
            return install_jar(api, jar, force=force)
    except requests.RequestException as exc:
        raise InstallError(f"cannot reach {base}: {type(exc).__name__}") from None
