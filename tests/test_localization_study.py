"""Notebook 06's comparison over every category and seed (trained patch model vs its untrained self), its table over
seeds, its CSV, its committed copy and the check that a rerun agrees; on a tiny dataset with the tiny profile."""

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
from cplib.errors import ConfigError, ResultDrift
from cplib.evaluate import localize_densities
from cplib.experiments import localization
from cplib.experiments.localization import (
    TRAINED,
    LocalizationRow,
    check_localization,
    compare_networks,
    density_margins,
    localization_key,
    localization_keys,
    localization_results,
    localization_splits,
    localization_table,
    pixel_aurocs,
    proxy_accuracy,
    scoring_precision,
    to_rows,
    training_margins,
)
from cplib.experiments.measurements import RANDOM_INIT
from cplib.experiments.results import from_csv, read_rows, to_csv
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import build_model

CATEGORIES = ("capsule", "granite", "weave")
NETWORKS, DENSITIES = (TRAINED, RANDOM_INIT), ("shared", "per-location")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(
        write_dataset(
            tmp_path_factory.mktemp("data") / "default", counts=Counts(train=6, test_good=2, test_per_defect=2)
        )
    )


def _rows(
    draws: np.random.Generator, categories: tuple[str, ...] = CATEGORIES, seeds: tuple[int, ...] = (0,)
) -> list[LocalizationRow]:
    """Random rows: every category, seed, network and density; the trained model's accuracy shared by its category and
    seed. Each cell's metrics are a level of its own plus per-seed noise of a random scale, so that paired gaps fall
    beyond two sds as well as inside them."""
    levels = {(c, n, d): draws.uniform(0.3, 1.0, 3) for c in categories for n in NETWORKS for d in DENSITIES}
    noise = float(draws.choice([0.001, 0.02, 0.3]))
    rows = []
    for seed in seeds:
        for category in categories:
            accuracy = float(draws.uniform(0.3, 1.0))
            for network in NETWORKS:
                for density in DENSITIES:
                    metrics = levels[category, network, density] + draws.normal(0, noise, 3)
                    rows.append(
                        LocalizationRow(
                            category,
                            network,
                            density,
                            *map(float, metrics),
                            accuracy,
                            128,
                            32,
                            8,
                            300,
                            "bf16",
                            seed,
                            "bf16",
                        )  # fmt: skip
                    )
    return rows


def _seeded_rows(draws: np.random.Generator) -> list[LocalizationRow]:
    """_rows over one to four distinct random seeds, in a random order."""
    seeds = tuple(int(s) for s in draws.choice(50, size=int(draws.integers(1, 5)), replace=False))
    rows = _rows(draws, seeds=seeds)
    return [rows[i] for i in draws.permutation(len(rows))]


def test_rows_round_trip_through_csv() -> None:
    draws = np.random.default_rng(0)
    for _ in range(20):
        rows = _rows(draws)
        assert from_csv(to_csv(rows), LocalizationRow) == rows
    with pytest.raises(ValueError, match="not a LocalizationRow CSV"):
        from_csv("variant,category\ncutout,capsule\n", LocalizationRow)  # a Measurement header


def _values(rows: list[LocalizationRow], category: str, network: str, density: str, measure: str) -> dict[int, float]:
    return {
        r.seed: getattr(r, measure) for r in rows if (r.category, r.network, r.density) == (category, network, density)
    }


def _spread_by_hand(values: list[float], digits: int) -> str:
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{float(np.mean(values)):.{digits}f} ± {sd:.{digits}f}"


def _gap_by_hand(mine: dict[int, float], theirs: dict[int, float]) -> tuple[float, float, str]:
    """The paired gap's mean, sd and verdict by the course's rule, in a plain loop over the seeds both have."""
    gaps = [mine[s] - theirs[s] for s in sorted(mine) if s in theirs]
    mean = float(np.mean(gaps))
    sd = float(np.std(gaps, ddof=1)) if len(gaps) > 1 else 0.0
    if len(gaps) < 2:
        return mean, sd, "one seed: no spread"
    return mean, sd, "inside the noise" if abs(mean) <= 2 * sd else ("above" if mean > 0 else "below")


def _gap_cell_by_hand(
    rows: list[LocalizationRow], category: str, mine: tuple[str, str], theirs: tuple[str, str]
) -> str:
    cells = []
    for measure in ("pixel_auroc", "aupro"):
        mean, sd, verdict = _gap_by_hand(
            _values(rows, category, *mine, measure), _values(rows, category, *theirs, measure)
        )
        cells.append(f"{mean:+.3f} ± {sd:.3f}" + {"above": " ▲", "below": " ▼"}.get(verdict, ""))
    return f"{cells[0]} ({cells[1]})"


def _table_rows(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]


def test_localization_table_holds_mean_sd_and_paired_gaps_of_every_cell_over_seeds() -> None:
    draws = np.random.default_rng(1)
    marks = set()
    for _ in range(60):
        rows = _seeded_rows(draws)
        categories = list(dict.fromkeys(r.category for r in rows))
        networks, densities, legend = localization_table(rows).split("\n\n")
        assert "mean ± sd" in legend and len(_table_rows(networks)) == len(_table_rows(densities)) == len(categories)
        for cells, others, category in zip(_table_rows(networks), _table_rows(densities), categories):
            seeds = {r.seed for r in rows if r.category == category}
            default = "shared" if category in ("granite", "weave") else "per-location"
            label = f"{category} ({default}; {'one seed' if len(seeds) == 1 else f'{len(seeds)} seeds'})"
            accuracy = list(_values(rows, category, TRAINED, "shared", "proxy_accuracy").values())
            assert cells[:2] == others[:1] + [_spread_by_hand(accuracy, 2)] and cells[0] == label
            by_hand = [
                f"{_spread_by_hand(list(_values(rows, category, n, d, 'pixel_auroc').values()), 3)} "
                f"({_spread_by_hand(list(_values(rows, category, n, d, 'aupro').values()), 3)})"
                for n in NETWORKS
                for d in DENSITIES
            ]
            assert cells[2:6] == by_hand
            assert cells[6] == _gap_cell_by_hand(rows, category, (TRAINED, default), (RANDOM_INIT, default))
            assert others[1:] == [
                _gap_cell_by_hand(rows, category, (n, "per-location"), (n, "shared")) for n in NETWORKS
            ]
            marks.update(mark for mark in ("▲", "▼") if mark in cells[6])
    assert marks == {"▲", "▼"}  # the draws reach both verdicts


def test_the_margins_and_lookups_equal_a_hand_loop_over_the_paired_seeds() -> None:
    draws = np.random.default_rng(4)
    verdicts = set()
    for _ in range(60):
        rows = _seeded_rows(draws)
        if len({r.seed for r in rows}) > 1:  # a seed the random network lacks is left out of the pairs
            rows = [r for r in rows if (r.network, r.seed) != (RANDOM_INIT, max(r.seed for r in rows))]
        trained, densities = training_margins(rows, "aupro"), density_margins(rows)
        pixel, accuracy = pixel_aurocs(rows), proxy_accuracy(rows)
        for category in CATEGORIES:
            default = "shared" if category in ("granite", "weave") else "per-location"
            mine, theirs = (_values(rows, category, n, default, "aupro") for n in NETWORKS)
            mean, sd, verdict = _gap_by_hand(mine, theirs)
            found = trained[category]
            assert np.isclose(found.gap, mean) and np.isclose(found.gap_sd, sd) and found.verdict == verdict
            assert len(found.differences) == len(theirs) and np.isclose(found.mean, np.mean(list(mine.values())))
            verdicts.add(verdict)
            for network in NETWORKS:
                values = [_values(rows, category, network, d, "pixel_auroc") for d in ("per-location", "shared")]
                mean, sd, verdict = _gap_by_hand(*values)
                found = densities[category, network]
                assert np.isclose(found.gap, mean) and np.isclose(found.gap_sd, sd) and found.verdict == verdict
                for density in DENSITIES:
                    expected = np.mean(list(_values(rows, category, network, density, "pixel_auroc").values()))
                    assert np.isclose(pixel[category, network, density], expected)
            expected = np.mean(list(_values(rows, category, TRAINED, "shared", "proxy_accuracy").values()))
            assert np.isclose(accuracy[category], expected)
    assert verdicts == {"above", "below", "inside the noise", "one seed: no spread"}


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


def _script():
    spec = importlib.util.spec_from_file_location("localization_table", REPO_ROOT / "bench" / "localization_table.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_a_stopped_study_script_resumes_running_only_the_missing_category_seed_jobs(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _script()
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    compared, real = [], localization.compare_networks

    def stop_at_the_fifth(root, category, *args, seed, **kwargs):
        if len(compared) == 4:
            raise KeyboardInterrupt  # the end of a session
        compared.append((category, seed))
        return real(root, category, *args, seed=seed, **kwargs)

    out = tmp_path / "loc"
    argv = ["--data", root, "--profile", "tiny", "--seeds", "0", "1", "--out", str(out)]
    monkeypatch.setattr(localization, "compare_networks", stop_at_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        script.main(argv)
    jobs = [(c, s) for s in (0, 1) for c in CATEGORIES]  # every category of a seed before the next seed
    stopped = read_rows(out.with_suffix(".csv"), LocalizationRow)
    assert compared == jobs[:4] and [(r.category, r.seed) for r in stopped] == [
        job for job in jobs[:4] for _ in range(4)
    ]

    def counted(root, category, *args, seed, **kwargs):
        compared.append((category, seed))
        return real(root, category, *args, seed=seed, **kwargs)

    monkeypatch.setattr(localization, "compare_networks", counted)
    assert script.main(argv) == 0
    rows = read_rows(out.with_suffix(".csv"), LocalizationRow)
    assert compared == jobs and [(r.category, r.seed) for r in rows] == [job for job in jobs for _ in range(4)]
    assert out.with_suffix(".md").read_text() == localization_table(rows) + "\n"
    assert script.main(argv) == 0 and compared == jobs  # nothing left to run


def test_the_script_runs_seeds_0_1_2_by_default_and_refuses_seeds_it_cannot_use(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script()
    asked = []
    monkeypatch.setattr(script, "measure_localization", lambda *args: asked.append(args[-1]))
    monkeypatch.setattr(script, "study_rows", lambda *args: _rows(np.random.default_rng(5)))
    argv = ["--data", root, "--profile", "tiny", "--out", str(tmp_path / "loc")]
    assert script.main(argv) == 0 and asked == [[0, 1, 2]]
    for seeds in ([], ["-1"], ["1.5"]):
        with pytest.raises(SystemExit) as stopped:
            script.main([*argv, "--seeds", *seeds])
        assert stopped.value.code == 2 and "--seeds" in capsys.readouterr().err
    monkeypatch.setattr(script, "measure_localization", localization.measure_localization)
    assert script.main([*argv, "--seeds", "1", "1"]) == 2
    assert "seeds [1, 1]: name each seed once" in capsys.readouterr().err
    for seeds, message in (((), "no seeds"), ((0, 0), "name each seed once"), ((-1,), "seed=-1")):
        with pytest.raises(ConfigError, match=message):
            localization.measure_localization(root, ["weave"], get_profile("tiny"), "cpu", seeds=seeds)


def test_seed_0_keeps_its_keys_and_each_seed_is_its_own_reproducible_study(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows written before seeds were an option are seed 0's rows; another seed trains and initialises its own
    networks, the same ones on every run."""
    tiny = get_profile("tiny")
    settings = tiny.localization
    for category in CATEGORIES:
        config = settings.patch_config(tiny, category, data_root=root)  # the config of a study without seeds
        scoring = scoring_precision(config, "cpu")
        before = {(n, d): localization_key(config, settings, n, d, scoring) for n in NETWORKS for d in DENSITIES}
        assert localization_keys(root, category, tiny, "cpu") == localization_keys(root, category, tiny, "cpu", 0)
        assert localization_keys(root, category, tiny, "cpu", 0) == before
        assert not set(localization_keys(root, category, tiny, "cpu", 1).values()) & set(before.values())
    runs = []
    for run in ("first", "second"):
        monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / run))  # an empty model cache: each run trains
        runs.append(localization.measure_localization(root, ["weave"], tiny, "cpu", seeds=(1, 0)))
    first, second = runs
    assert [r.seed for r in first] == [1] * 4 + [0] * 4 and first == second
    random_pixel = {r.seed: r.pixel_auroc for r in first if (r.network, r.density) == (RANDOM_INIT, "shared")}
    assert random_pixel[0] != random_pixel[1]  # each seed's own initialisation


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
        "--seeds",
        "0",
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
    settings, with all four rows of each seed it holds."""
    rows = from_csv(localization.COMMITTED_LOCALIZATION.read_text(), LocalizationRow)
    geometry = get_profile("cpu").localization.geometry()
    seeds = {r.seed for r in rows}
    cells = sorted((r.category, r.seed, r.network, r.density) for r in rows)
    assert cells == sorted((c, s, n, d) for c in CATEGORIES for s in seeds for n in NETWORKS for d in DENSITIES)
    assert all((r.size, r.patch, r.stride) == (geometry.size, geometry.patch, geometry.stride) for r in rows)
    assert (localization.COMMITTED_LOCALIZATION.with_suffix(".md")).read_text() == localization_table(rows) + "\n"


def test_the_headline_shows_the_pixel_auroc_mean_over_the_localization_seeds() -> None:
    from cplib.experiments.headline import VARIANT, headline_table
    from cplib.experiments.measurements import Measurement
    from cplib.experiments.results import study_rows
    from cplib.experiments.table1 import COMMITTED_TABLE1
    from cplib.experiments.training_curve import COMMITTED_CURVE

    table1 = [r for r in study_rows(COMMITTED_TABLE1, Measurement) if r.variant in (RANDOM_INIT, VARIANT)]
    curve = study_rows(COMMITTED_CURVE, Measurement)
    draws = np.random.default_rng(6)
    for seeds, named in (((0,), "(seed 0)"), ((2,), "(seed 2)"), ((0, 1, 2), "(mean of seeds 0, 1, 2)")):
        rows = _rows(draws, seeds=seeds)
        line = headline_table(table1, curve, rows).splitlines()[-1]
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[0].endswith(named)
        for cell, category in zip(cells[1:], CATEGORIES):
            default = "shared" if category in ("granite", "weave") else "per-location"
            means = [np.mean(list(_values(rows, category, n, default, "pixel_auroc").values())) for n in NETWORKS]
            assert cell == f"{means[0]:.3f} vs {means[1]:.3f}"


def test_the_headline_reads_the_curve_as_the_mean_over_its_seeds() -> None:
    from cplib.experiments.headline import VARIANT, headline_table
    from cplib.experiments.measurements import Measurement
    from cplib.experiments.results import study_rows
    from cplib.experiments.table1 import COMMITTED_TABLE1

    table1 = [r for r in study_rows(COMMITTED_TABLE1, Measurement) if r.variant in (RANDOM_INIT, VARIANT)]
    draws = np.random.default_rng(7)
    curve = [
        Measurement(VARIANT if n else RANDOM_INIT, c, seed, n, 64, float(draws.uniform(0.4, 1.0)), 0.5, "bf16")
        for seed in range(3)
        for c in CATEGORIES
        for n in (0, 100, 1000)
    ]
    line = headline_table(table1, curve, _rows(draws)).splitlines()[-2]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[0].endswith("1000 steps vs random (mean of seeds 0, 1, 2)")
    for cell, category in zip(cells[1:], CATEGORIES):
        mean = [np.mean([r.auroc for r in curve if (r.category, r.steps) == (category, n)]) for n in (1000, 0)]
        assert cell == f"{100 * mean[0]:.1f} vs {100 * mean[1]:.1f}"
