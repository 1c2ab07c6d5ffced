"""EnableResume's wrapped run condition (enable_resume.WRAPPED_CONDITION): a step that had a condition of its
own runs only when both that condition and the resume rule say run, and its own condition decides exactly
as it did: the wrapper's text is the old condition's text whenever the resume rule runs the step, "false"
when the rule skips it, and an old condition that fails still fails the step.

Each case is evaluated by the emulator's engine (the step's condition expanded in its job step, as the
engine does) and under Mozilla Rhino (wrapped_condition_harness.js, the same expansion rules), each time
the wrapper and the old condition alone; both engines must agree, and the wrapper must give what the old
condition gave unless the rule skips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from ec_resume.enable_resume import KEPT_CONDITION, WRAPPED_CONDITION
from ec_resume.report import PLUGIN_RUN_CONDITION

from commander_emulator.context import Context
from commander_emulator.engine import condition_skips
from commander_emulator.errors import CommanderError
from commander_emulator.expansion import expand
from commander_emulator.model import Job, JobStep, Plugin, Procedure, Step, Store
from commander_emulator.plugins import mark_promoted

HARNESS = Path(__file__).with_name("wrapped_condition_harness.js")
RHINO = shutil.which("rhino")
needs_rhino = pytest.mark.skipif(RHINO is None, reason="rhino not installed (Debian: apt-get install rhino)")
ERROR = "ERROR"


@dataclass(frozen=True)
class Case:
    name: str
    old: str
    resume: str  # what the plugin's run condition expands to
    expected: str  # "run", "skip" or "error", as the engine decides on the wrapper's text
    params: Dict[str, str] = field(default_factory=dict)
    kept: bool = True  # the step still has its kept old condition


QUOTED = "it's \"quoted\" \\ and ] [x\nsecond line"
CASES: Tuple[Case, ...] = (
    Case("plain true, rule runs", "true", "true", "run"),
    Case("plain true, rule skips", "true", "false", "skip"),
    Case("plain false, rule runs", "false", "true", "skip"),
    Case("plain false, rule skips", "false", "false", "skip"),
    Case("zero", "0", "true", "skip"),
    Case("FALSE in capitals", "FALSE", "true", "skip"),
    Case("falsey is true", "falsey", "true", "run"),
    Case("parameter on", "$[runIt]", "true", "run", {"runIt": "1"}),
    Case("parameter off", "$[runIt]", "true", "skip", {"runIt": "0"}),
    Case("parameter empty", "$[runIt]", "true", "skip", {"runIt": ""}),
    Case("parameter on, rule skips", "$[runIt]", "false", "skip", {"runIt": "1"}),
    Case("absolute path", "$[/myJob/runIt]", "true", "run", {"runIt": "yes"}),
    Case("javascript with inner reference, yes", '$[/javascript "$[notify]" == "yes"]', "true", "run",
         {"notify": "yes"}),
    Case("javascript with inner reference, no", '$[/javascript "$[notify]" == "yes"]', "true", "skip",
         {"notify": "no"}),
    Case("javascript with a line comment", "$[/javascript myJob.count < 5 // fewer than five]", "true",
         "run", {"count": "3"}),
    Case("javascript comparing, false", "$[/javascript myJob.count < 5 // fewer than five]", "true",
         "skip", {"count": "7"}),
    Case("javascript getProperty", '$[/javascript getProperty("/myJob/flag") == "on"]', "true", "run",
         {"flag": "on"}),
    Case("javascript returning FALSE", '$[/javascript "FALSE"]', "true", "skip"),
    Case("quotes, backslash, brackets, line break", QUOTED, "true", "run"),
    Case("non-ASCII text", "día ✓ 東京", "true", "run"),
    Case("text and a reference", "x$[runIt]", "true", "run", {"runIt": ""}),
    Case("missing reference fails", "$[noSuchThing]", "true", "error"),
    Case("missing reference fails even when the rule skips", "$[noSuchThing]", "false", "error"),
    Case("throwing javascript fails", "$[/javascript null.x]", "true", "error"),
    Case("kept copy gone, rule runs", "false", "true", "run", kept=False),
    Case("kept copy gone, rule skips", "true", "false", "skip", kept=False),
)
IDS = [case.name for case in CASES]


# ------------------------------------------------------------------------------------ the emulator


def _step_of(case: Case, workspace: Path) -> JobStep:
    store = Store(str(workspace))
    store.add_user("admin", "changeme")
    plugin = Plugin(key="EC-Resume", version="1.0.0", label="EC-Resume")
    store.plugins[plugin.name] = plugin
    mark_promoted(store, plugin.name)
    store.project(plugin.name).properties.ensure_sheet("resume").set_value("runCondition", case.resume)
    step = Step(name="work", command="true", condition=WRAPPED_CONDITION)
    if case.kept:
        sheet, name = KEPT_CONDITION.split("/")
        step.properties.ensure_sheet(sheet).set_value(name, case.old)
    store.ensure_project("Shop").procedures["Release"] = Procedure(name="Release", project_name="Shop",
                                                                    steps=[step])
    job = Job(name="job_1", project_name="Shop", procedure_name="Release", launched_by="admin",
              actual_parameters=OrderedDict(case.params), status="running")
    job.store = store
    store.register_job(job)
    js = JobStep(step_name="work", job=job, parent=None, step=step, project_name="Shop",
                 procedure_name="Release", condition=WRAPPED_CONDITION, status="runnable")
    store.register_job_step(js)
    job.steps = [js]
    return js


def _emulator_text(ctx: Context, text: str) -> str:
    try:
        return expand(ctx, text)
    except CommanderError:
        return ERROR


def emulator_results(case: Case, workspace: Path) -> Tuple[str, str]:
    ctx = Context.for_job_step(_step_of(case, workspace))
    return _emulator_text(ctx, WRAPPED_CONDITION), _emulator_text(ctx, case.old)


def decision(text: str) -> str:
    if text == ERROR:
        return "error"
    return "skip" if condition_skips(text) else "run"


def wanted(case: Case, old_text: str) -> str:
    """What the wrapper must give: the old condition's text, unless the rule skips or the copy is gone."""
    if old_text == ERROR and case.kept:
        return ERROR
    if case.resume == "false":
        return "false"
    return old_text if case.kept else "true"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_emulator_engine(case: Case, tmp_path: Path) -> None:
    wrapper, old = emulator_results(case, tmp_path)
    assert wrapper == wanted(case, old)
    assert decision(wrapper) == case.expected


# ------------------------------------------------------------------------------------------- Rhino


@pytest.fixture(scope="module")
def rhino_results(tmp_path_factory: pytest.TempPathFactory) -> List[List[str]]:
    cases = [{"wrapper": WRAPPED_CONDITION, "old": c.old, "params": c.params, "resume": c.resume,
              "kept": c.old if c.kept else None} for c in CASES]
    path = tmp_path_factory.mktemp("wrapped") / "cases.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    proc = subprocess.run([RHINO, "-version", "180", "-encoding", "UTF-8", str(HARNESS), str(path)],
                          capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@needs_rhino
@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_rhino_agrees_with_the_emulator(rhino_results: List[List[str]], index: int, tmp_path: Path) -> None:
    case = CASES[index]
    wrapper, old = rhino_results[index]
    assert wrapper == wanted(case, old)
    assert (wrapper, old) == emulator_results(case, tmp_path)


@needs_rhino
def test_rhino_compiles_the_wrapper_in_es5_mode_with_strict_warnings(tmp_path: Path) -> None:
    body = WRAPPED_CONDITION[len("$[/javascript "):-1].replace(PLUGIN_RUN_CONDITION, "true")
    (tmp_path / "body.js").write_text(body, encoding="utf-8")
    (tmp_path / "compile.js").write_text(
        "var cx = org.mozilla.javascript.Context.getCurrentContext();\n"
        "cx.compileString(readFile(arguments[0], 'UTF-8'), 'wrapped', 1, null);\nprint('compiled');\n",
        encoding="utf-8")
    argv = [RHINO, "-version", "180", "-strict", "-fatal-warnings", str(tmp_path / "compile.js"),
            str(tmp_path / "body.js")]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and "compiled" in proc.stdout, proc.stderr


# ------------------------------------------------------------------------------------------- text


def test_the_wrapper_is_one_reference_holding_only_the_resume_rule() -> None:
    assert WRAPPED_CONDITION.startswith("$[/javascript ") and WRAPPED_CONDITION.endswith("]")
    body = WRAPPED_CONDITION[len("$[/javascript "):-1]
    assert body.count(PLUGIN_RUN_CONDITION) == 1
    rest = body.replace(PLUGIN_RUN_CONDITION, "")
    assert "[" not in rest and "]" not in rest and "$" not in rest


def test_cases_cover_each_decision() -> None:
    assert {case.expected for case in CASES} == {"run", "skip", "error"}
    assert len(set(IDS)) == len(IDS)

