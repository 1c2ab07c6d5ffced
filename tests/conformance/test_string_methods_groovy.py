"""The string methods the DSL reader computes (commander_emulator.dsl_strings) give what a real JVM gives.

One groovy run computes, for 1,500 generated strings (blank lines, tabs, CR/LF and CR line breaks, margin
characters, no-break and other Unicode spaces), Java's String.stripIndent(), Groovy's GDK stripIndent,
stripMargin() and stripMargin('#'), and trim(); each must equal the Python result.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest
from test_dsl_groovy import _groovy_env  # this folder is on sys.path (pytest rootdir import)

from commander_emulator.dsl_strings import (
    groovy_strip_indent,
    java_strip_indent,
    java_trim,
    strip_margin,
)

SCRIPT = """
import groovy.json.*
import org.codehaus.groovy.runtime.StringGroovyMethods as S
def cases = new JsonSlurper().parse(new File(args[0]), 'UTF-8')
println JsonOutput.toJson(cases.collect {
    [it.stripIndent(), S.stripIndent((CharSequence) it), it.stripMargin(), it.stripMargin('#'), it.trim()]
})
"""
PIECES = ["", " ", "  ", "\t", "a", "b c", "\n", "\n", "\n", "|x", " |y", "\r\n", "\r", "#z", "\u00a0",
          "\u2003", "\x0b"]


def cases() -> List[str]:
    rng = random.Random(10)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 10))) for _ in range(1500)]


def test_python_string_methods_equal_the_jvms(tmp_path: Path) -> None:
    if shutil.which("groovy") is None:
        pytest.skip("groovy not installed (Debian: apt-get install groovy); .ci/run installs it")
    inputs = cases()
    (tmp_path / "cases.json").write_text(json.dumps(inputs), encoding="utf-8")
    (tmp_path / "methods.groovy").write_text(SCRIPT, encoding="utf-8")
    result = subprocess.run(["groovy", str(tmp_path / "methods.groovy"), str(tmp_path / "cases.json")],
                            capture_output=True, text=True, env=_groovy_env(), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    expected = json.loads(result.stdout.strip().splitlines()[-1])
    for text, wanted in zip(inputs, expected):
        got = [java_strip_indent(text), groovy_strip_indent(text), strip_margin(text),
               strip_margin(text, "#"), java_trim(text)]
        assert got == wanted, f"for {text!r}"
