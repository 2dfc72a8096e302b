"""Machines: a result's signature, the emulated other machines, the cross-machine spread, and the drift check that is
strict on the machine that made a result and never fails elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from cplib.errors import ConfigError, ResultDrift
from cplib.experiments import machines
from cplib.experiments.machines import (
    EMULATED,
    REPRODUCE_FLOOR,
    Signature,
    SpreadRow,
    check_reproduction,
    committed_signature,
    emulation_environment,
    largest_spread,
    record_signature,
    signature,
    spread_table,
    spreads,
)
from cplib.experiments.results import from_csv, to_csv
from cplib.profiles import get_profile

HERE = Signature("Some CPU", "avx512_bf16", 2, "2.14.1", "bf16")
ELSEWHERE = replace(HERE, threads=8)


def _in_a_new_process(code: str, **environment: str) -> str:
    """What `code` prints in a fresh interpreter with these variables set (they take effect when torch starts)."""
    done = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **environment}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_signature_follows_threads_and_the_instruction_set_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = torch.get_num_threads()
    assert signature("bf16") == signature("bf16") and signature("bf16") != signature("fp32")
    try:
        torch.set_num_threads(1)
        assert signature("fp32").threads == 1
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert signature("fp32").isa == "capped at AVX2"
    assert "," not in machines.cpu_name()  # it travels in a CSV cell


def test_a_run_on_a_gpu_is_signed_by_the_gpu_so_no_cpu_run_is_held_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 80GB HBM3")
    on_gpu = signature("bf16", "cuda")
    assert (on_gpu.cpu, on_gpu.isa) == ("NVIDIA H100 80GB HBM3", "CUDA compute 9.0")
    here = signature("bf16", "cpu")
    assert on_gpu != here and "DRIFT" in check_reproduction("x", 0.5, [0.9], on_gpu, here, 0.0, "c")  # not raised


def test_emulated_machines_change_what_another_machine_changes() -> None:
    code = (
        "from cplib.experiments.machines import signature; from cplib.profiles import get_profile; "
        "print(signature(get_profile('cpu').precision_for(64)))"
    )
    two_threads = _in_a_new_process(code, OMP_NUM_THREADS="2")  # set, not inherited: the shell may run one thread
    one_thread = _in_a_new_process(code, **EMULATED["threads-1"])
    assert "threads=2" in two_threads and "threads=1" in one_thread
    assert "precision='fp32'" in _in_a_new_process(code, **EMULATED["fp32"])
    avx2 = _in_a_new_process(code, **EMULATED["avx2"])
    assert (
        "isa='capped at AVX2'" in avx2 and "precision='fp32'" in avx2
    )  # no native bfloat16 under oneDNN's AVX2 kernels
    avx = _in_a_new_process(code, **EMULATED["avx"])
    assert "isa='capped at AVX'" in avx and "precision='fp32'" in avx


@pytest.mark.parametrize("best", machines.ISA_ORDER)
@pytest.mark.parametrize("bf16", [True, False])
def test_an_emulation_that_changes_nothing_here_is_named(
    monkeypatch: pytest.MonkeyPatch, best: str, bf16: bool
) -> None:
    monkeypatch.setattr(machines, "best_instruction_set", lambda: best)
    monkeypatch.setattr("cplib.precision.native_precision", lambda: "bf16" if bf16 else "fp32")
    for name, variables in EMULATED.items():
        cap = variables.get("ONEDNN_MAX_CPU_ISA", "").lower()
        below_best = bool(cap) and machines.ISA_ORDER.index(cap) < machines.ISA_ORDER.index(best)
        changes = below_best or "OMP_NUM_THREADS" in variables or (name == "fp32" and bf16)
        assert (machines.emulates_nothing(name) is None) == (changes or name == "native"), (name, best, bf16)
    assert machines.emulates_nothing("threads-1") is None and (machines.emulates_nothing("avx") is None) == (
        best != "avx"
    )


def test_machine_labels_name_the_cpu_and_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    for best in machines.ISA_ORDER:
        monkeypatch.setattr(machines, "best_instruction_set", lambda best=best: best)
        for name in EMULATED:
            assert (
                machines.machine_label(name) == f"{name} on {best}"
                and machines.emulation_of(machines.machine_label(name)) == name
            )


def test_emulation_environments_keep_their_models_apart() -> None:
    assert "CPLIB_DATA_DIR" not in emulation_environment("native")
    folders = {emulation_environment(name)["CPLIB_DATA_DIR"] for name in EMULATED if name != "native"}
    assert len(folders) == len(EMULATED) - 1 and all(Path(folder).parent.name == "machines" for folder in folders)
    with pytest.raises(ValueError, match="unknown machine 'laptop'"):
        emulation_environment("laptop")
    assert machines.main(["avx2"]) == 0 and machines.main(["laptop"]) == 2


def test_cplib_precision_overrides_auto_and_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = get_profile("cpu")
    monkeypatch.setenv("CPLIB_PRECISION", "fp32")
    assert cpu.config("3way").precision == "fp32"
    assert get_profile("paper").config("3way").precision == "fp32"  # a profile with a fixed precision keeps it
    monkeypatch.setenv("CPLIB_PRECISION", "bf16")
    assert (
        cpu.config("3way").precision == "bf16" and cpu.config("3way", size=32, patch=16).precision == "fp32"
    )  # under BF16_MIN_INPUT
    monkeypatch.setenv("CPLIB_PRECISION", "half")
    with pytest.raises(ConfigError, match="CPLIB_PRECISION='half'"):
        cpu.config("3way")


def test_signatures_round_trip_beside_each_other(tmp_path: Path) -> None:
    path = tmp_path / "machines.json"
    assert committed_signature("table1_seeds", path) is None
    record_signature("table1_seeds", HERE, path)
    record_signature("localization", ELSEWHERE, path)
    assert committed_signature("table1_seeds", path) == HERE and committed_signature("localization", path) == ELSEWHERE
    assert sorted(json.loads(path.read_text())) == ["localization", "table1_seeds"]
    assert [p.name for p in tmp_path.iterdir()] == [
        "machines.json"
    ]  # written through a temporary, nothing left beside it


def _spread_rows(draws: np.random.Generator) -> list[SpreadRow]:
    models = ["cutout", "3way", "random init", "3way patch"]
    return [
        SpreadRow(machine, model, "capsule", measure, float(draws.uniform(0.5, 1.0)), "Some CPU", "avx2", 2, "fp32")
        for machine in ("native", "threads-1", "avx2")
        for model in models
        for measure in ("image AUROC", "proxy accuracy")
    ]


def test_spreads_are_the_range_over_machines_and_skip_the_random_network_in_the_largest() -> None:
    draws = np.random.default_rng(0)
    for _ in range(50):
        rows = _spread_rows(draws)
        found = spreads(rows)
        for (model, category, measure), value in found.items():
            values = [r.value for r in rows if (r.model, r.category, r.measure) == (model, category, measure)]
            assert value == max(values) - min(values)
        trained = [v for (model, _, measure), v in found.items() if measure == "image AUROC" and model != "random init"]
        assert largest_spread(rows, ["image AUROC"]) == max(trained)
        assert from_csv(to_csv(rows), SpreadRow) == rows
        assert spread_table(rows).count("\n") == 1 + len(found)
    with pytest.raises(ValueError, match="pixel AUROC"):
        largest_spread(rows, ["pixel AUROC shared"])
    alone = [replace(rows[0], measure="kNN", value=0.7)]
    assert spreads(rows + alone) == spreads(rows) and spread_table(rows + alone).endswith(
        "| 0.700 | — | — | one machine |"
    )


def test_the_drift_check_is_strict_where_the_results_were_made() -> None:
    draws = np.random.default_rng(1)
    for _ in range(200):
        committed = list(draws.uniform(0.6, 0.9, int(draws.integers(1, 5))))
        mean = float(np.mean(committed))
        strict = max(3 * float(np.std(committed, ddof=1)) if len(committed) > 1 else 0.0, REPRODUCE_FLOOR)
        inside = mean + float(draws.uniform(-0.99, 0.99)) * strict
        assert "reproduced" in check_reproduction("capsule 3way", inside, committed, HERE, HERE, 0.2, "bench/x.py")
        with pytest.raises(ResultDrift, match="regenerate them with bench/x.py"):
            check_reproduction(
                "capsule 3way",
                mean + float(draws.choice([-1, 1])) * 1.01 * strict,
                committed,
                HERE,
                HERE,
                0.2,
                "bench/x.py",
            )


def test_the_drift_check_never_fails_on_another_machine_and_widens_by_the_cross_machine_spread() -> None:
    draws = np.random.default_rng(2)
    for _ in range(200):
        committed = list(draws.uniform(0.6, 0.9, int(draws.integers(1, 5))))
        cross = float(draws.uniform(0, 0.15))
        mean = float(np.mean(committed))
        tolerance = max(3 * float(np.std(committed, ddof=1)) if len(committed) > 1 else 0.0, REPRODUCE_FLOOR) + cross
        for made_on in (ELSEWHERE, None):
            near = check_reproduction(
                "c v", mean + float(draws.uniform(-0.99, 0.99)) * tolerance, committed, made_on, HERE, cross, "cmd"
            )
            far = check_reproduction(
                "c v", mean + float(draws.choice([-1, 1])) * 1.01 * tolerance, committed, made_on, HERE, cross, "cmd"
            )
            assert "this machine's run" in near and "inside" in near and "DRIFT" not in near
            assert "DRIFT" in far and far.endswith("regenerate them with cmd")
            assert ("a machine not recorded" in near) == (made_on is None)


def test_the_committed_spread_covers_every_model_the_notebooks_assert_on() -> None:
    rows = machines.committed_spread()
    assert rows is not None, (
        "bench/results/machine_spread.csv is missing: run bench/machine_spread.py (docs/results.md)"
    )
    labels = {row.machine for row in rows}
    assert {machines.emulation_of(label) for label in labels} <= set(EMULATED)
    assert {row.threads for row in rows} >= {1, 2} and {row.precision for row in rows} == {"bf16", "fp32"}
    assert any(row.isa.startswith("capped at") for row in rows)  # another thread count, precision and instruction set
    cpus = {label.partition(" on ")[2] for label in labels}
    assert cpus and all(f"native on {cpu}" in labels for cpu in cpus)  # each real CPU also as it is
    models = {row.model for row in rows}
    assert {"cutout", "scar", "cutpaste", "cutpaste-scar", "3way", "random init", "3way patch"} <= models
    assert committed_signature("machine_spread") is not None
    for cpu in cpus:
        native = next(row for row in rows if row.machine == f"native on {cpu}")
        assert all(
            (row.isa, row.threads, row.precision) != (native.isa, native.threads, native.precision)
            for row in rows
            if row.machine.endswith(f" on {cpu}") and row.machine != native.machine
        )  # each really differs
    knn = {(row.category, row.measure) for row in rows if row.model == "3way" and row.measure.startswith("kNN")}
    assert knn == {
        (c, f"kNN {m}") for c in ("capsule", "granite", "weave") for m in ("normal_vs_synthetic", "defect_to_synthetic")
    }


def test_the_spread_study_writes_keyed_rows_and_a_rerun_measures_nothing_again(tmp_path: Path) -> None:
    from cplib.paths import REPO_ROOT
    from cplib.synthetic import Counts, write_dataset

    root = write_dataset(tmp_path / "data", counts=Counts(train=12, test_good=3, test_per_defect=2))
    env = {**os.environ, "CPLIB_DATA_DIR": str(tmp_path), "CPLIB_DATASET": str(root), "CPLIB_PROFILE": "tiny"}
    out = tmp_path / "spread"
    command = [
        sys.executable,
        str(REPO_ROOT / "bench" / "machine_spread.py"),
        "--machines",
        "native",
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    written = out.with_suffix(".csv").read_text()
    rows = from_csv(written, SpreadRow)
    assert len({row.key for row in rows}) == len(rows) == 5 * 3 + 1 + 5 + 3 * 2 and all(row.cplib for row in rows)
    assert {row.machine for row in rows} == {machines.machine_label("native")}
    assert out.with_suffix(".md").read_text().endswith(spread_table(rows) + "\n")
    again = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=REPO_ROOT)
    assert again.returncode == 0, again.stderr
    assert out.with_suffix(".csv").read_text() == written  # every row found: none measured again
