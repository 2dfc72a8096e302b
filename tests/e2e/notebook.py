"""A notebook opened in JupyterLab in one browser page: run its cells, find a cell's output, collect what went wrong."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Locator, Page

from .lab import Lab

SECOND = 1000  # Playwright counts milliseconds
OPEN_TIMEOUT = 90
RUN_TIMEOUT = 180
IDLE_TIMEOUT = 60
# stderr streams and tracebacks (JupyterLab renders both with this mime type)
# in cells, Output widgets and the log console
ERROR_OUTPUT = '.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
IDLE = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
RUN_ALL = """async ([path, ms]) => {
    const app = window.jupyterapp;
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error(`${path}: no answer in ${ms} ms`)), ms));
    await Promise.race([app.shell.currentWidget.sessionContext.ready, late]);
    return Promise.race([app.commands.execute("notebook:run-all-cells"), late]);
}"""
SHOWN = "path => window.jupyterapp?.shell.currentWidget?.context?.path === path"
PLACED = (
    "outputs => outputs.map(o => [o.closest('.jp-LogConsolePanel') ? 'the log console' : 'the notebook', o.innerText])"
)


class NotebookPage:
    """One notebook in JupyterLab; browser console errors and page errors are collected from the start."""

    def __init__(self, page: Page, lab: Lab, notebook: Path) -> None:
        self.page, self.lab, self.notebook = page, lab, notebook
        self.cell_ids = [cell.get("id") for cell in json.loads(notebook.read_text())["cells"]]
        self.console_errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        """Keep a browser console message of type error."""
        if message.type == "error":
            self.console_errors.append(f"browser console error: {message.text}")

    def open_and_run_all(self) -> None:
        """Open the notebook, run every cell once the kernel is ready, then show the log console (callback errors land
        there)."""
        self.page.goto(self.lab.url(f"lab/tree/{self.notebook.name}"), timeout=OPEN_TIMEOUT * SECOND)
        self.page.wait_for_function(SHOWN, arg=self.notebook.name, timeout=OPEN_TIMEOUT * SECOND)
        self.page.evaluate(RUN_ALL, [self.notebook.name, RUN_TIMEOUT * SECOND])
        self.wait_until_idle()
        self.page.evaluate("() => window.jupyterapp.commands.execute('logconsole:open')")
        self.page.locator(".jp-LogConsolePanel").wait_for(timeout=OPEN_TIMEOUT * SECOND)

    def wait_until_idle(self) -> None:
        """Wait for the kernel indicator to read idle."""
        self.page.locator(IDLE).wait_for(timeout=IDLE_TIMEOUT * SECOND)

    def output(self, cell_id: str) -> Locator:
        """The output area of the cell with this nbformat id."""
        return (
            self.page.locator(".jp-NotebookPanel .jp-Cell")
            .nth(self.cell_ids.index(cell_id))
            .locator(".jp-Cell-outputArea")
        )

    def problems(self, widget: Locator, message: str) -> list[str]:
        """Error outputs anywhere on the page, text in the widget's message area, and browser console errors."""
        errors = [
            f"error output in {place}: {_last_line(text)}"
            for place, text in self.page.locator(ERROR_OUTPUT).evaluate_all(PLACED)
        ]
        messages = [
            f"widget message: {text.strip()}" for text in widget.locator(message).all_inner_texts() if text.strip()
        ]
        return [*errors, *messages, *self.console_errors]


def _last_line(text: str) -> str:
    """The last non-blank line of an output: where a traceback names its exception."""
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")
