"""The plugin's DSL under a real Groovy agrees with what the emulator's promotion reads.

A small recorder runtime (dsl_recorder.groovy) evaluates every dsl/procedures/*/procedure.dsl of the built
jar with Debian's groovy, the way promotion binds it, and reads each form.xml. The emulator's strict reader
(commander_emulator.dsl, via plugins.promotion_ops) reads the same unpacked files. Both must yield exactly
the same procedures, steps (every field) and formal parameters.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

from commander_emulator import plugins
from commander_emulator.model import Store
from devtools.package import build_jar

ROOT = Path(__file__).resolve().parents[2]
RECORDER = Path(__file__).with_name("dsl_recorder.groovy")
BOOLEAN_FIELDS = {"alwaysRun", "parallel", "required", "broadcast", "exclusive", "releaseExclusive",
                  "expansionDeferred"}


def _groovy_env() -> Dict[str, str]:
    env = dict(os.environ)
    if not env.get("JAVA_HOME"):
        java = shutil.which("java")
        if java:
            env["JAVA_HOME"] = str(Path(os.path.realpath(java)).parent.parent)
    return env


def _flag(value: Any) -> str:
    return "1" if str(value).strip().lower() in ("1", "true") else "0"


def _normal_step(args: Dict[str, Any]) -> Dict[str, Any]:
    out = {}
    for key, value in args.items():
        if key in ("projectName", "procedureName"):
            continue
        if key == "actualParameter":
            out[key] = [(p["actualParameterName"], str(p["value"])) for p in value]
        elif key in BOOLEAN_FIELDS:
            out[key] = _flag(value)
        else:
            out[key] = str(value)
    return out


def _normal_parameter(args: Dict[str, Any]) -> Dict[str, str]:
    keep = ("formalParameterName", "type", "required", "defaultValue", "description", "label")
    out = {k: str(args[k]) for k in keep if k in args}
    if "required" in out:
        out["required"] = _flag(out["required"])
    return out


def _from_groovy(recorded: Dict[str, Any]) -> Dict[str, Any]:
    model: Dict[str, Any] = {}
    for proc in recorded["procedures"]:
        params: List[Dict[str, str]] = [_normal_parameter(p) for p in proc.get("formalParameters", [])]
        declared = {p["formalParameterName"] for p in params}
        params += [_normal_parameter(p) for p in proc.get("form", [])
                   if p["formalParameterName"] not in declared]
        model[proc["procedureName"]] = {
            "description": str(proc.get("description", "")),
            "steps": [_normal_step(s) for s in proc["steps"]],
            "parameters": sorted(params, key=lambda p: p["formalParameterName"]),
        }
    return model


def _from_emulator(ops) -> Dict[str, Any]:
    model: Dict[str, Any] = {}
    for op in ops:
        if op.kind == "procedure":
            model[op.args["procedureName"]] = {"description": op.args.get("description", ""),
                                               "steps": [], "parameters": []}
        elif op.kind == "step":
            model[op.args["procedureName"]]["steps"].append(_normal_step(op.args))
        elif op.kind == "formalParameter":
            model[op.args["procedureName"]]["parameters"].append(_normal_parameter(op.args))
    for proc in model.values():
        proc["parameters"].sort(key=lambda p: p["formalParameterName"])
    return model


@pytest.fixture(scope="module")
def promoted(tmp_path_factory):
    work = tmp_path_factory.mktemp("groovy-dsl")
    jar = build_jar(ROOT, work / "out")
    store = Store(str(work))
    plugin = plugins.install_plugin(store, jar.read_bytes(), str(work / "plugins"))
    return store, plugin


def test_plugin_dsl_under_real_groovy_matches_the_emulator_reader(promoted):
    if shutil.which("groovy") is None:
        pytest.skip("groovy not installed (Debian: apt-get install groovy); .ci/run installs it")
    store, plugin = promoted
    result = subprocess.run(
        ["groovy", str(RECORDER), plugin.plugin_dir, plugin.key, plugin.version],
        capture_output=True, text=True, env=_groovy_env(), timeout=120,
    )
    assert result.returncode == 0, f"groovy failed on the plugin's DSL:\n{result.stderr[-2000:]}"
    groovy_model = _from_groovy(json.loads(result.stdout.strip().splitlines()[-1]))
    emulator_model = _from_emulator(plugins.promotion_ops(store, plugin.name))

    assert sorted(groovy_model) == ["CarryOver", "CreateRestartLink", "DisableResume", "EnableResume",
                                    "RestartJob", "ResumableStep"]
    assert groovy_model == emulator_model
    # The run condition reference must survive both readers untouched (single quotes in the DSL).
    step = next(s for s in groovy_model["ResumableStep"]["steps"] if s["stepName"] == "runCommand")
    assert step["condition"] == "$[/myProject/resume/runCondition]"
    assert groovy_model["CreateRestartLink"]["steps"][0]["alwaysRun"] == "1"


def test_recorder_sees_a_step_the_emulator_would_miss(promoted, tmp_path):
    """The comparison can fail: a DSL difference shows up as a model difference."""
    if shutil.which("groovy") is None:
        pytest.skip("groovy not installed (Debian: apt-get install groovy); .ci/run installs it")
    store, plugin = promoted
    copy = tmp_path / "plugin"
    shutil.copytree(plugin.plugin_dir, copy)
    dsl = copy / "dsl" / "procedures" / "ResumableStep" / "procedure.dsl"
    dsl.write_text(dsl.read_text().rstrip().rstrip("}") + "\n    step 'extra', command: 'true'\n}\n")
    result = subprocess.run(["groovy", str(RECORDER), str(copy), plugin.key, plugin.version],
                            capture_output=True, text=True, env=_groovy_env(), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    groovy_model = _from_groovy(json.loads(result.stdout.strip().splitlines()[-1]))
    assert groovy_model != _from_emulator(plugins.promotion_ops(store, plugin.name))
    assert [s["stepName"] for s in groovy_model["ResumableStep"]["steps"]] == [
        "restoreOutputs", "runCommand", "recordOutputs", "extra"]
