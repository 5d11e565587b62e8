"""The house rules, checked: a Qt-free core, and QtWebEngine only in ui/web."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mailcatcher_gui"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_import_linter_contracts_hold():
    """``lint-imports`` reads the contracts from pyproject.toml: core is Qt-free,
    the pytest plugin is Qt-free, and the layers cli -> app -> ui -> core only
    import downwards."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "core is Qt-free KEPT" in result.stdout
    assert "layers: entry points (cli, launch, then app) -> ui -> core KEPT" in result.stdout
    assert "the pytest plugin is Qt-free KEPT" in result.stdout
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_only_ui_web_imports_qtwebengine():
    web = PACKAGE / "ui" / "web"
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if web in path.parents:
            continue
        if any("QtWebEngine" in name for name in _imported_modules(path)):
            offenders.append(str(path.relative_to(PACKAGE.parent)))
    assert offenders == []


def test_the_web_package_really_uses_qtwebengine():
    """Guards the check above against passing vacuously."""
    used = set()
    for path in (PACKAGE / "ui" / "web").rglob("*.py"):
        used |= _imported_modules(path)
    assert any("QtWebEngine" in name for name in used)
