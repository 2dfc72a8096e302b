"""What bad input gets (issue 27), one test per case: one line naming the thing and the fix, exit status 2, checked
before any training, nothing lost and nothing left behind; in the Python API, a ValueError or TypeError at the door.

Read top to bottom, this file is the list: the command line's rows 1-14, then the minor cases, then the Python API.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import MvtecWriter
from PIL import Image

import cplib
import cplib.checkpoint
import cplib.train
from cplib import staging
from cplib.augment import cutpaste, make_views
from cplib.cli import main
from cplib.detector import MODEL_FILES, Detector
from cplib.download import _sha256
from cplib.errors import ConfigError
from cplib.profiles import ensure_dataset, get_profile
from cplib.train import TrainConfig

TINY = ("--profile", "tiny")
DEV_FULL = Path("/dev/full")  # writes to it fail with ENOSPC: a full disk on demand
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="needs /dev/full (Linux)")


@pytest.fixture(autouse=True)
def no_dataset_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The data comes from --data in these tests unless one sets CPLIB_DATASET itself."""
    monkeypatch.delenv("CPLIB_DATASET", raising=False)


@pytest.fixture
def root(tmp_path: Path, mvtec: MvtecWriter) -> Path:
    """A dataset with a category 'tile' of five training images and two good and two cracked test images."""
    mvtec.category(tmp_path / "data", "tile", train=5)
    return tmp_path / "data"


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training fails the test: what is refused must be refused before any training."""
    monkeypatch.setattr(cplib.train, "train", lambda *args, **kwargs: pytest.fail("trained before refusing"))


@pytest.fixture
def stop_at_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training is a Ctrl-C: exit status 130 then means every check before training passed."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cplib.train, "train", interrupted)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data, model): a dataset with categories 'tile' and 'wall', and a detector trained on tile, once."""
    data = tmp_path_factory.mktemp("data")
    for name in ("tile", "wall"):
        MvtecWriter().category(data, name, train=5)
    out = tmp_path_factory.mktemp("trained") / "model"
    assert main(train_args(data, out)) == 0
    return data, out


@pytest.fixture
def model(trained: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the trained detector that a test may change."""
    return Path(shutil.copytree(trained[1], tmp_path / "model"))


def train_args(root: Path, out: Path, category: str = "tile") -> list[str]:
    """`train` at the tiny profile."""
    return ["train", "--data", str(root), "--category", category, *TINY, "--out", str(out)]


def refused(capsys: pytest.CaptureFixture, args: list[str], *words: str, code: int = 2) -> str:
    """Run the CLI; assert the exit status and one stderr line, without a traceback, naming every word."""
    capsys.readouterr()
    assert main(args) == code
    error = capsys.readouterr().err
    lines = [line for line in error.strip().splitlines() if "%|" not in line]  # less training's progress bar
    assert len(lines) == 1 and "Traceback" not in error, lines
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def refused_by_parser(capsys: pytest.CaptureFixture, args: list[str], *words: str) -> str:
    """Run the CLI; assert argparse's refusal: exit status 2, usage and one error line naming every word."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(args)
    error = capsys.readouterr().err
    assert stopped.value.code == 2 and "Traceback" not in error
    line = error.strip().splitlines()[-1]
    for word in words:
        assert word in line, line
    return line


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder (links as their target's bytes) with its bytes, hidden temporaries included."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write_tiff(path: Path, pixels: np.ndarray) -> Path:
    """A single-channel TIFF of pixels in their own dtype."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def closed_port_url() -> str:
    """An http:// address on loopback where nothing listens: an offline download."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/mvtec.tar.xz"


# ------------------------------------------------------------------------------------------------ the command line


def test_01_too_few_images_for_the_holdout_and_the_density_are_named_before_training(
    tmp_path: Path, mvtec: MvtecWriter, capsys, no_training
) -> None:
    mvtec.category(tmp_path / "data", "tiny_cat", train=4)
    out = tmp_path / "m"
    refused(capsys, train_args(tmp_path / "data", out, "tiny_cat"), "4 training images", "2 are held out", "3 more")
    assert not out.exists()


def test_02_identical_training_images_are_named_before_training(
    tmp_path: Path, mvtec: MvtecWriter, capsys, no_training
) -> None:
    for i in range(6):
        mvtec.png(tmp_path / "data" / "same" / "train" / "good" / f"{i}.png", mvtec.image(90, 20, 20))
    refused(capsys, train_args(tmp_path / "data", tmp_path / "m", "same"), "all 6 training images", "identical")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("command", [["train", "--category", "tile", "--out", "m"], ["data"]])
@pytest.mark.parametrize("seed", ["-1", "99999999999999999999", "1.5"])
def test_03_04_a_seed_outside_0_to_2_32_is_refused_by_the_parser(
    command: list[str], seed: str, capsys, no_training
) -> None:
    refused_by_parser(capsys, [*command, "--seed", seed], "--seed", seed, "4294967295")


def test_03_04_a_seed_outside_0_to_2_32_is_refused_by_the_config() -> None:
    for seed in (-1, 2**64, 1.5, True):
        with pytest.raises(ConfigError, match=f"seed={seed!r}"):
            TrainConfig(seed=seed)
    assert TrainConfig(seed=np.int64(7)).seed == 7


def test_05_a_size_that_cannot_fit_in_memory_is_refused_before_loading(
    root: Path, tmp_path: Path, capsys, no_training
) -> None:
    """Choice: the bound is a memory estimate (the loaded images plus one step's ResNet-18 activations, 600 bytes per
    input pixel per view) against the device's whole memory, so any size that could run is allowed."""
    line = refused(capsys, [*train_args(root, tmp_path / "m"), "--size", "100000"], "--size 100000", "memory", "GiB")
    assert "smaller --size or --batch" in line and not (tmp_path / "m").exists()


def test_06_nan_or_inf_pixels_name_the_file_at_load(root: Path, tmp_path: Path, capsys, no_training) -> None:
    broken = write_tiff(root / "tile" / "train" / "good" / "nan.tif", np.full((37, 53), np.nan, np.float32))
    refused(capsys, train_args(root, tmp_path / "m"), "NaN or inf pixels", str(broken))
    assert not (tmp_path / "m").exists()
    write_tiff(broken, np.full((37, 53), np.inf, np.float32))
    refused(capsys, ["evaluate", "--data", str(root), "--category", "tile", "--train", *TINY], str(broken))


@needs_dev_full
def test_07_a_full_disk_while_saving_names_the_folder_and_keeps_the_old_model(
    root: Path, model: Path, capsys, monkeypatch
) -> None:
    before = snapshot(model.parent)
    make_temporary = staging.temporary

    def onto_a_full_disk(target: Path, kind: str = "tmp") -> Path:
        path = make_temporary(target, kind)
        if target.name == "model.pt":
            path.symlink_to(DEV_FULL)
        return path

    monkeypatch.setattr(cplib.checkpoint, "temporary", onto_a_full_disk)
    line = refused(capsys, train_args(root, model), f"cannot save the model in {model}", "No space left on device")
    assert "free some space" in line
    assert snapshot(model.parent) == before


def test_08_a_url_that_is_not_one_is_refused_and_nothing_is_created(tmp_path: Path, capsys) -> None:
    target = tmp_path / "mvtec"
    refused(capsys, ["download", "--data", str(target), "--url", "notaurl"], "'notaurl' is not a URL", "file:///")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("make", "words"), [(False, "no such folder"), (True, "no NN_topic.ipynb notebooks in it")])
def test_09_series_without_notebooks_is_refused_and_creates_nothing(
    tmp_path: Path, capsys, make: bool, words: str
) -> None:
    folder, out = tmp_path / "notebooks", tmp_path / "build"
    if make:
        folder.mkdir()
        (folder / "notes.txt").write_text("not a notebook")
    refused(capsys, ["series", "--notebooks", str(folder), "--out", str(out)], str(folder), words)
    assert not out.exists()


def test_10_a_model_of_another_category_is_refused_unless_asked_for_and_then_said(
    trained: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    """Choice: the saved model's config (category, size, variant) is checked against the options; another category
    runs only with --cross-category and the output says so; another --size or --variant is always refused."""
    data, model = trained
    report = tmp_path / "r.json"
    evaluate = ["evaluate", "--data", str(data), "--category", "wall", "--model", str(model), "--json", str(report)]
    refused(capsys, evaluate, "trained on 'tile', not 'wall'", "--cross-category")
    refused(capsys, [*evaluate[:4], "tile", *evaluate[5:], "--size", "64"], "--size 64", "trained with 32")
    refused(capsys, [*evaluate[:4], "tile", *evaluate[5:], "--variant", "scar"], "--variant scar", "trained with 3way")
    assert not report.exists()
    assert main([*evaluate, "--cross-category"]) == 0
    assert "note: the model was trained on 'tile'; evaluating it on 'wall'" in capsys.readouterr().out
    assert '"model_category": "tile"' in report.read_text()


def test_11_data_comes_from_data_else_cplib_dataset_else_the_default_everywhere(
    trained: tuple[Path, Path], tmp_path: Path, capsys, monkeypatch, no_training
) -> None:
    data, model = trained
    monkeypatch.setenv("CPLIB_DATASET", str(data))
    capsys.readouterr()
    assert main(["evaluate", "--category", "tile", "--model", str(model)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"data: {data}"
    assert ensure_dataset() == str(data) and ensure_dataset("/given") == "/given"
    assert get_profile("tiny").config("3way", "tile").data_root == str(data)  # the API's configs follow the same rule
    other = tmp_path / "other"
    other.mkdir()
    refused(capsys, train_args(other, tmp_path / "m"), str(other))  # --data wins over CPLIB_DATASET
    monkeypatch.setenv("CPLIB_DATASET", str(tmp_path / "missing"))
    refused(capsys, ["train", "--category", "tile", *TINY, "--out", str(tmp_path / "m")], "CPLIB_DATASET=", "missing")
    assert not (tmp_path / "m").exists()


def test_11_the_data_line_comes_first_and_names_the_folder_trained_on(
    root: Path, tmp_path: Path, capsys, no_training
) -> None:
    with pytest.raises(pytest.fail.Exception):
        main(train_args(root, tmp_path / "m"))
    assert capsys.readouterr().out.splitlines()[0] == f"data: {root}"


def test_12_download_takes_the_archive_s_sha256(tmp_path: Path, mvtec: MvtecWriter, capsys) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
        tar.add(mvtec.category(tmp_path / "source", "cat_a", shape=(8, 8), train=2), arcname="cat_a")
    archive = tmp_path / "archive.tar.xz"
    archive.write_bytes(buffer.getvalue())
    target = tmp_path / "mvtec"
    download = ["download", "--data", str(target), "--url", archive.as_uri()]
    refused_by_parser(capsys, [*download, "--sha256", "abc"], "--sha256", "64 hexadecimal digits")
    refused(capsys, [*download, "--sha256", "0" * 64], "checksum mismatch", "--sha256")
    assert main([*download, "--sha256", _sha256(archive).upper()]) == 0
    assert (target / "cat_a" / "train" / "good").is_dir()


def test_13_a_deep_out_is_not_created_when_the_data_is_refused(
    tmp_path: Path, mvtec: MvtecWriter, capsys, no_training
) -> None:
    mvtec.category(tmp_path / "data", "tile", train=4)
    refused(capsys, train_args(tmp_path / "data", tmp_path / "x" / "deep" / "a" / "b" / "m"), "4 training images")
    assert not (tmp_path / "x").exists()


def test_14_out_as_a_link_to_a_folder_writes_into_the_folder_and_keeps_the_link(
    root: Path, tmp_path: Path, capsys
) -> None:
    """Choice: a link to a folder is followed (the model goes into the folder it points at, the link stays); a link to
    nothing is refused, naming it."""
    models, link = tmp_path / "models", tmp_path / "link"
    models.mkdir()
    link.symlink_to(models)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "gone")
    refused(capsys, train_args(root, dangling), f"{dangling} is a link to", "not a folder")
    assert dangling.is_symlink() and not (tmp_path / "gone").exists()
    assert main(train_args(root, link)) == 0
    assert link.is_symlink() and sorted(p.name for p in models.iterdir()) == sorted(MODEL_FILES)


# ------------------------------------------------------------------------------------------------ minor


def test_every_image_suffix_reads_in_train_and_score_alike_and_skipped_files_are_counted(
    trained: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    data, model = trained
    folder = tmp_path / "images"
    folder.mkdir()
    pixels = MvtecWriter().image(60, 37, 53)
    paths = [folder / f"a{suffix}" for suffix in (".webp", ".jpe", ".jfif", ".png")]
    for path in paths:
        Image.fromarray(pixels).save(path, format="WEBP" if path.suffix == ".webp" else None, lossless=True)
    assert main(["score", "--model", str(model), *map(str, paths)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4
    gif = folder / "a.gif"
    Image.fromarray(pixels).save(gif)
    refused(capsys, ["score", "--model", str(model), str(gif)], str(gif), ".webp")
    copy = Path(shutil.copytree(data / "tile", tmp_path / "data" / "tile"))
    for path in paths[:3]:
        shutil.copy(path, copy / "train" / "good" / path.name)
    (copy / "train" / "good" / "notes.txt").write_text("not an image")
    assert {p.name for p in paths[:3]} < {p.name for p in cplib.load_split(tmp_path / "data", "tile", "train").paths}
    assert main(["evaluate", "--data", str(tmp_path / "data"), "--category", "tile", "--model", str(model)]) == 0
    assert "skipped 1 files of tile that are hidden or not" in capsys.readouterr().out


def test_macos_appledouble_files_are_skipped_as_hidden_and_counted(
    trained: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    data, model = trained
    copy = Path(shutil.copytree(data / "tile", tmp_path / "data" / "tile"))
    for split in ("train/good", "test/good"):
        (copy / split / "._000.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    assert main(["evaluate", "--data", str(tmp_path / "data"), "--category", "tile", "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "skipped 2 files of tile" in out and "._000.png" in out


@pytest.mark.parametrize(
    ("pixels", "words"),
    [
        (np.full((37, 53), 120, np.int32), "32-bit integer pixels"),
        (np.full((37, 53), 200.0, np.float32), "float pixels from 200 to 200"),
        (np.full((37, 53), -0.5, np.float32), "float pixels from -0.5"),
    ],
)
def test_tiffs_whose_range_is_not_0_to_1_are_named(
    model: Path, tmp_path: Path, capsys, pixels: np.ndarray, words: str
) -> None:
    path = write_tiff(tmp_path / "odd.tif", pixels)
    refused(capsys, ["score", "--model", str(model), str(path)], str(path), words)


def test_16_bit_tiffs_are_scaled_by_their_range(tmp_path: Path) -> None:
    path = write_tiff(tmp_path / "deep.tif", np.full((8, 8), 65535 // 5, np.uint16))
    np.testing.assert_allclose(cplib.data.read_image(path, 8).numpy(), 0.2, atol=1e-4)


@needs_dev_full
def test_a_full_disk_for_json_names_the_path_and_leaves_nothing(
    trained: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    data, model = trained
    report = tmp_path / "r.json"
    staging.temporary(report).symlink_to(DEV_FULL)
    evaluate = ["evaluate", "--data", str(data), "--category", "tile", "--model", str(model), "--json", str(report)]
    refused(capsys, evaluate, "No space left on device", str(report), "Free some space")
    assert list(tmp_path.iterdir()) == []


def test_cplib_data_dir_pointing_at_a_file_names_the_variable(tmp_path: Path, capsys, monkeypatch) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    monkeypatch.setenv("CPLIB_DATA_DIR", str(file))
    refused(capsys, ["data"], f"CPLIB_DATA_DIR={file} is a file")
    assert file.read_text() == "mine"


def test_training_needs_only_train_good(tmp_path: Path, mvtec: MvtecWriter, capsys, stop_at_training) -> None:
    mvtec.category(tmp_path / "data", "tile", train=5, test={})
    shutil.rmtree(tmp_path / "data" / "tile" / "test", ignore_errors=True)
    assert main(train_args(tmp_path / "data", tmp_path / "m")) == 130  # every check passed; training started
    evaluate = ["evaluate", "--data", str(tmp_path / "data"), "--category", "tile", "--train", *TINY]
    refused(capsys, evaluate, "test/<defect>")


def test_an_offline_download_leaves_no_folder(tmp_path: Path, capsys) -> None:
    refused(capsys, ["download", "--data", str(tmp_path / "mvtec"), "--url", closed_port_url()], "Check the connection")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------ the Python API


@pytest.fixture(scope="module")
def detector(trained: tuple[Path, Path]) -> Detector:
    """The trained tile detector (32 px)."""
    return Detector.load(trained[1])


@pytest.fixture(scope="module")
def tile_images(trained: tuple[Path, Path], detector: Detector) -> torch.Tensor:
    """The tile test images at the detector's size."""
    return cplib.load_split(trained[0], "tile", "test", detector.config.size).images


def test_score_refuses_pixels_outside_0_1_wrong_sizes_and_channels(
    detector: Detector, tile_images: torch.Tensor
) -> None:
    with pytest.raises(ValueError, match=r"pixel values from 60 to 135; pass floats in \[0, 1\] \(divide 8-bit"):
        detector.score(tile_images * 255)
    with pytest.raises(ValueError, match="NaN or inf"):
        detector.score(torch.full_like(tile_images, float("nan")))
    big = torch.nn.functional.interpolate(tile_images, size=64)
    with pytest.raises(ValueError, match="64×64 px but the model was trained at 32×32"):
        detector.score(big)
    with pytest.raises(ValueError, match="3 colour channels"):
        detector.score(tile_images[:, :1])
    with pytest.raises(ValueError, match="empty"):
        detector.score(tile_images[:0])
    with pytest.raises(TypeError, match="int64 pixels"):
        detector.score((tile_images * 255).long())


def test_score_takes_uint8_one_image_numpy_pil_and_paths_as_the_same_pixels(
    detector: Detector, tile_images: torch.Tensor, trained: tuple[Path, Path]
) -> None:
    expected = detector.score(tile_images)
    as_bytes = (tile_images * 255).round().to(torch.uint8)
    np.testing.assert_allclose(detector.score(as_bytes), detector.score(as_bytes.float() / 255), rtol=1e-6)
    np.testing.assert_allclose(detector.score(tile_images[0]), expected[:1], rtol=1e-5)
    np.testing.assert_allclose(detector.score(tile_images.permute(0, 2, 3, 1).numpy()), expected, rtol=1e-5)
    path = sorted((trained[0] / "tile" / "test" / "good").glob("*.png"))[0]
    from_file = detector.score_files([path])
    for form in (str(path), path, Image.open(path), [Image.open(path)]):
        np.testing.assert_allclose(detector.score(form), from_file, rtol=1e-5)
    with pytest.raises(TypeError, match="got a float; pass a float tensor .* a PIL image"):
        detector.score(1.5)
    with pytest.raises(TypeError, match="not a dict"):
        detector.score([{}])


def test_score_takes_float64_numpy_and_torch_pixels_as_their_float32_ones(
    detector: Detector, tile_images: torch.Tensor
) -> None:
    expected = detector.score(tile_images)
    channels_last = tile_images.permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(detector.score(tile_images.double()), expected, rtol=1e-6)
    np.testing.assert_allclose(detector.score(channels_last.astype(np.float64)), expected, rtol=1e-6)
    as_bytes = (channels_last[0] * 255).round().astype(np.uint8)  # one image as np.asarray(pil_image) gives it
    np.testing.assert_allclose(detector.score(as_bytes / 255), detector.score(as_bytes), rtol=1e-6)


def test_score_files_takes_one_path_as_one_file_and_refuses_none(
    detector: Detector, trained: tuple[Path, Path]
) -> None:
    path = sorted((trained[0] / "tile" / "test" / "crack").glob("*.png"))[0]
    np.testing.assert_array_equal(detector.score_files(str(path)), detector.score_files([path]))
    assert detector.score_files(str(path)).shape == (1,)
    with pytest.raises(ValueError, match="the list is empty"):
        detector.score_files([])


@pytest.mark.parametrize("augment", [lambda x, g: cutpaste(x, g), lambda x, g: make_views(x, "3way", g)])
def test_augmentations_refuse_an_empty_batch_and_values_outside_0_1(augment) -> None:
    generator = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="B >= 1"):
        augment(torch.zeros(0, 3, 16, 16), generator)
    for value, found in ((255.0, "got 255 to 255"), (float("nan"), "got nan to nan")):
        bad = torch.full((2, 3, 16, 16), value)
        with pytest.raises(ValueError, match=f"values must lie in \\[0, 1\\], {found}"):
            augment(bad, generator)


def test_the_package_exports_its_entry_points_and_imports_them_only_when_used() -> None:
    code = "import cplib, sys; cheap = 'torch' not in sys.modules; from cplib import Detector; print(cheap, Detector)"
    environment = {**os.environ, "PYTHONPATH": str(Path(cplib.__file__).parent.parent)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    assert done.stdout.split() == ["True", "<class", "'cplib.detector.Detector'>"], done.stderr
    assert all(getattr(cplib, name).__module__.startswith("cplib.") for name in cplib.__all__)
    assert {"Detector", "TrainConfig", "get_or_train", "cutpaste", "make_views", "GaussianDensity"} < set(cplib.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        cplib.nothing  # noqa: B018
