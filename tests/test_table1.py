"""Table 1 and its studies (cplib.experiments: table1, margins, training_curve, scale) and their bench scripts, on a
tiny dataset with the tiny profile."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cplib.checkpoint import get_or_train
from cplib.evaluate import evaluate_model, random_init_baseline
from cplib.experiments.table1 import markdown_table, run_ablation
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small default-style dataset."""
    return str(
        write_dataset(
            tmp_path_factory.mktemp("data") / "default", counts=Counts(train=6, test_good=3, test_per_defect=2)
        )
    )


def test_markdown_table_lists_every_variant_with_the_paper_mean() -> None:
    table = markdown_table({"cutout": {"a": 0.5, "b": 0.7}, "3way": {"a": 0.9, "b": 1.0}}, title="t")
    lines = table.splitlines()
    assert lines[0] == "| variant | a | b | mean (t) | paper MVTec mean |"
    assert lines[2] == "| cutout | 50.0 | 70.0 | 60.0 | 71.3 |" and lines[3] == "| 3way | 90.0 | 100.0 | 95.0 | 95.2 |"


def test_run_ablation_covers_every_pair(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    profile = get_profile("tiny")
    results = run_ablation(root, ["weave", "capsule"], profile, variants=("cutout", "3way"))
    assert set(results) == {"cutout", "3way"} and all(set(row) == {"weave", "capsule"} for row in results.values())
    assert len(list((tmp_path / "models").glob("*.pt"))) == 4
    for variant, row in results.items():
        for category, auroc in row.items():  # each cell is its own pair's cached model, evaluated on its own category
            config = profile.config(variant, category, data_root=root)
            assert auroc == evaluate_model(get_or_train(config, progress=False).model, config, root).auroc


def test_mvtec_table_script_runs_on_the_default_layout(root: str, tmp_path: Path) -> None:
    out = tmp_path / "table.md"
    env = {**os.environ, "CPLIB_DATA_DIR": str(tmp_path)}
    command = [
        sys.executable,
        str(REPO_ROOT / "bench" / "mvtec_table.py"),
        "--data",
        root,
        "--profile",
        "tiny",
        "--variants",
        "scar",
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "| scar | " in text and "85.0" in text and "capsule" in text and "granite" in text and "weave" in text


def test_mvtec_table_script_names_a_missing_folder(tmp_path: Path) -> None:
    command = [
        sys.executable,
        str(REPO_ROOT / "bench" / "mvtec_table.py"),
        "--data",
        str(tmp_path / "nowhere"),
        "--out",
        str(tmp_path / "t.md"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 2 and "dataset folder not found" in done.stderr and "Traceback" not in done.stderr


def test_seeded_ablation_measures_every_variant_seed_and_the_random_network(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cplib.experiments.margins import spread_table
    from cplib.experiments.measurements import RANDOM_INIT
    from cplib.experiments.results import to_csv
    from cplib.experiments.table1 import seeded_ablation

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    rows = seeded_ablation(root, ["weave", "capsule"], get_profile("tiny"), seeds=[0, 1], variants=("cutout", "3way"))
    assert sorted((r.variant, r.category, r.seed) for r in rows) == sorted(
        (v, c, s) for v in ("cutout", "3way", RANDOM_INIT) for c in ("weave", "capsule") for s in (0, 1)
    )
    assert all((r.variant == RANDOM_INIT) == (r.steps == 0) for r in rows)
    for row in rows:  # each row is its own variant, category and seed's model (the untrained network for random init)
        config = get_profile("tiny").config("3way", row.category, data_root=root, seed=row.seed)
        if row.variant == RANDOM_INIT:
            assert row.auroc == random_init_baseline(config, root).auroc
        else:
            config = config.with_(variant=row.variant)
            assert row.auroc == evaluate_model(get_or_train(config, progress=False).model, config, root).auroc
    table = spread_table(rows)
    mean = lambda v, c: np.mean([r.auroc for r in rows if (r.variant, r.category) == (v, c)])  # noqa: E731
    for line in table.splitlines()[2:]:
        variant, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        for category, cell in zip(("weave", "capsule"), cells):
            assert cell.startswith(f"{100 * mean(variant, category):.1f} ± ")
            assert cell.endswith("↓") == (
                variant != RANDOM_INIT and mean(variant, category) < mean(RANDOM_INIT, category)
            )
    assert to_csv(rows).count("\n") == len(rows) + 1


def test_training_curve_runs_seed_by_seed_each_model_once_and_resumes(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cplib.experiments import grid
    from cplib.experiments.measurements import RANDOM_INIT
    from cplib.experiments.training_curve import training_curve

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    real, ran = grid.run_job, []
    monkeypatch.setattr(grid, "run_job", lambda job, root, device: ran.append(job.key) or real(job, root, device))
    out, tiny = tmp_path / "curve.csv", get_profile("tiny")
    rows = training_curve(root, ["weave"], tiny, lengths=[2, 4], seeds=[0, 1], out=out)
    assert [(r.seed, r.variant, r.steps) for r in rows] == [
        (seed, variant, steps) for seed in (0, 1) for variant, steps in ((RANDOM_INIT, 0), ("3way", 2), ("3way", 4))
    ]
    assert ran == [r.key for r in rows] and all(np.isnan(r.proxy_accuracy) for r in rows if r.variant == RANDOM_INIT)
    for row in rows[1:3] + rows[4:]:  # the mean proxy accuracy over the last 20 steps of that model's own history
        config = tiny.config("3way", "weave", data_root=root, seed=row.seed, steps=row.steps)
        accuracy = get_or_train(config, progress=False).history.accuracy
        assert len(accuracy) == row.steps and row.proxy_accuracy == pytest.approx(np.mean(accuracy[-20:]))
    assert len(list((tmp_path / "models").glob("*.pt"))) == 4
    again = training_curve(root, ["weave"], tiny, lengths=[2, 4], seeds=[0, 1], out=out)
    assert [r.key for r in again] == ran and len(ran) == 6  # the rerun measures nothing


@pytest.mark.parametrize(
    "script, options",
    [
        ("table1_seeds.py", ["--seeds", "0", "--variants", "scar"]),
        ("training_curve.py", ["--steps", "2"]),
        ("scale_study.py", ["--sizes", "32", "48", "--seeds", "0", "--variants", "scar"]),
    ],
)
def test_study_scripts_write_their_csv_table_and_figure(
    root: str, tmp_path: Path, script: str, options: list[str]
) -> None:
    env = {**os.environ, "CPLIB_DATA_DIR": str(tmp_path), "MPLBACKEND": "Agg"}
    out = tmp_path / "study"
    command = [
        sys.executable,
        str(REPO_ROOT / "bench" / script),
        "--data",
        root,
        "--profile",
        "tiny",
        *options,
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert (
        out.with_suffix(".csv")
        .read_text()
        .startswith("variant,category,seed,steps,size,auroc,proxy_accuracy,precision")
    )
    assert out.with_suffix(".png").stat().st_size > 0 and "weave" in out.with_suffix(".md").read_text()


def _script(name: str):
    """A bench script, imported to run in this process."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "script, options",
    [
        ("table1_seeds", ["--seeds", "0", "--variants", "scar"]),
        ("training_curve", ["--steps", "2", "3"]),
        ("scale_study", ["--sizes", "32", "--seeds", "0", "--variants", "scar"]),
    ],
)
def test_a_stopped_study_script_resumes_running_only_the_missing_jobs(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, options: list[str]
) -> None:
    from cplib.experiments import grid
    from cplib.experiments.measurements import Measurement
    from cplib.experiments.results import read_rows

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    main, real, ran = _script(script).main, grid.run_job, []

    def stop_at_the_third(job, root, device):
        if len(ran) == 2:
            raise KeyboardInterrupt  # the end of a session
        ran.append(job.key)
        return real(job, root, device)

    out = tmp_path / "study"
    argv = ["--data", root, "--profile", "tiny", *options, "--out", str(out)]
    monkeypatch.setattr(grid, "run_job", stop_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        main(argv)
    assert [row.key for row in read_rows(out.with_suffix(".csv"), Measurement)] == ran
    monkeypatch.setattr(grid, "run_job", lambda job, root, device: ran.append(job.key) or real(job, root, device))
    assert main(argv) == 0
    rows = read_rows(out.with_suffix(".csv"), Measurement)
    assert [row.key for row in rows] == ran and len(set(ran)) == len(ran) > 2  # each job once, over the two runs
    assert all(category in out.with_suffix(".md").read_text() for category in ("capsule", "granite", "weave"))


def _rows(draws: np.random.Generator, seeds: int = 3) -> list:
    """Random measurements of two variants and the random network on two categories."""
    from cplib.experiments.measurements import RANDOM_INIT, Measurement

    return [
        Measurement(
            v,
            c,
            seed,
            0 if v == RANDOM_INIT else 300,
            64,
            float(draws.uniform(0.4, 1.0)),
            float(draws.uniform()),
            "bf16",
        )
        for seed in range(seeds)
        for c in ("capsule", "weave")
        for v in (RANDOM_INIT, "cutout", "3way")
    ]


def test_measurements_round_trip_through_csv() -> None:
    from cplib.experiments.measurements import Measurement
    from cplib.experiments.results import from_csv, to_csv

    draws = np.random.default_rng(0)
    for _ in range(20):
        rows = _rows(draws, seeds=int(draws.integers(1, 5)))
        assert from_csv(to_csv(rows), Measurement) == rows
    with pytest.raises(ValueError, match="not a Measurement CSV"):
        from_csv("variant,category\ncutout,capsule\n", Measurement)


def test_margins_match_a_brute_force_paired_gap_and_verdict() -> None:
    from cplib.experiments.margins import margin_table, margins, proxy_accuracies
    from cplib.experiments.measurements import RANDOM_INIT

    draws = np.random.default_rng(1)
    for _ in range(50):
        rows = _rows(draws, seeds=int(draws.integers(1, 5)))
        seeds = sorted({r.seed for r in rows})
        auroc = {(r.variant, r.category, r.seed): r.auroc for r in rows}
        for category, margin in margins(rows, "3way").items():
            mine = [auroc["3way", category, s] for s in seeds]
            gaps = [auroc["3way", category, s] - auroc[RANDOM_INIT, category, s] for s in seeds]
            assert np.isclose(margin.mean, np.mean(mine)) and np.isclose(margin.gap, np.mean(gaps))
            if len(seeds) == 1:
                assert margin.verdict == "one seed: no spread"
                continue
            assert np.isclose(margin.sd, np.std(mine, ddof=1)) and np.isclose(margin.gap_sd, np.std(gaps, ddof=1))
            noise = 2 * np.std(gaps, ddof=1)
            expected = (
                "inside the noise" if abs(np.mean(gaps)) <= noise else ("above" if np.mean(gaps) > 0 else "below")
            )
            assert margin.verdict == expected and expected in margin.describe()
            assert f"better on {sum(g > 0 for g in gaps)} of {len(seeds)} seeds" in margin.describe()
        lines = {line.split(" | ")[0].strip("| "): line for line in margin_table(rows).splitlines()[2:]}
        for category, margin in margins(rows, "3way").items():
            cell = lines["3way"].strip("|").split("|")[1 + ("capsule", "weave").index(category)].strip()
            assert cell.startswith(f"{100 * margin.gap:+.1f} ± {100 * margin.gap_sd:.1f}")
            assert ("▲" in cell) == (margin.verdict == "above") and ("▼" in cell) == (margin.verdict == "below")
        accuracies = proxy_accuracies(rows, "cutout")
        for category in ("capsule", "weave"):
            assert np.isclose(
                accuracies[category],
                np.mean([r.proxy_accuracy for r in rows if (r.variant, r.category) == ("cutout", category)]),
            )


def test_a_table_of_uneven_seed_counts_names_each_variants_count_and_pairs_gaps_by_seed() -> None:
    from cplib.experiments.margins import margins, spread_table
    from cplib.experiments.measurements import RANDOM_INIT

    draws = np.random.default_rng(2)
    for _ in range(20):
        rows = _rows(draws, seeds=5)
        kept = int(draws.integers(1, 5))
        rows = [r for r in rows if r.variant != "cutout" or r.seed < kept]
        table = spread_table(rows)
        assert table.startswith("| variant (seeds) |")
        labels = [line.split(" | ")[0].strip("| ") for line in table.splitlines()[2:]]
        assert labels == [f"{RANDOM_INIT} (5)", f"cutout ({kept})", "3way (5)"]
        auroc = {(r.variant, r.category, r.seed): r.auroc for r in rows}
        for category, margin in margins(rows, "cutout").items():
            assert np.allclose(
                margin.differences,
                [auroc["cutout", category, s] - auroc[RANDOM_INIT, category, s] for s in range(kept)],
            )
    assert spread_table(_rows(draws, seeds=3)).startswith("| variant (3 seeds) |")


def _made_on(rows: list, made) -> list:
    """The rows as if measured on the machine of signature `made`."""
    from dataclasses import replace

    return [replace(row, cpu=made.cpu, isa=made.isa, threads=made.threads, torch=made.torch) for row in rows]


def test_check_reproduced_compares_a_run_with_the_committed_seeds_of_its_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    from cplib.errors import ResultDrift
    from cplib.experiments import table1
    from cplib.experiments.machines import signature
    from cplib.experiments.table1 import check_reproduced
    from cplib.train import TrainConfig

    config = TrainConfig(variant="3way", category="capsule", size=64, steps=300, precision="bf16")
    here = signature(config.precision, "cpu")
    rows = _made_on(_rows(np.random.default_rng(4)), here)  # made on this machine
    same = [r.auroc for r in rows if (r.variant, r.category) == ("3way", "capsule")]
    mean, reach = float(np.mean(same)), max(3 * float(np.std(same, ddof=1)), 0.03)
    assert "no committed seed has this config" in check_reproduced(rows, config.with_(precision="fp32"), mean, "cpu")
    assert "reproduced" in check_reproduced(rows, config, mean + 0.99 * reach, "cpu")
    with pytest.raises(ResultDrift, match="bench/table1_seeds.py"):
        check_reproduced(rows, config, mean + 1.01 * reach, "cpu")
    monkeypatch.setattr(table1, "cross_machine_spread", lambda measures: 0.1)
    for elsewhere in (
        _rows(np.random.default_rng(4)),  # made on a machine not recorded
        _made_on(rows, replace(here, threads=here.threads + 1)),
        [replace(row, threads=row.threads + row.seed) for row in rows],  # on several machines
    ):
        assert "inside" in check_reproduced(elsewhere, config, mean + reach + 0.099, "cpu")
        assert "DRIFT" in check_reproduced(elsewhere, config, mean + reach + 0.101, "cpu")  # reported, not raised


def test_a_study_run_records_its_machine_and_a_rerun_here_is_held_to_it(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The strict branch of the drift check runs from the signature the study's rows recorded."""
    from cplib.errors import ResultDrift
    from cplib.experiments.machines import recorded_signature, signature
    from cplib.experiments.measurements import Measurement
    from cplib.experiments.results import read_rows
    from cplib.experiments.table1 import check_reproduced, seeded_ablation

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    tiny = get_profile("tiny")
    seeded_ablation(root, ["weave"], tiny, [0, 1], ("3way",), "cpu", tmp_path / "study.csv")
    rows = read_rows(tmp_path / "study.csv", Measurement)
    config = tiny.config("3way", "weave", data_root=root)
    assert recorded_signature(rows) == signature(config.precision, "cpu")
    seeds = [row.auroc for row in rows if row.variant == "3way"]
    mean, reach = float(np.mean(seeds)), max(3 * float(np.std(seeds, ddof=1)), 0.03)
    assert "made on this machine): reproduced" in check_reproduced(rows, config, mean, "cpu")
    with pytest.raises(ResultDrift):
        check_reproduced(rows, config, mean + 1.01 * reach, "cpu")


def test_a_run_is_compared_only_with_seeds_of_its_own_recipe(root: str, tmp_path: Path, monkeypatch) -> None:
    """Keyed rows match the config that made them only; rows written before keys (the paper's SGD) match a config with
    the paper's optimiser settings only."""
    from dataclasses import replace

    from cplib.experiments.measurements import Measurement
    from cplib.experiments.results import read_rows
    from cplib.experiments.table1 import check_reproduced, seeded_ablation

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    tiny = get_profile("tiny")
    seeded_ablation(root, ["weave"], tiny, [0, 1], ("3way",), "cpu", tmp_path / "study.csv")
    rows = [row for row in read_rows(tmp_path / "study.csv", Measurement) if row.variant == "3way"]
    paper = tiny.config("3way", "weave", data_root=root)
    adamw = tiny.config("3way", "weave", recipe="AdamW 1e-3", data_root=root)
    assert "no committed seed" not in check_reproduced(rows, paper, rows[0].auroc, "cpu")
    assert "no committed seed" in check_reproduced(rows, adamw, rows[0].auroc, "cpu")
    keyless = [replace(row, key="", cpu="") for row in rows]
    assert "no committed seed" not in check_reproduced(keyless, paper, rows[0].auroc, "cpu")
    assert "no committed seed" in check_reproduced(keyless, adamw, rows[0].auroc, "cpu")


def test_seeded_results_read_the_committed_table_only_for_the_default_data(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cplib.experiments import table1
    from cplib.experiments.measurements import RANDOM_INIT
    from cplib.experiments.results import to_csv
    from cplib.experiments.table1 import seeded_results

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    tiny = get_profile("tiny")
    committed = [
        row.__class__(**{**row.__dict__, "size": tiny.size, "steps": row.steps and tiny.steps})
        for row in _rows(np.random.default_rng(3))
    ]
    table = tmp_path / "table1_seeds.csv"
    table.write_text(to_csv(committed))
    monkeypatch.setattr(table1, "COMMITTED_TABLE1", table)
    (tmp_path / "default").symlink_to(root)
    assert seeded_results(str(tmp_path / "default"), ["capsule", "weave"], tiny, ("cutout",)) == [
        r for r in committed if r.variant in (RANDOM_INIT, "cutout")
    ]
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "elsewhere"))  # the same images, no longer the default dataset
    measured = seeded_results(root, ["capsule", "weave"], tiny, ("cutout",))
    assert [(r.variant, r.category, r.seed) for r in measured] == [
        (v, c, 0) for c in ("capsule", "weave") for v in (RANDOM_INIT, "cutout")
    ]
    assert all(r.steps == tiny.steps for r in measured if r.variant == "cutout")


def _curve(draws: np.random.Generator, lengths: tuple[int, ...] = (100, 300, 1000), seeds: int = 1) -> list:
    """A random training-length curve: the random network and each length, on two categories, seed by seed."""
    from cplib.experiments.measurements import RANDOM_INIT, Measurement

    return [
        Measurement(
            RANDOM_INIT if n == 0 else "3way",
            c,
            seed,
            n,
            64,
            float(draws.uniform(0.4, 1.0)),
            float(draws.uniform()),
            "bf16",
        )
        for seed in range(seeds)
        for c in ("capsule", "weave")
        for n in (0, *lengths)
    ]


def _cells(table: str) -> dict[str, list[str]]:
    """A Markdown table's body, first cell -> the others, stripped."""
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:] if line]
    return {first: rest for first, *rest in rows if not first.startswith("mean ±")}


def _brute_cell(rows: list, category: str, steps: int) -> str:
    """A curve table's cell from the rows by hand: AUROC (%) mean ± sample sd over the seeds, ▲/▼ where the paired gap
    to the random network passes two sds, · mean proxy accuracy, and the seeds where the category has more."""
    from cplib.experiments.measurements import RANDOM_INIT

    mine = {r.seed: r for r in rows if (r.category, r.steps) == (category, steps)}
    random = {r.seed: r.auroc for r in rows if (r.category, r.variant) == (category, RANDOM_INIT)}
    auroc = np.array([r.auroc for r in mine.values()])
    cell = f"{100 * auroc.mean():.1f}" + (f" ± {100 * auroc.std(ddof=1):.1f}" if len(mine) > 1 else "")
    gaps = np.array([r.auroc - random[s] for s, r in mine.items()])
    if steps and len(gaps) > 1 and abs(gaps.mean()) > 2 * gaps.std(ddof=1):
        cell += " ▲" if gaps.mean() > 0 else " ▼"
    if steps:
        cell += f" · {np.mean([r.proxy_accuracy for r in mine.values()]):.2f}"
    if set(mine) != {r.seed for r in rows if r.category == category}:
        cell += " (seeds " + ", ".join(map(str, sorted(mine))) + ")"
    return cell


@pytest.mark.parametrize("seeds", [1, 3])
def test_curve_table_holds_every_length_in_order_over_the_seeds(seeds: int) -> None:
    from cplib.experiments.training_curve import curve_table

    draws = np.random.default_rng(5)
    for _ in range(10):
        lengths = tuple(
            sorted(draws.choice([100, 300, 1000, 3000], size=int(draws.integers(1, 5)), replace=False).tolist())
        )
        rows = _curve(draws, lengths, seeds)
        table = curve_table(rows)
        lines = table.splitlines()
        assert lines[0] == "| category | seeds | random init | " + " | ".join(f"{n} steps" for n in lengths) + " |"
        names = ", ".join(map(str, range(seeds)))
        assert _cells(table) == {
            c: [names, *(_brute_cell(rows, c, n) for n in (0, *lengths))] for c in ("capsule", "weave")
        }
        assert ("±" in table) == (seeds > 1)


def test_curve_means_and_gaps_are_the_seeds_mean_sd_and_paired_differences() -> None:
    from cplib.experiments.training_curve import curve_gaps, curve_means

    rows = _curve(np.random.default_rng(7), (100, 1000), seeds=3)
    points, gaps = curve_means(rows), curve_gaps(rows)
    assert set(points) == {(c, n) for c in ("capsule", "weave") for n in (0, 100, 1000)} and set(gaps) == set(
        points
    ) - {
        ("capsule", 0),
        ("weave", 0),
    }
    for (category, steps), point in points.items():
        mine = [r for r in rows if (r.category, r.steps) == (category, steps)]
        auroc, accuracy = np.array([r.auroc for r in mine]), np.array([r.proxy_accuracy for r in mine])
        assert (point.category, point.steps, point.seeds) == (category, steps, (0, 1, 2))
        assert (point.auroc, point.sd) == pytest.approx((auroc.mean(), auroc.std(ddof=1)))
        if steps:
            assert (point.proxy_accuracy, point.proxy_sd) == pytest.approx((accuracy.mean(), accuracy.std(ddof=1)))
            random = np.array([r.auroc for r in rows if (r.category, r.steps) == (category, 0)])
            assert gaps[category, steps].differences == pytest.approx(auroc - random)
            assert (gaps[category, steps].random_mean, gaps[category, steps].mean) == pytest.approx(
                (random.mean(), auroc.mean())
            )


def test_a_curve_with_partial_seeds_reports_the_seeds_each_cell_has() -> None:
    from cplib.experiments.training_curve import curve_gaps, curve_means, curve_table

    full = _curve(np.random.default_rng(8), (100, 1000), seeds=3)
    rows = [
        r for r in full if not (r.seed == 2 and r.steps == 1000) and not (r.category == "weave" and r.steps == 1000)
    ]
    points, gaps = curve_means(rows), curve_gaps(rows)
    assert points["capsule", 1000].seeds == (0, 1) and len(gaps["capsule", 1000].differences) == 2
    assert points["capsule", 100].seeds == (0, 1, 2) and ("weave", 1000) not in points
    cells = _cells(curve_table(rows))
    assert cells["capsule"] == ["0, 1, 2", *(_brute_cell(rows, "capsule", n) for n in (0, 100, 1000))]
    assert cells["capsule"][-1].endswith("(seeds 0, 1)") and cells["weave"][-1] == "—"
    alone = [r for r in rows if r.seed == 2 and r.category == "weave"]  # one seed: values, no spread
    assert _cells(curve_table(alone)) == {
        "weave": ["2", f"{100 * alone[0].auroc:.1f}", _brute_cell(alone, "weave", 100)]
    }


def test_curve_figure_draws_a_band_per_category_where_there_are_seeds() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from cplib.plots import curve_figure

    rows = _curve(np.random.default_rng(9), (100, 1000), seeds=2)
    auroc, accuracy = curve_figure(rows).axes
    assert len(auroc.collections) == len(accuracy.collections) == 2
    trained = [line for line in auroc.lines if line.get_label() in ("capsule", "weave")]
    capsule = [np.mean([r.auroc for r in rows if (r.category, r.steps) == ("capsule", n)]) for n in (100, 1000)]
    assert list(trained[0].get_xdata()) == [100, 1000] and trained[0].get_ydata() == pytest.approx(capsule)
    assert curve_figure(_curve(np.random.default_rng(9))).axes[0].get_legend() is not None


def test_the_committed_curve_is_read_only_for_the_default_data_at_the_profile_size(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from cplib.experiments import training_curve
    from cplib.experiments.results import to_csv
    from cplib.experiments.training_curve import committed_curve

    tiny = get_profile("tiny")
    rows = [replace(r, size=tiny.size) for r in _curve(np.random.default_rng(6))]
    curve = tmp_path / "training_curve.csv"
    curve.write_text(to_csv(rows))
    monkeypatch.setattr(training_curve, "COMMITTED_CURVE", curve)
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    (tmp_path / "default").symlink_to(root)
    assert committed_curve(str(tmp_path / "default"), ["capsule", "weave"], tiny) == rows
    assert committed_curve(str(tmp_path / "default"), ["capsule", "weave"], replace(tiny, size=tiny.size * 2)) is None
    assert committed_curve(str(tmp_path / "default"), ["capsule"], tiny) is None
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "elsewhere"))  # the same images, no longer the default dataset
    assert committed_curve(str(tmp_path / "default"), ["capsule", "weave"], tiny) is None


def test_budget_steps_buy_the_profile_s_pixels_at_every_size() -> None:
    from dataclasses import replace

    from cplib.experiments.scale import STEP_OVERHEAD_PIXELS, budget_steps

    draws = np.random.default_rng(7)
    for _ in range(200):
        profile = replace(get_profile("cpu"), size=int(draws.integers(32, 257)), steps=int(draws.integers(1, 5000)))
        sizes = sorted(int(s) for s in draws.integers(32, 513, size=4))
        steps = [budget_steps(profile, size) for size in sizes]
        assert budget_steps(profile, profile.size) == profile.steps
        assert all(n >= 1 for n in steps) and steps == sorted(steps, reverse=True)
        for size, n in zip(sizes, steps):
            cost, budget = STEP_OVERHEAD_PIXELS + size**2, profile.steps * (STEP_OVERHEAD_PIXELS + profile.size**2)
            assert (
                n == 1 or abs(n * cost - budget) <= 0.5 * cost
            )  # the nearest whole number of steps to the profile's time


def test_scale_study_trains_each_size_for_its_budget(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cplib.experiments.measurements import RANDOM_INIT
    from cplib.experiments.scale import budget_steps, scale_study

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    tiny = get_profile("tiny")
    rows = scale_study(root, ["weave"], tiny, sizes=[32, 48], seeds=[0], variants=("scar",))
    assert [(r.variant, r.size, r.steps) for r in rows] == [
        (RANDOM_INIT, 32, 0),
        ("scar", 32, tiny.steps),
        (RANDOM_INIT, 48, 0),
        ("scar", 48, budget_steps(tiny, 48)),
    ]
    assert len(list((tmp_path / "models").glob("*.pt"))) == 2


def _scaled(draws: np.random.Generator, sizes: tuple[int, ...] = (64, 96, 128)) -> list:
    """Random seeded measurements at several sizes, each size's models at its own step count."""
    from dataclasses import replace

    return [
        replace(row, size=size, steps=0 if row.steps == 0 else 300 * 64 // size)
        for size in sizes
        for row in _rows(draws, seeds=int(draws.integers(1, 4)))
    ]


def test_scale_table_holds_each_size_s_random_network_and_paired_gaps() -> None:
    from cplib.experiments.margins import margin_table
    from cplib.experiments.measurements import RANDOM_INIT
    from cplib.experiments.scale import by_size, scale_table

    draws = np.random.default_rng(8)
    for _ in range(20):
        rows = _scaled(draws)
        lines = scale_table(rows).splitlines()[2:]
        assert len(lines) == 3 * 3
        for k, (size, at) in enumerate(by_size(rows).items()):
            random, *variants = lines[3 * k : 3 * k + 3]
            head, label, *cells = [cell.strip() for cell in random.strip("|").split("|")]
            steps = max(r.steps for r in at)
            assert (
                head == f"{size} px · {steps} steps"
                and label == f"random init, AUROC ({len({r.seed for r in at})} seeds)"
            )
            for category, cell in zip(("capsule", "weave"), cells):
                values = [r.auroc for r in at if (r.variant, r.category) == (RANDOM_INIT, category)]
                sd = np.std(values, ddof=1) if len(values) > 1 else 0.0
                assert cell == f"{100 * np.mean(values):.1f} ± {100 * sd:.1f}"
            gaps = {
                line.split(" | ")[0].strip("| "): line.split(" | ", 1)[1] for line in margin_table(at).splitlines()[2:]
            }
            for line in variants:
                _, name, rest = line.split(" | ", 2)
                assert gaps[name.removesuffix(": gap · proxy acc.")] == rest


def test_the_committed_scale_study_is_read_only_for_the_default_data_at_budget_steps(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from cplib.experiments import scale
    from cplib.experiments.results import to_csv
    from cplib.experiments.scale import budget_steps, committed_scale

    cpu = get_profile("cpu")
    rows = [
        replace(r, steps=0 if r.steps == 0 else budget_steps(cpu, r.size)) for r in _scaled(np.random.default_rng(9))
    ]
    study = tmp_path / "scale.csv"
    study.write_text(to_csv(rows))
    monkeypatch.setattr(scale, "COMMITTED_SCALE", study)
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    (tmp_path / "default").symlink_to(root)
    assert committed_scale(str(tmp_path / "default"), ["capsule", "weave"], cpu) == rows
    assert committed_scale(str(tmp_path / "default"), ["capsule", "weave"], replace(cpu, steps=cpu.steps * 2)) is None
    assert committed_scale(str(tmp_path / "default"), ["weave"], cpu) is None
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "elsewhere"))  # the same images, no longer the default dataset
    assert committed_scale(str(tmp_path / "default"), ["capsule", "weave"], cpu) is None


def test_each_length_of_the_training_curve_warms_up_for_its_own_share_of_steps(monkeypatch) -> None:
    from dataclasses import replace

    from cplib.experiments import training_curve

    captured = []
    monkeypatch.setattr(training_curve, "measure_jobs", lambda jobs, *rest: captured.extend(jobs) or [])
    profile = replace(get_profile("tiny"), recipe="AdamW 1e-3, warm-up, decay 0.05")
    training_curve.training_curve("unused", ["weave"], profile, [100, 1000], device="cpu")
    trained = [(job.config.steps, job.config.warmup) for job in captured if not job.random_init]
    assert trained == [(100, 10), (1000, 100)] and all(job.config.optimiser == "adamw" for job in captured)


def test_the_headline_names_the_recipe_each_study_was_trained_with(root: str) -> None:
    from dataclasses import replace

    from cplib.experiments.headline import recipe_name
    from cplib.experiments.measurements import MEASURED
    from cplib.experiments.results import row_key
    from cplib.profiles import LESSON_RECIPE

    cpu, draws = get_profile("cpu"), np.random.default_rng(5)
    rows = [row for row in _rows(draws, seeds=2) if row.variant != "random init"]
    keyed = {
        recipe: [
            replace(
                row,
                key=row_key(
                    cpu.config(
                        row.variant, row.category, recipe=recipe, data_root=root, seed=row.seed, steps=row.steps
                    ),
                    MEASURED,
                ),
            )
            for row in rows
        ]
        for recipe in (LESSON_RECIPE, "paper", "AdamW 1e-3")
    }
    untrained = [row for row in _rows(draws, seeds=2) if row.variant == "random init"]  # no recipe trained these
    assert recipe_name(keyed[LESSON_RECIPE] + untrained, cpu, root) == "lesson recipe"
    assert recipe_name(keyed["paper"], cpu, root) == recipe_name(rows, cpu, root) == "paper's SGD"  # keyless: SGD
    assert recipe_name(keyed["AdamW 1e-3"], cpu, root) == "mixed recipes"
    assert recipe_name(keyed[LESSON_RECIPE][:-1] + keyed["paper"][-1:], cpu, root) == "mixed recipes"
