"""The package's layout rule: the method never imports the teaching aids (figures, widgets, notebook studies) nor
their libraries, so the algorithm runs, and reads, without them."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import cplib

PACKAGE = Path(cplib.__file__).parent
TEACHING_AIDS = frozenset({"plots", "widgets", "studies"})
UI_LIBRARIES = ("matplotlib", "ipywidgets", "IPython")
METHOD_MODULES = sorted(
    info.name for info in pkgutil.iter_modules([str(PACKAGE)]) if info.name not in TEACHING_AIDS | {"__main__"}
)
MAX_LINES = 400

IMPORT_WITHOUT_UI = """
import importlib, json, sys
for name in {libraries!r}:
    sys.modules[name] = None  # makes `import name` (and its submodules) raise ImportError
failures = {{}}
for module in {modules!r}:
    try:
        importlib.import_module("cplib." + module)
    except ImportError as error:
        failures[module] = str(error)
print(json.dumps(failures))
"""


def imported_names(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (inside functions too), relative imports as cplib.<name>."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = f"cplib.{node.module or ''}".rstrip(".") if node.level else node.module
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def forbidden(name: str) -> bool:
    """True for a UI library (or part of one) or a teaching-aid module."""
    parts = name.split(".")
    return parts[0] in UI_LIBRARIES or (parts[0] == "cplib" and len(parts) > 1 and parts[1] in TEACHING_AIDS)


def test_teaching_aids_exist_and_the_method_is_everything_else() -> None:
    modules = {info.name for info in pkgutil.iter_modules([str(PACKAGE)])}
    assert TEACHING_AIDS <= modules
    assert {"augment", "train", "localize", "evaluate", "detector"} <= set(METHOD_MODULES)


def test_method_modules_import_without_matplotlib_ipywidgets_or_ipython() -> None:
    code = IMPORT_WITHOUT_UI.format(libraries=UI_LIBRARIES, modules=METHOD_MODULES)
    environment = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}


def test_method_modules_never_import_ui_libraries_or_teaching_aids_even_lazily() -> None:
    found = {name: sorted(filter(forbidden, imported_names(PACKAGE / f"{name}.py"))) for name in METHOD_MODULES}
    assert {name: imports for name, imports in found.items() if imports} == {}


def test_forbidden_catches_ui_libraries_and_teaching_aids_only() -> None:
    assert forbidden("matplotlib.pyplot") and forbidden("IPython.display") and forbidden("ipywidgets")
    assert forbidden("cplib.plots") and forbidden("cplib.widgets.LocalizationBrowser")
    assert not forbidden("cplib.localize") and not forbidden("cplib") and not forbidden("torch")


def test_method_modules_read_in_one_pass() -> None:
    lengths = {name: len((PACKAGE / f"{name}.py").read_text().splitlines()) for name in METHOD_MODULES}
    assert {name: lines for name, lines in lengths.items() if lines > MAX_LINES} == {}
