"""The agent bootstrap (dsl/properties/resume/bootstrap.py) run the way a step runs it: `python3 -I -S`,
against a tiny stdlib HTTP server that serves resume/agentCodeDigest and resume/agentCode."""

from __future__ import annotations

import ast
import base64
import concurrent.futures
import hashlib
import io
import json
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from devtools.package import build_agent_code

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_NAME = "EC-Resume-1.0.0"
SESSION = "AGENT-SESSION-5EC2E7"
STEP_ID = "step-42"
DIGEST_PATH = "/myProject/resume/agentCodeDigest"
CODE_PATH = "/myProject/resume/agentCode"


class PropertyServer:
    """Serves the two plugin properties to a job step, and counts what was asked for."""

    def __init__(self, properties: dict[str, str]) -> None:
        self.properties = properties
        self.hits: Counter[str] = Counter()
        self.queries: dict[str, dict[str, list[str]]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                prefix = "/rest/v1.0/properties/"
                path = unquote(parts.path[len(prefix):]) if parts.path.startswith(prefix) else ""
                query = parse_qs(parts.query)
                outer.hits[path] += 1
                outer.queries[path] = query
                if self.headers.get("Cookie") != f"sessionId={SESSION}":
                    self._answer(401, {"error": {"code": "InvalidSession", "message": "no session"}})
                elif path not in outer.properties:
                    self._answer(404, {"error": {"code": "NoSuchProperty",
                                                 "message": f"Property '{path}' does not exist"}})
                else:
                    self._answer(200, {"property": {"propertyName": path.rsplit("/", 1)[-1],
                                                    "value": outer.properties[path]}})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()


@pytest.fixture
def agent_code(tmp_path: Path) -> tuple[bytes, str]:
    """A stand-in agent package: `fakeagent.hello` prints and succeeds, `fakeagent.fail` exits 4."""
    package = tmp_path / "lib" / "fakeagent"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "hello.py").write_text("def main():\n    print('hello from the agent code')\n")
    (package / "fail.py").write_text("def main():\n    return 4\n")
    return build_agent_code(package)


@pytest.fixture
def server(agent_code: tuple[bytes, str]) -> Iterator[PropertyServer]:
    archive, digest = agent_code
    fake = PropertyServer({DIGEST_PATH: digest + "\n", CODE_PATH: base64.b64encode(archive).decode()})
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def run_step(server: Any, plugins_dir: Path, module: str = "fakeagent.hello", digest: str = "",
             flags: tuple[str, ...] = ("-I", "-S"), **env_extra: str):
    """Run a step command the way CreateRestartLink's is built: the bootstrap, then one call (with the
    agent code's digest, as the step's command expands it, when `digest` is given). `server` is anything
    with a `port` on 127.0.0.1; `env_extra` adds to or overrides the step's environment."""
    source = (ROOT / "dsl/properties/resume/bootstrap.py").read_text()
    bootstrap = source.replace("@PLUGIN_NAME@", PLUGIN_NAME)
    script = plugins_dir.parent / "step_command.py"
    call = f"run_plugin_module({module!r}, {digest!r})" if digest else f"run_plugin_module({module!r})"
    script.write_text(bootstrap + "\n" + call + "\n")
    env = {"COMMANDER_SERVER": f"127.0.0.1:{server.port}", "COMMANDER_SECURE": "0",
           "COMMANDER_SESSIONID": SESSION, "COMMANDER_JOBSTEPID": STEP_ID,
           "COMMANDER_PLUGINS": str(plugins_dir), "COMMANDER_JOBID": "job-1", "PATH": "/usr/bin:/bin",
           **env_extra}
    return subprocess.run([sys.executable, *flags, str(script)], env=env, capture_output=True,
                          text=True, timeout=60)


def cached_zip(plugins_dir: Path, digest: str) -> Path:
    return plugins_dir / PLUGIN_NAME / "agent" / f"ec_resume-{digest}.zip"


def test_first_run_downloads_and_caches_second_run_reuses_the_cache(server, agent_code, tmp_path):
    archive, digest = agent_code
    plugins = tmp_path / "plugins"
    first = run_step(server, plugins)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "hello from the agent code\n"
    assert cached_zip(plugins, digest).read_bytes() == archive
    assert server.hits[CODE_PATH] == 1
    for path in (DIGEST_PATH, CODE_PATH):  # raw values, read in the step's context
        assert server.queries[path] == {"expand": ["0"], "jobStepId": [STEP_ID]}

    second = run_step(server, plugins)
    assert second.returncode == 0, second.stderr
    assert second.stdout == "hello from the agent code\n"
    assert server.hits[CODE_PATH] == 1  # no second download
    assert server.hits[DIGEST_PATH] == 2  # but the digest is checked on every run
    assert not [p for p in cached_zip(plugins, digest).parent.iterdir() if p.suffix == ".part"]


def test_a_corrupted_cache_is_replaced(server, agent_code, tmp_path):
    archive, digest = agent_code
    plugins = tmp_path / "plugins"
    cache = cached_zip(plugins, digest)
    cache.parent.mkdir(parents=True)
    cache.write_bytes(archive[: len(archive) // 2])  # as a crash mid-copy would leave it
    result = run_step(server, plugins)
    assert result.returncode == 0, result.stderr
    assert server.hits[CODE_PATH] == 1
    assert cache.read_bytes() == archive


def test_code_that_does_not_match_its_digest_is_refused(server, tmp_path):
    wrong = hashlib.sha256(b"something else").hexdigest()
    server.properties[DIGEST_PATH] = wrong
    plugins = tmp_path / "plugins"
    result = run_step(server, plugins)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not match its digest" in lines[0] and "refusing to run it" in lines[0]
    assert not cached_zip(plugins, wrong).exists()


def test_the_module_exit_code_is_the_step_exit_code(server, tmp_path):
    assert run_step(server, tmp_path / "plugins", "fakeagent.fail").returncode == 4


def test_a_server_error_is_one_line_without_the_session_id(server, tmp_path):
    del server.properties[DIGEST_PATH]
    result = run_step(server, tmp_path / "plugins")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"EC-Resume bootstrap: reading {DIGEST_PATH} from "
                                     f"http://127.0.0.1:{server.port} failed (tried once within 30 s): "
                                     f"[NoSuchProperty] Property '{DIGEST_PATH}' does not exist")
    assert SESSION not in result.stdout + result.stderr


def test_the_real_agent_package_loads_on_a_bare_interpreter(tmp_path):
    """lib/ec_resume imports under -I -S from the zip: standard library only. This fake server knows no
    jobs, so CreateRestartLink gets as far as getJobDetails and stops with one line."""
    archive, digest = build_agent_code(ROOT / "lib" / "ec_resume")
    fake = PropertyServer({DIGEST_PATH: digest, CODE_PATH: base64.b64encode(archive).decode()})
    try:
        result = run_step(fake, tmp_path / "plugins", "ec_resume.procedures.create_restart_link")
    finally:
        fake.httpd.shutdown()
        fake.httpd.server_close()
    assert result.returncode == 1
    assert result.stderr.startswith("CreateRestartLink: the server refused a request: [NoSuchProperty]")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert fake.hits["linkName"] == 1 and fake.hits["runAllLinkName"] == 1


def test_the_agent_code_keeps_its_bytecode_where_the_environment_says_to_write_none(tmp_path):
    """PYTHONDONTWRITEBYTECODE is common in container images; in its own unpacked folder the agent code
    keeps the bytecode it compiled anyway, or every later step would compile every module again."""
    archive, digest = build_agent_code(ROOT / "lib" / "ec_resume")
    plugins = tmp_path / "plugins"
    result = run_with_code(archive, digest, plugins, "ec_resume.procedures.create_restart_link",
                           flags=("-S",), PYTHONDONTWRITEBYTECODE="1")
    assert result.stderr.startswith("CreateRestartLink: the server refused a request: [NoSuchProperty]")
    kept = {p.name.split(".")[0] for p in (unpacked(plugins, digest) / "ec_resume" / "__pycache__").iterdir()}
    assert {"client", "planning", "prefetch", "restart_link"} <= kept


def test_a_server_that_never_answers_fails_the_step_within_its_timeout(silent_server, tmp_path):
    """COMMANDER_TIMEOUT bounds each read (retries included); the step ends with one line naming it."""
    source = (ROOT / "dsl/properties/resume/bootstrap.py").read_text().replace("@PLUGIN_NAME@", PLUGIN_NAME)
    script = tmp_path / "step_command.py"
    script.write_text(source + "\nrun_plugin_module('fakeagent.hello')\n")
    host_port = silent_server.split("://", 1)[1]
    env = {"COMMANDER_SERVER": host_port, "COMMANDER_SECURE": "0", "COMMANDER_SESSIONID": SESSION,
           "COMMANDER_TIMEOUT": "0.5", "COMMANDER_PLUGINS": str(tmp_path / "plugins"),
           "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-I", "-S", str(script)], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"EC-Resume bootstrap: reading {DIGEST_PATH} from {silent_server} "
                                     f"failed (tried once within 0.5 s): cannot reach {silent_server}: "
                                     "no answer within 0.5 s")


def test_many_steps_starting_at_once_on_a_fresh_agent_all_load_the_code(tmp_path):
    """The first steps of a plugin version on an agent unpack the code together: none may pull the folder
    from under another that is importing from it (a later import fails with ModuleNotFoundError)."""
    package = tmp_path / "lib" / "fakeagent"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "later.py").write_text("VALUE = 'loaded late'\n")
    for i in range(40):  # enough files that unpacking takes a while
        (package / f"filler{i}.py").write_text(f"X = '{'x' * 20000}'\n")
    (package / "hello.py").write_text(  # imports one module after another while the others unpack
        "import importlib, time\n\ndef main():\n    for i in range(40):\n"
        "        importlib.import_module('fakeagent.filler%d' % i)\n        time.sleep(0.01)\n"
        "    from . import later\n    print(later.VALUE)\n")
    archive, digest = build_agent_code(package)
    fake = PropertyServer({DIGEST_PATH: digest + "\n", CODE_PATH: base64.b64encode(archive).decode()})
    try:
        plugins = tmp_path / "plugins"
        run_step(fake, plugins, "fakeagent")  # writes the step's script; imports the package, runs nothing
        for cached in (plugins / PLUGIN_NAME / "agent").iterdir():  # back to a fresh agent
            shutil.rmtree(cached) if cached.is_dir() else cached.unlink()
        script = plugins.parent / "step_command.py"
        script.write_text(script.read_text().replace("run_plugin_module('fakeagent')",
                                                     "run_plugin_module('fakeagent.hello')"))
        env = {"COMMANDER_SERVER": f"127.0.0.1:{fake.port}", "COMMANDER_SECURE": "0",
               "COMMANDER_SESSIONID": SESSION, "COMMANDER_JOBSTEPID": STEP_ID,
               "COMMANDER_PLUGINS": str(plugins), "COMMANDER_JOBID": "job-1", "PATH": "/usr/bin:/bin"}

        def step(_: int) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-I", "-S", str(script)], env=env, capture_output=True,
                                  text=True, timeout=60)

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(step, range(16)))
    finally:
        fake.httpd.shutdown()
        fake.httpd.server_close()
    assert [(r.returncode, r.stdout) for r in results] == [(0, "loaded late\n")] * 16, [
        r.stderr[-500:] for r in results if r.returncode]


def run_with_code(archive: bytes, digest: str, plugins_dir: Path, module: str, **kwargs: Any):
    """run_step, with the digest in the step's call, against a property server of its own that serves
    `archive` as the agent code."""
    fake = PropertyServer({DIGEST_PATH: digest, CODE_PATH: base64.b64encode(archive).decode()})
    try:
        return run_step(fake, plugins_dir, module, digest=digest, **kwargs)
    finally:
        fake.httpd.shutdown()
        fake.httpd.server_close()


def unpacked(plugins_dir: Path, digest: str) -> Path:
    return plugins_dir / PLUGIN_NAME / "agent" / f"ec_resume-{digest}"


def test_the_loader_compiles_and_is_lint_clean():
    """The loader is a string in the bootstrap, compiled only when a step needs it: it must compile on
    the oldest Python the agent supports and pass the same lint as the rest of the tree."""
    namespace: dict[str, Any] = {}
    exec(compile((ROOT / "dsl/properties/resume/bootstrap.py").read_text(), "bootstrap", "exec"), namespace)
    loader = namespace["_ECR_LOADER"]
    ast.parse(loader, "loader", feature_version=(3, 8))
    compile(loader, "loader", "exec")
    assert "$[" not in loader and "'''" not in loader
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache",
                           "--config", "builtins = ['_ecr_intact', '_ecr_named_temp', '_ECR_FILES']",
                           "--stdin-filename", str(ROOT / "dsl/properties/resume/loader.py"), "-"],
                          input=loader, capture_output=True, text=True, cwd=ROOT)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_an_unpacked_folder_is_used_without_asking_the_server(server, agent_code, tmp_path):
    """With the digest in the step's command and the code unpacked whole, a step asks the server nothing
    before its module runs: here the server is gone by then."""
    archive, digest = agent_code
    plugins = tmp_path / "plugins"
    assert run_step(server, plugins, digest=digest).returncode == 0
    assert (unpacked(plugins, digest) / ".files").read_text().splitlines()[0] == digest
    hits = dict(server.hits)
    with socket.socket() as closed:  # a port that nothing listens on
        closed.bind(("127.0.0.1", 0))
        gone = closed.getsockname()[1]
    result = run_step(server, plugins, digest=digest, COMMANDER_SERVER=f"127.0.0.1:{gone}")
    assert (result.returncode, result.stdout, result.stderr) == (0, "hello from the agent code\n", "")
    assert dict(server.hits) == hits


@pytest.mark.parametrize("damage", ["edited", "truncated", "deleted", "list removed", "older list"])
def test_an_unpacked_folder_that_is_not_whole_is_unpacked_again(server, agent_code, tmp_path, damage):
    """A file of the unpacked code changed, cut, or gone, or a folder without the list this bootstrap
    writes (an older one's): the step unpacks the checked zip again and runs the real code."""
    archive, digest = agent_code
    plugins = tmp_path / "plugins"
    assert run_step(server, plugins, digest=digest).returncode == 0
    folder = unpacked(plugins, digest)
    hello = folder / "fakeagent" / "hello.py"
    if damage == "edited":  # the same size: only its modification time tells
        text = hello.read_text()
        hello.write_text(text.replace("hello", "HELLO"))
    elif damage == "truncated":
        hello.write_text("")
    elif damage == "deleted":
        hello.unlink()
    elif damage == "list removed":
        (folder / ".files").unlink()
    else:
        (folder / ".files").unlink()
        older = hashlib.sha256(hello.read_bytes()).hexdigest() + " fakeagent/hello.py"
        (folder / ".sums").write_text(digest + "\n" + older + "\n")
    shutil.rmtree(folder / "fakeagent" / "__pycache__", ignore_errors=True)
    result = run_step(server, plugins, digest=digest)
    assert (result.returncode, result.stdout) == (0, "hello from the agent code\n"), result.stderr
    assert server.hits[CODE_PATH] == 1  # the zip on the agent still matched its digest
    assert (folder / ".files").read_text().splitlines()[0] == digest
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".part")]


@pytest.fixture
def talking_code(tmp_path: Path) -> tuple[bytes, str]:
    """Modules whose main() writes much and ends in the ways a step's code can end."""
    package = tmp_path / "lib" / "fakeagent"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "much.py").write_text(  # no flush of its own: the bootstrap's exit must not lose any of it
        "import sys\n\ndef main():\n    for i in range(20000):\n        print('line', i)\n"
        "    sys.stderr.write('to stderr')\n    return 3\n")
    (package / "exits.py").write_text("import sys\n\ndef main():\n    sys.exit('stopped: bad input')\n")
    (package / "none.py").write_text("def main():\n    print('done', end='')\n")
    (package / "raises.py").write_text("def main():\n    raise RuntimeError('an agent bug')\n")
    return build_agent_code(package)


@pytest.mark.parametrize("module, code, out, err", [
    ("much", 3, "".join(f"line {i}\n" for i in range(20000)), "to stderr"),
    ("exits", 1, "", "stopped: bad input\n"),
    ("none", 0, "done", ""),
])
def test_a_step_ends_with_its_code_and_all_its_output(talking_code, tmp_path, module, code, out, err):
    archive, digest = talking_code
    for _ in range(2):  # the first run unpacks; the second takes the usual path
        result = run_with_code(archive, digest, tmp_path / "plugins", f"fakeagent.{module}")
        assert (result.returncode, result.stdout, result.stderr) == (code, out, err)


def test_an_uncaught_error_in_the_code_is_its_traceback_and_exit_code_1(talking_code, tmp_path):
    archive, digest = talking_code
    result = run_with_code(archive, digest, tmp_path / "plugins", "fakeagent.raises")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "RuntimeError: an agent bug"


def _zip_listing_check(tmp_path: Path, with_list: bool) -> tuple[str, str]:
    """A first run of an agent package whose main() says whether zipfile was imported."""
    package = tmp_path / "lib" / "fakeagent"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "which.py").write_text("import sys\n\ndef main():\n    print('zipfile' in sys.modules)\n")
    archive, digest = build_agent_code(package)
    if not with_list:  # as a zip without the build's list of names would be
        source = zipfile.ZipFile(io.BytesIO(archive))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as rewritten:
            for name in source.namelist():
                if name != "AGENT-FILES":
                    rewritten.writestr(name, source.read(name))
        archive = buffer.getvalue()
        digest = hashlib.sha256(archive).hexdigest()
    result = run_with_code(archive, digest, tmp_path / "plugins", "fakeagent.which")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip(), digest


def test_a_first_run_reads_the_zip_without_importing_zipfile(tmp_path):
    """The build lists the zip's files in it (AGENT-FILES), so zipimport, loaded in every Python, reads
    them: zipfile's import would cost a plugin's first step on an agent 15-20 ms."""
    imported, digest = _zip_listing_check(tmp_path, with_list=True)
    assert imported == "False"
    names = (unpacked(tmp_path / "plugins", digest) / ".files").read_text().splitlines()[1:]
    assert sorted(line.split(" ", 2)[2] for line in names) == [
        "fakeagent/__init__.py", "fakeagent/which.py"]


def test_a_zip_without_its_list_of_files_is_read_with_zipfile(tmp_path):
    imported, _ = _zip_listing_check(tmp_path, with_list=False)
    assert imported == "True"


# ------------------------------------------------------------------- the bootstrap's own HTTP exchange


class ScriptedServer:
    """A raw socket server: each connection gets the answer that `answer(path, attempt)` returns for
    the path it asked, then stays open `hold` seconds before it closes. Records every request's head."""

    def __init__(self, answer: Any, hold: float = 0.0) -> None:
        self.answer, self.hold = answer, hold
        self.requests: list[str] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.closing = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closing.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            text = head.decode("latin-1")
            self.requests.append(text)
            path = unquote(urlsplit(text.split(" ")[1]).path)[len("/rest/v1.0/properties/"):]
            attempt = sum(1 for r in self.requests if unquote(r.split(" ")[1]).find(path) >= 0)
            conn.sendall(self.answer(path, attempt))
            self.closing.wait(self.hold)

    def close(self) -> None:
        self.closing.set()
        self.listener.close()


def property_answer(value: str, chunked: bool = False, cut: bool = False) -> bytes:
    """An HTTP/1.1 200 answer carrying the property; `chunked` frames it so, `cut` drops its second half."""
    body = json.dumps({"property": {"propertyName": "p", "value": value}}).encode()
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    if chunked:
        pieces = [body[i:i + 1000] for i in range(0, len(body), 1000)]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + framed
    sent = body[: len(body) // 2] if cut else body
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + sent


@pytest.fixture
def properties(agent_code: tuple[bytes, str]) -> dict[str, str]:
    archive, digest = agent_code
    return {DIGEST_PATH: digest, CODE_PATH: base64.b64encode(archive).decode()}


def test_an_answer_is_read_to_its_length_though_the_server_keeps_the_connection_open(properties, tmp_path):
    """A server may close a while after it answered: the bootstrap stops at Content-Length. Were it to
    wait for the close, every read would time out (the server holds it 60 s; the step has 2 s)."""
    held = ScriptedServer(lambda path, attempt: property_answer(properties[path]), hold=60)
    try:
        result = run_step(held, tmp_path / "plugins", COMMANDER_TIMEOUT="2")
    finally:
        held.close()
    assert (result.returncode, result.stdout) == (0, "hello from the agent code\n"), result.stderr
    assert [r.split("\r\n")[0].split(" ")[0::2] for r in held.requests] == [["GET", "HTTP/1.0"]] * 2
    assert all(f"\r\nCookie: sessionId={SESSION}\r\n" in r and f"\r\nHost: 127.0.0.1:{held.port}\r\n" in r
               for r in held.requests)


def test_a_chunked_answer_is_decoded(properties, tmp_path):
    chunked = ScriptedServer(lambda path, attempt: property_answer(properties[path], chunked=True))
    try:
        result = run_step(chunked, tmp_path / "plugins")
    finally:
        chunked.close()
    assert (result.returncode, result.stdout) == (0, "hello from the agent code\n"), result.stderr


def test_an_answer_cut_short_is_asked_again(properties, agent_code, tmp_path):
    """The agent code arrives half-way the first time (the connection drops): the bootstrap asks again
    rather than take it, and the code it caches is whole."""
    archive, digest = agent_code
    flaky = ScriptedServer(lambda path, attempt: property_answer(
        properties[path], cut=(path == CODE_PATH and attempt == 1)))
    try:
        result = run_step(flaky, tmp_path / "plugins")
    finally:
        flaky.close()
    assert (result.returncode, result.stdout) == (0, "hello from the agent code\n"), result.stderr
    assert sum(CODE_PATH in unquote(r.split(" ")[1]) for r in flaky.requests) == 2
    assert cached_zip(tmp_path / "plugins", digest).read_bytes() == archive


def test_a_proxy_named_in_the_environment_is_used(server, tmp_path):
    """With http_proxy set, the reads go through that proxy (here the property server itself, which
    reads the absolute URL of the request); the CD/RO host is not resolvable without it."""
    result = run_step(server, tmp_path / "plugins", COMMANDER_SERVER="cdro.invalid:8000",
                      http_proxy=f"http://127.0.0.1:{server.port}")
    assert (result.returncode, result.stdout) == (0, "hello from the agent code\n"), result.stderr
    assert server.hits[CODE_PATH] == 1 and server.hits[DIGEST_PATH] == 1


# Test-only key and self-signed certificate for 127.0.0.1, valid until 2126 (made with openssl req -x509).
TLS_CERT, TLS_KEY = (Path(__file__).parent / "data" / f"loopback-tls.{ext}" for ext in ("crt", "key"))


@pytest.fixture
def tls_server(agent_code: tuple[bytes, str]) -> Iterator[PropertyServer]:
    archive, digest = agent_code
    fake = PropertyServer({DIGEST_PATH: digest, CODE_PATH: base64.b64encode(archive).decode()})
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS_CERT, TLS_KEY)
    fake.httpd.socket = context.wrap_socket(fake.httpd.socket, server_side=True)
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


def test_https_with_the_certificate_trusted_loads_the_code(tls_server, tmp_path):
    result = run_step(tls_server, tmp_path / "plugins", COMMANDER_SECURE="1", SSL_CERT_FILE=str(TLS_CERT))
    assert (result.returncode, result.stdout) == (0, "hello from the agent code\n"), result.stderr
    assert tls_server.hits[CODE_PATH] == 1


def test_https_with_an_untrusted_certificate_is_refused_in_one_line(tls_server, tmp_path):
    """Without the certificate in the trust store the step fails, naming the verification; with the
    documented opt-out EC_RESUME_TLS_VERIFY=0 it runs."""
    refused = run_step(tls_server, tmp_path / "plugins", COMMANDER_SECURE="1", COMMANDER_TIMEOUT="1")
    assert refused.returncode == 1 and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "CERTIFICATE_VERIFY_FAILED" in lines[0], refused.stderr
    assert "(tried once within 1 s)" in lines[0]  # a certificate does not change by asking again
    assert tls_server.hits[CODE_PATH] == 0
    allowed = run_step(tls_server, tmp_path / "plugins", COMMANDER_SECURE="1", EC_RESUME_TLS_VERIFY="0")
    assert (allowed.returncode, allowed.stdout) == (0, "hello from the agent code\n"), allowed.stderr
