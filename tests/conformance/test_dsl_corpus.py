"""A corpus of real-style procedure files (tests/conformance/dsl_corpus/, written for these tests in the
shapes `ectool generateDsl` exports and people write by hand) reads alike on the emulator and under a real
Groovy, and loads on the emulator.

dsl_corpus_recorder.groovy evaluates each file with Debian's groovy, every DSL method recording what it
would create; the emulator's strict reader (commander_emulator.dsl) reads the same file into DslOps. The
two lists must be equal, object by object and argument by argument, under each stripIndent mode: `java`
(Java 15+, whose String.stripIndent() hides Groovy's) and `groovy` (the GDK method, as on older Java).
Field values are compared as the API stores them (booleans "1"/"0"), through the same schema.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from test_dsl_groovy import _groovy_env  # this folder is on sys.path (pytest rootdir import)

from commander_emulator.backend import apply_dsl_ops, save_project
from commander_emulator.dsl import parse_dsl
from commander_emulator.dsl_strings import STRIP_INDENT_MODES
from commander_emulator.engine import Engine
from commander_emulator.model import Store
from commander_emulator.schema import SCHEMAS, argument_text

CORPUS = Path(__file__).with_name("dsl_corpus")
RECORDER = Path(__file__).with_name("dsl_corpus_recorder.groovy")
FILES = sorted(CORPUS.glob("*.dsl"))
# Projects the generateDsl-style files (a top-level procedure naming its project) go into.
EXISTING_PROJECTS = ("Corpus Exports",)
# What a file sees as `args` (evalDsl's parameters), on both sides.
ARGS = {"projectName": "Corpus Arguments", "resourceName": "linux-pool", "retries": 3}

Op = Tuple[str, Dict[str, Any]]


def normal_args(kind: str, args: Dict[str, Any], from_groovy: bool) -> Dict[str, Any]:
    schema = SCHEMAS[kind]
    out: Dict[str, Any] = {}
    for key, value in args.items():
        if key == "actualParameter":
            out[key] = [(p["actualParameterName"], p["value"]) for p in value]
        elif from_groovy and key in schema.args:
            out[key] = argument_text(schema.field(key), value)
        else:
            out[key] = value
    return out


def source(path: Path) -> str:
    """The file's text as the server gets it: line breaks untouched (CR LF stays CR LF)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def emulator_ops(path: Path, mode: str) -> List[Op]:
    ops = parse_dsl(source(path), path.name, binding={"args": ARGS}, strip_indent=mode)
    return [(op.kind, normal_args(op.kind, op.args, from_groovy=False)) for op in ops]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Dict[str, List[Dict[str, Any]]]]:
    """What the recorder saw, by mode and file (one groovy run for both modes)."""
    if shutil.which("groovy") is None:
        pytest.skip("groovy not installed (Debian: apt-get install groovy); .ci/run installs it")
    schema_file = tmp_path_factory.mktemp("setup") / "setup.json"
    schema_file.write_text(json.dumps({"args": ARGS, "schema": {kind: {"nameArg": s.name_arg,
                                                                       "fields": list(s.args)}
                                                                for kind, s in SCHEMAS.items()}}))
    result = subprocess.run(["groovy", str(RECORDER), str(schema_file), ",".join(STRIP_INDENT_MODES),
                             *map(str, FILES)],
                            capture_output=True, text=True, env=_groovy_env(), timeout=180)
    assert result.returncode == 0, f"groovy failed on the corpus:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_corpus_has_twenty_files_or_more() -> None:
    assert len(FILES) >= 20


@pytest.mark.parametrize("mode", STRIP_INDENT_MODES)
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_each_file_reads_alike_under_groovy_and_on_the_emulator(recorded: Dict[str, Any], path: Path,
                                                                mode: str) -> None:
    groovy = [(op["kind"], normal_args(op["kind"], op["args"], from_groovy=True))
              for op in recorded[mode][path.name]]
    emulator = emulator_ops(path, mode)
    assert [kind for kind, _ in emulator] == [kind for kind, _ in groovy]
    for (kind, ours), (_, theirs) in zip(emulator, groovy):
        assert ours == theirs, f"{path.name}: a {kind} differs"


def test_the_indent_modes_really_differ_where_the_closing_quotes_sit_at_column_zero() -> None:
    """The comparison can fail: the same file reads differently under the two modes."""
    path = CORPUS / "16_indent_forms.dsl"
    java, groovy = (dict((a["stepName"], a["command"]) for k, a in emulator_ops(path, mode) if k == "step")
                    for mode in ("java", "groovy"))
    assert java["closing at column zero"] == "        echo one\n          echo two\n"
    assert groovy["closing at column zero"] == "echo one\n  echo two\n"
    assert java["closing indented"] == groovy["closing indented"] == "echo one\n  echo two\n"


def test_the_whole_corpus_loads_on_the_emulator(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    for name in EXISTING_PROJECTS:
        save_project(store, {"projectName": name}, "create")
    for path in FILES:
        apply_dsl_ops(store, parse_dsl(source(path), path.name, binding={"args": ARGS}))
    exports = store.project("Corpus Exports").procedures
    assert sorted(exports) == ["Archive Projects", "Deploy Service", "Pull Container Image", "Rotate Logs"]
    pull = exports["Pull Container Image"]
    assert pull.formal_parameter("needsLogin").checked_value == "yes"
    assert pull.formal_parameter("registryLogin").render_condition == "${needsLogin} == yes"
    assert list(exports["Deploy Service"].formal_output_parameters) == ["deployedVersion"]
    assert [s.name for s in exports["Archive Projects"].steps] == ["archive", "archiveAll"]
    assert exports["Archive Projects"].steps[1].actual_parameters["pattern"] == ""
    outputs = store.project("Corpus Outputs").procedure("Provision").formal_output_parameters
    assert [(o.name, o.description) for o in outputs.values()] == [
        ("hostName", "Name of the new machine"), ("address", "Its IP address"), ("created", "")]
    config = store.project("Corpus Config").properties
    assert config.get("environments").description == "One sheet per target"
    assert config.get("environments").sheet.get("production").sheet.get("replicas").value == "6"
    fields = store.project("Corpus Fields").procedure("All Step Fields")
    assert (fields.time_limit, fields.time_limit_units) == ("2", "hours")
    assert fields.step("everything").properties.get("comment") is None  # a field, not a custom property
    assert fields.step("everything").comment == "kept for the audit"
    smoke = store.project("Corpus Exported Project").procedure("Smoke").step("ping")
    assert smoke.properties.get("retries").value == "2"  # an unknown name: a custom property


@pytest.mark.parametrize("project, procedure, expected", [
    ("Corpus Escapes", "Quoting", {"single": "echo 'quoted' and \\backslash",
                                   "continued": "echo this continues"}),
    ("Corpus Margins", "Report", {"hash margins": "echo one\necho two"}),
    ("Corpus Indents", "Indent Forms", {"closing indented": "echo one\n  echo two\n"}),
])
def test_corpus_procedures_run_on_the_emulator(tmp_path: Path, project: str, procedure: str,
                                               expected: Dict[str, str]) -> None:
    """Loading is not the end: the commands as read run, and each step records what it ran."""
    store = Store(str(tmp_path))
    store.add_user("admin", "changeme")
    for path in FILES:
        text = source(path)
        if project in text:
            apply_dsl_ops(store, parse_dsl(text, path.name, binding={"args": ARGS}))
    engine = Engine(store)
    job = engine.wait(engine.run_procedure(project, procedure, {}, [], "admin").id, 60)
    assert job.outcome == "success", [(s.step_name, s.outcome, s.error_message) for s in job.steps]
    ran = {s.step_name: s.command for s in job.steps}
    for step, command in expected.items():
        assert ran[step] == command
