"""docs/ARCHITECTURE.md tells the truth: the paths it names exist, and the import rules it states hold."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

REPO = Path(__file__).resolve().parents[1]
ARCHITECTURE = REPO / "docs" / "ARCHITECTURE.md"
PACKAGES = {"ec_resume": REPO / "lib" / "ec_resume", "commander_emulator": REPO / "commander_emulator",
            "devtools": REPO / "devtools"}
MAX_LINES = 600
# What each package must not import (ARCHITECTURE.md, "What may import what").
FORBIDDEN = {"ec_resume": {"commander_emulator", "devtools"},
             "commander_emulator": {"ec_resume", "devtools"},
             "devtools": {"ec_resume"}}
PATH_SUFFIXES = (".py", ".md", ".xml", ".groovy", ".js", ".toml", ".txt", ".css", ".svg")


def named_paths(text: str) -> List[str]:
    """Backquoted words of the page (outside code blocks) that name a file or folder of the repository."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    top_level = {p.name for p in REPO.iterdir()}
    found = []
    for token in re.findall(r"`([^`\s<>]+)`", prose):
        first = token.split("/")[0]
        if first in top_level or (token.endswith(PATH_SUFFIXES) and "/" in token):
            found.append(token)
    return found


def test_the_readme_links_to_the_architecture_page() -> None:
    assert "docs/ARCHITECTURE.md" in (REPO / "README.md").read_text(encoding="utf-8")


def test_every_path_the_architecture_page_names_exists() -> None:
    paths = named_paths(ARCHITECTURE.read_text(encoding="utf-8"))
    assert len(paths) > 20, "the page names the modules it describes"
    missing = [p for p in paths if not (REPO / p).exists()]
    assert missing == [], f"docs/ARCHITECTURE.md names paths that do not exist: {missing}"


def test_the_path_check_catches_a_missing_path() -> None:
    assert named_paths("see `lib/ec_resume/nowhere.py` and `ROUTES`") == ["lib/ec_resume/nowhere.py"]


def _modules(package: str) -> Dict[str, Path]:
    root = PACKAGES[package]
    modules = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        modules[".".join([package, *parts])] = path
    return modules


def _imports(module: str, path: Path) -> Set[str]:
    """Absolute names of the modules `module` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_packages_import_only_what_the_architecture_allows(package: str) -> None:
    wrong = []
    for module, path in _modules(package).items():
        for name in _imports(module, path):
            if name.split(".")[0] in FORBIDDEN[package]:
                wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert wrong == []


def test_agent_code_uses_only_the_standard_library() -> None:
    stdlib = set(sys.stdlib_module_names)
    outside = []
    for module, path in _modules("ec_resume").items():
        for name in _imports(module, path):
            top = name.split(".")[0]
            if top not in stdlib and top not in ("ec_resume", "__future__"):
                outside.append(f"{path.relative_to(REPO)} imports {name}")
    assert outside == []


def _cycle(graph: Dict[str, Set[str]]) -> List[str]:
    """One import cycle of `graph` as a list of modules, or [] when there is none."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> List[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_circle(package: str) -> None:
    modules = _modules(package)
    graph = {m: {n for n in _imports(m, p) if n in modules and n != m} for m, p in modules.items()}
    # A package's __init__ is imported by each of its modules; an edge to it is not a circle of ours.
    graph = {m: {n for n in deps if not m.startswith(n + ".")} for m, deps in graph.items()}
    assert _cycle(graph) == []


@pytest.mark.parametrize("package", ["ec_resume", "commander_emulator"])
def test_no_module_is_longer_than_the_limit(package: str) -> None:
    long = {str(p.relative_to(REPO)): n for p in _modules(package).values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines (split them, or say why in docs/ARCHITECTURE.md)"
