"""The tests' server fixture: the emulator is its own process, reached over HTTP; the fixture's own
traffic (install, clean-up) is public API only; live mode's command line and dry run touch no server."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, List, Set

import pytest
import requests
from conftest import LIVE, RUN_PREFIX, TestServer, unique

from devtools.cli import UsageError, split_live_options
from devtools.server_api import ServerApi
from devtools.test_servers import (
    EmulatorProcess,
    LiveRun,
    LiveTarget,
    PluginState,
    plugin_state,
    projects_named,
)

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ("/rest/v1.0/", "/commanderRequest")
# The emulator's package modules it may use: pure rules shared with the server, which load nothing of
# the emulator (checked below): the XML envelope codec and how plugin files become property names.
PURE = {"commander_emulator.xml_codec", "commander_emulator.plugin_layout"}


def imported_modules(path: Path) -> Set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_fixture_code_never_imports_the_emulator() -> None:
    """conftest.py, the server module and every devtools module they pull in, followed transitively."""
    todo: List[Path] = [ROOT / "tests" / "conftest.py", ROOT / "devtools" / "test_servers.py"]
    seen: Set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        modules = imported_modules(path)
        assert not {m for m in modules if m.split(".")[0] == "commander_emulator"} - PURE, path
        todo += [ROOT / (m.replace(".", "/") + ".py") for m in modules if m.startswith("devtools.")]
    assert ROOT / "devtools" / "server_api.py" in seen  # the walk really followed the imports
    for module in PURE:
        uses = imported_modules(ROOT / (module.replace(".", "/") + ".py"))
        assert {m.split(".")[0] for m in uses} <= {"__future__", "re", "typing", "lxml"}, (module, uses)


@pytest.mark.skipif(LIVE is not None, reason="checks the default mode's emulator process")
def test_the_default_server_is_build_py_serve_in_another_process(server: TestServer) -> None:
    assert not server.live and server.pid is not None and server.pid != os.getpid()
    command = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
    assert [b"serve", b"--bare"] == command[2:4] and command[1].endswith(b"build.py"), command
    status = requests.get(server.url + "/rest/v1.0/server/status", timeout=10)
    assert status.status_code == 401  # a real server over HTTP: no session, no answer


def test_the_server_answers_as_the_logged_in_user(api: ServerApi) -> None:
    """In either mode: the smallest end-to-end check, and the one test_a_wrong_live_password_... runs."""
    assert api.call("getServerStatus")["serverStatus"]["serverState"] == "running"


@pytest.fixture
def fresh_emulator() -> Iterator[TestServer]:
    process = EmulatorProcess()
    yield process.server
    process.stop()


def test_set_up_and_tear_down_use_only_the_public_api_and_leave_nothing(
        fresh_emulator: TestServer, built_jar: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: List[str] = []
    real = requests.Session.request

    def recording(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(f"{method} {url}")
        return real(self, method, url, *args, **kwargs)

    run = LiveRun(jar=built_jar, prefix=f"{RUN_PREFIX}-cleanup")
    with fresh_emulator.api() as api:
        before = plugin_state(api)
        monkeypatch.setattr(requests.Session, "request", recording)
        name = run.set_up(api)
        for label in ("a", "b"):
            api.call("createProject", projectName=f"{run.prefix}-{label}")
        api.call("createProject", projectName=f"{RUN_PREFIX}-kept")  # another run's: not this prefix
        assert run.tear_down(api) == []
        monkeypatch.setattr(requests.Session, "request", real)
        paths = [line.split(" ", 1)[1][len(fresh_emulator.url):] for line in sent]
        assert paths and all(p.startswith(PUBLIC) for p in paths), paths
        assert projects_named(api, run.prefix) == []
        assert projects_named(api, RUN_PREFIX) == [f"{RUN_PREFIX}-kept"]
        assert plugin_state(api) == before and before.installed == [] and name.startswith("EC-Resume-")


def test_tear_down_promotes_again_the_version_promoted_before(fresh_emulator: TestServer,
                                                              built_jar: Path) -> None:
    run = LiveRun(jar=built_jar, prefix=unique("cleanup"))
    with fresh_emulator.api() as api:
        name = run.set_up(api)
        api.call("promotePlugin", pluginName=name, promote=False)
        run.before = PluginState(installed=[name, "EC-Resume-0.9.0"], promoted=None)
        assert run.tear_down(api) == []  # the version was there before: kept, not uninstalled
        assert plugin_state(api).installed == [name]


@pytest.mark.parametrize("argv, words", [
    (["--live"], ["--live", "expected a value"]),
    (["--live", "ftp://x"], ["'ftp://x'", "http(s)://host[:port]"]),
    (["--user", "bob"], ["go with --live URL"]),
    (["--live", "https://cd.example.com", "-n", "4"], ["one at a time", "-n"]),
])
def test_bad_live_options_are_one_line(argv: List[str], words: List[str]) -> None:
    with pytest.raises(UsageError) as info:
        split_live_options(argv)
    assert all(w in str(info.value) for w in words) and "\n" not in str(info.value)


def test_live_options_come_before_pytest_options() -> None:
    live, rest = split_live_options(["--live", "https://cd.example.com:8443/", "--user", "qa", "--dry-run",
                                     "-k", "restart"])
    assert live is not None and (live.url, live.user, live.dry_run, live.insecure) == (
        "https://cd.example.com:8443/", "qa", True, False)
    assert rest == ["-k", "restart"]
    assert split_live_options(["-k", "x"]) == (None, ["-k", "x"])


def test_the_dry_run_lists_what_it_would_create_and_delete_and_sends_nothing() -> None:
    """The address is a port nobody listens on: a single request would fail the command."""
    env = {k: v for k, v in os.environ.items() if k != "COMMANDER_PASSWORD"}
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "test", "--live", "https://127.0.0.1:9",
                           "--user", "qa", "--dry-run"], cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "nothing is sent to https://127.0.0.1:9" in out
    for words in ("install and promote: plugin EC-Resume-", "delete afterwards, even when a test fails",
                  "'ecr-test-", "uninstallPlugin", "skip: tests marked emulator_only", "qa"):
        assert words in out, out
    assert "password" not in (out + done.stderr).lower()  # it never asked for one


def test_a_live_run_without_a_password_or_terminal_is_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COMMANDER_PASSWORD"}
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "test", "--live", "https://127.0.0.1:9"],
                          cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "COMMANDER_PASSWORD" in done.stderr


def test_live_target_reads_what_build_py_sets() -> None:
    assert LiveTarget.from_env({}) is None
    target = LiveTarget.from_env({"EC_RESUME_LIVE_URL": "https://cd:8443/", "EC_RESUME_LIVE_USER": "qa",
                                  "EC_RESUME_LIVE_INSECURE": "1"})
    assert target == LiveTarget("https://cd:8443", "qa", verify_tls=False)
    assert "secret" not in repr(target.server("secret"))  # the password stays out of reprs and logs


def test_a_wrong_live_password_is_one_line_before_any_test(fresh_emulator: TestServer) -> None:
    env = {**os.environ, "COMMANDER_PASSWORD": "wrong-" + fresh_emulator.password}
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), "test", "--live", fresh_emulator.url,
                           "-q", "tests/test_server_fixture.py", "-k", "answers_as_the_logged_in_user"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    said = [line for line in done.stdout.splitlines() if "live mode:" in line]
    assert done.returncode == 2 and len(said) == 1, done.stdout + done.stderr
    assert "cannot log in" in said[0] and fresh_emulator.url in said[0] and "Traceback" not in done.stdout
    assert "wrong-" not in done.stdout + done.stderr
