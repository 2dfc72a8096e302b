"""Notebook 06's comparison over every category (trained patch model vs its untrained self), its CSV, its committed copy
and the check that a rerun agrees; on a tiny dataset with the tiny profile."""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cplib.checkpoint import get_or_train
from cplib.errors import ResultDrift
from cplib.evaluate import localize_densities
from cplib.experiments import localization
from cplib.experiments.localization import (
    TRAINED,
    LocalizationRow,
    check_localization,
    compare_networks,
    localization_results,
    localization_splits,
    localization_table,
    pixel_aurocs,
    proxy_accuracy,
    to_rows,
)
from cplib.experiments.measurements import RANDOM_INIT
from cplib.experiments.results import from_csv, read_rows, to_csv
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import build_model

CATEGORIES = ("capsule", "granite", "weave")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(
        write_dataset(
            tmp_path_factory.mktemp("data") / "default", counts=Counts(train=6, test_good=2, test_per_defect=2)
        )
    )


def _rows(draws: np.random.Generator, categories: tuple[str, ...] = CATEGORIES) -> list[LocalizationRow]:
    """Random rows: every category, both networks, both densities; the trained model's accuracy shared by its
    category."""
    rows = []
    for category in categories:
        accuracy = float(draws.uniform(0.3, 1.0))
        for network in (TRAINED, RANDOM_INIT):
            for density in ("shared", "per-location"):
                metrics = draws.uniform(0.3, 1.0, 3)
                rows.append(
                    LocalizationRow(
                        category, network, density, *map(float, metrics), accuracy, 128, 32, 8, 300, "bf16", 0, "bf16"
                    )
                )
    return rows


def test_rows_round_trip_through_csv() -> None:
    draws = np.random.default_rng(0)
    for _ in range(20):
        rows = _rows(draws)
        assert from_csv(to_csv(rows), LocalizationRow) == rows
    with pytest.raises(ValueError, match="not a LocalizationRow CSV"):
        from_csv("variant,category\ncutout,capsule\n", LocalizationRow)  # a Measurement header


def test_localization_table_and_lookups_hold_every_row() -> None:
    draws = np.random.default_rng(1)
    for _ in range(10):
        rows = _rows(draws)
        lines = localization_table(rows).splitlines()
        assert len(lines) == 2 + len(CATEGORIES)
        pixel, accuracy = pixel_aurocs(rows), proxy_accuracy(rows)
        for line, category in zip(lines[2:], CATEGORIES):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            assert cells[0].startswith(category) and cells[1] == f"{accuracy[category]:.2f}"
            by_hand = [
                r
                for n in (TRAINED, RANDOM_INIT)
                for d in ("shared", "per-location")
                for r in rows
                if (r.category, r.network, r.density) == (category, n, d)
            ]
            assert cells[2:] == [f"{pixel[r.category, r.network, r.density]:.3f} ({r.aupro:.3f})" for r in by_hand]


def _made_on(rows: list[LocalizationRow], made) -> list[LocalizationRow]:
    """The rows as if measured on the machine of signature `made`."""
    return [replace(row, cpu=made.cpu, isa=made.isa, threads=made.threads, torch=made.torch) for row in rows]


def test_check_localization_is_strict_where_the_table_was_made_and_reports_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cplib.experiments.machines import signature

    draws = np.random.default_rng(2)
    monkeypatch.setattr(localization, "cross_machine_spread", lambda measures: 0.0)
    for _ in range(20):
        here = signature("bf16")
        committed = _made_on(_rows(draws), here)  # made on this machine
        mine = [row for row in committed if row.category == "weave"]
        one = int(draws.integers(len(mine)))
        moved = [replace(r, pixel_auroc=r.pixel_auroc + (0.031 if i == one else 0)) for i, r in enumerate(mine)]
        shift = float(draws.uniform(-0.029, 0.029))
        lines = check_localization(
            committed, [replace(r, pixel_auroc=r.pixel_auroc + shift) for r in mine]
        ).splitlines()
        assert len(lines) == len(mine) and all("reproduced" in line for line in lines)
        with pytest.raises(ResultDrift, match="bench/localization_table.py"):
            check_localization(committed, moved)
        unrecorded = [replace(r, cpu="", isa="", threads=0, torch="") for r in committed]
        for elsewhere in (unrecorded, _made_on(committed, replace(here, threads=here.threads + 1))):
            assert check_localization(elsewhere, moved).count("DRIFT") == 1  # reported in its line, not raised
        assert "not comparable" in check_localization(
            committed, [replace(r, precision="fp32", pixel_auroc=0.0) for r in mine]
        )
        scored_in_fp32 = [replace(r, scoring_precision="fp32") for r in moved]
        assert "not comparable" in check_localization(committed, scored_in_fp32)
        unscored = [replace(r, scoring_precision="") for r in unrecorded]  # written before rows recorded it
        assert check_localization(unscored, scored_in_fp32).count("DRIFT") == 1


def test_a_study_run_records_its_machine_and_a_rerun_here_is_held_to_it(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strict branch of the drift check runs from the signature the study's rows recorded."""
    from cplib.experiments.machines import recorded_signature, signature

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    tiny = get_profile("tiny")
    localization.measure_localization(root, ["weave"], tiny, "cpu", tmp_path / "loc.csv")
    committed = read_rows(tmp_path / "loc.csv", LocalizationRow)
    assert recorded_signature(committed) == signature(committed[0].precision, "cpu") and len(committed) == 4
    rerun = to_rows(*compare_networks(root, "weave", tiny, progress=False, device="cpu"), committed[0].stride)
    lines = check_localization(committed, rerun).splitlines()
    assert len(lines) == 4 and all("made on this machine): reproduced" in line for line in lines)
    with pytest.raises(ResultDrift):
        check_localization(committed, [replace(row, pixel_auroc=row.pixel_auroc + 0.031) for row in rerun])


def test_rows_record_the_precision_their_maps_were_scored_in(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile that trains in fp32 scores 32-px patches in bf16 where asked (or native): the rows say both."""
    from cplib import evaluate
    from cplib.inference import model_device
    from cplib.precision import inference_precision

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CPLIB_PRECISION", "bf16")
    tiny = get_profile("tiny")
    profile = replace(tiny, localization=replace(tiny.localization, size=128, patch_at_256=64, stride_at_256=64))
    scored, real = [], evaluate.dense_features

    def dense_features(model, images, patch, stride, chunk=None, precision=None):
        scored.append(inference_precision(patch, precision, model_device(model)))
        return real(model, images, patch, stride, chunk, precision)

    monkeypatch.setattr(evaluate, "dense_features", dense_features)
    rows = localization.measure_localization(root, ["weave"], profile, "cpu")
    assert set(scored) == {"bf16"} and {(row.precision, row.scoring_precision) for row in rows} == {("fp32", "bf16")}


def test_a_stopped_study_script_resumes_running_only_the_missing_categories(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("localization_table", REPO_ROOT / "bench" / "localization_table.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    compared, real = [], localization.compare_networks

    def stop_at_the_second(root, category, *args, **kwargs):
        if len(compared) == 1:
            raise KeyboardInterrupt  # the end of a session
        compared.append(category)
        return real(root, category, *args, **kwargs)

    out = tmp_path / "loc"
    argv = ["--data", root, "--profile", "tiny", "--out", str(out)]
    monkeypatch.setattr(localization, "compare_networks", stop_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        script.main(argv)
    assert [row.category for row in read_rows(out.with_suffix(".csv"), LocalizationRow)] == ["capsule"] * 4
    monkeypatch.setattr(
        localization, "compare_networks", lambda root, c, *a, **k: compared.append(c) or real(root, c, *a, **k)
    )
    assert script.main(argv) == 0
    rows = read_rows(out.with_suffix(".csv"), LocalizationRow)
    assert compared == list(CATEGORIES) and [row.category for row in rows] == [c for c in CATEGORIES for _ in range(4)]
    assert out.with_suffix(".md").read_text() == localization_table(rows) + "\n"


def test_committed_rows_are_read_only_for_the_default_data_at_the_same_settings(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = get_profile("tiny")
    geometry = tiny.localization.geometry()
    committed = [
        replace(r, size=geometry.size, patch=geometry.patch, stride=geometry.stride, steps=tiny.steps)
        for r in _rows(np.random.default_rng(3))
    ]
    table = tmp_path / "localization.csv"
    table.write_text(to_csv(committed))
    monkeypatch.setattr(localization, "COMMITTED_LOCALIZATION", table)
    monkeypatch.setattr(localization, "measure_localization", lambda *args: "measured here")
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    (tmp_path / "default").symlink_to(root)
    assert localization_results(str(tmp_path / "default"), list(CATEGORIES), tiny) == committed
    assert (
        localization_results(
            str(tmp_path / "default"),
            list(CATEGORIES),
            replace(tiny, localization=replace(tiny.localization, steps=tiny.localization.steps + 1)),
        )
        == "measured here"
    )
    assert localization_results(str(tmp_path / "default"), ["capsule"], tiny) == "measured here"
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "elsewhere"))  # the same images, no longer the default dataset
    assert localization_results(str(tmp_path / "default"), list(CATEGORIES), tiny) == "measured here"


def test_compare_networks_scores_the_cached_model_and_its_untrained_self(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    tiny = get_profile("tiny")
    settings = tiny.localization
    trained, compared = compare_networks(root, "weave", tiny, progress=False)
    config = settings.patch_config(tiny, "weave", data_root=root)
    train, test = localization_splits(root, "weave", settings)
    references = {TRAINED: get_or_train(config, progress=False).model, RANDOM_INIT: build_model(config)}
    for network, model in references.items():
        expected = localize_densities(model, train, test, settings.geometry(), settings.fit_images)
        for density, result in compared[network].items():
            assert result.pixel_auroc == expected[density].pixel_auroc and result.aupro == expected[density].aupro
    rows = to_rows(trained, compared, settings.geometry().stride)
    assert {(r.network, r.density) for r in rows} == {
        (n, d) for n in (TRAINED, RANDOM_INIT) for d in ("shared", "per-location")
    }
    assert all(r.patch == config.patch and r.steps == config.steps and not math.isnan(r.pixel_auroc) for r in rows)


def test_the_script_writes_the_csv_and_table_of_every_category(root: str, tmp_path: Path) -> None:
    env = {**os.environ, "CPLIB_DATA_DIR": str(tmp_path)}
    command = [
        sys.executable,
        str(REPO_ROOT / "bench" / "localization_table.py"),
        "--data",
        root,
        "--profile",
        "tiny",
        "--out",
        str(tmp_path / "loc"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    rows = from_csv((tmp_path / "loc.csv").read_text(), LocalizationRow)
    assert sorted({r.category for r in rows}) == list(CATEGORIES) and len(rows) == 4 * len(CATEGORIES)
    assert (tmp_path / "loc.md").read_text() == localization_table(rows) + "\n"


def test_the_committed_localization_table_describes_the_cpu_profile() -> None:
    """bench/results/localization.csv is what notebook 06 and docs/results.md show: every default category at the CPU
    settings."""
    rows = from_csv(localization.COMMITTED_LOCALIZATION.read_text(), LocalizationRow)
    geometry = get_profile("cpu").localization.geometry()
    assert {r.category for r in rows} == set(CATEGORIES) and len(rows) == 12
    assert all((r.size, r.patch, r.stride) == (geometry.size, geometry.patch, geometry.stride) for r in rows)
    assert (localization.COMMITTED_LOCALIZATION.with_suffix(".md")).read_text() == localization_table(rows) + "\n"
