"""Sub-commands of build.py. Runs inside .venv, so developer dependencies are importable here."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cmd_test(extra: list[str]) -> int:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lib"), str(ROOT)])
    # Two workers match the two cores of the machines this runs on; tests are independent.
    args = [sys.executable, "-m", "pytest", "-n", "2", *extra]
    return subprocess.call(args, cwd=ROOT, env=env)


def cmd_serve(port: int) -> int:
    from commander_emulator.server import serve_forever

    return serve_forever(port=port, plugin_jar=_jar_if_buildable())


def _jar_if_buildable() -> Path | None:
    try:
        from devtools.package import build_jar
    except ImportError:
        return None
    return build_jar(ROOT, ROOT / "out")


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description="Build, prove and test EC-Resume.")
    sub = parser.add_subparsers(dest="command")
    p_test = sub.add_parser("test", help="run every test")
    p_test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    p_serve = sub.add_parser("serve", help="run the embedded CD/RO emulator on 127.0.0.1")
    p_serve.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    args = parser.parse_args(argv)
    if args.command == "test":
        return cmd_test(args.pytest_args)
    if args.command == "serve":
        return cmd_serve(args.port)
    parser.print_help()
    return 0
