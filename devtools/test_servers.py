"""The CD/RO server that the end-to-end tests talk to, and what a test run leaves on it.

Two kinds, one interface (`TestServer`):

- by default, the embedded emulator started as its own process with `build.py serve --bare`, reached
  over HTTP like any server (never imported into the test process);
- with `python3 build.py test --live URL --user U`, a real CloudBees CD/RO server.

Either way the session fixture installs and promotes the freshly built jar, and every project a test
creates is named `<run prefix>-...`, so that `LiveRun.tear_down` can find and delete all of them, even
after a failed test. `LiveRun.plan` lists the same actions without touching the server (`--dry-run`).

Only the public API is used here: REST below /rest/v1.0 and the XML API (tests/test_server_fixture.py
checks it). The emulator's `/__emulator__` control endpoint belongs to tests marked `emulator_only`.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote

from devtools.install import install_jar
from devtools.package import plugin_name_of
from devtools.server_api import ApiError, ServerApi, as_list

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_KEY = "EC-Resume"
# What build.py serve --bare prints first (devtools/demo.py serve_bare writes these two lines).
URL_LINE = re.compile(r"^CloudBees CD/RO emulator at (?P<url>https?://\S+)$")
LOGIN_LINE = re.compile(r"^\s+user: (?P<user>\S+)\s+password: (?P<password>\S+)$")
START_TIMEOUT = 60.0

# The environment that build.py test --live hands to pytest (and that a user may set for pytest alone).
LIVE_URL = "EC_RESUME_LIVE_URL"
LIVE_USER = "EC_RESUME_LIVE_USER"
LIVE_INSECURE = "EC_RESUME_LIVE_INSECURE"
PASSWORD = "COMMANDER_PASSWORD"


class ServerStartError(Exception):
    """The emulator process did not come up; str() is one line with what it printed."""


@dataclass
class TestServer:
    """A server reachable over HTTP: where it is, who logs in, and whether it is a live CD/RO."""

    __test__ = False  # a fixture value, not a test class

    url: str
    user: str
    password: str = field(repr=False)
    live: bool
    verify_tls: bool = True
    # What the emulator process printed (its log); empty for a live server, whose log is its own.
    output: List[str] = field(default_factory=list, repr=False, compare=False)
    pid: Optional[int] = None  # the emulator's process; None for a live server

    def api(self) -> ServerApi:
        return ServerApi(self.url, self.user, self.password, verify_tls=self.verify_tls)

    def cli_env(self) -> Dict[str, str]:
        """What `ec-resume` reads to reach this server as this user."""
        env = {"COMMANDER_URL": self.url, "COMMANDER_USER": self.user, "COMMANDER_PASSWORD": self.password}
        if not self.verify_tls:
            env["EC_RESUME_TLS_VERIFY"] = "0"
        return env


# ------------------------------------------------------------------------------- the emulator process


class EmulatorProcess:
    """`build.py serve --bare` in a child process; `server` once it printed its address and login."""

    def __init__(self, port: int = 0, timeout: float = START_TIMEOUT) -> None:
        env = dict(os.environ)
        env.pop(LIVE_URL, None)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "build.py"), "serve", "--bare", "--port", str(port)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1)
        self.banner: List[str] = []
        self.printed: List[str] = []  # what it printed after its banner: the emulator's own log
        try:
            self.server = self._wait_for_address(timeout)
        except BaseException:
            self.stop()
            raise
        # Keep draining its output, so a chatty emulator never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_address(self, timeout: float) -> TestServer:
        found: Dict[str, str] = {}
        timer = threading.Timer(timeout, self.process.kill)  # readline has no timeout of its own
        timer.start()
        try:
            assert self.process.stdout is not None
            for line in self.process.stdout:  # the banner is not kept: it holds the password
                self.banner.append(line.rstrip("\n"))
                for pattern in (URL_LINE, LOGIN_LINE):
                    match = pattern.match(line.rstrip("\n"))
                    if match:
                        found.update(match.groupdict())
                if {"url", "user", "password"} <= set(found):
                    return TestServer(found["url"], found["user"], found["password"], live=False,
                                      output=self.printed, pid=self.process.pid)
        finally:
            timer.cancel()
        said = " | ".join(self.banner[-5:]) or "nothing"
        raise ServerStartError(f"build.py serve --bare exited with {self.process.wait()} before it "
                               f"printed its address (it printed: {said})")

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.printed.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ------------------------------------------------------------------------------------- a live server


@dataclass(frozen=True)
class LiveTarget:
    """The live server of `build.py test --live`: read from the environment that build.py sets."""

    url: str
    user: str
    verify_tls: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Optional[LiveTarget]:
        url = env.get(LIVE_URL, "").strip()
        if not url:
            return None
        return cls(url.rstrip("/"), env.get(LIVE_USER, "").strip() or "admin",
                   verify_tls=env.get(LIVE_INSECURE, "") != "1")

    def server(self, password: str) -> TestServer:
        return TestServer(self.url, self.user, password, live=True, verify_tls=self.verify_tls)


def run_prefix() -> str:
    """A project-name prefix no earlier run used: date, time and random hex (ecr-test-1203-1542-a1b2c3)."""
    return f"ecr-test-{time.strftime('%m%d-%H%M')}-{secrets.token_hex(3)}"


@dataclass
class PluginState:
    """The EC-Resume versions a server had before the run, and which one was promoted."""

    installed: List[str]
    promoted: Optional[str]


@dataclass
class LiveRun:
    """What a test session creates on its server and how it puts the server back.

    Created: the plugin from `jar`, installed (force) and promoted; one throw-away project per test,
    each named `<prefix>-...`. Deleted afterwards: every project whose name starts with the prefix, and
    the plugin version, unless the server had it before; the version promoted before is promoted again.
    Jobs stay in the server's job history, as every job does.
    """

    jar: Path
    prefix: str
    before: Optional[PluginState] = None
    plugin_name: str = ""

    def plan(self, target: LiveTarget) -> List[str]:
        """The dry run: what set_up and tear_down would do on `target`, computed without any request."""
        name = plugin_name_of(self.jar)
        return [
            f"server: {target.url} as {target.user}" + ("" if target.verify_tls else " (TLS not verified)"),
            f"install and promote: plugin {name}, built from this checkout (installPlugin with force, "
            "promotePlugin)",
            f"create: one project per end-to-end test, each named '{self.prefix}-<test>-<n>-<ms>', with its "
            "procedures, steps and properties, and run jobs of them",
            "skip: tests marked emulator_only (fault injection, the request log, emulator settings)",
            "delete afterwards, even when a test fails: every project whose name starts with "
            f"'{self.prefix}-'",
            f"delete afterwards: plugin {name} (uninstallPlugin), unless the server had that version before;"
            " whichever EC-Resume version is promoted now is promoted again",
            "keep: the jobs the tests ran, in the server's job history",
        ]

    def set_up(self, api: ServerApi) -> str:
        self.before = plugin_state(api)
        self.plugin_name = install_jar(api, self.jar, force=True)
        return self.plugin_name

    def tear_down(self, api: ServerApi) -> List[str]:
        """Deletes what the run created; returns one line per thing that could not be undone."""
        problems = [f"project {name}: {exc}" for name, exc in delete_projects(api, self.prefix)]
        before = self.before
        if before is not None and self.plugin_name:
            if before.promoted and before.promoted != self.plugin_name:
                problems += _attempt(lambda: api.call("promotePlugin", pluginName=before.promoted),
                                     f"promotePlugin {before.promoted}")
            if self.plugin_name not in before.installed:
                problems += _attempt(lambda: api.call("uninstallPlugin", pluginName=self.plugin_name),
                                     f"uninstallPlugin {self.plugin_name}")
        return problems


def _attempt(call: Callable[[], object], what: str) -> List[str]:
    try:
        call()
    except ApiError as exc:
        return [f"{what}: {exc}"]
    return []


def plugin_state(api: ServerApi) -> PluginState:
    """Which EC-Resume versions `api`'s server has, and the promoted one (getPlugins)."""
    plugins = [p for p in as_list(api.rest("GET", "plugins").get("plugin"))
               if isinstance(p, dict) and p.get("pluginKey") == PLUGIN_KEY]
    promoted = [str(p.get("pluginName")) for p in plugins if str(p.get("promoted", "")) in ("1", "true")]
    return PluginState([str(p.get("pluginName")) for p in plugins], promoted[0] if promoted else None)


def projects_named(api: ServerApi, prefix: str) -> List[str]:
    return [str(p["projectName"]) for p in as_list(api.rest("GET", "projects").get("project"))
            if isinstance(p, dict) and str(p.get("projectName", "")).startswith(prefix + "-")]


def delete_projects(api: ServerApi, prefix: str) -> List[Tuple[str, ApiError]]:
    """Deletes every project named `<prefix>-...`; returns (name, error) for each that failed."""
    failed: List[Tuple[str, ApiError]] = []
    for name in projects_named(api, prefix):
        try:
            api.rest("DELETE", f"projects/{quote(name, safe='')}")
        except ApiError as exc:
            failed.append((name, exc))
    return failed
