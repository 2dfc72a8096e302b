"""The bench scripts' own logic: bench/notebook_times.py's per-notebook times from a JUnit XML, bench/gpu_check.py's CPU
parts, bench/precision_table.py's test set."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cplib.checkpoint import Trained
from cplib.cli import main
from cplib.data import count_images, load_split
from cplib.detector import Detector
from cplib.evaluate import evaluate_category
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile
from cplib.train import History, build_model

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


def test_precision_table_scores_every_test_image_as_the_command_line_does(
    mvtec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a category where one defective image has no mask, the bench script's image AUROC, `python -m cplib evaluate`
    and evaluate_category score the same test images: all of them (one untrained network, so nothing trains)."""
    folder = mvtec.category(tmp_path / "data", "tile", shape=(32, 32), train=6, test={"good": 2, "crack": 3})
    (folder / "ground_truth" / "crack" / "001_mask.png").unlink()
    root, report = str(tmp_path / "data"), tmp_path / "evaluate.json"
    config = get_profile("tiny").config("3way", "tile", data_root=root)
    model = build_model(config).eval()
    table = _load_bench("precision_table", monkeypatch)
    monkeypatch.setattr(table, "get_or_train", lambda config, device, progress: Trained(model, config, History()))
    labels, scores = table.image_scores(config, root, "fp32")
    saved = Detector(model, config).fit(load_split(root, "tile", "train", config.size).images, holdout=0)
    arguments = ["--data", root, "--category", "tile", "--model", str(saved.save(tmp_path / "model"))]
    assert main(["evaluate", *arguments, "--json", str(report)]) == 0
    evaluation = evaluate_category(model, root, "tile", config.size)
    n_test = sum(count_images(root, "tile", ("test",)).values())
    assert len(labels) == len(scores) == json.loads(report.read_text())["n_test"] == len(evaluation.labels) == n_test
    assert labels.tolist() == evaluation.labels.tolist()


def _load_bench(name: str, monkeypatch: pytest.MonkeyPatch):
    """A bench script as a module (bench/ is not a package), registered where its dataclasses look it up."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module
