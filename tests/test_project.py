"""Project hygiene: environment.yml and constraints.txt match pyproject.toml, notebooks are committed stripped and
named NN_topic, notebooks and bench scripts read every test image, the README fits on one screen, the results page
pastes the committed tables, and every relative link resolves."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
BENCH_SCRIPTS = sorted((REPO / "bench").glob("*.py"))
DEFAULTS = (("masks", True), ("keep_unmasked", False))  # load_split's, for a call that leaves them out
READS_LEFT = {  # files whose test-split reads leave out defective images without a mask: what those images feed
    "04_three_way.ipynb": "the proxy task's confusion matrix on the good test images",
    "06_localization.ipynb": "GradCAM's maps at the image model's size, scored against the patch model's test set",
    "07_tsne.ipynb": "the real anomalies of the t-SNE and the kNN measures",
    "machine_spread.py": "notebook 07's kNN measures, read as notebook 07 reads them",
}
README = REPO / "README.md"
README_BYTES = 8 * 1024  # one screen
RESULTS_PAGE = REPO / "docs" / "results.md"
PACKAGES = {"cplib", "cplib.experiments"}  # `from PACKAGE import name` imports the module PACKAGE.name
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
    return requirements(
        [d for d in environment["dependencies"] if isinstance(d, str) and d != "pip" and not d.startswith("python=")]
    )


def unmet_bounds(wanted: dict[str, str], pinned: dict[str, str]) -> dict[str, str | None]:
    """The wanted packages that the pins leave out or pin outside their specifier: name → pin (None when missing)."""
    return {
        name: pinned.get(name)
        for name, spec in wanted.items()
        if name not in pinned or pinned[name].removeprefix("==") not in SpecifierSet(spec)
    }


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
    assert {name: cells for name, cells in dirty.items() if cells} == {}, (
        "strip outputs: jupyter nbconvert --clear-output --inplace"
    )


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


def code_of(path: Path) -> str:
    """A bench script's source, or a notebook's code cells joined."""
    if path.suffix != ".ipynb":
        return path.read_text()
    return "\n".join(
        "".join(cell["source"]) for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"
    )


def reads_leaving_out_unmasked(code: str) -> list[str]:
    """The load_split calls in code that read a test split with masks (the default) and without keep_unmasked: they
    leave out defective images without a mask, so an image metric on them rests on a subset of the test set that
    `python -m cplib evaluate` scores. A split named by a loop over literals (`for split in ("train", "test")`)
    counts."""
    tree = ast.parse(code)
    looped = defaultdict(set)
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.target, ast.Name):
            literals = node.iter.elts if isinstance(node.iter, (ast.Tuple, ast.List)) else []
            looped[node.target.id] |= {item.value for item in literals if isinstance(item, ast.Constant)}
    found = []
    for call in ast.walk(tree):
        function = getattr(call, "func", None)
        if not isinstance(call, ast.Call) or getattr(function, "id", getattr(function, "attr", None)) != "load_split":
            continue
        given = dict(zip(("root", "category", "split", "size", "masks", "keep_unmasked"), call.args))
        given |= {keyword.arg: keyword.value for keyword in call.keywords}
        split = given.get("split")
        splits = {split.value} if isinstance(split, ast.Constant) else looped[getattr(split, "id", None)]
        masks, keep_unmasked = (getattr(given.get(name), "value", default) for name, default in DEFAULTS)
        if "test" in splits and masks is not False and keep_unmasked is not True:
            found.append((call.lineno, call.col_offset, ast.get_source_segment(code, call)))
    return [segment for *_, segment in sorted(found)]


def test_the_test_set_check_finds_the_reads_that_leave_unmasked_images_out() -> None:
    code = (
        'test = load_split(root, c, "test", 64)\n'
        'train, held = (load_split(root, c, split, 64) for split in ("train", "test"))\n'
        'fine = load_split(root, c, "test", 64, masks=False), load_split(root, c, split="test", keep_unmasked=True)\n'
        'train = cplib.load_split(root, c, "train", 64), load_split(root, c, "test", 64, False)\n'
        'pixels = cplib.data.load_split(root, c, size=64, split="test", masks=True)\n'
    )
    assert reads_leaving_out_unmasked(code) == [
        'load_split(root, c, "test", 64)',
        "load_split(root, c, split, 64)",
        'cplib.data.load_split(root, c, size=64, split="test", masks=True)',
    ]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            path,
            id=path.name,
            marks=pytest.mark.xfail(strict=True, reason=f"leaves them out of {READS_LEFT[path.name]}"),
        )
        if path.name in READS_LEFT
        else pytest.param(path, id=path.name)
        for path in NOTEBOOKS + BENCH_SCRIPTS
    ],
)
def test_notebooks_and_bench_scripts_read_every_test_image(path: Path) -> None:
    """One test set for every path: masks=False for image metrics, keep_unmasked=True (and Split.annotated) for pixel
    ones, as the command line and evaluate_category read it."""
    assert reads_leaving_out_unmasked(code_of(path)) == []


def imported_cplib_modules(notebook: dict) -> set[str]:
    """cplib modules a notebook's code cells import (`from cplib.x.y import ...`, and `from cplib import x` or
    `from cplib.experiments import x` for the modules of a package)."""
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    modules = set()
    for module, names in re.findall(r"^\s*from (cplib(?:\.\w+)*) import \(?([\w, ]+)", code, re.MULTILINE):
        if module in PACKAGES:
            modules.update(f"{module}.{name.strip()}" for name in names.split(",") if name.strip())
        else:
            modules.add(module)
    return modules


def named_modules(opening: str) -> set[str]:
    """The modules a notebook's opening names after "Uses:", with every package above them (`cplib.experiments.table1`
    names cplib.experiments too)."""
    named = re.findall(r"`(cplib(?:\.\w+)+)", opening.split("Uses:", 1)[-1]) if "Uses:" in opening else []
    return {".".join(name.split(".")[:end]) for name in named for end in range(2, name.count(".") + 2)}


def test_imported_and_named_modules_read_dotted_names_and_packages() -> None:
    cells = [
        "from cplib import data, paper\nfrom cplib.experiments.table1 import seeded_results\n",
        "from cplib.experiments import margins\nfrom cplib.plots import (auroc_bars,\n    save_figure)\n",
    ]
    notebook = {"cells": [{"cell_type": "code", "source": [cell]} for cell in cells]}
    assert imported_cplib_modules(notebook) == {
        "cplib.data",
        "cplib.paper",
        "cplib.experiments.table1",
        "cplib.experiments.margins",
        "cplib.plots",
    }
    opening = "What you learn. Uses: `cplib.data`, `cplib.experiments.table1.seeded_results`, `cplib.plots`."
    assert named_modules(opening) == {
        "cplib.data",
        "cplib.experiments",
        "cplib.experiments.table1",
        "cplib.experiments.table1.seeded_results",
        "cplib.plots",
    }


def test_each_notebook_opening_names_the_cplib_modules_it_imports() -> None:
    missing = {}
    for path in NOTEBOOKS:
        notebook = json.loads(path.read_text())
        opening = "".join(notebook["cells"][0]["source"])
        if lacking := imported_cplib_modules(notebook) - named_modules(opening):
            missing[path.name] = sorted(lacking)
    assert missing == {}, "add these to the notebook's 'Uses:' line"


@pytest.mark.parametrize("result", sorted((REPO / "bench" / "results").glob("*.md")), ids=lambda path: path.name)
def test_the_results_page_pastes_each_committed_result_table_unchanged(result: Path) -> None:
    """Every table a bench command committed appears verbatim in docs/results.md: the page cannot drift from the
    outputs."""
    tables = re.findall(r"(?:^\|.*\n?)+", result.read_text(), re.M)
    page = RESULTS_PAGE.read_text()
    assert tables and all(table.strip() in page for table in tables), f"paste {result.name} into docs/results.md again"


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_readme_holds_the_headline_of_the_committed_studies(
    precision: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a CPU with native bfloat16 or without (CPLIB_PRECISION stands in for either): the headline names the recipe
    the committed rows record, not one this CPU's precision would pick."""
    from cplib.experiments.headline import committed_headline

    monkeypatch.setenv("CPLIB_PRECISION", precision)
    assert committed_headline() in README.read_text(), (
        "paste `python -m cplib.experiments.headline` into README.md again"
    )


def test_the_readme_fits_on_one_screen() -> None:
    assert README.stat().st_size <= README_BYTES, f"README.md is {README.stat().st_size} bytes: move detail to docs/"


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings."""
    return {slug(heading) for heading in re.findall(r"^#+ (.+)$", page.read_text(), re.M)}


def broken_links(page: Path) -> list[str]:
    """The relative links and images of a Markdown page whose file, or heading anchor in a Markdown file, is missing."""
    broken = []
    for target in re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", [README, *sorted((REPO / "docs").glob("*.md"))], ids=lambda path: path.name)
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_broken_links_finds_missing_files_and_anchors_only(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## A lesson's model\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n[ok](other.md) [anchor](other.md#a-lessons-model) [here](#page) [web](https://x.org/y)\n"
        "![missing](figure.png) [no file](gone.md) [no anchor](other.md#nowhere) [no heading](#nothing)\n"
    )
    assert broken_links(page) == ["figure.png", "gone.md", "other.md#nowhere", "#nothing"]
