"""What the README promises about Python versions and packages holds for the pins and the package."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Set

import tomllib
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]


def _pins() -> Dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip()] = version.strip()
    return pins


def _build_py_minimum() -> Version:
    tree = ast.parse((REPO / "build.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "MIN_PYTHON" for t in node.targets):
            return Version(".".join(str(part) for part in ast.literal_eval(node.value)))
    raise AssertionError("build.py defines no MIN_PYTHON")


def test_the_readme_claims_the_python_that_build_py_checks() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    claimed = re.search(r"Both need only Python (\d+\.\d+)\+", readme)
    assert claimed, "the quick start names the Python its two commands need"
    assert Version(claimed.group(1)) == _build_py_minimum()


def test_every_pin_installs_on_the_claimed_python_and_one_needs_it() -> None:
    minimum = _build_py_minimum()
    needs: Dict[str, str] = {}
    for name, version in _pins().items():
        dist = importlib.metadata.distribution(name)
        assert dist.version == version, f"{name}: .venv has {dist.version}, requirements.txt pins {version}"
        needs[name] = dist.metadata.get("Requires-Python") or ""
    refused = {name: spec for name, spec in needs.items() if spec and minimum not in SpecifierSet(spec)}
    assert refused == {}, f"pins that do not install on Python {minimum}"
    # The claim is the oldest that works: some pin refuses the minor version before it.
    older = Version(f"{minimum.major}.{minimum.minor - 1}")
    assert any(spec and older not in SpecifierSet(spec) for spec in needs.values()), (
        f"every pin installs on Python {older}: the README could promise less")


def _third_party_imports(package: Path) -> Set[str]:
    names: Set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("__future__", package.name)}


def test_the_emulator_extra_brings_what_the_emulator_imports() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = {Requirement(r).name for r in project["optional-dependencies"]["emulator"]}
    assert extra == _third_party_imports(REPO / "commander_emulator")
    assert project["dependencies"] == []  # ec-resume itself is standard library only
    assert _third_party_imports(REPO / "lib" / "ec_resume") == set()


def test_the_emulator_without_its_extra_says_what_to_install(tmp_path: Path) -> None:
    # -S: no site-packages, as in a plain `pip install .` without the extra.
    code = (f"import runpy, sys; sys.path.insert(0, {str(REPO)!r}); sys.argv = ['commander_emulator']; "
            "runpy.run_module('commander_emulator', run_name='__main__', alter_sys=True)")
    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m commander_emulator: werkzeug is not installed: run pip install 'ec-resume[emulator]' "
        "(or python3 build.py serve in a checkout)"]
