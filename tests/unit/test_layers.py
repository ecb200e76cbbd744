"""The layering of DESIGN.md section 5 holds: import-linter's contracts are kept, they say
what the design says (the interfaces call services only; every module is in a layer), and
they catch an interface reaching below services (checked on a copy with one such import)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the code and pyproject.toml found at ``root``."""
    linter = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(linter), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_import_contracts_are_kept() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return found


def layers() -> set[str]:
    (layered,) = [c for c in contracts() if c["type"] == "layers"]
    return {module.strip() for layer in layered["layers"] for module in layer.split("|")}


def test_every_module_of_nodepipe_is_in_a_layer() -> None:
    top = {
        f"nodepipe.{path.stem}"
        for path in (ROOT / "src" / "nodepipe").iterdir()
        if (path.is_dir() and (path / "__init__.py").is_file())
        or (path.suffix == ".py" and path.stem != "__init__")
    }
    assert top <= layers(), f"outside every layer: {sorted(top - layers())}"


def test_the_python_api_module_imports_only_domain_and_services() -> None:
    """``nodepipe/__init__.py`` is the Python API, an interface like the CLI: import-linter
    cannot make the root package a layer, so this test keeps it one."""
    tree = ast.parse((ROOT / "src" / "nodepipe" / "__init__.py").read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nodepipe")
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("nodepipe")
    }
    assert imported, "the Python API imports something of nodepipe"
    allowed = ("nodepipe.domain.", "nodepipe.services.")
    assert all(name.startswith(allowed) for name in imported), imported


INTERFACES_MAY_NOT_IMPORT = [
    "nodepipe.execution",
    "nodepipe.bundles",
    "nodepipe.packaging",
    "nodepipe.envs",
    "nodepipe.store",
    "nodepipe.workspace",
    "nodepipe.runtime",
]


def test_the_interfaces_contract_forbids_every_layer_below_services() -> None:
    (interfaces,) = [c for c in contracts() if set(c.get("source_modules", ())) == {
        "nodepipe.cli", "nodepipe.api"
    }]  # fmt: skip
    assert interfaces["type"] == "forbidden"
    assert sorted(interfaces["forbidden_modules"]) == sorted(INTERFACES_MAY_NOT_IMPORT)


@pytest.mark.parametrize(
    ("module", "offending"),
    [
        ("cli/runs.py", "nodepipe.execution.plan"),
        ("api/routes/environments.py", "nodepipe.workspace.path_trust"),
    ],
)
def test_an_interface_importing_below_services_breaks_the_contracts(
    tmp_path: Path, module: str, offending: str
) -> None:
    """The contracts are checked on a copy of the code with one offending import added."""
    shutil.copytree(
        ROOT / "src" / "nodepipe",
        tmp_path / "nodepipe",
        ignore=shutil.ignore_patterns("__pycache__", "static"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    source = tmp_path / "nodepipe" / module
    source.write_text(source.read_text() + f"\nimport {offending}  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0, result.stdout
    importer = "nodepipe." + module.removesuffix(".py").replace("/", ".")
    assert f"{importer} -> {offending}" in result.stdout
