"""The augmentation widgets in a real browser: JupyterLab on loopback, headless Debian Chromium driven by Playwright.

Opens tests/e2e/explorers.ipynb, runs its cells, moves sliders and picks options of each widget in e2e.scenarios, and
checks that the figure redraws after each and that no error shows (error outputs, the log console, the widget's message,
the browser console). Screenshots go to build/browser/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from e2e.skips import CHROMIUM, CHROMIUM_MISSING, PLAYWRIGHT_MISSING

pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)

from e2e.browser import headless_chromium  # noqa: E402
from e2e.lab import running_lab  # noqa: E402
from e2e.notebook import SECOND, NotebookPage  # noqa: E402
from e2e.scenarios import SCENARIOS, Scenario, explore  # noqa: E402
from playwright.sync_api import Browser  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402

from cplib.synthetic import ensure_default_data  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "tests" / "e2e" / "explorers.ipynb"
SHOTS = REPO / "build" / "browser"
RAISE = "CPLIB_E2E_RAISE"  # read only by explorers.ipynb: from its last cell on, every widget callback raises
VIEWPORT = {"width": 1280, "height": 1600}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, shared by the tests of this module; they skip, saying how to install it, where it is
    missing."""
    if not CHROMIUM.exists():
        pytest.skip(CHROMIUM_MISSING)
    ensure_default_data()
    with headless_chromium() as chromium:
        yield chromium


@contextmanager
def opened_notebook(browser: Browser, home: Path, env: dict[str, str], shots: Path) -> Iterator[NotebookPage]:
    """A copy of explorers.ipynb in a fresh JupyterLab whose kernel sees `env`, opened with every cell run; the page
    saved last."""
    (home / "root").mkdir()
    shots.mkdir(parents=True, exist_ok=True)
    notebook = Path(
        shutil.copy(NOTEBOOK, home / "root")
    )  # a copy: JupyterLab's autosave must not write outputs into the repo
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    with running_lab(home / "root", home / "lab", {"PYTHONPATH": pythonpath, **env}) as lab:
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(30 * SECOND)
        try:
            notebook_page = NotebookPage(page, lab, notebook)
            notebook_page.open_and_run_all()
            yield notebook_page
        finally:
            with suppress(PlaywrightError):
                page.screenshot(path=shots / "notebook.png")
            page.close()


@pytest.fixture(scope="module")
def explorers(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotebookPage]:
    """explorers.ipynb, run, in a JupyterLab with widget callbacks working."""
    with opened_notebook(browser, tmp_path_factory.mktemp("lab"), {}, SHOTS) as notebook:
        yield notebook


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.cell)
def test_widget_renders_and_redraws_without_errors(explorers: NotebookPage, scenario: Scenario) -> None:
    problems = explore(explorers, scenario, SHOTS)
    assert not problems, "\n".join(["problems seen:", *problems])


def test_a_raising_callback_is_caught(browser: Browser, tmp_path: Path) -> None:
    with opened_notebook(browser, tmp_path, {RAISE: "1"}, SHOTS / "raising") as notebook:
        problems = explore(notebook, SCENARIOS[0], SHOTS / "raising")
    assert f"{SCENARIOS[0].cell} after-slider: the figure did not change" in problems
    assert any("augment_examples made to raise" in problem for problem in problems), problems


def test_scenarios_name_code_cells_of_the_stripped_notebook() -> None:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert {scenario.cell for scenario in SCENARIOS} <= {cell["id"] for cell in code}
    assert [cell["id"] for cell in code if cell["outputs"] or cell["execution_count"] is not None] == []
