"""The seeded comparisons' helpers (cplib.studies and the pairing they share, cplib.experiments.margins): one variant
against another over seeds, any paired comparison under the one rule, and the proxy task's confusion. The figures of
the density and foreground studies are tested with their studies (tests/test_density_study.py,
tests/test_foreground_study.py)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from cplib.experiments.margins import mean_sd, paired_margins
from cplib.train import final_accuracy

matplotlib.use("Agg")


def test_final_accuracy_is_the_mean_of_the_last_steps() -> None:
    assert final_accuracy([0.0] * 10 + [1.0] * 20) == 1.0
    assert final_accuracy([0.5, 1.0], window=20) == 0.75
    with pytest.raises(ValueError, match="empty"):
        final_accuracy([])


def test_paired_margins_match_a_brute_force_pairing_over_random_seeds() -> None:
    """Each side's mean ± sd over its own seeds; the gaps on the seeds both have, in the order the values hold them;
    a category without a shared seed left out; the verdict by the rule, by hand."""
    draws = np.random.default_rng(11)
    for _ in range(60):
        values = {}
        for name in ("a", "b"):
            for category in ("capsule", "weave"):
                for seed in draws.permutation(6)[: int(draws.integers(0, 6))]:
                    values[name, category, int(seed)] = float(draws.uniform())
        found = paired_margins(values, "a", "b")
        for category in ("capsule", "weave"):
            mine = {s: v for (n, c, s), v in values.items() if (n, c) == ("a", category)}
            theirs = {s: v for (n, c, s), v in values.items() if (n, c) == ("b", category)}
            shared = [s for s in mine if s in theirs]
            if not shared:
                assert category not in found
                continue
            margin, gaps = found[category], np.array([mine[s] - theirs[s] for s in shared])
            assert margin.differences == pytest.approx(tuple(gaps))
            assert (margin.mean, margin.sd) == pytest.approx(mean_sd(list(mine.values())))
            assert (margin.random_mean, margin.random_sd) == pytest.approx(mean_sd(list(theirs.values())))
            if len(gaps) < 2:
                expected = "one seed: no spread"
            elif abs(gaps.mean()) <= 2 * gaps.std(ddof=1):
                expected = "inside the noise"
            else:
                expected = "above" if gaps.mean() > 0 else "below"
            assert margin.verdict == expected


def test_compare_variants_pairs_seeds_under_the_one_rule() -> None:
    from cplib.experiments.measurements import Measurement
    from cplib.studies import compare_variants, describe_comparison, verdict

    def row(variant: str, seed: int, auroc: float) -> Measurement:
        return Measurement(variant, "weave", seed, 300, 64, auroc, 0.9, "bf16")

    rows = [row("scar", s, a) for s, a in enumerate((0.99, 0.98, 1.0))] + [
        row("cutpaste", s, a) for s, a in enumerate((0.8, 0.9, 0.85))
    ]
    found = compare_variants(rows, "scar", "cutpaste")["weave"]
    assert found.differences == pytest.approx((0.19, 0.08, 0.15)) and found.random_mean == pytest.approx(0.85)
    assert found.verdict == "above" == verdict(found.differences)
    assert describe_comparison(found, "cutpaste", [0, 1, 2]).endswith(
        "gap +0.140 ± 0.056 (ahead on 3 of 3 seeds [0, 1, 2]): above ▲"
    )
    assert compare_variants(rows, "cutpaste", "scar")["weave"].verdict == "below"
    assert verdict([0.1, -0.1, 0.05]) == "inside the noise" and verdict([0.3]) == "one seed: no spread"


def test_proxy_confusion_counts_every_view_once() -> None:
    import torch

    from cplib.profiles import get_profile
    from cplib.studies import proxy_confusion
    from cplib.train import build_model

    config = get_profile().config("3way", "capsule").with_(size=32, batch=4)
    matrix = proxy_confusion(build_model(config), torch.rand(6, 3, 32, 32), config, rounds=2)
    assert (
        matrix.shape == (3, 3) and (matrix.sum(axis=1) == 2 * 6).all()
    )  # each image gives one view per class per round


def test_proxy_views_measure_each_view_as_a_loop_over_its_pixels_would() -> None:
    """Per view: the class the model predicts, the pixels the view changed and their mean largest change across
    channels, checked against the same draws replayed and measured pixel by pixel; the accuracy is the held-out
    accuracy."""
    import torch

    from cplib.evaluate import heldout_proxy_accuracy, proxy_views
    from cplib.profiles import get_profile
    from cplib.train import build_model, proxy_batch

    config = get_profile("tiny").config("3way", "capsule").with_(size=32, batch=4)
    model, images = build_model(config).eval(), torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    views = proxy_views(model, images, config, seed=5, rounds=1)
    generator, expected = torch.Generator().manual_seed(5), []
    for chunk in torch.split(images, config.batch):
        inputs, labels, masks = proxy_batch(chunk, config, generator)
        with torch.no_grad():
            predicted = model(inputs)[1].argmax(1)
        for index in range(len(inputs)):
            normal = inputs[index % len(chunk)]
            pixels = [(r, c) for r in range(32) for c in range(32) if masks[index, 0, r, c]]
            changes = [float((inputs[index, :, r, c] - normal[:, r, c]).abs().max()) for r, c in pixels]
            contrast = sum(changes) / len(changes) if changes else 0.0
            expected.append((int(labels[index]), int(predicted[index]), len(pixels), contrast))
    measured = list(zip(views.labels, views.predicted, views.changed, views.contrast))
    assert [row[:3] for row in measured] == [row[:3] for row in expected]
    np.testing.assert_allclose([row[3] for row in measured], [row[3] for row in expected], rtol=1e-5, atol=1e-7)
    assert (views.changed[views.labels == 0] == 0).all() and (views.changed[views.labels > 0] > 0).all()
    assert views.accuracy == heldout_proxy_accuracy(model, images, config, seed=5, rounds=1)


def test_views_are_binned_by_contrast_and_counted_as_recognised_against_a_loop() -> None:
    from cplib.evaluate import ProxyViews
    from cplib.studies import recognised_by_contrast

    draws = np.random.default_rng(4)
    labels, predicted = draws.integers(0, 3, 500), draws.integers(0, 3, 500)
    contrast = np.where(labels == 0, 0.0, draws.uniform(0, 1, 500))
    contrast[:3] = (0.03, 1.0, 0.1)  # bin edges: a lower edge counts in its bin, the top edge in the last one
    views = ProxyViews(labels, predicted, (labels > 0) * 10, contrast)
    edges = (0.0, 0.03, 0.1, 0.3, 1.0)
    bins = recognised_by_contrast(views, 2, edges)
    assert sum(count for _, _, count, _ in bins) == (labels == 2).sum()
    for low, high, count, share in bins:
        members = [
            i for i in range(500) if labels[i] == 2 and (low <= contrast[i] < high or contrast[i] == high == 1.0)
        ]
        assert count == len(members)
        assert share == pytest.approx(np.mean([predicted[i] == 2 for i in members])) if members else np.isnan(share)


def test_the_faint_ceiling_counts_the_views_below_the_contrast_against_a_loop() -> None:
    """Over random views: each anomalous class's share of views below the contrast, and the accuracy left when every
    other view is recognised, counted view by view."""
    from cplib.evaluate import ProxyViews
    from cplib.studies import faint_ceiling

    draws = np.random.default_rng(11)
    for _ in range(20):
        labels = draws.integers(0, 3, 200)
        contrast = np.where(labels == 0, 0.0, draws.uniform(0, 0.2, 200))
        views = ProxyViews(labels, draws.integers(0, 3, 200), (labels > 0) * 7, contrast)
        below = float(draws.uniform(0.01, 0.1))
        shares, ceiling = faint_ceiling(views, below)
        for label in (1, 2):
            members = [i for i in range(200) if labels[i] == label]
            assert shares[label] == pytest.approx(sum(contrast[i] < below for i in members) / len(members))
        recognisable = [i for i in range(200) if labels[i] == 0 or contrast[i] >= below]
        assert ceiling == pytest.approx(len(recognisable) / 200)
        assert 0 not in shares  # normal views change nothing: they are not counted as faint


def test_a_foreground_aware_configs_held_out_views_are_pasted_on_its_training_foreground(study_root: str) -> None:
    """proxy_views draws as training draws: for a foreground-aware config, on the mask estimated from the training
    images the encoder sees (the same views as proxy_batch replayed with that mask, not those drawn without it)."""
    import torch

    from cplib.data import load_split
    from cplib.evaluate import proxy_views
    from cplib.profiles import get_profile
    from cplib.train import build_model, proxy_batch, training_foreground

    config = get_profile("tiny").config("3way", "capsule", data_root=study_root, holdout=0.2).with_(foreground=True)
    mask = training_foreground(config)
    assert mask is not None and 0 < mask.float().mean() < 0.9  # the capsule is an object on a background
    assert training_foreground(config.with_(foreground=False)) is None
    images = load_split(study_root, "capsule", "train", config.size).images
    views = proxy_views(build_model(config), images, config, seed=2, rounds=4)
    replayed = {}
    for name, foreground in (("on the mask", mask), ("anywhere", None)):
        generator, changed = torch.Generator().manual_seed(2), []
        for _ in range(4):
            for chunk in torch.split(images, config.batch):
                changed += proxy_batch(chunk, config, generator, foreground)[2].flatten(1).sum(1).tolist()
        replayed[name] = changed
    assert views.changed.tolist() == replayed["on the mask"] != replayed["anywhere"]
