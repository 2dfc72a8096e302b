"""Project hygiene: environment.yml and constraints.txt match pyproject.toml, notebooks are committed stripped and named NN_topic."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
NOTEBOOK_NAME = re.compile(r"\d{2}_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb")
CONDA_TO_PIP = {"pytorch": "torch"}
REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)")


def requirements(lines: list[str]) -> dict[str, str]:
    """Package name (pip spelling, normalised) → version specifier, for pip or conda lines like 'pytorch>=2.2'."""
    parsed = {}
    for line in lines:
        name, spec = REQUIREMENT.fullmatch(line.strip()).groups()
        name = re.sub(r"[-_.]+", "-", name.lower())
        parsed[CONDA_TO_PIP.get(name, name)] = spec.replace(" ", "")
    return parsed


def pyproject_requirements(extras: tuple[str, ...] = ("dev",)) -> dict[str, str]:
    """The dependencies and the named extras of pyproject.toml, with their lower bounds."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    return requirements(project["dependencies"] + [line for extra in extras for line in optional[extra]])


def constraints() -> dict[str, str]:
    """constraints.txt, the exact tested set: name → '==version'."""
    lines = (REPO / "constraints.txt").read_text().splitlines()
    return requirements([line for line in lines if line.strip() and not line.startswith("#")])


def conda_requirements(environment: dict) -> dict[str, str]:
    """The conda packages of environment.yml other than python and pip, in pip spelling."""
    return requirements([d for d in environment["dependencies"] if isinstance(d, str) and d != "pip" and not d.startswith("python=")])


def unmet_bounds(wanted: dict[str, str], pinned: dict[str, str]) -> dict[str, str | None]:
    """The wanted packages that the pins leave out or pin outside their specifier: name → pin (None when missing)."""
    return {name: pinned.get(name) for name, spec in wanted.items() if name not in pinned or pinned[name].removeprefix("==") not in SpecifierSet(spec)}


def unstripped_cells(notebook: dict) -> list[str]:
    """The code cells of a notebook that still carry outputs or an execution count, as 'cell N'."""
    code = [(i, cell) for i, cell in enumerate(notebook.get("cells", [])) if cell.get("cell_type") == "code"]
    return [f"cell {i}" for i, cell in code if cell.get("outputs") or cell.get("execution_count") is not None]


@pytest.fixture
def environment() -> dict:
    """environment.yml, parsed."""
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with jupyterlab (the dev extra)")
    return yaml.safe_load((REPO / "environment.yml").read_text())


def test_environment_names_the_packages_of_pyproject(environment: dict) -> None:
    assert sorted(conda_requirements(environment)) == sorted(pyproject_requirements())


def test_environment_pins_the_versions_of_constraints(environment: dict) -> None:
    conda, pinned = conda_requirements(environment), constraints()
    assert conda == {name: pinned.get(name) for name in conda}


def test_constraints_pin_every_exact_version_within_the_bounds_of_pyproject() -> None:
    pinned = constraints()
    assert all(spec.startswith("==") for spec in pinned.values())
    assert unmet_bounds(pyproject_requirements(("dev", "cluster")), pinned) == {}


def test_make_installs_the_extras_that_the_constraints_pin() -> None:
    assert '-e ".[dev,cluster]"' in (REPO / "Makefile").read_text()


def test_unmet_bounds_finds_missing_and_too_old_pins() -> None:
    wanted = {"torch": ">=2.2", "numpy": ">=1.24", "tqdm": ">=4.65"}
    assert unmet_bounds(wanted, {"torch": "==2.1.0", "numpy": "==2.4.6"}) == {"torch": "==2.1.0", "tqdm": None}


def test_environment_is_conda_forge_python_311_and_installs_cplib_editable(environment: dict) -> None:
    assert environment["channels"] == ["conda-forge", "nodefaults"]
    assert "python=3.11" in environment["dependencies"]
    assert "pip" in environment["dependencies"]
    assert {"pip": ["-e ."]} in environment["dependencies"]


def test_requirements_parser_maps_conda_names() -> None:
    assert requirements(["pytorch>=2.2", "Pillow >= 9.5", "tqdm", "jupyter_client==8.10.0"]) == {
        "torch": ">=2.2",
        "pillow": ">=9.5",
        "tqdm": "",
        "jupyter-client": "==8.10.0",
    }


def test_committed_notebooks_are_stripped() -> None:
    dirty = {path.name: unstripped_cells(json.loads(path.read_text())) for path in NOTEBOOKS}
    assert {name: cells for name, cells in dirty.items() if cells} == {}, "strip outputs: jupyter nbconvert --clear-output --inplace"


def test_stripped_check_catches_outputs_and_execution_counts(tmp_path: Path) -> None:
    printed = {"output_type": "stream", "name": "stdout", "text": ["2\n"]}
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": ["1 + 1"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 3, "outputs": [], "source": ["x = 1"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [printed], "source": ["print(2)"]},
    ]
    path = tmp_path / "01_dirty.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert unstripped_cells(json.loads(path.read_text())) == ["cell 2", "cell 3"]
    assert unstripped_cells({"cells": cells[:2]}) == []


def test_notebooks_are_named_number_underscore_topic() -> None:
    assert [path.name for path in NOTEBOOKS if not NOTEBOOK_NAME.fullmatch(path.name)] == []


@pytest.mark.parametrize("name", ["01_cutpaste.ipynb", "12_pixel_maps.ipynb"])
def test_notebook_name_rule_accepts(name: str) -> None:
    assert NOTEBOOK_NAME.fullmatch(name)


@pytest.mark.parametrize("name", ["1_intro.ipynb", "01-intro.ipynb", "01_Intro.ipynb", "intro.ipynb", "01_.ipynb"])
def test_notebook_name_rule_rejects(name: str) -> None:
    assert not NOTEBOOK_NAME.fullmatch(name)


def imported_cplib_modules(notebook: dict) -> set[str]:
    """cplib modules a notebook's code cells import (`from cplib.x import ...` and `from cplib import x`)."""
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    named = re.findall(r"^\s*from cplib\.(\w+) import", code, re.MULTILINE)
    bare = [name.strip() for names in re.findall(r"^\s*from cplib import ([\w, ]+)", code, re.MULTILINE) for name in names.split(",")]
    return {f"cplib.{name}" for name in named + bare}


def test_each_notebook_opening_names_the_cplib_modules_it_imports() -> None:
    missing = {}
    for path in NOTEBOOKS:
        notebook = json.loads(path.read_text())
        opening = "".join(notebook["cells"][0]["source"])
        named = set(re.findall(r"`(cplib\.\w+)", opening.split("Uses:", 1)[-1])) if "Uses:" in opening else set()
        if lacking := imported_cplib_modules(notebook) - named:
            missing[path.name] = sorted(lacking)
    assert missing == {}, "add these to the notebook's 'Uses:' line"


@pytest.mark.parametrize("result", sorted((REPO / "bench" / "results").glob("*.md")), ids=lambda path: path.name)
def test_the_readme_pastes_each_committed_result_table_unchanged(result: Path) -> None:
    """Every table a bench command committed appears verbatim in the README, so the README cannot drift from the outputs."""
    tables = re.findall(r"(?:^\|.*\n?)+", result.read_text(), re.M)
    readme = (REPO / "README.md").read_text()
    assert tables and all(table.strip() in readme for table in tables), f"paste {result.name} into the README again"
