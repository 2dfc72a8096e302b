"""The command line against bad inputs and interruptions (issue 12): one line, exit 2 (130 for Ctrl-C), nothing lost or
left."""

from __future__ import annotations

import os
import pickle
import shutil
import struct
import zlib
from pathlib import Path

import pytest
import torch
from conftest import MvtecWriter

import cplib.train
from cplib import staging
from cplib.checkpoint import Trained, save
from cplib.cli import main
from cplib.detector import MODEL_FILES, Detector
from cplib.synthetic import Counts, ensure_default_data

DEAD_PID = 2**31 - 1  # above any pid_max: no process has this id
TINY = ("--profile", "tiny")


@pytest.fixture
def root(tmp_path: Path, mvtec) -> Path:
    """A category 'tile' with five training images and two good and two cracked test images."""
    mvtec.category(tmp_path / "data", "tile", train=5)
    return tmp_path / "data"


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training fails the test: what is refused must be refused before any training."""
    monkeypatch.setattr(cplib.train, "train", lambda *args, **kwargs: pytest.fail("trained before refusing"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A detector folder written by `train`, once for the module."""
    data = tmp_path_factory.mktemp("data")
    MvtecWriter().category(data, "tile", train=5)
    out = tmp_path_factory.mktemp("trained") / "model"
    assert main(train_args(data, out)) == 0
    return out


@pytest.fixture
def model(trained: Path, tmp_path: Path) -> Path:
    """A copy of the trained detector folder that a test may damage."""
    return Path(shutil.copytree(trained, tmp_path / "model"))


def refused(capsys: pytest.CaptureFixture, args: list[str], *words: str, code: int = 2) -> str:
    """Run the CLI, assert the exit code and a single stderr line naming every word; returns that line."""
    capsys.readouterr()
    assert main(args) == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    for word in words:
        assert word in lines[0]
    return lines[0]


def train_args(root: Path, out: Path) -> list[str]:
    """`train` on the root fixture's tile category at the tiny profile."""
    return ["train", "--data", str(root), "--category", "tile", *TINY, "--out", str(out)]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    """Temporaries cplib stages or moves aside in a folder."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


def bomb_png(path: Path, side: int) -> Path:
    """A tiny PNG that declares side×side pixels (a decompression bomb past PIL's limit)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )
    return path


# Data loss


def test_out_holding_user_files_is_refused_untouched(root: Path, tmp_path: Path, capsys, no_training) -> None:
    out = tmp_path / "mine"
    (out / "photos").mkdir(parents=True)
    (out / "thesis.tex").write_text("years of work")
    (out / "photos" / "cat.png").write_bytes(b"meow")
    before = snapshot(out)
    refused(capsys, train_args(root, out), str(out), "photos, thesis.tex", "new or empty folder")
    assert snapshot(out) == before and leftovers(tmp_path) == []


def test_out_dot_in_a_folder_with_files_deletes_nothing(
    root: Path, tmp_path: Path, capsys, no_training, monkeypatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("keep me")
    monkeypatch.chdir(work)
    refused(capsys, train_args(root, Path(".")), "notes.txt", "not part of a cplib model")
    assert (work / "notes.txt").read_text() == "keep me"


def test_a_model_is_replaced_with_a_complete_version_at_every_instant(model: Path, tmp_path: Path, monkeypatch) -> None:
    def complete(folder: Path) -> bool:
        return folder.is_dir() and {p.name for p in folder.iterdir()} == set(MODEL_FILES)

    rename = os.replace
    checked: list[bool] = []

    def checking_replace(source, target) -> None:
        checked.append(complete(model) or any(complete(p) for p in tmp_path.glob(".model.old-*")))
        rename(source, target)
        checked.append(complete(model) or any(complete(p) for p in tmp_path.glob(".model.old-*")))

    newer = Detector.load(model)
    newer.threshold = 1.25
    monkeypatch.setattr(staging.os, "replace", checking_replace)
    newer.save(model)
    monkeypatch.undo()
    assert len(checked) >= 4 and all(checked) and Detector.load(model).threshold == 1.25 and leftovers(tmp_path) == []


# Work thrown away by late errors: outputs and data checked before training


def test_out_that_is_a_file_is_refused_before_training(root: Path, tmp_path: Path, capsys, no_training) -> None:
    out = tmp_path / "model.txt"
    out.write_text("not a folder")
    refused(capsys, train_args(root, out), "model.txt is a file", "pass a folder")
    assert out.read_text() == "not a folder"


def test_out_below_a_file_is_refused_before_training(root: Path, tmp_path: Path, capsys, no_training) -> None:
    (tmp_path / "plain").write_text("")
    refused(capsys, train_args(root, tmp_path / "plain" / "model"), "plain is a file", "pass a folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_is_refused_before_training(root: Path, tmp_path: Path, capsys, no_training) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    refused(capsys, train_args(root, locked / "model"), "cannot write a model at", "Permission denied")


def test_json_in_a_missing_folder_is_refused_before_training(root: Path, tmp_path: Path, capsys, no_training) -> None:
    report = tmp_path / "missing" / "r.json"
    args = ["evaluate", "--data", str(root), "--category", "tile", "--train", *TINY, "--json", str(report)]
    refused(capsys, args, f"folder {report.parent} does not exist", "create it")


def test_too_few_training_images_are_refused_before_training(tmp_path: Path, mvtec, capsys, no_training) -> None:
    mvtec.category(tmp_path, "tile", train=3)
    refused(capsys, train_args(tmp_path, tmp_path / "model"), "3 training images are too few", "train/good")


def test_an_os_error_is_one_line(monkeypatch, capsys) -> None:
    def denied(args) -> None:
        raise PermissionError(13, "Permission denied", "/srv/report.json")

    monkeypatch.setitem(__import__("cplib.cli").cli.COMMANDS, "data", denied)
    refused(capsys, ["data"], "Permission denied: /srv/report.json")


# Tracebacks that remain


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda m: (m / "density.pkl").unlink(), "density.pkl"),
        (lambda m: (m / "density.pkl").write_bytes(b"\x80\x04 truncated"), "density.pkl"),
        (lambda m: (m / "density.pkl").write_bytes(pickle.dumps([1, 2])), "density.pkl"),
        (lambda m: (m / "detector.json").write_text('{"thresh'), "detector.json"),
        (lambda m: (m / "detector.json").write_text("{}"), "detector.json"),
    ],
)
def test_a_damaged_saved_detector_is_named(model: Path, root: Path, capsys, damage, named: str) -> None:
    damage(model)
    image = next((root / "tile" / "test" / "good").glob("*.png"))
    refused(capsys, ["score", "--model", str(model), str(image)], f"{model / named}", "Train the model again")


def test_weights_that_do_not_match_the_saved_config_are_named(model: Path, root: Path, capsys) -> None:
    payload = torch.load(model / "model.pt", weights_only=True)
    payload["config"]["variant"] = "cutpaste"  # a two-class head for three-class weights
    torch.save(payload, model / "model.pt")
    image = next((root / "tile" / "test" / "good").glob("*.png"))
    refused(
        capsys, ["score", "--model", str(model), str(image)], str(model / "model.pt"), "do not match", "train again"
    )


@pytest.mark.parametrize("side", [20_000, 10_000])  # past PIL's error limit, and past its warning limit
def test_a_decompression_bomb_is_named_in_train_test_and_score(
    root: Path, model: Path, tmp_path: Path, capsys, side: int
) -> None:
    for split in ("train/good", "test/crack"):
        bomb = bomb_png(root / "tile" / split / "zz_bomb.png", side)
        args = ["evaluate", "--data", str(root), "--category", "tile", "--model", str(model)]
        refused(
            capsys,
            train_args(root, tmp_path / "m2") if split == "train/good" else args,
            str(bomb),
            "too large to read safely",
        )
        bomb.unlink()
    bomb = bomb_png(tmp_path / "bomb.png", side)
    refused(capsys, ["score", "--model", str(model), str(bomb)], str(bomb), "MAX_IMAGE_PIXELS")


@pytest.mark.parametrize("device", ["nonsense", "cuda:99"] + ([] if torch.cuda.is_available() else ["cuda"]))
def test_an_unavailable_device_is_named_with_those_available(
    root: Path, tmp_path: Path, capsys, no_training, device: str
) -> None:
    refused(
        capsys,
        [*train_args(root, tmp_path / "model"), "--device", device],
        f"--device {device!r} is not available",
        "cpu",
    )


@pytest.mark.parametrize(("test", "missing"), [({"good": 2}, "only normal images"), ({"crack": 2}, "no normal images")])
def test_a_single_class_test_split_names_the_missing_class(
    tmp_path: Path, mvtec, model: Path, capsys, test, missing
) -> None:
    mvtec.category(tmp_path / "one", "tile", test=test)
    refused(
        capsys,
        ["evaluate", "--data", str(tmp_path / "one"), "--category", "tile", "--model", str(model)],
        missing,
        "test/",
    )


def test_download_into_a_file_is_refused(tmp_path: Path, capsys) -> None:
    target = tmp_path / "mvtec.txt"
    target.write_text("mine")
    refused(
        capsys,
        ["download", "--data", str(target), "--url", "http://127.0.0.1:9/x.tar.xz"],
        "is a file",
        "pass a folder",
    )
    assert target.read_text() == "mine"


def test_ctrl_c_during_training_exits_130_with_one_line_and_keeps_nothing(
    root: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cplib.train, "train", interrupted)
    refused(capsys, train_args(root, tmp_path / "model"), "interrupted", "rerun", code=130)
    assert not (tmp_path / "model").exists() and leftovers(tmp_path) == []


# Leftovers and silent corruption


def test_stale_temporaries_of_dead_runs_are_cleared_by_the_next_run(model: Path, tmp_path: Path) -> None:
    for name in (f".model.tmp-{DEAD_PID}", f".model.old-{DEAD_PID}", f".default.tmp-{DEAD_PID}"):
        (tmp_path / name).mkdir()
    (tmp_path / f".m.pt.tmp-{DEAD_PID}").write_bytes(b"half a checkpoint")
    detector = Detector.load(model)
    detector.save(model)
    save(Trained(detector.model, detector.config, detector.history), tmp_path / "m.pt")
    ensure_default_data(tmp_path / "default", counts=Counts(train=1, test_good=1, test_per_defect=1), verbose=False)
    assert leftovers(tmp_path) == []


def test_a_model_moved_aside_by_a_dead_run_is_restored(model: Path, tmp_path: Path) -> None:
    aside = tmp_path / f".model.old-{DEAD_PID}"
    model.rename(aside)
    staging.remove_stale(model)
    assert Detector.load(model).threshold < float("inf") and not aside.exists()


def test_a_folder_passed_to_score_is_called_a_folder(model: Path, tmp_path: Path, capsys) -> None:
    refused(capsys, ["score", "--model", str(model), str(tmp_path)], "is a folder, not an image file")


def test_a_file_passed_as_data_is_called_a_file(tmp_path: Path, capsys, no_training) -> None:
    (tmp_path / "data.zip").write_bytes(b"PK")
    refused(capsys, train_args(tmp_path / "data.zip", tmp_path / "model"), "data.zip is a file, not a dataset folder")


def test_saved_models_and_cached_files_follow_the_umask(model: Path, tmp_path: Path) -> None:
    detector = Detector.load(model)
    previous = os.umask(0o022)
    try:
        detector.save(tmp_path / "shared")
        save(Trained(detector.model, detector.config, detector.history), tmp_path / "c.pt")
    finally:
        os.umask(previous)
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o755
    assert {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "shared").iterdir()} == dict.fromkeys(
        MODEL_FILES, 0o644
    )
    assert (tmp_path / "c.pt").stat().st_mode & 0o777 == 0o644


def test_a_corrupt_mask_does_not_abort_an_image_level_evaluation(root: Path, model: Path) -> None:
    (root / "tile" / "ground_truth" / "crack" / "000_mask.png").write_bytes(b"\x89PNG broken")
    assert main(["evaluate", "--data", str(root), "--category", "tile", "--model", str(model)]) == 0
