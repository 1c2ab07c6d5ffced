"""Plugin install from a jar and what its promotion applies, read the way PluginWizard's BasePlugin does."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any, Dict, List

import pytest

from commander_emulator.dsl import DslOp
from commander_emulator.errors import CommanderError
from commander_emulator.model import Store
from commander_emulator.plugins import install_plugin, mark_promoted, promotion_ops

PLUGIN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<plugin>
  <key>EC-Demo</key>
  <version>{version}</version>
  <label>Demo plugin</label>
  <description>Says hello</description>
  <author>Tests</author>
  <category>Utilities</category>
</plugin>
"""

PROCEDURE_DSL = """import java.io.File

def procName = 'Greet'
procedure procName, description: 'Greets someone', {
    formalParameter 'who', required: '1', description: 'declared by the DSL'
    step 'greet',
        command: new File(pluginDir, "dsl/procedures/$procName/steps/greet.sh").text,
        shell: 'sh'
}
"""

GREET_SH = "echo \"Hello $[who]\"\n"

FORM_XML = """<editor>
  <formElement>
    <type>entry</type><label>Who:</label><property>who</property>
    <required>0</required><documentation>from the form</documentation>
  </formElement>
  <formElement>
    <type>entry</type><label>Greeting:</label><property>greeting</property>
    <value>Hello</value><required>1</required><documentation>What to say.</documentation>
  </formElement>
  <formElement>
    <type>checkbox</type><label>Loud:</label><property>loud</property>
    <required>1</required><condition>${greeting} == "Hello"</condition>
    <expansionDeferred>true</expansionDeferred>
  </formElement>
</editor>
"""


def build_jar(version: str = "1.2.3", **overrides: Any) -> bytes:
    files: Dict[str, Any] = {
        "META-INF/plugin.xml": PLUGIN_XML.format(version=version),
        "dsl/procedures/Greet/procedure.dsl": PROCEDURE_DSL,
        "dsl/procedures/Greet/form.xml": FORM_XML,
        "dsl/procedures/Greet/steps/greet.sh": GREET_SH,
        # A template folder BasePlugin skips; its DSL would not even parse.
        "dsl/procedures/template_ignore/procedure.dsl": "while (true) {}",
        "dsl/properties/scripts/x.js": "function x() { return 1; }\n",
        "dsl/properties/lib/nested/deep.py": "print('deep')\n",
        "dsl/properties/version.txt": version,
        "pages/help.xml": "<help/>",
    }
    files.update(overrides)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as jar:
        for name, text in files.items():
            if text is not None:
                jar.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path: Any) -> Store:
    return Store(str(tmp_path / "workspace"))


@pytest.fixture
def root(tmp_path: Any) -> str:
    return str(tmp_path / "plugins")


def args_of(ops: List[DslOp], kind: str) -> List[Dict[str, Any]]:
    return [op.args for op in ops if op.kind == kind]


# ---------------------------------------------------------------------------------- install


def test_install_unpacks_the_jar_and_registers_the_plugin_unpromoted(store: Store, root: str) -> None:
    plugin = install_plugin(store, build_jar(), root)
    assert (plugin.key, plugin.version, plugin.name) == ("EC-Demo", "1.2.3", "EC-Demo-1.2.3")
    assert (plugin.label, plugin.description, plugin.author, plugin.category) == (
        "Demo plugin", "Says hello", "Tests", "Utilities")
    assert store.plugins["EC-Demo-1.2.3"] is plugin and not plugin.promoted
    assert plugin.plugin_dir == os.path.join(root, "EC-Demo-1.2.3")
    with open(os.path.join(plugin.plugin_dir, "dsl", "procedures", "Greet", "steps", "greet.sh")) as fh:
        assert fh.read() == GREET_SH
    assert os.path.isfile(os.path.join(plugin.plugin_dir, "pages", "help.xml"))
    assert sorted(os.listdir(root)) == ["EC-Demo-1.2.3"]  # no staging folder left behind


def test_installing_the_same_name_again_replaces_it(store: Store, root: str) -> None:
    install_plugin(store, build_jar(), root)
    plugin = install_plugin(store, build_jar(**{"pages/help.xml": None, "dsl/properties/version.txt": "new"}),
                            root)
    assert not os.path.exists(os.path.join(plugin.plugin_dir, "pages", "help.xml"))
    with open(os.path.join(plugin.plugin_dir, "dsl", "properties", "version.txt")) as fh:
        assert fh.read() == "new"
    assert list(store.plugins) == ["EC-Demo-1.2.3"]


@pytest.mark.parametrize("jar, message", [
    (build_jar(**{"META-INF/plugin.xml": None}), "no META-INF/plugin.xml"),
    (build_jar(**{"META-INF/plugin.xml": "<plugin><key>EC-Demo</key></plugin>"}), "<version> is required"),
    (build_jar(**{"META-INF/plugin.xml": "<plugin><version>1</version></plugin>"}), "<key> is required"),
    (build_jar(**{"META-INF/plugin.xml": "<plugin><key>../x</key><version>1</version></plugin>"}),
     "may hold only"),
    (build_jar(**{"META-INF/plugin.xml": "<plugin>"}), "not well-formed"),
    (build_jar(**{"../escape.txt": "x"}), "'../escape.txt' would be written outside"),
    (build_jar(**{"dsl/../../escape.txt": "x"}), "outside the plugin folder"),
    (build_jar(**{"/etc/abs.txt": "x"}), "outside the plugin folder"),
    (b"not a zip", "not a jar/zip"),
])
def test_a_bad_jar_is_refused_and_nothing_is_written(store: Store, root: str, jar: bytes,
                                                     message: str) -> None:
    with pytest.raises(CommanderError) as info:
        install_plugin(store, jar, root)
    assert info.value.code == "InvalidPlugin"
    assert message in info.value.message
    assert not store.plugins
    assert not os.path.exists(root) or os.listdir(root) == []
    assert not os.path.exists(os.path.join(os.path.dirname(root), "escape.txt"))


# ---------------------------------------------------------------------------------- promotion


def test_promotion_ops_create_the_project_and_its_plugin_properties(store: Store, root: str) -> None:
    plugin = install_plugin(store, build_jar(), root)
    ops = promotion_ops(store, plugin.name)
    assert ops[0].kind == "project" and ops[0].args == {"projectName": "EC-Demo-1.2.3"}
    props = {p["propertyName"]: p for p in args_of(ops, "property") if "procedureName" not in p}
    assert props["pluginDir"]["value"] == plugin.plugin_dir
    assert props["pluginKey"]["value"] == "EC-Demo"
    assert props["pluginName"]["value"] == "EC-Demo-1.2.3"
    # dsl/properties: folders are sheets, files hold their text, extensions are stripped.
    assert props["scripts"]["sheet"] == "1"
    assert props["scripts/x"]["value"] == "function x() { return 1; }\n"
    assert props["lib"]["sheet"] == "1" and props["lib/nested"]["sheet"] == "1"
    assert props["lib/nested/deep"]["value"] == "print('deep')\n"
    assert props["version"]["value"] == "1.2.3"
    assert all(p["projectName"] == "EC-Demo-1.2.3" for p in props.values())


def test_property_names_follow_the_plugin_layout_rule(store: Store, root: str) -> None:
    jar = build_jar(**{"dsl/properties/conf.d/app.ini": "a=1\n", "dsl/properties/.hidden": "x",
                       "dsl/properties/.hidden.d/y.txt": "y"})
    ops = promotion_ops(store, install_plugin(store, jar, root).name)
    props = {p["propertyName"]: p for p in args_of(ops, "property") if "procedureName" not in p}
    # A folder keeps its name, dots and all; a file loses its extension; dot files are not promoted.
    assert props["conf.d"]["sheet"] == "1" and props["conf.d/app"]["value"] == "a=1\n"
    assert not [name for name in props if name.startswith(".")]
    names = [p["propertyName"] for p in args_of(ops, "property")]
    assert names.index("lib") < names.index("lib/nested") < names.index("lib/nested/deep")


def test_promotion_ops_read_procedures_steps_and_the_form(store: Store, root: str) -> None:
    plugin = install_plugin(store, build_jar(), root)
    ops = promotion_ops(store, plugin.name)
    assert args_of(ops, "procedure") == [{"projectName": "EC-Demo-1.2.3", "procedureName": "Greet",
                                          "description": "Greets someone"}]
    assert args_of(ops, "step") == [{"projectName": "EC-Demo-1.2.3", "procedureName": "Greet",
                                     "stepName": "greet", "command": GREET_SH, "shell": "sh"}]
    params = {p["formalParameterName"]: p for p in args_of(ops, "formalParameter")}
    assert len(args_of(ops, "formalParameter")) == 3  # 'who' once: the DSL declared it, the form adds none
    assert params["who"]["description"] == "declared by the DSL" and params["who"]["required"] == "1"
    assert params["greeting"] == {"projectName": "EC-Demo-1.2.3", "procedureName": "Greet",
                                  "formalParameterName": "greeting", "defaultValue": "Hello", "required": "1",
                                  "description": "What to say.", "type": "entry", "label": "Greeting:",
                                  "expansionDeferred": "0"}
    # A conditional field is never required; expansionDeferred 'true' becomes 1.
    assert params["loud"]["required"] == "0" and params["loud"]["expansionDeferred"] == "1"
    assert params["loud"]["type"] == "checkbox"
    form = [p for p in args_of(ops, "property") if p["propertyName"] == "ec_parameterForm"]
    assert form == [{"projectName": "EC-Demo-1.2.3", "procedureName": "Greet",
                     "propertyName": "ec_parameterForm", "value": FORM_XML}]
    kinds = [op.kind for op in ops]
    assert kinds.index("procedure") < kinds.index("step") < len(kinds) - 1


def test_file_extensions_are_kept_when_the_project_asks(store: Store, root: str) -> None:
    plugin = install_plugin(store, build_jar(), root)
    store.ensure_project(plugin.name).properties.set_value("ec_keepFilesExtensions", "true")
    names = {p["propertyName"] for p in args_of(promotion_ops(store, plugin.name), "property")}
    assert {"scripts/x.js", "lib/nested/deep.py", "version.txt"} <= names
    assert "scripts/x" not in names


def test_a_dsl_error_in_the_plugin_names_the_file_in_the_jar_and_its_line(store: Store, root: str) -> None:
    bad = "procedure 'Broken', {\n    step 'one', command: 'x'\n    step 'two', retry: 3\n}\n"
    plugin = install_plugin(store, build_jar(**{"dsl/procedures/Broken/procedure.dsl": bad}), root)
    with pytest.raises(CommanderError) as info:
        promotion_ops(store, plugin.name)
    assert "dsl/procedures/Broken/procedure.dsl:3" in info.value.message
    assert "unknown argument 'retry'" in info.value.message


def test_a_missing_step_file_is_named(store: Store, root: str) -> None:
    plugin = install_plugin(store, build_jar(**{"dsl/procedures/Greet/steps/greet.sh": None}), root)
    with pytest.raises(CommanderError) as info:
        promotion_ops(store, plugin.name)
    assert "dsl/procedures/Greet/procedure.dsl:7" in info.value.message
    assert "'dsl/procedures/Greet/steps/greet.sh' does not exist" in info.value.message


def test_promoting_an_unknown_plugin_is_no_such_plugin(store: Store) -> None:
    for call in (lambda: promotion_ops(store, "EC-None-1.0"), lambda: mark_promoted(store, "EC-None-1.0")):
        with pytest.raises(CommanderError) as info:
            call()
        assert info.value.code == "NoSuchPlugin"


# ---------------------------------------------------------------------------------- promote / demote


def test_mark_promoted_makes_the_version_current_and_demotes_the_others(store: Store, root: str) -> None:
    old = install_plugin(store, build_jar("1.0.0"), root)
    new = install_plugin(store, build_jar("2.0.0"), root)
    mark_promoted(store, old.name)
    assert store.promoted_plugin("EC-Demo") is old
    assert store.project("EC-Demo-1.0.0").plugin_key == "EC-Demo"

    mark_promoted(store, new.name)
    assert store.promoted_plugin("EC-Demo") is new and not old.promoted
    assert store.project("EC-Demo-2.0.0").plugin_key == "EC-Demo"

    mark_promoted(store, new.name, promote=False)
    assert not new.promoted
    with pytest.raises(CommanderError) as info:
        store.promoted_plugin("EC-Demo")
    assert info.value.code == "NoSuchPlugin"
