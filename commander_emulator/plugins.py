"""Plugin install and promotion: unpack a built jar, and read its `dsl/` the way the plugin's promote does.

Promotion of a real plugin runs its `ec_setup` → `dsl/promote.groovy` → PluginWizard's BasePlugin
(plugin-anatomy.md §3-4). The emulator does not run that Groovy; `promotion_ops` produces the same
objects as DSL operations, which the backend applies like any other DSL. `install_plugin` and
`mark_promoted` are the only functions here that touch the store.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import shutil
import tempfile
import zipfile
from typing import Dict, List, Optional
from xml.etree import ElementTree

from .dsl import DslError, DslOp, parse_dsl
from .errors import CommanderError
from .model import Plugin, Store
from .plugin_layout import PROPERTIES_DIR, is_promoted, property_name
from .schema import FORMAL_PARAMETER, FieldValueError, argument_text

PLUGIN_XML = "META-INF/plugin.xml"
PROCEDURES_DIR = "dsl/procedures"
# [U] error code for a jar the server refuses to install.
INVALID_PLUGIN = "InvalidPlugin"
# key and version become a folder name; refuse anything that could leave the plugins folder.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _invalid(message: str) -> CommanderError:
    return CommanderError(INVALID_PLUGIN, message)


# ------------------------------------------------------------------------------------------ install


def read_plugin_xml(text: bytes) -> Dict[str, str]:
    """The descriptor fields of META-INF/plugin.xml; key and version are required."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise _invalid(f"{PLUGIN_XML} is not well-formed XML: {exc}") from None
    if root.tag != "plugin":
        raise _invalid(f"{PLUGIN_XML}: expected a <plugin> root element, found <{root.tag}>")
    fields = {}
    for name in ("key", "version", "label", "description", "author", "category"):
        element = root.find(name)
        fields[name] = (element.text or "").strip() if element is not None else ""
    for name in ("key", "version"):
        if not fields[name]:
            raise _invalid(f"{PLUGIN_XML}: <{name}> is required")
        if not _SAFE_NAME.fullmatch(fields[name]):
            raise _invalid(f"{PLUGIN_XML}: <{name}> '{fields[name]}' may hold only letters, digits, '.', '_' "
                           f"and '-'")
    return fields


def _member_path(name: str) -> Optional[str]:
    """The entry's path inside the plugin folder, or None when it would land outside it."""
    if "\\" in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return None
    normal = posixpath.normpath(name)
    if normal == ".." or normal.startswith("../") or normal.startswith("/"):
        return None
    return normal


def install_plugin(store: Store, jar_bytes: bytes, plugins_root: str) -> Plugin:
    """Unpack a plugin jar to `<plugins_root>/<KEY-VERSION>/` and register it, not promoted.

    Installing a name that is already installed replaces it, like `installPlugin --force 1` [U].
    Nothing is written unless the whole jar is acceptable.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(jar_bytes))
    except zipfile.BadZipFile:
        raise _invalid("the plugin file is not a jar/zip archive") from None
    with archive:
        entries = archive.infolist()
        names = {e.filename for e in entries}
        if PLUGIN_XML not in names:
            raise _invalid(f"the jar has no {PLUGIN_XML}")
        fields = read_plugin_xml(archive.read(PLUGIN_XML))
        plugin = Plugin(key=fields["key"], version=fields["version"], label=fields["label"] or fields["key"],
                        description=fields["description"], author=fields["author"],
                        category=fields["category"])
        for entry in entries:
            if _member_path(entry.filename) is None:
                raise _invalid(f"jar entry '{entry.filename}' would be written outside the plugin folder")
        os.makedirs(plugins_root, exist_ok=True)
        target = os.path.join(plugins_root, plugin.name)
        staging = tempfile.mkdtemp(prefix=f".{plugin.name}.", dir=plugins_root)
        try:
            for entry in entries:
                path = os.path.join(staging, *_member_path(entry.filename).split("/"))  # type: ignore[union-attr]
                if entry.is_dir():
                    os.makedirs(path, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with archive.open(entry) as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    with store.lock:
        if os.path.exists(target):
            shutil.rmtree(target)
        os.replace(staging, target)
        plugin.plugin_dir = target
        store.plugins[plugin.name] = plugin
    return plugin


def uninstall_plugin(store: Store, plugin_name: str) -> None:
    """uninstallPlugin: the version, its project and its unpacked folder are gone; [U] the name may be
    the plugin's key (its promoted version), as every other plugin lookup allows."""
    with store.lock:
        plugin = store.plugin(plugin_name)
        del store.plugins[plugin.name]
        store.projects.pop(plugin.name, None)
        folder = plugin.plugin_dir
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------------------------------ promote


def _read_text(path: str, shown: str) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except UnicodeDecodeError:
        raise _invalid(f"{shown} is not UTF-8 text") from None


def _keep_extensions(store: Store, project_name: str) -> bool:
    """PDK plugins set ec_keepFilesExtensions=true, PluginWizard's promote false; our default strips [U]."""
    project = store.projects.get(project_name)
    prop = project.properties.get("ec_keepFilesExtensions") if project is not None else None
    return prop is not None and not prop.is_sheet and (prop.value or "").strip().lower() == "true"


def _property_ops(plugin_dir: str, project_name: str, keep_extension: bool) -> List[DslOp]:
    """dsl/properties/ mirrored into the plugin project: folders become sheets, files their text, named by
    plugin_layout's rule (the one the jar build and promote.groovy follow)."""
    ops: List[DslOp] = []

    def walk(folder: str, rel: str, prefix: str) -> None:
        for entry in sorted(os.listdir(folder)):  # [U] BasePlugin walks in file-system order
            if not is_promoted(entry):
                continue
            path = os.path.join(folder, entry)
            rel_path = f"{rel}/{entry}"
            is_dir = os.path.isdir(path)
            prop_path = f"{prefix}{property_name(entry, not is_dir, keep_extension)}"
            if is_dir:
                ops.append(DslOp("property", {"projectName": project_name, "propertyName": prop_path,
                                              "sheet": "1"}, f"{rel_path}:1"))
                walk(path, rel_path, prop_path + "/")
            else:
                ops.append(DslOp("property", {"projectName": project_name, "propertyName": prop_path,
                                              "value": _read_text(path, rel_path)}, f"{rel_path}:1"))

    root = os.path.join(plugin_dir, *PROPERTIES_DIR.split("/"))
    if os.path.isdir(root):
        walk(root, PROPERTIES_DIR, "")
    return ops


_REQUIRED = FORMAL_PARAMETER.field("required")


def _form_parameters(form_text: str, shown: str, project_name: str, procedure_name: str,
                     declared: set) -> List[DslOp]:
    """formalParameter ops from form.xml, mapped as BasePlugin.buildFormalParametersFromFormXml does."""
    try:
        root = ElementTree.fromstring(form_text)
    except ElementTree.ParseError as exc:
        raise _invalid(f"{shown} is not well-formed XML: {exc}") from None
    ops: List[DslOp] = []
    for element in root.findall("formElement"):

        def child(tag: str, element: ElementTree.Element = element) -> Optional[str]:
            found = element.find(tag)
            return None if found is None else (found.text or "").strip()

        name = child("property")
        if not name:
            raise _invalid(f"{shown}: a <formElement> has no <property> (the parameter name)")
        if name in declared:
            continue  # procedure.dsl declared it itself
        args: Dict[str, str] = {"projectName": project_name, "procedureName": procedure_name,
                                "formalParameterName": name}
        value = child("value")
        if value is not None:
            args["defaultValue"] = value
        required = child("required")
        if required:
            try:
                args["required"] = argument_text(_REQUIRED, required)
            except FieldValueError as exc:
                raise _invalid(f"{shown}: parameter '{name}': {exc.message}") from None
        if child("condition"):
            args["required"] = "0"  # a conditional field cannot be required (plugin-anatomy.md §4)
        for tag, arg in (("documentation", "description"), ("type", "type"), ("label", "label")):
            text = child(tag)
            if text is not None:
                args[arg] = text
        # [U] both spellings appear across BasePlugin versions; 'true' (or 1) defers expansion.
        deferred = child("expansionDeferred") or child("deferExpansion") or ""
        args["expansionDeferred"] = "1" if deferred.lower() in ("true", "1") else "0"
        ops.append(DslOp("formalParameter", args, f"{shown}:1"))
    return ops


PROMOTE_SCRIPT = "dsl/promote.groovy"
_PROCEDURE_STATEMENT = re.compile(r"^\s*procedure\s*[(\'\"]", re.MULTILINE)


def _refuse_promote_script_procedures(plugin: Plugin, plugin_dir: str) -> None:
    """A plugin with no dsl/procedures/<Name>/procedure.dsl whose promote.groovy declares procedures
    itself (PluginLite's layout): promotion reads the plugin's files instead of running promote.groovy,
    so it would make none of them. Refused in one line instead of promoted with no procedures."""
    path = os.path.join(plugin_dir, *PROMOTE_SCRIPT.split("/"))
    if not os.path.isfile(path):
        return
    text = _read_text(path, PROMOTE_SCRIPT)
    found = _PROCEDURE_STATEMENT.search(text)
    if found is not None:
        line = text.count("\n", 0, found.start()) + 1 + text[found.start():found.end()].count("\n")
        raise _invalid(f"plugin {plugin.name}: {PROMOTE_SCRIPT}:{line}: the promote script creates "
                       f"procedures itself (PluginLite style); the emulator does not run promote.groovy and "
                       f"promotes only procedures written as {PROCEDURES_DIR}/<Name>/procedure.dsl")


def _procedure_ops(store: Store, plugin: Plugin, plugin_dir: str) -> List[DslOp]:
    ops: List[DslOp] = []
    root = os.path.join(plugin_dir, *PROCEDURES_DIR.split("/"))
    if not os.path.isdir(root):
        _refuse_promote_script_procedures(plugin, plugin_dir)
        return ops
    for folder in sorted(os.listdir(root)):  # [U] BasePlugin walks in file-system order
        folder_path = os.path.join(root, folder)
        if not os.path.isdir(folder_path) or folder.lower().endswith("_ignore"):
            continue
        dsl_name = next((n for n in ("procedure.dsl", "procedure.groovy")
                         if os.path.isfile(os.path.join(folder_path, n))), None)
        if dsl_name is None:
            continue  # BasePlugin skips a folder without a procedure script
        shown = f"{PROCEDURES_DIR}/{folder}/{dsl_name}"
        binding = {"pluginName": plugin.name, "pluginKey": plugin.key, "pluginDir": plugin_dir,
                   "procName": folder}
        text = _read_text(os.path.join(folder_path, dsl_name), shown)
        procedure_ops = parse_dsl(text, shown, binding=binding, project_name=plugin.name,
                                  strip_indent=store.settings.strip_indent)
        ops.extend(procedure_ops)
        form_path = os.path.join(folder_path, "form.xml")
        if not os.path.isfile(form_path):
            continue
        form_shown = f"{PROCEDURES_DIR}/{folder}/form.xml"
        # The form belongs to the procedure the script returns: its last procedure.
        procedures = [op for op in procedure_ops if op.kind == "procedure"]
        if not procedures:
            raise _invalid(f"{form_shown}: {shown} defines no procedure to attach the form to")
        procedure_name = procedures[-1].args["procedureName"]
        declared = {op.args["formalParameterName"] for op in procedure_ops
                    if op.kind == "formalParameter" and op.args.get("procedureName") == procedure_name}
        form_text = _read_text(form_path, form_shown)
        ops.append(DslOp("property", {"projectName": plugin.name, "procedureName": procedure_name,
                                      "propertyName": "ec_parameterForm", "value": form_text},
                         f"{form_shown}:1"))
        ops.extend(_form_parameters(form_text, form_shown, plugin.name, procedure_name, declared))
    return ops


def promotion_ops(store: Store, plugin_name: str) -> List[DslOp]:
    """What promoting the plugin applies, in order: its project, the pluginDir/pluginKey/pluginName
    properties, dsl/properties/, then each dsl/procedures/<Proc>/procedure.dsl and its form.xml.

    A DSL error in the plugin surfaces as one CommanderError naming the file inside the jar and its line.
    """
    with store.lock:
        plugin = store.plugin(plugin_name)
        keep_extension = _keep_extensions(store, plugin.name)
    plugin_dir = plugin.plugin_dir
    if not plugin_dir or not os.path.isdir(plugin_dir):
        raise _invalid(f"plugin '{plugin.name}' has no unpacked folder; install it again")
    source = f"{PLUGIN_XML}:1"
    ops = [DslOp("project", {"projectName": plugin.name}, source)]
    for name, value in (("pluginDir", plugin_dir), ("pluginKey", plugin.key), ("pluginName", plugin.name)):
        ops.append(DslOp("property", {"projectName": plugin.name, "propertyName": name, "value": value},
                         source))
    ops.extend(_property_ops(plugin_dir, plugin.name, keep_extension))
    try:
        ops.extend(_procedure_ops(store, plugin, plugin_dir))
    except DslError as exc:
        # One error for the whole promotion: the plugin and where in its jar the DSL failed.
        raise CommanderError(exc.code, f"plugin {plugin.name}: {exc.message}", where=exc.where) from None
    return ops


def mark_promoted(store: Store, plugin_name: str, promote: bool = True) -> Plugin:
    """Flag the plugin promoted (demoting other versions of its key) or demoted.

    Once promoted, `/plugins/<key>/project` resolves to its project (via `Store.promoted_plugin`).
    """
    with store.lock:
        plugin = store.plugin(plugin_name)
        if not promote:
            plugin.promoted = False
            return plugin
        for other in store.plugins.values():
            if other.key == plugin.key and other is not plugin:
                other.promoted = False
        plugin.promoted = True
        store.ensure_project(plugin.name).plugin_key = plugin.key
        return plugin
