"""The package's layout rule, in the order the layers build on each other: the method (every top-level module but
the others named here), the experiments (cplib.experiments: studies and their result files), the teaching aids
(figures, widgets, notebook studies), the command line. The method imports neither the experiments nor the teaching
aids, and no UI library; the experiments import no teaching aid, no UI library and not the command line; so the
algorithm runs, and reads, without what sits above it."""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import cplib
import cplib.experiments

PACKAGE = Path(cplib.__file__).parent
EXPERIMENTS_DIR = Path(cplib.experiments.__file__).parent
TEACHING_AIDS = frozenset({"plots", "widgets", "studies"})
COMMAND_LINE = frozenset({"cli", "__main__", "study_cli"})
UI_LIBRARIES = ("matplotlib", "ipywidgets", "IPython")
METHOD_MODULES = sorted(
    info.name
    for info in pkgutil.iter_modules([str(PACKAGE)])
    if not info.ispkg and info.name not in TEACHING_AIDS | COMMAND_LINE
)
EXPERIMENTS = sorted(info.name for info in pkgutil.iter_modules([str(EXPERIMENTS_DIR)]))
MAX_LINES = 400

IMPORT_WITHOUT_UI = """
import importlib, json, sys
for name in {libraries!r}:
    sys.modules[name] = None  # makes `import name` (and its submodules) raise ImportError
failures = {{}}
for module in {modules!r}:
    try:
        importlib.import_module(module)
    except ImportError as error:
        failures[module] = str(error)
print(json.dumps(failures))
"""


def source(module: str) -> Path:
    """The file of a dotted module of the package, e.g. "cplib.experiments.table1"."""
    return PACKAGE.parent.joinpath(*module.split(".")).with_suffix(".py")


def imported_names(module: str) -> set[str]:
    """Every module a module imports, anywhere in it (inside functions too), relative imports resolved to full names."""
    package = module.split(".")[:-1]
    names = set()
    for node in ast.walk(ast.parse(source(module).read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parent = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*parent, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def ui_or_teaching_aid(name: str) -> bool:
    """True for a UI library (or part of one) or a teaching aid: what the method and the experiments never import."""
    parts = name.split(".")
    return parts[0] in UI_LIBRARIES or (parts[0] == "cplib" and len(parts) > 1 and parts[1] in TEACHING_AIDS)


def above_the_experiments(name: str) -> bool:
    """True for what the experiments never import: a UI library, a teaching aid or the command line."""
    parts = name.split(".")
    return ui_or_teaching_aid(name) or (parts[0] == "cplib" and len(parts) > 1 and parts[1] in COMMAND_LINE)


def above_the_method(name: str) -> bool:
    """True for what the method never imports: what the experiments never import, and the experiments."""
    parts = name.split(".")
    return above_the_experiments(name) or (parts[0] == "cplib" and len(parts) > 1 and parts[1] == "experiments")


def offending(modules: list[str], rule) -> dict[str, list[str]]:
    """module -> the imports that break the rule, for the modules that break it."""
    found = {module: sorted(filter(rule, imported_names(module))) for module in modules}
    return {module: imports for module, imports in found.items() if imports}


def import_without_ui(modules: list[str]) -> dict[str, str]:
    """The modules that fail to import in a fresh interpreter where every UI library is missing: module -> error."""
    code = IMPORT_WITHOUT_UI.format(libraries=UI_LIBRARIES, modules=modules)
    environment = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_each_layer_holds_what_it_should() -> None:
    modules = {info.name for info in pkgutil.iter_modules([str(PACKAGE)])}
    assert TEACHING_AIDS | COMMAND_LINE <= modules and "experiments" in modules
    assert {"augment", "train", "localize", "evaluate", "detector"} <= set(METHOD_MODULES)
    studies = {"table1", "training_curve", "scale", "localization", "recipes", "grid", "launchers", "machines"}
    assert studies | {"results"} <= set(EXPERIMENTS)


def test_the_method_and_the_experiments_import_without_matplotlib_ipywidgets_or_ipython() -> None:
    modules = [f"cplib.{name}" for name in METHOD_MODULES] + [f"cplib.experiments.{name}" for name in EXPERIMENTS]
    assert import_without_ui(modules) == {}


def test_the_method_never_imports_experiments_teaching_aids_or_ui_libraries_even_lazily() -> None:
    assert offending([f"cplib.{name}" for name in METHOD_MODULES], above_the_method) == {}


def test_the_experiments_never_import_teaching_aids_ui_libraries_or_the_command_line_even_lazily() -> None:
    assert offending([f"cplib.experiments.{name}" for name in EXPERIMENTS], above_the_experiments) == {}


def test_relative_imports_resolve_from_the_importing_module_s_package() -> None:
    assert {"cplib.experiments.measurements", "cplib.checkpoint"} <= imported_names("cplib.experiments.table1")
    assert "cplib.experiments.table1" in imported_names("cplib.experiments.scale")
    assert "cplib.experiments.margins" in imported_names("cplib.plots")


def test_the_rules_catch_what_each_layer_must_not_import() -> None:
    for name in ("matplotlib.pyplot", "IPython.display", "ipywidgets", "cplib.plots", "cplib.widgets.Browser"):
        assert ui_or_teaching_aid(name) and above_the_experiments(name) and above_the_method(name), name
    for name in ("cplib.cli", "cplib.__main__"):
        assert not ui_or_teaching_aid(name) and above_the_experiments(name) and above_the_method(name), name
    for name in ("cplib.experiments", "cplib.experiments.table1"):
        assert not above_the_experiments(name) and above_the_method(name), name
    for name in ("cplib", "cplib.localize", "cplib.train", "torch"):
        assert not above_the_method(name), name


def code_lines(source: str) -> int:
    """Lines of a module outside its docstrings: the parameter sections may be long, the code may not."""
    documented = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    docstrings = [
        node.body[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, documented) and ast.get_docstring(node) is not None
    ]
    return len(source.splitlines()) - sum(doc.end_lineno - doc.lineno + 1 for doc in docstrings)


def test_code_lines_leave_out_docstrings_only() -> None:
    source = 'def f(x):\n    """One.\n\n    Two.\n    """\n    return x\n'
    assert code_lines(source) == 2 and code_lines(source.replace('"""One.', '"""One.\n    More.')) == 2


def test_method_and_experiment_modules_read_in_one_pass() -> None:
    files = [PACKAGE / f"{name}.py" for name in METHOD_MODULES]
    files += [EXPERIMENTS_DIR / f"{name}.py" for name in EXPERIMENTS]
    lengths = {file.name: code_lines(file.read_text()) for file in files}
    assert {name: lines for name, lines in lengths.items() if lines > MAX_LINES} == {}
