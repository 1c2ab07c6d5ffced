"""Shared fixtures of every end-to-end test: a CD/RO server on loopback and a small client for it.

- `emulator` (session scope): the embedded CD/RO emulator, started on a free port with a temporary
  workspace. Tests use it for its `url` and admin credentials; they reach it only over HTTP.
- `api` (function scope): a `ServerApi` (devtools/server_api.py) logged in as the admin user.

Tests that need what only the emulator gives (fault injection, its request log, its settings) carry
`@pytest.mark.emulator_only` and use the `/__emulator__/...` control endpoint through `api.control`.
"""

from __future__ import annotations

import itertools
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Sequence, Tuple

import pytest

from commander_emulator.server import Emulator
from devtools.install import install_jar
from devtools.package import build_jar
from devtools.sample_procedure import RUN_CONDITION
from devtools.server_api import ApiError, ServerApi, as_list

# Tests import these from here.
__all__ = ["RUN_CONDITION", "ApiError", "ServerApi", "as_list", "find_step",
           "make_procedure", "unique"]


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
    """A name no other test uses: the server is shared by a whole test session."""
    return f"{prefix}-{next(_names)}-{int(time.time() * 1000) % 100000}"


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


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    server = Emulator(workspace_root=str(tmp_path_factory.mktemp("commander-emulator")))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(emulator: Emulator) -> Iterator[ServerApi]:
    with ServerApi(emulator.url, emulator.admin_user, emulator.admin_password) as client:
        yield client
    emulator.faults.clear()  # a fault a failed test left armed must not leak into the next test


# ------------------------------------------------------------------------------ the EC-Resume plugin


@pytest.fixture(scope="session")
def built_jar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """out/EC-Resume.jar built from this checkout into a temporary folder, exactly as build.py builds it."""
    root = Path(__file__).resolve().parent.parent
    return build_jar(root, tmp_path_factory.mktemp("jar"))


@pytest.fixture(scope="session")
def ec_resume(emulator: Emulator, built_jar: Path) -> str:
    """The built jar installed and promoted over REST, with plugin steps run by an isolated interpreter.

    `python -I -S` ignores site-packages and the environment, so a plugin step that needed anything
    beyond the standard library and the code that travels inside the plugin fails the test.
    """
    with ServerApi(emulator.url, emulator.admin_user, emulator.admin_password) as client:
        name = install_jar(client, built_jar)
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

