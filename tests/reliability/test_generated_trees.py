"""On 50 generated procedures run for real on the emulator, the plan equals what the resumed job did.

Each procedure mixes command steps with and without the run condition, subprocedure calls, ResumableStep
calls, parallel steps and one or two failing steps under every errorHandling; it ends with
CreateRestartLink. The first job fails; the cause is fixed; `ec-resume plan` then `ec-resume restart`,
and the new job is compared step by step with the plan, markers counted (restart_and_compare)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from conftest import RUN_CONDITION, unique
from restart_support import PLUGIN, Cli, cli_env, mark
from test_restart_scenarios import fix, needs_fix, restart_and_compare, resumable

RC = RUN_CONDITION
TREES = 50
HANDLING = ["failProcedure", "abortProcedure", "abortJob", "ignore"]


def generated(seed: int, project: str, m: Path) -> Tuple[str, List[Tuple[str, str]]]:
    """The DSL of a random procedure, and (path, marker key) of every marker-writing step in job order."""
    rng = random.Random(seed)
    subs: List[str] = []
    steps: List[str] = []
    markers: List[Tuple[str, str]] = []
    count = rng.randint(3, 7)
    failing = set(rng.sample(range(count), rng.choice([1, 1, 2])))
    for i in range(count):
        name, key = f"s{i}", f"m{i}"
        fails = f"; {needs_fix(m)}" if i in failing else ""
        handling = f", errorHandling: '{rng.choice(HANDLING)}'" if i in failing else ""
        parallel = ", parallel: '1'" if rng.random() < 0.2 else ""
        kind = rng.choice(["command", "command", "plain", "call", "resumable"])
        if kind == "call":
            inner = []
            for j in range(rng.randint(1, 3)):
                inner_fails = fails if j == 0 else ""
                inner.append(f"step 'c{j}', command: '''{mark(m, f'{key}c{j}')}{inner_fails}''', "
                             f"condition: '{RC}'")
                markers.append((f"{name}/jobSteps/c{j}", f"{key}c{j}"))
            subs.append(f"  procedure 'Sub{i}', {{\n    " + "\n    ".join(inner) + "\n  }")
            steps.append(f"step '{name}', subprocedure: 'Sub{i}'{handling}{parallel}")
        elif kind == "resumable":
            steps.append(resumable(name, f"{mark(m, key)}{fails}", handling + parallel))
            markers.append((f"{name}/jobSteps/runCommand", key))
        else:
            condition = f", condition: '{RC}'" if kind == "command" else ""
            steps.append(f"step '{name}', command: '''{mark(m, key)}{fails}'''"
                         f"{condition}{handling}{parallel}")
            markers.append((name, key))
    dsl = f"""
project '{project}', {{
{chr(10).join(subs)}
  procedure 'Main', {{
    formalParameter 'jobToRestart', defaultValue: '', type: 'entry'
    {(chr(10) + '    ').join(steps)}
    step 'restart link', subprocedure: 'CreateRestartLink', {PLUGIN}, alwaysRun: '1'
  }}
}}
"""
    return dsl, markers


@pytest.mark.parametrize("seed", range(TREES))
def test_the_plan_of_a_generated_procedure_comes_true(api: Any, server: Any, ec_resume: str,
                                                      tmp_path: Path, seed: int) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    project = unique(f"Tree{seed}")
    dsl, marker_of = generated(seed, project, markers)
    api.call("evalDsl", dsl=dsl)
    first = api.run_and_wait(project, "Main", {})
    assert first["outcome"] in ("error", "warning", "success"), first["outcome"]
    fix(markers)
    restart_and_compare(api, Cli(cli_env(server)), markers, first["jobId"], marker_of)
