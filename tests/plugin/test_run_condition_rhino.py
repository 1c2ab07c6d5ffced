"""The shared run condition (dsl/properties/resume/runCondition.js) under Mozilla Rhino, the engine a
CD/RO server evaluates `$[/javascript ...]` with, over the case table in run_condition_cases.py.

Needs Debian's `rhino` (CI installs it); the Rhino tests are skipped, with the reason shown, without it.
The text checks below run everywhere.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from tests.plugin.run_condition_cases import (
    CASES,
    SCRIPT_PREFIX,
    RunConditionCase,
    cases_json,
    read_run_condition,
    script_body,
)

HARNESS = Path(__file__).with_name("rhino_harness.js")
RHINO = shutil.which("rhino")
needs_rhino = pytest.mark.skipif(RHINO is None, reason="rhino not installed (Debian: apt-get install rhino)")
# Rhino's JavaScript 1.8 mode: ES5 plus a few Mozilla extensions, the classic server-side dialect.
RHINO_ES5 = ["-version", "180", "-encoding", "UTF-8"]


def run_rhino(args: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run([RHINO, *RHINO_ES5, *args], capture_output=True, text=True, encoding="utf-8",
                          timeout=60, check=False)


def code_only(body: str) -> str:
    """The script with string literals, regex literals and comments blanked out (structure only)."""
    token = re.compile(r"//[^\n]*"  # line comment
                       r"|/\*.*?\*/"  # block comment
                       r'|"(?:\\.|[^"\\\n])*"'  # double-quoted string
                       r"|'(?:\\.|[^'\\\n])*'"  # single-quoted string
                       r"|/(?![/*])(?:\\.|[^/\\\n])+/[gim]*",  # regex literal (the script divides nothing)
                       re.S)
    return token.sub(" ", body)


@pytest.fixture(scope="module")
def rhino_results(tmp_path_factory: pytest.TempPathFactory) -> List[str]:
    """Every case in one Rhino process (a JVM start per case would cost seconds)."""
    work = tmp_path_factory.mktemp("rhino")
    cases_file, body_file = work / "cases.json", work / "body.js"
    cases_file.write_text(cases_json(CASES), encoding="utf-8")
    body_file.write_text(script_body(read_run_condition()), encoding="utf-8")
    proc = run_rhino([str(HARNESS), str(cases_file), str(body_file)])
    assert proc.returncode == 0, f"rhino failed: {proc.stderr.strip()}"
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == len(CASES)
    return results


@needs_rhino
@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_decision_under_rhino(rhino_results: List[str], index: int) -> None:
    case: RunConditionCase = CASES[index]
    assert rhino_results[index] == case.expected, (
        f"{case.name}: step {'/'.join(case.step_path)!r} got {rhino_results[index]!r}, "
        f"expected {case.expected!r}")


def test_case_table_covers_both_decisions_and_names_are_unique() -> None:
    assert {case.expected for case in CASES} == {"true", "false"}
    assert len({case.name for case in CASES}) == len(CASES)


def test_value_is_one_javascript_reference_without_inner_brackets() -> None:
    text = read_run_condition()
    assert text.startswith(SCRIPT_PREFIX)
    # A trailing newline after the closing bracket would turn "false" into "false\n", which runs the step.
    assert text.endswith("]")
    body = script_body(text)
    assert "[" not in body and "]" not in body, "the server's reference scanner would cut the script short"


def test_braces_and_parentheses_balance() -> None:
    pairs = {")": "(", "}": "{"}
    stack: List[str] = []
    for line_number, line in enumerate(code_only(script_body(read_run_condition())).splitlines(), 1):
        for char in line:
            if char in "({":
                stack.append(char)
            elif char in pairs:
                assert stack and stack.pop() == pairs[char], f"unbalanced {char!r} on line {line_number}"
    assert not stack, f"unclosed {stack}"


def test_no_syntax_newer_than_es5() -> None:
    code = code_only(script_body(read_run_condition()))
    for pattern in (r"\blet\b", r"\bconst\b", r"=>", "`", r"\bclass\b", r"\.\.\."):
        assert not re.search(pattern, code), f"ES2015+ syntax {pattern!r} in the run condition"


# Compiled as a script (as the server does), not a function body, where its final bare expression
# would draw Rhino's "no side effects" warning.
COMPILE_CHECK = """
var cx = org.mozilla.javascript.Context.getCurrentContext();
cx.compileString(readFile(arguments[0], 'UTF-8'), 'runCondition', 1, null);
print('compiled');
"""


@needs_rhino
def test_rhino_compiles_script_in_es5_mode_with_strict_warnings(tmp_path: Path) -> None:
    body_file, checker = tmp_path / "body.js", tmp_path / "compile.js"
    body_file.write_text(script_body(read_run_condition()), encoding="utf-8")
    checker.write_text(COMPILE_CHECK, encoding="utf-8")
    proc = run_rhino(["-strict", "-fatal-warnings", str(checker), str(body_file)])
    assert proc.returncode == 0 and "compiled" in proc.stdout, proc.stderr.strip()


def test_duktape_parses_script_as_es5() -> None:
    """Duktape (dukpy) is a strict ES5.1 parser: a second opinion on the dialect."""
    dukpy = pytest.importorskip("dukpy", reason="dukpy not installed")
    body = script_body(read_run_condition())
    assert dukpy.evaljs(["var src = dukpy.src; new Function(src); 'parsed'"], src=body) == "parsed"
