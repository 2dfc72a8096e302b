"""Run the notebook series headless: execute each notebook in order and write its HTML to an output folder."""

from __future__ import annotations

import time
from pathlib import Path

from .paths import REPO_ROOT


def notebooks(folder: Path = REPO_ROOT / "notebooks") -> list[Path]:
    """The series' notebooks in order (NN_topic.ipynb)."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def run_series(out: Path, folder: Path = REPO_ROOT / "notebooks", timeout: int = 1800) -> dict[str, float]:
    """Execute every notebook of the series, write out/<name>.html, and return each notebook's wall time."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import ExecutePreprocessor

    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    for path in notebooks(folder):
        notebook = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(notebook, {"metadata": {"path": str(folder)}})
        seconds[path.name] = time.perf_counter() - started
        html, _ = HTMLExporter().from_notebook_node(notebook)
        target = out / f"{path.stem}.html"
        temporary = target.with_suffix(".html.tmp")
        temporary.write_text(html, encoding="utf-8")
        temporary.replace(target)
        print(f"{path.name:32s} {seconds[path.name]:7.1f} s  -> {target}", flush=True)
    print(f"{'total':32s} {sum(seconds.values()):7.1f} s")
    return seconds
