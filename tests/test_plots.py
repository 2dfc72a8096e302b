"""The learner's figures draw the data they are given: histogram heights, the threshold line, confusion shares, PRO
curves."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from cplib.data import Split
from cplib.evaluate import evaluate_maps
from cplib.metrics import aupro, image_auroc
from cplib.plots import confusion_figure, oracle_threshold, pro_curve_figure, score_histogram

matplotlib.use("Agg")


def test_oracle_threshold_splits_separable_scores() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    threshold = oracle_threshold(labels, scores)
    assert np.array_equal(scores >= threshold, labels.astype(bool))


def test_score_histogram_draws_each_class_and_the_threshold() -> None:
    generator = np.random.default_rng(0)
    scores = np.concatenate([generator.normal(0, 1, 40), generator.normal(3, 1, 20)])
    labels = np.array([0] * 40 + [1] * 20)
    axis = score_histogram(scores, labels, title="capsule", threshold=1.5).axes[0]
    good, defective = axis.containers
    assert sum(bar.get_height() for bar in good) == 40 and sum(bar.get_height() for bar in defective) == 20
    assert axis.lines[0].get_xdata()[0] == 1.5
    assert f"{image_auroc(labels, scores):.3f}" in axis.get_title()
    legend = {text.get_text() for text in axis.get_legend().get_texts()}
    assert legend == {
        "threshold 1.5",
        f"good: {(scores[:40] >= 1.5).sum()} of 40 above",
        f"defective: {(scores[40:] >= 1.5).sum()} of 20 above",
    }


def test_confusion_figure_shows_row_shares_and_counts() -> None:
    matrix = np.array([[8, 2, 0], [1, 5, 4], [0, 6, 4]])
    axis = confusion_figure(matrix, ["normal", "CutPaste", "CutPaste-Scar"]).axes[0]
    shown = axis.images[0].get_array()
    assert np.allclose(shown, matrix / matrix.sum(axis=1, keepdims=True))
    assert [text.get_text() for text in axis.texts][:3] == ["0.80\n(8)", "0.20\n(2)", "0.00\n(0)"]
    assert [label.get_text() for label in axis.get_yticklabels()] == ["normal", "CutPaste", "CutPaste-Scar"]


def test_pro_curve_figure_draws_the_curve_aupro_integrates() -> None:
    masks = torch.zeros(2, 16, 16, dtype=torch.bool)
    masks[0, 2:6, 2:6] = True
    maps = torch.rand(2, 16, 16, generator=torch.Generator().manual_seed(0))
    maps[0, 2:6, 2:6] += 0.5  # the defect scores higher: PRO rises early
    test = Split(torch.zeros(2, 3, 16, 16), torch.tensor([1, 0]), ["hole", "good"], masks, [])
    result = evaluate_maps(maps, test)
    axis = pro_curve_figure({"patch model": result}).axes[0]
    fpr, pro = axis.lines[0].get_data()
    assert fpr.max() <= 0.3 and np.all(np.diff(fpr) >= 0) and np.all(np.diff(pro) >= 0)
    area = np.trapezoid(pro, fpr) / 0.3
    assert area == pytest.approx(aupro(masks.numpy(), maps.numpy()), abs=0.02)
    assert axis.get_legend().get_texts()[0].get_text() == f"patch model: AUPRO {result.aupro:.3f}"


def test_source_note_writes_where_the_numbers_come_from() -> None:
    from matplotlib import pyplot as plt

    from cplib.plots import source_note

    figure = source_note(plt.figure(), "this machine's run")
    assert [text.get_text() for text in figure.texts] == ["this machine's run"]


def test_contrast_figure_draws_each_runs_share_recognised_per_bin() -> None:
    from cplib.evaluate import ProxyViews
    from cplib.plots import contrast_figure
    from cplib.studies import recognised_by_contrast

    draws = np.random.default_rng(5)
    runs = {}
    for name, label in (("a", 1), ("b", 2)):
        labels = draws.integers(0, 3, 300)
        runs[name] = (ProxyViews(labels, draws.integers(0, 3, 300), labels * 5, draws.uniform(0, 1, 300)), label)
    figure = contrast_figure(runs)
    bars = figure.axes[1].patches
    expected = [share for views, label in runs.values() for *_, share in recognised_by_contrast(views, label)]
    assert [bar.get_height() for bar in bars] == pytest.approx(expected)
    assert [text.get_text() for text in figure.axes[0].get_legend().get_texts()] == ["a", "b"]


def test_fakes_beside_defect_draws_each_fake_of_each_image_and_outlines_what_changed() -> None:
    from cplib.natural_fakes import NATURAL_FAKES
    from cplib.plots import fakes_beside_defect_figure, to_display

    images, defects = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 24, 24)
    defect_masks = torch.zeros(2, 1, 24, 24, dtype=torch.bool)
    defect_masks[0, 0, 5:9, 5:9] = True  # the second defect has no annotated pixel: nothing to outline
    fakes = {name: make(images, torch.Generator().manual_seed(0)) for name, make in NATURAL_FAKES.items()}
    figure = fakes_beside_defect_figure(images, fakes, defects, defect_masks, title="weave")
    axes = np.array(figure.axes).reshape(2, 4)
    assert [axis.get_title() for axis in axes[0]] == ["normal", "seamless", "perlin", "real defect"]
    columns = [images, fakes["seamless"][0], fakes["perlin"][0], defects]
    for row in range(2):
        for column, batch in enumerate(columns):
            assert np.array_equal(axes[row, column].images[0].get_array(), to_display(batch[row]))
    outlined = [[bool(axis.collections) for axis in line] for line in axes]
    assert outlined == [[False, True, True, True], [False, True, True, False]]
    assert figure._suptitle.get_text() == "weave"


def test_lever_figure_draws_each_categorys_means_over_seeds_against_the_setting() -> None:
    from cplib.experiments.recipes import RecipeRow
    from cplib.plots import lever_figure

    draws = np.random.default_rng(8)
    settings = {"low": 0.0, "mid": 0.1, "high": 0.3}
    rows = [
        RecipeRow(name, category, seed, 2, 300, 32, *draws.uniform(0.3, 1, 2), *draws.uniform(0.5, 1, 2), "x", "k")
        for name in ("high", "low", "mid")
        for category in ("a", "b")
        for seed in range(3)
    ]
    figure = lever_figure(rows, settings, "jitter", paper={0.0: 94.9, 0.3: 95.5})
    for axis, measure in zip(figure.axes, (lambda r: r.heldout_accuracy, lambda r: 100 * (r.auroc - r.random_auroc))):
        for line, category in zip((bars.lines[0] for bars in axis.containers), ("a", "b"), strict=True):
            expected = [
                np.mean([measure(r) for r in rows if (r.category, r.recipe) == (category, n)]) for n in settings
            ]
            assert list(line.get_xdata()) == [0.0, 0.1, 0.3]
            assert list(line.get_ydata()) == pytest.approx(expected)
    assert list(figure.axes[2].get_lines()[0].get_ydata()) == [94.9, 95.5]
