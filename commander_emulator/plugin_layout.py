"""How the files of a plugin's `dsl/properties/` folder become property names: one rule for all.

The emulator's promotion, the jar build (`devtools/package.py`) and the plugin's own `dsl/promote.groovy`
follow the same rule, so a name checked at build time is the name the server creates:

- a folder becomes a property sheet with the folder's name, dots and all (`a.b/` stays `a.b`);
- a file becomes a property named after the file, its last extension removed (`runCondition.js` becomes
  `runCondition`); a name whose only dot is its first character keeps it;
- entries whose names start with a dot are not promoted.

PDK-style plugins set `ec_keepFilesExtensions=true` on their project to keep extensions ([U] the default
of a plugin without that property; ours strips, as `promote.groovy` does).
"""

from __future__ import annotations

PROPERTIES_DIR = "dsl/properties"


def is_promoted(entry: str) -> bool:
    """Whether one folder or file name takes part in promotion (dot files do not)."""
    return bool(entry) and not entry.startswith(".")


def property_name(entry: str, is_file: bool, keep_extension: bool = False) -> str:
    """The property (or sheet) name of one folder or file name."""
    if not is_file or keep_extension:
        return entry
    dot = entry.rfind(".")
    return entry[:dot] if dot > 0 else entry


def property_path(relative_path: str, keep_extension: bool = False) -> str:
    """A file's path below dsl/properties/ (folders joined by '/') as the property path it becomes."""
    *folders, file_name = relative_path.split("/")
    return "/".join([*folders, property_name(file_name, True, keep_extension)])
