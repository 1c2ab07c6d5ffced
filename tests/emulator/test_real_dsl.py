"""What real DSL files use (issue 10): '''\\ continuation and the string methods, formalParameter closures
with every field generateDsl writes, `projectName = ...` and `field = null`, property descriptions,
formalOutputParameter, `actualParameter = [...]`; each construct still out of scope refused in one line
naming the file, the line and the construct. Also the runtime items of that issue: a logFileName in a
subfolder, /myJob/elapsedTime, /server/hostName, /server/settings/pluginsDirectory, and a top-level
step's parent read as /myParent reads.
"""

from __future__ import annotations

import base64
import io
import os
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from commander_emulator.dispatch import Dispatcher
from commander_emulator.dsl import UNSUPPORTED_OBJECTS, DslError, DslOp, parse_dsl
from commander_emulator.engine import Engine
from commander_emulator.errors import CommanderError
from commander_emulator.faults import Faults, RequestLog
from commander_emulator.model import Store

pytestmark = pytest.mark.emulator_only

Call = Callable[..., Dict[str, Any]]


def ops_of(text: str, **kwargs: Any) -> List[DslOp]:
    return parse_dsl(text, "real.dsl", **kwargs)


def value_of(expression: str, **kwargs: Any) -> str:
    ops = ops_of(f"project 'P', {{\n  property 'v', value: {expression}\n}}", **kwargs)
    return next(op.args["value"] for op in ops if op.kind == "property")


def one_line_error(text: str, **kwargs: Any) -> str:
    with pytest.raises(DslError) as info:
        parse_dsl(text, "bad.dsl", **kwargs)
    assert "\n" not in info.value.message
    return info.value.message


# ------------------------------------------------------------------------------------------ strings


def test_a_backslash_at_the_end_of_a_line_joins_the_next_line_in_every_string_form() -> None:
    assert value_of("'''\\\n    one\n'''") == "    one\n"
    assert value_of("'a\\\nb'") == "ab"
    assert value_of('"""\\\r\n  x"""') == "  x"


def test_strip_indent_is_javas_on_a_string_and_the_gdk_one_on_a_gstring() -> None:
    block = "'''\\\n    echo one\n      echo two\n    '''"
    assert value_of(block + ".stripIndent()") == "echo one\n  echo two\n"
    # Java's stripIndent counts the line of the closing quotes: at column 0 nothing is stripped.
    assert value_of("'''\\\n    echo one\n'''.stripIndent()") == "    echo one\n"
    assert value_of("'''\\\n    echo one\n'''.stripIndent()", strip_indent="groovy") == "echo one\n"
    # A GString's stripIndent() is Groovy's whatever the Java (`def` and interpolation make one).
    assert ops_of("def who = 'w'\nproject 'P', {\n  property 'v', value: \"\"\"\\\n    hi ${who}\n\"\"\""
                  ".stripIndent()\n}")[1].args["value"] == "hi w\n"


def test_strip_margin_and_trim_chain() -> None:
    assert value_of("'''\\\n    |one\n    |  two'''.stripMargin()") == "one\n  two"
    assert value_of("'''#a\n  #b'''.stripMargin('#')") == "a\nb"
    assert value_of("'''\n   x  \n'''.stripIndent().trim()") == "x"


def test_the_elvis_operator_gives_a_default_for_a_missing_or_groovy_false_value() -> None:
    binding = {"args": {"name": "given", "empty": "", "zero": 0}}
    assert value_of("args.name ?: 'd'", binding=binding) == "given"
    assert value_of("args.missing ?: args.empty ?: args.zero ?: 'd'", binding=binding) == "d"
    assert value_of("'x' + args.name ?: 'd'", binding=binding) == "xgiven"
    for text, construct in (("args.missing", "map has no key 'missing' (write map.missing ?: 'default'"),
                            ("args.missing.deeper ?: 'd'", "map has no key 'missing'"),
                            ("args.name ? 'a' : 'b'", "only the elvis operator '?:' is supported")):
        message = one_line_error(f"project 'P', {{\n  property 'v', value: {text}\n}}", binding=binding)
        assert message.startswith("bad.dsl:2: ") and construct in message


def test_each_runs_its_closure_once_per_item_with_the_item_bound() -> None:
    ops = ops_of("""def params = [config: 'c', depth: '']
project 'P', {
  procedure 'Q', {
    params.each { name, value ->
      formalParameter name, defaultValue: value
    }
    ['a', 'b'].each { step 'it-' + it }
    step 'call', {
      params.each { entry -> actualParameter entry.key, '$[' + entry.key + ']' }
    }
  }
}""")
    params = [(op.args["formalParameterName"], op.args["defaultValue"])
              for op in ops if op.kind == "formalParameter"]
    assert params == [("config", "c"), ("depth", "")]
    steps = [op.args for op in ops if op.kind == "step"]
    assert [s["stepName"] for s in steps] == ["it-a", "it-b", "call"]
    assert [p["value"] for p in steps[2]["actualParameter"]] == ["$[config]", "$[depth]"]


# ---------------------------------------------------------------------------------- generateDsl shapes

EXPORTED = """
procedure 'Pull image', {
  description = ''
  jobNameTemplate = null
  projectName = 'Library'
  resourceName = null
  timeLimit = '0'
  timeLimitUnits = 'minutes'
  workspaceName = ''

  formalParameter 'privateRegistry', defaultValue: 'false', {
    description = 'Check it when the registry needs credentials'
    checkedValue = 'true'
    expansionDeferred = '0'
    label = 'Private registry'
    orderIndex = '2'
    required = '1'
    type = 'checkbox'
    uncheckedValue = 'false'
  }

  formalParameter 'credentials', {
    dependsOn = 'privateRegistry'
    orderIndex = null
    renderCondition = '${privateRegistry} == true'
    type = 'credential'
  }

  formalOutputParameter 'imageId', {
    description = 'the pulled image'
  }

  step 'pull', {
    alwaysRun = '0'
    command = '''\\
      docker pull $[image]
      '''.stripIndent()
    condition = ''
    logFileName = null
    projectName = 'Library'
    timeLimit = ''
    actualParameter = [unused: 'x']
  }

  // Custom properties

  property 'ec_customEditorData', description: 'form data', {
    property 'parameters', {
      property 'privateRegistry', {
        checkedValue = 'true'
        formType = 'standard'
      }
    }
  }
  ec_parameterForm = '<editor/>'
}
"""


def test_a_generate_dsl_procedure_reads_at_the_top_level_with_its_project_from_the_closure() -> None:
    ops = ops_of(EXPORTED)
    assert {op.args["projectName"] for op in ops} == {"Library"}
    proc = ops[0].args
    assert proc == {"projectName": "Library", "procedureName": "Pull image", "description": "",
                    "timeLimit": "0", "timeLimitUnits": "minutes", "workspaceName": ""}
    private, credentials = (op.args for op in ops if op.kind == "formalParameter")
    assert private["checkedValue"] == "true" and private["uncheckedValue"] == "false"
    assert private["orderIndex"] == "2" and private["required"] == "1" and private["defaultValue"] == "false"
    assert "orderIndex" not in credentials and credentials["renderCondition"] == "${privateRegistry} == true"
    output = next(op.args for op in ops if op.kind == "formalOutputParameter")
    assert output == {"projectName": "Library", "procedureName": "Pull image",
                      "formalOutputParameterName": "imageId", "description": "the pulled image"}
    step = next(op.args for op in ops if op.kind == "step")
    assert step["command"] == "docker pull $[image]\n" and "logFileName" not in step
    assert step["actualParameter"] == [{"actualParameterName": "unused", "value": "x"}]
    props = {op.args["propertyName"]: op.args for op in ops if op.kind == "property"}
    assert props["ec_customEditorData"]["description"] == "form data"
    assert props["ec_customEditorData/parameters/privateRegistry/formType"]["value"] == "standard"
    assert props["ec_parameterForm"]["value"] == "<editor/>"


def test_the_exported_procedure_is_stored_with_every_field(call: Call) -> None:
    call("createProject", projectName="Library")
    call("evalDsl", dsl=EXPORTED)
    where = {"projectName": "Library", "procedureName": "Pull image"}
    proc = call("getProcedure", **where)["procedure"]
    assert proc["timeLimit"] == "0" and proc["timeLimitUnits"] == "minutes"
    params = {p["formalParameterName"]: p for p in call("getFormalParameters", **where)["formalParameter"]}
    private = params["privateRegistry"]
    assert private["checkedValue"] == "true" and private["orderIndex"] == "2"
    assert params["credentials"]["dependsOn"] == "privateRegistry"
    outputs = call("getFormalOutputParameters", **where)["formalOutputParameter"]
    assert [(o["formalOutputParameterName"], o["description"]) for o in outputs] == [("imageId",
                                                                                        "the pulled image")]
    sheet = call("getProperty", **where, propertyName="ec_customEditorData", expand="0")["property"]
    assert sheet["description"] == "form data"  # a sheet's description is kept
    step = call("getStep", **where, stepName="pull")["step"]
    assert "logFileName" not in step and step["condition"] == ""
    call("deleteFormalOutputParameter", **where, formalOutputParameterName="imageId")
    assert call("getFormalOutputParameters", **where)["formalOutputParameter"] == []


@pytest.mark.parametrize("text, line, construct", [
    ("procedure 'Q', {\n  projectName = 'A'\n}\nproject 'B', {\n  procedure 'R', {\n    projectName = 'C'\n"
     "  }\n}", 6, "projectName 'C' inside procedure 'R' differs from its project 'B'"),
    ("procedure 'Q', {\n  step 's'\n  projectName = 'A'\n}", 2,
     "procedure 'Q' at the top level has no project"),
    ("procedure 'Q', {\n  description = 'd'\n}", 1, "procedure 'Q' at the top level needs a project"),
    ("project 'P', {\n  procedure 'Q', {\n    emailNotifier 'n', {\n    }\n  }\n}", 3,
     "'emailNotifier' inside procedure 'Q': this CD/RO DSL object is not supported"),
    ("project 'P', {\n  procedure 'Q', {\n    step 's', {\n      attachParameter {\n      }\n    }\n  }\n}",
     4,
     "'attachParameter' inside step 's'"),
    ("project 'P', {\n  procedure 'Q', {\n    formalOutputParameter 'o', {\n      type = 'x'\n    }\n  }\n}",
     4,
     "'type' is not a field of formalOutputParameter 'o'"),
    ("project 'P', {\n  procedure 'Q', {\n    formalParameter 'f', orderIndex: 'first'\n  }\n}", 3,
     "'orderIndex' expects a whole number"),
    ("project 'P', {\n  description = '''a\n  b'''.stripMargin('|', 2)\n}", 3,
     "'.stripMargin(...)' with arguments"),
    ("project 'P', {\n  procedure 'Q', {\n    actualParameter = [a: 'b']\n  }\n}", 3,
     "in a step, actualParameter = [name: 'value', ...]"),
    ("project 'P', {\n  pipeline 'x'\n}", 2, "'pipeline' inside project 'P'"),
    ("\nstep 'clone', {\n  projectName = 'P'\n}", 2,
     "'step' is not allowed at the top level (allowed here: project, procedure); put it inside procedure"),
    ("def m = [a: 1]\nproject 'P', {\n  m.collect { x -> x }\n}", 3,
     "'.collect' is not a DSL statement (of the methods on a list or map, only .each { ... } is supported)"),
    ("def m = 'x'\nproject 'P', {\n  m.each { x -> }\n}", 3, "'.each' needs a list or a map, got 'x'"),
    ("def m = [1]\nproject 'P', {\n  m.each { a, b -> }\n}", 3,
     "the '.each' closure takes 2 parameters; a list gives one item"),
    ("def m = [a: [b: 1]]\nproject 'P', {\n  m.a.b\n}", 3, "'m.a.b' is a value, not a DSL statement"),
])
def test_a_construct_out_of_scope_is_one_line_naming_file_line_and_construct(text: str, line: int,
                                                                              construct: str) -> None:
    message = one_line_error(text)
    assert message.startswith(f"bad.dsl:{line}: ")
    assert construct in message


@pytest.mark.parametrize("verb", sorted(UNSUPPORTED_OBJECTS))
def test_every_cd_ro_object_out_of_scope_is_refused_by_name(verb: str) -> None:
    message = one_line_error(f"project 'P', {{\n  procedure 'Q', {{\n\n    {verb} 'x', {{\n    }}\n  }}\n}}")
    assert message.startswith(f"bad.dsl:4: '{verb}' inside procedure 'Q': this CD/RO DSL object is not "
                              f"supported by the emulator")


# ------------------------------------------------------------------------------------ server, runtime


@pytest.fixture
def world(tmp_path: Path) -> Any:
    store = Store(str(tmp_path))
    store.add_user("admin", "changeme")
    engine = Engine(store)
    dispatcher = Dispatcher(store, engine, Faults(), RequestLog(), str(tmp_path / "plugins"))
    session = store.new_session("admin")
    world = type("World", (), {})()
    world.store, world.engine = store, engine
    world.call = lambda api, **args: dispatcher.call(api, args, session)
    return world


@pytest.fixture
def call(world: Any) -> Call:
    return world.call


def run(world: Any, dsl: str, procedure: str = "R") -> Any:
    world.call("evalDsl", dsl=dsl)
    job_id = world.call("runProcedure", projectName="P", procedureName=procedure)["jobId"]
    return world.engine.wait(job_id, 30)


def test_a_log_file_in_a_subfolder_is_written_there(world: Any) -> None:
    job = run(world, "project 'P', {\n  procedure 'R', {\n    step 's', command: 'echo logged', "
                     "logFileName: 'logs/deep/s.log'\n  }\n}")
    assert job.outcome == "success"
    with open(os.path.join(job.workspace, "logs", "deep", "s.log"), encoding="utf-8") as log:
        assert log.read().strip() == "logged"


def test_elapsed_time_host_name_plugins_directory_and_the_top_level_parent(world: Any) -> None:
    job = run(world, """project 'P', {
  procedure 'R', {
    step 's', command: '''\\
      echo "$[/myJob/elapsedTime]" > elapsed
      echo "$[/server/hostName]|$[/server/settings/pluginsDirectory]" > server
      echo "$[/javascript myJobStep.parent.jobName == myParent.jobName]" > parent
      '''.stripIndent()
  }
}""")
    assert job.outcome == "success", job.steps[0].error_message
    read = lambda name: Path(job.workspace, name).read_text().strip()  # noqa: E731
    assert read("elapsed").isdigit()
    assert read("server") == f"127.0.0.1|{os.path.join(world.store.workspace_root, 'plugins')}"
    assert read("parent") == "true"  # default topLevelParent "job": what /myParent is at the top level
    finished = world.call("getProperty", propertyName=f"/jobs/{job.id}/elapsedTime")["property"]["value"]
    assert int(finished) >= 0


def test_a_plugin_whose_promote_script_makes_its_procedures_is_refused_in_one_line(world: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        jar.writestr("META-INF/plugin.xml", "<plugin><key>Lite</key><version>1.0</version>"
                                            "<label>Lite</label></plugin>")
        jar.writestr("dsl/promote.groovy", "def x = 1\n\nprocedure 'Hello', {\n  step 'hi'\n}\n")
    plugin = world.call("installPlugin", contentBase64=base64.b64encode(buffer.getvalue()).decode())
    with pytest.raises(CommanderError) as info:
        world.call("promotePlugin", pluginName=plugin["plugin"]["pluginName"])
    message = info.value.message
    assert "\n" not in message and "dsl/promote.groovy:3" in message and "PluginLite" in message
    assert world.call("getPlugin", pluginName="Lite-1.0")["plugin"]["promoted"] == "0"


def test_formal_output_parameters_over_rest(api: Any) -> None:
    project = f"outputs-{os.getpid()}-{id(api)}"
    api.rest("POST", "projects", json={"projectName": project})
    api.rest("POST", f"projects/{project}/procedures", json={"procedureName": "Make"})
    base = f"projects/{project}/procedures/Make/formalOutputParameters"
    api.rest("POST", base, json={"formalOutputParameterName": "artifact", "description": "what was built"})
    api.rest("PUT", f"{base}/artifact", json={"newName": "package", "description": "the package"})
    listed = api.rest("GET", base)["formalOutputParameter"]
    assert [(p["formalOutputParameterName"], p["description"]) for p in listed] == [("package",
                                                                                      "the package")]
    api.rest("DELETE", f"{base}/package")
    assert api.rest("GET", base)["formalOutputParameter"] == []
