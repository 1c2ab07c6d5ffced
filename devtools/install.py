"""Upload and promote a built plugin jar on a CD/RO server (the emulator or a real one) over REST.

The password comes from the environment (COMMANDER_PASSWORD) or a prompt, never from an argument, so it
stays out of shell history and process lists.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional
from urllib.parse import quote

import requests

from devtools.package import BuildError, plugin_name_of

REST = "/rest/v1.0"


class InstallError(Exception):
    """Installing failed; str() is one line saying which call and why."""


def _answer(response: requests.Response, what: str) -> Dict[str, Any]:
    try:
        body = response.json() if response.content.strip() else {}
    except ValueError:
        body = None
    if response.ok and isinstance(body, dict):
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code"):
        message = " ".join(str(error.get("message", "")).split())
        raise InstallError(f"{what} failed: [{error['code']}] {message} (HTTP {response.status_code})")
    raise InstallError(f"{what} failed: HTTP {response.status_code} without a CD/RO answer")


def password_for(user: str) -> str:
    """COMMANDER_PASSWORD, else a prompt on the terminal; never a command-line argument."""
    password = os.environ.get("COMMANDER_PASSWORD")
    if password is not None:
        return password
    if not sys.stdin.isatty():
        raise InstallError(f"password for {user}: expected COMMANDER_PASSWORD in the environment "
                           "(no terminal to prompt on)")
    return getpass.getpass(f"CD/RO password for {user}: ")


def install(server_url: str, user: str, jar: Path, *, password: Optional[str] = None, verify_tls: bool = True,
            force: bool = False, timeout: float = 120.0) -> str:
    """Log in as `user`, install `jar` (installPlugin) and promote it; returns the plugin name.

    `password` is for callers that already hold one (the demo's own emulator); otherwise see password_for.
    """
    base = server_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InstallError(f"server URL '{server_url}': expected http(s)://host[:port]")
    jar = Path(jar)
    try:
        fallback_name = plugin_name_of(jar)
    except BuildError as exc:
        raise InstallError(str(exc)) from None
    session = requests.Session()
    session.verify = verify_tls
    try:
        credentials = {"userName": user, "password": password if password is not None else password_for(user)}
        login = _answer(session.post(f"{base}{REST}/sessions", json=credentials, timeout=timeout),
                        f"login as {user}")
        session_id = login.get("sessionId")
        if not session_id:
            raise InstallError(f"login as {user} failed: the server answered without a sessionId")
        session.cookies.set("sessionId", str(session_id))
        data: Optional[Dict[str, str]] = {"force": "1"} if force else None
        with jar.open("rb") as handle:
            installed = _answer(session.post(f"{base}{REST}/plugins", params={"request": "installPlugin"},
                                             files={"file": (jar.name, handle, "application/java-archive")},
                                             data=data, timeout=timeout), f"installPlugin {jar.name}")
        plugin = installed.get("plugin")
        # [U] installPlugin answers with the plugin object; the jar's own descriptor is the fallback.
        name = str(plugin.get("pluginName") or fallback_name) if isinstance(plugin, dict) else fallback_name
        _answer(session.post(f"{base}{REST}/plugins/{quote(name, safe='')}",
                             params={"request": "promotePlugin"}, timeout=timeout), f"promotePlugin {name}")
        return name
    except requests.RequestException as exc:
        raise InstallError(f"cannot reach {base}: {type(exc).__name__}") from None
    finally:
        session.close()
