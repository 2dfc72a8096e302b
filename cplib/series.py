"""Run the notebook series headless: execute each notebook in order and write its HTML to an output folder.

A client of our own rather than plain ``jupyter nbconvert --execute``: nbclient's stand-in for the ipywidgets Output
widget echoes every captured output back to the kernel, and that echo can leave a cell's reply unread until its timeout
(jupyter/nbclient#312); `HeadlessOutput` keeps the outputs without the echo.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError
from nbclient.output_widget import OutputWidget
from nbformat import NotebookNode

from .errors import CplibError, DataError
from .paths import NOTEBOOKS

# seconds, as nbval's --nbval-cell-timeout in the Makefile and cli's --cell-timeout: long enough for a cell that
# trains two 3-way models on a CPU without native bfloat16 (bench/train_throughput.py gives this CPU's rate), short
# enough to end a stalled kernel in CI
CELL_TIMEOUT = 2400.0


class CellTimeout(CplibError):
    """A cell ran past its time limit: the one line names the notebook and the cell (its index in the notebook)."""

    def __init__(self, notebook: str, cell: int, seconds: float) -> None:
        super().__init__(f"notebook {notebook}, cell {cell}: timed out after {seconds:g} s")


class CellFailed(CplibError):
    """A cell raised: one line names the notebook, the cell (its index in the notebook), the error and the line that
    raised it."""

    def __init__(self, notebook: str, cell: int, error: CellExecutionError) -> None:
        at = failing_line(error.traceback)
        super().__init__(
            f"notebook {notebook}, cell {cell}: {error.ename}: {error.evalue}" + (f" (at `{at}`)" if at else "")
        )


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def failing_line(traceback: str) -> str:
    """The source line IPython's traceback marks with an arrow last (the line that raised), without colour codes."""
    marked = [line for line in ANSI.sub("", traceback).splitlines() if line.lstrip().startswith("---->")]
    return re.sub(r"^\s*---->\s*\d*\s*", "", marked[-1]).strip() if marked else ""


class HeadlessOutput(OutputWidget):
    """nbclient's Output-widget mimic without the echo to the kernel, whose shell-socket send stalls the run."""

    def sync_state(self) -> None:
        """Keep the captured outputs here: they reach the HTML through the widget state; no frontend reads them back."""


class SeriesClient(NotebookClient):
    """A NotebookClient whose cells fail in one line naming notebook and cell: on an error, and once they run past the
    timeout (even if a reply comes later)."""

    def __init__(self, notebook: NotebookNode, name: str, cell_timeout: float, folder: Path) -> None:
        super().__init__(
            notebook, timeout=cell_timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        )
        self.notebook_name = name
        self.widget_registry = {"@jupyter-widgets/output": {"OutputModel": HeadlessOutput}}

    async def async_execute_cell(
        self, cell: NotebookNode, cell_index: int, execution_count: int | None = None, store_history: bool = True
    ) -> NotebookNode:
        """Execute one cell; CellFailed or CellTimeout instead of nbclient's multi-line error or a late success."""
        started = time.monotonic()
        try:
            executed = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except CellTimeoutError:
            raise CellTimeout(self.notebook_name, cell_index, self.timeout) from None
        except CellExecutionError as error:
            raise CellFailed(self.notebook_name, cell_index, error) from None
        if time.monotonic() - started > self.timeout:
            raise CellTimeout(self.notebook_name, cell_index, self.timeout)
        return executed


def notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The series' notebooks in order (NN_topic.ipynb)."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def execute_notebook(path: Path, cell_timeout: float = CELL_TIMEOUT) -> NotebookNode:
    """The notebook at `path`, executed headless in its own folder; a cell past `cell_timeout` seconds raises
    CellTimeout."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    SeriesClient(notebook, path.name, cell_timeout, path.parent).execute()
    return notebook


def write_html(notebook: NotebookNode, target: Path) -> None:
    """Write the executed notebook as HTML, atomically (a half-written page never replaces a good one)."""
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_notebook_node(notebook)
    temporary = target.with_suffix(".html.tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(target)


def run_series(out: Path, folder: Path = NOTEBOOKS, cell_timeout: float = CELL_TIMEOUT) -> dict[str, float]:
    """Execute every notebook of the series, write out/<name>.html, print and return each notebook's wall time."""
    if not folder.is_dir():
        raise DataError(f"--notebooks {folder}: no such folder; pass the folder of the NN_topic.ipynb notebooks")
    if not notebooks(folder):
        raise DataError(f"--notebooks {folder}: no NN_topic.ipynb notebooks in it; pass the series' notebooks folder")
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    for path in notebooks(folder):
        started = time.perf_counter()
        notebook = execute_notebook(path, cell_timeout)
        seconds[path.name] = time.perf_counter() - started
        target = out / f"{path.stem}.html"
        write_html(notebook, target)
        print(f"{path.name:32s} {seconds[path.name]:7.1f} s  -> {target}", flush=True)
    print(f"{'total':32s} {sum(seconds.values()):7.1f} s")
    return seconds
