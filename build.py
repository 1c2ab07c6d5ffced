#!/usr/bin/env python3
"""The one entry point of EC-Resume.

    python3 build.py                     build out/EC-Resume.jar and prove it on the embedded emulator
    python3 build.py test [pytest args]  run every test
    python3 build.py test --live URL [--user U] [--insecure] [--dry-run] [pytest args]
                                         the same tests against a real CD/RO server
    python3 build.py serve [--port N] [--bare]
                                         run the embedded CD/RO emulator with the plugin installed
    python3 build.py install --server URL [--user U]
                                         upload and promote the jar on a real CD/RO server
    python3 build.py jar                 only build and validate out/EC-Resume.jar

It needs nothing but Python 3.11+ (what the pinned developer packages need; the plugin's agent code
itself runs on 3.8): on first use it creates `.venv` beside this file, installs the pinned
developer dependencies from requirements.txt into it, and re-runs itself inside it. Later runs reuse the
environment while requirements.txt is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
STAMP = VENV / ".requirements.sha256"
# The oldest Python every pin in requirements.txt installs on (tests/test_python_versions.py checks it).
MIN_PYTHON = (3, 11)


def _venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _inside_our_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_environment() -> None:
    """Create or refresh .venv, then re-execute this script inside it."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if _inside_our_venv():
        return
    if not _venv_python().exists():
        print(f"[setup] creating {VENV.relative_to(ROOT)} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print("[setup] installing pinned dependencies from requirements.txt ...", flush=True)
        cmd = [str(_venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q",
               "-r", str(REQUIREMENTS)]
        if subprocess.call(cmd) != 0:
            sys.exit("build.py: installing requirements.txt into .venv failed (see pip's message above)")
        STAMP.write_text(wanted + "\n")
    os.execv(str(_venv_python()), [str(_venv_python()), str(Path(__file__).resolve()), *sys.argv[1:]])


def check_python() -> None:
    if sys.version_info < MIN_PYTHON:
        wanted = ".".join(map(str, MIN_PYTHON))
        sys.exit(f"build.py: Python {wanted} or newer is needed for the developer tools (this is "
                 f"{sys.version.split()[0]} at {sys.executable}); the plugin's agent code runs on 3.8")


def main(argv: list[str]) -> int:
    check_python()
    ensure_environment()
    sys.path[:0] = [str(ROOT / "lib"), str(ROOT)]
    from devtools.cli import run  # imported only inside the venv, where its dependencies exist

    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
