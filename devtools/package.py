"""Build out/EC-Resume.jar from the source tree, validating everything before a byte is written.

The jar holds (all entry names with "/" separators, as CD/RO expects):
    META-INF/plugin.xml     from plugin.xml
    META-INF/project.xml    with "# promote.groovy placeholder" / "# demote.groovy placeholder" (if present)
                            replaced by dsl/promote.groovy / dsl/demote.groovy, the way ecpluginbuilder does
    dsl/**, htdocs/**, pages/**
    dsl/properties/resume/agentCode        base64 of a zip of lib/ec_resume (.py files and their list)
    dsl/properties/resume/agentCodeDigest  sha256 hex of that zip
Tokens @PLUGIN_KEY@, @PLUGIN_VERSION@ and @PLUGIN_NAME@ (= KEY-VERSION) are substituted in every text
file, the agent code included. Entries are sorted and stamped with a fixed time, so two builds of the
same tree are byte-identical. The jar is written to a temporary file and renamed into place.
A procedure's files may name a file of the jar (``new File(pluginDir, '...')``) and an agent module
(``run_plugin_module("...")``): the build fails when either does not exist. Property names follow the
one rule of `commander_emulator.plugin_layout`, as promotion does.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

from lxml import etree

from commander_emulator.plugin_layout import PROPERTIES_DIR, property_path

PACKED_DIRS = ("dsl", "htdocs", "pages")
PROCEDURES_DIR = "dsl/procedures"
AGENT_PACKAGE = "ec_resume"
AGENT_CODE = f"{PROPERTIES_DIR}/resume/agentCode"
AGENT_DIGEST = f"{PROPERTIES_DIR}/resume/agentCodeDigest"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: builds do not depend on the clock
TOKEN = re.compile(r"@[A-Z][A-Z0-9_]*@")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
VERSION_PATTERN = re.compile(r"^\d+(\.\d+){0,3}$")  # plugin.xsd's version pattern
FORM_TYPES = ("entry", "textarea", "checkbox", "select", "radio", "credential", "project", "header")
SKIPPED_NAMES = ("__pycache__",)
SKIPPED_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".orig", ".rej")
PLACEHOLDERS = {"# promote.groovy placeholder": "dsl/promote.groovy",
                "# demote.groovy placeholder": "dsl/demote.groovy"}
# What a procedure's files may name: a file of the plugin (read on promotion) and an agent module (run by
# the bootstrap). Both are only strings there, so the build checks that they exist.
FILE_REFERENCE = re.compile(r"""new\s+File\(\s*pluginDir\s*,\s*['"]([^'"]*)['"]\s*\)""")
MODULE_CALL = re.compile(r"""run_plugin_module\(\s*['"]([^'"]*)['"]\s*(?:,\s*['"][^'"]*['"]\s*)?\)""")


class BuildError(Exception):
    """A build problem; str() is one line naming the file and what was expected."""


@dataclass(frozen=True)
class PluginIdentity:
    key: str
    version: str

    @property
    def name(self) -> str:
        return f"{self.key}-{self.version}"

    def tokens(self) -> Dict[str, str]:
        return {"@PLUGIN_KEY@": self.key, "@PLUGIN_VERSION@": self.version, "@PLUGIN_NAME@": self.name}


# ------------------------------------------------------------------------------------------- reading


def _parse_xml(data: bytes, label: str) -> etree._Element:
    try:
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise BuildError(f"{label}: not well-formed XML: {exc}") from None


def read_identity(root: Path) -> PluginIdentity:
    """Key and version from plugin.xml (the version may be a token; then lib/ec_resume's __version__)."""
    descriptor = root / "plugin.xml"
    if not descriptor.is_file():
        raise BuildError(f"{descriptor}: missing: expected the plugin descriptor")
    tree = _parse_xml(descriptor.read_bytes(), "plugin.xml")
    if tree.tag != "plugin":
        raise BuildError(f"plugin.xml: root element is <{tree.tag}>: expected <plugin>")
    key = (tree.findtext("key") or "").strip()
    version = (tree.findtext("version") or "").strip()
    agent_version = _agent_version(root)
    if version == "@PLUGIN_VERSION@" and agent_version:
        version = agent_version
    if not KEY_PATTERN.match(key):
        raise BuildError(f"plugin.xml: <key> is '{key}': expected the plugin key, e.g. EC-Resume")
    if not VERSION_PATTERN.match(version):
        raise BuildError(f"plugin.xml: <version> is '{version}': expected digits like 1.0.0")
    if agent_version and agent_version != version:
        raise BuildError(f"lib/{AGENT_PACKAGE}/__init__.py: __version__ is '{agent_version}': expected "
                         f"'{version}' as in plugin.xml")
    return PluginIdentity(key, version)


def _agent_version(root: Path) -> str:
    init = root / "lib" / AGENT_PACKAGE / "__init__.py"
    if not init.is_file():
        return ""
    match = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", init.read_text(encoding="utf-8"), re.M)
    return match.group(1) if match else ""


def _skipped(path: Path) -> bool:
    return (any(part.startswith(".") or part in SKIPPED_NAMES for part in path.parts)
            or path.name.endswith(SKIPPED_SUFFIXES))


def _files_under(base: Path) -> List[Path]:
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*") if p.is_file() and not _skipped(p.relative_to(base)))


def _is_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _substitute(data: bytes, identity: PluginIdentity, label: str) -> bytes:
    """Tokens replaced in a text file (binary files pass through); a token left over is an error."""
    if not _is_text(data):
        return data
    text = data.decode("utf-8")
    for token, value in identity.tokens().items():
        text = text.replace(token, value)
    left = TOKEN.search(text)
    if left:
        line = text.count("\n", 0, left.start()) + 1
        raise BuildError(f"{label}: line {line}: unknown token {left.group(0)}: expected only "
                         + ", ".join(identity.tokens()))
    return text.encode("utf-8")


# ---------------------------------------------------------------------------------------- agent code


def _deterministic_zip(entries: Iterable[Tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever machine builds it
            archive.writestr(info, data)
    return buffer.getvalue()


def agent_code_files(package_dir: Path, identity: PluginIdentity | None = None) -> List[Tuple[str, bytes]]:
    """(name in the zip, bytes) of a Python package directory's .py files, under the package's name."""
    if not (package_dir / "__init__.py").is_file():
        raise BuildError(f"{package_dir}: missing __init__.py: expected the agent's Python package")
    files = []
    for path in _files_under(package_dir):
        if path.suffix != ".py":
            continue
        arcname = f"{package_dir.name}/{path.relative_to(package_dir).as_posix()}"
        data = path.read_bytes()
        if identity is not None:
            data = _substitute(data, identity, f"lib/{arcname}")
        files.append((arcname, data))
    return files


# In the agent zip beside the package: its file names, one a line, so that the bootstrap reads the zip with
# zipimport (loaded in every Python) instead of importing zipfile (15-20 ms of a plugin's first step).
AGENT_FILES = "AGENT-FILES"


def agent_zip(files: List[Tuple[str, bytes]]) -> bytes:
    """The agent code's zip: `files` (agent_code_files) and the list of their names (AGENT_FILES)."""
    listing = "".join(f"{name}\n" for name, _ in sorted(files)).encode("utf-8")
    return _deterministic_zip(files + [(AGENT_FILES, listing)])


def build_agent_code(package_dir: Path, identity: PluginIdentity | None = None) -> Tuple[bytes, str]:
    """(zip bytes, sha256 hex) of a Python package directory: its .py files under its own name, and the
    list of their names."""
    archive = agent_zip(agent_code_files(package_dir, identity))
    return archive, hashlib.sha256(archive).hexdigest()


def module_names(files: Iterable[Tuple[str, bytes]]) -> List[str]:
    """The importable modules of the agent code: ec_resume/procedures/x.py -> ec_resume.procedures.x."""
    names = []
    for arcname, _ in files:
        module = arcname[: -len(".py")]
        if module.endswith("/__init__"):
            module = module[: -len("/__init__")]
        names.append(module.replace("/", "."))
    return names


# ---------------------------------------------------------------------------------------- validation


def _validate_form(tree: etree._Element, label: str) -> None:
    """Every formElement must be able to become a formal parameter on promotion."""
    if tree.tag != "editor":
        raise BuildError(f"{label}: root element is <{tree.tag}>: expected <editor>")
    seen = set()
    for number, element in enumerate(tree.iter("formElement"), start=1):
        kind = (element.findtext("type") or "").strip()
        name = (element.findtext("property") or "").strip()
        where = f"{label}: formElement {number}" + (f" ('{name}')" if name else "")
        if kind not in FORM_TYPES:
            raise BuildError(f"{where}: type '{kind}': expected one of {', '.join(FORM_TYPES)}")
        if kind == "header":
            continue
        if not name:
            raise BuildError(f"{where}: empty <property>: expected the formal parameter's name")
        if name in seen:
            raise BuildError(f"{where}: property '{name}' appears twice: expected unique parameter names")
        seen.add(name)


def _property_name(entry: str) -> str:
    """The property a jar entry under dsl/properties/ becomes, by the rule promotion follows; else ""."""
    prefix = PROPERTIES_DIR + "/"
    return property_path(entry[len(prefix):]) if entry.startswith(prefix) else ""


def _validate_properties(entries: Dict[str, bytes]) -> None:
    """Promotion strips extensions: two files that would become one property would silently clash."""
    owners: Dict[str, str] = {}
    for name in entries:
        prop = _property_name(name)
        if not prop:
            continue
        if prop in owners:
            raise BuildError(f"{name}: becomes the same property as {owners[prop]}: expected one file per "
                             "property name")
        owners[prop] = name


def _line_of(text: str, match: re.Match) -> int:
    return text.count("\n", 0, match.start()) + 1


def _validate_procedure_references(entries: Dict[str, bytes], agent_modules: Iterable[str]) -> None:
    """Each file a procedure reads from pluginDir is in the jar; each module it runs is in the agent code."""
    modules = set(agent_modules)
    for name, data in sorted(entries.items()):
        if not name.startswith(PROCEDURES_DIR + "/") or not _is_text(data):
            continue
        text = data.decode("utf-8")
        for match in FILE_REFERENCE.finditer(text):
            where, wanted = f"{name}: line {_line_of(text, match)}", match.group(1)
            if wanted not in entries:
                raise BuildError(f"{where}: reads '{wanted}' from pluginDir, which is not in the jar: "
                                 "expected a file under dsl/, htdocs/ or pages/")
        for match in MODULE_CALL.finditer(text):
            where, module = f"{name}: line {_line_of(text, match)}", match.group(1)
            if module not in modules:
                raise BuildError(f"{where}: runs module '{module}', which is not in the agent code: "
                                 f"expected lib/{module.replace('.', '/')}.py")


def _embed_groovy(project_xml: bytes, sources: Dict[str, bytes]) -> bytes:
    """Replace ecpluginbuilder-style placeholders in project.xml's text by the groovy sources (escaped)."""
    text = project_xml.decode("utf-8")
    wanted = [ph for ph in PLACEHOLDERS if ph in text]
    if not wanted:
        return project_xml
    tree = _parse_xml(project_xml, "META-INF/project.xml")
    for node in tree.iter():
        for attr in ("text", "tail"):
            value = getattr(node, attr)
            if value and any(ph in value for ph in wanted):
                for placeholder in wanted:
                    source = PLACEHOLDERS[placeholder]
                    if source not in sources:
                        raise BuildError(f"META-INF/project.xml: asks for {source}, which does not exist")
                    value = value.replace(placeholder, sources[source].decode("utf-8"))
                setattr(node, attr, value)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def collect(root: Path) -> Tuple[PluginIdentity, Dict[str, bytes]]:
    """Every jar entry, substituted and validated; raises BuildError on the first problem."""
    identity = read_identity(root)
    entries: Dict[str, bytes] = {}
    for folder in PACKED_DIRS:
        for path in _files_under(root / folder):
            name = path.relative_to(root).as_posix()
            entries[name] = _substitute(path.read_bytes(), identity, name)
    for generated in (AGENT_CODE, AGENT_DIGEST):
        clash = [n for n in entries if _property_name(n) == _property_name(generated)]
        if clash:
            raise BuildError(f"{clash[0]}: the build generates {generated}: remove this file")
    if "dsl/promote.groovy" not in entries:
        raise BuildError(f"{root / 'dsl/promote.groovy'}: missing: expected the promote script")

    entries["META-INF/plugin.xml"] = _substitute((root / "plugin.xml").read_bytes(), identity, "plugin.xml")
    project_xml = root / "META-INF" / "project.xml"
    if not project_xml.is_file():
        raise BuildError(f"{project_xml}: missing: expected the export holding ec_setup")
    raw_project = _substitute(project_xml.read_bytes(), identity, "META-INF/project.xml")
    entries["META-INF/project.xml"] = _embed_groovy(raw_project, entries)

    for name, data in entries.items():
        if name.endswith(".xml"):
            tree = _parse_xml(data, name)
            if name.endswith("/form.xml"):
                _validate_form(tree, name)
    for folder in sorted({n.rsplit("/", 1)[0] for n in entries if n.startswith(PROCEDURES_DIR + "/")}):
        if folder.count("/") == 2 and f"{folder}/procedure.dsl" not in entries:
            raise BuildError(f"{folder}: missing procedure.dsl: expected one per procedure folder")
    _validate_properties(entries)
    agent_files = agent_code_files(root / "lib" / AGENT_PACKAGE, identity)
    _validate_procedure_references(entries, module_names(agent_files))

    archive = agent_zip(agent_files)
    entries[AGENT_CODE] = base64.b64encode(archive)
    entries[AGENT_DIGEST] = hashlib.sha256(archive).hexdigest().encode("ascii")
    return identity, entries


def build_jar(root: Path, out_dir: Path) -> Path:
    """Validate the tree at `root` and write `<out_dir>/<key>.jar`; returns its path."""
    root = Path(root)
    out_dir = Path(out_dir)
    identity, entries = collect(root)
    payload = _deterministic_zip(entries.items())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{identity.key}.jar"
    handle, temp = tempfile.mkstemp(prefix=f".{identity.key}-", suffix=".jar.part", dir=out_dir)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
        os.chmod(temp, 0o644)  # mkstemp makes it private; a jar is not a secret
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return target


def plugin_name_of(jar: Path) -> str:
    """KEY-VERSION of a built jar, from its META-INF/plugin.xml."""
    try:
        with zipfile.ZipFile(jar) as archive:
            data = archive.read("META-INF/plugin.xml")
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise BuildError(f"{jar}: not a plugin jar ({exc})") from None
    tree = _parse_xml(data, f"{jar}!META-INF/plugin.xml")
    return f"{(tree.findtext('key') or '').strip()}-{(tree.findtext('version') or '').strip()}"
