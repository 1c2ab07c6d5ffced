"""The jar builder on small fixture trees: contents, tokens, validation before writing, determinism."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from devtools.package import BuildError, build_jar, plugin_name_of

PROJECT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<exportedData><project><propertySheet><property><propertyName>ec_setup</propertyName>
<value>my $dsl = q{
# promote.groovy placeholder
};
# @PLUGIN_NAME@
</value></property></propertySheet></project></exportedData>
"""
FORM_XML = """<editor>
  <formElement><type>textarea</type><property>command</property><required>1</required></formElement>
  <formElement><type>entry</type><property>shell</property></formElement>
</editor>
"""
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR@PLUGIN_KEY@\xff"


def write(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    write(root, "plugin.xml", "<plugin><key>EC-Test</key><version>2.1.0</version>"
                              "<label>@PLUGIN_KEY@</label><help>@PLUGIN_NAME@</help></plugin>")
    write(root, "META-INF/project.xml", PROJECT_XML)
    write(root, "dsl/promote.groovy", "def name = args.pluginName // '@PLUGIN_KEY@' <&>\nproject name\n")
    write(root, "dsl/demote.groovy", "// demote\n")
    write(root, "dsl/procedures/Run/procedure.dsl", "procedure 'Run', { step 'r', command: '$[command]' }\n")
    write(root, "dsl/procedures/Run/form.xml", FORM_XML)
    write(root, "dsl/properties/resume/doneOutcomes.txt", "success\n")
    write(root, "dsl/properties/resume/bootstrap.py", "# @PLUGIN_NAME@ bootstrap\n")
    write(root, "htdocs/images/icon-plugin.png", PNG)
    write(root, "pages/help.xml", "<componentContainer><title>@PLUGIN_NAME@</title></componentContainer>")
    write(root, "lib/ec_resume/__init__.py", '__version__ = "2.1.0"\n')
    write(root, "lib/ec_resume/core.py", "NAME = '@PLUGIN_NAME@'\n")
    write(root, "lib/ec_resume/notes.txt", "not code\n")
    write(root, "lib/ec_resume/__pycache__/core.cpython-311.pyc", b"\0compiled")
    write(root, "tests/plugin/test_x.py", "def test(): pass\n")
    write(root, "dsl/.hidden", "x")
    write(root, ".venv/lib/site.py", "x")
    write(root, "out/old.jar", b"old")
    return root


def entries(jar: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(jar) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_good_build_has_the_plugin_layout_with_tokens_substituted(tree: Path, tmp_path: Path):
    jar = build_jar(tree, tmp_path / "out")
    assert jar == tmp_path / "out" / "EC-Test.jar"
    files = entries(jar)
    assert sorted(files) == [
        "META-INF/plugin.xml", "META-INF/project.xml", "dsl/demote.groovy", "dsl/procedures/Run/form.xml",
        "dsl/procedures/Run/procedure.dsl", "dsl/promote.groovy", "dsl/properties/resume/agentCode",
        "dsl/properties/resume/agentCodeDigest", "dsl/properties/resume/bootstrap.py",
        "dsl/properties/resume/doneOutcomes.txt", "htdocs/images/icon-plugin.png", "pages/help.xml"]
    assert b"<label>EC-Test</label><help>EC-Test-2.1.0</help>" in files["META-INF/plugin.xml"]
    assert files["dsl/properties/resume/bootstrap.py"] == b"# EC-Test-2.1.0 bootstrap\n"
    assert files["htdocs/images/icon-plugin.png"] == PNG  # binary files are not touched
    assert files["dsl/procedures/Run/procedure.dsl"].count(b"$[command]") == 1
    assert plugin_name_of(jar) == "EC-Test-2.1.0"


def test_project_xml_embeds_promote_groovy_into_ec_setup(tree: Path, tmp_path: Path):
    files = entries(build_jar(tree, tmp_path / "out"))
    value = etree.fromstring(files["META-INF/project.xml"]).findtext(".//value")
    assert "def name = args.pluginName // 'EC-Test' <&>\nproject name\n" in value
    assert "placeholder" not in value and "# EC-Test-2.1.0" in value


def test_agent_code_is_a_zip_of_the_python_package_with_its_digest(tree: Path, tmp_path: Path):
    files = entries(build_jar(tree, tmp_path / "out"))
    archive = base64.b64decode(files["dsl/properties/resume/agentCode"])
    assert files["dsl/properties/resume/agentCodeDigest"].decode() == hashlib.sha256(archive).hexdigest()
    with zipfile.ZipFile(io.BytesIO(archive)) as inner:
        assert sorted(inner.namelist()) == ["AGENT-FILES", "ec_resume/__init__.py", "ec_resume/core.py"]
        assert inner.read("AGENT-FILES") == b"ec_resume/__init__.py\nec_resume/core.py\n"  # for the bootstrap
        assert inner.read("ec_resume/core.py") == b"NAME = 'EC-Test-2.1.0'\n"


def test_two_builds_are_byte_identical_even_after_the_files_are_touched(tree: Path, tmp_path: Path):
    first = build_jar(tree, tmp_path / "a").read_bytes()
    for path in tree.rglob("*"):
        if path.is_file():
            path.touch()
    assert build_jar(tree, tmp_path / "b").read_bytes() == first


def test_tests_and_build_files_stay_out(tree: Path, tmp_path: Path):
    names = entries(build_jar(tree, tmp_path / "out"))
    assert not [n for n in names if "test" in n or ".venv" in n or n.startswith("out/") or "pycache" in n]


@pytest.mark.parametrize(("rel", "content", "message"), [
    ("dsl/procedures/Run/form.xml", "<editor><formElement>", "dsl/procedures/Run/form.xml: not well-formed"),
    ("pages/help.xml", "<a></b>", "pages/help.xml: not well-formed XML"),
    ("dsl/procedures/Run/form.xml",
     "<editor><formElement><type>entry</type><property> </property></formElement></editor>",
     "formElement 1: empty <property>"),
    ("dsl/procedures/Run/form.xml",
     "<editor><formElement><type>entry</type><property>a</property></formElement>"
     "<formElement><type>checkbox</type><property>a</property></formElement></editor>",
     "formElement 2 ('a'): property 'a' appears twice"),
    ("dsl/procedures/Run/form.xml",
     "<editor><formElement><type>password</type><property>a</property></formElement></editor>",
     "type 'password': expected one of entry"),
    ("dsl/promote.groovy", "//\n@PLUGIN_VERSIONN@",
     "dsl/promote.groovy: line 2: unknown token @PLUGIN_VERSIONN@"),
    ("plugin.xml", "<plugin><key>EC-Test</key><version>two</version></plugin>",
     "plugin.xml: <version> is 'two'"),
    ("lib/ec_resume/__init__.py", '__version__ = "9.9.9"\n', "__version__ is '9.9.9': expected '2.1.0'"),
    ("dsl/properties/resume/doneOutcomes.cfg", "x", "becomes the same property as"),
    ("dsl/properties/resume/agentCode.txt", "x", "the build generates dsl/properties/resume/agentCode"),
    ("dsl/procedures/Empty/form.xml", FORM_XML, "dsl/procedures/Empty: missing procedure.dsl"),
])
def test_each_validation_failure_is_one_line_naming_the_file_and_writes_nothing(
        tree: Path, tmp_path: Path, rel: str, content: str, message: str):
    out = tmp_path / "out"
    good = build_jar(tree, out).read_bytes()
    write(tree, rel, content)
    with pytest.raises(BuildError) as caught:
        build_jar(tree, out)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert (out / "EC-Test.jar").read_bytes() == good  # the last good jar is untouched
    assert sorted(p.name for p in out.iterdir()) == ["EC-Test.jar"]  # and no half-written file


def test_a_procedure_may_name_only_agent_modules_and_jar_files_that_exist(tree: Path, tmp_path: Path):
    write(tree, "dsl/procedures/Run/procedure.dsl",
          "def entry = new File(pluginDir, 'dsl/procedures/Run/entry.py').text\n"
          "procedure 'Run', { step 'r', command: '$[/myProject/resume/bootstrap]' + entry }\n")
    write(tree, "dsl/procedures/Run/entry.py", 'run_plugin_module("ec_resume.core")\n')
    assert "dsl/procedures/Run/entry.py" in entries(build_jar(tree, tmp_path / "out"))

    write(tree, "dsl/procedures/Run/entry.py", '\nrun_plugin_module("ec_resume.procedures.gone")\n')
    with pytest.raises(BuildError) as caught:
        build_jar(tree, tmp_path / "out")
    assert str(caught.value) == ("dsl/procedures/Run/entry.py: line 2: runs module "
                                 "'ec_resume.procedures.gone', which is not in the agent code: "
                                 "expected lib/ec_resume/procedures/gone.py")

    (tree / "dsl/procedures/Run/entry.py").unlink()
    with pytest.raises(BuildError, match=r"procedure\.dsl: line 1: reads 'dsl/procedures/Run/entry\.py' from "
                                         "pluginDir, which is not in the jar"):
        build_jar(tree, tmp_path / "out")


def test_a_folder_whose_name_holds_a_dot_keeps_it_as_promotion_does(tree: Path, tmp_path: Path):
    # conf.d/x.txt is the property conf.d/x, not conf/x: no clash with conf/x.txt ...
    write(tree, "dsl/properties/conf.d/x.txt", "1\n")
    write(tree, "dsl/properties/conf/x.txt", "2\n")
    files = entries(build_jar(tree, tmp_path / "out"))
    assert {"dsl/properties/conf.d/x.txt", "dsl/properties/conf/x.txt"} <= set(files)
    # ... but two files of the dot folder that lose their extensions do clash.
    write(tree, "dsl/properties/conf.d/x.cfg", "3\n")
    with pytest.raises(BuildError, match=r"conf\.d/x\.txt: becomes the same property as "
                                         r"dsl/properties/conf\.d/x\.cfg"):
        build_jar(tree, tmp_path / "out")


def test_missing_pieces_are_named(tree: Path, tmp_path: Path):
    (tree / "META-INF" / "project.xml").unlink()
    with pytest.raises(BuildError, match=r"project\.xml: missing"):
        build_jar(tree, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_real_bootstrap_holds_no_property_reference_and_only_known_tokens():
    text = (Path(__file__).resolve().parents[2] / "dsl/properties/resume/bootstrap.py").read_text()
    # The server expands the bootstrap when it expands the step command: "$[" would be taken as a reference.
    assert "$[" not in text
    assert "@PLUGIN_NAME@" in text


INTERNAL_NOTES = re.compile(r"\bissues? #?\d+\b|\.\./shared\b|/work/|\bTODO\b|\bFIXME\b", re.IGNORECASE)


def test_the_real_jar_carries_no_internal_notes(tmp_path: Path):
    """What users install reads as a product: no issue numbers, workplace paths or to-do marks."""
    repo = Path(__file__).resolve().parents[2]
    jar = entries(build_jar(repo, tmp_path))
    texts = {name: data for name, data in jar.items() if not name.endswith(".png")}
    agent = zipfile.ZipFile(io.BytesIO(base64.b64decode(jar["dsl/properties/resume/agentCode"])))
    texts.update({f"agentCode:{name}": agent.read(name) for name in agent.namelist()})
    found = [f"{name}: {match.group(0)}" for name, data in texts.items()
             for match in INTERNAL_NOTES.finditer(data.decode("utf-8", "replace"))]
    assert len(texts) > 30 and found == []


def test_the_shipped_sources_carry_no_internal_notes():
    """The pip package ships the agent code and the emulator as they are in the tree."""
    repo = Path(__file__).resolve().parents[2]
    found = [f"{path.relative_to(repo)}: {match.group(0)}"
             for folder in ("lib/ec_resume", "commander_emulator", "dsl", "pages")
             for path in sorted((repo / folder).rglob("*")) if path.is_file() and path.suffix != ".pyc"
             for match in INTERNAL_NOTES.finditer(path.read_text(encoding="utf-8", errors="replace"))]
    assert found == []
