"""The strict DSL reader: each construct of the subset becomes the right operations; anything else is an
error that names the file, the line and the construct."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from commander_emulator.dsl import DslError, DslOp, parse_dsl


def ops_of(text: str, **kwargs: Any) -> List[DslOp]:
    return parse_dsl(text, "test.dsl", **kwargs)


def only(ops: List[DslOp], kind: str, **match: str) -> Dict[str, Any]:
    found = [op.args for op in ops if op.kind == kind and all(op.args.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"expected one {kind} {match}, got {found}"
    return found[0]


def error_of(text: str, **kwargs: Any) -> DslError:
    with pytest.raises(DslError) as info:
        parse_dsl(text, "bad.dsl", **kwargs)
    return info.value


# ---------------------------------------------------------------------------------- structure


def test_project_procedure_step_and_parameters_become_ordered_ops() -> None:
    ops = ops_of("""
project 'Demo', description: 'a demo', {
    procedure 'Build', resourceName: 'local', jobNameTemplate: 'build-$[/increment /myProject/n]', {
        formalParameter 'branch', defaultValue: 'main', required: true, type: 'entry',
            description: 'which branch', label: 'Branch', expansionDeferred: false
        step 'compile', command: 'make', shell: 'sh', errorHandling: 'abortProcedure', alwaysRun: '1',
            parallel: 0, timeLimit: 5, timeLimitUnits: 'minutes', condition: '$[doIt]'
    }
}
""")
    assert [op.kind for op in ops] == ["project", "procedure", "formalParameter", "step"]
    assert ops[0].args == {"projectName": "Demo", "description": "a demo"}
    assert ops[0].source == "test.dsl:2"
    assert ops[1].args == {"projectName": "Demo", "procedureName": "Build", "resourceName": "local",
                           "jobNameTemplate": "build-$[/increment /myProject/n]"}
    assert ops[2].args == {"projectName": "Demo", "procedureName": "Build", "formalParameterName": "branch",
                           "defaultValue": "main", "required": "1", "type": "entry",
                           "description": "which branch", "label": "Branch", "expansionDeferred": "0"}
    assert ops[3].args == {"projectName": "Demo", "procedureName": "Build", "stepName": "compile",
                           "command": "make", "shell": "sh", "errorHandling": "abortProcedure",
                           "alwaysRun": "1", "parallel": "0", "timeLimit": "5", "timeLimitUnits": "minutes",
                           "condition": "$[doIt]"}
    assert ops[3].source == "test.dsl:6"


def test_parenthesised_calls_and_trailing_closures_mean_the_same() -> None:
    plain = ops_of("project 'P', { procedure 'Q', { step 's', command: 'x' } }")
    parens = ops_of("project('P') { procedure('Q', { step('s', command: 'x'); }) }")
    assert [(op.kind, op.args) for op in plain] == [(op.kind, op.args) for op in parens]


def test_top_level_procedure_uses_the_enclosing_project() -> None:
    ops = ops_of("procedure 'Run', { step 'one', command: 'true' }\nproperty 'flag', value: 'on'",
                 project_name="EC-X-1.0")
    assert only(ops, "step")["projectName"] == "EC-X-1.0"
    assert only(ops, "property") == {"projectName": "EC-X-1.0", "propertyName": "flag", "value": "on"}


def test_top_level_procedure_without_a_project_is_refused() -> None:
    err = error_of("procedure 'Run', { }")
    assert "bad.dsl:1" in err.message and "procedure 'Run' at the top level needs a project" in err.message


def test_comments_imports_semicolons_and_defs() -> None:
    ops = ops_of("""import java.io.File
import groovy.json.JsonOutput // two imports
/* a block
   comment */ def name = 'Demo';
def tail = "-" + name
project name + tail; // the project
""")
    assert only(ops, "project")["projectName"] == "Demo-Demo"


def test_assignments_set_fields_in_every_block() -> None:
    ops = ops_of("""
project 'P', {
    description = 'project text'
    procedure 'Q', {
        description = 'procedure text'
        resourceName = 'pool'
        step 's', {
            command = 'echo hi'
            shell = 'bash'
            errorHandling = 'ignore'
            alwaysRun = true
        }
        property 'p', {
            value = 'v'
            expandable = false
            description = 'd'
        }
    }
}
""")
    assert only(ops, "project")["description"] == "project text"
    assert only(ops, "procedure") == {"projectName": "P", "procedureName": "Q",
                                      "description": "procedure text", "resourceName": "pool"}
    assert only(ops, "step") == {"projectName": "P", "procedureName": "Q", "stepName": "s",
                                 "command": "echo hi", "shell": "bash", "errorHandling": "ignore",
                                 "alwaysRun": "1"}
    assert only(ops, "property") == {"projectName": "P", "procedureName": "Q", "propertyName": "p",
                                     "value": "v", "expandable": "0", "description": "d"}


def test_assignment_to_a_name_that_is_no_field_creates_a_custom_property() -> None:
    # BasePlugin relies on this: `ec_parameterForm = formXml.text` inside a procedure closure.
    ops = ops_of("project 'P', { procedure 'Q', { ec_parameterForm = '<editor/>' } }")
    assert only(ops, "property") == {"projectName": "P", "procedureName": "Q",
                                     "propertyName": "ec_parameterForm", "value": "<editor/>"}


def test_actual_parameters_from_a_map_and_from_the_closure() -> None:
    ops = ops_of("""
project 'P', {
    procedure 'Q', {
        step 'call', subproject: '/plugins/EC-Resume/project', subprocedure: 'Plan',
            actualParameter: [jobToRestart: '$[jobToRestart]', depth: 2], {
            actualParameter 'mode', 'dry'
        }
    }
}
""")
    step = only(ops, "step")
    assert step["actualParameter"] == [
        {"actualParameterName": "jobToRestart", "value": "$[jobToRestart]"},
        {"actualParameterName": "depth", "value": "2"},
        {"actualParameterName": "mode", "value": "dry"},
    ]
    assert step["subproject"] == "/plugins/EC-Resume/project"


def test_properties_nest_into_sheets() -> None:
    ops = ops_of("""
project 'P', {
    property 'config', {
        property 'url', value: 'http://x', description: 'where'
        property 'inner', {
            property 'deep', value: '$[/myJob/x]', expandable: false
        }
        property 'empty', { }
    }
    procedure 'Q', {
        step 's', command: 'x', {
            property 'note', value: 'on the step'
        }
    }
}
""")
    props = [op.args for op in ops if op.kind == "property"]
    assert props == [
        {"projectName": "P", "propertyName": "config", "sheet": "1"},
        {"projectName": "P", "propertyName": "config/url", "value": "http://x", "description": "where"},
        {"projectName": "P", "propertyName": "config/inner", "sheet": "1"},
        {"projectName": "P", "propertyName": "config/inner/deep", "value": "$[/myJob/x]", "expandable": "0"},
        {"projectName": "P", "propertyName": "config/empty", "sheet": "1"},
        {"projectName": "P", "procedureName": "Q", "stepName": "s", "propertyName": "note",
         "value": "on the step"},
    ]


def test_a_property_with_a_value_and_nested_properties_is_refused() -> None:
    err = error_of("project 'P', {\n property 'x', value: 'v', {\n property 'y', value: 'z' } }")
    assert "bad.dsl:2" in err.message and "both a value and nested properties" in err.message


# ---------------------------------------------------------------------------------- expressions


def value_of(expression: str, **kwargs: Any) -> str:
    ops = ops_of(f"project 'P', {{ property 'v', value: {expression} }}", **kwargs)
    return only(ops, "property")["value"]


@pytest.mark.parametrize("source, expected", [
    (r"'it\'s \\ \n\t \$ \u00e9'", "it's \\ \n\t $ \u00e9"),
    ("'$[/myJob/x] and $name stay literal'", "$[/myJob/x] and $name stay literal"),
    ("'''multi\n'line'\n'''", "multi\n'line'\n"),
    ('"""two\nlines $who"""', "two\nlines world"),
    ('"hello $who/${who}!"', "hello world/world!"),
    ('"dotted ${args.mode} and $args.mode."', "dotted fast and fast."),
    (r'"escaped \$who \"q\""', 'escaped $who "q"'),
    ("'a' + 1 + true", "a1true"),
    ("1 + 2", "3"),
    ("who + '-' + args.mode", "world-fast"),
    ("('x' +\n 'y')", "xy"),
])
def test_expressions(source: str, expected: str) -> None:
    assert value_of(source, binding={"who": "world", "args": {"mode": "fast"}}) == expected


def test_map_and_list_literals() -> None:
    ops = ops_of("""
def none = [:]
def names = ['a', 'b',]
def conf = [mode: 'fast', 'quoted key': 'q']
project 'P', { procedure 'Q', { step 's', command: conf.mode, actualParameter: none } }
""")
    assert only(ops, "step") == {"projectName": "P", "procedureName": "Q", "stepName": "s", "command": "fast"}


def test_null_leaves_an_argument_unset() -> None:
    ops = ops_of("project 'P', description: null")
    assert ops[0].args == {"projectName": "P"}


def test_new_file_text_reads_relative_to_plugin_dir(tmp_path: Any) -> None:
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "run.sh").write_text("echo from file\r\n", encoding="utf-8")
    binding = {"pluginDir": str(tmp_path), "procName": "steps"}
    assert value_of("new File(pluginDir, \"$procName/run.sh\").text", binding=binding) == "echo from file\r\n"
    assert value_of("new File('steps/run.sh').text", binding=binding) == "echo from file\r\n"
    assert value_of(f"new File('{tmp_path}/steps/run.sh').text", binding=binding) == "echo from file\r\n"


def test_a_missing_file_is_named(tmp_path: Any) -> None:
    err = error_of("project 'P', {\n property 'v', value: new File(pluginDir, 'steps/nope.sh').text }",
                   binding={"pluginDir": str(tmp_path)})
    assert "bad.dsl:2" in err.message and "'steps/nope.sh' does not exist" in err.message


def test_only_text_may_be_read_from_a_file(tmp_path: Any) -> None:
    err = error_of("project 'P', description: new File(pluginDir, 'x').name",
                   binding={"pluginDir": str(tmp_path)})
    assert "'.name' on a File is not supported" in err.message


# ---------------------------------------------------------------------------------- strictness


@pytest.mark.parametrize("text, line, construct", [
    ("project 'P', {\n  procedure 'Q', {\n    frobnicate 'x'\n  }\n}", 3, "unknown DSL method 'frobnicate'"),
    ("def i = 0\nwhile (true) { }", 2, "'while' is not supported"),
    ("project 'P', {\n  if (x) { }\n}", 2, "'if' is not supported"),
    ("project 'P', {\n  procedure 'Q', {\n    formalParameter 'a', {\n      colour = 'red'\n    }\n  }\n}", 4,
     "'colour' is not a field of formalParameter 'a'"),
    ("project 'P', description: {\n}", 1, "a closure is not allowed here"),
    ("project 'P', {\n  procedure 'Q', {\n    step 's', command: 'x', retries: 3\n  }\n}", 3,
     "unknown argument 'retries' for step"),
    ("project 'P', {\n  procedure 'Q', {\n    step 's', command: \"echo $[/myJob/x]\"\n  }\n}", 3,
     '"$[" inside a double-quoted string'),
    ("project 'P', {\n  formalParameter 'a'\n}", 2, "'formalParameter' is not allowed inside project 'P'"),
    ("project 'P', {\n  procedure 'Q', {\n    step 's', {\n      command: 'x'\n    }\n  }\n}", 4,
     "statement label 'command:'"),
    ("project 'P', {\n  procedure 'Q', {\n    step 's', errorHandling: 'retry'\n  }\n}", 3,
     "'errorHandling' must be one of"),
    ("project 'P', {\n  procedure 'Q', {\n    step 's', alwaysRun: 'yes'\n  }\n}", 3,
     "'alwaysRun' expects true/false or 1/0"),
    ("project 'P', {\n  procedure 'Q', {\n    step 's', {\n      actualParameter a: 'b'\n    }\n  }\n}", 4,
     "actualParameter takes two strings"),
    ("project 'P', {\n  procedure 'Q', {\n    step 's', command: 'x', command: 'y'\n  }\n}", 3,
     "argument 'command' given twice"),
    ("project 'P', {\n  description = undefinedThing\n}", 2, "unknown variable 'undefinedThing'"),
    ("project 'P', {\n  description = 'x'.toUpperCase()\n}", 2,
     "method call '.toUpperCase(...)' on 'x' is not supported"),
    ("project 'P', {\n  description = println('x')\n}", 2, "method call 'println(...)'"),
    ("project 'P', {\n  description = \"${a + b}\"\n}", 2, "only ${name} or ${a.b} interpolation"),
    ("project 'P', {\n  description = 'x' - 'y'\n}", 2, "unexpected character '-'"),
    ("project 'P', {\n  description = 'never closed\n}", 2, "string is not closed on its line"),
    ("project 'P', {\n  procedure 'Q', {\n    step 's', command: [1, 2]\n  }\n}", 3,
     "'command' expects a string, got a list"),
    ("project 'P', {\n  property '/server/x', value: 'y'\n}", 2, "contains '/'"),
    ("project 'P', {\n  procedure 'Q'\n  }\n}", 4, "'}' has no matching '{'"),
    ("@BaseScript BasePlugin base", 1, "unexpected character '@'"),
    ("top = 'x'", 1, "assignment to undeclared variable 'top'"),
])
def test_anything_outside_the_subset_names_file_line_and_construct(text: str, line: int,
                                                                   construct: str) -> None:
    err = error_of(text)
    assert err.code == "InvalidScript"
    assert err.message.startswith(f"bad.dsl:{line}:") and "\n" not in err.message
    assert construct in err.message


def test_an_error_inside_a_closure_reports_its_own_line() -> None:
    text = "def x = 1\nproject 'P', {\n\n  procedure 'Q', {\n\n    step 's', shell: 'sh', nope: 1\n  }\n}"
    assert error_of(text).where == "bad.dsl:6"
