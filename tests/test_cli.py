"""The Detector and the command line, end to end on a tiny dataset with the tiny profile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cplib.augment import num_classes
from cplib.cli import build_parser, main
from cplib.data import load_split
from cplib.detector import Detector
from cplib.evaluate import evaluate_model
from cplib.metrics import image_auroc, per_defect_auroc
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import train


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small default-style dataset."""
    return str(
        write_dataset(
            tmp_path_factory.mktemp("data") / "default", counts=Counts(train=10, test_good=4, test_per_defect=3)
        )
    )


@pytest.fixture(scope="module")
def model_dir(root: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A detector folder written by `python -m cplib train`."""
    out = tmp_path_factory.mktemp("model") / "weave"
    assert main(["train", "--data", root, "--category", "weave", "--profile", "tiny", "--out", str(out)]) == 0
    return out


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """Run `python -m cplib` in a subprocess, as a user would."""
    return subprocess.run([sys.executable, "-m", "cplib", *args], capture_output=True, text=True, timeout=300)


def test_detector_fit_score_predict_and_round_trip(root: str, tmp_path: Path) -> None:
    config = get_profile("tiny").config("cutpaste", "granite", data_root=root)
    model, history = train(config, progress=False)
    normal = load_split(root, "granite", "train", config.size).images
    detector = Detector(model, config, history).fit(normal)
    test = load_split(root, "granite", "test", config.size)
    scores = detector.score(test.images)
    assert scores.shape == (len(test),) and np.isfinite(detector.threshold)
    np.testing.assert_array_equal(detector.predict(test.images), scores >= detector.threshold)
    loaded = Detector.load(detector.save(tmp_path / "det"))
    np.testing.assert_allclose(loaded.score(test.images), scores)
    assert loaded.threshold == detector.threshold
    np.testing.assert_allclose(loaded.score_files(test.paths[:3]), scores[:3])


def test_f1_threshold_separates_at_least_as_well_as_any_score(root: str) -> None:
    config = get_profile("tiny").config("cutout", "capsule", data_root=root)
    model, history = train(config, progress=False)
    detector = Detector(model, config, history).fit(load_split(root, "capsule", "train", config.size).images)
    test = load_split(root, "capsule", "test", config.size)
    f1 = detector.calibrate_f1(test.images, test.labels.numpy())
    predicted = detector.predict(test.images)
    labels = test.labels.numpy().astype(bool)
    tp = (predicted & labels).sum()
    assert f1 == pytest.approx(2 * tp / (predicted.sum() + labels.sum()))


def test_train_evaluate_score_commands(root: str, model_dir: Path, tmp_path: Path) -> None:
    saved = json.loads((model_dir / "detector.json").read_text())
    detector = Detector.load(model_dir)
    assert saved["calibration"]["n_held_out"] == 2 and saved["density_images"] == 8
    assert saved["threshold"] == detector.threshold

    report = tmp_path / "r.json"
    assert (
        main(["evaluate", "--data", root, "--category", "weave", "--model", str(model_dir), "--json", str(report)]) == 0
    )
    result = json.loads(report.read_text())
    assert (result["n_train"], result["n_held_out"], result["n_density"], result["n_test"]) == (10, 2, 8, 10)
    assert result["protocol"] == "density fitted on 8 images, threshold on 2 held-out images"
    test = load_split(root, "weave", "test", detector.config.size, masks=False)
    scores, labels = detector.score(test.images), test.labels.numpy()
    assert result["image_auroc"] == image_auroc(labels, scores)
    assert result["per_defect_auroc"] == per_defect_auroc(test.defects, labels, scores)
    assert set(result["per_defect_auroc"]) == {"hole", "scratch"}

    normal = sorted(Path(root, "weave", "test", "good").glob("*.png"))
    holed = np.asarray(Image.open(normal[0]).convert("RGB")).copy()
    holed[64:192, 64:192] = 0  # an easy defect: a black hole over a quarter of a normal image
    defect = tmp_path / "holed.png"
    Image.fromarray(holed).save(defect)
    done = run_cli("score", "--model", str(model_dir), *map(str, normal), str(defect))
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.strip().splitlines()]
    assert [path for path, _, _ in rows] == [*map(str, normal), str(defect)]
    printed = np.array([float(score) for _, score, _ in rows])
    np.testing.assert_allclose(printed, detector.score_files([*normal, defect]), atol=5e-4)  # printed to 3 decimals
    expected = ["anomalous" if score >= detector.threshold else "normal" for score in printed]
    assert [verdict for _, _, verdict in rows] == expected
    assert printed[-1] > printed[:-1].max() and rows[-1][2] == "anomalous"  # the defect, above its normal neighbours


def test_holdout_0_is_the_bench_protocol_and_score_says_there_is_no_threshold(root: str, tmp_path: Path) -> None:
    report, out = tmp_path / "r.json", tmp_path / "model"
    common = ["--data", root, "--category", "weave", "--profile", "tiny", "--holdout", "0"]
    assert main(["evaluate", *common, "--train", "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    config = get_profile("tiny").config("3way", "weave", data_root=root)
    bench = evaluate_model(train(config, progress=False)[0], config, root)  # as bench/mvtec_table.py and the studies do
    assert result["image_auroc"] == bench.auroc and result["per_defect_auroc"] == bench.per_defect
    assert (result["n_held_out"], result["n_density"]) == (0, 10)
    assert result["protocol"] == "density fitted on 10 images, no threshold (the paper's protocol: scores only)"

    assert main(["train", *common, "--out", str(out)]) == 0
    image = next(Path(root, "weave", "test", "hole").glob("*.png"))
    done = run_cli("score", "--model", str(out), str(image))
    path, score = done.stdout.strip().split("\t")  # a score and no verdict
    assert done.returncode == 0 and path == str(image) and float(score) > 0
    assert done.stderr.strip() == (
        f"cplib: {out}: {result['protocol']}; features in fp32; train with --holdout > 0 for verdicts"
    )


def test_a_model_trained_in_bf16_scores_and_evaluates_in_bf16_unless_asked_otherwise(
    root: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, report = tmp_path / "model", tmp_path / "r.json"
    data = ["--data", root, "--category", "weave"]
    assert main(["train", *data, "--profile", "tiny", "--precision", "bf16", "--out", str(out)]) == 0
    assert "; features in bf16" in capsys.readouterr().out
    image = next(Path(root, "weave", "test", "hole").glob("*.png"))
    bf16 = Detector.load(out, "bf16").score_files(image)[0]

    assert main(["score", "--model", str(out), str(image)]) == 0
    scored = capsys.readouterr()
    assert "; features in bf16" in scored.err and float(scored.out.split("\t")[1]) == pytest.approx(bf16, abs=5e-4)
    assert main(["evaluate", *data, "--model", str(out), "--json", str(report)]) == 0
    assert "features in bf16" in capsys.readouterr().out
    result = json.loads(report.read_text())
    test = load_split(root, "weave", "test", result["size"], masks=False)
    expected = image_auroc(test.labels.numpy(), Detector.load(out, "bf16").score(test.images))
    assert result["scoring_precision"] == "bf16" and result["image_auroc"] == expected

    with pytest.warns(UserWarning, match="scoring in fp32, but its density and threshold were fitted on bf16"):
        assert main(["score", "--model", str(out), "--precision", "fp32", str(image)]) == 0
        fp32 = Detector.load(out, "fp32").score_files(image)[0]
    scored = capsys.readouterr()
    assert "; features in fp32" in scored.err and float(scored.out.split("\t")[1]) == pytest.approx(fp32, abs=5e-4)


def test_evaluate_with_train(root: str, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    args = [
        "evaluate",
        "--data",
        root,
        "--category",
        "capsule",
        "--train",
        "--profile",
        "tiny",
        "--variant",
        "scar",
        "--json",
        str(report),
    ]
    assert main([*args, "--precision", "bf16"]) == 0
    result = json.loads(report.read_text())
    assert result["variant"] == "scar" and result["steps"] == get_profile("tiny").steps and result["train_seconds"] > 0
    assert result["precision"] == "bf16"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "--data", "/no/such/folder", "--category", "weave", "--out", "x"],
            "dataset folder not found: /no/such/folder",
        ),
        (["evaluate", "--category", "carpet", "--model", "/no/such/model"], "no saved detector in /no/such/model"),
    ],
)
def test_bad_input_is_one_line_without_traceback(args: list[str], message: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_unknown_category_lists_the_known_ones(root: str) -> None:
    done = run_cli("train", "--data", root, "--category", "carpet", "--profile", "tiny", "--out", "unused")
    assert (
        done.returncode == 2 and "unknown category 'carpet'" in done.stderr and "capsule, granite, weave" in done.stderr
    )


def test_unknown_variant_is_refused_by_the_parser(root: str) -> None:
    done = run_cli("train", "--data", root, "--category", "weave", "--variant", "mixup", "--out", "unused")
    assert done.returncode == 2 and "invalid choice: 'mixup'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("variant", ["seamless", "perlin", "3way-seamless", "3way-perlin"])
def test_the_natural_fakes_are_variants_of_train_and_table(variant: str) -> None:
    """Beyond the paper (cplib.natural_fakes): `train --variant` and `table --variants` take them, and so does a
    config, with a third class for the 3-way ones."""
    parser = build_parser()
    assert parser.parse_args(["train", "--category", "weave", "--variant", variant, "--out", "x"]).variant == variant
    assert parser.parse_args(["table", "--out", "x", "--variants", "cutpaste", variant]).variants == [
        "cutpaste",
        variant,
    ]
    config = get_profile("tiny").config(variant, "weave")
    assert num_classes(config.variant) == (3 if variant.startswith("3way") else 2)


def test_corrupt_image_is_named(model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    done = run_cli("score", "--model", str(model_dir), str(broken))
    assert done.returncode == 2 and str(broken) in done.stderr and "Traceback" not in done.stderr


def test_detector_needs_enough_normal_images(root: str) -> None:
    config = get_profile("tiny").config("3way", "weave", data_root=root)
    model, history = train(config, progress=False)
    with pytest.raises(ValueError, match="too few"):
        Detector(model, config, history).fit(torch.rand(3, 3, config.size, config.size))
