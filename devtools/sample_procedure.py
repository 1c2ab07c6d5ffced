"""The sample procedure of the demo and of `build.py serve`: ten steps of a release, step 5 broken.

Steps alternate between the two ways of making a step resumable (a plain command under the plugin's run
condition, and a call of the plugin's `ResumableStep`), then an always-run `CreateRestartLink` step puts
the restart links on the job. Each work step appends a line to its own marker file, so whoever runs the
procedure can count how often a step really did its work. Step 5 runs `exit 1` and stops the job until
`fixed_step_command` is put in its place (modifyStep), the way a user repairs a definition.

Setting EC_RESUME_DEMO_BREAK=no-run-condition defines the plain command steps without the run
condition: resume is then broken on purpose, and the demo must say so.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional, Tuple

PROJECT = "EC-Resume Demo"
PROCEDURE = "Release"
PLUGIN_PROJECT = "/plugins/EC-Resume/project"
RUN_CONDITION = "$[/plugins/EC-Resume/project/resume/runCondition]"  # a step's condition, as users write it
FAILING_STEP = 5
LINK_STEP = "restart links"

BREAK_VARIABLE = "EC_RESUME_DEMO_BREAK"
BREAK_MODES = ("no-run-condition",)


@dataclass(frozen=True)
class SampleStep:
    number: int
    name: str
    resumable_call: bool  # a ResumableStep call; otherwise a plain command under the run condition

    @property
    def marker(self) -> str:
        return f"step{self.number}"


_NAMES: Tuple[str, ...] = ("checkout", "compile", "unit tests", "package", "deploy to staging",
                           "smoke tests", "deploy to production", "verify production", "tag release",
                           "announce")
STEPS: Tuple[SampleStep, ...] = tuple(SampleStep(n, name, resumable_call=(n % 2 == 0))
                                      for n, name in enumerate(_NAMES, start=1))


class SampleError(ValueError):
    """A bad setting for the sample procedure; str() is one line naming it and what was expected."""


def break_mode(env: Mapping[str, str]) -> Optional[str]:
    """The resume breakage asked for in `env` (None when resume is left intact)."""
    value = env.get(BREAK_VARIABLE, "").strip()
    if not value:
        return None
    if value not in BREAK_MODES:
        raise SampleError(f"{BREAK_VARIABLE}='{value}': expected one of {', '.join(BREAK_MODES)} or nothing")
    return value


def groovy_string(text: str) -> str:
    """A Groovy single-quoted literal: `$[...]` stays literal text there, unlike in double quotes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def _mark(markers: Path, step: SampleStep) -> str:
    return f"echo run >> {shlex.quote(str(markers / step.marker))}"


def step_command(markers: Path, step: SampleStep) -> str:
    """What a step runs as defined; step 5 fails until fixed."""
    if step.number == FAILING_STEP:
        return "echo 'staging refused the deployment' >&2; exit 1"
    return _mark(markers, step)


def fixed_step_command(markers: Path) -> str:
    """Step 5's command once the cause of the failure is repaired."""
    return _mark(markers, STEPS[FAILING_STEP - 1])


def sample_dsl(markers: Path, *, broken: Optional[str] = None) -> str:
    """Groovy DSL of the sample project; `broken` is a BREAK_MODES value or None."""
    condition = "" if broken == "no-run-condition" else f", condition: {groovy_string(RUN_CONDITION)}"
    plugin = f"subproject: {groovy_string(PLUGIN_PROJECT)}"
    lines: List[str] = [
        f"project {groovy_string(PROJECT)}, {{",
        f"  procedure {groovy_string(PROCEDURE)}, {{",
        "    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'",
    ]
    for step in STEPS:
        command = groovy_string(step_command(markers, step))
        name = groovy_string(step.name)
        # abortJob: the job stops at a failure, so the steps after it never ran and must run on restart.
        handling = ", errorHandling: 'abortJob'" if step.number == FAILING_STEP else ""
        if step.resumable_call:
            lines += [f"    step {name}, subprocedure: 'ResumableStep', {plugin}{handling}, {{",
                      f"      actualParameter 'command', {command}",
                      "    }"]
        else:
            lines.append(f"    step {name}, command: {command}{condition}{handling}")
    link = groovy_string(LINK_STEP)
    lines += [f"    step {link}, subprocedure: 'CreateRestartLink', {plugin}, alwaysRun: '1'",
              "  }",
              "}"]
    return "\n".join(lines) + "\n"
