"""cplib installed as a user installs it (a wheel, not this checkout): train, evaluate and score from a folder with no
checkout near it write the default dataset into the user's cache folder and nothing inside the install.

The wheel is built from a copy of the package and installed with ``pip install --no-deps --target``, so it reuses the
dependencies already installed here and needs no network; the installed copy comes first on PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cplib.paths import REPO_ROOT

pytestmark = pytest.mark.install


def files_under(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under folder: relative path -> (size, modification time in ns)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding cplib installed from a wheel of this checkout's package (no dependencies)."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(REPO_ROOT / "cplib", source / "cplib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    target = base / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    done = subprocess.run([*command, "--target", str(target), str(source)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture
def user_env(installed: Path, tmp_path: Path) -> dict[str, str]:
    """An environment that imports the installed copy, with a fresh home and cache folder and no cplib settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPLIB_")}
    env.update(PYTHONPATH=str(installed), HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.update(CPLIB_DEVICE="cpu", OMP_NUM_THREADS="1")
    return env


def cplib_run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """python -m cplib with args, in cwd."""
    return subprocess.run(
        [sys.executable, "-m", "cplib", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
    )


def test_an_installed_cplib_writes_only_into_the_user_cache(
    installed: Path, user_env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    where = [sys.executable, "-c", "import cplib.paths as p; print(p.__file__); print(p.data_dir())"]
    module, data = subprocess.run(where, capture_output=True, text=True, env=user_env, cwd=work).stdout.split()
    assert Path(module).is_relative_to(installed)  # the installed copy, not this checkout
    assert Path(data) == tmp_path / "cache" / "cplib"  # $XDG_CACHE_HOME/cplib
    before = files_under(installed)

    trained = cplib_run(["train", "--category", "capsule", "--profile", "tiny", "--out", "m"], user_env, work)
    assert trained.returncode == 0, trained.stderr
    assert f"data: {Path(data) / 'default'}" in trained.stdout
    evaluated = cplib_run(["evaluate", "--model", "m", "--category", "capsule", "--json", "r.json"], user_env, work)
    assert evaluated.returncode == 0, evaluated.stderr
    image = next((Path(data) / "default" / "capsule" / "test" / "good").glob("*.png"))
    scored = cplib_run(["score", "--model", "m", str(image)], user_env, work)
    assert scored.returncode == 0 and scored.stdout.startswith(str(image)), scored.stderr

    assert files_under(installed) == before, "files written or changed under the install"
    assert (Path(data) / "default" / "capsule" / "train" / "good").is_dir()
    assert {p.name for p in work.iterdir()} == {"m", "r.json"}


def test_an_installed_cplib_says_the_notebooks_live_in_a_checkout(user_env: dict[str, str], tmp_path: Path) -> None:
    done = cplib_run(["series", "--out", "html"], user_env, tmp_path)
    assert done.returncode == 2 and "exists only in a source checkout" in done.stderr
    assert len(done.stderr.splitlines()) == 1 and not (tmp_path / "html").exists()
