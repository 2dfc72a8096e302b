"""The Detector's threshold: set on training images held out of the encoder and the density, under the density it
keeps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import cplib.train
from cplib.checkpoint import cache_key
from cplib.data import holdout_split, load_split
from cplib.density import GaussianDensity
from cplib.detector import Detector, percentile_rank
from cplib.errors import ConfigError, DataError
from cplib.evaluate import extract_features
from cplib.profiles import get_profile
from cplib.train import TrainConfig, train

N_TRAIN = 10


class RecordingDensity(GaussianDensity):
    """A Gaussian density that keeps the features it was fitted on."""

    def fit(self, features):
        self.fitted_on = np.asarray(features)
        return super().fit(features)


@pytest.fixture
def config(tmp_path: Path, mvtec) -> TrainConfig:
    """The tiny profile on a category of N_TRAIN distinct flat training images, holding 20 % out."""
    mvtec.category(tmp_path, "tile", train=N_TRAIN)
    return get_profile("tiny").config("cutpaste", "tile", data_root=str(tmp_path), holdout=0.2)


def test_the_encoder_never_sees_the_held_out_images(config: TrainConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[torch.Tensor] = []
    step = cplib.train.train_step

    def recording_step(model, optimiser, batch, *rest):
        seen.append(batch)
        return step(model, optimiser, batch, *rest)

    monkeypatch.setattr(cplib.train, "train_step", recording_step)
    train(config, progress=False)
    images = load_split(config.data_root, "tile", "train", config.size).images
    held, kept = holdout_split(N_TRAIN, config.holdout, config.seed)
    fed = torch.cat(seen)
    matches = (fed[:, None] == images[None]).flatten(2).all(2)  # (fed, image): the fed row is that training image
    assert matches.any(1).all() and not matches[:, held].any() and matches[:, kept].any(0).all()


def test_the_threshold_is_a_held_out_percentile_under_the_density_it_keeps(config: TrainConfig, tmp_path: Path) -> None:
    model, history = train(config, progress=False)
    split = load_split(config.data_root, "tile", "train", config.size)
    detector = Detector(model, config, history, RecordingDensity()).fit(split.images)
    held, kept = holdout_split(N_TRAIN, config.holdout, config.seed)
    assert detector.held_out.tolist() == held.tolist() and len(held) == 2
    features = extract_features(model, split.images)
    np.testing.assert_array_equal(detector.density.fitted_on, features[kept])
    held_scores = detector.density.score_samples(features[held])
    assert detector.threshold == np.percentile(held_scores, 99, method="higher") == held_scores.max()
    assert detector.calibration.n_held_out == 2 and not detector.calibration.encoder_saw_held_out
    assert "their maximum" in detector.calibration.describe() and "below 1/3" in detector.calibration.describe()

    loaded = Detector.load(detector.save(tmp_path / "model"))
    assert loaded.threshold == detector.threshold and loaded.calibration == detector.calibration
    assert np.array_equal(loaded.score(split.images), detector.score(split.images))
    saved = json.loads((tmp_path / "model" / "detector.json").read_text())
    assert saved["calibration"]["n_held_out"] == 2 and saved["calibration"][
        "expected_false_alarm_rate"
    ] == pytest.approx(1 / 3)


def test_a_saved_detector_scores_at_the_precision_its_density_was_fitted_at(
    config: TrainConfig, tmp_path: Path
) -> None:
    model, history = train(config, progress=False)
    images = load_split(config.data_root, "tile", "train", config.size).images
    detector = Detector(model, config, history, precision="bf16").fit(images)
    folder = detector.save(tmp_path / "model")
    loaded = Detector.load(folder)
    assert loaded.precision == "bf16" and json.loads((folder / "detector.json").read_text())["precision"] == "bf16"
    np.testing.assert_array_equal(loaded.score(images), detector.score(images))
    with pytest.warns(UserWarning, match="scoring in fp32, but its density and threshold were fitted on bf16"):
        asked = Detector.load(folder, precision="fp32")
    fp32 = Detector(model, config, history, detector.density, precision="fp32").score(images)
    assert asked.precision == "fp32" and np.array_equal(asked.score(images), fp32)
    assert not np.array_equal(fp32, detector.score(images))

    saved = json.loads((folder / "detector.json").read_text())
    (folder / "detector.json").write_text(json.dumps({**saved, "precision": "fp16"}))
    with pytest.raises(DataError, match="cannot read .*detector.json"):
        Detector.load(folder)
    del saved["precision"]  # a detector.json without a precision scores in fp32
    (folder / "detector.json").write_text(json.dumps(saved))
    assert Detector.load(folder).precision == "fp32"


def test_the_threshold_rank_is_numpys_higher_percentile_for_every_size() -> None:
    draws = np.random.default_rng(0)
    percentiles = [0, 1, 12.5, 50, 90, 95, 99, 99.9, 100, *draws.uniform(0, 100, 20)]
    for n in range(1, 301):
        values = np.sort(draws.normal(size=n))
        for percentile in percentiles:
            expected = np.percentile(values, percentile, method="higher")
            assert values[percentile_rank(n, percentile) - 1] == expected, (n, percentile)


def test_fit_sets_the_threshold_at_that_rank_of_the_held_out_scores(config: TrainConfig) -> None:
    model, history = train(config, progress=False)
    images = load_split(config.data_root, "tile", "train", config.size).images
    detector = Detector(model, config, history).fit(images, holdout=0.5, percentile=50)
    held_scores = detector.score(images[detector.held_out])
    assert len(held_scores) == 5 and detector.calibration.rank == 3
    assert detector.threshold == np.percentile(held_scores, 50, method="higher") == np.sort(held_scores)[2]


def test_scores_do_not_depend_on_the_batch_they_are_scored_in(config: TrainConfig) -> None:
    model, history = train(config, progress=False)
    images = load_split(config.data_root, "tile", "train", config.size).images
    detector = Detector(model, config, history).fit(images)
    model.train()  # as a caller may leave it: scoring must use BatchNorm's running statistics, not the batch's
    together = detector.score(images)
    alone = np.concatenate([detector.score(image[None]) for image in images])
    np.testing.assert_allclose(alone, together, rtol=1e-4)
    np.testing.assert_allclose(detector.score(images.flip(0))[::-1], together, rtol=1e-4)
    np.testing.assert_allclose(detector.score(images[:3]), together[:3], rtol=1e-4)


def test_a_model_trained_on_every_image_is_flagged_as_having_seen_the_held_out_ones(config: TrainConfig) -> None:
    config = config.with_(holdout=0.0)
    model, history = train(config, progress=False)
    detector = Detector(model, config, history).fit(load_split(config.data_root, "tile", "train", config.size).images)
    assert (
        detector.calibration.encoder_saw_held_out
        and "the encoder trained on these images" in detector.calibration.describe()
    )


def test_holding_nothing_out_fits_the_density_on_every_image_and_sets_no_threshold(
    config: TrainConfig, tmp_path: Path
) -> None:
    config = config.with_(holdout=0.0)
    model, history = train(config, progress=False)
    images = load_split(config.data_root, "tile", "train", config.size).images
    detector = Detector(model, config, history, RecordingDensity()).fit(images, holdout=0)
    np.testing.assert_array_equal(detector.density.fitted_on, extract_features(model, images))
    assert detector.threshold is None and detector.calibration is None and len(detector.held_out) == 0
    assert detector.protocol == f"density fitted on {N_TRAIN} images, no threshold (the paper's protocol: scores only)"
    with pytest.raises(ConfigError, match="no threshold .*pass threshold="):
        detector.predict(images)
    loaded = Detector.load(detector.save(tmp_path / "model"))
    assert loaded.threshold is None and loaded.protocol == detector.protocol
    assert loaded.predict(images, threshold=-np.inf).all()


def test_holding_images_out_trains_another_model() -> None:
    for config in (
        TrainConfig(),
        get_profile("cpu").config("3way", "capsule"),
        get_profile("tiny").config("scar", "weave", patch=16),
    ):
        other = 0.1 if config.holdout else 0.2
        assert cache_key(config.with_(holdout=other)) != cache_key(config)
