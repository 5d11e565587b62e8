"""The command line's shape: no import cycle with the window, no Qt, small modules.

``app.py`` and the CLI used to import each other (the window took its
defaults from ``cli.py``; ``cli.py`` imported ``app.run_gui``). Now the
defaults live in ``core.options``; the CLI reaches the window only by name,
at run time, for the ``gui`` command.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mailcatcher_gui

PACKAGE = Path(mailcatcher_gui.__file__).parent
CLI = PACKAGE / "cli"


def _imports(path: Path) -> set[str]:
    """Every module a file imports statically (relative imports resolved)."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_cli_never_imports_the_window_or_qt():
    files = sorted(CLI.glob("*.py"))
    assert {f.stem for f in files} >= {"__init__", "serve", "messages", "send", "gui"}
    for f in files:
        bad = {
            name
            for name in _imports(f)
            if name.startswith(("mailcatcher_gui.app", "mailcatcher_gui.ui", "PySide6", "qasync"))
        }
        assert not bad, f"{f.name} imports {bad}"


def test_the_window_does_not_import_the_cli():
    for f in [PACKAGE / "app.py", *sorted((PACKAGE / "ui").rglob("*.py"))]:
        bad = {name for name in _imports(f) if name.startswith("mailcatcher_gui.cli")}
        assert not bad, f"{f.relative_to(PACKAGE)} imports {bad}"
    # The positive control: the helper does see relative imports.
    assert "mailcatcher_gui.core.options" in _imports(CLI / "serve.py")


def test_importing_the_cli_loads_no_qt():
    code = (
        "import sys, mailcatcher_gui.cli as c; c.build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'qasync') or m.startswith('mailcatcher_gui.app')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_cli_modules_stay_small():
    for f in CLI.glob("*.py"):
        assert len(f.read_text().splitlines()) <= 500, f.name
