"""One device setting reaches training from every path: get_or_train, the studies and the bench scripts (no GPU needed:
CUDA is faked present and `train` records the device it was handed)."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from cplib import checkpoint
from cplib.errors import ConfigError
from cplib.experiments import localization, measurements, table1, training_curve
from cplib.paths import REPO_ROOT
from cplib.profiles import device_setting, get_profile, resolve_device
from cplib.train import History, build_model

EVALUATION = SimpleNamespace(auroc=0.5)  # what measure_random_init reads from the random network's evaluation


@pytest.fixture
def cuda_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch reports one CUDA device (nothing runs on it: train is replaced where it would)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "a faked GPU")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    monkeypatch.delenv("CPLIB_DEVICE", raising=False)


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The devices `train` is called with; the model comes back untrained, on the CPU, into a cache under tmp_path."""
    called: list[str] = []

    def train(config, device="cpu", progress=True):
        called.append(device)
        return build_model(config).eval(), History([1.0] * config.steps, [0.5] * config.steps)

    monkeypatch.setattr(checkpoint, "train", train)
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "cache"))
    return called


@pytest.fixture
def root(mvtec, tmp_path: Path) -> str:
    mvtec.category(tmp_path / "data", "tiles", shape=(32, 32), train=4, test={"good": 2, "crack": 2})
    return str(tmp_path / "data")


def test_auto_is_cuda_where_present_and_cplib_device_or_the_argument_overrides_it(
    cuda_present: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_device() == "cuda" and resolve_device(profile=get_profile("paper")) == "cuda"
    on_cpu = replace(get_profile("tiny"), device="cpu")
    assert resolve_device(profile=on_cpu) == "cpu"
    monkeypatch.setenv("CPLIB_DEVICE", "cpu")
    assert resolve_device() == "cpu" and resolve_device("cuda") == "cuda"
    monkeypatch.setenv("CPLIB_DEVICE", "cuda:0")
    assert device_setting(None, on_cpu) == "cuda:0" and device_setting("cpu", on_cpu) == "cpu"


def test_auto_is_the_cpu_without_cuda_and_a_missing_device_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.delenv("CPLIB_DEVICE", raising=False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ConfigError, match="0 CUDA devices"):
        resolve_device("cuda:0")
    with pytest.raises(ConfigError, match="not a torch device"):
        resolve_device("gpu")


def test_get_or_train_trains_on_cuda_where_present(cuda_present: None, devices: list[str], root: str) -> None:
    checkpoint.get_or_train(get_profile("tiny").config("3way", "tiles", data_root=root), progress=False)
    checkpoint.get_or_train(get_profile("tiny").config("cutout", "tiles", data_root=root), "cpu", progress=False)
    assert devices == ["cuda", "cpu"]


def test_the_studies_hand_their_device_to_training(
    cuda_present: None, devices: list[str], root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    untrained: list[str] = []
    record = lambda config, root, device: untrained.append(device) or EVALUATION  # noqa: E731
    monkeypatch.setattr(measurements, "random_init_baseline", record)
    profile = get_profile("tiny")
    table1.seeded_ablation(root, ["tiles"], profile, [0], ("cutout",))
    training_curve.training_curve(root, ["tiles"], profile, [2], device="cpu")
    assert devices == ["cuda", "cpu"] and untrained == ["cuda", "cpu"]


def test_the_localization_study_puts_both_networks_on_the_device(
    cuda_present: None, devices: list[str], root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved: list[str] = []

    class Untrained:
        def to(self, device: str) -> Untrained:
            moved.append(device)
            return self

    monkeypatch.setattr(localization, "build_model", lambda config: Untrained())
    monkeypatch.setattr(localization, "localize_densities", lambda model, *data, **options: {})
    localization.compare_networks(root, "tiles", get_profile("tiny"), progress=False)
    assert devices == ["cuda"] and moved == ["cuda"]


def test_a_bench_script_passes_device_through(
    cuda_present: None, devices: list[str], root: str, tmp_path: Path
) -> None:
    script = _load(REPO_ROOT / "bench" / "table1_seeds.py")
    out = tmp_path / "table1"
    arguments = ["--data", root, "--profile", "tiny", "--seeds", "0", "--variants", "scar", "--device", "cpu"]
    assert script.main([*arguments, "--out", str(out)]) == 0
    assert devices == ["cpu"] and out.with_suffix(".csv").is_file()


def test_a_bench_script_follows_cplib_device(
    devices: list[str], root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cuda_present: None
) -> None:
    monkeypatch.setattr(measurements, "random_init_baseline", lambda config, root, device: EVALUATION)
    monkeypatch.setenv("CPLIB_DEVICE", "cpu")
    script = _load(REPO_ROOT / "bench" / "training_curve.py")
    assert script.main(["--data", root, "--profile", "tiny", "--steps", "2", "--out", str(tmp_path / "curve")]) == 0
    assert devices == ["cpu"]


def _load(path: Path):
    """A bench script as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
