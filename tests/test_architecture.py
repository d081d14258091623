"""Architecture rules: the core imports no Qt, and importing it does not load Keras."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dlstudio"
QT_MODULES = ("PySide6", "pyqtgraph", "superqt", "shiboken6", "PyQt5", "PyQt6", "qtpy")


# The launcher may start the GUI (lazily, inside main()); it holds no logic of its own.
LAUNCHER = PACKAGE / "__main__.py"


def core_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "qt" not in p.relative_to(PACKAGE).parts[:1])


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, nested ones included."""
    if source is None:
        source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            found.append((node.lineno, str(node.args[0].value)))
    return found


def test_there_is_a_core_to_check():
    names = {p.relative_to(PACKAGE).as_posix() for p in core_files()}
    assert {"graph/model.py", "compile/infer.py", "catalog/registry.py"} <= names
    assert not any(n.startswith("qt/") for n in names)


@pytest.mark.parametrize("path", core_files(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_core_module_imports_no_qt(path):
    bad = [
        f"line {line}: {module}" for line, module in imported_modules(path)
        if module.split(".")[0] in QT_MODULES
        or (path != LAUNCHER and (module == "dlstudio.qt" or module.startswith("dlstudio.qt.")))
    ]
    assert not bad, f"{path.relative_to(PACKAGE.parent)} imports Qt: {bad}"


def test_the_scanner_sees_nested_and_relative_imports():
    fake = PACKAGE / "graph" / "_scanner_probe.py"  # never written: the source is given
    source = ("def f():\n    from PySide6 import QtCore\n"
              "from ..qt import app\nimport importlib\nimportlib.import_module('superqt')\n")
    modules = [m for _, m in imported_modules(fake, source)]
    assert "PySide6" in modules and "dlstudio.qt" in modules and "superqt" in modules


def test_core_import_does_not_load_keras_or_qt():
    code = (
        "import sys, json\n"
        "import dlstudio.graph, dlstudio.catalog, dlstudio.compile\n"
        "heavy = ('tensorflow', 'keras', 'jax', 'torch', 'PySide6', 'pyqtgraph', 'superqt')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing the core loaded {loaded[:10]}"
