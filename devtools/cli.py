"""Sub-commands of build.py. Runs inside .venv, so developer dependencies are importable here.

    (none) or demo                build, then prove the jar on the embedded emulator (devtools/demo.py)
    --server URL [--user U]       build, then install on that server instead of the demo
    jar                           build and validate out/EC-Resume.jar only
    install --server URL [--user U]
    serve [--port N] [--bare]     the emulator with the plugin and the sample procedure, until Ctrl-C
                                  (--bare: the emulator alone, as the test suite starts it)
    test [pytest args]            every test
    test --live URL [--user U] [--insecure] [--dry-run] [pytest args]
                                  the same against a real CD/RO server (tests/conftest.py)
    bench [--quick] [--only NAME] the benchmarks of bench/, table in out/bench.md (bench/run_all.py)

A problem the user can fix (a bad source file, a refused login, a busy port) is one line on stderr and
exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_USER = "admin"


def parallel_options(extra: List[str]) -> List[str]:
    """`-n 2` (two workers for the two cores of the machines this runs on), unless the user's own pytest
    options already choose: -n/--numprocesses, --dist, or `-p no:xdist`, which rejects -n."""
    for i, option in enumerate(extra):
        if option.startswith(("-n", "--numprocesses", "--dist")):
            return []
        if option == "-pno:xdist" or (option == "-p" and extra[i + 1:i + 2] == ["no:xdist"]):
            return []
    return ["-n", "2"]


@dataclass
class LiveOptions:
    """`build.py test --live URL [--user U] [--insecure] [--dry-run]`: the options that come before
    pytest's own."""

    url: str = ""
    user: str = DEFAULT_USER
    insecure: bool = False
    dry_run: bool = False


LIVE_USAGE = "build.py test --live URL [--user U] [--insecure] [--dry-run] [pytest args]"


def split_live_options(extra: List[str]) -> Tuple[Optional[LiveOptions], List[str]]:
    """The live-mode options at the front of `extra`, and the rest (pytest's). None without --live."""
    live, rest = LiveOptions(), list(extra)
    seen = False
    while rest and rest[0] in ("--live", "--user", "--insecure", "--dry-run"):
        option = rest.pop(0)
        if option in ("--live", "--user"):
            if not rest or rest[0].startswith("-"):
                raise UsageError(f"{option}: expected a value after it ({LIVE_USAGE})")
            value = rest.pop(0)
            if option == "--live":
                live.url, seen = value, True
            else:
                live.user = value
        elif option == "--insecure":
            live.insecure = True
        else:
            live.dry_run = True
    if not seen:
        if live != LiveOptions():
            raise UsageError(f"--user, --insecure and --dry-run go with --live URL ({LIVE_USAGE})")
        return None, rest
    if not live.url.startswith(("http://", "https://")) or not urlsplit(live.url).hostname:
        raise UsageError(f"--live '{live.url}': expected the server's address, http(s)://host[:port]")
    if any(o.startswith(("-n", "--numprocesses", "--dist")) for o in rest):
        raise UsageError("--live runs the tests one at a time (they share one server and its plugin): "
                         "drop -n/--numprocesses/--dist")
    return live, rest


class UsageError(Exception):
    """A wrong command line; str() is the one line to print."""


def _pytest_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lib"), str(ROOT)])
    return env


def cmd_test(extra: List[str]) -> int:
    try:
        live, extra = split_live_options(extra)
    except UsageError as exc:
        print(f"build.py test: {exc}", file=sys.stderr)
        return 2
    env = _pytest_env()
    if live is None:
        args = [sys.executable, "-m", "pytest", *parallel_options(extra), *extra]
        return subprocess.call(args, cwd=ROOT, env=env)
    return _live_test(live, extra, env)


def _live_test(live: LiveOptions, extra: List[str], env: Dict[str, str]) -> int:
    """The suite against a real server, one test at a time; or, with --dry-run, what it would do there."""
    import tempfile

    from devtools import test_servers as ts
    from devtools.install import InstallError, password_for
    from devtools.package import BuildError, build_jar

    target = ts.LiveTarget(live.url.rstrip("/"), live.user, verify_tls=not live.insecure)
    if live.dry_run:
        with tempfile.TemporaryDirectory(prefix="ec-resume-dry-run-") as scratch:
            try:
                plan = ts.LiveRun(build_jar(ROOT, Path(scratch)), ts.run_prefix()).plan(target)
            except BuildError as exc:
                print(f"build.py test: {exc}", file=sys.stderr)
                return 1
        print(f"dry run: nothing is sent to {target.url}. A live run would:")
        for line in plan:
            print(f"  {line}")
        return 0
    try:
        env[ts.PASSWORD] = password_for(live.user)
    except InstallError as exc:
        print(f"build.py test: {exc}", file=sys.stderr)
        return 2
    env[ts.LIVE_URL], env[ts.LIVE_USER] = target.url, target.user
    if live.insecure:
        env[ts.LIVE_INSECURE] = "1"
    return subprocess.call([sys.executable, "-m", "pytest", "-p", "no:xdist", *extra], cwd=ROOT, env=env)


def cmd_bench(extra: List[str]) -> int:
    """bench/run_all.py in its own process, with the paths the figure scripts import from."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lib"), str(ROOT)])
    return subprocess.call([sys.executable, str(ROOT / "bench" / "run_all.py"), *extra], cwd=ROOT, env=env)


def say(text: str) -> None:
    """Print at once: a caller reading our stdout through a pipe (serve's URL line) waits for it."""
    print(text, flush=True)


def progress(total: int) -> Callable[[str], None]:
    """Prints "[n/total] <text> ..." for the n-th stage of a command."""
    counter = iter(range(1, total + 1))
    return lambda text: say(f"[{next(counter)}/{total}] {text} ...")


def _built(step: Callable[[str], None]) -> Path:
    """out/EC-Resume.jar, built and validated as the command's first stage."""
    from devtools.package import build_jar

    out = ROOT / "out"
    step(f"building {(out / 'EC-Resume.jar').relative_to(ROOT)}")
    return build_jar(ROOT, out)


def cmd_jar() -> int:
    from devtools.package import plugin_name_of

    jar = _built(progress(1))
    say(f"built and validated {plugin_name_of(jar)}: {jar}")
    return 0


def cmd_install(server: str, user: str) -> int:
    from devtools.install import install, password_for

    password = password_for(user)  # asked before the build, so a missing password costs nothing
    step = progress(2)
    jar = _built(step)
    step(f"installing and promoting it on {server} as {user}")
    name = install(server, user, jar, password=password)
    say(f"{name} installed and promoted on {server}")
    return 0


def cmd_demo() -> int:
    from devtools.demo import run_demo

    step = progress(5)
    return run_demo(_built(step), step, say)


def cmd_serve(port: int, bare: bool) -> int:
    from devtools.demo import serve, serve_bare

    if bare:
        return serve_bare(port, say)

    step = progress(3)
    return serve(_built(step), port, step, say)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py", description="Build EC-Resume and prove it on the embedded CD/RO emulator "
                                     "(no command), or install it on a real server (--server).")
    parser.add_argument("--server", help="install on this CD/RO server (http(s)://host[:port]) instead of "
                                         "running the demo")
    parser.add_argument("--user", default=DEFAULT_USER, help=f"user for --server (default: {DEFAULT_USER}); "
                                                             "password from COMMANDER_PASSWORD or a prompt")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("test", help="run every test (further arguments go to pytest); --live URL [--user U] "
                                "[--insecure] [--dry-run] runs them against a real CD/RO server")
    sub.add_parser("bench", help="run the benchmarks of bench/ and write out/bench.md (--quick, --only NAME)")
    sub.add_parser("demo", help="the default: build, then prove the jar on the embedded emulator")
    sub.add_parser("jar", help="only build and validate out/EC-Resume.jar")
    p_install = sub.add_parser("install", help="upload and promote the jar on a CD/RO server")
    p_install.add_argument("--server", required=True, help="http(s)://host[:port]")
    p_install.add_argument("--user", default=DEFAULT_USER, help=f"default: {DEFAULT_USER}")
    p_serve = sub.add_parser("serve", help="run the embedded CD/RO emulator on 127.0.0.1 with the plugin "
                                           "and a sample procedure")
    p_serve.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    p_serve.add_argument("--bare", action="store_true",
                         help="only the emulator: no jar build, no plugin, no sample (the tests' server)")
    return parser


def _dispatch(argv: List[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "jar":
        return cmd_jar()
    if args.command == "install" or (args.command is None and args.server):
        return cmd_install(args.server, args.user)
    if args.command == "serve":
        return cmd_serve(args.port, args.bare)
    return cmd_demo()


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def run(argv: List[str]) -> int:
    if argv[:1] == ["test"]:  # everything after `test` belongs to pytest, options included
        return cmd_test(argv[1:])
    if argv[:1] == ["bench"]:  # and everything after `bench` to bench/run_all.py
        return cmd_bench(argv[1:])
    # Imported past `test`, here and in each command: pytest must run even when this code does not import.
    from requests import RequestException

    from devtools.demo import DemoError
    from devtools.install import InstallError
    from devtools.package import BuildError
    from devtools.sample_procedure import SampleError
    from devtools.server_api import ApiError, JobTimeout

    try:
        return _dispatch(argv)
    except (BuildError, InstallError, DemoError, SampleError, ApiError, JobTimeout, RequestException) as exc:
        print(f"build.py: {_one_line(exc)}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("build.py: interrupted", file=sys.stderr, flush=True)
        return 130
