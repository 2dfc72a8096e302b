"""Every worked solution of notebooks 01-08 runs on tiny inputs and gives the answer its exercise teaches."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from cplib import solutions


def test_confetti_cutout_fills_one_box_with_per_pixel_noise() -> None:
    images = torch.rand(16, 3, 40, 56)
    augmented, mask = solutions.confetti_cutout(images, torch.Generator().manual_seed(0))
    assert torch.equal(augmented[~mask.expand_as(images)], images[~mask.expand_as(images)])  # outside: untouched
    share = mask.float().mean(dim=(1, 2, 3))
    assert share.min() > 0.01 and share.max() < 0.17  # the box is 2-15 % of the image
    for result, where in zip(augmented, mask[:, 0]):
        rows, cols = where.nonzero(as_tuple=True)
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # a filled rectangle
        assert result[:, where].unique().numel() > 0.9 * 3 * len(rows)  # confetti, not one colour


def test_mean_fill_changes_nothing_on_a_flat_image() -> None:
    flat, noisy = solutions.mean_fill_on_flat_image()
    assert flat == 0 and noisy > 0


def test_erased_share_follows_the_mean_of_the_area_range() -> None:
    assert solutions.erased_share((0.1, 0.3)) == pytest.approx(0.2, abs=0.02)
    assert solutions.erased_share() == pytest.approx(0.085, abs=0.015)


def test_scar_share_is_about_the_same_at_64_and_256_px() -> None:
    small, large = solutions.scar_share(64), solutions.scar_share(256, count=16)
    assert 0 < small and 0 < large
    assert 0.5 < small / large < 2


def test_scar_box_fill_is_full_upright_and_partial_when_turned() -> None:
    assert solutions.scar_box_fill((0, 0), count=16) == 1.0
    assert solutions.scar_box_fill((45, 45), count=16) < 0.75


def test_pasted_colours_come_from_the_source_only_without_jitter() -> None:
    assert solutions.pasted_colours_in_source(0.0, count=4) == 1.0
    assert solutions.pasted_colours_in_source(0.1, count=4) < 0.1


def test_cutpaste_from_neighbour_pastes_a_region_of_the_next_image() -> None:
    images = torch.rand(3, 3, 30, 30)
    augmented, mask = solutions.cutpaste_from_neighbour(images, torch.Generator().manual_seed(1), jitter=0.0)
    for i in range(len(images)):
        rows, cols = mask[i, 0].nonzero(as_tuple=True)
        patch = augmented[i, :, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        h, w = patch.shape[1:]
        windows = images[i - 1].unfold(1, h, 1).unfold(2, w, 1)  # every same-sized region of the neighbour
        assert (windows - patch[:, None, None]).abs().amax(dim=(0, 3, 4)).min() == 0


@pytest.mark.parametrize("variant", ["cutpaste", "3way"])
def test_initial_loss_is_near_ln_of_the_class_count(variant: str) -> None:
    loss, chance = solutions.initial_loss(variant, batch=4)
    assert chance == pytest.approx(math.log(3 if variant == "3way" else 2))
    assert abs(loss - chance) < 0.3


def test_cosine_learning_rates_by_hand_match_torch() -> None:
    by_hand, by_torch = solutions.cosine_learning_rates(0.03, 8)
    assert by_hand == pytest.approx(by_torch, abs=1e-12)
    assert by_hand[0] == 0.03 and by_hand[4] == pytest.approx(0.015) and by_hand[-1] == pytest.approx(0.0, abs=1e-15)


def test_proxy_batch_sizes_count_views_per_source_image() -> None:
    assert solutions.proxy_batch_sizes(batch=4) == {"cutpaste": 8, "union": 8, "3way": 12}


def test_ridge_mahalanobis_by_hand_matches_gaussian_density() -> None:
    by_hand, by_cplib = solutions.ridge_mahalanobis()
    assert by_hand == pytest.approx(by_cplib, rel=1e-9)
    assert (by_hand > 0).all()


def test_empirical_covariance_has_rank_n_minus_1_and_is_singular_below_d() -> None:
    assert solutions.empirical_covariance_rank(8) == (7, True)
    assert solutions.empirical_covariance_rank(16) == (15, True)  # N = D: still rank N - 1 after centring, refused
    assert solutions.empirical_covariance_rank(64) == (16, False)


def test_binary_cutpaste_by_hand_is_cplib_train_and_evaluate_to_the_bit(tmp_path: Path) -> None:
    from cplib.evaluate import evaluate_model
    from cplib.profiles import get_profile
    from cplib.synthetic import Counts, write_dataset
    from cplib.train import build_model, train

    root = str(write_dataset(tmp_path / "default", counts=Counts(train=10, test_good=3, test_per_defect=2)))
    config = get_profile("tiny").config("cutpaste", "capsule", data_root=root)
    arguments = (root, "capsule", config.size, config.steps, config.batch)
    by_hand, auroc = solutions.binary_cutpaste_by_hand(*arguments, seed=config.seed)
    by_cplib, _ = train(config, progress=False)
    weights = by_cplib.state_dict()
    assert by_hand.state_dict().keys() == weights.keys()
    assert all(torch.equal(value, weights[name]) for name, value in by_hand.state_dict().items())  # buffers too
    assert auroc == evaluate_model(by_cplib, config).auroc
    other_seed, _ = solutions.binary_cutpaste_by_hand(*arguments, seed=config.seed + 1)
    for other in (other_seed, build_model(config)):  # another seed's draws; the network before training
        assert not torch.equal(other.state_dict()["classifier.weight"], weights["classifier.weight"])


def test_per_location_gaussian_flags_a_misplaced_appearance_and_shared_does_not() -> None:
    ratios = solutions.shared_vs_per_location()
    assert ratios["per location"] > 5 and ratios["shared"] < 1


def test_plain_transposed_upsampling_brightens_the_centre() -> None:
    plain, normalised = solutions.plain_transposed_upsampling()
    assert plain > 10 and normalised == pytest.approx(1.0, abs=1e-12)


def test_cloud_separability_is_one_apart_and_near_half_when_identical() -> None:
    assert solutions.cloud_separability(10.0) == 1.0
    assert 0.3 < solutions.cloud_separability(0.0) < 0.65


def test_separability_with_k_as_large_as_the_data_always_votes_wrong() -> None:
    by_k = solutions.separability_by_k(gap=10.0, count=20, ks=(5, 39))
    assert by_k == {5: 1.0, 39: 0.0}


def test_foreground_aware_cutpaste_never_misses_the_object() -> None:
    assert solutions.missed_object_share(False, count=100) > 0.4
    assert solutions.missed_object_share(True, count=100) == 0.0


def test_foreground_aware_cutpaste_on_a_texture_is_plain_cutpaste() -> None:
    assert solutions.foreground_on_texture_is_plain()


def test_nearest_exact_puts_a_block_on_the_pixels_it_mostly_covers_and_nearest_does_not() -> None:
    assert solutions.resized_block(exact=True) == (15, 31)  # rows 61-124 of 256 cover most of rows 15-30 of 64
    assert solutions.resized_block(exact=False) == (16, 32)  # legacy nearest samples top-left corners: shifted


def test_shuffled_labels_give_chance_auroc() -> None:
    scores = np.random.default_rng(1).normal(size=80)
    labels = np.repeat([0, 1], 40)
    mean, spread = solutions.shuffled_label_auroc(scores, labels)
    assert abs(mean - 0.5) < 0.02 and 0.02 < spread < 0.12


def test_untrained_patch_auroc_is_the_random_network_of_notebook_06(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cplib.data import load_split
    from cplib.evaluate import localize_densities, per_defect_subset
    from cplib.profiles import get_profile
    from cplib.synthetic import Counts, write_dataset
    from cplib.train import build_model

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    root = str(write_dataset(tmp_path / "default", counts=Counts(train=6, test_good=3, test_per_defect=2)))
    tiny = get_profile("tiny")
    settings = tiny.localization
    train = load_split(root, "weave", "train", settings.size)
    test = per_defect_subset(load_split(root, "weave", "test", settings.size), settings.test_per_defect)
    both = localize_densities(
        build_model(settings.patch_config(tiny, "weave", data_root=root)),
        train,
        test,
        settings.geometry(),
        settings.fit_images,
    )
    assert solutions.untrained_patch_auroc(root, tiny, "weave", settings.patch_at_256) == pytest.approx(
        both["shared"].pixel_auroc
    )
    assert not list(tmp_path.glob("models/*.pt"))  # nothing trained


NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CAPSTONE = "10_your_data"  # a practitioner's walk through their own folder: a checklist, no exercises
LESSONS = [notebook for notebook in NOTEBOOKS if notebook.stem != CAPSTONE]


@pytest.mark.parametrize("notebook", LESSONS, ids=lambda path: path.stem)
def test_every_solution_cell_stays_collapsed_until_asked_for(notebook: Path) -> None:
    import json

    cells = json.loads(notebook.read_text())["cells"]
    solutions_found = [
        cell for cell in cells if cell["cell_type"] == "code" and "".join(cell["source"]).startswith("# SOLUTION")
    ]
    assert solutions_found, f"{notebook.name} has no SOLUTION cell"
    for cell in solutions_found:
        hidden = cell["metadata"].get("jupyter", {})
        first = "".join(cell["source"]).splitlines()[0]
        assert hidden.get("source_hidden") and hidden.get("outputs_hidden"), (
            f"{notebook.name}: '{first}' shows its answer before the learner asks: set its metadata "
            '"jupyter": {"source_hidden": true, "outputs_hidden": true}'
        )


def test_a_seamless_paste_vanishes_on_flat_images_and_a_perlin_region_does_not() -> None:
    change = solutions.largest_change_on_flat_images()
    assert change["seamless"] == 0.0 and change["perlin"] > 0.1
