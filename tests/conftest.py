"""Shared fixtures: small MVTec-layout folders written into tmp_path, so no test depends on downloaded data."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from PIL import Image

from cplib.data import Split
from cplib.synthetic import Counts, write_dataset


@pytest.fixture(autouse=True)
def close_figures():
    """Every test's matplotlib figures close when it ends (pyplot keeps them open and warns past 20)."""
    yield
    plt.close("all")


class MvtecWriter:
    """Writes MVTec-layout categories of flat images whose colours and mask rectangles the tests can predict."""

    box = (0.25, 0.5, 0.5, 0.75)  # a defect's mask rectangle: (top, bottom, left, right) fractions of the image

    @staticmethod
    def png(path: Path, array: np.ndarray) -> Path:
        """Save a uint8 array (H, W) or (H, W, 3) as a PNG, creating its folder."""
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(path)
        return path

    @staticmethod
    def colour(value: int, mode: str = "RGB") -> np.ndarray:
        """The pixel value of flat image number value: a grey level in mode "L", an RGB triple otherwise."""
        return np.array([value] if mode == "L" else [value, value // 2, 255 - value], np.uint8)

    def image(self, value: int, height: int, width: int, mode: str = "RGB") -> np.ndarray:
        """A constant image of colour(value, mode)."""
        shape = (height, width) if mode == "L" else (height, width, 3)
        return np.broadcast_to(self.colour(value, mode), shape).copy()

    def mask(self, height: int, width: int) -> np.ndarray:
        """A uint8 mask, 255 inside box and 0 elsewhere."""
        top, bottom, left, right = self.box
        mask = np.zeros((height, width), np.uint8)
        mask[round(top * height) : round(bottom * height), round(left * width) : round(right * width)] = 255
        return mask

    def category(
        self,
        root: Path,
        name: str,
        *,
        shape: tuple[int, int] = (37, 53),
        mode: str = "RGB",
        train: int = 3,
        test: dict[str, int] | None = None,
        masks: bool = True,
    ) -> Path:
        """Write train/good (values 40, 50, ...), test/<defect> (values 120, 130, ...) and, if masks, ground_truth."""
        folder = root / name
        for i in range(train):
            self.png(folder / "train" / "good" / f"{i:03d}.png", self.image(40 + 10 * i, *shape, mode))
        for defect, count in ({"good": 2, "crack": 2} if test is None else test).items():
            for i in range(count):
                self.png(folder / "test" / defect / f"{i:03d}.png", self.image(120 + 10 * i, *shape, mode))
                if masks and defect != "good":
                    self.png(folder / "ground_truth" / defect / f"{i:03d}_mask.png", self.mask(*shape))
        return folder


@pytest.fixture
def mvtec() -> MvtecWriter:
    """A writer of small MVTec-layout categories."""
    return MvtecWriter()


@pytest.fixture
def holes() -> Split:
    """Four random 16 x 16 images: two good, two with a 4 x 4 "hole" in their masks."""
    mask = torch.zeros(4, 16, 16, dtype=torch.bool)
    mask[2:, 4:8, 4:8] = True
    return Split(torch.rand(4, 3, 16, 16), torch.tensor([0, 0, 1, 1]), ["good", "good", "hole", "hole"], mask, [])


@pytest.fixture(scope="module")
def study_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A study module's data: the default dataset's categories, drawn small (10 training images, 3 good and 2 of each
    defect to test), as the folder "default"."""
    counts = Counts(train=10, test_good=3, test_per_defect=2)
    return str(write_dataset(tmp_path_factory.mktemp("data") / "default", counts=counts))


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A study module's model cache (CPLIB_DATA_DIR): the models its tests share, such as the seeded Table 1's that a
    study loads, are trained once."""
    return str(tmp_path_factory.mktemp("cache"))
