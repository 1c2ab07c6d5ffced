"""What the CreateRestartLink step's import leaves out of the standard library. It runs at the end of every
job, as a new process that pays for each module it imports (bench/step_process.py); these are the ones
the agent code was made to do without, each some milliseconds, and easy to bring back with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Set

import pytest

LIB = Path(__file__).resolve().parents[2] / "lib"
# What each would cost a step (Python 3.11, bytecode cached), and who does without it.
LEFT_OUT = {
    "xml.etree.ElementTree": "about 4 ms: xml_batch writes and reads the XML batch itself, with expat",
    "datetime": "about 1.3 ms: only a status parses times (report.parse_time imports it then)",
    "dataclasses": "with inspect, ast, dis, tokenize, several ms: records.record_type",
    "inspect": "several ms: records.record_type",
    "http.client": "with email and its parsers: http_exchange makes the one HTTP exchange itself",
    "contextlib": "about 0.5 ms: job_steps' two context managers are small classes",
    "typing": "about 4 ms: the agent code imports it for type checkers only (TYPE_CHECKING = False)",
}
PROCEDURES = sorted(p.stem for p in (LIB / "ec_resume" / "procedures").glob("*.py") if p.stem != "__init__")


def _imported(module: str) -> Set[str]:
    code = f"import sys; sys.path.insert(0, {str(LIB)!r}); import {module}; print(' '.join(sys.modules))"
    # -I -S: a bare interpreter as an agent's step runs it, nothing of this venv's site-packages.
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_link_step_imports_none_of_the_modules_it_was_made_to_do_without() -> None:
    modules = _imported("ec_resume.procedures.create_restart_link")
    assert {"ec_resume.xml_batch", "ec_resume.report", "ec_resume.records"} <= modules  # it did run
    assert {name: why for name, why in LEFT_OUT.items() if name in modules} == {}


@pytest.mark.parametrize("procedure", PROCEDURES)
def test_no_plugin_step_imports_typing(procedure: str) -> None:
    """Every plugin step is a new process: typing (about 4 ms) stays for type checkers, in every module."""
    assert "typing" not in _imported(f"ec_resume.procedures.{procedure}")
