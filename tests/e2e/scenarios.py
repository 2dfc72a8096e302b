"""The widgets the browser test drives: one Scenario per widget cell of explorers.ipynb, and the flow that runs it.

To cover another widget, add a cell that builds it to explorers.ipynb (give the cell an id) and one Scenario here.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from playwright.sync_api import Locator
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .notebook import SECOND, NotebookPage

RENDER_TIMEOUT = 60
REDRAW_TIMEOUT = 30
POLL = 0.25


class Interaction(Protocol):
    """Something a learner does to a widget."""

    def perform(self, widget: Locator) -> None: ...


def labelled(widget: Locator, kind: str, label: str) -> Locator:
    """The control of this kind (a CSS class such as .widget-slider) whose description is exactly `label`."""
    name = widget.page.locator(".widget-label", has_text=re.compile(rf"^{re.escape(label)}$"))
    return widget.locator(kind).filter(has=name)


@dataclass(frozen=True)
class Slide:
    """Focus a slider's handle and press a key (PageUp: five steps); continuous_update=False sliders commit on the
    key."""

    label: str
    handle: int = 0
    key: str = "PageUp"

    def perform(self, widget: Locator) -> None:
        """Move the handle."""
        handle = labelled(widget, ".widget-slider", self.label).locator(".noUi-handle").nth(self.handle)
        handle.press(self.key)


@dataclass(frozen=True)
class Pick:
    """Choose an option of a dropdown."""

    label: str
    option: str

    def perform(self, widget: Locator) -> None:
        """Select the option."""
        labelled(widget, ".widget-dropdown", self.label).locator("select").select_option(self.option)


@dataclass(frozen=True)
class Scenario:
    """A widget cell of explorers.ipynb (by cell id) and the interactions after each of which its figure must change."""

    cell: str
    steps: tuple[tuple[str, Interaction], ...]  # (screenshot suffix, interaction)
    figure: str = ".widget-output img"  # the displayed figure, compared by its src data URL
    message: str = ".widget-html-content"  # the widget's message area, which must stay empty


SCENARIOS = [
    Scenario(
        "cutpaste-two-variants",
        (("after-slider", Slide("area", handle=1)), ("after-variant", Pick("augmentation", "cutpaste-scar"))),
    ),
    Scenario("cutpaste", (("after-slider", Slide("max aspect")), ("after-category", Pick("category", "granite")))),
]


def explore(notebook: NotebookPage, scenario: Scenario, shots: Path) -> list[str]:
    """Check the widget rendered, perform each interaction, screenshot every state; every problem seen, [] if none."""
    widget = notebook.output(scenario.cell)
    figure = widget.locator(scenario.figure)
    try:
        figure.wait_for(timeout=RENDER_TIMEOUT * SECOND)
    except PlaywrightTimeout:
        return [
            f"{scenario.cell}: no figure rendered in {RENDER_TIMEOUT} s",
            *notebook.problems(widget, scenario.message),
        ]
    shots.mkdir(parents=True, exist_ok=True)
    widget.screenshot(path=shots / f"{scenario.cell}-before.png")
    unchanged = []
    for name, interaction in scenario.steps:
        before, seen = figure.get_attribute("src"), len(notebook.problems(widget, scenario.message))
        interaction.perform(widget)
        if not redrawn(notebook, scenario, before, seen):
            unchanged.append(f"{scenario.cell} {name}: the figure did not change")
        widget.screenshot(path=shots / f"{scenario.cell}-{name}.png")
    return [*unchanged, *notebook.problems(widget, scenario.message)]


def redrawn(notebook: NotebookPage, scenario: Scenario, before: str | None, seen: int) -> bool:
    """Wait until the figure's src differs from `before` and the kernel is idle; False as soon as a new problem
    shows."""
    widget = notebook.output(scenario.cell)
    deadline = time.monotonic() + REDRAW_TIMEOUT
    while time.monotonic() < deadline and len(notebook.problems(widget, scenario.message)) <= seen:
        if widget.locator(scenario.figure).get_attribute("src") != before:
            notebook.wait_until_idle()
            return True
        time.sleep(POLL)
    return False
