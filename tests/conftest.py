"""Shared fixtures of every end-to-end test: one CD/RO server, reached over HTTP, and a client for it.

- `server` (session scope): a `TestServer` (devtools/test_servers.py). By default the embedded emulator,
  started as its own process with `build.py serve --bare`; with `python3 build.py test --live URL --user U`
  a real CloudBees CD/RO server. Tests read its `url`, `user` and `password`, and `live`.
- `api` (function scope): a `ServerApi` (devtools/server_api.py) logged in as that user.
- `ec_resume` (session scope): the freshly built jar, installed and promoted on that server.

Every project a test creates is named by `unique()`, which starts with this run's prefix; in live mode
the session deletes every project with that prefix at the end, even after failures, and puts the plugin
back as it was (LiveRun). Tests that need what only the emulator gives (fault injection, its request log,
its settings) carry `@pytest.mark.emulator_only` and use the `/__emulator__/...` control endpoint through
`api.control`; live mode skips them with that reason, and `api.control` refuses to run there.
"""

from __future__ import annotations

import itertools
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
import requests

from devtools.package import build_jar
from devtools.sample_procedure import RUN_CONDITION
from devtools.server_api import ApiError, ServerApi, as_list
from devtools.test_servers import PASSWORD, EmulatorProcess, LiveRun, LiveTarget, TestServer, run_prefix

# Tests import these from here.
__all__ = ["RUN_CONDITION", "ApiError", "ServerApi", "TestServer", "as_list", "find_step",
           "make_procedure", "unique"]

# The live server of `build.py test --live` (None: the emulator), and this run's project-name prefix.
LIVE = LiveTarget.from_env(os.environ)
RUN_PREFIX = run_prefix()
EMULATOR_ONLY_REASON = "emulator only: needs fault injection, the request log or the emulator's settings"
EMULATOR_SUITES = {"emulator": "emulator only: tests the emulator itself",
                   "conformance": "emulator only: compares the emulator's engines with Groovy and Rhino"}


def find_step(job: Dict[str, Any], *names: str) -> Dict[str, Any]:
    """The job step at a path of step names, descending through subprocedure calls."""
    steps = as_list(job.get("jobStep"))
    step: Dict[str, Any] = {}
    for depth, name in enumerate(names):
        matches = [s for s in steps if s.get("stepName") == name]
        if not matches:
            raise AssertionError(
                f"no job step {'/'.join(names[: depth + 1])}; have {[s.get('stepName') for s in steps]}"
            )
        step = matches[0]
        steps = as_list(step.get("calledProcedure", {}).get("jobStep"))
    return step


_names = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other test uses, starting with the run's prefix: the server is shared by a whole test
    session (and, live, by other users), and the session deletes every project named so at its end."""
    return f"{RUN_PREFIX}-{prefix}-{next(_names)}-{int(time.time() * 1000) % 100000}"


def make_procedure(call: Callable[..., Dict[str, Any]], steps: Dict[str, Dict[str, Any]],
                   params: Sequence[str] = (), prefix: str = "proj") -> Tuple[str, str]:
    """A new project with procedure "Main": `params` as formal parameters, `steps` (name -> createStep
    fields) in order. `call(api_name, **args)` is any wire's call function."""
    project, procedure = unique(prefix), "Main"
    call("createProject", projectName=project)
    call("createProcedure", projectName=project, procedureName=procedure)
    for name in params:
        call("createFormalParameter", projectName=project, procedureName=procedure, formalParameterName=name)
    for name, fields in steps.items():
        call("createStep", projectName=project, procedureName=procedure, stepName=name, **fields)
    return project, procedure


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Live mode skips what only the emulator gives, saying why."""
    if LIVE is None:
        return
    tests_root = Path(__file__).resolve().parent
    for item in items:
        parts = Path(str(item.path)).resolve().relative_to(tests_root).parts
        marker = item.get_closest_marker("emulator_only")
        if parts[0] in EMULATOR_SUITES:
            item.add_marker(pytest.mark.skip(reason=EMULATOR_SUITES[parts[0]]))
        elif marker is not None:
            reason = f"emulator only: {marker.args[0]}" if marker.args else EMULATOR_ONLY_REASON
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def live_run() -> LiveRun:
    """What this session creates on its server; `ec_resume` fills in the jar."""
    return LiveRun(jar=Path(), prefix=RUN_PREFIX)


@pytest.fixture(scope="session")
def server(live_run: LiveRun) -> Iterator[TestServer]:
    if LIVE is None:
        process = EmulatorProcess()
        try:
            yield process.server
        finally:
            process.stop()
        return
    password = os.environ.get(PASSWORD)
    if password is None:
        pytest.exit(f"live mode: the password of {LIVE.user} is expected in {PASSWORD} "
                    "(python3 build.py test --live asks for it)", returncode=2)
    live = LIVE.server(password)
    try:
        live.api().close()  # a wrong address or password is one line, not an error in every test
    except (ApiError, requests.RequestException) as exc:
        why = ("no connection (is the address right, and the server up?)"
               if isinstance(exc, requests.ConnectionError) else " ".join(str(exc).split()))
        pytest.exit(f"live mode: cannot log in to {live.url} as {live.user}: {why}", returncode=2)
    try:
        yield live
    finally:
        with live.api() as client:
            problems = live_run.tear_down(client)
        for problem in problems:
            print(f"live mode: could not clean up {problem}", file=sys.stderr)


class LiveServerApi(ServerApi):
    """A client of a live server: it has no emulator control endpoint, so a test that reaches for it
    is missing its `emulator_only` mark."""

    def control(self, method: str, what: str, json: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        raise AssertionError(f"{method} /__emulator__/{what} exists only on the emulator: mark this test "
                             "@pytest.mark.emulator_only")


@pytest.fixture
def api(server: TestServer) -> Iterator[ServerApi]:
    kind = LiveServerApi if server.live else ServerApi
    with kind(server.url, server.user, server.password, verify_tls=server.verify_tls) as client:
        yield client
        if not server.live:  # a fault a failed test left armed must not leak into the next test
            client.control("DELETE", "faults")


# ------------------------------------------------------------------------------ the EC-Resume plugin


@pytest.fixture(scope="session")
def built_jar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """out/EC-Resume.jar built from this checkout into a temporary folder, exactly as build.py builds it."""
    root = Path(__file__).resolve().parent.parent
    return build_jar(root, tmp_path_factory.mktemp("jar"))


@pytest.fixture(scope="session")
def ec_resume(server: TestServer, built_jar: Path, live_run: LiveRun) -> str:
    """The built jar installed (force) and promoted over REST.

    On the emulator its steps run under `python -I -S`, which ignores site-packages and the environment,
    so a plugin step that needed anything beyond the standard library and the code that travels inside
    the plugin fails the test. A live server keeps the interpreter its plugin property names.
    """
    live_run.jar = built_jar
    with server.api() as client:
        name = live_run.set_up(client)
        if not server.live:
            client.call("setProperty", propertyName="/plugins/EC-Resume/project/resume/pythonInterpreter",
                        value=f"{sys.executable} -I -S")
    return name


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers (what a hung CD/RO looks like)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()

