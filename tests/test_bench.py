"""The bench scripts' own logic: bench/notebook_times.py's per-notebook times from a JUnit XML, bench/gpu_check.py's CPU
parts."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

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
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "notebook_times.py"), str(junit)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "| `00_data.ipynb` | 4 s |",
        "| `01_cutout.ipynb` | 1.5 min |",
        "| all notebooks | 1.6 min |",
    ]


def test_notebook_times_names_a_missing_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "notebook_times.py"), str(tmp_path / "none.xml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "usage" in done.stderr


def test_gpu_check_runs_its_steps_on_the_cpu(mvtec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bench/gpu_check.py's parts at a tiny setting: the training loop, the full and bare steps, the dense features."""
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "cache"))
    spec = importlib.util.spec_from_file_location("gpu_check", REPO_ROOT / "bench" / "gpu_check.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    config = check.check_config(64, 2, 2)
    assert (config.variant, config.precision, config.channels_last) == ("3way", "bf16", True)
    mvtec.category(tmp_path / "data", check.CATEGORY, shape=(64, 64), train=4)
    seconds, rate = check.training_rate(config.with_(data_root=str(tmp_path / "data")), "cpu")
    assert seconds > 0 and rate == pytest.approx(2 * 2 * 3 / seconds)
    full, bare = check.step_rates(config, "cpu", 1)
    assert full > 0 and bare > 0
    assert check.dense_seconds(config.with_(precision="fp32"), "cpu", 32, 16, images=1) > 0
