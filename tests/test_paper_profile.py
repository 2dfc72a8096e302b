"""The `paper` profile's code paths, run on the CPU for two steps, so that the GPU-scale settings cannot rot unseen."""

from __future__ import annotations

import pytest
import torch

from cplib.localize import PatchLocalizer
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import train

STEPS = 2


@pytest.fixture(scope="module")
def paper_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A default-style dataset with a few training images of each category."""
    return str(
        write_dataset(
            tmp_path_factory.mktemp("paper") / "default", counts=Counts(train=4, test_good=1, test_per_defect=1)
        )
    )


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
    """32-px patches of 256-px images, then stride-4 dense scoring (57 x 57 patches) of one image, fitted on three;
    capsule takes the per-location Gaussian on the 203 within-location components the budget keeps (3249 Cholesky
    factors of 203 x 203: tens of seconds on 2 cores), weave the shared one."""
    profile = get_profile("paper")
    settings = profile.localization
    config = settings.patch_config(profile, category, data_root=paper_root).with_(steps=STEPS)
    assert (config.size, config.patch) == (256, 32)
    model, _ = train(config, progress=False)
    geometry = settings.geometry()
    assert geometry.grid == (57, 57) and geometry.stride == 4
    shared = category == "weave"
    images = torch.rand(4, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    if shared:
        localizer = PatchLocalizer(model, geometry, shared=True)
    else:
        with pytest.warns(UserWarning, match="57x57 grid would keep 6.8 GB at 512 dimensions; reducing to 203"):
            localizer = PatchLocalizer(model, geometry, shared=False)
    maps = localizer.fit(images[:3]).anomaly_maps(images[3:])
    assert maps.shape == (1, 256, 256) and torch.isfinite(maps).all()
    assert localizer.components == (None if shared else 203) and (localizer.pca is None) == shared
    if not shared:
        assert localizer.pca.n_components_ == 203 and localizer.density.map_shape_ == (203, 57, 57)
