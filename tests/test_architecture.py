"""Architecture rules: the core imports no Qt, importing it does not load Keras, imports go
down the layers only (:data:`LAYERS`), only the launcher and the command line import
``dlstudio.cli``, no module imports another's private names, and no module is over
:data:`MAX_LINES` lines."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dlstudio"
QT_MODULES = ("PySide6", "pyqtgraph", "superqt", "shiboken6", "PyQt5", "PyQt6", "qtpy")


# The launcher may start the GUI (lazily, inside main()); it holds no logic of its own.
LAUNCHER = PACKAGE / "__main__.py"


def core_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "qt" not in p.relative_to(PACKAGE).parts[:1])


def import_nodes(path: Path, source: str | None = None) -> list[tuple[ast.AST, str]]:
    """(statement, absolute module name) of every import in a file, nested ones included:
    ``import``, ``from ... import`` (relative ones resolved) and ``importlib.import_module``."""
    if source is None:
        source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node, module))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            found.append((node, str(node.args[0].value)))
    return found


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, nested ones included."""
    return [(node.lineno, module) for node, module in import_nodes(path, source)]


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


# ------------------------------------------------------------------ layers

#: The layers of the package, lowest first. A module may import modules of its own layer and of
#: the layers below it, never of a layer above; imports inside functions count too (heavy
#: modules are imported lazily), and so do relative and ``importlib`` imports.
LAYERS: tuple[tuple[str, ...], ...] = (
    # the package root (RESOURCES, __version__), the one error base, the Keras backend module,
    # the bounded-reading checks, the one file writer and the cache folder: they import nothing of
    # ours but errors, so everything may import them
    ("dlstudio", "dlstudio.errors", "dlstudio.backend", "dlstudio.bounded", "dlstudio.atomic",
     "dlstudio.cache"),
    ("dlstudio.graph",),
    ("dlstudio.catalog",),
    ("dlstudio.compile",),
    # the .dlsproj format holds graphs and their layers' parameters (graph, catalog) and the settings;
    # the gallery lists the example project files; neither runs or loads data
    ("dlstudio.project", "dlstudio.gallery"),
    ("dlstudio.data",),
    # a built model applied to inputs: input gradients, the FGSM / PGD primitives, text
    # generation, forecasts; used by training's live views and adversarial training and by insight
    ("dlstudio.inference",),
    ("dlstudio.runs", "dlstudio.training"),
    ("dlstudio.insight", "dlstudio.gan", "dlstudio.export", "dlstudio.search"),
    ("dlstudio.cli", "dlstudio.qt"),
    # the launcher: the GUI without arguments, the command line with them
    ("dlstudio.__main__",),
)
#: Imports that stay forbidden inside one layer: (importer, imported).
SAME_LAYER_FORBIDDEN = (
    ("dlstudio.runs", "dlstudio.training"),  # training uses runs (records, weights), never the other way
    ("dlstudio.qt", "dlstudio.cli"),  # the GUI and the command line share the core, not each other
)
CLI = "dlstudio.cli"
REPO = PACKAGE.parent


def all_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(REPO).with_suffix("").parts)
    return name.removesuffix(".__init__")


def is_module(name: str) -> bool:
    """Whether ``name`` (dotted) is one of our modules or packages."""
    base = REPO.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer_of(module: str) -> tuple[int, str] | None:
    """(rank, key) of the layer that holds ``module`` (its longest matching key)."""
    best = None
    for rank, keys in enumerate(LAYERS):
        for key in keys:
            if in_package(module, key) and (best is None or len(key) > len(best[1])):
                best = (rank, key)
    return best


@dataclass(frozen=True)
class OurImport:
    line: int
    module: str  # the dlstudio module imported (for ``from P import m``: P.m when m is a module)
    names: tuple[str, ...]  # the names a ``from`` import takes ("" for a module itself)
    text: str  # the statement, for messages


def our_imports(path: Path, source: str | None = None) -> list[OurImport]:
    """Every import of a dlstudio module in a file, nested ones included."""
    found = []
    for node, module in import_nodes(path, source):
        if not in_package(module, "dlstudio"):
            continue
        text = ast.unparse(node)
        if isinstance(node, ast.ImportFrom):
            submodules = [a.name for a in node.names if is_module(f"{module}.{a.name}")]
            found += [OurImport(node.lineno, f"{module}.{name}", (), text) for name in submodules]
            names = tuple(a.name for a in node.names if a.name not in submodules)
            if names:
                found.append(OurImport(node.lineno, module, names, text))
        else:
            found.append(OurImport(node.lineno, module, (), text))
    return found


def _where(path: Path, item: OurImport) -> str:
    return f"{path.relative_to(REPO).as_posix()}:{item.line}: {item.text}"


def test_every_package_and_module_has_a_layer():
    tops = {module_name(p) for p in PACKAGE.glob("*.py")}
    tops |= {module_name(p.parent) for p in PACKAGE.glob("*/__init__.py")}
    keys = {key for keys in LAYERS for key in keys}
    assert sorted(tops - keys) == [], "place these in LAYERS (tests/test_architecture.py)"


def test_imports_point_down_the_layers():
    bad = []
    for path in all_files():
        me = module_name(path)
        mine = layer_of(me)
        for item in our_imports(path):
            theirs = layer_of(item.module)
            if theirs is None:
                bad.append(f"{_where(path, item)}  ({item.module} is in no layer)")
            elif theirs[0] > mine[0]:
                bad.append(f"{_where(path, item)}  ({mine[1]} imports {theirs[1]}, a higher layer)")
            elif any(in_package(me, a) and in_package(item.module, b) for a, b in SAME_LAYER_FORBIDDEN):
                bad.append(f"{_where(path, item)}  ({mine[1]} must not import {theirs[1]})")
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_no_core_module_imports_the_cli():
    bad = [_where(path, item) for path in all_files()
           if not in_package(module_name(path), CLI) and path != LAUNCHER
           for item in our_imports(path) if in_package(item.module, CLI)]
    assert not bad, "only dlstudio/cli and the launcher import dlstudio.cli:\n" + "\n".join(bad)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(path: Path, source: str | None = None) -> list[str]:
    """``from dlstudio.x import _y``, and ``m._y`` on a dlstudio module ``m`` this file imported,
    where x / m is another module than this file's own."""
    if source is None:
        source = path.read_text(encoding="utf-8")
    me = module_name(path)
    bad, bound = [], {}  # bound: local name -> our module it names
    for item in our_imports(path, source):
        if item.module != me:
            bad += [f"{_where(path, item)}  (private name {n})" for n in item.names if is_private(n)]
    for node, module in import_nodes(path, source):
        if isinstance(node, ast.Import):
            bound.update({a.asname: a.name for a in node.names if a.asname and in_package(a.name, "dlstudio")})
        elif isinstance(node, ast.ImportFrom) and in_package(module, "dlstudio"):
            bound.update({a.asname or a.name: f"{module}.{a.name}" for a in node.names
                          if is_module(f"{module}.{a.name}")})
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and is_private(node.attr)
                and bound.get(node.value.id, me) != me):
            bad.append(f"{path.relative_to(REPO).as_posix()}:{node.lineno}: {ast.unparse(node)}  "
                       f"(private name of {bound[node.value.id]})")
    return bad


def test_no_module_imports_another_modules_private_names():
    bad = [line for path in all_files() for line in private_uses(path)]
    assert not bad, "make what is shared public in its one home:\n" + "\n".join(bad)


def test_the_layer_scanner_sees_nested_relative_and_module_imports():
    fake = PACKAGE / "training" / "_layer_probe.py"  # never written: the source is given
    source = ("def f():\n    from dlstudio.insight.attacks import fgsm\n"
              "from ..runs import store as s\nfrom dlstudio import gallery, RESOURCES\n"
              "from dlstudio.data.grid import _font\nx = s._private\n"
              "import importlib\nimportlib.import_module('dlstudio.qt.app')\n")
    found = {(i.line, i.module, i.names) for i in our_imports(fake, source)}
    assert {(2, "dlstudio.insight.attacks", ("fgsm",)), (3, "dlstudio.runs.store", ()),
            (4, "dlstudio.gallery", ()), (4, "dlstudio", ("RESOURCES",)),
            (8, "dlstudio.qt.app", ())} <= found
    assert layer_of("dlstudio.insight.attacks")[0] > layer_of(module_name(fake))[0]
    assert layer_of("dlstudio.runs.store")[0] == layer_of("dlstudio.training.engine")[0]
    private = private_uses(fake, source)
    assert len(private) == 2 and "_font" in private[0] and "s._private" in private[1]


# ------------------------------------------------------------------ size

#: Files of a few hundred lines: a module that grows past this holds a second idea; split it
#: along that seam (a panel's mixin, as training_status.py is of the training panel, or a module
#: of functions), not at an arbitrary line.
MAX_LINES = 600


def test_no_module_is_over_max_lines():
    long = {}
    for path in all_files():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            long[path.relative_to(REPO).as_posix()] = n
    assert not long, f"over {MAX_LINES} lines, split along a seam: " + ", ".join(
        f"{name} ({n})" for name, n in sorted(long.items()))


def test_test_modules_have_unique_names():
    """pytest imports test modules by their file name (no packages): two files of one name
    stop the whole run at collection."""
    tests = Path(__file__).resolve().parent
    seen: dict[str, Path] = {}
    for path in sorted(tests.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        assert path.name not in seen or path.name in ("conftest.py", "__init__.py"), (
            f"{path.relative_to(tests)} has the name of {seen[path.name].relative_to(tests)}")
        seen.setdefault(path.name, path)
