"""Sub-commands of build.py. Runs inside .venv, so developer dependencies are importable here.

    (none) or demo                build, then prove the jar on the embedded emulator (devtools/demo.py)
    --server URL [--user U]       build, then install on that server instead of the demo
    jar                           build and validate out/EC-Resume.jar only
    install --server URL [--user U]
    serve [--port N]              the emulator with the plugin and the sample procedure, until Ctrl-C
    test [pytest args]            every test

A problem the user can fix (a bad source file, a refused login, a busy port) is one line on stderr and
exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_USER = "admin"


def cmd_test(extra: List[str]) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lib"), str(ROOT)])
    # Two workers match the two cores of the machines this runs on; tests are independent.
    args = [sys.executable, "-m", "pytest", "-n", "2", *extra]
    return subprocess.call(args, cwd=ROOT, env=env)


def _build() -> Path:
    from devtools.package import build_jar

    return build_jar(ROOT, ROOT / "out")


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def cmd_jar() -> int:
    from devtools.package import plugin_name_of

    print(f"[1/1] building {_shown(ROOT / 'out' / 'EC-Resume.jar')} ...", flush=True)
    jar = _build()
    print(f"built and validated {plugin_name_of(jar)}: {jar}", flush=True)
    return 0


def cmd_install(server: str, user: str) -> int:
    from devtools.install import install, password_for

    password = password_for(user)  # asked before the build, so a missing password costs nothing
    print(f"[1/2] building {_shown(ROOT / 'out' / 'EC-Resume.jar')} ...", flush=True)
    jar = _build()
    print(f"[2/2] installing and promoting it on {server} as {user} ...", flush=True)
    name = install(server, user, jar, password=password)
    print(f"{name} installed and promoted on {server}", flush=True)
    return 0


def cmd_demo() -> int:
    from devtools.demo import run_demo

    return run_demo(ROOT)


def cmd_serve(port: int) -> int:
    from devtools.demo import serve

    return serve(ROOT, port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py", description="Build EC-Resume and prove it on the embedded CD/RO emulator "
                                     "(no command), or install it on a real server (--server).")
    parser.add_argument("--server", help="install on this CD/RO server (http(s)://host[:port]) instead of "
                                         "running the demo")
    parser.add_argument("--user", default=DEFAULT_USER, help=f"user for --server (default: {DEFAULT_USER}); "
                                                             "password from COMMANDER_PASSWORD or a prompt")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("test", help="run every test (further arguments go to pytest)")
    sub.add_parser("demo", help="the default: build, then prove the jar on the embedded emulator")
    sub.add_parser("jar", help="only build and validate out/EC-Resume.jar")
    p_install = sub.add_parser("install", help="upload and promote the jar on a CD/RO server")
    p_install.add_argument("--server", required=True, help="http(s)://host[:port]")
    p_install.add_argument("--user", default=DEFAULT_USER, help=f"default: {DEFAULT_USER}")
    p_serve = sub.add_parser("serve", help="run the embedded CD/RO emulator on 127.0.0.1 with the plugin "
                                           "and a sample procedure")
    p_serve.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    return parser


def _dispatch(argv: List[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "jar":
        return cmd_jar()
    if args.command == "install" or (args.command is None and args.server):
        return cmd_install(args.server, args.user)
    if args.command == "serve":
        return cmd_serve(args.port)
    return cmd_demo()


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def run(argv: List[str]) -> int:
    if argv[:1] == ["test"]:  # everything after `test` belongs to pytest, options included
        return cmd_test(argv[1:])
    from ec_resume.client import CommanderApiError

    from devtools.demo import DemoError
    from devtools.install import InstallError
    from devtools.package import BuildError
    from devtools.sample_procedure import SampleError

    try:
        return _dispatch(argv)
    except (BuildError, InstallError, DemoError, SampleError, CommanderApiError) as exc:
        print(f"build.py: {_one_line(exc)}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("build.py: interrupted", file=sys.stderr, flush=True)
        return 130
