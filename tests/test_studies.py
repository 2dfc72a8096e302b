"""Notebook 08's study helpers: per-seed runs summarised as mean ± standard deviation, in a table and a figure."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from cplib.studies import LABELS, MEASURES, Run, comparison_figure, final_accuracy, runs_table, summarize_runs

matplotlib.use("Agg")

RUNS = [Run("capsule", aware, seed, 0.9, 0.6 + 0.1 * seed, 0.2, 0.8) for aware in (False, True) for seed in (0, 1)]


def test_runs_table_reports_mean_and_spread() -> None:
    summary = summarize_runs(RUNS)
    mean, std, count = summary[("capsule", True)]["image_auroc"]
    assert (mean, count) == (pytest.approx(0.65), 2) and std == pytest.approx(np.std([0.6, 0.7], ddof=1))
    table = runs_table(RUNS)
    assert "foreground-aware" in table and "0.650 ± 0.071" in table and "0.800 ± 0.000" in table
    assert all(line.count("|") == 3 + len(MEASURES) + 1 for line in table.splitlines())


def test_final_accuracy_is_the_mean_of_the_last_steps() -> None:
    assert final_accuracy([0.0] * 10 + [1.0] * 20) == 1.0
    assert final_accuracy([0.5, 1.0], window=20) == 0.75
    with pytest.raises(ValueError, match="empty"):
        final_accuracy([])


def test_comparison_figure_has_one_panel_per_measure() -> None:
    figure = comparison_figure(RUNS)
    assert [axis.get_title() for axis in figure.axes] == [LABELS[name] for name in MEASURES]
