"""bench/notebook_times.py: per-notebook times summed from a JUnit XML, as the README's runtime column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cplib.paths import REPO_ROOT

JUNIT = """<testsuites><testsuite>
<testcase classname="notebooks.00_data.ipynb" name="Cell 0" time="1.5"/>
<testcase classname="notebooks.00_data.ipynb" name="Cell 1" time="2.5"/>
<testcase classname="notebooks.01_cutout.ipynb" name="Cell 1" time="90"/>
<testcase classname="tests.test_augment" name="test_x" time="9"/>
</testsuite></testsuites>"""


def test_notebook_times_sums_cells_per_notebook_and_ignores_unit_tests(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "notebook_times.py"), str(junit)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["| `00_data.ipynb` | 4 s |", "| `01_cutout.ipynb` | 1.5 min |", "| all notebooks | 1.6 min |"]


def test_notebook_times_names_a_missing_file(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "notebook_times.py"), str(tmp_path / "none.xml")], capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr
