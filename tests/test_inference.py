"""The one inference path: which precision each scorer picks, float32 features out, and bf16 ranking like fp32."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from cplib import precision as precision_rules
from cplib.cli import _config as cli_config
from cplib.cli import build_parser
from cplib.data import load_split
from cplib.density import GaussianDensity
from cplib.detector import Detector
from cplib.errors import ConfigError
from cplib.evaluate import extract_features
from cplib.inference import encode
from cplib.localize import PatchLocalizer
from cplib.metrics import image_auroc
from cplib.patches import Geometry
from cplib.precision import BF16_MIN_INPUT, inference_precision, precision_note
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import TrainConfig, build_model, train

NATIVE_BF16 = precision_rules.native_precision() == "bf16"
AUROC_TOLERANCE = 0.03  # |bf16 - fp32| image AUROC, 30 test images: 0.014 measured (3 swapped pairs of near-ties)
SPEARMAN_FLOOR = 0.98  # rank correlation of the two precisions' scores


@pytest.mark.parametrize("native", ["bf16", "fp32"])
def test_the_precision_follows_the_request_then_the_environment_then_the_cpu(native, monkeypatch) -> None:
    monkeypatch.setattr(precision_rules, "native_precision", lambda: native)
    monkeypatch.delenv("CPLIB_PRECISION", raising=False)
    assert inference_precision(64) == native
    assert inference_precision(BF16_MIN_INPUT - 1) == "fp32"
    assert inference_precision(64, "fp32") == "fp32" and inference_precision(8, "bf16") == "bf16"
    monkeypatch.setenv("CPLIB_PRECISION", "fp32")
    assert inference_precision(64) == "fp32"


@pytest.mark.parametrize("gpu", ["bf16", "fp32"])
@pytest.mark.parametrize("cpu", ["bf16", "fp32"])
def test_auto_precision_is_the_native_one_of_the_device_that_runs_in_training_and_scoring_alike(
    gpu: str, cpu: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(precision_rules, "native_precision", lambda: cpu)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    emulated = lambda including_emulation=True: including_emulation or gpu == "bf16"  # noqa: E731
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", emulated)
    monkeypatch.delenv("CPLIB_PRECISION", raising=False)
    monkeypatch.delenv("CPLIB_DEVICE", raising=False)
    profile = get_profile("cpu")
    assert inference_precision(64, device="cuda") == profile.config(size=64).precision == gpu  # "auto": CUDA here
    assert inference_precision(64, device="cpu") == profile.config(size=64, device="cpu").precision == cpu
    for device, expected in (("cuda", gpu), ("cpu", cpu), (None, gpu)):
        options = ["train", "--category", "capsule", "--profile", "cpu", "--out", "unused"]
        cli = build_parser().parse_args(options + (["--device", device] if device else []))
        assert cli_config(cli).precision == expected
    monkeypatch.setenv("CPLIB_DEVICE", "cpu")
    assert profile.config(size=64).precision == cpu
    assert profile.config(size=128, patch=16).precision == inference_precision(16, device="cuda") == "fp32"
    monkeypatch.setenv("CPLIB_PRECISION", "fp32")
    assert profile.config(size=64, device="cuda").precision == inference_precision(64, device="cuda") == "fp32"


def test_an_unknown_precision_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="precision='fp16'"):
        inference_precision(64, "fp16")
    with pytest.raises(ConfigError, match="precision='half'"):
        PatchLocalizer(build_model(TrainConfig(size=32)), Geometry(size=32, patch=16, stride=8), precision="half")


@pytest.mark.parametrize("head", [False, True])
def test_fp32_encoding_equals_the_models_own_forward(head: bool) -> None:
    torch.manual_seed(0)
    model = build_model(TrainConfig(size=32, channels_last=False)).eval()
    images = torch.rand(6, 3, 32, 32)
    with torch.no_grad():
        expected = model.features(images)
        expected = model.head(expected) if head else expected
    encoded = encode(model, images, "fp32", head=head)
    assert encoded.dtype == torch.float32 and encoded.device.type == "cpu"
    torch.testing.assert_close(encoded, expected, rtol=1e-4, atol=1e-4)
    assert extract_features(model, images, head=head, precision="bf16").dtype == np.float64


def test_every_scorer_uses_the_precision_it_was_given(monkeypatch) -> None:
    seen = []
    import cplib.evaluate
    import cplib.patches

    def spy(model, images, precision, head=False):
        seen.append(precision)
        return torch.randn(len(images), 512)

    monkeypatch.setattr(cplib.evaluate, "encode", spy)
    monkeypatch.setattr(cplib.patches, "encode", spy)
    monkeypatch.setattr(precision_rules, "native_precision", lambda: "bf16")
    monkeypatch.delenv("CPLIB_PRECISION", raising=False)
    model = build_model(TrainConfig(size=32))
    config = TrainConfig(size=32)
    Detector(model, config, precision="bf16").fit(torch.rand(4, 3, 32, 32), holdout=0)
    PatchLocalizer(model, Geometry(size=32, patch=16, stride=8), precision="fp32").features(torch.rand(1, 3, 32, 32))
    Detector(model, config).fit(torch.rand(4, 3, 32, 32), holdout=0)  # image features: fp32 unless asked
    PatchLocalizer(model, Geometry(size=32, patch=16, stride=8), precision=None).features(torch.rand(1, 3, 32, 32))
    PatchLocalizer(model, Geometry(size=64, patch=32, stride=16), precision=None).features(torch.rand(1, 3, 64, 64))
    assert seen == ["bf16", "fp32", "fp32", "fp32", "bf16"]  # dense patches: bf16 where native, from 32 px


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[torch.nn.Module, object, object]:
    """A 3-way model trained briefly at 64 px on a small synthetic capsule folder, with its splits."""
    root = write_dataset(
        tmp_path_factory.mktemp("data") / "default", counts=Counts(train=24, test_good=12, test_per_defect=6)
    )
    config = get_profile("tiny").config(
        "3way", "capsule", data_root=str(root), size=64, steps=40, batch=8, precision="fp32"
    )
    model, _ = train(config, progress=False)
    splits = [load_split(root, "capsule", split, 64) for split in ("train", "test")]
    return model, *splits


@pytest.mark.skipif(not NATIVE_BF16, reason="this CPU has no native bfloat16: bf16 scoring is not used here")
def test_bf16_image_scores_rank_as_fp32(trained) -> None:
    model, train_split, test = trained
    scores = {}
    for precision in ("fp32", "bf16"):
        density = GaussianDensity().fit(extract_features(model, train_split.images, precision=precision))
        scores[precision] = density.score_samples(extract_features(model, test.images, precision=precision))
    labels = test.labels.numpy()
    assert abs(image_auroc(labels, scores["bf16"]) - image_auroc(labels, scores["fp32"])) <= AUROC_TOLERANCE
    assert spearmanr(scores["fp32"], scores["bf16"]).statistic >= SPEARMAN_FLOOR


@pytest.mark.skipif(not NATIVE_BF16, reason="this CPU has no native bfloat16: bf16 scoring is not used here")
def test_bf16_anomaly_maps_rank_as_fp32(trained) -> None:
    model, train_split, test = trained
    geometry = Geometry(size=64, patch=32, stride=8)
    maps = {
        precision: PatchLocalizer(model, geometry, precision=precision)
        .fit(train_split.images)
        .anomaly_maps(test.images)
        for precision in ("fp32", "bf16")
    }
    assert spearmanr(maps["fp32"].ravel(), maps["bf16"].ravel()).statistic >= SPEARMAN_FLOOR


@pytest.mark.parametrize(
    ("native", "side", "requested", "expected"),
    [
        ("bf16", 64, None, "bf16 on this machine"),
        ("fp32", 64, None, "no native bfloat16"),
        ("bf16", 16, None, "under 32 px"),
        ("bf16", 64, "fp32", "fp32 (asked for)"),
    ],
)
def test_the_note_says_which_precision_ran_and_why(native, side, requested, expected, monkeypatch) -> None:
    monkeypatch.setattr(precision_rules, "native_precision", lambda: native)
    monkeypatch.delenv("CPLIB_PRECISION", raising=False)
    assert expected in precision_note(side, requested)


def test_scoring_leaves_the_model_trainable() -> None:
    model = build_model(TrainConfig(size=32, channels_last=False))
    encode(model, torch.rand(2, 3, 32, 32), "bf16")
    _, logits = model.train()(torch.rand(4, 3, 32, 32))
    logits.sum().backward()  # an inference tensor among the weights would refuse this
    assert all(p.grad is not None for p in model.classifier.parameters())
