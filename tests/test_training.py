"""Model, training, checkpoints and the model cache, on a tiny dataset written by the generator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest
import torch

from cplib import checkpoint, precision
from cplib.augment import VARIANTS
from cplib.checkpoint import Trained, cache_key, cache_path, get_or_train, load, save
from cplib.errors import ConfigError, DataError
from cplib.evaluate import extract_features
from cplib.model import CutPasteNet
from cplib.profiles import PROFILES, get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import TrainConfig, train


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small default-style dataset: 8 training images per category."""
    return str(
        write_dataset(
            tmp_path_factory.mktemp("data") / "default", counts=Counts(train=8, test_good=3, test_per_defect=2)
        )
    )


def tiny_config(root: str, **changes: object) -> TrainConfig:
    """A seconds-long training config on the tiny dataset."""
    return get_profile("tiny").config("3way", "weave", data_root=root).with_(**changes)


@pytest.mark.parametrize("classes", [2, 3])
def test_model_returns_pooled_features_and_logits(classes: int) -> None:
    features, logits = CutPasteNet(classes).eval()(torch.rand(5, 3, 48, 40))
    assert features.shape == (5, 512) and logits.shape == (5, classes)


def test_model_rejects_other_class_counts() -> None:
    with pytest.raises(ConfigError, match="num_classes"):
        CutPasteNet(4)


def test_short_training_lowers_the_loss(tiny_root: str) -> None:
    _, history = train(tiny_config(tiny_root, variant="cutout", steps=40, batch=8, lr=0.01), progress=False)
    assert len(history.loss) == 40
    assert np.mean(history.loss[-8:]) < np.mean(history.loss[:8]) - 0.1


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_is_deterministic(tiny_root: str, precision: str) -> None:
    config = tiny_config(tiny_root, steps=3, precision=precision)
    first, second = train(config, progress=False), train(config, progress=False)
    assert first[1].loss == second[1].loss
    for a, b in zip(first[0].state_dict().values(), second[0].state_dict().values()):
        assert torch.equal(a, b)


def test_checkpoint_round_trip(tiny_root: str, tmp_path: Path) -> None:
    config = tiny_config(tiny_root, variant="cutpaste")
    model, history = train(config, progress=False)
    path = save(Trained(model, config, history, 1.5), tmp_path / "m.pt")
    loaded = load(path)
    images = torch.rand(4, 3, config.size, config.size)
    assert loaded.config == config and loaded.history.loss == history.loss and loaded.seconds == 1.5
    np.testing.assert_array_equal(extract_features(loaded.model, images), extract_features(model, images))


def test_interrupted_save_leaves_nothing(tiny_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tiny_config(tiny_root)
    model, history = train(config, progress=False)

    def broken_save(payload: object, target: BinaryIO) -> None:
        target.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        save(Trained(model, config, history), tmp_path / "m.pt")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_checkpoint_gets_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "m.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="m.pt"):
        load(tmp_path / "m.pt")
    with pytest.raises(DataError, match="not found"):
        load(tmp_path / "missing.pt")


def test_cache_hit_does_not_retrain(tiny_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    config = tiny_config(tiny_root)
    first = get_or_train(config, progress=False)
    assert cache_path(config).is_file() and cache_path(config).is_relative_to(tmp_path)

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("get_or_train retrained a cached config")

    monkeypatch.setattr(checkpoint, "train", no_training)
    second = get_or_train(config, progress=False)
    assert second.history.loss == first.history.loss


def test_cache_key_follows_config_and_version(tiny_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tiny_config(tiny_root)
    key = cache_key(config)
    assert cache_key(config.with_(seed=1)) != key and cache_key(config.with_(steps=5)) != key
    monkeypatch.setattr(checkpoint, "__version__", "0.0.0-other")
    assert cache_key(config) != key


def test_new_training_data_misses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "cache"))
    root = write_dataset(tmp_path / "own", counts=Counts(train=4, test_good=1, test_per_defect=1))
    config = tiny_config(str(root))
    get_or_train(config, progress=False)
    key = cache_key(config)
    image = next((root / "weave" / "train" / "good").iterdir())
    image.write_bytes(next((root / "weave" / "test" / "hole").iterdir()).read_bytes())  # the same name, other pixels
    assert cache_key(config) != key
    trained: list[TrainConfig] = []

    def recording_train(config: TrainConfig, *rest: object) -> tuple:
        trained.append(config)
        return train(config, progress=False)

    monkeypatch.setattr(checkpoint, "train", recording_train)
    get_or_train(config, progress=False)
    assert trained == [config] and len(list((tmp_path / "cache" / "models").glob("*.pt"))) == 2


def test_the_default_dataset_is_keyed_by_what_its_folder_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m cplib data --seed 5` writes other images into the default folder: a model trained on them is keyed
    apart from the seed-0 model, so neither is served for the other; writing seed 0 again restores the first key."""
    from cplib import synthetic

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    counts = Counts(train=2, test_good=1, test_per_defect=1)
    config = TrainConfig(category="weave")
    keys = []
    for seed in (0, 5, 0):
        synthetic.ensure_default_data(seed=seed, counts=counts, verbose=False)
        keys.append(cache_key(config))
    assert keys[0] != keys[1] and keys[0] == keys[2]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"variant": "mixup"}, "unknown variant"),
        ({"steps": 0}, "steps"),
        ({"size": 16}, "size"),
        ({"batch": -1}, "batch"),
        ({"precision": "fp16"}, "precision='fp16'"),
    ],
)
def test_impossible_configs_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_profile("paper").size == 256 and get_profile("paper").steps == 65_536
    monkeypatch.setenv("CPLIB_PROFILE", "tiny")
    assert get_profile() is PROFILES["tiny"]
    monkeypatch.setenv("CPLIB_PROFILE", "huge")
    with pytest.raises(ConfigError, match="unknown profile 'huge'"):
        get_profile()


def test_bf16_training_computes_in_bfloat16_and_lowers_the_loss(
    tiny_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dtypes = []
    monkeypatch.setattr(CutPasteNet, "forward", _recording_forward(CutPasteNet.forward, dtypes))
    model, history = train(
        tiny_config(tiny_root, variant="cutout", steps=40, batch=8, lr=0.01, precision="bf16"), progress=False
    )
    assert set(dtypes) == {torch.bfloat16} and all(p.dtype == torch.float32 for p in model.parameters())
    assert np.mean(history.loss[-8:]) < np.mean(history.loss[:8]) - 0.1


def _recording_forward(forward: Callable, dtypes: list[torch.dtype]) -> Callable:
    """CutPasteNet.forward that also records the dtype of the logits it returns."""

    def recording(self: CutPasteNet, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, logits = forward(self, images)
        dtypes.append(logits.dtype)
        return features, logits

    return recording


def test_profile_precision_resolves_to_what_the_cpu_computes_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CPLIB_PRECISION", raising=False)  # the override an emulated machine sets
    assert get_profile("paper").config().precision == "fp32"
    for native in ("bf16", "fp32"):
        monkeypatch.setattr(precision, "native_precision", lambda native=native: native)
        assert get_profile("cpu").config().precision == native
        assert get_profile("cpu").config(precision="fp32").precision == "fp32"


def test_imagenet_weights_offline_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models import ResNet18_Weights

    def offline(self: object, *args: object, **kwargs: object) -> None:
        raise OSError("no network")

    monkeypatch.setattr(type(ResNet18_Weights.IMAGENET1K_V1), "get_state_dict", offline)
    with pytest.raises(ConfigError, match="ImageNet ResNet-18 weights") as error:
        CutPasteNet(3, weights="imagenet")
    assert "TORCH_HOME" in str(error.value) and "weights='none'" in str(error.value)
    with pytest.raises(ConfigError, match="weights='imagenette'"):
        CutPasteNet(3, weights="imagenette")


def test_density_is_fitted_on_clean_pooled_512d_features(tiny_root: str) -> None:
    from cplib.data import load_split
    from cplib.density import GaussianDensity
    from cplib.evaluate import evaluate

    config = tiny_config(tiny_root)
    model, _ = train(config, progress=False)
    train_split, test_split = (load_split(tiny_root, "weave", split, config.size) for split in ("train", "test"))
    density = GaussianDensity()
    evaluate(model, train_split, test_split, density)
    assert density.n_features_in_ == 512  # the pooled features, not the 128-d head output
    np.testing.assert_allclose(
        density.mean_, extract_features(model, train_split.images).mean(axis=0)
    )  # clean images only


def test_image_evaluation_scores_every_test_image_masks_or_not(tmp_path: Path, mvtec) -> None:
    import warnings

    from cplib.data import count_images
    from cplib.evaluate import evaluate_category

    folder = mvtec.category(tmp_path, "nut", train=4, test={"good": 2, "crack": 3})
    (folder / "ground_truth" / "crack" / "001_mask.png").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluation = evaluate_category(CutPasteNet(3).eval(), str(tmp_path), "nut", 32)
    tests = sum(n for key, n in count_images(tmp_path, "nut").items() if key.startswith("test/"))
    assert len(evaluation.labels) == tests == 5


def test_patch_training_augments_inside_the_crop(tiny_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from cplib import train as train_module

    seen: list[tuple[int, ...]] = []
    make_views = train_module.make_views

    def recording(images: torch.Tensor, *args: object, **kwargs: object):
        seen.append(tuple(images.shape))
        return make_views(images, *args, **kwargs)

    monkeypatch.setattr(train_module, "make_views", recording)
    config = tiny_config(tiny_root, patch=16)
    train(config, progress=False)
    assert seen == [(config.batch, 3, 16, 16)] * config.steps  # views are made from the crop, so labels match it


@pytest.mark.parametrize(("count", "batch"), [(8, 3), (10, 4), (3, 8)])
def test_source_batches_show_every_image_once_per_epoch(count: int, batch: int) -> None:
    """Read as one stream, the batches are whole shuffles of the images one after another: no image twice within an
    epoch, every image in each, and different orders in different epochs."""
    from cplib.train import source_batches

    batches = source_batches(count, batch, torch.Generator().manual_seed(0))
    stream = torch.cat([next(batches) for _ in range(count * 12)])
    assert all(len(chunk) == batch for chunk in stream.split(batch))
    epochs = stream.split(count)[:-1]
    assert all(sorted(epoch.tolist()) == list(range(count)) for epoch in epochs)
    assert len({tuple(epoch.tolist()) for epoch in epochs}) > 1


def test_training_reads_each_image_once_per_epoch(tiny_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The images train() steps on, matched back to the training split: one epoch's worth of steps shows each of the 8
    images exactly once, where draws with replacement repeat some (about 3 in 8 missing)."""
    from cplib import train as train_module
    from cplib.data import load_split

    config = tiny_config(tiny_root, batch=2, steps=8)
    images = load_split(tiny_root, config.category, "train", config.size).images
    seen: list[int] = []
    train_step = train_module.train_step

    def recording(model, optimiser, batch: torch.Tensor, *args: object, **kwargs: object):
        seen.extend(int((images == image).flatten(1).all(1).nonzero()) for image in batch)
        return train_step(model, optimiser, batch, *args, **kwargs)

    monkeypatch.setattr(train_module, "train_step", recording)
    train(config, progress=False)
    assert sorted(seen) == sorted(list(range(8)) * 2)
    assert sorted(seen[:8]) == list(range(8))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("patch", [None, 32])
def test_no_anomalous_view_is_identical_to_its_source(variant: str, patch: int | None) -> None:
    """On the default data at the CPU size, image and patch models: every view labelled anomalous differs from
    the normal view it was made from (an unchanged view would teach the classifier a wrong label)."""
    from cplib.data import load_split
    from cplib.profiles import ensure_dataset
    from cplib.train import proxy_batch

    config = get_profile("cpu").config(variant, "capsule", size=128, patch=patch)
    images = load_split(ensure_dataset(), "capsule", "train", config.size).images
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):
        inputs, labels, masks = proxy_batch(images, config, generator)
        sources = inputs[labels == 0].repeat(int(labels.max()), 1, 1, 1)
        anomalous = inputs[labels > 0]
        assert (anomalous != sources).flatten(1).any(1).all()
        assert masks[labels > 0].flatten(1).any(1).all()


def test_patch_models_get_the_scars_of_their_whole_image(tiny_root: str) -> None:
    """Scars in a patch model's crops are sized by the image (size / 256), not by the crop: the CutPaste-Scar views
    of 32-px crops of 128-px images cover as many pixels on average as those of the 128-px images."""
    from cplib.train import proxy_batch

    images = torch.rand(400, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    areas = {}
    for patch in (None, 32):
        config = TrainConfig(variant="cutpaste-scar", size=128, patch=patch, pre_jitter=0)
        _, labels, masks = proxy_batch(images, config, torch.Generator().manual_seed(2))
        areas[patch] = masks[labels == 1].flatten(1).sum(1).double().mean().item()
    assert areas[32] == pytest.approx(areas[None], rel=0.15)
    assert areas[32] > 20  # 10-25 x 2-16 px at 256 is 5-13 x 1-8 px at 128; scaled by the 32-px crop it was ~2


def test_foreground_aware_views_follow_the_shifted_object() -> None:
    """With pre-augmentation shifts, foreground-aware pastes land on the object where the shift moved it."""
    from cplib.train import proxy_batch

    images = torch.zeros(200, 3, 64, 64)
    images[:, :, 16:48, 16:48] = torch.rand(200, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    foreground = torch.zeros(64, 64, dtype=torch.bool)
    foreground[16:48, 16:48] = True
    config = TrainConfig(variant="cutpaste", size=64, pre_shift=0.2, pre_jitter=0, jitter=0)
    inputs, labels, masks = proxy_batch(images, config, torch.Generator().manual_seed(4), foreground.clone())
    object_pixels = (inputs[labels == 0] > 0).any(1, keepdim=True)
    pasted = masks[labels == 1]
    on_object = (pasted & object_pixels).flatten(1).sum(1) / pasted.flatten(1).sum(1)
    assert (on_object >= 0.5).all()


def test_auto_precision_trains_small_crops_in_fp32() -> None:
    """16-px crops diverged under bf16 autocast (NaN at step 44): the cpu profile keeps inputs under 32 px in fp32."""
    cpu = get_profile("cpu")
    assert cpu.config("3way", size=128, patch=16).precision == "fp32"
    assert cpu.config("3way", size=128, patch=32).precision == precision.native_precision()
    assert cpu.config("3way", size=128, patch=16, precision="bf16").precision == "bf16"
    assert get_profile("paper").config("3way", patch=16).precision == "fp32"


def test_a_diverged_run_raises_instead_of_caching_a_nan_model(tiny_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from cplib import train as train_module
    from cplib.errors import TrainingDiverged

    monkeypatch.setattr(train_module, "train_step", lambda *args, **kwargs: (float("nan"), 0.0))
    monkeypatch.setenv("CPLIB_DATA_DIR", str(Path(tiny_root).parent))
    config = tiny_config(tiny_root)
    with pytest.raises(TrainingDiverged, match="step 1.*fp32"):
        get_or_train(config, progress=False)
    assert not cache_path(config).exists()


def test_training_on_the_default_dataset_reads_it_and_never_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    config = get_profile("tiny").config("3way", "weave", data_root=None)
    assert config.resolved_root() == str(tmp_path / "default")
    with pytest.raises(DataError, match="python -m cplib data"):
        train(config, progress=False)
    assert not any(tmp_path.iterdir())  # the caller writes it: profiles.ensure_dataset, `python -m cplib data`
