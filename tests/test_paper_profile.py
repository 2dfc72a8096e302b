"""The `paper` profile's code paths, run on the CPU for two steps, so that the GPU-scale settings cannot rot unseen."""

from __future__ import annotations

import pytest
import torch

from cplib.localize import PatchLocalizer, localization_settings
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import train

STEPS = 2


@pytest.fixture(scope="module")
def paper_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A default-style dataset with a few training images of each category."""
    return str(write_dataset(tmp_path_factory.mktemp("paper") / "default", counts=Counts(train=4, test_good=1, test_per_defect=1)))


def test_the_paper_image_model_trains_at_256_px(paper_root: str) -> None:
    """The paper's 3-way image model: 256 px, 32 source images (96 views) per step, fp32."""
    config = get_profile("paper").config("3way", "capsule", data_root=paper_root).with_(steps=STEPS)
    assert (config.size, config.batch, config.precision, config.patch) == (256, 32, "fp32", None)
    model, history = train(config, progress=False)
    assert len(history.loss) == STEPS and all(torch.isfinite(torch.tensor(history.loss)))
    features, logits = model(torch.rand(1, 3, 256, 256))
    assert features.shape == (1, 512) and logits.shape == (1, 3)


@pytest.mark.parametrize("category", ["capsule", "weave"])
def test_the_paper_patch_model_trains_and_scores_a_dense_stride_4_map(paper_root: str, category: str) -> None:
    """32-px patches of 256-px images, then stride-4 dense scoring (57 x 57 patches) of one image; capsule takes the
    per-location Gaussian (on 8 within-location components here: the budget's 203 take minutes on 2 cores), weave
    the shared one."""
    profile = get_profile("paper")
    settings = localization_settings(profile)
    config = settings.patch_config(profile, category, data_root=paper_root).with_(steps=STEPS)
    assert (config.size, config.patch) == (256, 32)
    model, _ = train(config, progress=False)
    geometry = settings.geometry()
    assert geometry.grid == (57, 57) and geometry.stride == 4
    shared = category == "weave"
    images = torch.rand(7, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    localizer = PatchLocalizer(model, geometry, shared=shared, components=None if shared else 8)
    maps = localizer.fit(images[:6]).anomaly_maps(images[6:])
    assert maps.shape == (1, 256, 256) and torch.isfinite(maps).all()
