"""The headless series runner: a stalled cell fails in one line naming notebook and cell; widget output never stalls
it."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from cplib.cli import main
from cplib.paths import NOTEBOOKS, REPO_ROOT
from cplib.series import CellFailed, CellTimeout, execute_notebook, run_series

SLEEPER = ["import time", "time.sleep(60)"]
# Output-widget captures whose execute_reply lands while the client handles a 10 MB capture: before the fix, each such
# cell stalled until its timeout (12 of 12 runs here); the sleeps spread the reply over machines of different speeds.
WIDGET_CELLS = [
    "import time\nimport ipywidgets as widgets\nfrom IPython.display import display\n"
    "out = widgets.Output()\ndisplay(out)",
    *(
        "with out:\n    out.clear_output(wait=True)\n"
        f"    display({{'text/plain': '{n}' * 10_000_000}}, raw=True)\ntime.sleep({pause})"
        for n, pause in enumerate([0.01, 0.05, 0.2])
    ),
]


def write_notebook(folder: Path, name: str, sources: list[str]) -> Path:
    """A notebook of a title cell and one code cell per source, saved as folder/name."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# test"),
        *(nbformat.v4.new_code_cell(source) for source in sources),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)
    return folder / name


def test_a_cell_past_its_timeout_fails_naming_notebook_and_cell(tmp_path: Path) -> None:
    path = write_notebook(tmp_path, "00_sleep.ipynb", ["x = 1", "\n".join(SLEEPER)])
    with pytest.raises(CellTimeout) as raised:
        execute_notebook(path, cell_timeout=2)
    assert str(raised.value) == "notebook 00_sleep.ipynb, cell 2: timed out after 2 s"


def test_cli_reports_a_timeout_in_one_line_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_notebook(tmp_path / "notebooks", "00_fine.ipynb", ["print('fine')"])
    write_notebook(tmp_path / "notebooks", "01_sleep.ipynb", ["\n".join(SLEEPER)])
    status = main(
        ["series", "--notebooks", str(tmp_path / "notebooks"), "--out", str(tmp_path / "build"), "--cell-timeout", "2"]
    )
    assert status == 2
    assert capsys.readouterr().err == "cplib: error: notebook 01_sleep.ipynb, cell 1: timed out after 2 s\n"
    assert (tmp_path / "build" / "00_fine.html").exists() and not (tmp_path / "build" / "01_sleep.html").exists()


def test_a_failing_cell_ends_the_run_in_one_line_with_its_assertion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_notebook(tmp_path / "notebooks", "00_fine.ipynb", ["print('fine')"])
    write_notebook(
        tmp_path / "notebooks",
        "01_assert.ipynb",
        ["x = 2", "y = 3\nassert x > y, f'x={x} is not above y={y}'", "print('never')"],
    )
    status = main(
        ["series", "--notebooks", str(tmp_path / "notebooks"), "--out", str(tmp_path / "build"), "--cell-timeout", "60"]
    )
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    expected = "notebook 01_assert.ipynb, cell 2: AssertionError: x=2 is not above y=3"
    assert err == f"cplib: error: {expected} (at `assert x > y, f'x={{x}} is not above y={{y}}'`)\n"
    with pytest.raises(CellFailed, match=r"cell 1: ZeroDivisionError: division by zero \(at `1 / 0`\)$"):
        execute_notebook(write_notebook(tmp_path, "02_bare.ipynb", ["1 / 0"]))


def test_widget_output_executes_headless_without_stalling(tmp_path: Path) -> None:
    notebook = execute_notebook(write_notebook(tmp_path, "00_widget.ipynb", WIDGET_CELLS), cell_timeout=20)
    outputs = [
        state["state"].get("outputs")
        for state in notebook.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"].values()
    ]
    captured = [output for output in outputs if output]
    assert len(captured) == 1 and captured[0][0]["data"]["text/plain"] == "2" * 10_000_000


def test_run_series_writes_html_of_each_notebook_and_returns_wall_times(tmp_path: Path) -> None:
    for name in ("00_a.ipynb", "01_b.ipynb"):
        write_notebook(tmp_path / "notebooks", name, [f"print('{name}')"])
    seconds = run_series(tmp_path / "build", tmp_path / "notebooks", cell_timeout=60)
    assert list(seconds) == ["00_a.ipynb", "01_b.ipynb"] and all(s > 0 for s in seconds.values())
    assert "01_b.ipynb" in (tmp_path / "build" / "01_b.html").read_text()


def test_make_run_executes_every_notebook_of_the_checkout_in_order_and_writes_each_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` is `python -m cplib series --out build` over the checkout's notebooks/: CI does not execute the series
    a second time after `make test` ran every notebook under nbval, so this checks the path from the Makefile to the
    pages with each notebook's execution stood in for (the tests above execute real ones)."""
    recipe = re.search(r"^run: .*\n((?:\t.*\n)+)", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert recipe and recipe.group(1).split() == ["$(PY)", "-m", "cplib", "series", "--out", "build"]
    executed = []

    def stand_in(path: Path, cell_timeout: float) -> nbformat.NotebookNode:
        executed.append(path)
        notebook = nbformat.read(path, as_version=4)
        notebook.cells = notebook.cells[:1]  # the title cell: enough to tell the pages apart
        return notebook

    monkeypatch.setattr("cplib.series.execute_notebook", stand_in)
    assert main(["series", "--out", str(tmp_path)]) == 0
    series = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert executed == series and series
    for path in series:
        title = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0].lstrip("# ")
        assert title in (tmp_path / f"{path.stem}.html").read_text()
